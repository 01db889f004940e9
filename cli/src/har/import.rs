//! HAR → [`Capture`]: parses the file one entry at a time, turns each entry into a request record
//! (redirect hops linked, pages given the URL their first document landed on), and gathers what
//! had to be left out. Lenient where browsers differ (Chrome's `_resourceType` and `_initiator`,
//! Firefox's missing ones); strict where the file is simply not a HAR: those errors name the
//! file and the entry.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use recon_contracts::{
    header_value, is_http_url, is_network_url, Capture, CaptureSource, Header, Initiator, Page,
    RequestRecord, ResourceType, ResponseRecord, StreamKind, StreamSummary, Timing,
    CAPTURE_FORMAT_VERSION,
};
use url::Url;

use super::bodies::{content_body, post_body};
use super::cookies::CookieJar;
use super::model::{parse_time, Entry, HarHeader, HarPage, HarResponse, WebSocketMessage};
use super::outline;
use super::resource_type::resource_type;
use crate::kept::stream::{self as kept_stream, Direction, Message};

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
    #[error("{} names no page to scan: give the site's URL (recon scan URL --from-har FILE)", path.display())]
    NoSite { path: PathBuf },
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

/// Reads and imports `path`; `target_url` is the URL the user asked to scan, or `None` for the
/// site the HAR was recorded on (its first page; see [`first_page`]). The file's text is held
/// while it is parsed, since parsing from memory is several times faster than from a reader
/// (about 5× on a 5 MB HAR), but its entries are not: each becomes a request record as soon as
/// it is parsed, so the import peaks at the file plus the capture.
pub fn import_file(path: &Path, target_url: Option<&str>) -> Result<Import, HarError> {
    let bytes = std::fs::read(path).map_err(|source| HarError::Unreadable {
        path: path.to_owned(),
        source,
    })?;
    import(&bytes, path, target_url)
}

/// Imports the HAR text in `bytes`; `path` only names the file in errors and warnings.
pub fn import_bytes(bytes: &[u8], path: &Path, target_url: &str) -> Result<Import, HarError> {
    import(bytes, path, Some(target_url))
}

// Some exporters (Fiddler, tools on Windows) start the file with a UTF-8 byte order mark.
const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

fn empty_file(path: &Path) -> HarError {
    HarError::NotHar {
        path: path.to_owned(),
        reason: "the file is empty".into(),
    }
}

fn import(bytes: &[u8], path: &Path, target_url: Option<&str>) -> Result<Import, HarError> {
    let bytes = bytes.strip_prefix(BYTE_ORDER_MARK).unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(empty_file(path));
    }
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let mut importer = Importer::default();
    let mut refused = None;
    let read = outline::read(
        &mut json,
        |index, entry| importer.entry(index, entry),
        &mut refused,
    )
    .and_then(|log| json.end().map(|()| log));
    if let Some(refused) = refused {
        return Err(HarError::BadEntry {
            path: path.to_owned(),
            index: refused.index,
            reason: refused.reason,
        });
    }
    let log = read.map_err(|error| match error.classify() {
        serde_json::error::Category::Data => not_har(path, error.to_string()),
        _ => not_har(path, format!("invalid JSON ({error})")),
    })?;
    if importer.requests.is_empty() {
        return Err(HarError::Empty {
            path: path.to_owned(),
        });
    }
    importer.link_redirects();

    let pages_of_requests = PageIndex::of(&importer.requests);
    let pages = log
        .pages
        .into_iter()
        .filter_map(|page| importer.page(page, &pages_of_requests))
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
    let target_url = match target_url {
        Some(target_url) => target_url.to_owned(),
        None => first_page(&pages, &importer.requests).ok_or_else(|| HarError::NoSite {
            path: path.to_owned(),
        })?,
    };
    let target_url = target_url.as_str();
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
        .map_err(|error| not_har(path, error.to_string()))?;
    Ok(Import {
        capture,
        skipped: importer.skipped,
        warnings,
    })
}

fn not_har(path: &Path, reason: String) -> HarError {
    HarError::NotHar {
        path: path.to_owned(),
        reason,
    }
}

/// The site a HAR file was recorded on: its first page's URL, else its first document request,
/// else its first request (http or https only).
fn first_page(pages: &[Page], requests: &[RequestRecord]) -> Option<String> {
    let web = |url: &str| is_http_url(url);
    let mut requests: Vec<&RequestRecord> = requests.iter().filter(|r| web(&r.url)).collect();
    requests.sort_by(|a, b| a.timing.started_at_ms.total_cmp(&b.timing.started_at_ms));
    pages
        .iter()
        .map(|page| page.url.as_str())
        .find(|url| web(url))
        .or_else(|| {
            requests
                .iter()
                .find(|r| r.resource_type == ResourceType::Document)
                .map(|r| r.url.as_str())
        })
        .or_else(|| requests.first().map(|r| r.url.as_str()))
        .map(str::to_owned)
}

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

        let resource_type = resource_type(
            entry.resource_type.as_deref(),
            &method,
            &url,
            &request_headers,
            response
                .as_ref()
                .map(|response| response.mime_type.as_str()),
        );
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
        let mut content = response.content;
        let body = match content_body(&mut content) {
            Ok(body) => body,
            Err(reason) => {
                self.warnings
                    .push(format!("request {id} ({url}): body left out: {reason}"));
                None
            }
        };
        self.jar
            .remember_set(&response.cookies, &headers, url, started_at_ms);
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
            mime_type: content.mime_type,
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

    fn page(&self, page: HarPage, index: &PageIndex) -> Option<Page> {
        if page.id.is_empty() {
            return None;
        }
        let facts = index.0.get(page.id.as_str());
        let request = |position: Option<usize>| Some(&self.requests[position?]);
        let started_at_ms = parse_time(&page.started_date_time).or_else(|| {
            request(facts?.first_request).map(|request| request.timing.started_at_ms)
        })?;
        // HAR pages have no URL: the page is where its first document landed after redirects.
        let document = facts.and_then(|facts| {
            request(facts.first_landed_document).or_else(|| request(facts.first_document))
        });
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

/// Where each page's requests are, found in one pass so that pages cost no scan of the
/// requests each.
#[derive(Default)]
struct PageIndex(HashMap<String, PageRequests>);

/// Positions in the capture's requests.
#[derive(Default)]
struct PageRequests {
    first_request: Option<usize>,
    first_document: Option<usize>,
    /// The first document not answered with a redirect.
    first_landed_document: Option<usize>,
}

impl PageIndex {
    fn of(requests: &[RequestRecord]) -> PageIndex {
        let mut index = PageIndex::default();
        for (position, request) in requests.iter().enumerate() {
            let Some(page_id) = &request.page_id else {
                continue;
            };
            let page = index.0.entry(page_id.clone()).or_default();
            page.first_request.get_or_insert(position);
            if request.resource_type != ResourceType::Document {
                continue;
            }
            page.first_document.get_or_insert(position);
            let landed = request
                .response
                .as_ref()
                .is_some_and(|response| !(300..400).contains(&response.status));
            if landed {
                page.first_landed_document.get_or_insert(position);
            }
        }
        index
    }
}

fn to_headers(headers: Vec<HarHeader>) -> Vec<Header> {
    headers
        .into_iter()
        .filter(|header| !header.name.is_empty())
        .map(|header| Header::new(header.name, header.value))
        .collect()
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

/// A WebSocket (or EventSource) entry's messages, kept as the Chrome recorder keeps them.
fn stream_summary(kind: StreamKind, url: &str, messages: &[WebSocketMessage]) -> StreamSummary {
    let mut stream = kept_stream::new_stream(kind, url);
    for message in messages {
        let direction = if message.kind.eq_ignore_ascii_case("send") {
            Direction::Sent
        } else {
            Direction::Received
        };
        let frame = Message::frame(message.opcode, &message.data);
        kept_stream::add_message(&mut stream, direction, frame);
    }
    stream
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::har::test_support::{by_url, demo, firefox, get_entry, har, import_text, TARGET};

    fn error_of(text: &str) -> String {
        import_text(text).unwrap_err().to_string()
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
    fn a_script_initiator_names_the_script_of_its_stack() {
        let capture = demo().capture;
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
    fn request_headers_keep_tokens_and_cookies() {
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
    }

    #[test]
    fn response_headers_are_kept() {
        let capture = demo().capture;
        let products = by_url(
            &capture,
            "GET",
            "https://demo-shop.recon.test/api/products?page=1&q=lamp",
        );
        assert_eq!(
            products.response.as_ref().unwrap().header("content-type"),
            Some("application/json; charset=utf-8")
        );
    }

    #[test]
    fn a_redirect_hop_links_to_the_request_it_produced() {
        let capture = demo().capture;
        let root = by_url(&capture, "GET", "https://demo-shop.recon.test/");
        assert_eq!(root.response.as_ref().unwrap().status, 302);
        let home = by_url(&capture, "GET", "https://demo-shop.recon.test/en/");
        assert_eq!(home.redirected_from.as_deref(), Some(root.id.as_str()));
        assert_eq!(
            home.response.as_ref().unwrap().protocol.as_deref(),
            Some("h2")
        );
    }

    #[test]
    fn a_blocked_request_keeps_its_failure() {
        let capture = demo().capture;
        let blocked = by_url(&capture, "GET", "https://px.adtrail.test/p.gif?e=view");
        assert!(blocked.response.is_none());
        assert_eq!(
            blocked.failure.as_deref(),
            Some("net::ERR_BLOCKED_BY_CLIENT")
        );
    }

    #[test]
    fn a_websocket_becomes_a_stream_with_its_message_counts_and_samples() {
        let capture = demo().capture;
        assert_eq!(capture.streams.len(), 1);
        let stream = &capture.streams[0];
        assert_eq!((stream.messages_sent, stream.messages_received), (1, 2));
        assert_eq!(
            stream.samples,
            [
                r#"sent: {"subscribe":"stock","ids":[1842,2210,3051]}"#,
                r#"received: {"id":1842,"stock":12}"#,
                r#"received: {"id":3051,"stock":0}"#,
            ]
        );
    }

    #[test]
    fn a_binary_websocket_frame_is_sampled_by_its_length() {
        let entry = r#"{"startedDateTime": "2025-03-14T09:30:12Z", "_resourceType": "websocket",
            "request": {"method": "GET", "url": "wss://demo-shop.recon.test/live"},
            "response": {"status": 101, "headers": [], "content": {"mimeType": ""}},
            "_webSocketMessages": [{"type": "receive", "opcode": 2, "data": "AAECAw=="}]}"#;
        let capture = import_text(&har(entry)).unwrap().capture;
        assert_eq!(
            capture.streams[0].samples,
            ["received: [binary frame, 8 base64 chars]"]
        );
    }

    #[test]
    fn a_firefox_har_imports_without_its_data_url() {
        let import = firefox();
        assert_eq!(import.skipped, 1, "the data: URL is not a request");
        assert_eq!(import.capture.requests.len(), 5);
        assert_eq!(import.capture.browser.as_deref(), Some("Firefox/133.0"));
    }

    #[test]
    fn request_cookies_without_a_cookie_header_become_one() {
        let capture = firefox().capture;
        assert_eq!(
            capture.requests[0].request_header("cookie"),
            Some("consent=all")
        );
    }

    #[test]
    fn times_with_a_zone_offset_are_read() {
        let capture = firefox().capture;
        let document = &capture.requests[0];
        assert_eq!(document.timing.started_at_ms, 1_741_944_612_104.0);
        assert_eq!(document.timing.wait_ms, Some(80.0));
    }

    #[test]
    fn http_versions_become_protocol_names() {
        let capture = firefox().capture;
        let response = capture.requests[0].response.as_ref().unwrap();
        assert_eq!(response.protocol.as_deref(), Some("h2"));
    }

    #[test]
    fn a_page_takes_the_url_of_its_first_document() {
        let capture = firefox().capture;
        assert_eq!(capture.pages[0].url, "https://demo-shop.recon.test/en/");
    }

    #[test]
    fn an_empty_file_is_not_a_har() {
        assert_eq!(
            error_of("  \n"),
            "test.har is not a HAR file: the file is empty"
        );
    }

    #[test]
    fn invalid_json_is_not_a_har() {
        let text = error_of("{\"log\": {\"entries\": [}");
        assert!(
            text.starts_with("test.har is not a HAR file: invalid JSON (expected value at line 1"),
            "{text}"
        );
    }

    #[test]
    fn json_without_a_log_is_not_a_har() {
        let text = error_of("{\"version\": \"1.2\"}");
        assert!(
            text.starts_with("test.har is not a HAR file: missing field `log`"),
            "{text}"
        );
    }

    #[test]
    fn a_har_without_entries_has_nothing_to_import() {
        assert_eq!(
            error_of(&har("")),
            "test.har holds no HTTP requests to import"
        );
    }

    #[test]
    fn an_entry_with_a_bad_date_is_named() {
        let text = error_of(&har(
            r#"{"startedDateTime": "yesterday", "request": {"method": "GET", "url": "https://a.test/"}}"#,
        ));
        assert_eq!(
            text,
            "test.har: log.entries[0] is invalid: startedDateTime \"yesterday\" is not an ISO 8601 date"
        );
    }

    #[test]
    fn an_entry_with_a_relative_url_is_named() {
        let text = error_of(&har(
            r#"{"startedDateTime": "2025-03-14T09:30:12Z", "request": {"method": "GET", "url": "/relative"}}"#,
        ));
        assert!(
            text.starts_with(
                "test.har: log.entries[0] is invalid: request.url \"/relative\" is not a URL"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let missing = import_file(Path::new("/nonexistent/x.har"), Some(TARGET)).unwrap_err();
        assert!(missing
            .to_string()
            .starts_with("cannot read HAR file /nonexistent/x.har:"));
    }

    #[test]
    fn a_har_of_another_site_is_imported_with_a_warning() {
        let entry = get_entry("https://elsewhere.test/", r#"{"mimeType": "text/html"}"#);
        let import = import_text(&har(&entry)).unwrap();
        assert_eq!(import.warnings.len(), 1);
        assert!(
            import.warnings[0].starts_with("no request in test.har goes to demo-shop.recon.test")
        );
    }

    #[test]
    fn a_byte_order_mark_before_the_json_is_skipped() {
        let entry = get_entry(
            "https://demo-shop.recon.test/",
            r#"{"mimeType": "text/html"}"#,
        );
        let text = format!("\u{feff}{}", har(&entry));
        let import = import_text(&text).unwrap();
        assert_eq!(import.capture.requests.len(), 1);
    }

    #[test]
    fn form_params_written_as_json_values_are_kept_as_their_json_text() {
        let entry = r#"{"startedDateTime": "2025-03-14T09:30:12Z",
            "request": {"method": "POST", "url": "https://demo-shop.recon.test/log",
                "postData": {"mimeType": "application/x-www-form-urlencoded",
                    "params": [{"name": "event", "value": {"type": "mounted", "n": 1}}, {"name": "page", "value": 2}]}},
            "response": {"status": 204, "headers": [], "content": {"mimeType": ""}}}"#;
        let import = import_text(&har(entry)).unwrap();
        let body = import.capture.requests[0]
            .post_data
            .as_ref()
            .and_then(|body| body.as_text())
            .unwrap()
            .to_owned();
        assert_eq!(
            body,
            "event=%7B%22n%22%3A1%2C%22type%22%3A%22mounted%22%7D&page=2"
        );
    }

    #[test]
    fn without_a_url_the_site_is_the_first_page_or_else_the_first_request() {
        let demo = import_file(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/demo.har"),
            None,
        )
        .unwrap();
        // Its first page, where its first document landed after the redirect.
        assert_eq!(demo.capture.target_url, "https://demo-shop.recon.test/en/");
        let no_pages = har(&[
            get_entry("https://api.shop.test/items", r#"{"size": 0}"#),
            get_entry("https://shop.test/late", r#"{"size": 0}"#),
        ]
        .join(","));
        let imported = import(no_pages.as_bytes(), Path::new("t.har"), None).unwrap();
        assert_eq!(imported.capture.target_url, "https://api.shop.test/items");
        let empty = har("");
        let error = import(empty.as_bytes(), Path::new("t.har"), None).unwrap_err();
        assert!(matches!(error, HarError::Empty { .. }), "{error}");
    }
}
