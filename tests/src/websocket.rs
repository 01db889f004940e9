//! A WebSocket client for `/scans/{id}/ws`, as the CLI uses it.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use recon_contracts::RecordedEvent;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

pub type EventSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the events socket of `scan_id`; a refused upgrade comes back as
/// `tungstenite::Error::Http` with the server's answer.
pub async fn connect_events(
    api: &str,
    key: &str,
    scan_id: Uuid,
    since: i64,
) -> Result<EventSocket, tokio_tungstenite::tungstenite::Error> {
    let url = format!(
        "{}/scans/{scan_id}/ws?since={since}",
        api.replace("http://", "ws://")
    );
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {key}").parse().expect("header"),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

/// Every event the server pushes until it closes the socket, and its close frame.
pub async fn read_until_closed(
    socket: &mut EventSocket,
    patience: Duration,
) -> (Vec<RecordedEvent>, Option<CloseFrame>) {
    let mut events = Vec::new();
    loop {
        let next = tokio::time::timeout(patience, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no WebSocket frame within {patience:?}"));
        match next {
            Some(Ok(Message::Text(text))) => {
                events.push(serde_json::from_str(&text).expect("event json"))
            }
            Some(Ok(Message::Close(frame))) => return (events, frame),
            None => return (events, None),
            Some(Ok(_)) => {}
            Some(Err(err)) => panic!("WebSocket error: {err}"),
        }
    }
}

/// Every event the server pushes after `since`, until it closes the socket (after the scan's
/// terminal event). Owned arguments so it can run in a spawned task.
pub async fn websocket_events(
    api: String,
    key: String,
    scan_id: Uuid,
    since: i64,
) -> Vec<RecordedEvent> {
    let mut socket = connect_events(&api, &key, scan_id, since)
        .await
        .expect("ws connect");
    let (events, _) = read_until_closed(&mut socket, Duration::from_secs(60)).await;
    let _ = socket.send(Message::Close(None)).await;
    events
}
