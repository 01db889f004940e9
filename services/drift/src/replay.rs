//! Replay changes of an endpoint validated in both scans: the cheapest passing profile × tier
//! (by the cost order `ReplayChoice` defines, the cascade's), and the rate limit it met
//! (presence, status and header names; remaining counts and reset times change every request
//! and are left out).

use std::collections::BTreeSet;

use recon_contracts::{
    Change, ChangeKind, EndpointValidation, RateLimit, ReplayChoice, Severity, Validation,
};

use crate::endpoints::Pair;

pub fn changes(pair: &Pair<'_>, previous: &Validation, current: &Validation) -> Vec<Change> {
    let (Some(before), Some(after)) = (
        replayed(previous, &pair.before.id),
        replayed(current, &pair.after.id),
    ) else {
        return Vec::new();
    };
    let mut changes = Vec::new();
    changes.extend(choice_change(pair, before.best, after.best));
    changes.extend(rate_limit_change(
        pair,
        before.rate_limit.as_ref(),
        after.rate_limit.as_ref(),
    ));
    changes
}

/// The endpoint's result when its cascade ran (an endpoint not replayed, by ranking, budget or
/// refusal, says nothing about what would pass).
fn replayed<'v>(validation: &'v Validation, endpoint_id: &str) -> Option<&'v EndpointValidation> {
    validation
        .results
        .iter()
        .find(|result| result.endpoint_id == endpoint_id && !result.attempts.is_empty())
}

/// High when only a pricier pair passes now, or nothing does; low when it got cheaper.
fn choice_change(
    pair: &Pair<'_>,
    before: Option<ReplayChoice>,
    after: Option<ReplayChoice>,
) -> Option<Change> {
    let severity = match (before, after) {
        (Some(was), Some(now)) if now > was => Severity::High,
        (Some(_), None) => Severity::High,
        (was, now) if was == now => return None,
        _ => Severity::Low,
    };
    Some(pair.change(
        ChangeKind::ReplayChoiceChanged,
        severity,
        before.map(|choice| choice.to_string()),
        after.map(|choice| choice.to_string()),
    ))
}

/// Medium when a limit appeared or turned into 429s; low when it went away or only its header
/// names changed.
fn rate_limit_change(
    pair: &Pair<'_>,
    before: Option<&RateLimit>,
    after: Option<&RateLimit>,
) -> Option<Change> {
    let was = before.map(RateLimitShape::of);
    let now = after.map(RateLimitShape::of);
    let severity = match (&was, &now) {
        (was, now) if was == now => return None,
        (None, Some(_)) => Severity::Medium,
        (Some(was), Some(now)) if now.status == 429 && was.status != 429 => Severity::Medium,
        _ => Severity::Low,
    };
    Some(pair.change(
        ChangeKind::RateLimitChanged,
        severity,
        was.map(|shape| shape.words()),
        now.map(|shape| shape.words()),
    ))
}

/// What of a rate limit stays put from one scan to the next.
#[derive(Debug, PartialEq, Eq)]
struct RateLimitShape {
    status: u16,
    header_names: BTreeSet<String>,
}

impl RateLimitShape {
    fn of(limit: &RateLimit) -> RateLimitShape {
        RateLimitShape {
            status: limit.status,
            header_names: limit
                .headers
                .iter()
                .map(|header| {
                    let name = header.split_once(':').map_or(header.as_str(), |(n, _)| n);
                    name.trim().to_ascii_lowercase()
                })
                .collect(),
        }
    }

    /// `429 (retry-after, x-ratelimit-remaining)`.
    fn words(&self) -> String {
        if self.header_names.is_empty() {
            return self.status.to_string();
        }
        let names: Vec<&str> = self.header_names.iter().map(String::as_str).collect();
        format!("{} ({})", self.status, names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use recon_contracts::{EndpointValidation, NetworkTier, ReplayProfile};

    use super::*;
    use crate::test_support::{
        choice, drift_between, endpoint, only_change, replayed as ran, World,
    };

    fn validated(result: impl Fn(&recon_contracts::Endpoint) -> EndpointValidation) -> World {
        let items = endpoint("GET", "/api/items");
        World::default()
            .with_result(result(&items))
            .with_endpoint(items)
    }

    #[test]
    fn a_pricier_passing_pair_is_a_high_replay_choice_changed() {
        let plain_direct = choice(ReplayProfile::Plain, NetworkTier::Direct);
        let impersonate_residential = choice(ReplayProfile::Impersonate, NetworkTier::Residential);
        let before = validated(|e| ran(e, Some(plain_direct)));
        let after = validated(|e| ran(e, Some(impersonate_residential)));
        let change = only_change(&before, &after);
        assert_eq!(change.kind, ChangeKind::ReplayChoiceChanged);
        assert_eq!(change.before.as_deref(), Some("plain × direct"));
        assert_eq!(change.after.as_deref(), Some("impersonate × residential"));
        assert_eq!(change.severity, Severity::High);
        assert_eq!(only_change(&after, &before).severity, Severity::Low);
    }

    #[test]
    fn a_cheaper_profile_on_a_pricier_tier_still_costs_more() {
        let before = validated(|e| {
            ran(
                e,
                Some(choice(ReplayProfile::Impersonate, NetworkTier::Direct)),
            )
        });
        let after = validated(|e| {
            ran(
                e,
                Some(choice(ReplayProfile::Plain, NetworkTier::Datacenter)),
            )
        });
        assert_eq!(only_change(&before, &after).severity, Severity::High);
    }

    #[test]
    fn nothing_passing_any_more_is_a_high_replay_choice_changed() {
        let before = validated(|e| ran(e, Some(choice(ReplayProfile::Plain, NetworkTier::Direct))));
        let after = validated(|e| ran(e, None));
        let change = only_change(&before, &after);
        assert_eq!((change.after, change.severity), (None, Severity::High));
    }

    #[test]
    fn an_endpoint_not_replayed_in_one_scan_has_no_replay_changes() {
        let before = validated(|e| ran(e, Some(choice(ReplayProfile::Plain, NetworkTier::Direct))));
        let after = validated(|e| EndpointValidation {
            endpoint_id: e.id.clone(),
            notes: vec!["Not replayed: over the request budget.".into()],
            ..EndpointValidation::default()
        });
        assert!(drift_between(&before, &after).changes.is_empty());
    }

    fn limited(status: u16, headers: &[&str]) -> World {
        validated(|e| EndpointValidation {
            rate_limit: Some(RateLimit {
                status,
                retry_after_secs: Some(30),
                headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            }),
            ..ran(e, Some(choice(ReplayProfile::Plain, NetworkTier::Direct)))
        })
    }

    #[test]
    fn a_new_rate_limit_is_a_medium_rate_limit_changed() {
        let before = validated(|e| ran(e, Some(choice(ReplayProfile::Plain, NetworkTier::Direct))));
        let after = limited(429, &["retry-after: 30", "x-ratelimit-remaining: 0"]);
        let change = only_change(&before, &after);
        assert_eq!(change.kind, ChangeKind::RateLimitChanged);
        assert_eq!(change.before, None);
        assert_eq!(
            change.after.as_deref(),
            Some("429 (retry-after, x-ratelimit-remaining)")
        );
        assert_eq!(change.severity, Severity::Medium);
    }

    #[test]
    fn rate_limit_values_changing_is_not_a_change() {
        let before = limited(
            200,
            &["x-ratelimit-limit: 100", "x-ratelimit-remaining: 99"],
        );
        let after = limited(200, &["X-RateLimit-Limit: 100", "x-ratelimit-remaining: 3"]);
        assert!(drift_between(&before, &after).changes.is_empty());
    }

    #[test]
    fn an_announced_limit_turning_into_429s_is_medium_and_other_names_low() {
        let announced = limited(200, &["x-ratelimit-limit: 100"]);
        let enforced = limited(429, &["x-ratelimit-limit: 100"]);
        assert_eq!(
            only_change(&announced, &enforced).severity,
            Severity::Medium
        );
        let renamed = limited(200, &["ratelimit-policy: 100;w=60"]);
        assert_eq!(only_change(&announced, &renamed).severity, Severity::Low);
    }
}
