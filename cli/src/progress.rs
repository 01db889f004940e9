//! Following a scan's pipeline: read its progress events from the cursor on, show each one,
//! stop at the terminal event (DESIGN.md § Progress events).
//!
//! This build polls `GET /scans/{id}/events` every 1.5 s. The WebSocket feed (`/ws`) shares the
//! cursor, so it can slot in beside [`Follower::poll`] and fall back to it when it drops.

use std::time::Duration;

use recon_contracts::{RecordedEvent, ScanView};
use uuid::Uuid;

use crate::client::{ApiClient, ClientError};

pub const POLL_INTERVAL: Duration = Duration::from_millis(1500);
/// Network or server hiccups in a row tolerated before giving up (about 12 s of trying).
const MAX_TRANSIENT_FAILURES: u32 = 8;
/// Empty polls after which the scan itself is looked at: a scan the server's sweep marks
/// `errored` gets no event, and the user must not wait forever.
const QUIET_POLLS_PER_STATUS_CHECK: u32 = 20;

/// How events are shown.
///
/// This build has one way: a plain line per event on stderr, which is also what
/// `--no-progress` asks for (no live display, no escape codes; for CI and logs). The live
/// per-step display comes with Chrome capture and will be the default on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    Lines,
}

impl Display {
    /// The display for the `--no-progress` flag.
    pub fn for_flags(_no_progress: bool) -> Display {
        Display::Lines
    }

    fn show(self, event: &RecordedEvent) {
        match self {
            Display::Lines => eprintln!("{}", event_line(event)),
        }
    }
}

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
    /// The scan's last event: render complete, or a step errored.
    Terminal(RecordedEvent),
    /// The scan is finished although no terminal event came (e.g. the stuck-scan sweep).
    Finished(ScanView),
}

/// Reads one scan's events in order, never showing one twice.
pub struct Follower<'a> {
    client: &'a ApiClient,
    scan_id: Uuid,
    cursor: i64,
    last_shown: i64,
}

impl<'a> Follower<'a> {
    pub fn new(client: &'a ApiClient, scan_id: Uuid) -> Follower<'a> {
        Follower {
            client,
            scan_id,
            cursor: 0,
            last_shown: 0,
        }
    }

    /// The events after the cursor, following `more` until the server has no more.
    pub async fn poll(&mut self) -> Result<Vec<RecordedEvent>, ClientError> {
        let mut fresh = Vec::new();
        loop {
            let page = self.client.events(self.scan_id, self.cursor).await?;
            self.cursor = page.cursor;
            for event in page.events {
                if event.cursor > self.last_shown {
                    self.last_shown = event.cursor;
                    fresh.push(event);
                }
            }
            if !page.more {
                return Ok(fresh);
            }
        }
    }

    /// Polls until the scan ends. With `check_status_first`, an empty first answer makes it
    /// look at the scan at once (`recon watch` on a scan that ended long ago).
    pub async fn follow(
        mut self,
        display: Display,
        check_status_first: bool,
    ) -> Result<FollowEnd, ClientError> {
        let mut failures = 0;
        let mut quiet_polls = 0;
        loop {
            match self.poll().await {
                Ok(events) => {
                    failures = 0;
                    if events.is_empty() {
                        quiet_polls += 1;
                        let due = quiet_polls % QUIET_POLLS_PER_STATUS_CHECK == 0
                            || (check_status_first && quiet_polls == 1 && self.last_shown == 0);
                        if due {
                            let view = self.client.scan(self.scan_id).await?;
                            if view.status.is_finished() {
                                return Ok(FollowEnd::Finished(view));
                            }
                        }
                    } else {
                        quiet_polls = 0;
                    }
                    for event in events {
                        display.show(&event);
                        if event.is_terminal() {
                            return Ok(FollowEnd::Terminal(event));
                        }
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
        }
    }

    #[test]
    fn events_print_as_plain_lines() {
        assert_eq!(
            event_line(&event(Step::Detection, StepStatus::Started, None)),
            "[detection] started"
        );
        assert_eq!(
            event_line(&event(Step::IntentFilter, StepStatus::Complete, Some(""))),
            "[intent_filter] complete"
        );
        assert_eq!(
            event_line(&event(
                Step::Validation,
                StepStatus::Errored,
                Some("proxy refused\nthe connection")
            )),
            "[validation] errored: proxy refused the connection"
        );
    }
}
