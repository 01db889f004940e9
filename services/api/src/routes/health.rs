//! `/version`, `/healthz` (the process is alive) and `/readyz` (its dependencies answer).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use recon_contracts::version::{VersionInfo, VERSION};
use serde_json::{json, Value};

use crate::AppState;

pub async fn version(State(state): State<AppState>) -> Json<VersionInfo> {
    Json(VersionInfo {
        latest: state.settings.versions.latest_cli.clone(),
        minimum_supported: state.settings.versions.minimum_cli.clone(),
        server_version: VERSION.to_owned(),
    })
}

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let readiness = recon_runtime::health::readiness(&state.deps).await;
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness.body))
}

pub async fn metrics() -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        recon_runtime::metrics::metrics().render(),
    )
}
