//! Writes a capture as a HAR 1.2 file: the format mitmproxy2swagger and har-to-openapi read, so
//! the benchmarks give every tool the same traffic, and what `recon scan --from-har` imports in
//! the CLI's tests of large files.

use recon_contracts::{Body, Capture, Header, RequestRecord};
use serde_json::{json, Value};

pub fn to_har(capture: &Capture) -> Value {
    let entries: Vec<Value> = capture.requests.iter().map(entry).collect();
    json!({
        "log": {
            "version": "1.2",
            "creator": {"name": "recon-tests", "version": env!("CARGO_PKG_VERSION")},
            "pages": [],
            "entries": entries,
        }
    })
}

fn entry(request: &RequestRecord) -> Value {
    let started = chrono::DateTime::from_timestamp_millis(request.timing.started_at_ms as i64)
        .unwrap_or_default()
        .to_rfc3339();
    let query: Vec<Value> = url::Url::parse(&request.url)
        .map(|url| {
            url.query_pairs()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect()
        })
        .unwrap_or_default();
    let mut har_request = json!({
        "method": request.method,
        "url": request.url,
        "httpVersion": "HTTP/1.1",
        "headers": headers(&request.request_headers),
        "queryString": query,
        "cookies": [],
        "headersSize": -1,
        "bodySize": request.post_data.as_ref().map_or(0, |body| text(body).len()),
    });
    if let Some(body) = &request.post_data {
        har_request["postData"] = json!({"mimeType": "application/json", "text": text(body)});
    }
    let response = request.response.as_ref().map(|response| {
        let body = response.body.as_ref().map(text).unwrap_or_default();
        json!({
            "status": response.status,
            "statusText": response.status_text,
            "httpVersion": "HTTP/1.1",
            "headers": headers(&response.headers),
            "cookies": [],
            "content": {"size": body.len(), "mimeType": response.mime_type, "text": body},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": body.len(),
        })
    });
    let duration = request.timing.duration_ms.unwrap_or(0.0);
    json!({
        "startedDateTime": started,
        "time": duration,
        "request": har_request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": request.timing.wait_ms.unwrap_or(0.0), "receive": 0},
    })
}

fn headers(headers: &[Header]) -> Vec<Value> {
    headers
        .iter()
        .map(|header| json!({"name": header.name, "value": header.value}))
        .collect()
}

/// The lamp shop's bodies are all text.
fn text(body: &Body) -> &str {
    &body.data
}
