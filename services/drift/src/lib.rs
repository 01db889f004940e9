//! Drift (target `drift`): what changed on a site since the same account's previous complete
//! scan of it: vendors (`vendors`), data endpoints and their auth and pagination
//! (`endpoints`), response fields (`fields`, over `schema_fields`), the cheapest passing
//! profile × tier and rate limits (`replay`). Each change carries a severity, and [`headline`]
//! sums them up in one line for the CLI.
//!
//! Pure: the caller loads both scans' results and picks the previous scan; nothing here touches
//! a database, NATS or the network.
//!
//! Severity answers one question: does code written against the previous scan still work?
//!
//! | change | high | medium | low |
//! |---|---|---|---|
//! | vendor | added (bot, WAF, captcha, …) | added (a `cdn`), removed | confidence moved ≥ 0.15 |
//! | endpoint | | removed | added |
//! | response field | removed while required; retyped to a new type | removed while optional | added; became nullable, lost a type, integer ↔ number |
//! | auth | a new requirement | | requirements dropped only |
//! | pagination | | style, parameters or next field changed | appeared or disappeared |
//! | replay choice | pricier, or nothing passes now | | cheaper, or passes now |
//! | rate limit | | appeared, or became a 429 | went away, other header names |

mod endpoints;
mod fields;
mod headline;
mod replay;
mod schema_fields;
mod vendors;

#[cfg(test)]
mod test_support;

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use recon_contracts::{Change, ChangeKind, Detection, Drift, Inventory, Severity, Validation};
use uuid::Uuid;

pub use fields::MAX_FIELD_CHANGES_PER_ENDPOINT;
pub use headline::{describe, headline};
pub use vendors::CONFIDENCE_STEP_HUNDREDTHS;

/// One scan's results, as drift reads them.
#[derive(Debug, Clone, Copy)]
pub struct ScanFacts<'a> {
    pub scan_id: Uuid,
    /// When the scan completed; `None` for the scan being processed.
    pub completed_at: Option<DateTime<Utc>>,
    pub detection: &'a Detection,
    pub inventory: &'a Inventory,
    pub validation: &'a Validation,
}

/// The changes from `previous` (the account's previous complete scan of the same site, `None`
/// on a first scan) to `current`, most severe first, then by kind and endpoint.
pub fn drift(previous: Option<&ScanFacts<'_>>, current: &ScanFacts<'_>) -> Drift {
    // A scan is never its own previous one (a message redelivered after the scan completed).
    let Some(previous) = previous.filter(|previous| previous.scan_id != current.scan_id) else {
        return Drift::default();
    };
    let mut changes = vendors::changes(previous.detection, current.detection);
    let endpoints = endpoints::Pairing::of(previous.inventory, current.inventory);
    changes.extend(endpoints.presence_changes());
    let mut omitted_changes = 0u32;
    for pair in &endpoints.matched {
        changes.extend(pair.auth_change());
        changes.extend(pair.pagination_change());
        let fields = fields::changes(pair);
        omitted_changes = omitted_changes.saturating_add(fields.omitted);
        changes.extend(fields.listed);
        changes.extend(replay::changes(
            pair,
            previous.validation,
            current.validation,
        ));
    }
    changes.sort_by(report_order);
    Drift {
        previous_scan_id: Some(previous.scan_id),
        previous_completed_at: previous.completed_at,
        changes,
        omitted_changes,
    }
}

/// Severity, then kind, then endpoint; the rest only makes the order total.
fn report_order(a: &Change, b: &Change) -> Ordering {
    a.severity
        .cmp(&b.severity)
        .then(a.kind.cmp(&b.kind))
        .then_with(|| a.endpoint.cmp(&b.endpoint))
        .then_with(|| a.endpoint_id.cmp(&b.endpoint_id))
        .then_with(|| a.vendor.cmp(&b.vendor))
        .then_with(|| a.field.cmp(&b.field))
        .then_with(|| a.before.cmp(&b.before))
        .then_with(|| a.after.cmp(&b.after))
}

/// A change of `kind` with nothing filled in but its severity.
fn bare_change(kind: ChangeKind, severity: Severity) -> Change {
    Change {
        kind,
        endpoint_id: None,
        endpoint: None,
        vendor: None,
        field: None,
        before: None,
        after: None,
        severity,
    }
}

#[cfg(test)]
mod tests {
    use recon_contracts::{ChangeKind, Severity, VendorFinding};

    use super::*;
    use crate::test_support::{endpoint, vendor, World};

    #[test]
    fn a_first_scan_has_no_previous_scan_and_no_changes() {
        let world = World::default().with_vendor(vendor("akamai", 0.9));
        let current = world.facts();
        let drift = drift(None, &current);
        assert_eq!(drift.previous_scan_id, None);
        assert_eq!(drift.previous_completed_at, None);
        assert!(drift.changes.is_empty());
        assert!(drift.is_first_scan());
    }

    #[test]
    fn a_scan_is_never_compared_with_itself() {
        let before = World::default();
        let after = World::default().with_vendor(vendor("akamai", 0.9));
        let mut current = after.facts();
        let previous = before.facts();
        current.scan_id = previous.scan_id;
        assert_eq!(drift(Some(&previous), &current), Drift::default());
    }

    #[test]
    fn the_previous_scan_is_named_and_changes_come_most_severe_first() {
        let before = World::default()
            .with_vendor(vendor("fastly", 0.5))
            .with_endpoint(endpoint("GET", "/api/old"));
        let after = World::default()
            .with_vendor(VendorFinding {
                category: "bot-management".into(),
                ..vendor("datadome", 0.9)
            })
            .with_vendor(vendor("fastly", 0.9))
            .with_endpoint(endpoint("GET", "/api/new"));
        let (previous, current) = (before.facts(), after.facts());
        let drift = drift(Some(&previous), &current);
        assert_eq!(drift.previous_scan_id, Some(previous.scan_id));
        assert_eq!(drift.previous_completed_at, previous.completed_at);
        let order: Vec<(Severity, ChangeKind)> = drift
            .changes
            .iter()
            .map(|change| (change.severity, change.kind))
            .collect();
        assert_eq!(
            order,
            [
                (Severity::High, ChangeKind::VendorAdded),
                (Severity::Medium, ChangeKind::EndpointRemoved),
                (Severity::Low, ChangeKind::VendorConfidenceChanged),
                (Severity::Low, ChangeKind::EndpointAdded),
            ]
        );
    }
}
