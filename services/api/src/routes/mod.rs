//! The route table (DESIGN.md § HTTP API).

mod account;
mod capture;
mod events;
mod health;
mod keys;
mod legacy;
mod reports;
mod scan_list;
mod scans;

use axum::routing::{delete, get, post};
use axum::Router;
use uuid::Uuid;

pub(crate) use health::{healthz, readiness_answer};

use crate::{ApiError, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/account", get(account::show))
        .route("/account/keys", get(keys::list).post(keys::create))
        .route("/account/keys/{id}", delete(keys::revoke))
        .route("/scans", post(scans::create).get(scan_list::list))
        .route("/scans/{id}", get(scans::show).delete(scan_list::delete))
        .route("/scans/{id}/capture", post(capture::upload))
        .route("/scans/{id}/events", get(events::list))
        .route("/scans/{id}/ws", get(events::websocket))
        .route("/scans/{id}/complete", post(legacy::complete))
        .route("/r/{slug}", get(reports::show))
        .route("/r/{slug}/openapi.json", get(reports::openapi))
        .route("/version", get(health::version))
        .merge(crate::admin::router())
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(|| async { ApiError::NotFound("no such endpoint".to_owned()) })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::client_version::require_supported_client,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http_metrics::record,
        ))
        .layer(axum::middleware::from_fn(crate::pace::pace_refusals))
        .layer(axum::middleware::from_fn(crate::guard::shape_errors))
        // INFO, not the default DEBUG: this span is the root of a scan's trace, so it must
        // exist at the usual log level for the trace context to reach NATS.
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::INFO),
            ),
        )
        .with_state(state)
}

/// A scan id from the path; anything that is not a UUID cannot be a scan.
fn scan_id(text: &str) -> Result<Uuid, ApiError> {
    text.parse().map_err(|_| ApiError::scan_not_found())
}
