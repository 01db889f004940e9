//! The request plan of one endpoint: what the starter code sends, decided from the scrubbed
//! sample request, the validation result (profile, tier, minimal cookies and headers), the
//! pagination analysis found, and the provenance of the values it needs (warm-up steps).
//! Every code generator renders the same plan, so the languages cannot disagree.

use std::collections::{BTreeSet, HashMap};

use recon_contracts::{
    Endpoint, EndpointValidation, MintedBy, NetworkTier, PaginationStyle, ParameterLocation,
    ReplayProfile, RequestRecord,
};
use serde_json::Value;

use crate::template::{Piece, Template};

/// Headers a client sets itself, or that only make sense inside a browser connection.
const SKIPPED_HEADERS: [&str; 11] = [
    "host",
    "content-length",
    "connection",
    "accept-encoding",
    "cookie",
    "te",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
    "proxy-connection",
    "priority",
];

/// Marks a JSON body string filled by a warm-up step.
pub const WARM_MARK: &str = "\u{1}warm:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Library {
    Requests,
    CurlCffi,
}

impl Library {
    pub fn name(self) -> &'static str {
        match self {
            Library::Requests => "requests",
            Library::CurlCffi => "curl_cffi",
        }
    }
}

#[derive(Debug, Clone)]
pub enum PlanBody {
    Json(Value),
    Form(Vec<(String, Template)>),
    Raw(Template),
}

#[derive(Debug, Clone)]
pub struct PagePlan {
    pub style: PaginationStyle,
    /// The parameter that moves (absent for next-link pagination).
    pub parameter: Option<String>,
    /// Path of the parameter inside a JSON body; `None` when it is a query parameter.
    pub body_path: Option<Vec<String>>,
    /// First page number or offset.
    pub start: i64,
    pub page_size: Option<i64>,
    pub next_field: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Extract {
    pub how: MintedBy,
    /// Cookie name, dotted JSON path, input or meta name, header name.
    pub field: Option<String>,
    /// Name of the value in the warm-up result (the name the endpoint sends it under).
    pub key: String,
}

#[derive(Debug, Clone)]
pub struct Warmup {
    pub method: String,
    pub url: Template,
    pub headers: Vec<(String, Template)>,
    pub extracts: Vec<Extract>,
    /// Cookies it mints into the session's cookie jar (Set-Cookie, redirects), by name.
    pub jar_cookies: Vec<String>,
    /// What it mints, in words, for comments.
    pub mints: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// `GET api.shop.example/products/{id}`.
    pub label: String,
    pub method: String,
    pub url: Template,
    pub query: Vec<(String, Template)>,
    pub headers: Vec<(String, Template)>,
    pub cookies: Vec<(String, Template)>,
    pub body: Option<PlanBody>,
    pub library: Library,
    pub tier: NetworkTier,
    pub json_response: bool,
    pub pagination: Option<PagePlan>,
    pub warmups: Vec<Warmup>,
    /// Environment variables the code cannot run without.
    pub required_env: BTreeSet<String>,
    /// Environment variables sent only when set (validation did not say they are needed).
    pub optional_env: BTreeSet<String>,
    /// Cookies the page's JavaScript wrote (anti-bot sensors): no HTTP client can mint them.
    pub js_cookies: Vec<String>,
}

/// Picks the sample request of `endpoint`: the first with a 2xx response, else the first.
pub fn sample<'a>(
    endpoint: &Endpoint,
    requests: &HashMap<&str, &'a RequestRecord>,
) -> Option<&'a RequestRecord> {
    let samples: Vec<&RequestRecord> = endpoint
        .request_ids
        .iter()
        .filter_map(|id| requests.get(id.as_str()).copied())
        .collect();
    samples
        .iter()
        .find(|r| {
            r.response
                .as_ref()
                .is_some_and(|resp| (200..300).contains(&resp.status))
        })
        .or(samples.first())
        .copied()
}

pub fn build(
    endpoint: &Endpoint,
    sample: &RequestRecord,
    validation: Option<&EndpointValidation>,
    requests: &HashMap<&str, &RequestRecord>,
) -> Plan {
    let best = validation.and_then(|v| v.best);
    let profile = best.map(|b| b.profile);
    let tier = best.map_or(NetworkTier::Direct, |b| b.tier);
    let minimal = validation.and_then(|v| v.minimal.as_ref());
    let library = match profile {
        Some(ReplayProfile::Impersonate) => Library::CurlCffi,
        _ => Library::Requests,
    };

    let (base, query_text) = match sample.url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (sample.url.as_str(), None),
    };
    let base = base.split('#').next().unwrap_or(base);
    let mut query: Vec<(String, Template)> = query_text
        .map(|q| {
            q.split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(name), Template::parse(&decode(value)))
                })
                .collect()
        })
        .unwrap_or_default();

    let content_type = sample
        .request_header("content-type")
        .map(str::to_owned)
        .filter(|_| sample.post_data.is_some());
    let keep_header = |name: &str| -> bool {
        let lower = name.to_ascii_lowercase();
        // No client can send a name that is not an HTTP token (`:authority` and other
        // pseudo-headers, or a site's garbage).
        if !is_token(name) || SKIPPED_HEADERS.contains(&lower.as_str()) {
            return false;
        }
        if lower == "content-type" {
            return content_type.is_some();
        }
        match profile {
            Some(ReplayProfile::Plain) => lower == "accept",
            Some(_) => match minimal {
                Some(minimal) if !minimal.headers.is_empty() || !minimal.cookies.is_empty() => {
                    lower == "accept"
                        || minimal.headers.iter().any(|h| h.eq_ignore_ascii_case(name))
                }
                _ => true,
            },
            None => true,
        }
    };
    let mut headers: Vec<(String, Template)> = sample
        .request_headers
        .iter()
        .filter(|h| keep_header(&h.name))
        .map(|h| (h.name.clone(), Template::parse(&h.value)))
        .collect();

    let sends_cookies = matches!(
        profile,
        None | Some(ReplayProfile::BrowserSession) | Some(ReplayProfile::Impersonate)
    );
    let mut cookies: Vec<(String, Template)> = Vec::new();
    if sends_cookies {
        for header in sample
            .request_headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("cookie"))
        {
            for pair in header.value.split(';') {
                let Some((name, value)) = pair.trim().split_once('=') else {
                    continue;
                };
                let wanted = match minimal {
                    Some(minimal) if !minimal.cookies.is_empty() || !minimal.headers.is_empty() => {
                        minimal.cookies.iter().any(|c| c == name)
                    }
                    _ => true,
                };
                if wanted {
                    cookies.push((name.to_owned(), Template::parse(value)));
                }
            }
        }
    }

    let mut body = sample
        .post_data
        .as_ref()
        .and_then(|b| b.as_text())
        .map(|text| {
            let lower = content_type.as_deref().unwrap_or("").to_ascii_lowercase();
            if let Some(json) = (lower.contains("json") || text.trim_start().starts_with('{'))
                .then(|| serde_json::from_str::<Value>(text).ok())
                .flatten()
            {
                PlanBody::Json(json)
            } else if lower.contains("x-www-form-urlencoded") {
                PlanBody::Form(
                    text.split('&')
                        .filter(|pair| !pair.is_empty())
                        .map(|pair| {
                            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                            (decode(name), Template::parse(&decode(value)))
                        })
                        .collect(),
                )
            } else {
                PlanBody::Raw(Template::parse(text))
            }
        });

    let pagination = endpoint
        .pagination
        .as_ref()
        .map(|pagination| page_plan(pagination, &mut query, body.as_mut()));

    // Values minted by an earlier response: fetch them the way the page did.
    let mut warmups: Vec<(String, Warmup)> = Vec::new();
    let mut js_cookies = Vec::new();
    let paging: Vec<&str> = endpoint
        .pagination
        .iter()
        .flat_map(|p| p.parameters.iter().map(String::as_str))
        .collect();
    for provenance in &endpoint.provenance {
        let Some(source) = provenance.minted_by.as_ref() else {
            continue;
        };
        if paging.contains(&provenance.name.as_str())
            || source.endpoint_id.as_deref() == Some(endpoint.id.as_str())
        {
            continue;
        }
        let name = provenance.name.as_str();
        let used = match provenance.location {
            ParameterLocation::Cookie => cookies.iter().any(|(n, _)| n == name),
            ParameterLocation::Header => headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)),
            ParameterLocation::Query => query.iter().any(|(n, _)| n == name),
            ParameterLocation::Body => match &body {
                Some(PlanBody::Json(json)) => find_path(json, name).is_some(),
                Some(PlanBody::Form(fields)) => fields.iter().any(|(n, _)| n == name),
                _ => false,
            },
            ParameterLocation::Path => false,
        };
        if !used {
            continue;
        }
        if source.how == MintedBy::JsCookie {
            js_cookies.push(name.to_owned());
            continue;
        }
        let jar_cookie = provenance.location == ParameterLocation::Cookie
            && matches!(source.how, MintedBy::SetCookie | MintedBy::Redirect);
        if jar_cookie {
            // The session's cookie jar receives it; sending it by hand would override it.
            cookies.retain(|(n, _)| n != name);
        } else {
            let warm = Template::warm(name);
            match provenance.location {
                ParameterLocation::Cookie => set_named(&mut cookies, name, warm),
                ParameterLocation::Header => set_named_ci(&mut headers, name, warm),
                ParameterLocation::Query => set_named(&mut query, name, warm),
                ParameterLocation::Body => match body.as_mut() {
                    Some(PlanBody::Json(json)) => {
                        if let Some(path) = find_path(json, name) {
                            set_path(json, &path, Value::String(format!("{WARM_MARK}{name}")));
                        }
                    }
                    Some(PlanBody::Form(fields)) => set_named(fields, name, warm),
                    _ => {}
                },
                ParameterLocation::Path => {}
            }
        }
        let minting = requests.get(source.request_id.as_str()).copied();
        let (method, url) = match minting {
            Some(request) => (request.method.clone(), request.url.clone()),
            None => (source.method.clone(), source.url.clone()),
        };
        let entry = match warmups.iter_mut().find(|(id, _)| *id == source.request_id) {
            Some((_, warmup)) => warmup,
            None => {
                let headers = minting
                    .map(|request| {
                        request
                            .request_headers
                            .iter()
                            .filter(|h| {
                                let lower = h.name.to_ascii_lowercase();
                                matches!(
                                    lower.as_str(),
                                    "accept" | "user-agent" | "accept-language"
                                )
                            })
                            .map(|h| (h.name.clone(), Template::parse(&h.value)))
                            .collect()
                    })
                    .unwrap_or_default();
                warmups.push((
                    source.request_id.clone(),
                    Warmup {
                        method,
                        url: Template::parse(&url),
                        headers,
                        extracts: Vec::new(),
                        jar_cookies: Vec::new(),
                        mints: Vec::new(),
                    },
                ));
                &mut warmups.last_mut().expect("just pushed").1
            }
        };
        entry.mints.push(describe(
            provenance.location,
            name,
            source.how,
            source.field.as_deref(),
        ));
        if jar_cookie {
            entry.jar_cookies.push(name.to_owned());
        } else {
            entry.extracts.push(Extract {
                how: source.how,
                field: source.field.clone(),
                key: name.to_owned(),
            });
        }
    }

    let mut required_env = BTreeSet::new();
    let mut optional_env = BTreeSet::new();
    let mut templates: Vec<&Template> = Vec::new();
    templates.extend(query.iter().map(|(_, t)| t));
    templates.extend(headers.iter().map(|(_, t)| t));
    templates.extend(cookies.iter().map(|(_, t)| t));
    let mut body_templates = Vec::new();
    match &body {
        Some(PlanBody::Json(json)) => collect_json_templates(json, &mut body_templates),
        Some(PlanBody::Form(fields)) => {
            body_templates.extend(fields.iter().map(|(_, t)| t.clone()))
        }
        Some(PlanBody::Raw(text)) => body_templates.push(text.clone()),
        None => {}
    }
    templates.extend(body_templates.iter());
    let base_template = Template::parse(base);
    templates.push(&base_template);
    for template in templates {
        for env in template.env_vars() {
            if profile.is_some() {
                required_env.insert(env.to_owned());
            } else {
                optional_env.insert(env.to_owned());
            }
        }
    }
    for (_, warmup) in &warmups {
        for (_, template) in &warmup.headers {
            optional_env.extend(template.env_vars().map(str::to_owned));
        }
        required_env.extend(warmup.url.env_vars().map(str::to_owned));
    }
    let optional_env = optional_env.difference(&required_env).cloned().collect();

    let json_response = endpoint
        .content_type
        .as_deref()
        .or(sample.response.as_ref().map(|r| r.mime_type.as_str()))
        .is_some_and(|mime| mime.contains("json"))
        || matches!(endpoint.kind.as_str(), "json-api" | "graphql");

    Plan {
        label: endpoint_label(endpoint),
        method: sample.method.clone(),
        url: base_template,
        query,
        headers,
        cookies,
        body,
        library,
        tier,
        json_response,
        pagination,
        warmups: warmups.into_iter().map(|(_, w)| w).collect(),
        required_env,
        optional_env,
        js_cookies,
    }
}

/// An HTTP field name: one or more `tchar`s (RFC 9110, 5.6.2).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn describe(location: ParameterLocation, name: &str, how: MintedBy, field: Option<&str>) -> String {
    let target = match location {
        ParameterLocation::Cookie => format!("cookie {name}"),
        ParameterLocation::Header => format!("header {name}"),
        ParameterLocation::Query => format!("query parameter {name}"),
        ParameterLocation::Body => format!("body field {name}"),
        ParameterLocation::Path => format!("path parameter {name}"),
    };
    let field = field.unwrap_or(name);
    let source = match how {
        MintedBy::SetCookie => format!("Set-Cookie {field}"),
        MintedBy::JsonField => format!("JSON field {field}"),
        MintedBy::HtmlInput => format!("form input {field}"),
        MintedBy::HtmlMeta => format!("meta tag {field}"),
        MintedBy::JsCookie => "the page's JavaScript".to_owned(),
        MintedBy::ResponseHeader => format!("response header {field}"),
        MintedBy::Redirect => "a redirect".to_owned(),
    };
    format!("{target} from {source}")
}

fn page_plan(
    pagination: &recon_contracts::Pagination,
    query: &mut Vec<(String, Template)>,
    body: Option<&mut PlanBody>,
) -> PagePlan {
    let parameter = pagination.parameters.first().cloned();
    let mut body_path = None;
    let mut captured = None;
    if let Some(name) = parameter.as_deref() {
        if let Some((_, value)) = query.iter().find(|(n, _)| n == name) {
            captured = value.as_text().and_then(|t| t.parse::<i64>().ok());
        } else if let Some(PlanBody::Json(json)) = body {
            if let Some(path) = find_path(json, name) {
                captured = get_path(json, &path).and_then(Value::as_i64);
                body_path = Some(path);
            }
        }
    }
    let page_size = pagination.page_size_parameter.as_deref().and_then(|name| {
        query
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_text()?.parse().ok())
    });
    let start = match pagination.style {
        PaginationStyle::Page if captured == Some(0) => 0,
        PaginationStyle::Page => 1,
        _ => 0,
    };
    if matches!(
        pagination.style,
        PaginationStyle::Cursor | PaginationStyle::NextLink
    ) {
        // The first request goes without a cursor; later ones carry the one the last page gave.
        if let Some(name) = parameter.as_deref() {
            query.retain(|(n, _)| n != name);
        }
    }
    PagePlan {
        style: pagination.style,
        parameter: match pagination.style {
            PaginationStyle::NextLink => None,
            _ => parameter,
        },
        body_path,
        start,
        page_size,
        next_field: pagination.next_field.clone(),
    }
}

fn set_named(items: &mut [(String, Template)], name: &str, value: Template) {
    if let Some(item) = items.iter_mut().find(|(n, _)| n == name) {
        item.1 = value;
    }
}

fn set_named_ci(items: &mut [(String, Template)], name: &str, value: Template) {
    if let Some(item) = items.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        item.1 = value;
    }
}

/// The path to the first object key `name` in `value`, depth first.
pub fn find_path(value: &Value, name: &str) -> Option<Vec<String>> {
    match value {
        Value::Object(map) => {
            if map.contains_key(name) {
                return Some(vec![name.to_owned()]);
            }
            map.iter().find_map(|(key, child)| {
                find_path(child, name).map(|mut path| {
                    path.insert(0, key.clone());
                    path
                })
            })
        }
        _ => None,
    }
}

fn get_path<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, key| value.get(key))
}

fn set_path(value: &mut Value, path: &[String], new: Value) {
    let mut current = value;
    for key in path {
        match current.get_mut(key) {
            Some(next) => current = next,
            None => return,
        }
    }
    *current = new;
}

fn collect_json_templates(value: &Value, out: &mut Vec<Template>) {
    match value {
        Value::String(text) => out.push(string_template(text)),
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_json_templates(item, out)),
        Value::Object(map) => map
            .values()
            .for_each(|item| collect_json_templates(item, out)),
        _ => {}
    }
}

/// A JSON body string as a template (placeholders, or a warm-up mark).
pub fn string_template(text: &str) -> Template {
    match text.strip_prefix(WARM_MARK) {
        Some(key) => Template(vec![Piece::Warm(key.to_owned())]),
        None => Template::parse(text),
    }
}

fn decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// `GET host/path/{id}`, with anything secret-looking in the path scrubbed (a path template
/// can still hold `;jsessionid=…` when analysis kept it).
pub fn endpoint_label(endpoint: &Endpoint) -> String {
    let path = recon_redaction::Scrubber::default().url(&endpoint.path_template);
    let label = match &endpoint.graphql_operation {
        Some(operation) => format!("{} {}{path} ({operation})", endpoint.method, endpoint.host),
        None => format!("{} {}{path}", endpoint.method, endpoint.host),
    };
    recon_redaction::secrets::scrub_shapes_standalone(&label, false)
}
