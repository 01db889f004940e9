//! Vendor changes: vendors added or removed (by vendor id), and confidence moves large enough to
//! mean something (detection rounds confidence to hundredths; small moves are capture noise).

use std::collections::BTreeMap;

use recon_contracts::{Change, ChangeKind, Detection, Severity, VendorFinding};

use crate::bare_change;

/// The smallest confidence move reported, in hundredths (0.15).
pub const CONFIDENCE_STEP_HUNDREDTHS: i64 = 15;

pub fn changes(previous: &Detection, current: &Detection) -> Vec<Change> {
    let before = by_id(previous);
    let after = by_id(current);
    let mut changes = Vec::new();
    for (id, finding) in &after {
        match before.get(id) {
            None => changes.push(Change {
                after: Some(confidence_words(finding.confidence)),
                ..vendor_change(ChangeKind::VendorAdded, added_severity(finding), id)
            }),
            Some(earlier) => {
                let step = hundredths(finding.confidence) - hundredths(earlier.confidence);
                if step.abs() >= CONFIDENCE_STEP_HUNDREDTHS {
                    changes.push(Change {
                        before: Some(confidence_words(earlier.confidence)),
                        after: Some(confidence_words(finding.confidence)),
                        ..vendor_change(ChangeKind::VendorConfidenceChanged, Severity::Low, id)
                    });
                }
            }
        }
    }
    for (id, earlier) in &before {
        if !after.contains_key(id) {
            changes.push(Change {
                before: Some(confidence_words(earlier.confidence)),
                ..vendor_change(ChangeKind::VendorRemoved, Severity::Medium, id)
            });
        }
    }
    changes
}

/// A new bot product in front of the site gets scrapers blocked; a new CDN seldom does.
fn added_severity(finding: &VendorFinding) -> Severity {
    if finding.category == "cdn" {
        Severity::Medium
    } else {
        Severity::High
    }
}

/// One finding per vendor id, the most confident when a result holds several.
fn by_id(detection: &Detection) -> BTreeMap<&str, &VendorFinding> {
    let mut findings: BTreeMap<&str, &VendorFinding> = BTreeMap::new();
    for finding in &detection.vendors {
        let slot = findings.entry(finding.id.as_str()).or_insert(finding);
        if finding.confidence > slot.confidence {
            *slot = finding;
        }
    }
    findings
}

fn vendor_change(kind: ChangeKind, severity: Severity, id: &str) -> Change {
    Change {
        vendor: Some(id.to_owned()),
        ..bare_change(kind, severity)
    }
}

fn hundredths(confidence: f64) -> i64 {
    (confidence * 100.0).round() as i64
}

/// `0.9`, `0.85`, `1`: at most two decimals, no trailing zeros.
fn confidence_words(confidence: f64) -> String {
    let text = format!("{:.2}", hundredths(confidence) as f64 / 100.0);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use recon_contracts::VendorFinding;

    use super::*;
    use crate::test_support::{drift_between, only_change, vendor, World};

    #[test]
    fn a_new_bot_vendor_is_a_high_vendor_added() {
        let before = World::default();
        let after = World::default().with_vendor(VendorFinding {
            category: "bot-management".into(),
            ..vendor("datadome", 0.9)
        });
        let change = only_change(&before, &after);
        assert_eq!(change.kind, ChangeKind::VendorAdded);
        assert_eq!(change.vendor.as_deref(), Some("datadome"));
        assert_eq!(change.after.as_deref(), Some("0.9"));
        assert_eq!(change.severity, Severity::High);
    }

    #[test]
    fn a_new_cdn_is_a_medium_vendor_added() {
        let after = World::default().with_vendor(VendorFinding {
            category: "cdn".into(),
            ..vendor("fastly", 0.6)
        });
        let change = only_change(&World::default(), &after);
        assert_eq!(change.severity, Severity::Medium);
    }

    #[test]
    fn a_vendor_no_longer_detected_is_a_medium_vendor_removed() {
        let before = World::default().with_vendor(vendor("akamai", 0.85));
        let change = only_change(&before, &World::default());
        assert_eq!(change.kind, ChangeKind::VendorRemoved);
        assert_eq!(change.vendor.as_deref(), Some("akamai"));
        assert_eq!(change.before.as_deref(), Some("0.85"));
        assert_eq!(change.after, None);
        assert_eq!(change.severity, Severity::Medium);
    }

    #[test]
    fn a_confidence_move_of_at_least_the_step_is_a_low_change() {
        let before = World::default().with_vendor(vendor("cloudflare", 0.5));
        let after = World::default().with_vendor(vendor("cloudflare", 0.65));
        let change = only_change(&before, &after);
        assert_eq!(change.kind, ChangeKind::VendorConfidenceChanged);
        assert_eq!(
            (change.before.as_deref(), change.after.as_deref()),
            (Some("0.5"), Some("0.65"))
        );
        assert_eq!(change.severity, Severity::Low);
    }

    #[test]
    fn a_smaller_confidence_move_is_not_a_change() {
        let before = World::default().with_vendor(vendor("cloudflare", 0.5));
        let after = World::default().with_vendor(vendor("cloudflare", 0.64));
        assert!(drift_between(&before, &after).changes.is_empty());
    }
}
