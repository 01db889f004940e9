//! Analysis (target `analysis`): the endpoint inventory.
//!
//! Requests are parsed once ([`sample`]), paths templated across siblings ([`templating`]),
//! grouped into endpoints by method + host + template and GraphQL operation ([`group`]), then
//! described: kind and bucket, parameters with redacted examples, merged request/response
//! schemas, pagination, auth, provenance of dynamic values, and how many samples met a
//! challenge. [`openapi_document`] (the writer lives in `recon-knowledge`, render uses it too)
//! exports the result as OpenAPI 3.1.

pub mod auth;
pub mod classify;
pub mod config;
pub mod graphql;
pub mod group;
pub mod pagination;
pub mod parameters;
pub mod provenance;
pub mod sample;
pub mod schema;
pub mod templating;

use std::collections::{BTreeMap, HashSet};

use recon_contracts::{Capture, Detection, Endpoint, Header, Inventory, ParameterLocation};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use recon_knowledge::openapi_document;

use crate::config::{try_config, AnalysisConfig, ConfigError};
use crate::group::{GroupKey, Member};
use crate::sample::{RequestBody, Sample};

/// Depth of response field paths used for pagination and intent.
const FIELD_DEPTH: usize = 6;
/// How many samples of an endpoint decide its kind.
const KIND_SAMPLES: usize = 64;

/// A short id that stays the same for the same endpoint across runs. `path` is the template,
/// with `#operation` appended for GraphQL operations.
pub fn endpoint_id(method: &str, host: &str, path: &str) -> String {
    let digest = Sha256::digest(format!("{method} {host}{path}").as_bytes());
    format!("ep_{}", hex::encode(&digest[..6]))
}

fn id_of(key: &GroupKey) -> String {
    match &key.operation {
        Some(operation) => endpoint_id(
            &key.method,
            &key.host,
            &format!("{}#{operation}", key.path_template),
        ),
        None => endpoint_id(&key.method, &key.host, &key.path_template),
    }
}

pub fn analyze(capture: &Capture, detection: &Detection) -> Inventory {
    let Ok(config) = try_config() else {
        return Inventory::default();
    };
    let mut samples: Vec<Sample<'_>> = capture
        .requests
        .iter()
        .enumerate()
        .filter_map(|(i, request)| Sample::parse(i, request))
        .collect();
    for (i, sample) in samples.iter_mut().enumerate() {
        sample.index = i;
    }
    let templates = group::learn_templates(&samples);
    let groups = group::group(&samples, &templates);

    let mut endpoint_of: Vec<Option<String>> = vec![None; samples.len()];
    for (key, members) in &groups.groups {
        let id = id_of(key);
        for member in members {
            endpoint_of[member.sample.index].get_or_insert_with(|| id.clone());
        }
    }
    let wanted = provenance::wanted_values(groups.groups.values().flatten());
    // Each JSON response body is parsed once, while the index is built, and folded into the
    // response shape of every endpoint it answers (shapes merge in any order), then dropped.
    let mut answers: Vec<Vec<(usize, Option<usize>)>> = vec![Vec::new(); samples.len()];
    for (position, members) in groups.groups.values().enumerate() {
        for member in members {
            answers[member.sample.index].push((position, member.operation));
        }
    }
    let mut response_shapes: Vec<Option<schema::Shape>> = vec![None; groups.groups.len()];
    let index = provenance::Index::build(&samples, &wanted, |i, json| {
        for (position, operation) in &answers[i] {
            if let Some(part) = samples[i].response_for(json, *operation) {
                response_shapes[*position]
                    .get_or_insert_with(schema::Shape::default)
                    .add(part);
            }
        }
    });
    let context = provenance::Context {
        samples: &samples,
        index: &index,
        endpoint_of: &endpoint_of,
        config,
    };
    let challenged: HashSet<&str> = detection
        .challenges
        .iter()
        .map(|c| c.request_id.as_str())
        .collect();
    let endpoints = groups
        .groups
        .iter()
        .zip(response_shapes)
        .map(|((key, members), response_shape)| {
            describe(config, key, members, response_shape, &context, &challenged)
        })
        .collect();
    Inventory { endpoints }
}

fn most_common<'a>(items: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for item in items {
        *counts.entry(item).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(item, _)| item)
}

/// A response example for the schema: the first sample, redacted and trimmed.
fn example(value: &Value, key: &str, depth: usize) -> Value {
    match value {
        Value::String(text) => Value::String(parameters::shown_example(
            key,
            ParameterLocation::Body,
            text,
        )),
        Value::Array(items) if depth < 8 => Value::Array(
            items
                .iter()
                .take(2)
                .map(|v| example(v, key, depth + 1))
                .collect(),
        ),
        Value::Object(map) if depth < 8 => Value::Object(
            map.iter()
                .take(50)
                .map(|(k, v)| (k.clone(), example(v, k, depth + 1)))
                .collect(),
        ),
        Value::Array(_) | Value::Object(_) => Value::Null,
        other => other.clone(),
    }
}

/// `response_shape` is every member's response merged.
fn describe(
    config: &AnalysisConfig,
    key: &GroupKey,
    members: &[Member<'_, '_>],
    response_shape: Option<schema::Shape>,
    context: &provenance::Context<'_, '_>,
    challenged: &HashSet<&str>,
) -> Endpoint {
    // Members of one endpoint share method, host and template: a bounded sample decides the kind.
    let kind = most_common(
        members
            .iter()
            .take(KIND_SAMPLES)
            .map(|m| classify::kind_of(config, m.sample)),
    )
    .unwrap_or("other")
    .to_owned();
    let mut statuses: Vec<u16> = members.iter().filter_map(|m| m.sample.status()).collect();
    statuses.sort_unstable();
    statuses.dedup();
    let content_type = most_common(
        members
            .iter()
            .map(|m| m.sample.mime.as_str())
            .filter(|m| !m.is_empty()),
    )
    .map(str::to_owned);

    // The first member's response again, for the example: one parse per endpoint.
    let first_response: Option<Value> = members.iter().find_map(|m| {
        let json = m.sample.response_json()?;
        m.sample.response_for(&json, m.operation).cloned()
    });
    let mut response_fields = Vec::new();
    if let Some(shape) = &response_shape {
        shape.field_paths(&mut response_fields, "", FIELD_DEPTH);
    }
    let response_schema = response_shape.as_ref().map(|shape| {
        let mut schema = shape.to_schema();
        if let (Some(first), Value::Object(map)) = (&first_response, &mut schema) {
            map.insert("examples".into(), Value::Array(vec![example(first, "", 0)]));
        }
        schema
    });
    let request_bodies: Vec<&Value> = members
        .iter()
        .filter_map(|m| match (m.operation, &m.sample.body) {
            (Some(i), _) => m
                .sample
                .operations
                .get(i)
                .and_then(|op| op.variables.as_ref()),
            (None, RequestBody::Json(value)) => Some(value),
            _ => None,
        })
        .collect();
    let request_schema =
        schema::infer(request_bodies.iter().copied()).map(|shape| shape.to_schema());

    let parameters = parameters::parameters(members);
    let response_headers: Vec<&[Header]> = members
        .iter()
        .filter_map(|m| {
            m.sample
                .request
                .response
                .as_ref()
                .map(|r| r.headers.as_slice())
        })
        .collect();
    let pagination = if matches!(
        kind.as_str(),
        "json-api" | "graphql" | "html-document" | "other"
    ) {
        pagination::detect(
            &config.pagination,
            &parameters,
            &response_fields,
            &response_headers,
        )
    } else {
        None
    };
    let operation = members
        .first()
        .and_then(|m| m.operation.and_then(|i| m.sample.operations.get(i)));
    let graphql_operation = operation.and_then(|op| op.name.clone());
    let graphql_persisted_hash = operation.and_then(|op| op.persisted_hash.clone());
    let array_response = first_response.as_ref().is_some_and(Value::is_array);
    let parameter_names: Vec<&str> = parameters
        .iter()
        .filter(|p| {
            matches!(
                p.location,
                ParameterLocation::Query | ParameterLocation::Body
            )
        })
        .map(|p| p.name.as_str())
        .collect();
    let bucket = classify::bucket(
        config,
        &classify::BucketInput {
            kind: &kind,
            path_template: &key.path_template,
            operation: graphql_operation.as_deref(),
            parameter_names,
            paginated: pagination.is_some(),
            array_response,
        },
    );
    let mut request_ids: Vec<String> = Vec::with_capacity(members.len());
    for member in members {
        if request_ids.last() != Some(&member.sample.request.id) {
            request_ids.push(member.sample.request.id.clone());
        }
    }
    let challenged_count = request_ids
        .iter()
        .filter(|id| challenged.contains(id.as_str()))
        .count() as u32;
    Endpoint {
        id: id_of(key),
        method: key.method.clone(),
        host: key.host.clone(),
        path_template: key.path_template.clone(),
        graphql_operation,
        graphql_persisted_hash,
        kind,
        bucket,
        sample_count: request_ids.len() as u32,
        request_ids,
        statuses,
        content_type,
        auth: auth::requirements(config, members),
        provenance: context.provenance(members),
        parameters,
        response_schema,
        request_schema,
        pagination,
        challenged_count,
    }
}

/// Whether the analysis rules compiled in are valid; a scan must fail loudly on bad rules.
pub fn check_config() -> Result<(), &'static ConfigError> {
    try_config().map(|_| ())
}

/// The step's summary line: endpoints found, how many are data APIs, from how many requests.
pub fn summary_line(inventory: &Inventory, requests: usize) -> String {
    let data = inventory
        .endpoints
        .iter()
        .filter(|e| matches!(e.kind.as_str(), "json-api" | "graphql"))
        .count();
    format!(
        "{} endpoint(s) ({data} data API) from {requests} request(s)",
        inventory.endpoints.len(),
    )
}
