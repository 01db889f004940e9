//! One captured request, parsed once for every later step: URL parts, query, request body
//! (JSON or form), GraphQL operations, and whether the response body is JSON. The response
//! body itself is parsed only when a step needs it ([`Sample::response_json`]) and dropped
//! after: held parsed for every request at once, response bodies took many times the size of
//! the capture.

use recon_contracts::{RequestRecord, ResourceType};
use serde::de::DeserializeSeed;
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
    /// The response body, when it is JSON (checked once, not kept parsed).
    json_response: Option<&'c str>,
    pub mime: String,
    pub started_at_ms: f64,
}

fn is_json_mime(mime: &str) -> bool {
    mime.contains("json") || mime.contains("graphql")
}

/// The JSON document in `text`, past any XSSI guard, when it is one (an object or an array no
/// larger than [`MAX_PARSED_BODY`]).
fn json_document(text: &str) -> Option<&str> {
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
    let mut deserializer = serde_json::Deserializer::from_str(trimmed);
    let parses = JsonCheck.deserialize(&mut deserializer).is_ok() && deserializer.end().is_ok();
    parses.then_some(trimmed)
}

/// Accepts exactly the documents `serde_json::Value` accepts (numbers in range, nesting within
/// the parser's limit) without building anything: every value is read with `deserialize_any`,
/// where `IgnoredAny` would skip nested values unchecked.
struct JsonCheck;

impl<'de> serde::de::DeserializeSeed<'de> for JsonCheck {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonCheck {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(JsonCheck)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(JsonCheck)?.is_some() {
            map.next_value_seed(JsonCheck)?;
        }
        Ok(())
    }
}

fn parse_json_text(text: &str) -> Option<Value> {
    serde_json::from_str(json_document(text)?).ok()
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
        let json_response = request
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
            .and_then(json_document);
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
            json_response,
            mime,
            started_at_ms: request.timing.started_at_ms,
        })
    }

    pub fn has_json_response(&self) -> bool {
        self.json_response.is_some()
    }

    /// The response body parsed, when it is JSON: a new value each call, for the caller to
    /// drop when done.
    pub fn response_json(&self) -> Option<Value> {
        serde_json::from_str(self.json_response?).ok()
    }

    /// The part of the parsed response body that answers one GraphQL operation of a batch (or
    /// the whole body).
    pub fn response_for<'v>(&self, json: &'v Value, operation: Option<usize>) -> Option<&'v Value> {
        match (operation, json) {
            (Some(i), Value::Array(items)) if self.operations.len() > 1 => items.get(i),
            (_, value) => Some(value),
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

    #[test]
    fn a_body_counts_as_json_exactly_when_it_parses_to_a_value() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for text in [
            r#"{"items": [1, 2.5, "x", null, true, {"a": []}]}"#,
            r#")]}' {"guarded": true}"#,
            "[1e999]",
            r#"{"a": "\ud800"}"#,
            r#"{"a": 1} trailing"#,
            "{\"a\": 1",
            deep.as_str(),
        ] {
            let as_value = serde_json::from_str::<Value>(text.trim_start_matches(")]}' ")).ok();
            assert_eq!(
                json_document(text).is_some(),
                as_value.is_some(),
                "{text:.40}"
            );
        }
    }
}
