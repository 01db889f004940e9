//! Pipeline steps and the progress events each step emits.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::names;

/// The seven pipeline steps, in order. Each is also a `recon-server` target and a consumer name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Detection,
    Analysis,
    IntentFilter,
    Validation,
    Scrub,
    Synthesis,
    Render,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Step::Detection,
        Step::Analysis,
        Step::IntentFilter,
        Step::Validation,
        Step::Scrub,
        Step::Synthesis,
        Step::Render,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Detection => "detection",
            Step::Analysis => "analysis",
            Step::IntentFilter => "intent_filter",
            Step::Validation => "validation",
            Step::Scrub => "scrub",
            Step::Synthesis => "synthesis",
            Step::Render => "render",
        }
    }

    pub fn parse(text: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|step| step.as_str() == text)
    }

    /// The durable JetStream consumer of this step.
    pub fn consumer_name(self) -> &'static str {
        self.as_str()
    }

    /// The subject this step consumes.
    pub fn input_subject(self) -> &'static str {
        match self {
            Step::Detection => names::SCAN_CAPTURED,
            Step::Analysis => names::SCAN_DETECTED,
            Step::IntentFilter => names::SCAN_ANALYZED,
            Step::Validation => names::SCAN_FILTERED,
            Step::Scrub => names::SCAN_VALIDATED,
            Step::Synthesis => names::SCAN_SCRUBBED,
            Step::Render => names::SCAN_SYNTHESIZED,
        }
    }

    /// The subject this step publishes when it is done.
    pub fn output_subject(self) -> &'static str {
        match self {
            Step::Detection => names::SCAN_DETECTED,
            Step::Analysis => names::SCAN_ANALYZED,
            Step::IntentFilter => names::SCAN_FILTERED,
            Step::Validation => names::SCAN_VALIDATED,
            Step::Scrub => names::SCAN_SCRUBBED,
            Step::Synthesis => names::SCAN_SYNTHESIZED,
            Step::Render => names::SCAN_RENDERED,
        }
    }

    pub fn is_last(self) -> bool {
        self == Step::Render
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
            id: Self::id_for(scan_id, step, status),
            scan_id,
            step,
            status,
            message,
            metadata,
            created_at: Utc::now(),
        }
    }

    pub fn id_for(scan_id: Uuid, step: Step, status: StepStatus) -> Uuid {
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
}

impl RecordedEvent {
    /// The last event a scan will ever have: render completing or any step failing.
    pub fn is_terminal(&self) -> bool {
        self.status == StepStatus::Errored
            || (self.step.is_last() && self.status == StepStatus::Complete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_chain_subjects_in_order() {
        for pair in Step::ALL.windows(2) {
            assert_eq!(pair[0].output_subject(), pair[1].input_subject());
        }
        assert_eq!(Step::Detection.input_subject(), names::SCAN_CAPTURED);
        assert_eq!(Step::Render.output_subject(), names::SCAN_RENDERED);
        for step in Step::ALL {
            assert_eq!(Step::parse(step.as_str()), Some(step));
            let json = serde_json::to_string(&step).unwrap();
            assert_eq!(json, format!("\"{}\"", step.as_str()));
        }
    }

    #[test]
    fn event_ids_are_stable_per_step_and_status() {
        let scan = Uuid::new_v4();
        let a = StepEvent::new(
            scan,
            Step::Scrub,
            StepStatus::Started,
            None,
            serde_json::Value::Null,
        );
        let b = StepEvent::new(
            scan,
            Step::Scrub,
            StepStatus::Started,
            Some("again".into()),
            serde_json::Value::Null,
        );
        let c = StepEvent::new(
            scan,
            Step::Scrub,
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
            Step::Validation,
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
            step: Step::Render,
            status: StepStatus::Complete,
            message: None,
            metadata: serde_json::json!({}),
            created_at: Utc::now(),
            cursor: 14,
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<RecordedEvent>(&json).unwrap(), event);
        assert!(event.is_terminal());
    }
}
