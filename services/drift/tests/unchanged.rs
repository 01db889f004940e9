//! Properties over generated scan results: identical results (in any order) never produce a
//! change; any two results produce a deterministic, sorted, capped list; and swapping the two
//! scans swaps what was added and removed.

use std::collections::BTreeMap;

use proptest::prelude::*;
use recon_analysis::schema::infer;
use recon_contracts::{
    AuthKind, AuthRequirement, ChangeKind, Detection, Endpoint, EndpointValidation, Inventory,
    NetworkTier, Pagination, PaginationStyle, RateLimit, ReplayAttempt, ReplayChoice,
    ReplayProfile, Validation, VendorFinding, Verdict, VENDOR_IDS,
};
use recon_drift::{drift, ScanFacts, MAX_FIELD_CHANGES_PER_ENDPOINT};
use serde_json::{json, Value};
use uuid::Uuid;

#[derive(Debug, Clone)]
struct Results {
    detection: Detection,
    inventory: Inventory,
    validation: Validation,
}

impl Results {
    fn facts(&self, scan_id: Uuid) -> ScanFacts<'_> {
        ScanFacts {
            scan_id,
            completed_at: None,
            detection: &self.detection,
            inventory: &self.inventory,
            validation: &self.validation,
        }
    }

    fn reversed(&self) -> Results {
        let mut copy = self.clone();
        copy.detection.vendors.reverse();
        copy.inventory.endpoints.reverse();
        copy.validation.results.reverse();
        copy
    }
}

/// Response bodies: objects whose fields take a few typical values (nulls, numbers, text,
/// lists, nested records), for schemas merged by analysis's own inference.
fn response_body() -> impl Strategy<Value = Value> {
    let field_value = prop::sample::select(vec![
        json!(null),
        json!(7),
        json!(7.5),
        json!("lamp"),
        json!(true),
        json!([]),
        json!([1, 2]),
        json!([{"id": 1, "tags": ["a"]}]),
        json!({"amount": 19.9, "currency": "EUR"}),
    ]);
    prop::collection::btree_map("[a-d]", field_value, 0..4)
        .prop_map(|fields| Value::Object(fields.into_iter().collect()))
}

/// Schemas as analysis writes them (merged samples), and hand-written shapes it never writes
/// (alternatives, type arrays, maps, tuples).
fn response_schema() -> impl Strategy<Value = Option<Value>> {
    let type_name = prop::sample::select(vec![
        "object", "array", "string", "number", "integer", "boolean", "null",
    ]);
    let written =
        type_name
            .prop_map(|t| json!({"type": t}))
            .prop_recursive(3, 16, 3, |inner| {
                prop_oneof![
            prop::collection::btree_map("[a-c]", inner.clone(), 0..3).prop_map(|properties| {
                let required: Vec<&String> = properties.keys().take(1).collect();
                json!({"type": "object", "properties": properties, "required": required})
            }),
            inner.clone().prop_map(|items| json!({"type": ["array", "null"], "items": items})),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|any_of| json!({"anyOf": any_of})),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|one_of| json!({"oneOf": one_of})),
            inner.clone().prop_map(|values| json!({"additionalProperties": values})),
            prop::collection::vec(inner, 1..3).prop_map(|tuple| json!({"prefixItems": tuple})),
        ]
            });
    prop_oneof![
        Just(None),
        prop::collection::vec(response_body(), 1..4)
            .prop_map(|samples| infer(&samples).map(|shape| shape.to_schema())),
        written.prop_map(Some),
    ]
}

fn pagination() -> impl Strategy<Value = Option<Pagination>> {
    let style = prop::sample::select(vec![
        PaginationStyle::Page,
        PaginationStyle::Offset,
        PaginationStyle::Cursor,
        PaginationStyle::NextLink,
    ]);
    prop::option::of(
        (style, "[a-z]{1,6}", prop::option::of("[a-z.]{1,8}")).prop_map(
            |(style, parameter, next_field)| Pagination {
                style,
                parameters: vec![parameter],
                page_size_parameter: None,
                next_field,
            },
        ),
    )
}

fn auth() -> impl Strategy<Value = Vec<AuthRequirement>> {
    let kind = prop::sample::select(vec![
        AuthKind::SessionCookie,
        AuthKind::AntiBotCookie,
        AuthKind::Bearer,
        AuthKind::Csrf,
    ]);
    prop::collection::vec(
        (kind, "[a-zA-Z_]{1,8}").prop_map(|(kind, name)| AuthRequirement { kind, name }),
        0..3,
    )
}

fn endpoint() -> impl Strategy<Value = Endpoint> {
    let method = prop::sample::select(vec!["GET", "POST"]);
    let segments = prop::collection::vec(
        prop::sample::select(vec![
            "api",
            "items",
            "{item_id}",
            "cart",
            "c",
            "lamps",
            "{c_slug}",
        ]),
        1..4,
    );
    let kind = prop::sample::select(vec![
        "json-api",
        "graphql",
        "html-document",
        "static",
        "tracking",
        "anti-bot-sensor",
        "other",
    ]);
    (
        method,
        segments,
        kind,
        response_schema(),
        pagination(),
        auth(),
    )
        .prop_map(
            |(method, segments, kind, response_schema, pagination, auth)| {
                let path_template = format!("/{}", segments.join("/"));
                Endpoint {
                    id: recon_analysis::endpoint_id(method, "api.shop.test", &path_template),
                    method: method.to_owned(),
                    host: "api.shop.test".to_owned(),
                    path_template,
                    kind: kind.to_owned(),
                    bucket: "other".to_owned(),
                    response_schema,
                    pagination,
                    auth,
                    ..Endpoint::default()
                }
            },
        )
}

fn vendor() -> impl Strategy<Value = VendorFinding> {
    let category = prop::sample::select(vec!["bot-management", "cdn", "waf"]);
    (
        prop::sample::select(VENDOR_IDS.to_vec()),
        0u8..=100,
        category,
    )
        .prop_map(|(id, confidence, category)| VendorFinding {
            id: id.to_owned(),
            product: id.to_owned(),
            category: category.to_owned(),
            confidence: f64::from(confidence) / 100.0,
            evidence: Vec::new(),
        })
}

fn choice() -> impl Strategy<Value = ReplayChoice> {
    let profile = prop::sample::select(vec![
        ReplayProfile::Plain,
        ReplayProfile::BrowserHeaders,
        ReplayProfile::BrowserSession,
        ReplayProfile::Impersonate,
    ]);
    let tier = prop::sample::select(vec![
        NetworkTier::Direct,
        NetworkTier::Datacenter,
        NetworkTier::Residential,
    ]);
    (profile, tier).prop_map(|(profile, tier)| ReplayChoice { profile, tier })
}

fn rate_limit() -> impl Strategy<Value = Option<RateLimit>> {
    let header = prop::sample::select(vec![
        "retry-after: 5",
        "x-ratelimit-remaining: 0",
        "ratelimit-policy: 10;w=1",
    ]);
    prop::option::of(
        (
            prop::sample::select(vec![200u16, 429]),
            prop::collection::vec(header, 0..3),
        )
            .prop_map(|(status, headers)| RateLimit {
                status,
                retry_after_secs: None,
                headers: headers.into_iter().map(str::to_owned).collect(),
            }),
    )
}

fn results() -> impl Strategy<Value = Results> {
    (
        prop::collection::vec(vendor(), 0..4),
        prop::collection::vec(endpoint(), 0..6),
        prop::collection::vec((prop::option::of(choice()), rate_limit()), 0..6),
    )
        .prop_map(|(vendors, mut endpoints, replays)| {
            // Analysis never repeats an endpoint id.
            let mut seen = std::collections::BTreeSet::new();
            endpoints.retain(|endpoint| seen.insert(endpoint.id.clone()));
            let results = endpoints
                .iter()
                .zip(replays)
                .map(|(endpoint, (best, rate_limit))| EndpointValidation {
                    endpoint_id: endpoint.id.clone(),
                    attempts: vec![ReplayAttempt::outcome(
                        best.unwrap_or(ReplayChoice {
                            profile: ReplayProfile::Impersonate,
                            tier: NetworkTier::Residential,
                        }),
                        Some(200),
                        if best.is_some() {
                            Verdict::Pass
                        } else {
                            Verdict::Blocked
                        },
                    )],
                    best,
                    rate_limit,
                    ..EndpointValidation::default()
                })
                .collect();
            Results {
                detection: Detection {
                    vendors,
                    ..Detection::default()
                },
                inventory: Inventory { endpoints },
                validation: Validation {
                    results,
                    ..Validation::default()
                },
            }
        })
}

proptest! {
    #[test]
    fn identical_results_produce_no_changes(results in results()) {
        let previous = results.facts(Uuid::new_v4());
        let drift = drift(Some(&previous), &results.facts(Uuid::new_v4()));
        prop_assert_eq!(drift.previous_scan_id, Some(previous.scan_id));
        prop_assert!(drift.changes.is_empty(), "{:#?}", drift.changes);
        prop_assert_eq!(drift.omitted_changes, 0);
    }

    #[test]
    fn the_same_results_in_another_order_produce_no_changes(results in results()) {
        let reversed = results.reversed();
        let drift = drift(Some(&results.facts(Uuid::new_v4())), &reversed.facts(Uuid::new_v4()));
        prop_assert!(drift.changes.is_empty(), "{:#?}", drift.changes);
    }

    #[test]
    fn any_two_results_give_a_sorted_capped_repeatable_list(before in results(), after in results()) {
        let previous = before.facts(Uuid::new_v4());
        let current = after.facts(Uuid::new_v4());
        let drift_once = drift(Some(&previous), &current);
        prop_assert_eq!(&drift_once, &drift(Some(&previous), &current));
        for pair in drift_once.changes.windows(2) {
            prop_assert!((pair[0].severity, pair[0].kind) <= (pair[1].severity, pair[1].kind));
        }
        let mut field_changes: BTreeMap<&str, usize> = BTreeMap::new();
        for change in &drift_once.changes {
            if change.field.is_some() {
                *field_changes.entry(change.endpoint_id.as_deref().unwrap_or_default()).or_default() += 1;
            }
        }
        prop_assert!(field_changes.values().all(|count| *count <= MAX_FIELD_CHANGES_PER_ENDPOINT));
        prop_assert_eq!(drift(None, &current), recon_contracts::Drift::default());
    }

    #[test]
    fn swapping_the_scans_swaps_what_was_added_and_removed(before in results(), after in results()) {
        let forward = drift(Some(&before.facts(Uuid::new_v4())), &after.facts(Uuid::new_v4()));
        let backward = drift(Some(&after.facts(Uuid::new_v4())), &before.facts(Uuid::new_v4()));
        let count = |drift: &recon_contracts::Drift, kind: ChangeKind| {
            drift.changes.iter().filter(|change| change.kind == kind).count()
        };
        for (added, removed) in [
            (ChangeKind::VendorAdded, ChangeKind::VendorRemoved),
            (ChangeKind::EndpointAdded, ChangeKind::EndpointRemoved),
        ] {
            prop_assert_eq!(count(&forward, added), count(&backward, removed));
        }
        for kind in [
            ChangeKind::VendorConfidenceChanged,
            ChangeKind::AuthChanged,
            ChangeKind::PaginationChanged,
            ChangeKind::ReplayChoiceChanged,
            ChangeKind::RateLimitChanged,
        ] {
            prop_assert_eq!(count(&forward, kind), count(&backward, kind));
        }
    }
}
