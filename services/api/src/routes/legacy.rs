//! `POST /scans/{id}/complete`: 0.2.x CLIs posted their locally computed validation here. Until
//! the configured sunset the request is accepted (the server runs its own validation, so the
//! body is read, checked to be JSON and not stored) with `Deprecation` and `Sunset` headers;
//! after it, 410 Gone with the upgrade command.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::auth::Account;
use crate::{body, ApiError, AppState};

const MAX_LEGACY_BODY: usize = 1 << 20;
pub const UPGRADE_COMMAND: &str = "pipx upgrade browser-recon";

pub async fn complete(
    State(state): State<AppState>,
    Account(account_id): Account,
    Path(id): Path<String>,
    headers: HeaderMap,
    request_body: Body,
) -> Result<Response, ApiError> {
    let sunset = state.settings.versions.legacy_complete_sunset;
    if chrono::Utc::now() >= sunset {
        return Err(ApiError::Gone(format!(
            "this endpoint of browser-recon 0.2.x was retired on {}; upgrade with: {UPGRADE_COMMAND}",
            sunset.format("%Y-%m-%d")
        )));
    }
    let scan =
        recon_runtime::db::scans::get_for_account(&state.deps.db, super::scan_id(&id)?, account_id)
            .await?
            .ok_or_else(ApiError::scan_not_found)?;
    let bytes = body::read_limited(
        request_body,
        &headers,
        MAX_LEGACY_BODY,
        &state.settings.http,
    )
    .await?;
    let bytes = if body::is_gzip(&headers)? {
        body::inflate(&bytes, MAX_LEGACY_BODY)?
    } else {
        bytes.to_vec()
    };
    body::parse_json::<serde_json::Value>(&bytes, "legacy completion body")?;
    tracing::info!(scan_id = %scan.id, "legacy 0.2.x completion accepted (deprecated)");
    let mut response = (
        StatusCode::ACCEPTED,
        Json(json!({
            "scan_id": scan.id,
            "status": scan.status,
            "deprecated": true,
            "sunset": sunset.to_rfc3339(),
            "message": format!(
                "browser-recon 0.2.x is deprecated: the server now validates endpoints itself; \
                 upgrade with: {UPGRADE_COMMAND}"
            ),
        })),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert("deprecation", HeaderValue::from_static("true"));
    if let Ok(value) = HeaderValue::from_str(&sunset.to_rfc2822()) {
        headers.insert("sunset", value);
    }
    headers.insert(
        header::WARNING,
        HeaderValue::from_static("299 - \"deprecated API: upgrade browser-recon\""),
    );
    Ok(response)
}
