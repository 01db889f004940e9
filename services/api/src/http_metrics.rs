//! Records every request's latency by route pattern and status, and counts requests by the CLI
//! version in their User-Agent.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use recon_contracts::version::SemVer;
use recon_runtime::metrics::{metrics, HttpLabels, VersionLabels};

pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let version = request
        .headers()
        .get(axum::http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .and_then(SemVer::from_user_agent)
        .map(|version| version.to_string())
        .unwrap_or_else(|| "other".to_owned());
    log_first_sighting(&version);
    metrics()
        .client_requests
        .get_or_create(&VersionLabels { version })
        .inc();
    let response = next.run(request).await;
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

/// Logs each client version once per process, so the log shows which CLIs are in use without a
/// line per request.
fn log_first_sighting(version: &str) {
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let Ok(mut seen) = SEEN.lock() else {
        return;
    };
    if seen.len() < 256 && !seen.iter().any(|known| known == version) {
        seen.push(version.to_owned());
        tracing::info!(client_version = %version, "first request from this client version");
    }
}
