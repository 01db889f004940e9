//! Request parameters of an endpoint (path, query, body, headers, cookies) with inferred types
//! and a few example values; secret-like values are replaced by the scrub placeholder.

use std::collections::BTreeMap;

use recon_contracts::{Parameter, ParameterLocation};
use serde_json::Value;

use crate::group::Member;
use crate::sample::RequestBody;

const MAX_EXAMPLES: usize = 3;
const MAX_EXAMPLE_CHARS: usize = 80;

/// Headers every browser sends: not parameters of the API.
const BROWSER_HEADERS: [&str; 27] = [
    "accept",
    "accept-encoding",
    "accept-language",
    "user-agent",
    "referer",
    "origin",
    "connection",
    "host",
    "content-length",
    "cookie",
    "pragma",
    "cache-control",
    "priority",
    "dnt",
    "upgrade-insecure-requests",
    "te",
    "if-none-match",
    "if-modified-since",
    "content-type",
    "purpose",
    "sec-purpose",
    "x-client-data",
    "range",
    "if-range",
    "keep-alive",
    "via",
    "traceparent",
];

/// GraphQL's own query parameters, not the operation's.
const GRAPHQL_KEYS: [&str; 5] = [
    "query",
    "operationName",
    "variables",
    "extensions",
    "doc_id",
];

pub fn is_browser_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("sec-ch-")
        || lower.starts_with("sec-fetch-")
        || lower.starts_with(':')
        || BROWSER_HEADERS.contains(&lower.as_str())
}

/// Type of a textual value: integer, number, boolean, uuid, date, date-time, hash, json, string.
pub fn text_type(value: &str) -> &'static str {
    let v = value.trim();
    if v.is_empty() {
        return "string";
    }
    if v.parse::<i64>().is_ok() && !(v.len() > 1 && v.starts_with('0')) {
        return "integer";
    }
    if v.parse::<f64>().is_ok()
        && v.contains('.')
        && v.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return "number";
    }
    if v == "true" || v == "false" {
        return "boolean";
    }
    let b = v.as_bytes();
    if b.len() == 36
        && b[8] == b'-'
        && b[13] == b'-'
        && b.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-')
    {
        return "uuid";
    }
    if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && b[..4].iter().all(u8::is_ascii_digit) {
        return if b.len() == 10 { "date" } else { "date-time" };
    }
    if b.len() >= 16 && b.iter().all(u8::is_ascii_hexdigit) {
        return "hash";
    }
    if (v.starts_with('{') || v.starts_with('[')) && serde_json::from_str::<Value>(v).is_ok() {
        return "json";
    }
    "string"
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(s) => text_type(s),
        Value::Array(_) | Value::Object(_) => "json",
    }
}

fn json_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A long opaque value (a token by its looks) even when its name says nothing.
pub fn looks_opaque(value: &str) -> bool {
    let len = value.len();
    if len < 24 || value.contains(char::is_whitespace) {
        return false;
    }
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    let upper = value.bytes().filter(u8::is_ascii_uppercase).count();
    let lower = value.bytes().filter(u8::is_ascii_lowercase).count();
    let classes = [digits, upper, lower].iter().filter(|n| **n > 0).count();
    classes >= 2 && !value.starts_with("http") && !value.contains('/')
}

/// The example as the report may show it.
pub fn shown_example(name: &str, location: ParameterLocation, value: &str) -> String {
    let redacted = recon_redaction::secrets::redact(Some(name), value);
    if redacted != value {
        return redacted;
    }
    if location == ParameterLocation::Cookie || looks_opaque(value) {
        // Cookie values are credentials more often than not; opaque values are tokens.
        if location == ParameterLocation::Cookie && value.len() <= 16 && !looks_opaque(value) {
            return value.to_owned();
        }
        return if location == ParameterLocation::Cookie {
            format!("<cookie:{name}>")
        } else {
            "<token>".to_owned()
        };
    }
    let mut shown: String = value.chars().take(MAX_EXAMPLE_CHARS).collect();
    if shown.len() < value.len() {
        shown.push('…');
    }
    shown
}

/// Raw values remembered per parameter so repeats skip the redaction work.
const MAX_REMEMBERED: usize = 16;

#[derive(Default)]
struct Acc {
    count: usize,
    types: Vec<&'static str>,
    examples: Vec<String>,
    remembered: Vec<String>,
}

impl Acc {
    fn add(
        &mut self,
        name: &str,
        location: ParameterLocation,
        value_type: &'static str,
        value: &str,
    ) {
        self.count += 1;
        if !self.types.contains(&value_type) {
            self.types.push(value_type);
        }
        if self.remembered.iter().any(|seen| seen == value) {
            return;
        }
        if self.remembered.len() < MAX_REMEMBERED {
            self.remembered.push(value.to_owned());
        }
        if self.examples.len() < MAX_EXAMPLES {
            let shown = shown_example(name, location, value);
            if !self.examples.contains(&shown) {
                self.examples.push(shown);
            }
        }
    }

    fn value_type(&self) -> String {
        let types: Vec<&str> = self
            .types
            .iter()
            .copied()
            .filter(|t| *t != "null")
            .collect();
        match types.as_slice() {
            [] => "null".to_owned(),
            [one] => (*one).to_owned(),
            many if many.iter().all(|t| matches!(*t, "integer" | "number")) => "number".to_owned(),
            _ => "string".to_owned(),
        }
    }
}

/// Cookie pairs of a `Cookie:` header.
pub fn cookie_pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        let name = name.trim();
        (!name.is_empty()).then_some((name, value.trim()))
    })
}

pub fn parameters(members: &[Member<'_, '_>]) -> Vec<Parameter> {
    let mut found: BTreeMap<(ParameterLocation, String), Acc> = BTreeMap::new();
    let mut add = |location, name: &str, value_type, value: &str| {
        found
            .entry((location, name.to_owned()))
            .or_default()
            .add(name, location, value_type, value);
    };
    for member in members {
        let sample = member.sample;
        let graphql = member.operation.is_some();
        for param in member.path_params {
            add(
                ParameterLocation::Path,
                &param.name,
                param.kind.value_type(),
                &param.value,
            );
        }
        for (name, value) in &sample.query {
            if graphql && GRAPHQL_KEYS.contains(&name.as_str()) {
                continue;
            }
            add(ParameterLocation::Query, name, text_type(value), value);
        }
        match (member.operation, &sample.body) {
            (Some(i), _) => {
                if let Some(Value::Object(variables)) = sample
                    .operations
                    .get(i)
                    .and_then(|op| op.variables.as_ref())
                {
                    for (name, value) in variables {
                        add(
                            ParameterLocation::Body,
                            name,
                            json_type(value),
                            &json_text(value),
                        );
                    }
                }
            }
            (None, RequestBody::Json(Value::Object(object))) => {
                for (name, value) in object {
                    add(
                        ParameterLocation::Body,
                        name,
                        json_type(value),
                        &json_text(value),
                    );
                }
            }
            (None, RequestBody::Form(pairs)) => {
                for (name, value) in pairs {
                    add(ParameterLocation::Body, name, text_type(value), value);
                }
            }
            _ => {}
        }
        for header in &sample.request.request_headers {
            if is_browser_header(&header.name) {
                continue;
            }
            let name = header.name.to_ascii_lowercase();
            add(ParameterLocation::Header, &name, "string", &header.value);
        }
        if let Some(cookies) = sample.request.request_header("cookie") {
            for (name, value) in cookie_pairs(cookies) {
                add(ParameterLocation::Cookie, name, "string", value);
            }
        }
    }
    let total = members.len();
    found
        .into_iter()
        .map(|((location, name), acc)| Parameter {
            required: acc.count >= total,
            value_type: acc.value_type(),
            examples: acc.examples,
            name,
            location,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_types() {
        assert_eq!(text_type("42"), "integer");
        assert_eq!(text_type("007"), "string");
        assert_eq!(text_type("19.90"), "number");
        assert_eq!(text_type("true"), "boolean");
        assert_eq!(text_type("3f2b8c1e-9a4d-4e5f-8b6a-1c2d3e4f5a6b"), "uuid");
        assert_eq!(text_type("2024-05-01"), "date");
        assert_eq!(text_type("{\"a\":1}"), "json");
        assert_eq!(text_type("red lamp"), "string");
    }

    #[test]
    fn secrets_and_opaque_tokens_are_not_shown() {
        assert_eq!(
            shown_example("q", ParameterLocation::Query, "red lamp"),
            "red lamp"
        );
        assert_ne!(
            shown_example("csrf_token", ParameterLocation::Body, "abc"),
            "abc"
        );
        assert_eq!(
            shown_example(
                "_abck",
                ParameterLocation::Cookie,
                "0~-1~YAAQ3f2b8c1e9a4d4e5f8b6a1c2d3e4f5a6b"
            ),
            "<cookie:_abck>"
        );
        assert_eq!(
            shown_example("theme", ParameterLocation::Cookie, "dark"),
            "dark"
        );
        assert_eq!(
            shown_example(
                "sig",
                ParameterLocation::Query,
                "AbCdEf0123456789AbCdEf0123"
            ),
            "<token>"
        );
        assert!(
            !shown_example("session", ParameterLocation::Cookie, "s3cr3t-session")
                .contains("s3cr3t")
        );
    }
}
