//! Progress events: `GET /scans/{id}/events?since=` and the WebSocket `GET /scans/{id}/ws?since=`.
//! Both read the same rows with the same cursor, so a client can switch between them freely.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Json;
use recon_contracts::{EventsPage, RecordedEvent};
use recon_runtime::db::{events, scans};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::auth::Account;
use crate::{ApiError, AppState};

const PAGE_SIZE: i64 = 500;
/// A WebSocket re-reads on this period even without a notification (belt and braces).
const WS_RECHECK: Duration = Duration::from_secs(1);

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
    Account(account_id): Account,
    Path(id): Path<String>,
    Query(since): Query<Since>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let since = since.cursor()?;
    let scan_id = owned_scan(&state, &id, account_id).await?;
    Ok(upgrade.on_upgrade(move |socket| push_events(state, scan_id, since, socket)))
}

/// Sends the backlog after `cursor`, then each new event as it is recorded, one JSON
/// `RecordedEvent` per text frame; closes normally after the scan's terminal event.
async fn push_events(state: AppState, scan_id: Uuid, mut cursor: i64, mut socket: WebSocket) {
    let mut wake = state.new_events.subscribe();
    loop {
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
        if full_page {
            continue;
        }
        if !wait_for_news(&mut wake, &mut socket, scan_id).await {
            return;
        }
    }
}

/// Waits until this scan may have a new event; `false` when the client went away.
async fn wait_for_news(
    wake: &mut tokio::sync::broadcast::Receiver<Uuid>,
    socket: &mut WebSocket,
    scan_id: Uuid,
) -> bool {
    let deadline = tokio::time::sleep(WS_RECHECK);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return true,
            notified = wake.recv() => match notified {
                Ok(id) if id == scan_id => return true,
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => return true,
                Err(RecvError::Closed) => {
                    deadline.as_mut().await;
                    return true;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return false,
                Some(Ok(_)) => continue,
            },
        }
    }
}

async fn send_event(socket: &mut WebSocket, event: &RecordedEvent) -> Result<(), axum::Error> {
    let text = serde_json::to_string(event).map_err(axum::Error::new)?;
    socket.send(Message::Text(text.into())).await
}

fn close_frame(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}
