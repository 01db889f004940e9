//! A recon API on loopback that speaks the contract but puts terminal escape sequences in every
//! string it sends: what a compromised server, or a site's strings passed through a real one,
//! could make the CLI print. Screen clears (ESC[2J), OSC 52 clipboard writes, window titles,
//! colours, BEL, C1 controls and bidi overrides, in step messages over the WebSocket and over
//! polling, errors, the version notice, account names and report URLs.
//!
//! Every scan follows the same script: three events over the WebSocket, which then closes, so
//! the CLI must poll for the rest; the scan ends errored when its intent says `fail`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use recon_contracts::{
    CaptureAccepted, CreateScanRequest, CreateScanResponse, EventsPage, RecordedEvent, ScanStatus,
    ScanView, Step, StepStatus,
};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Every kind of sequence a terminal acts on: clear screen, clipboard write (OSC 52, ended by
/// BEL and by ST), window title, colour, a bare BEL, the 8-bit CSI, DEL, and bidi overrides
/// and isolates.
pub const HOSTILE: &str = "\u{1b}[2J\u{1b}[H\u{1b}]52;c;cm0gLXJmIH4vKg==\u{07}\u{1b}]52;p;ZXZpbA==\u{1b}\\\u{1b}]0;owned\u{07}\u{1b}[31m\u{07}\u{9b}1J\u{7f}\u{202e}\u{2066}\u{2069}\u{202c}";

/// `text` with [`HOSTILE`] in front, in the middle and at the end.
pub fn hostile(text: &str) -> String {
    let middle = text.len() / 2;
    let middle = (0..=middle)
        .rev()
        .find(|at| text.is_char_boundary(*at))
        .unwrap_or(0);
    format!(
        "{HOSTILE}{}{HOSTILE}{}{HOSTILE}",
        &text[..middle],
        &text[middle..]
    )
}

/// What the CLI shows in place of a hostile string: the visible text alone.
pub const STEP_MESSAGE: &str = "top: POST /graphql SearchProducts";
pub const STEP_ERROR: &str = "validation failed on SearchProducts";
pub const ACCOUNT: &str = "shop-team";
pub const UNKNOWN_SCAN_MESSAGE: &str = "no scan with this id";
/// What the version check announces.
pub const LATEST_VERSION: &str = "99.0.0";

/// Events sent over the WebSocket before it closes.
const EVENTS_OVER_WEBSOCKET: usize = 3;

#[derive(Clone, Default)]
struct Scans(Arc<Mutex<HashMap<Uuid, bool>>>);

impl Scans {
    fn fails(&self, scan_id: Uuid) -> Option<bool> {
        self.0.lock().ok()?.get(&scan_id).copied()
    }
}

pub struct HostileServer {
    pub url: String,
    shutdown: CancellationToken,
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl HostileServer {
    pub async fn start() -> HostileServer {
        let app = Router::new()
            .route("/version", get(version))
            .route("/account", get(account))
            .route("/scans", post(create_scan))
            .route("/scans/{id}", get(scan))
            .route("/scans/{id}/capture", post(accept_capture))
            .route("/scans/{id}/events", get(events))
            .route("/scans/{id}/ws", get(websocket))
            .with_state(Scans::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the hostile server");
        let address: SocketAddr = listener.local_addr().expect("its address");
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        });
        HostileServer {
            url: format!("http://{address}"),
            shutdown,
        }
    }
}

fn not_found() -> Response {
    let body =
        json!({"error": {"code": hostile("not_found"), "message": hostile(UNKNOWN_SCAN_MESSAGE)}});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

async fn version() -> Json<serde_json::Value> {
    Json(json!({
        "latest": format!("{LATEST_VERSION}-{HOSTILE}"),
        "minimum_supported": "0.1.0",
        "server_version": hostile("0.3.0"),
    }))
}

async fn account() -> Json<serde_json::Value> {
    Json(json!({"account": hostile(ACCOUNT), "key_prefix": hostile("rec_live_abc")}))
}

async fn create_scan(
    State(scans): State<Scans>,
    Json(request): Json<CreateScanRequest>,
) -> (StatusCode, Json<CreateScanResponse>) {
    let scan_id = Uuid::new_v4();
    let fails = request
        .intent_text
        .is_some_and(|intent| intent.contains("fail"));
    if let Ok(mut known) = scans.0.lock() {
        known.insert(scan_id, fails);
    }
    let created = CreateScanResponse {
        scan_id,
        status: ScanStatus::Created,
        capture_url: hostile(&format!("/scans/{scan_id}/capture")),
    };
    (StatusCode::CREATED, Json(created))
}

async fn accept_capture(State(scans): State<Scans>, Path(scan_id): Path<Uuid>) -> Response {
    if scans.fails(scan_id).is_none() {
        return not_found();
    }
    let accepted = CaptureAccepted {
        scan_id,
        status: hostile("queued"),
        events_url: hostile(&format!("/scans/{scan_id}/events")),
        report_url: hostile(&format!("/r/{}", scan_id.simple())),
        steps: steps(),
    };
    (StatusCode::ACCEPTED, Json(accepted)).into_response()
}

async fn scan(State(scans): State<Scans>, Path(scan_id): Path<Uuid>) -> Response {
    let Some(fails) = scans.fails(scan_id) else {
        return not_found();
    };
    let view = ScanView {
        id: scan_id,
        target_url: hostile("https://shop.example/"),
        status: if fails {
            ScanStatus::Errored
        } else {
            ScanStatus::Complete
        },
        intent_text: hostile("lamp prices"),
        starter_template: hostile("python"),
        report_url: hostile(&format!("/r/{}", scan_id.simple())),
        events_url: hostile(&format!("/scans/{scan_id}/events")),
        error: fails.then(|| hostile(STEP_ERROR)),
        created_at: Utc::now(),
        updated_at: Utc::now(),
        steps: steps(),
    };
    Json(view).into_response()
}

/// The real server's steps, each name made hostile.
fn steps() -> Vec<Step> {
    recon_server::Pipeline::standard()
        .steps()
        .iter()
        .map(|step| Step::from(hostile(step.as_str())))
        .collect()
}

/// The scan's whole event history: every step starts and completes with a hostile message,
/// except validation when the scan fails.
fn script(scan_id: Uuid, fails: bool) -> Vec<RecordedEvent> {
    let mut events = Vec::new();
    let steps = steps();
    let last = steps.last().cloned();
    for step in steps {
        let failing = fails && step.as_str() == hostile("validation");
        let outcomes = [
            (StepStatus::Started, hostile("starting")),
            if failing {
                (StepStatus::Errored, hostile(STEP_ERROR))
            } else {
                (StepStatus::Complete, hostile(STEP_MESSAGE))
            },
        ];
        for (status, message) in outcomes {
            events.push(RecordedEvent {
                id: Uuid::new_v4(),
                scan_id,
                step: step.clone(),
                status,
                message: Some(message),
                metadata: json!({ hostile("operation"): hostile("SearchProducts") }),
                created_at: Utc::now(),
                cursor: events.len() as i64 + 1,
                terminal: status == StepStatus::Errored
                    || (status == StepStatus::Complete && Some(&step) == last.as_ref()),
            });
        }
        if failing {
            break;
        }
    }
    events
}

#[derive(serde::Deserialize)]
struct Since {
    since: Option<i64>,
}

async fn events(
    State(scans): State<Scans>,
    Path(scan_id): Path<Uuid>,
    Query(since): Query<Since>,
) -> Response {
    let Some(fails) = scans.fails(scan_id) else {
        return not_found();
    };
    let since = since.since.unwrap_or(0);
    let events: Vec<RecordedEvent> = script(scan_id, fails)
        .into_iter()
        .filter(|event| event.cursor > since)
        .collect();
    let cursor = events.last().map_or(since, |event| event.cursor);
    Json(EventsPage {
        events,
        cursor,
        more: false,
        steps: steps(),
    })
    .into_response()
}

async fn websocket(
    State(scans): State<Scans>,
    Path(scan_id): Path<Uuid>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(fails) = scans.fails(scan_id) else {
        return not_found();
    };
    upgrade.on_upgrade(move |socket| send_some_then_close(socket, script(scan_id, fails)))
}

async fn send_some_then_close(mut socket: WebSocket, events: Vec<RecordedEvent>) {
    for event in events.iter().take(EVENTS_OVER_WEBSOCKET) {
        let Ok(text) = serde_json::to_string(event) else {
            return;
        };
        if socket.send(Message::Text(text.into())).await.is_err() {
            return;
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
