//! A compact TOML description of a capture (one line per header, defaults for the rest), so
//! labeled corpora and test cases stay readable data instead of pages of struct literals.

use recon_contracts::{
    Body, Capture, CaptureSource, Cookie, Header, Initiator, Page, RequestRecord, ResourceType,
    ResponseRecord, Timing, CAPTURE_FORMAT_VERSION,
};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    pub name: String,
    pub target: String,
    /// Vendor ids the case should (only) report.
    #[serde(default)]
    pub vendors: Vec<String>,
    /// Expected challenged requests: `request index:vendor:kind`.
    #[serde(default)]
    pub challenges: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// Browser jar cookies as `name@domain`.
    #[serde(default)]
    pub cookies: Vec<String>,
    #[serde(default)]
    pub requests: Vec<RequestSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    pub url: String,
    #[serde(default = "get")]
    pub method: String,
    #[serde(default, rename = "type")]
    pub resource_type: Option<String>,
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default)]
    pub mime: Option<String>,
    #[serde(default)]
    pub request_headers: Vec<String>,
    #[serde(default)]
    pub headers: Vec<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub post: Option<String>,
    #[serde(default)]
    pub initiator: Option<String>,
    /// Milliseconds after the capture start; defaults to 10 ms per request.
    #[serde(default)]
    pub t: Option<f64>,
}

fn get() -> String {
    "GET".to_owned()
}

fn ok() -> u16 {
    200
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusSpec {
    #[serde(rename = "case")]
    pub cases: Vec<CaseSpec>,
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("corpus TOML: {0}")]
    Parse(String),
    #[error("case {case:?}: header {line:?} is not `name: value`")]
    Header { case: String, line: String },
}

pub fn parse_corpus(text: &str) -> Result<Vec<CaseSpec>, SpecError> {
    toml::from_str::<CorpusSpec>(text)
        .map(|corpus| corpus.cases)
        .map_err(|err| SpecError::Parse(err.to_string()))
}

const T0: f64 = 1_764_000_000_000.0;

fn headers(case: &str, lines: &[String]) -> Result<Vec<Header>, SpecError> {
    lines
        .iter()
        .map(|line| {
            line.split_once(':')
                .map(|(name, value)| Header::new(name.trim(), value.trim()))
                .ok_or_else(|| SpecError::Header {
                    case: case.to_owned(),
                    line: line.clone(),
                })
        })
        .collect()
}

fn default_mime(resource_type: ResourceType, url: &str) -> &'static str {
    match resource_type {
        ResourceType::Document => "text/html",
        ResourceType::Script => "application/javascript",
        ResourceType::Stylesheet => "text/css",
        ResourceType::Image => "image/png",
        ResourceType::Font => "font/woff2",
        ResourceType::Ping => "text/plain",
        _ if url.ends_with(".js") => "application/javascript",
        _ => "application/json",
    }
}

impl CaseSpec {
    pub fn capture(&self) -> Result<Capture, SpecError> {
        let mut requests = Vec::with_capacity(self.requests.len());
        for (i, spec) in self.requests.iter().enumerate() {
            let resource_type =
                ResourceType::from_name(spec.resource_type.as_deref().unwrap_or("fetch"));
            let response_headers = headers(&self.name, &spec.headers)?;
            let mime = spec
                .mime
                .clone()
                .unwrap_or_else(|| default_mime(resource_type, &spec.url).to_owned());
            let response = (spec.status != 0).then(|| ResponseRecord {
                status: spec.status,
                status_text: String::new(),
                headers: response_headers,
                mime_type: mime,
                body: spec.body.as_deref().map(Body::text),
                remote_address: None,
                protocol: Some("h2".to_owned()),
                from_cache: false,
                from_service_worker: false,
            });
            requests.push(RequestRecord {
                id: format!("r{i}"),
                page_id: Some("page-1".to_owned()),
                method: spec.method.clone(),
                url: spec.url.clone(),
                resource_type,
                initiator: spec.initiator.as_ref().map(|url| Initiator {
                    kind: "script".to_owned(),
                    url: Some(url.clone()),
                }),
                request_headers: headers(&self.name, &spec.request_headers)?,
                post_data: spec.post.as_deref().map(Body::text),
                response,
                timing: Timing {
                    started_at_ms: T0 + spec.t.unwrap_or(i as f64 * 10.0),
                    duration_ms: Some(5.0),
                    wait_ms: Some(3.0),
                },
                redirected_from: None,
                failure: None,
            });
        }
        let cookies = self
            .cookies
            .iter()
            .map(|spec| {
                let (name, domain) = spec.split_once('@').unwrap_or((spec.as_str(), ""));
                Cookie {
                    name: name.to_owned(),
                    value: "v".to_owned(),
                    domain: domain.to_owned(),
                    path: "/".to_owned(),
                    expires: None,
                    http_only: false,
                    secure: true,
                    same_site: None,
                }
            })
            .collect();
        Ok(Capture {
            format_version: CAPTURE_FORMAT_VERSION,
            source: CaptureSource::Chrome,
            target_url: self.target.clone(),
            started_at_ms: T0,
            ended_at_ms: T0 + 60_000.0,
            browser: Some("Chrome/131.0.0.0".to_owned()),
            pages: vec![Page {
                id: "page-1".to_owned(),
                url: self.target.clone(),
                title: None,
                started_at_ms: T0,
            }],
            requests,
            cookies,
            streams: Vec::new(),
        })
    }
}
