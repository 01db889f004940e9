//! The route table (DESIGN.md § HTTP API).

mod capture;
mod events;
mod health;
mod reports;
mod scans;

use axum::routing::{get, post};
use axum::Router;
use uuid::Uuid;

use crate::{ApiError, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/scans", post(scans::create))
        .route("/scans/{id}", get(scans::show))
        .route("/scans/{id}/capture", post(capture::upload))
        .route("/scans/{id}/events", get(events::list))
        .route("/scans/{id}/ws", get(events::websocket))
        .route("/r/{slug}", get(reports::show))
        .route("/version", get(health::version))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(|| async { ApiError::NotFound("no such endpoint".to_owned()) })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::client_version::require_supported_client,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// A scan id from the path; anything that is not a UUID cannot be a scan.
fn scan_id(text: &str) -> Result<Uuid, ApiError> {
    text.parse().map_err(|_| ApiError::scan_not_found())
}
