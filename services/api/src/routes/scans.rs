//! `POST /scans` and `GET /scans/{id}`. Creating a scan counts against the account's
//! scans-per-hour quota, admitted under the account lock in the transaction that inserts it.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use recon_contracts::{CreateScanRequest, CreateScanResponse, Quota, ScanView};
use recon_runtime::db::scans::{self, NewScan, ScanRecord};
use recon_runtime::{db, quota};

use crate::auth::Account;
use crate::{body, ApiError, AppState};

const MAX_CREATE_BODY: usize = 64 << 10;
const MAX_URL_LEN: usize = 2048;
const MAX_INTENT_LEN: usize = 2000;
pub const DEFAULT_TEMPLATE: &str = "python";

/// A scan request whose fields have been checked.
struct ValidScan {
    target_url: String,
    /// The registrable domain of the target's host.
    site: String,
    intent_text: String,
    starter_template: String,
}

impl ValidScan {
    fn parse(request: CreateScanRequest) -> Result<ValidScan, ApiError> {
        let target_url = request.target_url.trim().to_owned();
        let parsed = url::Url::parse(&target_url).map_err(|err| {
            ApiError::bad_request(
                "invalid_target_url",
                format!("target_url is not a URL: {err}"),
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(ApiError::bad_request(
                "invalid_target_url",
                "target_url must be an http:// or https:// URL with a host",
            ));
        }
        if target_url.len() > MAX_URL_LEN {
            return Err(ApiError::bad_request(
                "invalid_target_url",
                format!("target_url is longer than {MAX_URL_LEN} characters"),
            ));
        }
        let intent_text = request.intent_text.unwrap_or_default().trim().to_owned();
        if intent_text.chars().count() > MAX_INTENT_LEN {
            return Err(ApiError::bad_request(
                "invalid_intent",
                format!("intent_text is longer than {MAX_INTENT_LEN} characters"),
            ));
        }
        let starter_template = request
            .starter_template
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| DEFAULT_TEMPLATE.to_owned());
        let name_ok = starter_template.len() <= 64
            && starter_template
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(ApiError::bad_request(
                "invalid_template",
                "starter_template must be a short name of lowercase letters, digits, - and _",
            ));
        }
        let site =
            recon_knowledge::hosts::registrable_domain(parsed.host_str().unwrap_or_default());
        Ok(ValidScan {
            site,
            target_url,
            intent_text,
            starter_template,
        })
    }
}

pub async fn create(
    State(state): State<AppState>,
    Account(account_id): Account,
    headers: HeaderMap,
    request_body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = body::read_limited(
        request_body,
        &headers,
        MAX_CREATE_BODY,
        &state.settings.http,
    )
    .await?;
    let request: CreateScanRequest = body::parse_json(&bytes, "scan request")?;
    let valid = ValidScan::parse(request)?;
    let limit = state.deps.quotas.scans_per_hour;
    // Refused without waiting for the account lock when the quota is plainly full.
    quota::check_windowed(
        &mut *state.deps.db.acquire().await?,
        account_id,
        Quota::ScansPerHour,
        limit,
        1,
    )
    .await?;
    let client_version = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .and_then(recon_contracts::version::SemVer::from_user_agent)
        .map(|version| version.to_string());
    let mut tx = state.deps.db.begin().await?;
    db::accounts::lock(&mut tx, account_id).await?;
    quota::check_windowed(&mut tx, account_id, Quota::ScansPerHour, limit, 1).await?;
    let scan = scans::insert(
        &mut *tx,
        NewScan {
            account_id,
            target_url: &valid.target_url,
            intent_text: &valid.intent_text,
            starter_template: &valid.starter_template,
            client_version: client_version.as_deref(),
            site: &valid.site,
        },
    )
    .await?;
    db::usage::record(&mut *tx, account_id, Quota::ScansPerHour, 1, Some(scan.id)).await?;
    tx.commit().await?;
    let capture_url = format!("{}/scans/{}/capture", state.public_url, scan.id);
    let location = format!("{}/scans/{}", state.public_url, scan.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(CreateScanResponse {
            scan_id: scan.id,
            status: scan.status,
            capture_url,
        }),
    ))
}

pub async fn show(
    State(state): State<AppState>,
    Account(account_id): Account,
    Path(id): Path<String>,
) -> Result<Json<ScanView>, ApiError> {
    let scan = scans::get_for_account(&state.deps.db, super::scan_id(&id)?, account_id)
        .await?
        .ok_or_else(ApiError::scan_not_found)?;
    Ok(Json(view(&state, &scan)))
}

pub fn view(state: &AppState, scan: &ScanRecord) -> ScanView {
    ScanView {
        id: scan.id,
        target_url: scan.target_url.clone(),
        status: scan.status,
        intent_text: scan.intent_text.clone(),
        starter_template: scan.starter_template.clone(),
        report_url: state.report_url(&scan.report_slug),
        events_url: state.events_url(scan.id),
        error: scan.error.clone(),
        created_at: scan.created_at,
        updated_at: scan.updated_at,
        steps: state.settings.steps.clone(),
    }
}
