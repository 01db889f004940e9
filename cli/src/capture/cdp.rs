//! The project's own small Chrome DevTools Protocol client, over the debugging pipe Chrome is
//! started with (see [`super::launch`]): commands go out as NUL-ended JSON, replies and events
//! come back the same way ([`super::pipe_frames`]).
//!
//! Every event is handed over as JSON, whatever its shape, so the recorder reads it with lenient
//! types of its own: a typed client (chromiumoxide, before) drops the events whose shape changed
//! in newer Chrome, notably `Network.*ExtraInfo`, which carry the real Cookie and Set-Cookie
//! headers. Commands run concurrently (one reply channel per id).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use super::pipe_frames::PipeFrames;

/// Response bodies arrive in one message; the recorder caps what it keeps, not what it reads.
const MAX_MESSAGE_BYTES: usize = 512 << 20;
const READ_CHUNK_BYTES: usize = 256 << 10;
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, thiserror::Error)]
pub enum CdpError {
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

/// The callers waiting for a reply, by command id; `None` once the pipe has closed.
type Pending = Arc<Mutex<Option<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>>;

#[derive(Clone)]
pub struct CdpClient {
    outgoing: mpsc::UnboundedSender<String>,
    pending: Pending,
    next_id: Arc<AtomicU64>,
}

impl CdpClient {
    /// Speaks DevTools over Chrome's end of the pipe: `from_chrome` (its fd 4) and `to_chrome`
    /// (its fd 3). Events arrive on the returned receiver until Chrome closes the pipe; replies
    /// keep being read after the receiver is dropped, so the browser can still be closed.
    pub fn start(
        from_chrome: impl AsyncRead + Unpin + Send + 'static,
        to_chrome: impl AsyncWrite + Unpin + Send + 'static,
    ) -> (CdpClient, mpsc::UnboundedReceiver<CdpEvent>) {
        let (outgoing, to_send) = mpsc::unbounded_channel::<String>();
        let (events, event_receiver) = mpsc::unbounded_channel();
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        tokio::spawn(write_messages(to_chrome, to_send));
        tokio::spawn(read_messages(from_chrome, pending.clone(), events));
        (
            CdpClient {
                outgoing,
                pending,
                next_id: Arc::new(AtomicU64::new(1)),
            },
            event_receiver,
        )
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
            .as_mut()
            .ok_or(CdpError::Closed)?
            .insert(id, sender);
        self.outgoing
            .send(message.to_string())
            .map_err(|_| CdpError::Closed)?;
        match tokio::time::timeout(COMMAND_TIMEOUT, receiver).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err(message))) => Err(CdpError::Refused {
                method: method.to_owned(),
                message,
            }),
            Ok(Err(_)) => Err(CdpError::Closed),
            Err(_) => {
                if let Ok(mut pending) = self.pending.lock() {
                    if let Some(map) = pending.as_mut() {
                        map.remove(&id);
                    }
                }
                Err(CdpError::Timeout {
                    method: method.to_owned(),
                    seconds: COMMAND_TIMEOUT.as_secs(),
                })
            }
        }
    }
}

/// Writes each command followed by the NUL that ends it.
async fn write_messages(
    mut to_chrome: impl AsyncWrite + Unpin,
    mut to_send: mpsc::UnboundedReceiver<String>,
) {
    while let Some(message) = to_send.recv().await {
        let mut bytes = message.into_bytes();
        bytes.push(0);
        let written = async {
            to_chrome.write_all(&bytes).await?;
            to_chrome.flush().await
        };
        if written.await.is_err() {
            break;
        }
    }
}

/// Reads messages until Chrome closes the pipe: replies to their callers, events to the
/// recorder (while it listens).
async fn read_messages(
    mut from_chrome: impl AsyncRead + Unpin,
    pending: Pending,
    events: mpsc::UnboundedSender<CdpEvent>,
) {
    let mut frames = PipeFrames::new(MAX_MESSAGE_BYTES);
    let mut chunk = vec![0_u8; READ_CHUNK_BYTES];
    loop {
        let read = match from_chrome.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        for message in frames.push(&chunk[..read]) {
            let text = String::from_utf8(message)
                .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
            match parse_incoming(&text) {
                Some(Incoming::Reply { id, result }) => {
                    let waiter = pending
                        .lock()
                        .ok()
                        .and_then(|mut pending| pending.as_mut()?.remove(&id));
                    if let Some(waiter) = waiter {
                        let _ = waiter.send(result);
                    }
                }
                Some(Incoming::Event(event)) => {
                    // Once the recorder has stopped listening, events are dropped here.
                    let _ = events.send(event);
                }
                None => {}
            }
        }
    }
    // Dropping the waiters tells every caller, now and later, that the pipe is gone.
    if let Ok(mut pending) = pending.lock() {
        *pending = None;
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

    /// Chrome's side of the pipe, played by the test: it answers one command and sends events.
    #[tokio::test]
    async fn commands_replies_and_events_cross_the_pipe_nul_ended() {
        let (ours_to_chrome, mut chrome_reads) = tokio::io::duplex(64);
        let (mut chrome_writes, ours_from_chrome) = tokio::io::duplex(64);
        let (cdp, mut events) = CdpClient::start(ours_from_chrome, ours_to_chrome);
        let chrome = tokio::spawn(async move {
            let mut received = Vec::new();
            while !received.ends_with(&[0]) {
                let mut byte = [0_u8; 1];
                chrome_reads.read_exact(&mut byte).await.unwrap();
                received.push(byte[0]);
            }
            let command: Value = serde_json::from_slice(&received[..received.len() - 1]).unwrap();
            assert_eq!(command["method"], "Browser.getVersion");
            assert_eq!(command["sessionId"], "S1");
            let id = command["id"].as_u64().unwrap();
            let event = r#"{"method":"Network.requestWillBeSentExtraInfo","params":{"requestId":"7"},"sessionId":"S1"}"#;
            let reply = format!(r#"{{"id":{id},"result":{{"product":"Chrome/1"}}}}"#);
            // Split mid-message, as a pipe may deliver it.
            let stream = format!("{event}\0{reply}\0");
            let (first, second) = stream.as_bytes().split_at(30);
            chrome_writes.write_all(first).await.unwrap();
            chrome_writes.write_all(second).await.unwrap();
            chrome_writes
        });
        let answer = cdp
            .call("Browser.getVersion", json!({}), Some("S1"))
            .await
            .unwrap();
        assert_eq!(answer, json!({"product": "Chrome/1"}));
        let event = events.recv().await.unwrap();
        assert_eq!(event.method, "Network.requestWillBeSentExtraInfo");
        assert_eq!(event.session_id.as_deref(), Some("S1"));

        // Chrome gone: the event stream ends and commands fail at once.
        drop(chrome.await.unwrap());
        assert!(events.recv().await.is_none());
        assert!(matches!(
            cdp.call("Browser.close", json!({}), None).await,
            Err(CdpError::Closed)
        ));
    }
}
