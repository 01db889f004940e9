//! `/version`, `/healthz` (the process is alive) and `/readyz` (its dependencies answer).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use recon_contracts::version::{VersionInfo, VERSION};
use serde_json::{json, Value};

use crate::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

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
    let deps = &state.deps;
    let (database, blob) = tokio::join!(
        with_timeout(async {
            recon_runtime::db::check(&deps.db)
                .await
                .map_err(|err| err.to_string())
        }),
        with_timeout(async { deps.blob.check().await.map_err(|err| err.to_string()) }),
    );
    let nats: Result<(), String> = if deps.bus.is_connected() {
        Ok(())
    } else {
        Err("not connected".to_owned())
    };
    let ready = database.is_ok() && blob.is_ok() && nats.is_ok();
    let describe = |result: &Result<(), String>| match result {
        Ok(()) => json!("ok"),
        Err(err) => json!(err),
    };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": {
            "database": describe(&database),
            "nats": describe(&nats),
            "blob_store": describe(&blob),
        }
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

async fn with_timeout(
    check: impl std::future::Future<Output = Result<(), String>>,
) -> Result<(), String> {
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err("timed out".to_owned()))
}
