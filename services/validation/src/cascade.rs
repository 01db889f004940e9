//! The replay cascade for one endpoint: tiers cheapest first (direct, then the proxies), and
//! within a tier the client profiles cheapest first; stop at the first pass unless the full
//! matrix was asked for. Rate limits are honoured: wait for Retry-After once, then move on.

use std::time::Duration;

use recon_contracts::{RateLimit, ReplayAttempt, ReplayChoice, ReplayProfile, RequestRecord};

use crate::guard::Refusal;
use crate::proxy::{ProxyTier, Route};
use crate::ratelimit::rate_limit_of;
use crate::replay::{ExchangeFailure, Outcome, Replayer};
use crate::request::ReplayRequest;

pub const PROFILES: [ReplayProfile; 4] = [
    ReplayProfile::Plain,
    ReplayProfile::BrowserHeaders,
    ReplayProfile::BrowserSession,
    ReplayProfile::Impersonate,
];

/// Longest Retry-After the cascade waits out; a longer one ends the tier.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The pause after a 429 that names no Retry-After.
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct CascadeResult {
    pub attempts: Vec<ReplayAttempt>,
    pub best: Option<ReplayChoice>,
    /// The route the best choice used (sticky session included), for the diagnosis.
    pub best_route: Option<Route>,
    pub rate_limit: Option<RateLimit>,
    pub notes: Vec<String>,
    /// Why the guard stopped the cascade, when it did.
    pub refusal: Option<Refusal>,
    pub sent: u32,
}

pub async fn run_cascade(
    replayer: &Replayer<'_>,
    record: &RequestRecord,
    tiers: &[ProxyTier],
    full_matrix: bool,
    session_id: &str,
) -> CascadeResult {
    let mut result = CascadeResult::default();
    let routes: Vec<Route> = std::iter::once(Route::Direct)
        .chain(tiers.iter().map(|tier| tier.route(session_id)))
        .collect();
    let has_cookies = !ReplayRequest::for_profile(record, ReplayProfile::BrowserSession)
        .cookies
        .is_empty();
    'tiers: for route in &routes {
        for profile in PROFILES {
            if profile == ReplayProfile::BrowserSession && !has_cookies {
                // Without captured cookies it is the browser-headers request again.
                continue;
            }
            let request = ReplayRequest::for_profile(record, profile);
            let outcome =
                attempt_with_backoff(replayer, record, &request, profile, route, &mut result).await;
            match &outcome.failure {
                Some(ExchangeFailure::Budget(exhausted)) => {
                    result.notes.push(format!("Stopped early: {exhausted}."));
                    break 'tiers;
                }
                Some(ExchangeFailure::Refused(refusal)) => {
                    // Every tier would meet the same refusal: the target, not the route, is wrong.
                    result.refusal = Some(refusal.clone());
                    break 'tiers;
                }
                _ => {}
            }
            let still_limited = outcome.rate_limited;
            if outcome.passed() && result.best.is_none() {
                result.best = Some(ReplayChoice {
                    profile,
                    tier: route.tier(),
                });
                result.best_route = Some(route.clone());
            }
            if result.best.is_some() && !full_matrix {
                break 'tiers;
            }
            if still_limited {
                // Another profile from the same address meets the same limit: try the next tier.
                result.notes.push(format!(
                    "Still rate limited on the {} tier after backing off; moved on.",
                    route.tier().name()
                ));
                continue 'tiers;
            }
        }
    }
    result
}

/// One attempt; on a rate limit, waits (up to [`MAX_BACKOFF`]) and tries once more. Both
/// attempts are recorded.
async fn attempt_with_backoff(
    replayer: &Replayer<'_>,
    record: &RequestRecord,
    request: &ReplayRequest,
    profile: ReplayProfile,
    route: &Route,
    result: &mut CascadeResult,
) -> Outcome {
    let mut outcome = replayer.attempt(record, request, profile, route).await;
    record_outcome(&outcome, result);
    if outcome.rate_limited {
        let wait = outcome.backoff();
        let host = url::Url::parse(&request.url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_default();
        replayer.pacer.hold(&host, wait.min(MAX_BACKOFF));
        if wait <= MAX_BACKOFF {
            outcome = replayer.attempt(record, request, profile, route).await;
            record_outcome(&outcome, result);
        }
    }
    outcome
}

fn record_outcome(outcome: &Outcome, result: &mut CascadeResult) {
    result.sent += outcome.sent;
    if matches!(outcome.failure, Some(ExchangeFailure::Budget(_))) && outcome.sent == 0 {
        // Nothing was sent: not an attempt, the cascade notes why it stopped.
        return;
    }
    result.attempts.push(outcome.attempt.clone());
    if let Some(response) = &outcome.response {
        if let Some(limit) = rate_limit_of(response.status, &response.headers) {
            // A 429 says more than informative headers on a 200; keep the strongest.
            let stronger = match &result.rate_limit {
                None => true,
                Some(seen) => seen.status != 429 && limit.status == 429,
            };
            if stronger {
                result.rate_limit = Some(limit);
            }
        }
    }
}
