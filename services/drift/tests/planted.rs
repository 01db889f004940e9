//! Two visits to the same small shop, the second with changes planted, run through the real
//! detection and analysis: drift reports exactly the planted changes and nothing else, and an
//! unchanged second visit reports none.

use chrono::{TimeZone, Utc};
use recon_contracts::{
    Capture, ChangeKind, Detection, Drift, EndpointValidation, Inventory, NetworkTier, RateLimit,
    ReplayAttempt, ReplayChoice, ReplayProfile, Severity, Validation, Verdict,
};
use recon_detection::capture_spec::parse_corpus;
use recon_drift::{drift, headline, ScanFacts};
use uuid::Uuid;

struct Scan {
    id: Uuid,
    detection: Detection,
    inventory: Inventory,
    validation: Validation,
}

impl Scan {
    fn of(fixture: &str) -> Scan {
        let cases = parse_corpus(fixture).unwrap();
        let capture: Capture = cases[0].capture().unwrap();
        let detection = recon_detection::detect(&capture);
        let inventory = recon_analysis::analyze(&capture, &detection);
        Scan {
            id: Uuid::new_v4(),
            detection,
            inventory,
            validation: Validation::default(),
        }
    }

    fn endpoint_id(&self, method: &str, path_template: &str) -> String {
        let found = self
            .inventory
            .endpoints
            .iter()
            .find(|e| e.method == method && e.path_template == path_template);
        match found {
            Some(endpoint) => endpoint.id.clone(),
            None => panic!(
                "no {method} {path_template} in {:?}",
                self.inventory
                    .endpoints
                    .iter()
                    .map(|e| format!("{} {}", e.method, e.path_template))
                    .collect::<Vec<_>>()
            ),
        }
    }

    /// The listing validated: passing with `best`, meeting `rate_limit` on the way.
    fn with_listing_replayed(mut self, best: ReplayChoice, rate_limit: Option<RateLimit>) -> Scan {
        self.validation.results.push(EndpointValidation {
            endpoint_id: self.endpoint_id("GET", "/v1/items"),
            attempts: vec![ReplayAttempt {
                latency_ms: Some(40),
                similarity: Some(1.0),
                ..ReplayAttempt::outcome(best, Some(200), Verdict::Pass)
            }],
            best: Some(best),
            rate_limit,
            ..EndpointValidation::default()
        });
        self
    }

    fn facts(&self) -> ScanFacts<'_> {
        ScanFacts {
            scan_id: self.id,
            completed_at: Utc.with_ymd_and_hms(2026, 12, 1, 9, 30, 0).single(),
            detection: &self.detection,
            inventory: &self.inventory,
            validation: &self.validation,
        }
    }
}

fn before() -> Scan {
    Scan::of(include_str!("fixtures/shop_before.toml")).with_listing_replayed(
        ReplayChoice {
            profile: ReplayProfile::Plain,
            tier: NetworkTier::Direct,
        },
        None,
    )
}

fn after() -> Scan {
    Scan::of(include_str!("fixtures/shop_after.toml")).with_listing_replayed(
        ReplayChoice {
            profile: ReplayProfile::Impersonate,
            tier: NetworkTier::Residential,
        },
        Some(RateLimit {
            status: 429,
            retry_after_secs: Some(10),
            headers: vec!["retry-after: 10".into()],
        }),
    )
}

fn drift_of(before: &Scan, after: &Scan) -> Drift {
    drift(Some(&before.facts()), &after.facts())
}

type Row = (
    Severity,
    ChangeKind,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn rows(drift: &Drift) -> Vec<Row> {
    drift
        .changes
        .iter()
        .map(|c| {
            (
                c.severity,
                c.kind,
                c.endpoint.clone().or(c.vendor.clone()),
                c.field.clone(),
                c.before.clone(),
                c.after.clone(),
            )
        })
        .collect()
}

fn row(
    severity: Severity,
    kind: ChangeKind,
    subject: &str,
    field: Option<&str>,
    before: Option<&str>,
    after: Option<&str>,
) -> Row {
    let owned = |text: Option<&str>| text.map(str::to_owned);
    (
        severity,
        kind,
        Some(subject.to_owned()),
        owned(field),
        owned(before),
        owned(after),
    )
}

#[test]
fn the_second_visit_reports_exactly_the_planted_changes() {
    let (before, after) = (before(), after());
    let drift = drift_of(&before, &after);
    let detail = "GET /v1/items/{item_id}";
    use ChangeKind::*;
    use Severity::*;
    assert_eq!(
        rows(&drift),
        [
            row(High, VendorAdded, "datadome", None, None, Some("0.99")),
            row(
                High,
                ResponseFieldRemoved,
                detail,
                Some("price"),
                Some("number"),
                None
            ),
            row(
                High,
                ResponseFieldRetyped,
                detail,
                Some("stock"),
                Some("integer"),
                Some("string")
            ),
            row(
                High,
                AuthChanged,
                detail,
                None,
                None,
                Some("authorization (bearer)")
            ),
            row(
                High,
                ReplayChoiceChanged,
                "GET /v1/items",
                None,
                Some("plain × direct"),
                Some("impersonate × residential")
            ),
            row(
                Medium,
                EndpointRemoved,
                "GET /v1/reviews",
                None,
                Some("api.driftshop.test/v1/reviews"),
                None
            ),
            row(
                Medium,
                RateLimitChanged,
                "GET /v1/items",
                None,
                None,
                Some("429 (retry-after)")
            ),
            row(
                Low,
                EndpointAdded,
                "GET /v1/cart",
                None,
                None,
                Some("api.driftshop.test/v1/cart")
            ),
            row(
                Low,
                ResponseFieldAdded,
                detail,
                Some("rating"),
                None,
                Some("number")
            ),
        ]
    );
    assert_eq!(drift.previous_scan_id, Some(before.id));
    assert_eq!(drift.omitted_changes, 0);
    assert_eq!(
        drift.changes[1].endpoint_id.as_deref(),
        Some(after.endpoint_id("GET", "/v1/items/{item_id}").as_str())
    );
    assert_eq!(
        headline(&drift),
        "9 changes since 1 Dec: datadome added; GET /v1/items/{item_id} lost field price; \
         GET /v1/items/{item_id} field stock integer → string; …"
    );
}

#[test]
fn an_unchanged_second_visit_reports_no_changes() {
    let (first, second) = (before(), before());
    let drift = drift_of(&first, &second);
    assert_eq!(drift.changes, []);
    assert_eq!(headline(&drift), "no changes since 1 Dec");
}

#[test]
fn the_first_visit_has_no_previous_scan() {
    let first = before();
    let drift = drift(None, &first.facts());
    assert_eq!(drift, Drift::default());
    let json = serde_json::to_value(&drift).unwrap();
    assert!(json["previous_scan_id"].is_null());
    assert_eq!(headline(&drift), "first scan of this site");
}
