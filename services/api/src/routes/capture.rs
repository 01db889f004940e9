//! `POST /scans/{id}/capture`: validate the whole capture, store it, queue the scan, answer
//! 202 — all or nothing. The scan row stays locked from check to commit, and the pipeline
//! message is published before the commit: if the commit then fails, the retried upload
//! republishes with the same `Nats-Msg-Id` and JetStream drops the duplicate.
//!
//! Quotas: concurrent scans and capture bytes per day. Checked once before the body is read
//! (an account over quota costs no decoding), then again under the account lock in the
//! transaction that turns the scan `processing` and records the bytes.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use recon_contracts::{names, CaptureAccepted, Quota, ScanStatus};
use recon_runtime::db::scans;
use recon_runtime::{db, quota};
use sqlx::PgConnection;
use uuid::Uuid;

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
    let scan = scans::get_for_account(&state.deps.db, scan_id, account_id)
        .await?
        .ok_or_else(ApiError::scan_not_found)?;
    let gzip = body::is_gzip(&headers)?;
    // A retried upload of a queued scan is answered below without counting again.
    if scan.status == ScanStatus::Created {
        // A gzip body is stored as sent, so its announced length is what it will count.
        let announced = headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
            .filter(|_| gzip)
            .unwrap_or(1);
        let mut conn = state.deps.db.acquire().await?;
        check_quotas(&mut conn, &state, account_id, announced).await?;
    }

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
        steps: state.settings.steps.clone(),
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
    let size = stored.len() as u64;
    let store = state
        .deps
        .blob_store()
        .map_err(|err| ApiError::Unavailable(format!("could not store the capture: {err}")))?;
    // The scan's row lock, held until commit, makes this the only writer of its capture, so
    // the blob is written while the account's quotas are checked and charged. Refused by a
    // quota, it stays with a scan still `created`, to be replaced by the next upload.
    let quotas = async {
        db::accounts::lock(&mut tx, account_id).await?;
        check_quotas(&mut tx, &state, account_id, size).await?;
        db::usage::record(
            &mut *tx,
            account_id,
            Quota::CaptureBytesPerDay,
            size,
            Some(scan_id),
        )
        .await?;
        Ok::<(), ApiError>(())
    };
    let key = names::capture_key(scan_id);
    let (charged, put) = tokio::join!(quotas, store.put(&key, stored));
    charged?;
    put.map_err(|err| ApiError::Unavailable(format!("could not store the capture: {err}")))?;
    scans::mark_queued(&mut tx, scan_id, &digest, size as i64).await?;
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

/// Refuses the capture when the account already has as many scans in the pipeline as it may,
/// or when `bytes` more would pass its daily capture bytes.
async fn check_quotas(
    conn: &mut PgConnection,
    state: &AppState,
    account_id: Uuid,
    bytes: u64,
) -> Result<(), ApiError> {
    let quotas = &state.deps.quotas;
    quota::check_concurrent_scans(
        conn,
        account_id,
        quotas.concurrent_scans,
        state.deps.pipeline.orphan_after,
    )
    .await?;
    quota::check_windowed(
        conn,
        account_id,
        Quota::CaptureBytesPerDay,
        quotas.capture_bytes_per_day,
        bytes,
    )
    .await?;
    Ok(())
}
