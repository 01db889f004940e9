//! The operations listener every role serves (`RECON_OPS_LISTEN`): `/healthz`, `/readyz` and
//! `/metrics`, so probes and scrapes work the same for stages as for the api.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use recon_runtime::config::HttpSettings;
use recon_runtime::stage::Deps;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub fn ops_router(deps: Deps) -> Router {
    Router::new()
        .route("/healthz", get(crate::routes::healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::routes::metrics))
        .fallback(|| async { crate::ApiError::NotFound("no such endpoint".to_owned()) })
        .layer(axum::middleware::from_fn(crate::guard::shape_errors))
        .with_state(deps)
}

async fn readyz(State(deps): State<Deps>) -> (StatusCode, Json<Value>) {
    let readiness = recon_runtime::health::readiness(&deps).await;
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness.body))
}

/// Serves the operations endpoints on `listener` until `shutdown`, with the same header
/// deadline and caps as the api.
pub async fn serve_ops(
    listener: tokio::net::TcpListener,
    deps: Deps,
    http: HttpSettings,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let grace = deps.pipeline.shutdown_grace;
    crate::serve::serve(listener, ops_router(deps), &http, grace, shutdown).await
}
