//! OpenAPI 3.1 export of the inventory: one operation per data endpoint (GraphQL operations
//! as `/graphql#OperationName` path items so they stay apart), templated path parameters,
//! query/header/cookie parameters with examples, request and response schemas, security
//! schemes for the auth the requests carried, and `x-recon-*` extensions for the rest.

use std::collections::{BTreeMap, BTreeSet};

use recon_contracts::{AuthKind, Endpoint, Inventory, Parameter, ParameterLocation};
use serde_json::{json, Map, Value};

/// Kinds that are not the site's API and stay out of the document.
const LEFT_OUT: [&str; 4] = ["static", "tracking", "anti-bot-sensor", "stream"];

/// Headers OpenAPI describes elsewhere (content negotiation, security schemes).
const IGNORED_HEADERS: [&str; 3] = ["accept", "content-type", "authorization"];

fn parameter_schema(value_type: &str) -> Value {
    match value_type {
        "integer" => json!({"type": "integer"}),
        "number" => json!({"type": "number"}),
        "boolean" => json!({"type": "boolean"}),
        "uuid" => json!({"type": "string", "format": "uuid"}),
        "date" => json!({"type": "string", "format": "date"}),
        "date-time" => json!({"type": "string", "format": "date-time"}),
        _ => json!({"type": "string"}),
    }
}

fn location_name(location: ParameterLocation) -> Option<&'static str> {
    match location {
        ParameterLocation::Path => Some("path"),
        ParameterLocation::Query => Some("query"),
        ParameterLocation::Header => Some("header"),
        ParameterLocation::Cookie => Some("cookie"),
        ParameterLocation::Body => None,
    }
}

/// `{product_id}` names in a template.
fn template_names(template: &str) -> Vec<String> {
    template
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
}

fn example_value(parameter: &Parameter) -> Option<Value> {
    let example = parameter.examples.first()?;
    Some(match parameter.value_type.as_str() {
        "integer" => example
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(example.clone())),
        "number" => example
            .parse::<f64>()
            .ok()
            .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
            .unwrap_or_else(|| Value::String(example.clone())),
        "boolean" => example
            .parse::<bool>()
            .map(Value::Bool)
            .unwrap_or_else(|_| Value::String(example.clone())),
        _ => Value::String(example.clone()),
    })
}

fn scheme_name(kind: AuthKind, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    match kind {
        AuthKind::Bearer => "bearerAuth".to_owned(),
        AuthKind::Basic => "basicAuth".to_owned(),
        AuthKind::ApiKey => format!("apiKey_{clean}"),
        AuthKind::Csrf => format!("csrf_{clean}"),
        AuthKind::SessionCookie => format!("session_{clean}"),
        AuthKind::AntiBotCookie => format!("antiBot_{clean}"),
    }
}

fn scheme(kind: AuthKind, name: &str, endpoint: &Endpoint) -> Value {
    let cookie = endpoint
        .parameters
        .iter()
        .any(|p| p.location == ParameterLocation::Cookie && p.name == name);
    let query = endpoint
        .parameters
        .iter()
        .any(|p| p.location == ParameterLocation::Query && p.name == name);
    match kind {
        AuthKind::Bearer => json!({"type": "http", "scheme": "bearer"}),
        AuthKind::Basic => json!({"type": "http", "scheme": "basic"}),
        AuthKind::SessionCookie | AuthKind::AntiBotCookie => json!({
            "type": "apiKey", "in": "cookie", "name": name,
            "description": if kind == AuthKind::AntiBotCookie { "Anti-bot vendor cookie minted in the browser" } else { "Session cookie" },
        }),
        AuthKind::ApiKey | AuthKind::Csrf => json!({
            "type": "apiKey",
            "in": if cookie { "cookie" } else if query { "query" } else { "header" },
            "name": name,
        }),
    }
}

fn operation_id(endpoint: &Endpoint, taken: &mut BTreeSet<String>) -> String {
    let base = match &endpoint.graphql_operation {
        Some(operation) => operation.clone(),
        None => {
            let words: Vec<String> = endpoint
                .path_template
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_ascii_lowercase)
                .collect();
            format!(
                "{}_{}",
                endpoint.method.to_ascii_lowercase(),
                if words.is_empty() {
                    "root".to_owned()
                } else {
                    words.join("_")
                }
            )
        }
    };
    let mut id = base.clone();
    let mut n = 2;
    while !taken.insert(id.clone()) {
        id = format!("{base}_{n}");
        n += 1;
    }
    id
}

fn request_body(endpoint: &Endpoint) -> Option<Value> {
    let body_params: Vec<&Parameter> = endpoint
        .parameters
        .iter()
        .filter(|p| p.location == ParameterLocation::Body)
        .collect();
    if endpoint.graphql_operation.is_some() || endpoint.graphql_persisted_hash.is_some() {
        let mut variables = Map::new();
        for p in &body_params {
            if let Some(example) = example_value(p) {
                variables.insert(p.name.clone(), example);
            }
        }
        let mut example = Map::new();
        if let Some(name) = &endpoint.graphql_operation {
            example.insert("operationName".into(), Value::String(name.clone()));
        }
        example.insert("variables".into(), Value::Object(variables));
        if let Some(hash) = &endpoint.graphql_persisted_hash {
            example.insert(
                "extensions".into(),
                json!({"persistedQuery": {"version": 1, "sha256Hash": hash}}),
            );
        }
        let variables_schema = endpoint
            .request_schema
            .clone()
            .unwrap_or_else(|| json!({"type": "object"}));
        return Some(json!({
            "required": true,
            "content": {"application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "operationName": {"type": "string"},
                        "query": {"type": "string"},
                        "variables": variables_schema,
                        "extensions": {"type": "object"},
                    },
                },
                "example": Value::Object(example),
            }},
        }));
    }
    if let Some(schema) = &endpoint.request_schema {
        return Some(json!({"content": {"application/json": {"schema": schema}}}));
    }
    if body_params.is_empty() {
        return None;
    }
    let properties: Map<String, Value> = body_params
        .iter()
        .map(|p| (p.name.clone(), parameter_schema(&p.value_type)))
        .collect();
    let example: Map<String, Value> = body_params
        .iter()
        .filter_map(|p| {
            p.examples
                .first()
                .map(|e| (p.name.clone(), Value::String(e.clone())))
        })
        .collect();
    Some(json!({"content": {"application/x-www-form-urlencoded": {
        "schema": {"type": "object", "properties": properties},
        "example": example,
    }}}))
}

fn responses(endpoint: &Endpoint) -> Value {
    let mut responses = Map::new();
    let statuses: Vec<u16> = if endpoint.statuses.is_empty() {
        vec![]
    } else {
        endpoint.statuses.clone()
    };
    let media = endpoint
        .content_type
        .clone()
        .unwrap_or_else(|| "application/json".to_owned());
    for status in &statuses {
        let mut response = Map::new();
        response.insert(
            "description".into(),
            Value::String(format!("HTTP {status} seen in the capture")),
        );
        if (200..300).contains(status) {
            if let Some(schema) = &endpoint.response_schema {
                response.insert(
                    "content".into(),
                    json!({ media.clone(): {"schema": schema} }),
                );
            }
        }
        responses.insert(status.to_string(), Value::Object(response));
    }
    if responses.is_empty() {
        responses.insert(
            "default".into(),
            json!({"description": "no response was recorded"}),
        );
    }
    Value::Object(responses)
}

/// The OpenAPI 3.1 document of `inventory`. `target_url` sets the main server and scheme.
pub fn openapi_document(inventory: &Inventory, target_url: &str) -> Value {
    let target = url::Url::parse(target_url).ok();
    let url_scheme = target
        .as_ref()
        .map(|u| u.scheme().to_owned())
        .unwrap_or_else(|| "https".to_owned());
    let target_host = target
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    let server_of = |host: &str| format!("{url_scheme}://{host}");

    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut path_hosts: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut schemes = Map::new();
    let mut taken = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    for endpoint in inventory
        .endpoints
        .iter()
        .filter(|e| !LEFT_OUT.contains(&e.kind.as_str()))
    {
        let method = endpoint.method.to_ascii_lowercase();
        if ![
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ]
        .contains(&method.as_str())
        {
            continue;
        }
        let mut key = match (
            &endpoint.graphql_operation,
            &endpoint.graphql_persisted_hash,
        ) {
            (Some(name), _) => format!("{}#{name}", endpoint.path_template),
            (None, Some(hash)) => format!(
                "{}#sha256:{}",
                endpoint.path_template,
                &hash[..hash.len().min(16)]
            ),
            (None, None) => endpoint.path_template.clone(),
        };
        if !key.starts_with('/') {
            key.insert(0, '/');
        }
        // Two hosts with the same path and method cannot share a path item.
        if let Some(host) = path_hosts.get(&(key.clone(), method.clone())) {
            if *host != endpoint.host {
                key = format!("{key}#{}", endpoint.host);
            }
        }
        path_hosts.insert((key.clone(), method.clone()), endpoint.host.clone());
        hosts.insert(endpoint.host.clone());

        let mut parameters: Vec<Value> = Vec::new();
        let names = template_names(&key);
        for name in &names {
            let known = endpoint
                .parameters
                .iter()
                .find(|p| p.location == ParameterLocation::Path && &p.name == name);
            let mut parameter = json!({
                "name": name, "in": "path", "required": true,
                "schema": parameter_schema(known.map_or("string", |p| p.value_type.as_str())),
            });
            if let Some(example) = known.and_then(example_value) {
                parameter["example"] = example;
            }
            parameters.push(parameter);
        }
        for p in &endpoint.parameters {
            let Some(location) = location_name(p.location) else {
                continue;
            };
            if p.location == ParameterLocation::Path
                || (p.location == ParameterLocation::Header
                    && IGNORED_HEADERS.contains(&p.name.as_str()))
            {
                continue;
            }
            let mut parameter = json!({
                "name": p.name, "in": location, "required": p.required,
                "schema": parameter_schema(&p.value_type),
            });
            if let Some(example) = example_value(p) {
                parameter["example"] = example;
            }
            parameters.push(parameter);
        }

        let mut security = Map::new();
        for requirement in &endpoint.auth {
            let name = scheme_name(requirement.kind, &requirement.name);
            schemes
                .entry(name.clone())
                .or_insert_with(|| scheme(requirement.kind, &requirement.name, endpoint));
            security.insert(name, json!([]));
        }

        let mut operation = Map::new();
        operation.insert(
            "operationId".into(),
            operation_id(endpoint, &mut taken).into(),
        );
        operation.insert(
            "summary".into(),
            format!(
                "{} {} ({}, {}; seen {}×)",
                endpoint.method,
                endpoint.path_template,
                endpoint.kind,
                endpoint.bucket,
                endpoint.sample_count
            )
            .into(),
        );
        operation.insert("tags".into(), json!([endpoint.bucket]));
        if endpoint.host != target_host {
            operation.insert(
                "servers".into(),
                json!([{"url": server_of(&endpoint.host)}]),
            );
        }
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Value::Array(parameters));
        }
        if let Some(body) = request_body(endpoint) {
            operation.insert("requestBody".into(), body);
        }
        operation.insert("responses".into(), responses(endpoint));
        if !security.is_empty() {
            operation.insert("security".into(), json!([Value::Object(security)]));
        }
        operation.insert("x-recon-endpoint-id".into(), endpoint.id.clone().into());
        operation.insert("x-recon-kind".into(), endpoint.kind.clone().into());
        operation.insert(
            "x-recon-challenged-count".into(),
            endpoint.challenged_count.into(),
        );
        if let Some(name) = &endpoint.graphql_operation {
            operation.insert("x-graphql-operation".into(), name.clone().into());
        }
        if let Some(hash) = &endpoint.graphql_persisted_hash {
            operation.insert("x-graphql-persisted-hash".into(), hash.clone().into());
        }
        if let Some(pagination) = &endpoint.pagination {
            operation.insert(
                "x-recon-pagination".into(),
                serde_json::to_value(pagination).unwrap_or(Value::Null),
            );
        }
        if !endpoint.provenance.is_empty() {
            operation.insert(
                "x-recon-provenance".into(),
                serde_json::to_value(&endpoint.provenance).unwrap_or(Value::Null),
            );
        }
        paths
            .entry(key)
            .or_default()
            .insert(method, Value::Object(operation));
    }

    let mut servers = vec![
        json!({"url": server_of(if target_host.is_empty() { "localhost" } else { &target_host }), "description": "the scanned site"}),
    ];
    for host in hosts.iter().filter(|h| **h != target_host) {
        servers.push(json!({"url": server_of(host)}));
    }
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("{} — endpoints recorded by browser-recon", if target_host.is_empty() { target_url } else { &target_host }),
            "version": "1.0.0",
            "description": format!("Internal endpoints seen while browsing {target_url}. Schemas are merged across every recorded response; example values are redacted."),
        },
        "servers": servers,
        "paths": paths.into_iter().map(|(k, v)| (k, Value::Object(v))).collect::<Map<String, Value>>(),
    });
    if !schemes.is_empty() {
        document["components"] = json!({"securitySchemes": schemes});
    }
    document
}
