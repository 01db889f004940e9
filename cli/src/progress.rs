//! Following a scan's pipeline: read its progress events from the cursor on, show each one,
//! stop at the terminal event (DESIGN.md § Progress events).
//!
//! The WebSocket (`/scans/{id}/ws`) pushes events as they happen; when it cannot be opened or
//! drops before the end, polling `GET /scans/{id}/events` every 1.5 s takes over from the same
//! cursor, so no event is lost and none is shown twice.

use std::time::Duration;

use recon_contracts::{RecordedEvent, ScanView};
use uuid::Uuid;

use crate::client::{ApiClient, ClientError, FeedItem};
use crate::display::Display;

pub const POLL_INTERVAL: Duration = Duration::from_millis(1500);
/// Network or server hiccups in a row tolerated before giving up (about 12 s of trying).
const MAX_TRANSIENT_FAILURES: u32 = 8;
/// Empty polls after which the scan itself is looked at: a scan the server's sweep marks
/// `errored` gets no event, and the user must not wait forever.
const QUIET_POLLS_PER_STATUS_CHECK: u32 = 20;
/// The same for the WebSocket: this long without a frame, the scan itself is looked at.
const QUIET_SOCKET: Duration = Duration::from_secs(30);
/// `recon watch` on a scan that ended long ago (or never started) looks at it this soon.
const QUIET_SOCKET_FIRST: Duration = Duration::from_secs(3);

/// `[detection] started`, `[validation] errored: proxy refused`.
pub fn event_line(event: &RecordedEvent) -> String {
    let message = event
        .message
        .as_deref()
        .map(crate::exit::one_line)
        .filter(|message| !message.is_empty());
    match message {
        Some(message) => format!("[{}] {}: {message}", event.step, event.status.as_str()),
        None => format!("[{}] {}", event.step, event.status.as_str()),
    }
}

/// Why following stopped.
#[derive(Debug)]
pub enum FollowEnd {
    /// The scan's last event (the server marks it): the last step complete, or a step errored.
    Terminal(RecordedEvent),
    /// The scan is finished although no terminal event came (e.g. the stuck-scan sweep).
    Finished(ScanView),
}

/// What the WebSocket phase ended with.
enum SocketEnd {
    Done(FollowEnd),
    /// Could not connect or dropped mid-scan: poll from the cursor on.
    FallBack(String),
}

/// Reads one scan's events in order, never showing one twice.
pub struct Follower<'a> {
    client: &'a ApiClient,
    scan_id: Uuid,
    /// The highest cursor shown; both channels resume after it.
    cursor: i64,
}

impl<'a> Follower<'a> {
    pub fn new(client: &'a ApiClient, scan_id: Uuid) -> Follower<'a> {
        Follower {
            client,
            scan_id,
            cursor: 0,
        }
    }

    /// Follows the scan to its end, over the WebSocket while it works, then by polling.
    pub async fn follow(
        mut self,
        display: &mut Display,
        check_status_first: bool,
    ) -> Result<FollowEnd, ClientError> {
        match self.follow_socket(display, check_status_first).await? {
            SocketEnd::Done(end) => return Ok(end),
            SocketEnd::FallBack(reason) => {
                display.note(&format!("{reason}; polling every 1.5 s instead"))
            }
        }
        self.follow_polling(display, check_status_first).await
    }

    /// Shows an event unless it was shown already; `true` when it is the scan's last.
    fn accept(&mut self, event: &RecordedEvent, display: &mut Display) -> bool {
        if event.cursor <= self.cursor {
            return false;
        }
        self.cursor = event.cursor;
        display.show(event);
        event.is_terminal()
    }

    async fn follow_socket(
        &mut self,
        display: &mut Display,
        check_status_first: bool,
    ) -> Result<SocketEnd, ClientError> {
        let mut feed = match self.client.events_socket(self.scan_id, self.cursor).await {
            Ok(feed) => feed,
            Err(
                error @ (ClientError::AuthRefused { .. }
                | ClientError::UpgradeRequired { .. }
                | ClientError::NotFound { .. }),
            ) => return Err(error),
            Err(error) => {
                return Ok(SocketEnd::FallBack(format!(
                    "cannot open the live connection ({})",
                    short_reason(&error.to_string())
                )))
            }
        };
        let mut quiet_limit = if check_status_first {
            QUIET_SOCKET_FIRST
        } else {
            QUIET_SOCKET
        };
        loop {
            let item = match tokio::time::timeout(quiet_limit, feed.next()).await {
                Ok(item) => item,
                Err(_) => {
                    quiet_limit = QUIET_SOCKET;
                    let view = self.client.scan(self.scan_id).await?;
                    if view.status.is_finished() {
                        return Ok(SocketEnd::Done(FollowEnd::Finished(view)));
                    }
                    continue;
                }
            };
            match item {
                FeedItem::Event(event) => {
                    quiet_limit = QUIET_SOCKET;
                    if self.accept(&event, display) {
                        return Ok(SocketEnd::Done(FollowEnd::Terminal(event)));
                    }
                }
                FeedItem::Unreadable => {
                    return Ok(SocketEnd::FallBack(
                        "the live connection sent something unreadable".into(),
                    ))
                }
                FeedItem::Closed => {
                    return Ok(SocketEnd::FallBack(
                        "the live connection closed before the scan ended".into(),
                    ))
                }
                FeedItem::Dropped(reason) => {
                    return Ok(SocketEnd::FallBack(format!(
                        "the live connection dropped ({})",
                        short_reason(&reason)
                    )))
                }
            }
        }
    }

    /// The events after the cursor, following `more` until the server has no more.
    async fn poll(&mut self, display: &mut Display) -> Result<Option<RecordedEvent>, ClientError> {
        loop {
            let page = self.client.events(self.scan_id, self.cursor).await?;
            display.add_steps(&page.steps);
            for event in &page.events {
                if self.accept(event, display) {
                    return Ok(Some(event.clone()));
                }
            }
            // An empty page's cursor is where we asked from; never move backwards.
            self.cursor = self.cursor.max(page.cursor);
            if !page.more {
                return Ok(None);
            }
        }
    }

    async fn follow_polling(
        mut self,
        display: &mut Display,
        check_status_first: bool,
    ) -> Result<FollowEnd, ClientError> {
        let mut failures = 0;
        let mut quiet_polls = 0;
        loop {
            let before = self.cursor;
            match self.poll(display).await {
                Ok(Some(terminal)) => return Ok(FollowEnd::Terminal(terminal)),
                Ok(None) => {
                    failures = 0;
                    if self.cursor == before {
                        quiet_polls += 1;
                        let due = quiet_polls % QUIET_POLLS_PER_STATUS_CHECK == 0
                            || (check_status_first && quiet_polls == 1 && self.cursor == 0);
                        if due {
                            let view = self.client.scan(self.scan_id).await?;
                            if view.status.is_finished() {
                                return Ok(FollowEnd::Finished(view));
                            }
                        }
                    } else {
                        quiet_polls = 0;
                    }
                }
                Err(error) if error.is_transient() && failures < MAX_TRANSIENT_FAILURES => {
                    failures += 1;
                }
                Err(error) => return Err(error),
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// An error's gist for a one-line note: its last clause, at most a few words.
fn short_reason(text: &str) -> String {
    let text = crate::exit::one_line(text);
    let gist = text.rsplit(": ").next().unwrap_or(&text);
    gist.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use recon_contracts::{Step, StepStatus};

    fn event(step: Step, status: StepStatus, message: Option<&str>) -> RecordedEvent {
        RecordedEvent {
            id: Uuid::new_v4(),
            scan_id: Uuid::new_v4(),
            step,
            status,
            message: message.map(str::to_owned),
            metadata: serde_json::json!({}),
            created_at: Utc::now(),
            cursor: 1,
            terminal: false,
        }
    }

    #[test]
    fn events_print_as_plain_lines() {
        assert_eq!(
            event_line(&event(Step::named("detection"), StepStatus::Started, None)),
            "[detection] started"
        );
        assert_eq!(
            event_line(&event(
                Step::named("intent_filter"),
                StepStatus::Complete,
                Some("")
            )),
            "[intent_filter] complete"
        );
        assert_eq!(
            event_line(&event(
                Step::named("validation"),
                StepStatus::Errored,
                Some("proxy refused\nthe connection")
            )),
            "[validation] errored: proxy refused the connection"
        );
    }
}
