//! Deleting a scan and everything made from it: its blobs (raw and scrubbed capture), then its
//! row, whose deletion cascades to its stage results (the report HTML, JSON and OpenAPI live
//! in the render result) and its events. `DELETE /scans/{id}` and the report-retention sweep
//! (`RECON_REPORT_RETENTION_DAYS`) both delete through [`delete`]. Quota usage is kept: it has
//! no foreign key, so a deleted scan still counts in its window.

use std::time::Duration;

use recon_contracts::names;
use sqlx::PgPool;
use uuid::Uuid;

use crate::blob::{BlobError, BlobStore};

#[derive(Debug, thiserror::Error)]
pub enum DeletionError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("blob store: {0}")]
    Blob(#[from] BlobError),
}

/// What a deletion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    Deleted,
    /// No such scan (of this account): never was, or already deleted.
    NotFound,
    /// The scan is in the pipeline; a stage still writes its results. Nothing was deleted.
    StillProcessing,
}

/// Deletes the scan (only if it belongs to `account_id`, when given). Holds the scan's row from
/// the check to the commit (waiting for an upload that holds it, then seeing what it made), so
/// an upload cannot start the scan meanwhile; the blobs go before
/// the row, so a failure leaves the scan listed and a retry deletes the rest.
pub async fn delete(
    db: &PgPool,
    blob: &dyn BlobStore,
    scan_id: Uuid,
    account_id: Option<Uuid>,
) -> Result<Deletion, DeletionError> {
    let mut tx = db.begin().await?;
    let status: Option<String> = sqlx::query_scalar(
        "SELECT status FROM scans WHERE id = $1 AND ($2::uuid IS NULL OR account_id = $2) \
         FOR UPDATE",
    )
    .bind(scan_id)
    .bind(account_id)
    .fetch_optional(&mut *tx)
    .await?;
    match status.as_deref() {
        None => return Ok(Deletion::NotFound),
        Some("processing") => return Ok(Deletion::StillProcessing),
        Some(_) => {}
    }
    blob.delete(&names::capture_key(scan_id)).await?;
    blob.delete(&names::scrubbed_capture_key(scan_id)).await?;
    sqlx::query("DELETE FROM scans WHERE id = $1")
        .bind(scan_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Deletion::Deleted)
}

/// Most scans one retention sweep deletes; the next sweep takes the rest.
const RETENTION_BATCH: i64 = 200;

/// Deletes scans that ended more than `retention` ago, and scans that never started (no capture
/// was ever queued) whose last change is that old. Returns how many it deleted.
pub async fn sweep_expired(
    db: &PgPool,
    blob: &dyn BlobStore,
    retention: Duration,
) -> Result<usize, DeletionError> {
    let due: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM scans \
         WHERE (status IN ('complete', 'errored') \
                AND COALESCE(completed_at, updated_at) <= now() - make_interval(secs => $1)) \
            OR (status = 'created' AND updated_at <= now() - make_interval(secs => $1)) \
         LIMIT $2",
    )
    .bind(retention.as_secs_f64())
    .bind(RETENTION_BATCH)
    .fetch_all(db)
    .await?;
    let mut deleted = 0;
    for scan_id in due {
        if delete(db, blob, scan_id, None).await? == Deletion::Deleted {
            deleted += 1;
        }
    }
    Ok(deleted)
}
