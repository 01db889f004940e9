//! Turns the DevTools event stream into capture records: one record per request hop (each
//! redirect is its own hop), response and body attached when they arrive, and the ExtraInfo
//! headers (the real Cookie and Set-Cookie lines) merged in at the end, because Chrome sends
//! them before or after the main events in no fixed order.
//!
//! Pure state: no I/O here, so it is tested on recorded event sequences.

use std::collections::{HashMap, HashSet};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use recon_contracts::{
    Body, Capture, CaptureSource, Cookie, Header, Initiator, Page, RequestRecord, ResourceType,
    ResponseRecord, StreamKind, StreamSummary, Timing, CAPTURE_FORMAT_VERSION,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::cdp::CdpEvent;
use super::cdp_types as cdp;
use crate::kept::body::{self as kept_body, is_json_like};
use crate::kept::stream::{self as kept_stream, Direction, Message};

/// How much of the bodies a capture keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Bytes kept of one body; the rest is cut and the body marked truncated.
    pub per_body: usize,
    /// Bytes of bodies kept in the whole capture; later bodies are not fetched.
    pub total: usize,
    /// Responses larger than this on the wire are not fetched at all.
    pub skip_over: u64,
}

impl Default for BodyLimits {
    fn default() -> BodyLimits {
        BodyLimits {
            per_body: kept_body::MAX_BODY_BYTES,
            total: 48 << 20,
            skip_over: 16 << 20,
        }
    }
}

/// What the capture saw beyond the records themselves; printed in the summary and counted by
/// the capture tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecorderStats {
    pub request_extra_info: usize,
    pub response_extra_info: usize,
    pub bodies_fetched: usize,
    pub bodies_failed: usize,
    pub bodies_skipped_total_cap: usize,
    pub targets: usize,
    pub service_worker_requests: usize,
}

/// A `Network.getResponseBody` the recorder wants made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyFetch {
    pub session_id: Option<String>,
    pub request_id: String,
    pub record: usize,
}

struct Hop {
    record: RequestRecord,
    /// Chrome's monotonic clock, seconds.
    mono_start: f64,
    session: String,
}

#[derive(Default)]
struct Live {
    hops: Vec<usize>,
    request_extras: Vec<cdp::Headers>,
    response_extras: Vec<(Option<u16>, cdp::Headers)>,
}

#[derive(Default)]
struct SessionState {
    target_id: String,
    kind: String,
    /// Wall clock minus monotonic clock, seconds, once known.
    clock_offset: Option<f64>,
    current_page: Option<String>,
}

pub struct Recorder {
    target_url: String,
    started_at_ms: f64,
    limits: BodyLimits,
    hops: Vec<Hop>,
    live: HashMap<(String, String), Live>,
    used_ids: HashSet<String>,
    sessions: HashMap<String, SessionState>,
    pages: Vec<Page>,
    titles: HashMap<String, (String, String)>,
    streams: Vec<StreamSummary>,
    stream_index: HashMap<(String, String), usize>,
    websocket_urls: HashMap<(String, String), String>,
    cookies: Vec<Cookie>,
    body_bytes: usize,
    pub stats: RecorderStats,
}

impl Recorder {
    pub fn new(target_url: &str, started_at_ms: f64, limits: BodyLimits) -> Recorder {
        Recorder {
            target_url: target_url.to_owned(),
            started_at_ms,
            limits,
            hops: Vec::new(),
            live: HashMap::new(),
            used_ids: HashSet::new(),
            sessions: HashMap::new(),
            pages: Vec::new(),
            titles: HashMap::new(),
            streams: Vec::new(),
            stream_index: HashMap::new(),
            websocket_urls: HashMap::new(),
            cookies: Vec::new(),
            body_bytes: 0,
            stats: RecorderStats::default(),
        }
    }

    /// A target's session is being recorded (`page`, `service_worker`, `iframe`, `worker`…).
    pub fn add_session(&mut self, session_id: &str, target_id: &str, kind: &str) {
        self.stats.targets += 1;
        self.sessions.insert(
            session_id.to_owned(),
            SessionState {
                target_id: target_id.to_owned(),
                kind: kind.to_owned(),
                ..SessionState::default()
            },
        );
    }

    /// Reads one event; returns the body to fetch when a response worth keeping finished.
    pub fn on_event(&mut self, event: &CdpEvent) -> Option<BodyFetch> {
        let session = event.session_id.clone().unwrap_or_default();
        match event.method.as_str() {
            "Network.requestWillBeSent" => self.request(&session, parse(&event.params)?),
            "Network.responseReceived" => self.response(&session, parse(&event.params)?),
            "Network.loadingFinished" => {
                return self.finished(event.session_id.as_deref(), parse(&event.params)?)
            }
            "Network.loadingFailed" => self.failed(&session, parse(&event.params)?),
            "Network.requestWillBeSentExtraInfo" => {
                let extra: cdp::RequestExtraInfo = parse(&event.params)?;
                self.stats.request_extra_info += 1;
                self.live_entry(&session, &extra.request_id)
                    .request_extras
                    .push(extra.headers);
            }
            "Network.responseReceivedExtraInfo" => {
                let extra: cdp::ResponseExtraInfo = parse(&event.params)?;
                self.stats.response_extra_info += 1;
                let status = extra.status_code.map(|code| code as u16);
                self.live_entry(&session, &extra.request_id)
                    .response_extras
                    .push((status, extra.headers));
            }
            "Network.requestServedFromCache" => {
                let served: cdp::RequestIdOnly = parse(&event.params)?;
                if let Some(hop) = self.last_hop(&session, &served.request_id) {
                    if let Some(response) = &mut self.hops[hop].record.response {
                        response.from_cache = true;
                    }
                }
            }
            "Network.webSocketCreated" => {
                let created: cdp::WebSocketCreated = parse(&event.params)?;
                // The handshake record takes this URL, and the server refuses a capture with a
                // request whose URL is no network address.
                if !recon_contracts::is_network_url(&created.url) {
                    return None;
                }
                let key = (session.clone(), created.request_id.clone());
                self.websocket_urls.insert(key.clone(), created.url.clone());
                self.stream(key, StreamKind::WebSocket, &created.url);
            }
            "Network.webSocketWillSendHandshakeRequest" => {
                self.websocket_handshake(&session, parse(&event.params)?)
            }
            "Network.webSocketHandshakeResponseReceived" => {
                let answer: cdp::WebSocketHandshakeResponse = parse(&event.params)?;
                if let Some(hop) = self.last_hop(&session, &answer.request_id) {
                    self.hops[hop].record.response = Some(ResponseRecord {
                        status: answer.response.status as u16,
                        status_text: answer.response.status_text,
                        headers: headers(answer.response.headers),
                        mime_type: String::new(),
                        body: None,
                        remote_address: None,
                        protocol: Some("websocket".into()),
                        from_cache: false,
                        from_service_worker: false,
                    });
                }
            }
            "Network.webSocketFrameSent" | "Network.webSocketFrameReceived" => {
                let frame: cdp::WebSocketFrameEvent = parse(&event.params)?;
                let direction = if event.method.ends_with("Sent") {
                    Direction::Sent
                } else {
                    Direction::Received
                };
                let key = (session.clone(), frame.request_id.clone());
                let url = self.websocket_urls.get(&key).cloned().unwrap_or_default();
                let index = self.stream(key, StreamKind::WebSocket, &url);
                let message =
                    Message::frame(Some(frame.response.opcode), &frame.response.payload_data);
                kept_stream::add_message(&mut self.streams[index], direction, message);
            }
            "Network.eventSourceMessageReceived" => {
                let message: cdp::EventSourceMessage = parse(&event.params)?;
                let url = self
                    .last_hop(&session, &message.request_id)
                    .map(|hop| self.hops[hop].record.url.clone())
                    .unwrap_or_default();
                let key = (session.clone(), message.request_id.clone());
                let index = self.stream(key, StreamKind::EventSource, &url);
                let message = Message::Event {
                    name: &message.event_name,
                    data: &message.data,
                };
                kept_stream::add_message(&mut self.streams[index], Direction::Received, message);
            }
            "Target.targetInfoChanged" | "Target.targetCreated" => {
                let info: cdp::TargetEvent = parse(&event.params)?;
                self.titles.insert(
                    info.target_info.target_id,
                    (info.target_info.url, info.target_info.title),
                );
            }
            _ => {}
        }
        None
    }

    /// The answer to a [`BodyFetch`].
    pub fn on_body(&mut self, fetch: &BodyFetch, answer: Result<cdp::ResponseBody, String>) {
        let Some(hop) = self.hops.get_mut(fetch.record) else {
            return;
        };
        let Some(response) = &mut hop.record.response else {
            return;
        };
        let from_worker = fetch
            .session_id
            .as_ref()
            .and_then(|session| self.sessions.get(session))
            .is_some_and(|state| state.kind.ends_with("worker"));
        match answer {
            // A worker that handed its response to a page (respondWith) keeps no copy of the
            // body; the page's record of the served response has it. No body beats a false
            // empty one.
            Ok(answer) if from_worker && answer.body.is_empty() => {}
            Ok(answer) => {
                let cap = self.limits.per_body;
                let body = if answer.base64_encoded {
                    kept_body::from_base64(&answer.body, &response.mime_type, cap)
                } else {
                    Ok(kept_body::from_text(answer.body, cap))
                };
                match body {
                    Ok(body) => {
                        self.body_bytes += body.data.len();
                        self.stats.bodies_fetched += 1;
                        response.body = Some(body);
                    }
                    Err(_) => self.stats.bodies_failed += 1,
                }
            }
            Err(_) => self.stats.bodies_failed += 1,
        }
    }

    pub fn set_cookies(&mut self, cookies: Vec<cdp::CdpCookie>) {
        self.cookies = cookies
            .into_iter()
            .map(|cookie| Cookie {
                name: cookie.name,
                value: cookie.value,
                domain: cookie.domain,
                path: if cookie.path.is_empty() {
                    "/".into()
                } else {
                    cookie.path
                },
                expires: cookie
                    .expires
                    .filter(|expires| !cookie.session && *expires > 0.0)
                    .map(|expires| expires as i64),
                http_only: cookie.http_only,
                secure: cookie.secure,
                same_site: cookie.same_site,
            })
            .collect();
    }

    /// The capture, with the ExtraInfo headers merged into their hops.
    pub fn finish(mut self, ended_at_ms: f64, browser: Option<String>) -> Capture {
        let live = std::mem::take(&mut self.live);
        for entry in live.into_values() {
            self.merge_extra_info(entry);
        }
        for (target_id, (url, title)) in &self.titles {
            let page = self
                .pages
                .iter_mut()
                .rev()
                .find(|page| page.id.starts_with(target_id.as_str()) || page.url == *url);
            if let Some(page) = page {
                if !title.is_empty() && page.url == *url {
                    page.title = Some(title.clone());
                }
            }
        }
        let mut requests: Vec<RequestRecord> =
            self.hops.into_iter().map(|hop| hop.record).collect();
        requests.sort_by(|a, b| a.timing.started_at_ms.total_cmp(&b.timing.started_at_ms));
        Capture {
            format_version: CAPTURE_FORMAT_VERSION,
            source: CaptureSource::Chrome,
            target_url: self.target_url,
            started_at_ms: self.started_at_ms,
            ended_at_ms,
            browser,
            pages: self.pages,
            requests,
            cookies: self.cookies,
            streams: self.streams,
        }
    }

    fn merge_extra_info(&mut self, entry: Live) {
        for (hop, extra) in entry.hops.iter().zip(entry.request_extras) {
            if !extra.0.is_empty() {
                self.hops[*hop].record.request_headers = headers(extra);
            }
        }
        let mut extras: Vec<Option<(Option<u16>, cdp::Headers)>> =
            entry.response_extras.into_iter().map(Some).collect();
        for hop in &entry.hops {
            let Some(response) = &mut self.hops[*hop].record.response else {
                continue;
            };
            if response.from_cache || response.from_service_worker {
                continue;
            }
            let status = response.status;
            let slot = extras.iter_mut().find(|slot| {
                slot.as_ref()
                    .is_some_and(|(code, _)| code.is_none_or(|code| code == status))
            });
            if let Some((_, extra)) = slot.and_then(Option::take) {
                if !extra.0.is_empty() {
                    response.headers = headers(extra);
                }
            }
        }
    }

    fn request(&mut self, session: &str, event: cdp::RequestWillBeSent) {
        let offset = {
            let state = self.sessions.entry(session.to_owned()).or_default();
            if let (None, Some(wall)) = (state.clock_offset, event.wall_time) {
                state.clock_offset = Some(wall - event.timestamp);
            }
            state.clock_offset
        };
        let wall_ms = event
            .wall_time
            .or_else(|| offset.map(|offset| offset + event.timestamp))
            .map_or(self.started_at_ms, |seconds| seconds * 1000.0);

        let mut redirected_from = None;
        if let Some(redirect) = event.redirect_response {
            if let Some(previous) = self.last_hop(session, &event.request_id) {
                let hop = &mut self.hops[previous];
                hop.record.timing.duration_ms =
                    Some(((event.timestamp - hop.mono_start) * 1000.0).max(0.0));
                hop.record.response = Some(response_record(redirect));
                redirected_from = Some(hop.record.id.clone());
            }
        }

        // data:, blob: and extension URLs are no network traffic (the HAR importer skips them
        // too), and the server refuses a capture that holds one.
        if !recon_contracts::is_network_url(&event.request.url) {
            return;
        }
        let resource_type = event.resource_type.as_deref().unwrap_or("Other");
        let state = self.sessions.entry(session.to_owned()).or_default();
        let is_main_document = resource_type == "Document"
            && redirected_from.is_none()
            && state.kind == "page"
            && event.frame_id.as_deref() == Some(state.target_id.as_str());
        if is_main_document {
            let page_id = format!("{}:{}", state.target_id, event.loader_id);
            state.current_page = Some(page_id.clone());
            self.pages.push(Page {
                id: page_id,
                url: event.request.url.clone(),
                title: None,
                started_at_ms: wall_ms,
            });
        }
        let page_id = state.current_page.clone();
        if state.kind == "service_worker" {
            self.stats.service_worker_requests += 1;
        }

        let mut url = event.request.url.clone();
        if let Some(fragment) = &event.request.url_fragment {
            url.push_str(fragment);
        }
        let id = self.unique_id(&event.request_id);
        let record = RequestRecord {
            id,
            page_id,
            method: event.request.method.clone(),
            url,
            resource_type: ResourceType::from_name(resource_type),
            initiator: event.initiator.map(initiator),
            request_headers: headers(event.request.headers.clone()),
            post_data: post_data(&event.request, self.limits.per_body),
            response: None,
            timing: Timing {
                started_at_ms: wall_ms,
                duration_ms: None,
                wait_ms: None,
            },
            redirected_from,
            failure: None,
        };
        self.hops.push(Hop {
            record,
            mono_start: event.timestamp,
            session: session.to_owned(),
        });
        let index = self.hops.len() - 1;
        self.live_entry(session, &event.request_id).hops.push(index);
    }

    fn response(&mut self, session: &str, event: cdp::ResponseReceived) {
        let Some(index) = self.last_hop(session, &event.request_id) else {
            return;
        };
        let hop = &mut self.hops[index];
        if let Some(kind) = &event.resource_type {
            hop.record.resource_type = ResourceType::from_name(kind);
        }
        hop.record.timing.wait_ms = event
            .response
            .timing
            .as_ref()
            .and_then(|timing| Some((timing.receive_headers_end? - timing.send_end?).max(0.0)));
        hop.record.response = Some(response_record(event.response));
    }

    fn finished(
        &mut self,
        session_id: Option<&str>,
        event: cdp::LoadingFinished,
    ) -> Option<BodyFetch> {
        let session = session_id.unwrap_or_default();
        let index = self.last_hop(session, &event.request_id)?;
        let hop = &mut self.hops[index];
        hop.record.timing.duration_ms =
            Some(((event.timestamp - hop.mono_start) * 1000.0).max(0.0));
        let response = hop.record.response.as_mut()?;
        let wanted = matches!(
            hop.record.resource_type,
            ResourceType::Document | ResourceType::Xhr | ResourceType::Fetch
        ) || is_json_like(&response.mime_type);
        if !wanted || response.status == 204 || response.status == 304 {
            return None;
        }
        if event.encoded_data_length > self.limits.skip_over as f64 {
            response.body = Some(kept_body::left_out(event.encoded_data_length as u64));
            return None;
        }
        if self.body_bytes >= self.limits.total {
            self.stats.bodies_skipped_total_cap += 1;
            response.body = Some(kept_body::left_out(event.encoded_data_length as u64));
            return None;
        }
        Some(BodyFetch {
            session_id: session_id.map(str::to_owned),
            request_id: event.request_id,
            record: index,
        })
    }

    fn failed(&mut self, session: &str, event: cdp::LoadingFailed) {
        let Some(index) = self.last_hop(session, &event.request_id) else {
            return;
        };
        let hop = &mut self.hops[index];
        hop.record.timing.duration_ms =
            Some(((event.timestamp - hop.mono_start) * 1000.0).max(0.0));
        let reason = match (&event.blocked_reason, event.canceled) {
            (Some(blocked), _) => format!("blocked: {blocked}"),
            (None, true) => "canceled".to_owned(),
            (None, false) => event.error_text,
        };
        hop.record.failure = Some(reason);
    }

    fn websocket_handshake(&mut self, session: &str, event: cdp::WebSocketHandshakeRequest) {
        let key = (session.to_owned(), event.request_id.clone());
        let Some(url) = self.websocket_urls.get(&key).cloned() else {
            return;
        };
        let offset = self.sessions.get(session).and_then(|s| s.clock_offset);
        let wall_ms = event
            .wall_time
            .or_else(|| offset.map(|offset| offset + event.timestamp))
            .map_or(self.started_at_ms, |seconds| seconds * 1000.0);
        let id = self.unique_id(&event.request_id);
        let page_id = self
            .sessions
            .get(session)
            .and_then(|s| s.current_page.clone());
        self.hops.push(Hop {
            record: RequestRecord {
                id,
                page_id,
                method: "GET".into(),
                url,
                resource_type: ResourceType::WebSocket,
                initiator: None,
                request_headers: headers(event.request.headers),
                post_data: None,
                response: None,
                timing: Timing {
                    started_at_ms: wall_ms,
                    duration_ms: None,
                    wait_ms: None,
                },
                redirected_from: None,
                failure: None,
            },
            mono_start: event.timestamp,
            session: session.to_owned(),
        });
        let index = self.hops.len() - 1;
        self.live_entry(session, &event.request_id).hops.push(index);
    }

    fn stream(&mut self, key: (String, String), kind: StreamKind, url: &str) -> usize {
        if let Some(index) = self.stream_index.get(&key) {
            if self.streams[*index].url.is_empty() {
                self.streams[*index].url = url.to_owned();
            }
            return *index;
        }
        self.streams.push(kept_stream::new_stream(kind, url));
        let index = self.streams.len() - 1;
        self.stream_index.insert(key, index);
        index
    }

    fn live_entry(&mut self, session: &str, request_id: &str) -> &mut Live {
        self.live
            .entry((session.to_owned(), request_id.to_owned()))
            .or_default()
    }

    fn last_hop(&self, session: &str, request_id: &str) -> Option<usize> {
        self.live
            .get(&(session.to_owned(), request_id.to_owned()))?
            .hops
            .last()
            .copied()
            .filter(|index| self.hops[*index].session == session)
    }

    /// Request ids are unique per browser, but a redirect reuses its id for every hop and two
    /// targets may in theory collide: later hops get a suffix.
    fn unique_id(&mut self, request_id: &str) -> String {
        let mut id = request_id.to_owned();
        let mut hop = 1;
        while self.used_ids.contains(&id) {
            id = format!("{request_id}.hop{hop}");
            hop += 1;
        }
        self.used_ids.insert(id.clone());
        id
    }
}

fn parse<T: DeserializeOwned>(params: &Value) -> Option<T> {
    T::deserialize(params).ok()
}

fn headers(headers: cdp::Headers) -> Vec<Header> {
    headers
        .0
        .into_iter()
        .map(|(name, value)| Header::new(name, value))
        .collect()
}

fn initiator(initiator: cdp::Initiator) -> Initiator {
    let url = initiator.url.filter(|url| !url.is_empty()).or_else(|| {
        initiator.stack.and_then(|stack| {
            stack
                .call_frames
                .into_iter()
                .map(|frame| frame.url)
                .find(|url| !url.is_empty())
        })
    });
    Initiator {
        kind: initiator.kind,
        url,
    }
}

fn response_record(response: cdp::Response) -> ResponseRecord {
    let remote_address = response.remote_ip_address.map(|ip| {
        let host = if ip.contains(':') && !ip.starts_with('[') {
            format!("[{ip}]")
        } else {
            ip
        };
        match response.remote_port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }
    });
    ResponseRecord {
        status: response.status as u16,
        status_text: response.status_text,
        headers: headers(response.headers),
        mime_type: response.mime_type,
        body: None,
        remote_address,
        protocol: response.protocol,
        from_cache: response.from_disk_cache || response.from_prefetch_cache,
        from_service_worker: response.from_service_worker,
    }
}

/// The request body: Chrome's text of it, or its parts' bytes when it holds binary data.
fn post_data(request: &cdp::Request, cap: usize) -> Option<Body> {
    if let Some(text) = &request.post_data {
        return Some(kept_body::from_text(text.clone(), cap));
    }
    if request.post_data_entries.is_empty() {
        return None;
    }
    let mut bytes = Vec::new();
    for entry in &request.post_data_entries {
        if let Some(chunk) = entry.bytes.as_deref() {
            bytes.extend(BASE64.decode(chunk).ok()?);
        }
    }
    Some(kept_body::from_bytes(bytes, true, cap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(session: &str, method: &str, params: Value) -> CdpEvent {
        CdpEvent {
            method: method.into(),
            params,
            session_id: Some(session.into()),
        }
    }

    fn recorder() -> Recorder {
        recorder_with(BodyLimits::default())
    }

    fn recorder_with(limits: BodyLimits) -> Recorder {
        let mut recorder = Recorder::new("http://127.0.0.1:9/", 1_000.0, limits);
        recorder.add_session("S", "T", "page");
        recorder
    }

    fn will_be_sent(id: &str, url: &str, kind: &str, ts: f64, redirect: Option<Value>) -> Value {
        let mut params = json!({
            "requestId": id, "loaderId": "L1", "frameId": "T", "type": kind,
            "timestamp": ts, "wallTime": 1_700_000_000.0 + ts,
            "request": {"url": url, "method": "GET", "headers": {"Accept": "*/*"}},
            "initiator": {"type": "script", "stack": {"callFrames": [{"url": "http://127.0.0.1:9/app.js"}]}}
        });
        if let Some(redirect) = redirect {
            params["redirectResponse"] = redirect;
        }
        params
    }

    #[test]
    fn urls_that_are_no_network_traffic_are_not_recorded() {
        // Found by the cdp_events fuzz target: a blob: request made the capture one the
        // server refuses (400 invalid_capture), losing the whole recording.
        let mut r = recorder();
        for (id, url) in [
            ("1", "blob:http://127.0.0.1:9/0b6e"),
            ("2", "data:image/gif;base64,R0lGODlhAQABAAAAACw="),
            ("3", "chrome-extension://abc/script.js"),
            ("4", "http://127.0.0.1:9/api"),
        ] {
            r.on_event(&event(
                "S",
                "Network.requestWillBeSent",
                will_be_sent(id, url, "Fetch", 1.0, None),
            ));
            r.on_event(&event(
                "S",
                "Network.responseReceived",
                json!({"requestId": id, "type": "Fetch",
                "response": {"url": url, "status": 200, "headers": {}, "mimeType": "text/plain"}}),
            ));
            r.on_event(&event(
                "S",
                "Network.loadingFinished",
                json!({"requestId": id, "timestamp": 2.0}),
            ));
        }
        let capture = r.finish(2_000.0, None);
        capture.validate().unwrap();
        let urls: Vec<&str> = capture.requests.iter().map(|r| r.url.as_str()).collect();
        assert_eq!(urls, ["http://127.0.0.1:9/api"]);
    }

    #[test]
    fn a_socket_created_with_no_network_url_leaves_no_handshake_record() {
        // Found by the cdp_events fuzz target: webSocketCreated named a blob: URL and the
        // handshake that followed became a request the server refuses.
        let mut r = recorder();
        for (id, url) in [
            ("w1", "blob:http://127.0.0.1:9/0b6e"),
            ("w2", "ws://127.0.0.1:9/live"),
        ] {
            r.on_event(&event(
                "S",
                "Network.webSocketCreated",
                json!({"requestId": id, "url": url}),
            ));
            r.on_event(&event(
                "S",
                "Network.webSocketWillSendHandshakeRequest",
                json!({"requestId": id, "timestamp": 1.0, "wallTime": 1.0,
                       "request": {"headers": {"Upgrade": "websocket"}}}),
            ));
        }
        let capture = r.finish(2_000.0, None);
        capture.validate().unwrap();
        let urls: Vec<&str> = capture.requests.iter().map(|r| r.url.as_str()).collect();
        assert_eq!(urls, ["ws://127.0.0.1:9/live"]);
        let streams: Vec<&str> = capture.streams.iter().map(|s| s.url.as_str()).collect();
        assert_eq!(streams, ["ws://127.0.0.1:9/live"]);
    }

    #[test]
    fn a_redirect_chain_becomes_one_record_per_hop_with_extra_info_merged() {
        let mut r = recorder();
        r.on_event(&event(
            "S",
            "Network.requestWillBeSent",
            will_be_sent("9", "http://127.0.0.1:9/r/1", "Fetch", 1.0, None),
        ));
        // ExtraInfo for hop 1 arrives before hop 2 starts; hop 2's before its main event.
        r.on_event(&event(
            "S",
            "Network.requestWillBeSentExtraInfo",
            json!({"requestId": "9", "headers": {"Cookie": "a=1", "Accept": "*/*"}}),
        ));
        r.on_event(&event("S", "Network.responseReceivedExtraInfo", json!({"requestId": "9", "statusCode": 302, "headers": {"Location": "/r/2", "Set-Cookie": "b=2\nc=3"}})));
        r.on_event(&event(
            "S",
            "Network.requestWillBeSentExtraInfo",
            json!({"requestId": "9", "headers": {"Cookie": "a=1; b=2; c=3"}}),
        ));
        r.on_event(&event("S", "Network.requestWillBeSent", will_be_sent("9", "http://127.0.0.1:9/r/2", "Fetch", 1.5,
            Some(json!({"url": "http://127.0.0.1:9/r/1", "status": 302, "headers": {"Location": "/r/2"}, "mimeType": ""})))));
        r.on_event(&event("S", "Network.responseReceived", json!({"requestId": "9", "timestamp": 2.0, "type": "Fetch",
            "response": {"url": "http://127.0.0.1:9/r/2", "status": 200, "headers": {"Content-Type": "application/json"}, "mimeType": "application/json",
                         "remoteIPAddress": "127.0.0.1", "remotePort": 9, "timing": {"sendEnd": 1.0, "receiveHeadersEnd": 5.5}}})));
        r.on_event(&event("S", "Network.responseReceivedExtraInfo", json!({"requestId": "9", "statusCode": 200, "headers": {"Content-Type": "application/json", "Set-Cookie": "d=4"}})));
        let fetch = r
            .on_event(&event(
                "S",
                "Network.loadingFinished",
                json!({"requestId": "9", "timestamp": 2.5, "encodedDataLength": 20}),
            ))
            .expect("a fetch response body is wanted");
        assert_eq!(fetch.record, 1);
        r.on_body(
            &fetch,
            Ok(cdp::ResponseBody {
                body: "{\"ok\":true}".into(),
                base64_encoded: false,
            }),
        );
        assert_eq!(r.stats.request_extra_info, 2);
        assert_eq!(r.stats.response_extra_info, 2);

        let capture = r.finish(3_000.0, None);
        capture.validate().unwrap();
        let [first, second] = capture.requests.as_slice() else {
            panic!("two hops: {:?}", capture.requests)
        };
        assert_eq!(first.url, "http://127.0.0.1:9/r/1");
        assert_eq!(first.request_header("cookie"), Some("a=1"));
        let first_response = first.response.as_ref().unwrap();
        assert_eq!(first_response.status, 302);
        let set_cookies: Vec<_> = first_response
            .headers
            .iter()
            .filter(|h| h.name == "Set-Cookie")
            .map(|h| h.value.as_str())
            .collect();
        assert_eq!(set_cookies, ["b=2", "c=3"]);
        assert_eq!(second.redirected_from.as_deref(), Some(first.id.as_str()));
        assert_eq!(second.request_header("Cookie"), Some("a=1; b=2; c=3"));
        let response = second.response.as_ref().unwrap();
        assert_eq!(response.header("set-cookie"), Some("d=4"));
        assert_eq!(response.remote_address.as_deref(), Some("127.0.0.1:9"));
        assert_eq!(
            response.body.as_ref().unwrap().as_text(),
            Some("{\"ok\":true}")
        );
        assert_eq!(second.timing.wait_ms, Some(4.5));
        assert_eq!(second.timing.duration_ms, Some(1000.0));
        assert_eq!(
            first.initiator.as_ref().unwrap().url.as_deref(),
            Some("http://127.0.0.1:9/app.js")
        );
    }

    #[test]
    fn images_are_not_fetched_and_failures_are_kept() {
        let mut r = recorder();
        r.on_event(&event(
            "S",
            "Network.requestWillBeSent",
            will_be_sent("1", "http://127.0.0.1:9/a.png", "Image", 1.0, None),
        ));
        r.on_event(&event(
            "S",
            "Network.responseReceived",
            json!({"requestId": "1", "timestamp": 1.1, "type": "Image",
            "response": {"status": 200, "headers": {}, "mimeType": "image/png"}}),
        ));
        assert_eq!(
            r.on_event(&event(
                "S",
                "Network.loadingFinished",
                json!({"requestId": "1", "timestamp": 1.2})
            )),
            None
        );
        r.on_event(&event(
            "S",
            "Network.requestWillBeSent",
            will_be_sent("2", "http://127.0.0.1:9/gone", "XHR", 1.0, None),
        ));
        r.on_event(&event(
            "S",
            "Network.loadingFailed",
            json!({"requestId": "2", "timestamp": 1.3, "errorText": "net::ERR_CONNECTION_REFUSED"}),
        ));
        let capture = r.finish(2_000.0, None);
        assert_eq!(
            capture.requests[1].failure.as_deref(),
            Some("net::ERR_CONNECTION_REFUSED")
        );
        assert_eq!(capture.requests[0].resource_type, ResourceType::Image);
    }

    /// A Fetch to /api that finished; returns the body fetch the recorder asks for, if any.
    fn finished_fetch(r: &mut Recorder, id: &str, mime: &str) -> Option<BodyFetch> {
        r.on_event(&event(
            "S",
            "Network.requestWillBeSent",
            will_be_sent(id, "http://127.0.0.1:9/api", "Fetch", 1.0, None),
        ));
        r.on_event(&event(
            "S",
            "Network.responseReceived",
            json!({"requestId": id, "timestamp": 1.1,
            "response": {"status": 200, "headers": {}, "mimeType": mime}}),
        ));
        r.on_event(&event(
            "S",
            "Network.loadingFinished",
            json!({"requestId": id, "timestamp": 1.2}),
        ))
    }

    fn kept_body(capture: &Capture) -> &Body {
        capture.requests[0]
            .response
            .as_ref()
            .and_then(|response| response.body.as_ref())
            .expect("a body")
    }

    #[test]
    fn a_base64_json_body_is_kept_as_text() {
        let mut r = recorder();
        let fetch = finished_fetch(&mut r, "1", "application/json").expect("a body is wanted");
        r.on_body(
            &fetch,
            Ok(cdp::ResponseBody {
                body: BASE64.encode("{\"a\":1}"),
                base64_encoded: true,
            }),
        );
        let capture = r.finish(2_000.0, None);
        assert_eq!(kept_body(&capture).as_text(), Some("{\"a\":1}"));
    }

    #[test]
    fn a_body_over_the_per_body_cap_is_cut() {
        let mut r = recorder_with(BodyLimits {
            per_body: 4,
            ..BodyLimits::default()
        });
        let fetch = finished_fetch(&mut r, "1", "application/json").expect("a body is wanted");
        r.on_body(
            &fetch,
            Ok(cdp::ResponseBody {
                body: "[1,2,3]".into(),
                base64_encoded: false,
            }),
        );
        let capture = r.finish(2_000.0, None);
        let body = kept_body(&capture);
        assert_eq!((body.data.as_str(), body.truncated), ("[1,2", true));
        assert_eq!(body.size, Some(7));
    }

    #[test]
    fn a_body_that_is_not_the_base64_it_claims_counts_as_failed() {
        let mut r = recorder();
        let fetch = finished_fetch(&mut r, "1", "image/png").expect("a body is wanted");
        r.on_body(
            &fetch,
            Ok(cdp::ResponseBody {
                body: "not base64!".into(),
                base64_encoded: true,
            }),
        );
        assert_eq!(r.stats.bodies_failed, 1);
        let capture = r.finish(2_000.0, None);
        assert!(capture.requests[0]
            .response
            .as_ref()
            .unwrap()
            .body
            .is_none());
    }

    #[test]
    fn post_data_is_cut_at_the_per_body_cap() {
        let mut r = recorder_with(BodyLimits {
            per_body: 8,
            ..BodyLimits::default()
        });
        let mut params = will_be_sent("1", "http://127.0.0.1:9/login", "Fetch", 1.0, None);
        params["request"]["method"] = json!("POST");
        params["request"]["postDataEntries"] =
            json!([{"bytes": BASE64.encode("user=ada")}, {"bytes": BASE64.encode("&next=1")}]);
        r.on_event(&event("S", "Network.requestWillBeSent", params));
        let capture = r.finish(2_000.0, None);
        let post = capture.requests[0].post_data.as_ref().unwrap();
        assert_eq!((post.as_text(), post.truncated), (Some("user=ada"), true));
        assert_eq!(post.size, Some(15));
    }

    #[test]
    fn the_total_cap_stops_fetching_bodies() {
        let mut r = recorder_with(BodyLimits {
            per_body: 10,
            total: 10,
            skip_over: 1000,
        });
        for id in ["1", "2"] {
            if let Some(fetch) = finished_fetch(&mut r, id, "application/json") {
                r.on_body(
                    &fetch,
                    Ok(cdp::ResponseBody {
                        body: "0123456789abc".into(),
                        base64_encoded: false,
                    }),
                );
            }
        }
        assert_eq!(r.stats.bodies_fetched, 1);
        assert_eq!(r.stats.bodies_skipped_total_cap, 1);
    }

    #[test]
    fn websocket_and_event_source_traffic_is_summarised() {
        let mut r = recorder();
        r.on_event(&event(
            "S",
            "Network.webSocketCreated",
            json!({"requestId": "w", "url": "ws://127.0.0.1:9/live"}),
        ));
        r.on_event(&event("S", "Network.webSocketWillSendHandshakeRequest", json!({"requestId": "w", "timestamp": 1.0, "wallTime": 5.0, "request": {"headers": {"Upgrade": "websocket"}}})));
        r.on_event(&event("S", "Network.webSocketHandshakeResponseReceived", json!({"requestId": "w", "timestamp": 1.1, "response": {"status": 101, "statusText": "Switching Protocols", "headers": {}}})));
        r.on_event(&event("S", "Network.webSocketFrameSent", json!({"requestId": "w", "timestamp": 1.2, "response": {"opcode": 1, "payloadData": "hello"}})));
        r.on_event(&event("S", "Network.webSocketFrameReceived", json!({"requestId": "w", "timestamp": 1.3, "response": {"opcode": 1, "payloadData": "world"}})));
        r.on_event(&event(
            "S",
            "Network.requestWillBeSent",
            will_be_sent("e", "http://127.0.0.1:9/events", "EventSource", 1.0, None),
        ));
        r.on_event(&event("S", "Network.eventSourceMessageReceived", json!({"requestId": "e", "timestamp": 1.4, "eventName": "price", "eventId": "", "data": "{}"})));
        let capture = r.finish(2_000.0, None);
        capture.validate().unwrap();
        assert_eq!(capture.streams.len(), 2);
        let ws = &capture.streams[0];
        assert_eq!(
            (ws.kind, ws.messages_sent, ws.messages_received),
            (StreamKind::WebSocket, 1, 1)
        );
        assert_eq!(ws.samples, ["sent: hello", "received: world"]);
        assert_eq!(capture.streams[1].url, "http://127.0.0.1:9/events");
        assert_eq!(capture.streams[1].samples, ["received: price: {}"]);
        let handshake = capture
            .requests
            .iter()
            .find(|r| r.resource_type == ResourceType::WebSocket)
            .unwrap();
        assert_eq!(handshake.response.as_ref().unwrap().status, 101);
    }
}
