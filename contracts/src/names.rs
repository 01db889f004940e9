//! The fixed names of DESIGN.md: JetStream streams, subjects, consumers, message ids.

use uuid::Uuid;

pub const SCANS_STREAM: &str = "SCANS";
pub const SCANS_SUBJECTS: &str = "scan.*";
pub const SCAN_EVENTS_STREAM: &str = "SCAN_EVENTS";
pub const SCAN_EVENTS_SUBJECTS: &str = "scan_events.*";
/// Durable consumer of the events recorder before events were partitioned (0.3.0 and older):
/// a recorder that finds it drains it, then deletes it.
pub const LEGACY_EVENTS_CONSUMER: &str = "events";

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

/// The `SCAN_EVENTS` subject transform of a layout of `partitions` partitions: JetStream stores
/// `scan_events.<scan_id>` as `scan_events.<partitions>.<partition>.<scan_id>`, the partition a
/// hash of the scan id. Publishers keep publishing to [`events_subject`]. The layout's size is
/// part of the stored subject so that a change of size starts a new set of subjects, and the
/// consumers of the old set can be drained before the new set is recorded.
pub fn events_subject_transform(partitions: u16) -> (String, String) {
    (
        SCAN_EVENTS_SUBJECTS.to_owned(),
        format!("scan_events.{partitions}.{{{{partition({partitions},1)}}}}.{{{{wildcard(1)}}}}"),
    )
}

/// Stored subjects of one partition (see [`events_subject_transform`]).
pub fn events_partition_filter(partitions: u16, partition: u16) -> String {
    format!("scan_events.{partitions}.{partition}.*")
}

/// Durable consumer of one partition of a layout of `partitions` partitions.
pub fn events_partition_consumer(partitions: u16, partition: u16) -> String {
    format!("events-{partitions}-{partition}")
}

/// The layout size and partition of a consumer named by [`events_partition_consumer`].
pub fn parse_events_partition_consumer(name: &str) -> Option<(u16, u16)> {
    let (partitions, partition) = name.strip_prefix("events-")?.split_once('-')?;
    let partitions: u16 = partitions.parse().ok()?;
    let partition: u16 = partition.parse().ok()?;
    (partition < partitions && events_partition_consumer(partitions, partition) == name)
        .then_some((partitions, partition))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_consumer_names_round_trip_and_reject_others() {
        for (partitions, partition) in [(1, 0), (8, 7), (64, 13)] {
            let name = events_partition_consumer(partitions, partition);
            assert_eq!(
                parse_events_partition_consumer(&name),
                Some((partitions, partition))
            );
        }
        for other in [
            "events",
            "events-8",
            "events-8-8",
            "events-08-1",
            "events-8-1-2",
            "events-x-1",
            "detection",
        ] {
            assert_eq!(parse_events_partition_consumer(other), None, "{other}");
        }
    }

    #[test]
    fn the_transform_keeps_the_layout_size_in_the_subject() {
        let (source, destination) = events_subject_transform(8);
        assert_eq!(source, "scan_events.*");
        assert_eq!(
            destination,
            "scan_events.8.{{partition(8,1)}}.{{wildcard(1)}}"
        );
        assert_eq!(events_partition_filter(8, 3), "scan_events.8.3.*");
    }
}
