//! The fixed names of DESIGN.md: JetStream streams, subjects, consumers, message ids.

use uuid::Uuid;

pub const SCANS_STREAM: &str = "SCANS";
pub const SCANS_SUBJECTS: &str = "scan.*";
pub const SCAN_EVENTS_STREAM: &str = "SCAN_EVENTS";
pub const SCAN_EVENTS_SUBJECTS: &str = "scan_events.*";
/// Durable consumer of the events recorder.
pub const EVENTS_CONSUMER: &str = "events";

pub const SCAN_CAPTURED: &str = "scan.captured";
pub const SCAN_DETECTED: &str = "scan.detected";
pub const SCAN_ANALYZED: &str = "scan.analyzed";
pub const SCAN_FILTERED: &str = "scan.filtered";
pub const SCAN_VALIDATED: &str = "scan.validated";
pub const SCAN_SCRUBBED: &str = "scan.scrubbed";
pub const SCAN_SYNTHESIZED: &str = "scan.synthesized";
pub const SCAN_DRIFTED: &str = "scan.drifted";
pub const SCAN_RENDERED: &str = "scan.rendered";

/// Subject on which a scan's progress events are published.
pub fn events_subject(scan_id: Uuid) -> String {
    format!("scan_events.{scan_id}")
}

/// `Nats-Msg-Id` of a pipeline message: a duplicate publish of the same step is dropped.
pub fn pipeline_message_id(scan_id: Uuid, subject: &str) -> String {
    format!("{scan_id}.{subject}")
}

/// Blob key of a scan's raw capture.
pub fn capture_key(scan_id: Uuid) -> String {
    format!("captures/{scan_id}.json.gz")
}

/// Blob key of a scan's scrubbed capture, the only copy kept after the scan ends.
pub fn scrubbed_capture_key(scan_id: Uuid) -> String {
    format!("scrubbed/{scan_id}.json.gz")
}
