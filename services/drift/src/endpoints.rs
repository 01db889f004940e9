//! Which data endpoints the two scans share, and per shared endpoint its auth and pagination
//! changes.
//!
//! Endpoint ids are a hash of method, host, path template and GraphQL operation key
//! (`recon_analysis::endpoint_id`), so the same endpoint has the same id in every scan and ids
//! match first. Templating is learned per capture, though: a slug segment becomes `{param}`
//! only when the capture shows it varying, so one scan can hold `/c/lamps` where the other holds
//! `/c/{c_slug}`. An unmatched endpoint whose template fits exactly one unmatched endpoint of the
//! other scan (same method, host, kind and operation; equal segments or a parameter) is the same
//! endpoint, not one removed and one added.

use std::collections::{BTreeMap, BTreeSet};

use recon_contracts::{Change, ChangeKind, Endpoint, Inventory, Pagination, Severity};

use crate::bare_change;

/// The same endpoint in the previous scan and in this one.
#[derive(Debug, Clone, Copy)]
pub struct Pair<'a> {
    pub before: &'a Endpoint,
    pub after: &'a Endpoint,
}

#[derive(Debug, Default)]
pub struct Pairing<'a> {
    pub matched: Vec<Pair<'a>>,
    pub removed: Vec<&'a Endpoint>,
    pub added: Vec<&'a Endpoint>,
}

impl<'a> Pairing<'a> {
    /// Pairs the data endpoints of two inventories; assets, trackers and sensors are left out.
    pub fn of(previous: &'a Inventory, current: &'a Inventory) -> Pairing<'a> {
        let before = data_endpoints(previous);
        let after = data_endpoints(current);
        let mut pairing = Pairing::default();
        for (id, endpoint) in &after {
            match before.get(id) {
                Some(earlier) => pairing.matched.push(Pair {
                    before: earlier,
                    after: endpoint,
                }),
                None => pairing.added.push(endpoint),
            }
        }
        pairing.removed = before
            .iter()
            .filter(|(id, _)| !after.contains_key(*id))
            .map(|(_, endpoint)| *endpoint)
            .collect();
        pairing.pair_retemplated();
        pairing
    }

    /// Moves removed/added endpoints that are one endpoint templated differently to `matched`.
    fn pair_retemplated(&mut self) {
        let mut paired: Vec<(usize, usize)> = Vec::new();
        for (r, removed) in self.removed.iter().enumerate() {
            let mut fitting =
                (self.added.iter().enumerate()).filter(|(_, added)| same_route(removed, added));
            let (Some((a, added)), None) = (fitting.next(), fitting.next()) else {
                continue;
            };
            let fits_back = (self.removed.iter())
                .filter(|other| same_route(other, added))
                .count();
            if fits_back == 1 {
                paired.push((r, a));
            }
        }
        let (paired_removed, paired_added): (BTreeSet<usize>, BTreeSet<usize>) =
            paired.iter().copied().unzip();
        for &(r, a) in &paired {
            self.matched.push(Pair {
                before: self.removed[r],
                after: self.added[a],
            });
        }
        self.removed = keep_unpaired(&self.removed, &paired_removed);
        self.added = keep_unpaired(&self.added, &paired_added);
    }

    /// Endpoints removed (medium: code calling them fails, though a capture only shows what the
    /// user visited) and added (low).
    pub fn presence_changes(&self) -> Vec<Change> {
        let removed = self.removed.iter().map(|endpoint| Change {
            before: Some(location(endpoint)),
            ..about(endpoint, ChangeKind::EndpointRemoved, Severity::Medium)
        });
        let added = self.added.iter().map(|endpoint| Change {
            after: Some(location(endpoint)),
            ..about(endpoint, ChangeKind::EndpointAdded, Severity::Low)
        });
        removed.chain(added).collect()
    }
}

impl Pair<'_> {
    /// A change on this endpoint, named as it is in this scan.
    pub fn change(
        &self,
        kind: ChangeKind,
        severity: Severity,
        before: Option<String>,
        after: Option<String>,
    ) -> Change {
        Change {
            before,
            after,
            ..about(self.after, kind, severity)
        }
    }

    /// Auth requirements (kind and name) that differ: high when one is new, low when some were
    /// only dropped.
    pub fn auth_change(&self) -> Option<Change> {
        let before = auth_requirements(self.before);
        let after = auth_requirements(self.after);
        if before == after {
            return None;
        }
        let severity = if after.is_subset(&before) {
            Severity::Low
        } else {
            Severity::High
        };
        Some(self.change(
            ChangeKind::AuthChanged,
            severity,
            auth_words(&before),
            auth_words(&after),
        ))
    }

    /// Pagination that differs: medium when both scans paginate differently, low when one scan
    /// simply did not page through (or the site stopped paginating).
    pub fn pagination_change(&self) -> Option<Change> {
        let before = self.before.pagination.as_ref().map(pagination_words);
        let after = self.after.pagination.as_ref().map(pagination_words);
        if before == after {
            return None;
        }
        let severity = if before.is_some() && after.is_some() {
            Severity::Medium
        } else {
            Severity::Low
        };
        Some(self.change(ChangeKind::PaginationChanged, severity, before, after))
    }
}

/// Data endpoints by id (the first one when an inventory repeats an id).
fn data_endpoints(inventory: &Inventory) -> BTreeMap<&str, &Endpoint> {
    let mut endpoints = BTreeMap::new();
    for endpoint in inventory.endpoints.iter().filter(|e| e.is_data()) {
        endpoints.entry(endpoint.id.as_str()).or_insert(endpoint);
    }
    endpoints
}

fn keep_unpaired<'a>(endpoints: &[&'a Endpoint], paired: &BTreeSet<usize>) -> Vec<&'a Endpoint> {
    endpoints
        .iter()
        .enumerate()
        .filter(|(i, _)| !paired.contains(i))
        .map(|(_, endpoint)| *endpoint)
        .collect()
}

/// Whether two endpoints can be one endpoint whose path the two captures templated differently.
fn same_route(a: &Endpoint, b: &Endpoint) -> bool {
    a.method == b.method
        && a.host == b.host
        && a.kind == b.kind
        && a.graphql_operation == b.graphql_operation
        && a.graphql_persisted_hash == b.graphql_persisted_hash
        && templates_fit(&a.path_template, &b.path_template)
}

/// Same number of segments, each equal or a `{parameter}` on either side.
fn templates_fit(a: &str, b: &str) -> bool {
    let is_parameter = |segment: &str| segment.starts_with('{') && segment.ends_with('}');
    a.split('/').count() == b.split('/').count()
        && a.split('/')
            .zip(b.split('/'))
            .all(|(x, y)| x == y || is_parameter(x) || is_parameter(y))
}

/// A change on `endpoint`, with its id and its name for people.
fn about(endpoint: &Endpoint, kind: ChangeKind, severity: Severity) -> Change {
    Change {
        endpoint_id: Some(endpoint.id.clone()),
        endpoint: Some(label(endpoint)),
        ..bare_change(kind, severity)
    }
}

/// `GET /api/items/{id}`, or `POST /graphql SearchProducts` for a GraphQL operation.
pub fn label(endpoint: &Endpoint) -> String {
    match &endpoint.graphql_operation {
        Some(operation) => format!("{} {} {operation}", endpoint.method, endpoint.path_template),
        None => format!("{} {}", endpoint.method, endpoint.path_template),
    }
}

/// `api.shop.example/v1/items`: where the endpoint lives, which its label leaves out.
fn location(endpoint: &Endpoint) -> String {
    format!("{}{}", endpoint.host, endpoint.path_template)
}

/// Kind and name; names compared without case, as HTTP/1.1 and HTTP/2 captures spell headers
/// differently.
fn auth_requirements(endpoint: &Endpoint) -> BTreeSet<(&'static str, String)> {
    endpoint
        .auth
        .iter()
        .map(|auth| (auth.kind.name(), auth.name.to_ascii_lowercase()))
        .collect()
}

/// `authorization (bearer), sid (session-cookie)`; `None` for no requirement. The name comes
/// first: "bearer" followed by a word reads as a token to the report's secret scrubber.
fn auth_words(requirements: &BTreeSet<(&'static str, String)>) -> Option<String> {
    (!requirements.is_empty()).then(|| {
        requirements
            .iter()
            .map(|(kind, name)| format!("{name} ({kind})"))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// `cursor (cursor, limit) via meta.next_cursor`: what a scraper's paging loop depends on.
fn pagination_words(pagination: &Pagination) -> String {
    let mut parameters: Vec<&str> = pagination.parameters.iter().map(String::as_str).collect();
    parameters.extend(pagination.page_size_parameter.as_deref());
    parameters.sort_unstable();
    parameters.dedup();
    let mut words = pagination.style.name().to_owned();
    if !parameters.is_empty() {
        words.push_str(&format!(" ({})", parameters.join(", ")));
    }
    if let Some(next) = &pagination.next_field {
        words.push_str(&format!(" via {next}"));
    }
    words
}

#[cfg(test)]
mod tests {
    use recon_contracts::{AuthKind, AuthRequirement, PaginationStyle};

    use super::*;
    use crate::test_support::{drift_between, endpoint, only_change, World};

    fn bearer(header: &str) -> AuthRequirement {
        AuthRequirement {
            kind: AuthKind::Bearer,
            name: header.into(),
        }
    }

    #[test]
    fn a_new_data_endpoint_is_a_low_endpoint_added() {
        let items = endpoint("GET", "/api/items");
        let before = World::default().with_endpoint(items.clone());
        let after = World::default()
            .with_endpoint(items)
            .with_endpoint(endpoint("GET", "/api/cart"));
        let change = only_change(&before, &after);
        assert_eq!(change.kind, ChangeKind::EndpointAdded);
        assert_eq!(change.endpoint.as_deref(), Some("GET /api/cart"));
        assert_eq!(change.after.as_deref(), Some("api.shop.test/api/cart"));
        assert_eq!(change.severity, Severity::Low);
    }

    #[test]
    fn a_data_endpoint_not_seen_again_is_a_medium_endpoint_removed() {
        let reviews = endpoint("GET", "/api/reviews");
        let before = World::default().with_endpoint(reviews.clone());
        let change = only_change(&before, &World::default());
        assert_eq!(change.kind, ChangeKind::EndpointRemoved);
        assert_eq!(change.endpoint_id.as_deref(), Some(reviews.id.as_str()));
        assert_eq!(change.before.as_deref(), Some("api.shop.test/api/reviews"));
        assert_eq!(change.severity, Severity::Medium);
    }

    #[test]
    fn assets_trackers_and_sensors_come_and_go_silently() {
        let before = World::default();
        let mut after = World::default();
        for (kind, path) in [
            ("static", "/app.js"),
            ("tracking", "/collect"),
            ("anti-bot-sensor", "/sensor"),
        ] {
            after = after.with_endpoint(Endpoint {
                kind: kind.into(),
                ..endpoint("GET", path)
            });
        }
        assert!(drift_between(&before, &after).changes.is_empty());
    }

    #[test]
    fn an_endpoint_templated_differently_is_the_same_endpoint() {
        let literal = endpoint("GET", "/c/desk-lamps");
        let templated = endpoint("GET", "/c/{c_slug}");
        let before = World::default().with_endpoint(literal);
        let after = World::default().with_endpoint(Endpoint {
            auth: vec![bearer("Authorization")],
            ..templated.clone()
        });
        let change = only_change(&before, &after);
        assert_eq!(change.kind, ChangeKind::AuthChanged);
        assert_eq!(change.endpoint_id.as_deref(), Some(templated.id.as_str()));
    }

    #[test]
    fn a_template_that_fits_two_endpoints_pairs_with_neither() {
        let before = World::default()
            .with_endpoint(endpoint("GET", "/c/desk-lamps"))
            .with_endpoint(endpoint("GET", "/c/floor-lamps"));
        let after = World::default().with_endpoint(endpoint("GET", "/c/{c_slug}"));
        let kinds: Vec<ChangeKind> = drift_between(&before, &after)
            .changes
            .iter()
            .map(|change| change.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                ChangeKind::EndpointRemoved,
                ChangeKind::EndpointRemoved,
                ChangeKind::EndpointAdded
            ]
        );
    }

    #[test]
    fn a_new_auth_requirement_is_a_high_auth_changed() {
        let items = endpoint("GET", "/api/items");
        let session = AuthRequirement {
            kind: AuthKind::SessionCookie,
            name: "sid".into(),
        };
        let before = World::default().with_endpoint(Endpoint {
            auth: vec![session.clone()],
            ..items.clone()
        });
        let after = World::default().with_endpoint(Endpoint {
            auth: vec![bearer("Authorization"), session],
            ..items
        });
        let change = only_change(&before, &after);
        assert_eq!(change.kind, ChangeKind::AuthChanged);
        assert_eq!(change.before.as_deref(), Some("sid (session-cookie)"));
        assert_eq!(
            change.after.as_deref(),
            Some("authorization (bearer), sid (session-cookie)")
        );
        assert_eq!(change.severity, Severity::High);
        // Dropping it again only makes replay easier.
        assert_eq!(only_change(&after, &before).severity, Severity::Low);
    }

    #[test]
    fn a_header_name_in_another_case_is_the_same_requirement() {
        let items = endpoint("GET", "/api/items");
        let with_header = |name: &str| {
            World::default().with_endpoint(Endpoint {
                auth: vec![bearer(name)],
                ..items.clone()
            })
        };
        let changes =
            drift_between(&with_header("Authorization"), &with_header("authorization")).changes;
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn a_different_paging_style_is_a_medium_pagination_changed() {
        let items = endpoint("GET", "/api/items");
        let before = World::default().with_endpoint(Endpoint {
            pagination: Some(Pagination {
                style: PaginationStyle::Page,
                parameters: vec!["page".into()],
                page_size_parameter: Some("per_page".into()),
                next_field: None,
            }),
            ..items.clone()
        });
        let after = World::default().with_endpoint(Endpoint {
            pagination: Some(Pagination {
                style: PaginationStyle::Cursor,
                parameters: vec!["cursor".into()],
                page_size_parameter: None,
                next_field: Some("meta.next_cursor".into()),
            }),
            ..items.clone()
        });
        let change = only_change(&before, &after);
        assert_eq!(change.kind, ChangeKind::PaginationChanged);
        assert_eq!(change.before.as_deref(), Some("page (page, per_page)"));
        assert_eq!(
            change.after.as_deref(),
            Some("cursor (cursor) via meta.next_cursor")
        );
        assert_eq!(change.severity, Severity::Medium);
        // A scan that did not page through is a low change.
        let unpaged = World::default().with_endpoint(items);
        assert_eq!(only_change(&before, &unpaged).severity, Severity::Low);
    }

    #[test]
    fn graphql_operations_are_labelled_with_their_name() {
        let search = Endpoint {
            graphql_operation: Some("SearchProducts".into()),
            ..endpoint("POST", "/graphql")
        };
        assert_eq!(label(&search), "POST /graphql SearchProducts");
    }
}
