//! The drift result (report JSON `drift`): what changed on a site since the same account's
//! previous complete scan of it, one [`Change`] per finding, each with a severity.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Result of the drift step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// The scan this one was compared with; `None` on the first scan of the site.
    pub previous_scan_id: Option<Uuid>,
    #[serde(default)]
    pub previous_completed_at: Option<DateTime<Utc>>,
    /// Most severe first, then by kind and endpoint.
    #[serde(default)]
    pub changes: Vec<Change>,
    /// Response field changes past the per-endpoint cap: counted, not listed.
    #[serde(default)]
    pub omitted_changes: u32,
}

impl Drift {
    /// True when there was no earlier scan to compare with.
    pub fn is_first_scan(&self) -> bool {
        self.previous_scan_id.is_none()
    }
}

/// One difference between the previous scan and this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// The endpoint in this scan (in the previous one for `endpoint_removed`).
    #[serde(default)]
    pub endpoint_id: Option<String>,
    /// The endpoint for people: `GET /api/items/{id}`, with the GraphQL operation when it has one.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// A vendor id of [`crate::VENDOR_IDS`], for vendor changes.
    #[serde(default)]
    pub vendor: Option<String>,
    /// Dotted path of a response field (`items[].price`, `$` for the body itself), for field
    /// changes.
    #[serde(default)]
    pub field: Option<String>,
    /// Short readable values: `0.9`, `plain × direct`, `integer | null`; `None` when the thing
    /// did not exist on that side.
    #[serde(default)]
    pub before: Option<String>,
    #[serde(default)]
    pub after: Option<String>,
    pub severity: Severity,
}

/// What changed. Declared in the order a report lists changes of equal severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    VendorAdded,
    VendorRemoved,
    VendorConfidenceChanged,
    EndpointAdded,
    EndpointRemoved,
    ResponseFieldAdded,
    ResponseFieldRemoved,
    ResponseFieldRetyped,
    AuthChanged,
    PaginationChanged,
    /// The cheapest passing profile × tier.
    ReplayChoiceChanged,
    RateLimitChanged,
}

/// How much a change matters to code written against the previous scan. Ordered most severe
/// first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Code written against the previous scan probably breaks or gets blocked.
    High,
    /// Code may need adjusting.
    Medium,
    /// Worth knowing; nothing breaks.
    Low,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Drift {
        Drift {
            previous_scan_id: Some(Uuid::new_v4()),
            previous_completed_at: Some(Utc::now()),
            changes: vec![
                Change {
                    kind: ChangeKind::ResponseFieldRetyped,
                    endpoint_id: Some("ep_0a1b2c3d4e5f".into()),
                    endpoint: Some("GET /api/items/{id}".into()),
                    vendor: None,
                    field: Some("items[].price".into()),
                    before: Some("integer".into()),
                    after: Some("string".into()),
                    severity: Severity::High,
                },
                Change {
                    kind: ChangeKind::VendorAdded,
                    endpoint_id: None,
                    endpoint: None,
                    vendor: Some("datadome".into()),
                    field: None,
                    before: None,
                    after: Some("0.9".into()),
                    severity: Severity::High,
                },
            ],
            omitted_changes: 2,
        }
    }

    #[test]
    fn drift_round_trips_through_json() {
        let drift = sample();
        let json = serde_json::to_string(&drift).unwrap();
        assert_eq!(serde_json::from_str::<Drift>(&json).unwrap(), drift);
    }

    #[test]
    fn changes_carry_the_design_fields_with_nulls_and_snake_case_names() {
        let value = serde_json::to_value(sample()).unwrap();
        let change = &value["changes"][1];
        for key in [
            "kind",
            "endpoint_id",
            "vendor",
            "before",
            "after",
            "severity",
        ] {
            assert!(change.get(key).is_some(), "missing {key} in {change}");
        }
        assert_eq!(change["kind"], "vendor_added");
        assert_eq!(change["severity"], "high");
        assert!(change["endpoint_id"].is_null());
        assert_eq!(value["changes"][0]["kind"], "response_field_retyped");
    }

    #[test]
    fn a_first_scan_serialises_a_null_previous_scan() {
        let first = Drift::default();
        assert!(first.is_first_scan());
        let value = serde_json::to_value(&first).unwrap();
        assert!(value["previous_scan_id"].is_null());
        assert_eq!(value["changes"], serde_json::json!([]));
        let back: Drift = serde_json::from_str(r#"{"previous_scan_id":null}"#).unwrap();
        assert_eq!(back, first);
    }

    #[test]
    fn every_kind_has_its_design_name() {
        let names = [
            (ChangeKind::VendorAdded, "vendor_added"),
            (ChangeKind::VendorRemoved, "vendor_removed"),
            (
                ChangeKind::VendorConfidenceChanged,
                "vendor_confidence_changed",
            ),
            (ChangeKind::EndpointAdded, "endpoint_added"),
            (ChangeKind::EndpointRemoved, "endpoint_removed"),
            (ChangeKind::ResponseFieldAdded, "response_field_added"),
            (ChangeKind::ResponseFieldRemoved, "response_field_removed"),
            (ChangeKind::ResponseFieldRetyped, "response_field_retyped"),
            (ChangeKind::AuthChanged, "auth_changed"),
            (ChangeKind::PaginationChanged, "pagination_changed"),
            (ChangeKind::ReplayChoiceChanged, "replay_choice_changed"),
            (ChangeKind::RateLimitChanged, "rate_limit_changed"),
        ];
        for (kind, name) in names {
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
            assert_eq!(
                serde_json::from_value::<ChangeKind>(name.into()).unwrap(),
                kind
            );
        }
        assert!(Severity::High < Severity::Medium && Severity::Medium < Severity::Low);
    }
}
