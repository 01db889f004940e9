//! Raw-capture retention: the raw capture holds live cookies and tokens, so it is deleted from
//! the blob store once its scan has ended (complete or errored) and the grace period has passed,
//! and also when the scan never started: an upload stores the blob before it queues the scan,
//! so a failed queueing (or a crash in between) leaves a `created` scan with a stored capture.
//! Runs beside the scrub stage; several replicas may sweep at once (deletes are idempotent).

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use uuid::Uuid;

use crate::blob::{BlobError, BlobStore};
use crate::stage::Deps;

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("blob store: {0}")]
    Blob(#[from] BlobError),
}

/// Most scans handled per sweep; the next sweep takes the rest.
const BATCH: i64 = 200;

/// Sweeps until `shutdown`, every `grace / 2` (between one second and one minute).
pub async fn run(deps: Deps, shutdown: CancellationToken) -> Result<(), RetentionError> {
    let grace = deps.retention.raw_capture_grace;
    let period = (grace / 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
    info!(
        grace_secs = grace.as_secs_f64(),
        "raw-capture retention running"
    );
    loop {
        let blob = deps.blob_store()?;
        match sweep_once(&deps.db, blob, grace).await {
            Ok(0) => {}
            Ok(deleted) => info!(deleted, "raw captures deleted after their grace period"),
            Err(err) => warn!(error = %err, "raw-capture retention sweep failed; will retry"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(period) => {}
        }
    }
}

/// Deletes the raw captures of scans that ended more than `grace` ago and of scans still
/// `created` `grace` after their last change; returns how many scans it swept.
pub async fn sweep_once(
    db: &PgPool,
    blob: &dyn BlobStore,
    grace: Duration,
) -> Result<usize, RetentionError> {
    Ok(sweep(db, blob, grace, &ENDED).await? + sweep(db, blob, grace, &UNSTARTED).await?)
}

/// Which scans a sweep takes: those matching `condition` whose `since` is `grace` old.
struct Due {
    condition: &'static str,
    since: &'static str,
}

const ENDED: Due = Due {
    condition: "status IN ('complete', 'errored')",
    since: "COALESCE(completed_at, updated_at)",
};

/// Scans that never started. Most never had a capture stored (the delete is then a no-op);
/// each is marked so it is swept once, and an upload that then starts the scan clears the mark.
const UNSTARTED: Due = Due {
    condition: "status = 'created'",
    since: "updated_at",
};

async fn sweep(
    db: &PgPool,
    blob: &dyn BlobStore,
    grace: Duration,
    due: &Due,
) -> Result<usize, RetentionError> {
    let Due { condition, since } = due;
    let candidates: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT id FROM scans \
         WHERE {condition} AND raw_capture_deleted_at IS NULL \
           AND {since} <= now() - make_interval(secs => $1) \
         ORDER BY {since} LIMIT $2"
    ))
    .bind(grace.as_secs_f64())
    .bind(BATCH)
    .fetch_all(db)
    .await?;
    let mut swept = 0;
    for scan_id in candidates {
        if sweep_one(db, blob, scan_id, condition).await? {
            swept += 1;
        }
    }
    Ok(swept)
}

/// Deletes one scan's raw capture and marks it, holding the scan's row meanwhile. An upload in
/// flight holds that row from before it stores the blob until it commits, so a locked row is
/// skipped (the next sweep looks again), never swept under the upload's feet.
async fn sweep_one(
    db: &PgPool,
    blob: &dyn BlobStore,
    scan_id: Uuid,
    condition: &str,
) -> Result<bool, RetentionError> {
    let mut tx = db.begin().await?;
    let still_due: Option<Uuid> = sqlx::query_scalar(&format!(
        "SELECT id FROM scans \
         WHERE id = $1 AND {condition} AND raw_capture_deleted_at IS NULL \
         FOR UPDATE SKIP LOCKED"
    ))
    .bind(scan_id)
    .fetch_optional(&mut *tx)
    .await?;
    if still_due.is_none() {
        return Ok(false);
    }
    blob.delete(&recon_contracts::names::capture_key(scan_id))
        .await?;
    sqlx::query("UPDATE scans SET raw_capture_deleted_at = now() WHERE id = $1")
        .bind(scan_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}
