//! Bodies of the HTTP API (DESIGN.md § HTTP API).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{RecordedEvent, Step};

/// `POST /scans`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateScanRequest {
    pub target_url: String,
    #[serde(default)]
    pub intent_text: Option<String>,
    #[serde(default)]
    pub starter_template: Option<String>,
}

/// `201` answer to `POST /scans`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateScanResponse {
    pub scan_id: Uuid,
    pub status: ScanStatus,
    pub capture_url: String,
}

/// `202` answer to `POST /scans/{id}/capture`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureAccepted {
    pub scan_id: Uuid,
    /// Always `queued`.
    pub status: String,
    pub events_url: String,
    pub report_url: String,
    /// The pipeline's steps in order, as the server runs them: clients draw these.
    #[serde(default)]
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanStatus {
    Created,
    Processing,
    Complete,
    Errored,
}

impl ScanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanStatus::Created => "created",
            ScanStatus::Processing => "processing",
            ScanStatus::Complete => "complete",
            ScanStatus::Errored => "errored",
        }
    }

    pub fn parse(text: &str) -> Option<ScanStatus> {
        [
            ScanStatus::Created,
            ScanStatus::Processing,
            ScanStatus::Complete,
            ScanStatus::Errored,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, ScanStatus::Complete | ScanStatus::Errored)
    }
}

/// `GET /scans/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanView {
    pub id: Uuid,
    pub target_url: String,
    pub status: ScanStatus,
    pub intent_text: String,
    pub starter_template: String,
    pub report_url: String,
    pub events_url: String,
    /// Why the scan errored, when it did.
    #[serde(default)]
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The pipeline's steps in order, as the server runs them: clients draw these.
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// `GET /scans/{id}/events?since=<cursor>`: events strictly after the cursor, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: Vec<RecordedEvent>,
    /// Pass this as `since` on the next call (unchanged when there was nothing new).
    pub cursor: i64,
    /// More events are waiting beyond this page.
    #[serde(default)]
    pub more: bool,
    /// The pipeline's steps in order, as the server runs them: clients draw these.
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// The JSON body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`, `invalid_capture`.
    pub code: String,
    pub message: String,
    /// The limit a refused request crossed, e.g. `samples_per_stream` ([`crate::Limit`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StepStatus;

    fn round_trip<T>(value: &T)
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        let json = serde_json::to_string(value).unwrap();
        assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value);
    }

    #[test]
    fn rest_types_round_trip() {
        let scan_id = Uuid::new_v4();
        round_trip(&CreateScanRequest {
            target_url: "https://shop.example".into(),
            intent_text: Some("product prices".into()),
            starter_template: None,
        });
        round_trip(&CreateScanResponse {
            scan_id,
            status: ScanStatus::Created,
            capture_url: "/scans/x/capture".into(),
        });
        round_trip(&CaptureAccepted {
            scan_id,
            status: "queued".into(),
            events_url: "/e".into(),
            report_url: "/r/x".into(),
            steps: vec![Step::named("detection"), Step::named("render")],
        });
        round_trip(&ScanView {
            id: scan_id,
            target_url: "https://shop.example".into(),
            status: ScanStatus::Errored,
            intent_text: String::new(),
            starter_template: "python".into(),
            report_url: "/r/x".into(),
            events_url: "/scans/x/events".into(),
            error: Some("boom".into()),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            steps: vec![Step::named("detection")],
        });
        round_trip(&EventsPage {
            events: vec![RecordedEvent {
                id: Uuid::new_v4(),
                scan_id,
                step: Step::named("detection"),
                status: StepStatus::Started,
                message: None,
                metadata: serde_json::json!({}),
                created_at: Utc::now(),
                cursor: 1,
                terminal: false,
            }],
            cursor: 1,
            more: false,
            steps: vec![Step::named("detection")],
        });
        round_trip(&ErrorBody {
            error: ErrorDetail {
                code: "not_found".into(),
                message: "no such scan".into(),
                limit: None,
            },
        });
    }

    #[test]
    fn create_scan_rejects_unknown_fields() {
        let err = serde_json::from_str::<CreateScanRequest>(
            r#"{"target_url":"https://a.example","intent":"x"}"#,
        );
        assert!(err.is_err());
    }

    #[test]
    fn scan_status_parses_its_names() {
        for status in [
            ScanStatus::Created,
            ScanStatus::Processing,
            ScanStatus::Complete,
            ScanStatus::Errored,
        ] {
            assert_eq!(ScanStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ScanStatus::parse("done"), None);
    }
}
