//! `/version`, `/healthz` (the process is alive) and `/readyz` (its dependencies answer). The
//! public `/readyz` says which checks fail but not why; the operations listener says why.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use recon_contracts::version::{VersionInfo, VERSION};
use recon_runtime::health::Readiness;
use recon_runtime::stage::Deps;
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
    readiness_answer(&state.deps, Readiness::public_body).await
}

/// 200 when ready, else 503, with the body `describe` makes of the checks.
pub async fn readiness_answer(
    deps: &Deps,
    describe: impl Fn(&Readiness) -> Value,
) -> (StatusCode, Json<Value>) {
    let readiness = recon_runtime::health::readiness(deps).await;
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(describe(&readiness)))
}
