//! `/admin/api/versions`, `/admin/api/accounts`, `/admin/api/scans`: the admin page's data as
//! JSON, in the shapes `recon-server admin … --json` prints.

use axum::extract::State;
use axum::Json;
use recon_contracts::admin::{AccountsReport, ScansReport, VersionReport};
use recon_runtime::admin_reports;

use super::Admin;
use crate::{ApiError, AppState};

fn log_view(admin: &Admin, what: &str) {
    tracing::info!(
        account_id = %admin.account_id,
        key_id = %admin.key_id,
        report = what,
        "admin action: report viewed"
    );
}

pub async fn versions(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<Json<VersionReport>, ApiError> {
    log_view(&admin, "versions");
    Ok(Json(
        admin_reports::versions(&state.deps.db, &state.settings.versions).await?,
    ))
}

pub async fn accounts(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<Json<AccountsReport>, ApiError> {
    log_view(&admin, "accounts");
    Ok(Json(
        admin_reports::accounts(&state.deps.db, &state.deps.quotas).await?,
    ))
}

pub async fn scans(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<Json<ScansReport>, ApiError> {
    log_view(&admin, "scans");
    Ok(Json(admin_reports::scans(&state.deps.db).await?))
}
