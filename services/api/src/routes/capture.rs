//! `POST /scans/{id}/capture`: validate the whole capture, store it, queue the scan, answer
//! 202 — all or nothing. The scan row stays locked from check to commit, and the pipeline
//! message is published before the commit: if the commit then fails, the retried upload
//! republishes with the same `Nats-Msg-Id` and JetStream drops the duplicate.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use recon_contracts::{names, CaptureAccepted, ScanStatus};
use recon_runtime::db::scans;

use crate::auth::Account;
use crate::{body, ApiError, AppState};

pub async fn upload(
    State(state): State<AppState>,
    Account(account_id): Account,
    Path(id): Path<String>,
    headers: HeaderMap,
    request_body: Body,
) -> Result<(StatusCode, Json<CaptureAccepted>), ApiError> {
    let scan_id = super::scan_id(&id)?;
    let limits = &state.deps.limits;
    // Unknown scans are refused before the body is read.
    scans::get_for_account(&state.deps.db, scan_id, account_id)
        .await?
        .ok_or_else(ApiError::scan_not_found)?;

    let gzip = body::is_gzip(&headers)?;
    let wire = body::read_limited(
        request_body,
        &headers,
        limits.max_capture_bytes,
        &state.settings.http,
    )
    .await?;
    let decoded = state.decoder.decode(wire, gzip, limits.clone()).await?;
    let digest = decoded.digest;
    let stored = decoded.stored;

    let mut tx = state.deps.db.begin().await?;
    let scan = scans::lock_for_account(&mut tx, scan_id, account_id)
        .await?
        .ok_or_else(ApiError::scan_not_found)?;
    let accepted = CaptureAccepted {
        scan_id,
        status: "queued".to_owned(),
        events_url: state.events_url(scan_id),
        report_url: state.report_url(&scan.report_slug),
    };
    if scan.status != ScanStatus::Created {
        // A retry of the same upload (e.g. after a client timeout) gets the same answer.
        if scan.capture_sha256.as_deref() == Some(digest.as_slice()) {
            return Ok((StatusCode::ACCEPTED, Json(accepted)));
        }
        return Err(ApiError::Conflict {
            code: "capture_already_uploaded",
            message: format!(
                "scan {scan_id} already has a capture (status {}); create a new scan",
                scan.status.as_str()
            ),
        });
    }
    let size = stored.len() as i64;
    state
        .deps
        .blob
        .put(&names::capture_key(scan_id), stored)
        .await
        .map_err(|err| ApiError::Unavailable(format!("could not store the capture: {err}")))?;
    scans::mark_queued(&mut tx, scan_id, &digest, size).await?;
    state
        .deps
        .bus
        .publish_stage(scan_id, names::SCAN_CAPTURED)
        .await
        .map_err(|err| ApiError::Unavailable(format!("could not queue the scan: {err}")))?;
    tx.commit().await?;
    tracing::info!(%scan_id, bytes = size, requests = decoded.requests, "capture queued");
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}
