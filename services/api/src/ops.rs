//! The operations listener every role serves (`RECON_OPS_LISTEN`): `/healthz`, `/readyz` with
//! each failing check's error text, and `/metrics`. Only here: none of it is for the public.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use recon_runtime::config::HttpSettings;
use recon_runtime::health::Readiness;
use recon_runtime::stage::Deps;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::routes::{healthz, readiness_answer};

pub fn ops_router(deps: Deps) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { crate::ApiError::NotFound("no such endpoint".to_owned()) })
        .layer(axum::middleware::from_fn(crate::guard::shape_errors))
        .with_state(deps)
}

async fn readyz(State(deps): State<Deps>) -> (StatusCode, Json<Value>) {
    readiness_answer(&deps, Readiness::detailed_body).await
}

async fn metrics() -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        recon_runtime::metrics::metrics().render(),
    )
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
