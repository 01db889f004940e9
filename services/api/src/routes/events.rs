//! Progress events: `GET /scans/{id}/events?since=` and the WebSocket `GET /scans/{id}/ws?since=`.
//! Both read the same rows with the same cursor, so a client can switch between them freely.
//! A WebSocket counts against its account's quota while open, and is closed when idle or old,
//! or at once when the key that opened it is revoked.

use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Json;
use recon_contracts::{EventsPage, RecordedEvent};
use recon_runtime::config::WebSocketSettings;
use recon_runtime::db::{events, scans};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{Account, Caller};
use crate::notify::{Subscription, Wake};
use crate::{ApiError, AppState};

const PAGE_SIZE: i64 = 500;

#[derive(Debug, Deserialize)]
pub struct Since {
    since: Option<String>,
}

impl Since {
    fn cursor(&self) -> Result<i64, ApiError> {
        match self.since.as_deref().map(str::trim) {
            None | Some("") => Ok(0),
            Some(text) => match text.parse::<i64>() {
                Ok(cursor) if cursor >= 0 => Ok(cursor),
                _ => Err(ApiError::bad_request(
                    "invalid_cursor",
                    format!("since must be a cursor returned by this API (a non-negative integer), got {text:?}"),
                )),
            },
        }
    }
}

async fn owned_scan(state: &AppState, id: &str, account_id: Uuid) -> Result<Uuid, ApiError> {
    let scan_id = super::scan_id(id)?;
    scans::get_for_account(&state.deps.db, scan_id, account_id)
        .await?
        .ok_or_else(ApiError::scan_not_found)?;
    Ok(scan_id)
}

pub async fn list(
    State(state): State<AppState>,
    Account(account_id): Account,
    Path(id): Path<String>,
    Query(since): Query<Since>,
) -> Result<Json<EventsPage>, ApiError> {
    let since = since.cursor()?;
    let scan_id = owned_scan(&state, &id, account_id).await?;
    let mut page = events::after(&state.deps.db, scan_id, since, PAGE_SIZE + 1).await?;
    let more = page.len() as i64 > PAGE_SIZE;
    page.truncate(PAGE_SIZE as usize);
    let cursor = page.last().map_or(since, |event| event.cursor);
    Ok(Json(EventsPage {
        events: page,
        cursor,
        more,
    }))
}

pub async fn websocket(
    State(state): State<AppState>,
    Caller(owner): Caller,
    Path(id): Path<String>,
    Query(since): Query<Since>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let since = since.cursor()?;
    let account_id = owner.account_id;
    let scan_id = owned_scan(&state, &id, account_id).await?;
    let lease = state
        .socket_leases
        .acquire(
            account_id,
            scan_id,
            state.deps.quotas.websockets,
            state.settings.websockets.max_lifetime,
        )
        .await?;
    // The lease moves into the socket's task; if the upgrade fails, it is dropped with it.
    Ok(upgrade.on_upgrade(move |socket| async move {
        push_events(&state, scan_id, owner.key_id, since, socket).await;
        drop(lease);
    }))
}

/// Sends the backlog after `cursor`, then each new event as it is recorded, one JSON
/// `RecordedEvent` per text frame. Reads only when the event listener says the scan may have
/// news. Closes with a close frame saying why: the scan's terminal event, the idle or lifetime
/// limit, the key's revocation, or the server shutting down.
async fn push_events(
    state: &AppState,
    scan_id: Uuid,
    key_id: Uuid,
    mut cursor: i64,
    mut socket: WebSocket,
) {
    let limits = &state.settings.websockets;
    let ends_at = Instant::now() + limits.max_lifetime;
    let mut idle_until = Instant::now() + limits.idle_timeout;
    let mut news = state.wakeups.subscribe(scan_id, key_id);
    // A revocation between the upgrade and the subscription would otherwise go unseen.
    let mut check_key = true;
    loop {
        if check_key && !key_still_active(state, key_id).await {
            let _ = socket.send(SocketEnd::Revoked.close_frame(limits)).await;
            return;
        }
        news.mark_seen();
        let batch = match events::after(&state.deps.db, scan_id, cursor, PAGE_SIZE).await {
            Ok(batch) => batch,
            Err(err) => {
                tracing::warn!(%scan_id, error = %err, "cannot read events for a WebSocket");
                let _ = socket
                    .send(close_frame(1011, "events unavailable; poll instead"))
                    .await;
                return;
            }
        };
        let full_page = batch.len() as i64 == PAGE_SIZE;
        for event in &batch {
            if send_event(&mut socket, event).await.is_err() {
                return;
            }
            cursor = event.cursor;
            if event.is_terminal() {
                let _ = socket.send(close_frame(1000, "scan finished")).await;
                return;
            }
        }
        if !batch.is_empty() {
            idle_until = Instant::now() + limits.idle_timeout;
        }
        if full_page {
            continue;
        }
        let end = match wait_for_news(&mut news, &mut socket, idle_until.min(ends_at)).await {
            Waited::News => {
                check_key = false;
                continue;
            }
            Waited::Resync => {
                check_key = true;
                continue;
            }
            Waited::Revoked => SocketEnd::Revoked,
            Waited::ClientGone => return,
            Waited::Deadline if Instant::now() >= ends_at => SocketEnd::Lifetime,
            Waited::Deadline => SocketEnd::Idle,
            Waited::Stopped => SocketEnd::Shutdown,
        };
        let _ = socket.send(end.close_frame(limits)).await;
        return;
    }
}

enum Waited {
    News,
    Resync,
    Revoked,
    ClientGone,
    Deadline,
    Stopped,
}

/// Why the server closed a socket before the scan ended.
enum SocketEnd {
    Revoked,
    Idle,
    Lifetime,
    Shutdown,
}

impl SocketEnd {
    fn close_frame(&self, limits: &WebSocketSettings) -> Message {
        let reason = match self {
            SocketEnd::Revoked => "the API key of this connection was revoked".to_owned(),
            SocketEnd::Idle => format!(
                "no new event for {} s; poll the events URL or reconnect with since=<cursor>",
                limits.idle_timeout.as_secs()
            ),
            SocketEnd::Lifetime => format!(
                "open for the longest allowed {} s; reconnect with since=<cursor> or poll",
                limits.max_lifetime.as_secs()
            ),
            SocketEnd::Shutdown => "the server is shutting down; poll the events URL".to_owned(),
        };
        // 1001 "going away" for a server leaving; 1008 "policy violation" for a key no longer
        // allowed; 1000 for a limit reached in good order.
        let code = match self {
            SocketEnd::Shutdown => 1001,
            SocketEnd::Revoked => 1008,
            SocketEnd::Idle | SocketEnd::Lifetime => 1000,
        };
        close_frame(code, reason)
    }
}

/// Waits until this scan may have a new event, the client goes away, or `deadline`.
async fn wait_for_news(
    news: &mut Subscription,
    socket: &mut WebSocket,
    deadline: Instant,
) -> Waited {
    let deadline = tokio::time::sleep_until(deadline.into());
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return Waited::Deadline,
            wake = news.changed() => return match wake {
                Wake::News => Waited::News,
                Wake::Resync => Waited::Resync,
                Wake::Revoked => Waited::Revoked,
                Wake::Stopped => Waited::Stopped,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Waited::ClientGone,
                Some(Ok(_)) => continue,
            },
        }
    }
}

/// Whether the socket's key is still active; a database error keeps the socket open (the
/// next resync checks again).
async fn key_still_active(state: &AppState, key_id: Uuid) -> bool {
    recon_runtime::db::keys::is_active(&state.deps.db, key_id)
        .await
        .unwrap_or(true)
}

async fn send_event(socket: &mut WebSocket, event: &RecordedEvent) -> Result<(), axum::Error> {
    let text = serde_json::to_string(event).map_err(axum::Error::new)?;
    socket.send(Message::Text(text.into())).await
}

fn close_frame(code: u16, reason: impl Into<Utf8Bytes>) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}
