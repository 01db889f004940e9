//! The capture format: what the CLI records in Chrome (or imports from a HAR file) and uploads.
//!
//! Requests keep their headers as an ordered list (names may repeat, order matters for
//! replay); bodies are text or base64 and say when they were cut short.

use serde::{Deserialize, Serialize};

pub const CAPTURE_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capture {
    pub format_version: u32,
    pub source: CaptureSource,
    /// The URL the user asked to scan.
    pub target_url: String,
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: f64,
    pub ended_at_ms: f64,
    /// Browser product and version, e.g. `Chrome/131.0.6778.85`, when known.
    #[serde(default)]
    pub browser: Option<String>,
    #[serde(default)]
    pub pages: Vec<Page>,
    pub requests: Vec<RequestRecord>,
    /// The browser's cookie jar at the end of the capture.
    #[serde(default)]
    pub cookies: Vec<Cookie>,
    /// WebSocket and EventSource connections, summarised.
    #[serde(default)]
    pub streams: Vec<StreamSummary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureSource {
    Chrome,
    Har,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub id: String,
    pub url: String,
    #[serde(default)]
    pub title: Option<String>,
    pub started_at_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl Header {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// First value of a header, names compared case-insensitively.
pub fn header_value<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case(name))
        .map(|header| header.value.as_str())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Unique within the capture (CDP request id plus redirect hop, or HAR entry index).
    pub id: String,
    #[serde(default)]
    pub page_id: Option<String>,
    pub method: String,
    pub url: String,
    pub resource_type: ResourceType,
    #[serde(default)]
    pub initiator: Option<Initiator>,
    /// Request headers as sent on the wire, including the ones Chrome adds late (Cookie).
    pub request_headers: Vec<Header>,
    #[serde(default)]
    pub post_data: Option<Body>,
    #[serde(default)]
    pub response: Option<ResponseRecord>,
    pub timing: Timing,
    /// The id of the request whose redirect produced this one.
    #[serde(default)]
    pub redirected_from: Option<String>,
    /// Set when the request failed before a response (DNS, blocked, aborted).
    #[serde(default)]
    pub failure: Option<String>,
}

impl RequestRecord {
    pub fn request_header(&self, name: &str) -> Option<&str> {
        header_value(&self.request_headers, name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseRecord {
    pub status: u16,
    #[serde(default)]
    pub status_text: String,
    pub headers: Vec<Header>,
    #[serde(default)]
    pub mime_type: String,
    #[serde(default)]
    pub body: Option<Body>,
    #[serde(default)]
    pub remote_address: Option<String>,
    /// `h2`, `http/1.1`, …
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub from_cache: bool,
    #[serde(default)]
    pub from_service_worker: bool,
}

impl ResponseRecord {
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    pub encoding: BodyEncoding,
    pub data: String,
    /// The body was longer than the capture's cap and `data` holds only its start.
    #[serde(default)]
    pub truncated: bool,
    /// Size in bytes of the whole body, when known.
    #[serde(default)]
    pub size: Option<u64>,
}

impl Body {
    pub fn text(data: impl Into<String>) -> Body {
        let data = data.into();
        Body {
            size: Some(data.len() as u64),
            encoding: BodyEncoding::Text,
            data,
            truncated: false,
        }
    }

    /// The body as text when it is text.
    pub fn as_text(&self) -> Option<&str> {
        match self.encoding {
            BodyEncoding::Text => Some(&self.data),
            BodyEncoding::Base64 => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyEncoding {
    Text,
    Base64,
}

/// Chrome's resource types; anything else is `other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    Document,
    Stylesheet,
    Image,
    Media,
    Font,
    Script,
    Xhr,
    Fetch,
    EventSource,
    WebSocket,
    Manifest,
    Ping,
    Preflight,
    Other,
}

impl ResourceType {
    /// Maps CDP's `Network.ResourceType` names and HAR's `_resourceType` values.
    pub fn from_name(name: &str) -> ResourceType {
        match name.to_ascii_lowercase().as_str() {
            "document" => ResourceType::Document,
            "stylesheet" => ResourceType::Stylesheet,
            "image" | "imageset" => ResourceType::Image,
            "media" => ResourceType::Media,
            "font" => ResourceType::Font,
            "script" => ResourceType::Script,
            "xhr" => ResourceType::Xhr,
            "fetch" => ResourceType::Fetch,
            "eventsource" => ResourceType::EventSource,
            "websocket" => ResourceType::WebSocket,
            "manifest" => ResourceType::Manifest,
            "ping" | "beacon" | "cspviolationreport" => ResourceType::Ping,
            "preflight" => ResourceType::Preflight,
            _ => ResourceType::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Initiator {
    /// `parser`, `script`, `preload`, `redirect`, `other`.
    pub kind: String,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Timing {
    /// When the request started, milliseconds since the Unix epoch.
    pub started_at_ms: f64,
    /// From start to the end of the response body, when it finished.
    #[serde(default)]
    pub duration_ms: Option<f64>,
    /// Time to the first response byte, when known.
    #[serde(default)]
    pub wait_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cookie {
    pub name: String,
    pub value: String,
    pub domain: String,
    #[serde(default = "root_path")]
    pub path: String,
    /// Seconds since the Unix epoch; `None` for session cookies.
    #[serde(default)]
    pub expires: Option<i64>,
    #[serde(default)]
    pub http_only: bool,
    #[serde(default)]
    pub secure: bool,
    #[serde(default)]
    pub same_site: Option<String>,
}

fn root_path() -> String {
    "/".to_owned()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamSummary {
    pub kind: StreamKind,
    pub url: String,
    #[serde(default)]
    pub messages_sent: u64,
    #[serde(default)]
    pub messages_received: u64,
    /// The first few messages, each cut to a few hundred characters.
    #[serde(default)]
    pub samples: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    WebSocket,
    EventSource,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CaptureError {
    #[error("unsupported capture format_version {found}; this server reads version {expected}")]
    UnsupportedVersion { found: u32, expected: u32 },
    #[error("target_url {0:?} is not an http(s) URL")]
    BadTargetUrl(String),
    #[error("request {id:?} has a URL that is not http(s) or ws(s): {url:?}")]
    BadRequestUrl { id: String, url: String },
    #[error("request id {0:?} appears more than once")]
    DuplicateRequestId(String),
}

impl Capture {
    /// Checks what serde cannot: the version, URL schemes, unique request ids. Sizes are
    /// bounded while decoding ([`crate::decode_capture`]).
    pub fn validate(&self) -> Result<(), CaptureError> {
        if self.format_version != CAPTURE_FORMAT_VERSION {
            return Err(CaptureError::UnsupportedVersion {
                found: self.format_version,
                expected: CAPTURE_FORMAT_VERSION,
            });
        }
        if !is_http_url(&self.target_url) {
            return Err(CaptureError::BadTargetUrl(self.target_url.clone()));
        }
        let mut seen = std::collections::HashSet::with_capacity(self.requests.len());
        for request in &self.requests {
            if !is_network_url(&request.url) {
                return Err(CaptureError::BadRequestUrl {
                    id: request.id.clone(),
                    url: request.url.clone(),
                });
            }
            if !seen.insert(request.id.as_str()) {
                return Err(CaptureError::DuplicateRequestId(request.id.clone()));
            }
        }
        Ok(())
    }
}

/// A URL a capture's request may have: HTTP(S) or a WebSocket. `data:`, `blob:` and extension
/// URLs are no network traffic.
pub fn is_network_url(url: &str) -> bool {
    is_http_url(url) || url.starts_with("ws://") || url.starts_with("wss://")
}

/// An absolute `http://` or `https://` URL with a host.
pub fn is_http_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && !host.contains(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample_capture() -> Capture {
        Capture {
            format_version: CAPTURE_FORMAT_VERSION,
            source: CaptureSource::Chrome,
            target_url: "https://shop.example/".into(),
            started_at_ms: 1_700_000_000_000.0,
            ended_at_ms: 1_700_000_030_000.0,
            browser: Some("Chrome/131.0.0.0".into()),
            pages: vec![Page {
                id: "page-1".into(),
                url: "https://shop.example/".into(),
                title: Some("Shop".into()),
                started_at_ms: 1_700_000_000_000.0,
            }],
            requests: vec![RequestRecord {
                id: "1000.1".into(),
                page_id: Some("page-1".into()),
                method: "POST".into(),
                url: "https://api.shop.example/graphql".into(),
                resource_type: ResourceType::Fetch,
                initiator: Some(Initiator {
                    kind: "script".into(),
                    url: Some("https://shop.example/app.js".into()),
                }),
                request_headers: vec![
                    Header::new("Content-Type", "application/json"),
                    Header::new("Cookie", "session=abc"),
                ],
                post_data: Some(Body::text(r#"{"operationName":"Search"}"#)),
                response: Some(ResponseRecord {
                    status: 200,
                    status_text: "OK".into(),
                    headers: vec![Header::new("content-type", "application/json")],
                    mime_type: "application/json".into(),
                    body: Some(Body {
                        encoding: BodyEncoding::Base64,
                        data: "eyJkYXRhIjp7fX0=".into(),
                        truncated: true,
                        size: Some(4096),
                    }),
                    remote_address: Some("203.0.113.5:443".into()),
                    protocol: Some("h2".into()),
                    from_cache: false,
                    from_service_worker: false,
                }),
                timing: Timing {
                    started_at_ms: 1_700_000_001_000.0,
                    duration_ms: Some(120.5),
                    wait_ms: Some(80.0),
                },
                redirected_from: None,
                failure: None,
            }],
            cookies: vec![Cookie {
                name: "session".into(),
                value: "abc".into(),
                domain: ".shop.example".into(),
                path: "/".into(),
                expires: None,
                http_only: true,
                secure: true,
                same_site: Some("Lax".into()),
            }],
            streams: vec![StreamSummary {
                kind: StreamKind::WebSocket,
                url: "wss://shop.example/live".into(),
                messages_sent: 1,
                messages_received: 3,
                samples: vec!["{\"ping\":1}".into()],
            }],
        }
    }

    #[test]
    fn capture_round_trips_through_json() {
        let capture = sample_capture();
        let json = serde_json::to_vec(&capture).unwrap();
        assert_eq!(serde_json::from_slice::<Capture>(&json).unwrap(), capture);
        capture.validate().unwrap();
    }

    #[test]
    fn header_lookup_ignores_case() {
        let capture = sample_capture();
        assert_eq!(
            capture.requests[0].request_header("cookie"),
            Some("session=abc")
        );
        let response = capture.requests[0].response.as_ref().unwrap();
        assert_eq!(response.header("Content-Type"), Some("application/json"));
    }

    #[test]
    fn validation_rejects_what_serde_accepts() {
        let mut capture = sample_capture();
        capture.target_url = "javascript:alert(1)".into();
        assert!(matches!(
            capture.validate(),
            Err(CaptureError::BadTargetUrl(_))
        ));

        let mut capture = sample_capture();
        let copy = capture.requests[0].clone();
        capture.requests.push(copy);
        assert_eq!(
            capture.validate(),
            Err(CaptureError::DuplicateRequestId("1000.1".into()))
        );

        let mut capture = sample_capture();
        capture.format_version = 99;
        assert!(matches!(
            capture.validate(),
            Err(CaptureError::UnsupportedVersion { found: 99, .. })
        ));
    }

    #[test]
    fn resource_types_map_from_cdp_and_har_names() {
        assert_eq!(ResourceType::from_name("XHR"), ResourceType::Xhr);
        assert_eq!(ResourceType::from_name("Fetch"), ResourceType::Fetch);
        assert_eq!(ResourceType::from_name("beacon"), ResourceType::Ping);
        assert_eq!(ResourceType::from_name("weird"), ResourceType::Other);
    }
}
