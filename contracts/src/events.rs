//! Pipeline steps and the progress events each step emits.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use std::borrow::Cow;

use crate::StageResult;

/// A pipeline step's name (`detection`, `intent_filter`, …), which is also its `recon-server`
/// target and consumer name. The server's registry names the steps and their order and sends
/// that list with a scan; a client never knows step names of its own, so a step added on the
/// server never breaks an installed CLI.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Step(Cow<'static, str>);

impl Step {
    pub const fn named(name: &'static str) -> Step {
        Step(Cow::Borrowed(name))
    }

    /// The step that stores results of type `R`.
    pub const fn of<R: StageResult>() -> Step {
        Step::named(R::STEP)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for Step {
    fn from(name: String) -> Step {
        Step(Cow::Owned(name))
    }
}

impl PartialEq<str> for Step {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Started,
    Complete,
    Errored,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Started => "started",
            StepStatus::Complete => "complete",
            StepStatus::Errored => "errored",
        }
    }

    pub fn parse(text: &str) -> Option<StepStatus> {
        [
            StepStatus::Started,
            StepStatus::Complete,
            StepStatus::Errored,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// Key in a `complete` event's metadata of a line the step wants repeated to the user when the
/// scan ends (drift's "3 changes since 1 Dec: …"). A client prints every such line it saw, in
/// step order, without knowing which step sent it.
pub const HEADLINE_KEY: &str = "headline";

/// The metadata of a `complete` event carrying `headline` (see [`HEADLINE_KEY`]).
pub fn headline_metadata(headline: Option<&str>) -> serde_json::Value {
    match headline {
        Some(line) => serde_json::json!({ HEADLINE_KEY: line }),
        None => serde_json::json!({}),
    }
}

/// What a step publishes on `scan_events.<scan_id>` (MessagePack).
///
/// The id is derived from (scan, step, status), so a step that runs again after a redelivery
/// emits the same ids and the recorder keeps each event once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepEvent {
    pub id: Uuid,
    pub scan_id: Uuid,
    pub step: Step,
    pub status: StepStatus,
    pub message: Option<String>,
    #[serde(default)]
    pub metadata: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl StepEvent {
    pub fn new(
        scan_id: Uuid,
        step: Step,
        status: StepStatus,
        message: Option<String>,
        metadata: serde_json::Value,
    ) -> StepEvent {
        StepEvent {
            id: Self::id_for(scan_id, &step, status),
            scan_id,
            step,
            status,
            message,
            metadata,
            created_at: Utc::now(),
        }
    }

    pub fn id_for(scan_id: Uuid, step: &Step, status: StepStatus) -> Uuid {
        Uuid::new_v5(&scan_id, format!("{step}.{}", status.as_str()).as_bytes())
    }

    /// `Nats-Msg-Id` for this event: JetStream drops a republish within its duplicate window.
    pub fn message_id(&self) -> String {
        format!("{}.{}.{}", self.scan_id, self.step, self.status.as_str())
    }
}

/// An event as stored and served: the published event plus its per-scan cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    pub id: Uuid,
    pub scan_id: Uuid,
    pub step: Step,
    pub status: StepStatus,
    pub message: Option<String>,
    #[serde(default)]
    pub metadata: serde_json::Value,
    pub created_at: DateTime<Utc>,
    /// Strictly increasing within a scan, in the order the events became visible.
    pub cursor: i64,
    /// The scan's last event: the final step's `complete` or any step's `errored`. Set by the
    /// server, which alone knows which step is the last.
    #[serde(default)]
    pub terminal: bool,
}

impl RecordedEvent {
    /// The last event a scan will ever have: the final step completing or any step failing.
    pub fn is_terminal(&self) -> bool {
        self.terminal || self.status == StepStatus::Errored
    }

    /// The line a completed step asked to be repeated when the scan ends (see [`HEADLINE_KEY`]).
    pub fn headline(&self) -> Option<&str> {
        if self.status != StepStatus::Complete {
            return None;
        }
        self.metadata
            .get(HEADLINE_KEY)
            .and_then(serde_json::Value::as_str)
            .filter(|line| !line.trim().is_empty())
    }

    /// Marks the event terminal when it completes `last_step`, the final step of the pipeline.
    pub fn mark_terminal(&mut self, last_step: Option<&Step>) {
        self.terminal = self.status == StepStatus::Errored
            || (self.status == StepStatus::Complete && last_step == Some(&self.step));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_names_on_the_wire() {
        let step = Step::named("intent_filter");
        assert_eq!(serde_json::to_string(&step).unwrap(), "\"intent_filter\"");
        let read: Step = serde_json::from_str("\"a_step_added_later\"").unwrap();
        assert_eq!(read.as_str(), "a_step_added_later");
        assert_eq!(Step::of::<crate::Detection>(), Step::named("detection"));
    }

    #[test]
    fn event_ids_are_stable_per_step_and_status() {
        let scan = Uuid::new_v4();
        let a = StepEvent::new(
            scan,
            Step::named("scrub"),
            StepStatus::Started,
            None,
            serde_json::Value::Null,
        );
        let b = StepEvent::new(
            scan,
            Step::named("scrub"),
            StepStatus::Started,
            Some("again".into()),
            serde_json::Value::Null,
        );
        let c = StepEvent::new(
            scan,
            Step::named("scrub"),
            StepStatus::Complete,
            None,
            serde_json::Value::Null,
        );
        assert_eq!(a.id, b.id);
        assert_ne!(a.id, c.id);
        assert_eq!(a.message_id(), format!("{scan}.scrub.started"));
    }

    #[test]
    fn step_event_round_trips_through_messagepack() {
        let event = StepEvent::new(
            Uuid::new_v4(),
            Step::named("validation"),
            StepStatus::Errored,
            Some("proxy refused".into()),
            serde_json::json!({"attempts": 3}),
        );
        let bytes = crate::encode_message(&event).unwrap();
        assert_eq!(crate::decode_message::<StepEvent>(&bytes).unwrap(), event);
    }

    #[test]
    fn recorded_event_round_trips_through_json() {
        let event = RecordedEvent {
            id: Uuid::new_v4(),
            scan_id: Uuid::new_v4(),
            step: Step::named("render"),
            status: StepStatus::Complete,
            message: None,
            metadata: serde_json::json!({}),
            created_at: Utc::now(),
            cursor: 14,
            terminal: false,
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<RecordedEvent>(&json).unwrap(), event);
        assert!(!event.is_terminal());
        let mut event = event;
        event.mark_terminal(Some(&Step::named("render")));
        assert!(event.is_terminal());
        event.mark_terminal(Some(&Step::named("drift")));
        assert!(!event.is_terminal());
    }
}
