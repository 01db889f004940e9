//! Drift in words: one phrase per change ([`describe`]) and the one-line summary the CLI prints
//! at the end of a scan ([`headline`]). Site-controlled text (paths, field names) stays as it
//! came: the CLI strips control characters from everything the server sends.

use recon_contracts::{Change, ChangeKind, Drift};

/// Changes the headline names before it trails off.
const HEADLINE_ITEMS: usize = 3;

/// `3 changes since 1 Dec: datadome added; GET /api/items/{id} lost field price; …`, or
/// `first scan of this site`, or `no changes since 1 Dec`.
pub fn headline(drift: &Drift) -> String {
    if drift.is_first_scan() {
        return "first scan of this site".to_owned();
    }
    let since = match drift.previous_completed_at {
        Some(completed) => format!("since {}", completed.format("%-d %b")),
        None => "since the previous scan".to_owned(),
    };
    let total = drift
        .changes
        .len()
        .saturating_add(drift.omitted_changes as usize);
    if total == 0 {
        return format!("no changes {since}");
    }
    let mut most_severe: Vec<&Change> = drift.changes.iter().collect();
    most_severe.sort_by_key(|change| change.severity);
    let mut items: Vec<String> = most_severe
        .into_iter()
        .take(HEADLINE_ITEMS)
        .map(describe)
        .collect();
    if total > items.len() {
        items.push("…".to_owned());
    }
    let noun = if total == 1 { "change" } else { "changes" };
    format!("{total} {noun} {since}: {}", items.join("; "))
}

/// One change as a short phrase: `datadome added`, `GET /api/items/{id} lost field price`,
/// `GET /api/items replay plain × direct → impersonate × residential`.
pub fn describe(change: &Change) -> String {
    let vendor = change.vendor.as_deref().unwrap_or("a vendor");
    let endpoint = (change.endpoint.as_deref())
        .or(change.endpoint_id.as_deref())
        .unwrap_or("an endpoint");
    let field = change.field.as_deref().unwrap_or("$");
    let absent = match change.kind {
        ChangeKind::ReplayChoiceChanged => "nothing passed",
        _ => "none",
    };
    let before = change.before.as_deref().unwrap_or(absent);
    let after = change.after.as_deref().unwrap_or(absent);
    match change.kind {
        ChangeKind::VendorAdded => format!("{vendor} added"),
        ChangeKind::VendorRemoved => format!("{vendor} removed"),
        ChangeKind::VendorConfidenceChanged => format!("{vendor} confidence {before} → {after}"),
        ChangeKind::EndpointAdded => format!("new endpoint {endpoint}"),
        ChangeKind::EndpointRemoved => format!("{endpoint} not seen"),
        ChangeKind::ResponseFieldAdded => format!("{endpoint} gained field {field}"),
        ChangeKind::ResponseFieldRemoved => format!("{endpoint} lost field {field}"),
        ChangeKind::ResponseFieldRetyped => {
            format!("{endpoint} field {field} {before} → {after}")
        }
        ChangeKind::AuthChanged => format!("{endpoint} auth {before} → {after}"),
        ChangeKind::PaginationChanged => format!("{endpoint} pagination {before} → {after}"),
        ChangeKind::ReplayChoiceChanged => format!("{endpoint} replay {before} → {after}"),
        ChangeKind::RateLimitChanged => format!("{endpoint} rate limit {before} → {after}"),
    }
}

#[cfg(test)]
mod tests {
    use recon_contracts::{Severity, VendorFinding};
    use serde_json::json;

    use super::*;
    use crate::test_support::{drift_between, endpoint, vendor, World};

    #[test]
    fn a_first_scan_says_so() {
        assert_eq!(headline(&Drift::default()), "first scan of this site");
    }

    #[test]
    fn an_unchanged_site_names_the_previous_date() {
        let before = World::default().with_vendor(vendor("akamai", 0.9));
        let after = World::default().with_vendor(vendor("akamai", 0.9));
        let drift = drift_between(&before, &after);
        assert_eq!(headline(&drift), "no changes since 1 Dec");
    }

    #[test]
    fn the_headline_names_the_three_most_severe_changes_then_trails_off() {
        let item = |schema| recon_contracts::Endpoint {
            response_schema: Some(schema),
            ..endpoint("GET", "/api/items/{id}")
        };
        let before = World::default()
            .with_vendor(vendor("fastly", 0.3))
            .with_endpoint(item(json!({"properties": {"price": {"type": "number"}}})));
        let after = World::default()
            .with_vendor(VendorFinding {
                category: "bot-management".into(),
                ..vendor("datadome", 0.9)
            })
            .with_vendor(vendor("fastly", 0.9))
            .with_endpoint(item(json!({"properties": {}})))
            .with_endpoint(endpoint("GET", "/api/cart"));
        let drift = drift_between(&before, &after);
        assert_eq!(
            headline(&drift),
            "4 changes since 1 Dec: datadome added; GET /api/items/{id} lost field price; \
             fastly confidence 0.3 → 0.9; …"
        );
    }

    #[test]
    fn one_change_is_singular_and_complete() {
        let before = World::default();
        let after = World::default().with_vendor(vendor("kasada", 0.8));
        assert_eq!(
            headline(&drift_between(&before, &after)),
            "1 change since 1 Dec: kasada added"
        );
    }

    #[test]
    fn field_changes_past_the_cap_count_in_the_total() {
        let before = World::default();
        let after = World::default().with_vendor(vendor("kasada", 0.8));
        let drift = Drift {
            omitted_changes: 5,
            ..drift_between(&before, &after)
        };
        assert_eq!(headline(&drift), "6 changes since 1 Dec: kasada added; …");
    }

    #[test]
    fn absent_values_read_as_none_or_nothing_passed() {
        let change = Change {
            kind: ChangeKind::ReplayChoiceChanged,
            endpoint_id: Some("ep_1".into()),
            endpoint: Some("GET /api/items".into()),
            vendor: None,
            field: None,
            before: Some("plain × direct".into()),
            after: None,
            severity: Severity::High,
        };
        assert_eq!(
            describe(&change),
            "GET /api/items replay plain × direct → nothing passed"
        );
        let auth = Change {
            kind: ChangeKind::AuthChanged,
            before: None,
            after: Some("authorization (bearer)".into()),
            ..change
        };
        assert_eq!(
            describe(&auth),
            "GET /api/items auth none → authorization (bearer)"
        );
    }
}
