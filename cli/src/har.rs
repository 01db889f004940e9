//! Imports a HAR 1.2 file (as Chrome DevTools and Firefox export it) into a [`Capture`], so a
//! site recorded in any browser can be scanned without `recon` driving Chrome.
//!
//! The importer is lenient where browsers differ (Chrome's `_resourceType` and `_initiator`,
//! Firefox's missing ones, `null` where a list was expected) and strict where the file is
//! simply not a HAR: those errors name the file and the entry.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime};
use recon_contracts::{
    header_value, is_http_url, is_network_url, Body, BodyEncoding, Capture, CaptureSource, Cookie,
    Header, Initiator, Page, RequestRecord, ResourceType, ResponseRecord, StreamKind,
    StreamSummary, Timing, CAPTURE_FORMAT_VERSION,
};
use serde::{Deserialize, Deserializer};
use url::Url;

/// Longest body kept per request; longer ones keep their start and are marked `truncated`.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How many WebSocket messages of a connection are kept as samples, and how long each may be.
const STREAM_SAMPLES: usize = 5;
const STREAM_SAMPLE_CHARS: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum HarError {
    #[error("cannot read HAR file {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a HAR file: {reason}", path.display())]
    NotHar { path: PathBuf, reason: String },
    #[error("{}: log.entries[{index}] is invalid: {reason}", path.display())]
    BadEntry {
        path: PathBuf,
        index: usize,
        reason: String,
    },
    #[error("{} holds no HTTP requests to import", path.display())]
    Empty { path: PathBuf },
}

/// A HAR file turned into a capture, with what had to be left out.
#[derive(Debug)]
pub struct Import {
    pub capture: Capture,
    /// Entries that are not network requests (`data:`, `blob:`, extension URLs).
    pub skipped: usize,
    /// One line each, for the user: things imported only in part.
    pub warnings: Vec<String>,
}

/// Reads and imports `path`; `target_url` is the URL the user asked to scan.
pub fn import_file(path: &Path, target_url: &str) -> Result<Import, HarError> {
    let bytes = std::fs::read(path).map_err(|source| HarError::Unreadable {
        path: path.to_owned(),
        source,
    })?;
    import_bytes(&bytes, path, target_url)
}

/// Imports the HAR text in `bytes`; `path` only names the file in errors and warnings.
pub fn import_bytes(bytes: &[u8], path: &Path, target_url: &str) -> Result<Import, HarError> {
    let not_har = |reason: String| HarError::NotHar {
        path: path.to_owned(),
        reason,
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(not_har("the file is empty".into()));
    }
    let har: HarFile = serde_json::from_slice(bytes).map_err(|error| {
        not_har(match error.classify() {
            serde_json::error::Category::Data => error.to_string(),
            _ => format!("invalid JSON ({error})"),
        })
    })?;
    let log = har.log;

    let mut importer = Importer::default();
    for (index, entry) in log.entries.into_iter().enumerate() {
        importer
            .entry(index, entry)
            .map_err(|reason| HarError::BadEntry {
                path: path.to_owned(),
                index,
                reason,
            })?;
    }
    if importer.requests.is_empty() {
        return Err(HarError::Empty {
            path: path.to_owned(),
        });
    }
    importer.link_redirects();

    let pages = log
        .pages
        .into_iter()
        .filter_map(|page| importer.page(page))
        .collect::<Vec<_>>();
    let started_at_ms = importer
        .requests
        .iter()
        .map(|request| request.timing.started_at_ms)
        .chain(pages.iter().map(|page| page.started_at_ms))
        .fold(f64::INFINITY, f64::min);
    let ended_at_ms = importer
        .requests
        .iter()
        .map(|request| request.timing.started_at_ms + request.timing.duration_ms.unwrap_or(0.0))
        .fold(started_at_ms, f64::max);
    let browser = log
        .browser
        .filter(|browser| !browser.name.trim().is_empty())
        .map(|browser| format!("{}/{}", browser.name.trim(), browser.version.trim()))
        .or_else(|| browser_from_user_agent(&importer.requests));

    let mut warnings = importer.warnings;
    if let Some(host) = Url::parse(target_url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
    {
        let reaches_target = importer.requests.iter().any(|request| {
            request_host(&request.url).is_some_and(|seen| hosts_related(&seen, &host))
        });
        if !reaches_target {
            warnings.push(format!(
                "no request in {} goes to {host}: is it the right file for {target_url}?",
                path.display()
            ));
        }
    }

    let capture = Capture {
        format_version: CAPTURE_FORMAT_VERSION,
        source: CaptureSource::Har,
        target_url: target_url.to_owned(),
        started_at_ms,
        ended_at_ms,
        browser,
        pages,
        requests: importer.requests,
        cookies: importer.jar.into_cookies(),
        streams: importer.streams,
    };
    capture
        .validate()
        .map_err(|error| not_har(error.to_string()))?;
    Ok(Import {
        capture,
        skipped: importer.skipped,
        warnings,
    })
}

// ---------------------------------------------------------------------------------------------
// The HAR shapes we read. Every field is optional or defaulted unless HAR 1.2 and both browsers
// agree on it; `null` reads as the default.

fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Deserialize)]
struct HarFile {
    log: Log,
}

#[derive(Deserialize)]
struct Log {
    #[serde(default, deserialize_with = "nullable")]
    browser: Option<Product>,
    #[serde(default, deserialize_with = "nullable")]
    pages: Vec<HarPage>,
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Product {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HarPage {
    #[serde(default, deserialize_with = "nullable")]
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    title: String,
    #[serde(default, deserialize_with = "nullable")]
    started_date_time: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(default, deserialize_with = "nullable")]
    pageref: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    started_date_time: String,
    #[serde(default, deserialize_with = "nullable")]
    time: Option<f64>,
    request: HarRequest,
    #[serde(default, deserialize_with = "nullable")]
    response: Option<HarResponse>,
    #[serde(default, deserialize_with = "nullable")]
    timings: Option<Timings>,
    #[serde(default, rename = "serverIPAddress", deserialize_with = "nullable")]
    server_ip_address: Option<String>,
    #[serde(default, rename = "_resourceType", deserialize_with = "nullable")]
    resource_type: Option<String>,
    #[serde(default, rename = "_initiator", deserialize_with = "nullable")]
    initiator: Option<serde_json::Value>,
    #[serde(default, rename = "_fromCache", deserialize_with = "nullable")]
    from_cache: Option<serde_json::Value>,
    #[serde(default, rename = "_webSocketMessages", deserialize_with = "nullable")]
    websocket_messages: Vec<WebSocketMessage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HarRequest {
    #[serde(default, deserialize_with = "nullable")]
    method: String,
    url: String,
    #[serde(default, deserialize_with = "nullable")]
    headers: Vec<HarHeader>,
    #[serde(default, deserialize_with = "nullable")]
    cookies: Vec<HarCookie>,
    #[serde(default, deserialize_with = "nullable")]
    post_data: Option<PostData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HarResponse {
    #[serde(default, deserialize_with = "nullable")]
    status: i64,
    #[serde(default, deserialize_with = "nullable")]
    status_text: String,
    #[serde(default, deserialize_with = "nullable")]
    http_version: String,
    #[serde(default, deserialize_with = "nullable")]
    headers: Vec<HarHeader>,
    #[serde(default, deserialize_with = "nullable")]
    cookies: Vec<HarCookie>,
    #[serde(default, deserialize_with = "nullable")]
    content: Content,
    #[serde(default, rename = "redirectURL", deserialize_with = "nullable")]
    redirect_url: String,
    #[serde(default, rename = "_error", deserialize_with = "nullable")]
    error: Option<String>,
    #[serde(
        default,
        rename = "_fetchedViaServiceWorker",
        deserialize_with = "nullable"
    )]
    fetched_via_service_worker: bool,
}

#[derive(Deserialize)]
struct HarHeader {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HarCookie {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    value: String,
    #[serde(default, deserialize_with = "nullable")]
    path: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    domain: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    expires: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    http_only: bool,
    #[serde(default, deserialize_with = "nullable")]
    secure: bool,
    #[serde(default, deserialize_with = "nullable")]
    same_site: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostData {
    #[serde(default, deserialize_with = "nullable")]
    mime_type: String,
    #[serde(default, deserialize_with = "nullable")]
    text: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    params: Vec<PostParam>,
}

#[derive(Deserialize)]
struct PostParam {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    value: String,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Content {
    #[serde(default, deserialize_with = "nullable")]
    mime_type: String,
    #[serde(default, deserialize_with = "nullable")]
    size: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    text: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    encoding: Option<String>,
}

#[derive(Deserialize)]
struct Timings {
    #[serde(default, deserialize_with = "nullable")]
    wait: Option<f64>,
}

#[derive(Deserialize)]
struct WebSocketMessage {
    #[serde(default, rename = "type", deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    data: String,
}

// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Importer {
    requests: Vec<RequestRecord>,
    /// Resolved `redirectURL` of each kept request that answered with one, by position.
    redirects: Vec<(usize, String)>,
    streams: Vec<StreamSummary>,
    jar: CookieJar,
    skipped: usize,
    warnings: Vec<String>,
}

impl Importer {
    fn entry(&mut self, index: usize, entry: Entry) -> Result<(), String> {
        let raw_url = entry.request.url.trim();
        let url = match Url::parse(raw_url) {
            Ok(url) => url,
            Err(error) => return Err(format!("request.url {raw_url:?} is not a URL ({error})")),
        };
        if !matches!(url.scheme(), "http" | "https" | "ws" | "wss") {
            self.skipped += 1;
            return Ok(());
        }
        let url_text = if is_network_url(raw_url) {
            raw_url.to_owned()
        } else {
            url.as_str().to_owned()
        };
        let method = entry.request.method.trim().to_ascii_uppercase();
        if method.is_empty() {
            return Err("request.method is empty".into());
        }
        let started_at_ms = parse_time(&entry.started_date_time).ok_or_else(|| {
            format!(
                "startedDateTime {:?} is not an ISO 8601 date",
                entry.started_date_time
            )
        })?;
        let id = format!("har-{index}");

        let mut request_headers = to_headers(entry.request.headers);
        if header_value(&request_headers, "cookie").is_none() && !entry.request.cookies.is_empty() {
            let line = entry
                .request
                .cookies
                .iter()
                .map(|cookie| format!("{}={}", cookie.name, cookie.value))
                .collect::<Vec<_>>()
                .join("; ");
            request_headers.push(Header::new("Cookie", line));
        }
        if let Some(host) = url.host_str() {
            self.jar.remember_sent(host, &request_headers);
        }

        let post_data = entry.request.post_data.and_then(post_body);
        let (response, failure) = match entry.response {
            Some(response) if response.status > 0 => {
                let address = entry
                    .server_ip_address
                    .filter(|address| !address.is_empty());
                let response = self.response(&id, &url, started_at_ms, response, address)?;
                (Some(response), None)
            }
            Some(response) => (
                None,
                Some(
                    response
                        .error
                        .filter(|error| !error.trim().is_empty())
                        .unwrap_or_else(|| "no response".into()),
                ),
            ),
            None => (None, Some("no response".into())),
        };

        let resource_type = match entry.resource_type.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => ResourceType::from_name(name),
            _ => guess_resource_type(
                &method,
                &url,
                &request_headers,
                response
                    .as_ref()
                    .map(|response| response.mime_type.as_str()),
            ),
        };
        let response = response.map(|mut response| {
            response.from_cache = entry.from_cache.as_ref().is_some_and(is_truthy);
            response
        });

        if let Some(kind) = match resource_type {
            ResourceType::WebSocket => Some(StreamKind::WebSocket),
            ResourceType::EventSource => Some(StreamKind::EventSource),
            _ => None,
        } {
            self.streams
                .push(stream_summary(kind, &url_text, &entry.websocket_messages));
        }

        let timing = Timing {
            started_at_ms,
            duration_ms: entry.time.filter(|time| time.is_finite() && *time >= 0.0),
            wait_ms: entry
                .timings
                .and_then(|timings| timings.wait)
                .filter(|wait| wait.is_finite() && *wait >= 0.0),
        };
        let record = RequestRecord {
            id,
            page_id: entry.pageref.filter(|page| !page.is_empty()),
            method,
            url: url_text,
            resource_type,
            initiator: entry.initiator.as_ref().and_then(initiator),
            request_headers,
            post_data,
            response,
            timing,
            redirected_from: None,
            failure,
        };
        self.requests.push(record);
        Ok(())
    }

    fn response(
        &mut self,
        id: &str,
        url: &Url,
        started_at_ms: f64,
        response: HarResponse,
        remote_address: Option<String>,
    ) -> Result<ResponseRecord, String> {
        let status = u16::try_from(response.status)
            .ok()
            .filter(|status| *status <= 999)
            .ok_or_else(|| format!("response.status {} is not an HTTP status", response.status))?;
        let headers = to_headers(response.headers);
        let body = match content_body(&response.content) {
            Ok(body) => body,
            Err(reason) => {
                self.warnings
                    .push(format!("request {id} ({url}): body left out: {reason}"));
                None
            }
        };
        if let Some(host) = url.host_str() {
            if response.cookies.is_empty() {
                for line in headers
                    .iter()
                    .filter(|header| header.name.eq_ignore_ascii_case("set-cookie"))
                    .flat_map(|header| header.value.lines())
                {
                    if let Some(cookie) = parse_set_cookie(line, host, url.path(), started_at_ms) {
                        self.jar.set(cookie);
                    }
                }
            } else {
                for cookie in &response.cookies {
                    if let Some(cookie) = har_cookie(cookie, host, url.path(), started_at_ms) {
                        self.jar.set(cookie);
                    }
                }
            }
        }
        let redirect = response.redirect_url.trim();
        if !redirect.is_empty() && (300..400).contains(&status) {
            if let Ok(target) = url.join(redirect) {
                self.redirects
                    .push((self.requests.len(), target.as_str().to_owned()));
            }
        }
        Ok(ResponseRecord {
            status,
            status_text: response.status_text,
            headers,
            mime_type: response.content.mime_type,
            body,
            remote_address,
            protocol: protocol(&response.http_version),
            from_cache: false,
            from_service_worker: response.fetched_via_service_worker,
        })
    }

    /// Each redirect hop is its own HAR entry: the next request to the `redirectURL` is the
    /// one the redirect produced.
    fn link_redirects(&mut self) {
        let mut by_url: HashMap<String, Vec<usize>> = HashMap::new();
        for (position, request) in self.requests.iter().enumerate() {
            let key = Url::parse(&request.url)
                .map(|url| url.as_str().to_owned())
                .unwrap_or_else(|_| request.url.clone());
            by_url.entry(key).or_default().push(position);
        }
        for (from, target) in std::mem::take(&mut self.redirects) {
            let Some(candidates) = by_url.get(&target) else {
                continue;
            };
            let next = candidates.iter().copied().find(|&position| {
                position > from && self.requests[position].redirected_from.is_none()
            });
            if let Some(position) = next {
                let from_id = self.requests[from].id.clone();
                self.requests[position].redirected_from = Some(from_id);
            }
        }
    }

    fn page(&self, page: HarPage) -> Option<Page> {
        if page.id.is_empty() {
            return None;
        }
        let started_at_ms = parse_time(&page.started_date_time).or_else(|| {
            self.requests
                .iter()
                .find(|request| request.page_id.as_deref() == Some(page.id.as_str()))
                .map(|request| request.timing.started_at_ms)
        })?;
        // HAR pages have no URL: the page is where its first document landed after redirects.
        let documents = self.requests.iter().filter(|request| {
            request.page_id.as_deref() == Some(page.id.as_str())
                && request.resource_type == ResourceType::Document
        });
        let document = documents.clone().find(|request| {
            request
                .response
                .as_ref()
                .is_some_and(|response| !(300..400).contains(&response.status))
        });
        let document = document.or_else(|| documents.clone().next());
        let url = document
            .map(|request| request.url.clone())
            .or_else(|| is_http_url(&page.title).then(|| page.title.clone()))
            .unwrap_or_default();
        let title = Some(page.title).filter(|title| !title.is_empty() && *title != url);
        Some(Page {
            id: page.id,
            url,
            title,
            started_at_ms,
        })
    }
}

fn to_headers(headers: Vec<HarHeader>) -> Vec<Header> {
    headers
        .into_iter()
        .filter(|header| !header.name.is_empty())
        .map(|header| Header::new(header.name, header.value))
        .collect()
}

fn parse_time(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_micros() as f64 / 1000.0);
    }
    // Some exporters leave out the zone; HAR times are then taken as UTC.
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|time| time.and_utc().timestamp_micros() as f64 / 1000.0)
}

fn is_truthy(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Bool(flag) => *flag,
        serde_json::Value::String(text) => !text.is_empty(),
        _ => false,
    }
}

fn protocol(http_version: &str) -> Option<String> {
    let version = http_version.trim().to_ascii_lowercase();
    match version.as_str() {
        "" | "unknown" => None,
        "http/2" | "http/2.0" => Some("h2".into()),
        "http/3" | "http/3.0" => Some("h3".into()),
        _ => Some(version),
    }
}

/// Chrome's `_initiator`: `{type, url}` for the parser, `{type, stack: {callFrames, parent}}`
/// for scripts.
fn initiator(value: &serde_json::Value) -> Option<Initiator> {
    let kind = value
        .get("type")
        .and_then(|kind| kind.as_str())
        .filter(|kind| !kind.is_empty())
        .unwrap_or("other")
        .to_owned();
    let url = value
        .get("url")
        .and_then(|url| url.as_str())
        .filter(|url| !url.is_empty())
        .map(str::to_owned)
        .or_else(|| stack_url(value.get("stack")?));
    if value.get("type").is_none() && url.is_none() {
        return None;
    }
    Some(Initiator { kind, url })
}

fn stack_url(stack: &serde_json::Value) -> Option<String> {
    let mut current = Some(stack);
    while let Some(stack) = current {
        let frame_url = stack
            .get("callFrames")
            .and_then(|frames| frames.as_array())
            .and_then(|frames| {
                frames.iter().find_map(|frame| {
                    frame
                        .get("url")
                        .and_then(|url| url.as_str())
                        .filter(|url| !url.is_empty())
                })
            });
        if let Some(url) = frame_url {
            return Some(url.to_owned());
        }
        current = stack.get("parent");
    }
    None
}

fn post_body(post: PostData) -> Option<Body> {
    if let Some(text) = post.text {
        return Some(text_body(text));
    }
    let form = post
        .mime_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded");
    if form && !post.params.is_empty() {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for param in &post.params {
            serializer.append_pair(&param.name, &param.value);
        }
        return Some(text_body(serializer.finish()));
    }
    None
}

fn content_body(content: &Content) -> Result<Option<Body>, String> {
    let Some(text) = &content.text else {
        return Ok(None);
    };
    // An empty text for a response that had bytes means the exporter did not keep the body.
    if text.is_empty() && content.size.is_some_and(|size| size > 0) {
        return Ok(None);
    }
    match content.encoding.as_deref().map(str::trim) {
        None | Some("") => Ok(Some(text_body(text.clone()))),
        Some(encoding) if encoding.eq_ignore_ascii_case("base64") => base64_body(text).map(Some),
        Some(other) => Err(format!("unknown content encoding {other:?}")),
    }
}

/// A text body, cut at [`MAX_BODY_BYTES`] on a character boundary.
pub fn text_body(mut text: String) -> Body {
    let size = text.len() as u64;
    let truncated = text.len() > MAX_BODY_BYTES;
    if truncated {
        let mut end = MAX_BODY_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    Body {
        encoding: BodyEncoding::Text,
        data: text,
        truncated,
        size: Some(size),
    }
}

/// A base64 body, cut so that it decodes to at most [`MAX_BODY_BYTES`]; `size` is the decoded
/// size of the whole body.
fn base64_body(text: &str) -> Result<Body, String> {
    let mut data: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let valid = data
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'));
    if !valid {
        return Err("it is marked base64 but is not".into());
    }
    let unpadded = data.trim_end_matches('=').len();
    let size = (unpadded * 3 / 4) as u64;
    // Whole 4-character groups only, so the kept start still decodes.
    let keep = MAX_BODY_BYTES / 3 * 4;
    let truncated = size > MAX_BODY_BYTES as u64;
    if truncated {
        data.truncate(keep);
    }
    Ok(Body {
        encoding: BodyEncoding::Base64,
        data,
        truncated,
        size: Some(size),
    })
}

fn stream_summary(kind: StreamKind, url: &str, messages: &[WebSocketMessage]) -> StreamSummary {
    let sent = messages
        .iter()
        .filter(|message| message.kind.eq_ignore_ascii_case("send"))
        .count() as u64;
    StreamSummary {
        kind,
        url: url.to_owned(),
        messages_sent: sent,
        messages_received: messages.len() as u64 - sent,
        samples: messages
            .iter()
            .take(STREAM_SAMPLES)
            .map(|message| message.data.chars().take(STREAM_SAMPLE_CHARS).collect())
            .collect(),
    }
}

/// For HARs without `_resourceType` (Firefox, older tools): what Chrome would have said, from
/// the fetch metadata the browser sent, then the response type, then the file extension.
fn guess_resource_type(
    method: &str,
    url: &Url,
    headers: &[Header],
    mime_type: Option<&str>,
) -> ResourceType {
    if matches!(url.scheme(), "ws" | "wss") {
        return ResourceType::WebSocket;
    }
    if method == "OPTIONS" && header_value(headers, "access-control-request-method").is_some() {
        return ResourceType::Preflight;
    }
    let api_call = if header_value(headers, "x-requested-with")
        .is_some_and(|value| value.eq_ignore_ascii_case("xmlhttprequest"))
    {
        ResourceType::Xhr
    } else {
        ResourceType::Fetch
    };
    if let Some(destination) = header_value(headers, "sec-fetch-dest") {
        let by_destination = match destination.trim().to_ascii_lowercase().as_str() {
            "document" | "iframe" | "frame" | "embed" | "object" => Some(ResourceType::Document),
            "script" | "worker" | "sharedworker" | "serviceworker" => Some(ResourceType::Script),
            "style" => Some(ResourceType::Stylesheet),
            "image" => Some(ResourceType::Image),
            "font" => Some(ResourceType::Font),
            "audio" | "video" | "track" => Some(ResourceType::Media),
            "manifest" => Some(ResourceType::Manifest),
            "report" => Some(ResourceType::Ping),
            _ => None,
        };
        if let Some(resource_type) = by_destination {
            return resource_type;
        }
    }
    let mime = mime_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "text/html" | "application/xhtml+xml" => return ResourceType::Document,
        "text/css" => return ResourceType::Stylesheet,
        "text/event-stream" => return ResourceType::EventSource,
        "application/manifest+json" => return ResourceType::Manifest,
        "application/json"
        | "application/graphql-response+json"
        | "text/json"
        | "application/xml"
        | "text/xml" => return api_call,
        _ => {}
    }
    if mime.contains("javascript") || mime.contains("ecmascript") {
        return ResourceType::Script;
    }
    if mime.starts_with("image/") {
        return ResourceType::Image;
    }
    if mime.starts_with("font/") || mime.contains("font-") || mime.contains("woff") {
        return ResourceType::Font;
    }
    if mime.starts_with("audio/") || mime.starts_with("video/") {
        return ResourceType::Media;
    }
    if mime.ends_with("+json") {
        return api_call;
    }
    let extension = url
        .path()
        .rsplit('/')
        .next()
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "js" | "mjs" => ResourceType::Script,
        "css" => ResourceType::Stylesheet,
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "avif" | "svg" | "ico" => ResourceType::Image,
        "woff" | "woff2" | "ttf" | "otf" => ResourceType::Font,
        "mp4" | "webm" | "mp3" | "m4a" | "ogg" => ResourceType::Media,
        "html" | "htm" => ResourceType::Document,
        _ if method != "GET" || mime == "text/plain" => api_call,
        _ => ResourceType::Other,
    }
}

fn browser_from_user_agent(requests: &[RequestRecord]) -> Option<String> {
    let agent = requests
        .iter()
        .find_map(|request| request.request_header("user-agent"))?;
    ["Firefox/", "Edg/", "Chrome/"].iter().find_map(|product| {
        agent
            .split_whitespace()
            .find(|token| token.starts_with(product))
            .map(str::to_owned)
    })
}

fn request_host(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .host_str()
        .map(str::to_ascii_lowercase)
}

/// The same site, or one a subdomain of the other (`www.shop.example` and `shop.example`).
fn hosts_related(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

// ---------------------------------------------------------------------------------------------
// The cookie jar at the end of the capture: what the responses set, plus the cookies requests
// sent that no response set (script-set ones: consent, analytics, anti-bot tokens).

#[derive(Default)]
struct CookieJar {
    /// By (domain, path, name).
    set: BTreeMap<(String, String, String), Cookie>,
    /// Cookies seen only on requests, by (host, name).
    sent: BTreeMap<(String, String), String>,
}

impl CookieJar {
    fn set(&mut self, cookie: CookieUpdate) {
        let key = (
            cookie.cookie.domain.clone(),
            cookie.cookie.path.clone(),
            cookie.cookie.name.clone(),
        );
        if cookie.deleted {
            self.set.remove(&key);
        } else {
            self.set.insert(key, cookie.cookie);
        }
    }

    fn remember_sent(&mut self, host: &str, headers: &[Header]) {
        for header in headers
            .iter()
            .filter(|header| header.name.eq_ignore_ascii_case("cookie"))
        {
            for pair in header.value.split(';') {
                if let Some((name, value)) = pair.split_once('=') {
                    let name = name.trim();
                    if !name.is_empty() {
                        self.sent.insert(
                            (host.to_ascii_lowercase(), name.to_owned()),
                            value.trim().to_owned(),
                        );
                    }
                }
            }
        }
    }

    fn into_cookies(self) -> Vec<Cookie> {
        let mut cookies: Vec<Cookie> = self.set.into_values().collect();
        for ((host, name), value) in self.sent {
            let known = cookies
                .iter()
                .any(|cookie| cookie.name == name && domain_matches(&cookie.domain, &host));
            if !known {
                cookies.push(Cookie {
                    name,
                    value,
                    domain: host,
                    path: "/".into(),
                    expires: None,
                    http_only: false,
                    secure: false,
                    same_site: None,
                });
            }
        }
        cookies
    }
}

fn domain_matches(cookie_domain: &str, host: &str) -> bool {
    let domain = cookie_domain.trim_start_matches('.').to_ascii_lowercase();
    host == domain || host.ends_with(&format!(".{domain}"))
}

struct CookieUpdate {
    cookie: Cookie,
    /// The response expired it: it leaves the jar.
    deleted: bool,
}

/// The cookie's domain as the browser keeps it: `.example` for a `Domain` attribute, the bare
/// host for a host-only cookie.
fn cookie_domain(attribute: Option<&str>, host: &str) -> String {
    match attribute.map(str::trim).filter(|domain| !domain.is_empty()) {
        Some(domain) if domain.starts_with('.') => domain.to_ascii_lowercase(),
        Some(domain) => format!(".{}", domain.to_ascii_lowercase()),
        None => host.to_ascii_lowercase(),
    }
}

/// RFC 6265's default path: the request path up to its last `/`.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".into(),
        Some(end) => request_path[..end].to_owned(),
    }
}

fn har_cookie(
    cookie: &HarCookie,
    host: &str,
    request_path: &str,
    now_ms: f64,
) -> Option<CookieUpdate> {
    if cookie.name.is_empty() {
        return None;
    }
    let expires = cookie
        .expires
        .as_deref()
        .and_then(parse_time)
        .map(|ms| (ms / 1000.0).floor() as i64);
    Some(CookieUpdate {
        deleted: expires.is_some_and(|expires| (expires as f64) * 1000.0 < now_ms),
        cookie: Cookie {
            name: cookie.name.clone(),
            value: cookie.value.clone(),
            domain: cookie_domain(cookie.domain.as_deref(), host),
            path: cookie
                .path
                .clone()
                .filter(|path| path.starts_with('/'))
                .unwrap_or_else(|| default_path(request_path)),
            expires,
            http_only: cookie.http_only,
            secure: cookie.secure,
            same_site: cookie.same_site.clone().filter(|same| !same.is_empty()),
        },
    })
}

/// One `Set-Cookie` line, for exporters that leave `response.cookies` empty.
fn parse_set_cookie(
    line: &str,
    host: &str,
    request_path: &str,
    now_ms: f64,
) -> Option<CookieUpdate> {
    let mut parts = line.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut cookie = HarCookie {
        name: name.to_owned(),
        value: value.trim().to_owned(),
        path: None,
        domain: None,
        expires: None,
        http_only: false,
        secure: false,
        same_site: None,
    };
    let mut max_age = None;
    for attribute in parts {
        let (key, value) = attribute
            .split_once('=')
            .map_or((attribute.trim(), ""), |(key, value)| {
                (key.trim(), value.trim())
            });
        match key.to_ascii_lowercase().as_str() {
            "domain" => cookie.domain = Some(value.to_owned()),
            "path" => cookie.path = Some(value.to_owned()),
            "expires" => {
                cookie.expires = DateTime::parse_from_rfc2822(value)
                    .ok()
                    .map(|time| time.to_rfc3339());
            }
            "max-age" => max_age = value.parse::<i64>().ok(),
            "httponly" => cookie.http_only = true,
            "secure" => cookie.secure = true,
            "samesite" => cookie.same_site = Some(value.to_owned()),
            _ => {}
        }
    }
    let mut update = har_cookie(&cookie, host, request_path, now_ms)?;
    if let Some(max_age) = max_age {
        // Max-Age wins over Expires (RFC 6265 § 5.3).
        update.cookie.expires = Some((now_ms / 1000.0).floor() as i64 + max_age);
        update.deleted = max_age <= 0;
    }
    Some(update)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: &str = "https://demo-shop.recon.test/";

    fn fixture_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/demo.har")
    }

    fn demo() -> Import {
        import_file(&fixture_path(), TARGET).unwrap()
    }

    fn by_url<'a>(capture: &'a Capture, method: &str, url: &str) -> &'a RequestRecord {
        capture
            .requests
            .iter()
            .find(|request| request.method == method && request.url == url)
            .unwrap_or_else(|| panic!("no {method} {url} in the capture"))
    }

    fn har(entries: &str) -> String {
        format!(
            r#"{{"log": {{"version": "1.2", "creator": {{"name": "test", "version": "1"}}, "entries": [{entries}]}}}}"#
        )
    }

    fn import_text(text: &str) -> Result<Import, HarError> {
        import_bytes(text.as_bytes(), Path::new("test.har"), TARGET)
    }

    #[test]
    fn the_demo_har_imports_cleanly() {
        let import = demo();
        let capture = &import.capture;
        assert!(import.warnings.is_empty(), "{:?}", import.warnings);
        assert_eq!(import.skipped, 0);
        capture.validate().unwrap();
        assert_eq!(capture.source, CaptureSource::Har);
        assert_eq!(capture.target_url, TARGET);
        assert_eq!(capture.requests.len(), 32);
        assert_eq!(capture.pages.len(), 2);
        assert_eq!(capture.pages[0].url, "https://demo-shop.recon.test/en/");
        assert_eq!(
            capture.pages[0].title.as_deref(),
            Some("Demo Shop – Lamps & Lighting")
        );
        assert_eq!(capture.browser.as_deref(), Some("Chrome/131.0.0.0"));
        assert!(capture.started_at_ms < capture.ended_at_ms);

        let ids: std::collections::HashSet<_> =
            capture.requests.iter().map(|request| &request.id).collect();
        assert_eq!(ids.len(), capture.requests.len());
        assert_eq!(capture.requests[0].id, "har-0");
    }

    #[test]
    fn resource_types_come_from_chrome() {
        let capture = demo().capture;
        let type_of = |method: &str, url: &str| by_url(&capture, method, url).resource_type;
        assert_eq!(
            type_of("GET", "https://demo-shop.recon.test/en/"),
            ResourceType::Document
        );
        assert_eq!(
            type_of(
                "GET",
                "https://demo-shop.recon.test/static/js/app.8c1d2e.js"
            ),
            ResourceType::Script
        );
        assert_eq!(
            type_of(
                "GET",
                "https://demo-shop.recon.test/static/css/main.3f9a1c.css"
            ),
            ResourceType::Stylesheet
        );
        assert_eq!(
            type_of(
                "GET",
                "https://demo-shop.recon.test/api/products?page=1&q=lamp"
            ),
            ResourceType::Fetch
        );
        assert_eq!(
            type_of("POST", "https://collect.metricsbeam.test/v1/events"),
            ResourceType::Ping
        );
        assert_eq!(
            type_of("GET", "wss://demo-shop.recon.test/live/stock"),
            ResourceType::WebSocket
        );
        let script = by_url(
            &capture,
            "GET",
            "https://demo-shop.recon.test/api/products/1842",
        );
        let initiator = script.initiator.as_ref().unwrap();
        assert_eq!(initiator.kind, "script");
        assert_eq!(
            initiator.url.as_deref(),
            Some("https://demo-shop.recon.test/static/js/app.8c1d2e.js")
        );
    }

    #[test]
    fn headers_cookies_and_tokens_are_kept() {
        let capture = demo().capture;
        let cart = by_url(&capture, "GET", "https://demo-shop.recon.test/api/cart");
        assert!(cart
            .request_header("authorization")
            .is_some_and(|value| value.starts_with("Bearer eyJ")));
        let products = by_url(
            &capture,
            "GET",
            "https://demo-shop.recon.test/api/products?page=1&q=lamp",
        );
        let cookie = products.request_header("Cookie").unwrap();
        assert!(cookie.contains("shop_session="), "{cookie}");
        assert_eq!(
            products.response.as_ref().unwrap().header("content-type"),
            Some("application/json; charset=utf-8")
        );

        let session = capture
            .cookies
            .iter()
            .find(|cookie| cookie.name == "shop_session")
            .unwrap();
        assert_eq!(session.domain, "demo-shop.recon.test");
        assert!(session.http_only && session.secure);
        assert_eq!(session.same_site.as_deref(), Some("Lax"));
        // Set by a script, so only seen on requests.
        let consent = capture
            .cookies
            .iter()
            .find(|cookie| cookie.name == "consent")
            .unwrap();
        assert_eq!(consent.domain, "demo-shop.recon.test");
        // The third-party collector's own cookie.
        assert!(capture
            .cookies
            .iter()
            .any(|cookie| cookie.name == "_mb_uid" && cookie.domain == ".metricsbeam.test"));
    }

    #[test]
    fn bodies_post_data_and_redirects() {
        let capture = demo().capture;
        let image = by_url(
            &capture,
            "GET",
            "https://demo-shop.recon.test/media/products/1842/thumb.png",
        );
        let body = image.response.as_ref().unwrap().body.as_ref().unwrap();
        assert_eq!(body.encoding, BodyEncoding::Base64);
        assert!(body.data.starts_with("iVBORw0KGgo"));
        assert_eq!(body.size, Some(70));
        assert!(!body.truncated);

        let search = by_url(
            &capture,
            "GET",
            "https://demo-shop.recon.test/api/products?page=1&q=lamp",
        );
        let json = search.response.as_ref().unwrap().body.as_ref().unwrap();
        let parsed: serde_json::Value = serde_json::from_str(json.as_text().unwrap()).unwrap();
        assert_eq!(parsed["items"][0]["id"], 1842);

        let graphql = capture
            .requests
            .iter()
            .find(|request| {
                request.url == "https://demo-shop.recon.test/graphql"
                    && request
                        .post_data
                        .as_ref()
                        .and_then(|body| body.as_text())
                        .is_some_and(|text| {
                            text.contains("\"operationName\":\"ProductRecommendations\"")
                        })
            })
            .unwrap();
        assert_eq!(graphql.method, "POST");

        let newsletter = by_url(
            &capture,
            "POST",
            "https://demo-shop.recon.test/newsletter/subscribe",
        );
        assert_eq!(
            newsletter.post_data.as_ref().unwrap().as_text(),
            Some("email=ada%40example.test&source=footer")
        );

        let root = by_url(&capture, "GET", "https://demo-shop.recon.test/");
        assert_eq!(root.response.as_ref().unwrap().status, 302);
        let home = by_url(&capture, "GET", "https://demo-shop.recon.test/en/");
        assert_eq!(home.redirected_from.as_deref(), Some(root.id.as_str()));
        assert_eq!(
            home.response.as_ref().unwrap().protocol.as_deref(),
            Some("h2")
        );

        let blocked = by_url(&capture, "GET", "https://px.adtrail.test/p.gif?e=view");
        assert!(blocked.response.is_none());
        assert_eq!(
            blocked.failure.as_deref(),
            Some("net::ERR_BLOCKED_BY_CLIENT")
        );

        assert_eq!(capture.streams.len(), 1);
        assert_eq!(capture.streams[0].messages_sent, 1);
        assert_eq!(capture.streams[0].messages_received, 2);
    }

    const FIREFOX_HAR: &str = r#"{
      "log": {
        "version": "1.2",
        "creator": {"name": "Firefox", "version": "133.0"},
        "browser": {"name": "Firefox", "version": "133.0"},
        "pages": [{"startedDateTime": "2025-03-14T10:30:12.104+01:00", "id": "page_1",
                   "title": "Demo Shop", "pageTimings": {"onLoad": 512}}],
        "entries": [
          {"pageref": "page_1", "startedDateTime": "2025-03-14T10:30:12.104+01:00", "time": 88,
           "request": {"method": "GET", "url": "https://demo-shop.recon.test/en/", "httpVersion": "HTTP/2",
                       "headers": [{"name": "Sec-Fetch-Dest", "value": "document"}],
                       "cookies": [{"name": "consent", "value": "all"}], "queryString": [],
                       "headersSize": 300, "bodySize": 0},
           "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/2",
                        "headers": [{"name": "content-type", "value": "text/html; charset=utf-8"},
                                    {"name": "set-cookie", "value": "sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax"}],
                        "cookies": [], "content": {"mimeType": "text/html; charset=utf-8", "size": 15, "text": "<html></html>"},
                        "redirectURL": "", "headersSize": 200, "bodySize": 15},
           "cache": {}, "timings": {"blocked": 0, "dns": 0, "connect": 0, "ssl": 0, "send": 0, "wait": 80, "receive": 8}},
          {"pageref": "page_1", "startedDateTime": "2025-03-14T10:30:12.300+01:00", "time": 40,
           "request": {"method": "GET", "url": "https://demo-shop.recon.test/api/products?page=1",
                       "headers": [{"name": "Accept", "value": "application/json"}], "cookies": null},
           "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/2", "headers": [],
                        "content": {"mimeType": "application/json", "size": 2, "text": "[]"}, "redirectURL": ""},
           "timings": {"wait": 30}},
          {"startedDateTime": "2025-03-14T10:30:12.400+01:00", "time": 20,
           "request": {"method": "POST", "url": "https://demo-shop.recon.test/login",
                       "headers": [{"name": "X-Requested-With", "value": "XMLHttpRequest"}],
                       "postData": {"mimeType": "application/x-www-form-urlencoded",
                                    "params": [{"name": "user", "value": "ada"}, {"name": "next", "value": "/en/?a=1"}]}},
           "response": {"status": 200, "headers": [], "content": {"mimeType": "application/json", "text": "{}"}}},
          {"startedDateTime": "2025-03-14T10:30:12.500+01:00", "time": 5,
           "request": {"method": "GET", "url": "https://demo-shop.recon.test/img/logo.webp", "headers": []},
           "response": {"status": 200, "headers": [], "content": {"mimeType": "image/webp", "size": 0}}},
          {"startedDateTime": "2025-03-14T10:30:12.600+01:00", "time": 5,
           "request": {"method": "GET", "url": "https://demo-shop.recon.test/static/app.js", "headers": []},
           "response": {"status": 304, "headers": [], "content": {"mimeType": "", "size": 0}}},
          {"startedDateTime": "2025-03-14T10:30:12.700+01:00", "time": 0,
           "request": {"method": "GET", "url": "data:image/gif;base64,R0lGODlhAQABAAAAACw=", "headers": []},
           "response": {"status": 200, "headers": [], "content": {"mimeType": "image/gif"}}}
        ]
      }
    }"#;

    #[test]
    fn a_firefox_har_without_resource_types() {
        let import = import_text(FIREFOX_HAR).unwrap();
        let capture = import.capture;
        assert_eq!(import.skipped, 1, "the data: URL is not a request");
        assert_eq!(capture.requests.len(), 5);
        assert_eq!(capture.browser.as_deref(), Some("Firefox/133.0"));
        let types: Vec<_> = capture
            .requests
            .iter()
            .map(|request| request.resource_type)
            .collect();
        assert_eq!(
            types,
            [
                ResourceType::Document,
                ResourceType::Fetch,
                ResourceType::Xhr,
                ResourceType::Image,
                ResourceType::Script,
            ]
        );
        let document = &capture.requests[0];
        assert_eq!(document.request_header("cookie"), Some("consent=all"));
        assert_eq!(document.timing.started_at_ms, 1_741_944_612_104.0);
        assert_eq!(document.timing.wait_ms, Some(80.0));
        let response = document.response.as_ref().unwrap();
        assert_eq!(response.protocol.as_deref(), Some("h2"));
        assert_eq!(capture.pages[0].url, "https://demo-shop.recon.test/en/");
        assert_eq!(
            capture.requests[2].post_data.as_ref().unwrap().as_text(),
            Some("user=ada&next=%2Fen%2F%3Fa%3D1")
        );
        let sid = capture
            .cookies
            .iter()
            .find(|cookie| cookie.name == "sid")
            .unwrap();
        assert!(sid.http_only && sid.secure);
        assert_eq!(sid.domain, "demo-shop.recon.test");
        assert!(capture
            .cookies
            .iter()
            .any(|cookie| cookie.name == "consent"));
    }

    #[test]
    fn malformed_hars_are_readable_errors() {
        let message = |text: &str| import_text(text).unwrap_err().to_string();
        assert_eq!(
            message("  \n"),
            "test.har is not a HAR file: the file is empty"
        );
        let text = message("{\"log\": {\"entries\": [}");
        assert!(
            text.starts_with("test.har is not a HAR file: invalid JSON (expected value at line 1"),
            "{text}"
        );
        let text = message("{\"version\": \"1.2\"}");
        assert!(
            text.starts_with("test.har is not a HAR file: missing field `log`"),
            "{text}"
        );
        assert_eq!(
            message(&har("")),
            "test.har holds no HTTP requests to import"
        );
        let text = message(&har(
            r#"{"startedDateTime": "yesterday", "request": {"method": "GET", "url": "https://a.test/"}}"#,
        ));
        assert_eq!(
            text,
            "test.har: log.entries[0] is invalid: startedDateTime \"yesterday\" is not an ISO 8601 date"
        );
        let text = message(&har(
            r#"{"startedDateTime": "2025-03-14T09:30:12Z", "request": {"method": "GET", "url": "/relative"}}"#,
        ));
        assert!(
            text.starts_with(
                "test.har: log.entries[0] is invalid: request.url \"/relative\" is not a URL"
            ),
            "{text}"
        );
        let missing = import_file(Path::new("/nonexistent/x.har"), TARGET).unwrap_err();
        assert!(missing
            .to_string()
            .starts_with("cannot read HAR file /nonexistent/x.har:"));
    }

    #[test]
    fn long_bodies_are_cut_at_one_mebibyte() {
        let long = "é".repeat(MAX_BODY_BYTES); // two bytes each
        let body = text_body(long.clone());
        assert!(body.truncated);
        assert_eq!(body.size, Some(long.len() as u64));
        assert!(body.data.len() <= MAX_BODY_BYTES);
        assert_eq!(body.data.len(), MAX_BODY_BYTES);

        let short = text_body("{}".into());
        assert!(!short.truncated);
        assert_eq!(short.size, Some(2));

        let encoded = "QUJD".repeat(MAX_BODY_BYTES / 3 + 10); // "ABC" repeated
        let body = base64_body(&encoded).unwrap();
        assert!(body.truncated);
        assert_eq!(body.size, Some((encoded.len() / 4 * 3) as u64));
        assert_eq!(body.data.len() % 4, 0);
        assert!(body.data.len() / 4 * 3 <= MAX_BODY_BYTES);

        let entry = format!(
            r#"{{"startedDateTime": "2025-03-14T09:30:12Z", "request": {{"method": "GET", "url": "https://demo-shop.recon.test/big"}},
               "response": {{"status": 200, "headers": [], "content": {{"mimeType": "text/plain", "text": "{}"}}}}}}"#,
            "x".repeat(MAX_BODY_BYTES + 5)
        );
        let capture = import_text(&har(&entry)).unwrap().capture;
        let body = capture.requests[0]
            .response
            .as_ref()
            .unwrap()
            .body
            .as_ref()
            .unwrap();
        assert!(body.truncated);
        assert_eq!(body.data.len(), MAX_BODY_BYTES);
        assert_eq!(body.size, Some(MAX_BODY_BYTES as u64 + 5));
    }

    #[test]
    fn bad_base64_is_left_out_with_a_warning() {
        let entry = r#"{"startedDateTime": "2025-03-14T09:30:12Z", "request": {"method": "GET", "url": "https://demo-shop.recon.test/a.png"},
            "response": {"status": 200, "headers": [], "content": {"mimeType": "image/png", "encoding": "base64", "text": "not base64!"}}}"#;
        let import = import_text(&har(entry)).unwrap();
        assert!(import.capture.requests[0]
            .response
            .as_ref()
            .unwrap()
            .body
            .is_none());
        assert_eq!(import.warnings.len(), 1);
        assert!(
            import.warnings[0].contains("har-0"),
            "{:?}",
            import.warnings
        );
    }

    #[test]
    fn a_har_of_another_site_is_imported_with_a_warning() {
        let entry = r#"{"startedDateTime": "2025-03-14T09:30:12Z", "request": {"method": "GET", "url": "https://elsewhere.test/"},
            "response": {"status": 200, "headers": [], "content": {"mimeType": "text/html"}}}"#;
        let import = import_text(&har(entry)).unwrap();
        assert_eq!(import.warnings.len(), 1);
        assert!(
            import.warnings[0].starts_with("no request in test.har goes to demo-shop.recon.test")
        );
    }

    #[test]
    fn set_cookie_lines_parse() {
        let now = 1_741_944_612_000.0;
        let update = parse_set_cookie(
            "id=42; Domain=shop.test; Path=/api; Max-Age=3600; Secure; SameSite=None",
            "www.shop.test",
            "/x",
            now,
        )
        .unwrap();
        assert_eq!(update.cookie.domain, ".shop.test");
        assert_eq!(update.cookie.path, "/api");
        assert_eq!(update.cookie.expires, Some(1_741_944_612 + 3600));
        assert!(update.cookie.secure && !update.deleted);
        let gone = parse_set_cookie(
            "id=; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "shop.test",
            "/a/b",
            now,
        )
        .unwrap();
        assert!(gone.deleted);
        assert_eq!(gone.cookie.path, "/a");
    }
}
