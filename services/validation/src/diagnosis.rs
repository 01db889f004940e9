//! Diagnosis after a pass that needed the browser's headers or cookies: drop them one at a
//! time (within the budget) and keep only those whose removal breaks the replay.

use recon_contracts::{MinimalRequest, ReplayChoice, ReplayProfile, RequestRecord};

use crate::cascade::MAX_BACKOFF;

use crate::proxy::Route;
use crate::replay::{ExchangeFailure, Replayer};
use crate::request::ReplayRequest;

#[derive(Debug, Default)]
pub struct Diagnosis {
    pub minimal: MinimalRequest,
    /// Names whose necessity could not be tested (budget spent, rate limited): kept.
    pub untested: Vec<String>,
    pub sent: u32,
}

pub async fn minimize(
    replayer: &Replayer<'_>,
    record: &RequestRecord,
    choice: ReplayChoice,
    route: &Route,
) -> Option<Diagnosis> {
    if choice.profile == ReplayProfile::Plain {
        return None;
    }
    let mut current = ReplayRequest::for_profile(record, choice.profile);
    let mut diagnosis = Diagnosis::default();
    let mut stopped = false;
    let cookies: Vec<String> = current
        .cookies
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    for name in cookies {
        if stopped {
            diagnosis.untested.push(format!("cookie {name}"));
            diagnosis.minimal.cookies.push(name);
            continue;
        }
        let candidate = current.without_cookie(&name);
        match still_passes(replayer, record, &candidate, choice, route, &mut diagnosis).await {
            Some(true) => current = candidate,
            Some(false) => diagnosis.minimal.cookies.push(name),
            None => {
                stopped = true;
                diagnosis.untested.push(format!("cookie {name}"));
                diagnosis.minimal.cookies.push(name);
            }
        }
    }
    let headers: Vec<String> = current
        .headers
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    for name in headers {
        if stopped {
            diagnosis.untested.push(format!("header {name}"));
            diagnosis.minimal.headers.push(name);
            continue;
        }
        let candidate = current.without_header(&name);
        match still_passes(replayer, record, &candidate, choice, route, &mut diagnosis).await {
            Some(true) => current = candidate,
            Some(false) => diagnosis.minimal.headers.push(name),
            None => {
                stopped = true;
                diagnosis.untested.push(format!("header {name}"));
                diagnosis.minimal.headers.push(name);
            }
        }
    }
    Some(diagnosis)
}

/// `None` when the test could not be made (budget, rate limit, network).
async fn still_passes(
    replayer: &Replayer<'_>,
    record: &RequestRecord,
    candidate: &ReplayRequest,
    choice: ReplayChoice,
    route: &Route,
    diagnosis: &mut Diagnosis,
) -> Option<bool> {
    let mut outcome = replayer
        .attempt(record, candidate, choice.profile, route)
        .await;
    diagnosis.sent += outcome.sent;
    if outcome.rate_limited {
        // Back off once, as the cascade does; a second refusal ends the diagnosis.
        let wait = outcome.backoff();
        if wait > MAX_BACKOFF {
            return None;
        }
        if let Ok(url) = url::Url::parse(&candidate.url) {
            replayer
                .pacer
                .hold(url.host_str().unwrap_or_default(), wait);
        }
        outcome = replayer
            .attempt(record, candidate, choice.profile, route)
            .await;
        diagnosis.sent += outcome.sent;
        if outcome.rate_limited {
            return None;
        }
    }
    match outcome.failure {
        Some(ExchangeFailure::Transport(_) | ExchangeFailure::Budget(_)) => None,
        Some(_) => Some(false),
        None => Some(outcome.passed()),
    }
}
