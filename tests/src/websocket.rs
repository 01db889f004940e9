//! A WebSocket client for `/scans/{id}/ws`, as the CLI uses it.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use recon_contracts::RecordedEvent;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// Every event the server pushes after `since`, until it closes the socket (after the scan's
/// terminal event). Owned arguments so it can run in a spawned task.
pub async fn websocket_events(
    api: String,
    key: String,
    scan_id: Uuid,
    since: i64,
) -> Vec<RecordedEvent> {
    let url = format!(
        "{}/scans/{scan_id}/ws?since={since}",
        api.replace("http://", "ws://")
    );
    let mut request = url.into_client_request().expect("ws request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {key}").parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("ws connect");
    let mut events = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .expect("no WebSocket frame within 60 s");
        match next {
            Some(Ok(Message::Text(text))) => {
                events.push(serde_json::from_str(&text).expect("event json"))
            }
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => {}
            Some(Err(err)) => panic!("WebSocket error: {err}"),
        }
    }
    let _ = socket.send(Message::Close(None)).await;
    events
}
