//! A small raw Chrome DevTools Protocol client over one WebSocket.
//!
//! chromiumoxide's generated types are older than current Chrome, so it drops the events whose
//! shape changed (notably `Network.*ExtraInfo`, which carry the real Cookie and Set-Cookie
//! headers). This client hands every event over as JSON so the recorder can read it with
//! lenient types of its own, and lets commands run concurrently (one reply channel per id).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// Response bodies arrive in one message; the recorder caps what it keeps, not what it reads.
const MAX_MESSAGE_BYTES: usize = 512 << 20;
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, thiserror::Error)]
pub enum CdpError {
    #[error("cannot open the DevTools connection to Chrome: {0}")]
    Connect(String),
    #[error("the DevTools connection to Chrome closed")]
    Closed,
    #[error("Chrome did not answer {method} within {seconds}s")]
    Timeout { method: String, seconds: u64 },
    #[error("Chrome refused {method}: {message}")]
    Refused { method: String, message: String },
}

/// One event: its method, params and the session (target) it came from.
#[derive(Debug, Clone)]
pub struct CdpEvent {
    pub method: String,
    pub params: Value,
    pub session_id: Option<String>,
}

/// One message from Chrome.
#[derive(Debug)]
pub enum Incoming {
    /// The answer to command `id`: its result, or Chrome's error message.
    Reply {
        id: u64,
        result: Result<Value, String>,
    },
    Event(CdpEvent),
}

/// Reads one DevTools message; `None` for text that is neither a reply nor an event.
pub fn parse_incoming(text: &str) -> Option<Incoming> {
    let mut value = serde_json::from_str::<Value>(text).ok()?;
    if let Some(id) = value.get("id").and_then(Value::as_u64) {
        let result = match value.get_mut("error") {
            Some(error) => Err(error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unknown error")
                .to_owned()),
            None => Ok(value
                .get_mut("result")
                .map(Value::take)
                .unwrap_or(json!({}))),
        };
        return Some(Incoming::Reply { id, result });
    }
    let method = value.get("method")?.as_str()?.to_owned();
    Some(Incoming::Event(CdpEvent {
        method,
        session_id: value
            .get("sessionId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        params: value
            .get_mut("params")
            .map(Value::take)
            .unwrap_or(json!({})),
    }))
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

#[derive(Clone)]
pub struct CdpClient {
    outgoing: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next_id: Arc<AtomicU64>,
}

impl CdpClient {
    /// Connects to a DevTools WebSocket URL; events arrive on the returned receiver until the
    /// connection closes.
    pub async fn connect(
        url: &str,
    ) -> Result<(CdpClient, mpsc::UnboundedReceiver<CdpEvent>), CdpError> {
        let mut config = WebSocketConfig::default();
        config.max_message_size = Some(MAX_MESSAGE_BYTES);
        config.max_frame_size = Some(MAX_MESSAGE_BYTES);
        let (socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false)
            .await
            .map_err(|error| CdpError::Connect(error.to_string()))?;
        let (mut sink, mut stream) = socket.split();
        let (outgoing, mut to_send) = mpsc::unbounded_channel::<Message>();
        let (events, event_receiver) = mpsc::unbounded_channel();
        let pending: Pending = Arc::default();

        tokio::spawn(async move {
            while let Some(message) = to_send.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        });
        let reader_pending = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let text = match message {
                    Message::Text(text) => text.to_string(),
                    Message::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Message::Close(_) => break,
                    _ => continue,
                };
                match parse_incoming(&text) {
                    Some(Incoming::Reply { id, result }) => {
                        let waiter = reader_pending
                            .lock()
                            .ok()
                            .and_then(|mut map| map.remove(&id));
                        if let Some(waiter) = waiter {
                            let _ = waiter.send(result);
                        }
                    }
                    Some(Incoming::Event(event)) => {
                        // The recorder has stopped listening: nothing more to read.
                        let delivered = events.send(event).is_ok();
                        if !delivered {
                            break;
                        }
                    }
                    None => {}
                }
            }
            // Dropping the waiters tells every caller the connection is gone.
            if let Ok(mut map) = reader_pending.lock() {
                map.clear();
            }
        });
        Ok((
            CdpClient {
                outgoing,
                pending,
                next_id: Arc::new(AtomicU64::new(1)),
            },
            event_receiver,
        ))
    }

    /// Sends a command (to a target's session, or to the browser when `session` is `None`) and
    /// waits for its result.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        session: Option<&str>,
    ) -> Result<Value, CdpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = Value::String(session.to_owned());
        }
        let (sender, receiver) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|_| CdpError::Closed)?
            .insert(id, sender);
        self.outgoing
            .send(Message::Text(message.to_string().into()))
            .map_err(|_| CdpError::Closed)?;
        match tokio::time::timeout(COMMAND_TIMEOUT, receiver).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err(message))) => Err(CdpError::Refused {
                method: method.to_owned(),
                message,
            }),
            Ok(Err(_)) => Err(CdpError::Closed),
            Err(_) => {
                if let Ok(mut map) = self.pending.lock() {
                    map.remove(&id);
                }
                Err(CdpError::Timeout {
                    method: method.to_owned(),
                    seconds: COMMAND_TIMEOUT.as_secs(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_read_as_replies_errors_or_events() {
        match parse_incoming(r#"{"id":3,"result":{"cookies":[]}}"#) {
            Some(Incoming::Reply {
                id: 3,
                result: Ok(result),
            }) => {
                assert_eq!(result, json!({"cookies": []}))
            }
            other => panic!("{other:?}"),
        }
        match parse_incoming(r#"{"id":4,"error":{"code":-32000,"message":"No resource"}}"#) {
            Some(Incoming::Reply {
                id: 4,
                result: Err(message),
            }) => {
                assert_eq!(message, "No resource")
            }
            other => panic!("{other:?}"),
        }
        match parse_incoming(
            r#"{"method":"Network.loadingFinished","params":{"requestId":"1"},"sessionId":"S"}"#,
        ) {
            Some(Incoming::Event(event)) => {
                assert_eq!(event.method, "Network.loadingFinished");
                assert_eq!(event.session_id.as_deref(), Some("S"));
                assert_eq!(event.params, json!({"requestId": "1"}));
            }
            other => panic!("{other:?}"),
        }
        for junk in ["", "not json", "[]", r#"{"method":7}"#, r#"{"id":-1}"#] {
            assert!(parse_incoming(junk).is_none(), "{junk}");
        }
    }
}
