//! One captured request, parsed once for every later step: URL parts, query, request body
//! (JSON or form), GraphQL operations, and the response body as JSON when it is JSON.

use recon_contracts::{RequestRecord, ResourceType};
use serde_json::Value;

use crate::graphql::{self, Operation};

/// Request bodies larger than this are not parsed (uploads, binary blobs).
const MAX_PARSED_BODY: usize = 2 * 1024 * 1024;

#[derive(Debug)]
pub enum RequestBody {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
    /// Text that is neither JSON nor a form.
    Other,
}

#[derive(Debug)]
pub struct Sample<'c> {
    pub index: usize,
    pub request: &'c RequestRecord,
    pub method: String,
    pub host: String,
    /// `https://host[:port]`.
    pub origin: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: RequestBody,
    pub operations: Vec<Operation>,
    pub response_json: Option<Value>,
    pub mime: String,
    pub started_at_ms: f64,
}

fn is_json_mime(mime: &str) -> bool {
    mime.contains("json") || mime.contains("graphql")
}

fn parse_json_text(text: &str) -> Option<Value> {
    let trimmed = text.trim_start();
    // XSSI guards: `)]}'` or `while(1);` before the JSON.
    let trimmed = trimmed
        .strip_prefix(")]}'")
        .or_else(|| trimmed.strip_prefix("while(1);"))
        .map(str::trim_start)
        .unwrap_or(trimmed);
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) || trimmed.len() > MAX_PARSED_BODY {
        return None;
    }
    serde_json::from_str(trimmed).ok()
}

pub fn form_pairs(text: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

impl<'c> Sample<'c> {
    pub fn parse(index: usize, request: &'c RequestRecord) -> Option<Sample<'c>> {
        let url = url::Url::parse(&request.url).ok()?;
        let host = url.host_str()?.to_ascii_lowercase();
        let origin = match url.port() {
            Some(port) => format!("{}://{host}:{port}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        };
        let query: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let content_type = request
            .request_header("content-type")
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = match request.post_data.as_ref().and_then(|body| body.as_text()) {
            None => RequestBody::None,
            Some(text) if text.len() > MAX_PARSED_BODY => RequestBody::Other,
            Some(text) => match parse_json_text(text) {
                Some(value) => RequestBody::Json(value),
                None if content_type.contains("x-www-form-urlencoded") || looks_like_form(text) => {
                    RequestBody::Form(form_pairs(text))
                }
                None => RequestBody::Other,
            },
        };
        let mime = request
            .response
            .as_ref()
            .map(|response| {
                let mime = response.mime_type.to_ascii_lowercase();
                if mime.is_empty() {
                    response
                        .header("content-type")
                        .unwrap_or("")
                        .split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase()
                } else {
                    mime
                }
            })
            .unwrap_or_default();
        let response_json = request
            .response
            .as_ref()
            .and_then(|response| response.body.as_ref())
            .filter(|body| !body.truncated)
            .and_then(|body| body.as_text())
            .filter(|_| {
                is_json_mime(&mime)
                    || matches!(
                        request.resource_type,
                        ResourceType::Xhr | ResourceType::Fetch
                    )
            })
            .and_then(parse_json_text);
        let path = without_matrix_parameters(url.path());
        let operations = graphql::operations(&path, &query, &body);
        Some(Sample {
            index,
            request,
            method: request.method.to_ascii_uppercase(),
            host,
            origin,
            path,
            query,
            body,
            operations,
            response_json,
            mime,
            started_at_ms: request.timing.started_at_ms,
        })
    }

    /// The response body for one GraphQL operation of a batch (or the whole body).
    pub fn response_for(&self, operation: Option<usize>) -> Option<&Value> {
        match (operation, &self.response_json) {
            (Some(i), Some(Value::Array(items))) if self.operations.len() > 1 => items.get(i),
            (_, value) => value.as_ref(),
        }
    }

    pub fn status(&self) -> Option<u16> {
        self.request
            .response
            .as_ref()
            .map(|response| response.status)
    }
}

/// The path without `;name=value` segment parameters: they carry session ids
/// (`;jsessionid=…`), never the endpoint's identity, and must not reach a template.
fn without_matrix_parameters(path: &str) -> String {
    if !path.contains(';') {
        return path.to_owned();
    }
    path.split('/')
        .map(|segment| segment.split(';').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("/")
}

fn looks_like_form(text: &str) -> bool {
    !text.is_empty()
        && !text.contains(char::is_whitespace)
        && text
            .split('&')
            .all(|pair| pair.contains('=') && !pair.starts_with('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_parameters_are_dropped_from_paths() {
        assert_eq!(
            without_matrix_parameters("/cart;jsessionid=0AB12/items;v=2"),
            "/cart/items"
        );
        assert_eq!(without_matrix_parameters("/api/items"), "/api/items");
    }
}
