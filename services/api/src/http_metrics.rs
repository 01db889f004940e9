//! Records every request's latency by route pattern and status, and counts requests by the CLI
//! version in their User-Agent. The User-Agent is the client's to choose, so only released
//! versions become a label: numbered like a release, no newer than the latest one advertised,
//! and at most [`MAX_VERSION_LABELS`] of them; everything else counts as `other`. The same
//! label, with the account the request's key belongs to, goes to the version tally that the
//! admin's version banner reads.

use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use recon_contracts::version::SemVer;
use recon_runtime::metrics::{metrics, HttpLabels, VersionLabels};

use crate::auth::AccountSlot;
use crate::AppState;

/// The 0.2.x CLIs' endpoint, whose callers the version banner counts apart.
const LEGACY_ROUTE: &str = "/scans/{id}/complete";

/// The most distinct versions ever labelled: a bound on the series however many releases below
/// the latest someone claims to run.
pub const MAX_VERSION_LABELS: usize = 64;
const OTHER: &str = "other";

pub async fn record(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let announced = request
        .headers()
        .get(axum::http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .and_then(SemVer::release_from_user_agent);
    let latest = SemVer::parse(&state.settings.versions.latest_cli);
    let version = version_label(&SEEN, announced, latest);
    metrics()
        .client_requests
        .get_or_create(&VersionLabels {
            version: version.clone(),
        })
        .inc();
    let account = AccountSlot::default();
    request.extensions_mut().insert(account.clone());
    let legacy = route == LEGACY_ROUTE;
    let response = next.run(request).await;
    state.version_tally.count(version, account.get(), legacy);
    metrics().observe_http(
        HttpLabels {
            method,
            route,
            status: response.status().as_u16(),
        },
        started.elapsed(),
    );
    response
}

/// The versions labelled so far in this process.
static SEEN: Mutex<Vec<SemVer>> = Mutex::new(Vec::new());

/// The label of a request announcing `announced` (a release-numbered version, if any). Logs each
/// version's first request, so the log shows which CLIs are in use without a line per request.
fn version_label(
    seen: &Mutex<Vec<SemVer>>,
    announced: Option<SemVer>,
    latest: Option<SemVer>,
) -> String {
    let (Some(version), Some(latest)) = (announced, latest) else {
        return OTHER.to_owned();
    };
    if version > latest {
        return OTHER.to_owned();
    }
    let Ok(mut seen) = seen.lock() else {
        return OTHER.to_owned();
    };
    if !seen.contains(&version) {
        if seen.len() >= MAX_VERSION_LABELS {
            return OTHER.to_owned();
        }
        seen.push(version);
        tracing::info!(client_version = %version, "first request from this client version");
    }
    version.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(seen: &Mutex<Vec<SemVer>>, user_agent: &str) -> String {
        version_label(
            seen,
            SemVer::release_from_user_agent(user_agent),
            SemVer::parse("0.3.0"),
        )
    }

    #[test]
    fn releases_up_to_the_latest_are_labelled() {
        let seen = Mutex::new(Vec::new());
        assert_eq!(label(&seen, "browser-recon/0.3.0"), "0.3.0");
        assert_eq!(label(&seen, "browser-recon/0.2.9 (linux)"), "0.2.9");
        assert_eq!(label(&seen, "browser-recon/0.2.9"), "0.2.9");
        for other in [
            "browser-recon/0.3.1",
            "browser-recon/9.0.0",
            "browser-recon/0.3.0-rc.1",
            "browser-recon/0.3",
            "browser-recon/0.2.0009",
            "curl/8.0",
            "",
        ] {
            assert_eq!(label(&seen, other), OTHER, "{other:?}");
        }
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[test]
    fn the_labels_are_bounded_even_for_claimed_old_releases() {
        let seen = Mutex::new(Vec::new());
        let labelled = (0..1000)
            .map(|patch| label(&seen, &format!("browser-recon/0.2.{patch}")))
            .filter(|label| label != OTHER)
            .count();
        assert_eq!(labelled, MAX_VERSION_LABELS);
        assert_eq!(seen.lock().unwrap().len(), MAX_VERSION_LABELS);
        // Versions labelled before the bound keep their label.
        assert_eq!(label(&seen, "browser-recon/0.2.0"), "0.2.0");
    }
}
