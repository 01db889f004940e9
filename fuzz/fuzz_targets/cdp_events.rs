//! The DevTools client's reading of Chrome's pipe (framing and messages) and the recorder's
//! decoding of the events into a capture. The events come from a browser that runs arbitrary
//! sites (and from extensions and service workers), so every sequence of frames, events, bodies
//! and cookie jars must end in a valid capture without a panic.
#![no_main]

use arbitrary::Arbitrary;
use browser_recon::capture::cdp::{parse_incoming, Incoming};
use browser_recon::capture::cdp_types::{Cookies, ResponseBody};
use browser_recon::capture::pipe_frames::PipeFrames;
use browser_recon::capture::{BodyLimits, Recorder};
use libfuzzer_sys::fuzz_target;
use recon_fuzz::{Json, Text};
use serde_json::{json, Value};

const METHODS: &[&str] = &[
    "Network.requestWillBeSent",
    "Network.responseReceived",
    "Network.loadingFinished",
    "Network.loadingFailed",
    "Network.requestWillBeSentExtraInfo",
    "Network.responseReceivedExtraInfo",
    "Network.requestServedFromCache",
    "Network.webSocketCreated",
    "Network.webSocketWillSendHandshakeRequest",
    "Network.webSocketHandshakeResponseReceived",
    "Network.webSocketFrameSent",
    "Network.webSocketFrameReceived",
    "Network.eventSourceMessageReceived",
    "Target.targetInfoChanged",
    "Target.targetCreated",
];
const URLS: &[&str] = &[
    "https://shop.example/",
    "https://api.shop.example/v1/products/42?page=2",
    "https://shop.example/graphql",
    "wss://shop.example/live",
    "data:text/plain,hi",
    "blob:https://shop.example/0b6e",
    "chrome-extension://abc/script.js",
    "https://[2001:db8::1]:8443/a",
];
const MIMES: &[&str] = &[
    "application/json",
    "text/html",
    "image/png",
    "text/event-stream",
    "",
];

#[derive(Debug, Arbitrary)]
enum Event {
    /// A well-formed event of a known method, its fields chosen by the fuzzer.
    Shaped {
        method: u8,
        session: u8,
        request: u8,
        url: u8,
        status: f64,
        timestamp: f64,
        headers: Vec<(Text, Text)>,
        mime: u8,
        redirect: bool,
        text: Text,
    },
    /// A known method with params of any shape.
    Any {
        method: u8,
        session: u8,
        params: Json,
    },
    /// A body that was fetched for the nth finished response.
    Body {
        fetch: u8,
        body: String,
        base64: bool,
        failed: bool,
    },
    /// The browser's cookie jar, as Storage.getCookies returns it.
    Cookies(Json),
    Session {
        session: u8,
        kind: u8,
    },
    /// Bytes of any kind read from Chrome's DevTools pipe, cut into messages as the client does.
    Raw(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
struct Input {
    per_body: u16,
    total: u16,
    events: Vec<Event>,
}

fn pick<'a>(items: &[&'a str], index: u8) -> &'a str {
    items[usize::from(index) % items.len()]
}

// One parameter per fuzzed field of the event's shape.
#[allow(clippy::too_many_arguments)]
fn shaped(
    method: &str,
    request: u8,
    url: &str,
    status: f64,
    timestamp: f64,
    headers: Value,
    mime: &str,
    redirect: bool,
    text: String,
) -> Value {
    let request_id = format!("req-{}", request % 8);
    let response = json!({"url": url, "status": status, "statusText": text, "headers": headers,
        "mimeType": mime, "remoteIPAddress": "93.184.215.14", "remotePort": 443, "protocol": "h2",
        "timing": {"sendEnd": timestamp, "receiveHeadersEnd": timestamp * 2.0}});
    match method {
        "Network.requestWillBeSent" => {
            let mut params = json!({"requestId": request_id, "loaderId": "L1", "timestamp": timestamp,
                "wallTime": 1_700_000_000.0 + timestamp, "type": "Fetch", "frameId": "F1",
                "initiator": {"type": "script", "url": url, "stack": {"callFrames": [{"url": url}]}},
                "request": {"url": url, "method": if redirect { "POST" } else { "GET" }, "headers": headers,
                    "postData": text, "postDataEntries": [{"bytes": "eyJhIjoxfQ=="}]}});
            if redirect {
                params["redirectResponse"] = response;
            }
            params
        }
        "Network.responseReceived" => {
            json!({"requestId": request_id, "type": "XHR", "response": response})
        }
        "Network.loadingFinished" => {
            json!({"requestId": request_id, "timestamp": timestamp, "encodedDataLength": status})
        }
        "Network.loadingFailed" => {
            json!({"requestId": request_id, "timestamp": timestamp, "errorText": text, "canceled": redirect, "blockedReason": "inspector"})
        }
        "Network.requestWillBeSentExtraInfo" => {
            json!({"requestId": request_id, "headers": headers})
        }
        "Network.responseReceivedExtraInfo" => {
            json!({"requestId": request_id, "headers": headers, "statusCode": status})
        }
        "Network.webSocketCreated" => json!({"requestId": request_id, "url": url}),
        "Network.webSocketWillSendHandshakeRequest" => {
            json!({"requestId": request_id, "timestamp": timestamp, "wallTime": timestamp, "request": {"headers": headers}})
        }
        "Network.webSocketHandshakeResponseReceived" => {
            json!({"requestId": request_id, "timestamp": timestamp, "response": {"status": status, "statusText": text, "headers": headers}})
        }
        "Network.webSocketFrameSent" | "Network.webSocketFrameReceived" => {
            json!({"requestId": request_id, "timestamp": timestamp, "response": {"opcode": status, "mask": redirect, "payloadData": text}})
        }
        "Network.eventSourceMessageReceived" => {
            json!({"requestId": request_id, "timestamp": timestamp, "eventName": if redirect { "price" } else { "message" }, "eventId": "1", "data": text})
        }
        "Target.targetInfoChanged" | "Target.targetCreated" => {
            json!({"targetInfo": {"targetId": format!("T{}", request % 3), "type": "page", "title": text, "url": url, "attached": true}})
        }
        _ => json!({"requestId": request_id}),
    }
}

fuzz_target!(|input: Input| {
    let limits = BodyLimits {
        per_body: usize::from(input.per_body),
        total: usize::from(input.total) * 16,
        skip_over: u64::from(input.total) * 64,
    };
    let mut recorder = Recorder::new("https://shop.example/", 1_700_000_000_000.0, limits);
    recorder.add_session("S0", "T0", "page");
    let mut fetches = Vec::new();
    // Small, so the fuzzer also reaches the cap on one message.
    let mut frames = PipeFrames::new(4096);
    for event in &input.events {
        let (method, session, params) = match event {
            Event::Shaped {
                method,
                session,
                request,
                url,
                status,
                timestamp,
                headers,
                mime,
                redirect,
                text,
            } => {
                let method = pick(METHODS, *method);
                let headers: serde_json::Map<String, Value> = headers
                    .iter()
                    .map(|(k, v)| (k.render(), Value::String(v.render())))
                    .collect();
                let params = shaped(
                    method,
                    *request,
                    pick(URLS, *url),
                    *status,
                    *timestamp,
                    Value::Object(headers),
                    pick(MIMES, *mime),
                    *redirect,
                    text.render(),
                );
                (method, *session, params)
            }
            Event::Any {
                method,
                session,
                params,
            } => (pick(METHODS, *method), *session, params.value()),
            Event::Body {
                fetch,
                body,
                base64,
                failed,
            } => {
                if let Some(fetch) = fetches.get(usize::from(*fetch) % fetches.len().max(1)) {
                    let answer = if *failed {
                        Err("No resource with given identifier found".to_owned())
                    } else {
                        serde_json::from_value::<ResponseBody>(
                            json!({"body": body, "base64Encoded": base64}),
                        )
                        .map_err(|e| e.to_string())
                    };
                    recorder.on_body(fetch, answer);
                }
                continue;
            }
            Event::Cookies(jar) => {
                if let Ok(cookies) = serde_json::from_value::<Cookies>(jar.value()) {
                    recorder.set_cookies(cookies.cookies);
                }
                continue;
            }
            Event::Raw(bytes) => {
                for message in frames.push(bytes) {
                    let text = String::from_utf8_lossy(&message);
                    if let Some(Incoming::Event(event)) = parse_incoming(&text) {
                        if let Some(fetch) = recorder.on_event(&event) {
                            fetches.push(fetch);
                        }
                    }
                }
                continue;
            }
            Event::Session { session, kind } => {
                let kind = pick(
                    &[
                        "page",
                        "iframe",
                        "service_worker",
                        "worker",
                        "shared_worker",
                    ],
                    *kind,
                );
                recorder.add_session(
                    &format!("S{}", session % 3),
                    &format!("T{}", session % 3),
                    kind,
                );
                continue;
            }
        };
        // Every event goes over the wire as text and through the client's own reader.
        let mut message = json!({"method": method, "params": params});
        if session % 4 != 3 {
            message["sessionId"] = json!(format!("S{}", session % 3));
        }
        let Some(Incoming::Event(event)) = parse_incoming(&message.to_string()) else {
            panic!("a well-formed event message was not read as an event: {message}");
        };
        if let Some(fetch) = recorder.on_event(&event) {
            fetches.push(fetch);
        }
    }
    let capture = recorder.finish(1_700_000_090_000.0, Some("Chrome/131".to_owned()));
    // What the recorder hands the uploader must pass the server's checks.
    if let Err(error) = capture.validate() {
        panic!("the recorder produced a capture the server refuses: {error}");
    }
});
