//! Raw-capture retention: the raw capture holds live cookies and tokens, so it is deleted from
//! the blob store once its scan has ended (complete or errored) and the grace period has passed.
//! Runs beside the scrub stage; several replicas may sweep at once (deletes are idempotent).

use std::time::Duration;

use recon_runtime::blob::{BlobError, BlobStore};
use recon_runtime::stage::Deps;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use uuid::Uuid;

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
        match sweep_once(&deps.db, deps.blob.as_ref(), grace).await {
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

/// Deletes the raw captures of scans that ended more than `grace` ago; returns how many.
pub async fn sweep_once(
    db: &PgPool,
    blob: &dyn BlobStore,
    grace: Duration,
) -> Result<usize, RetentionError> {
    let due: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT id FROM scans \
         WHERE status IN ('complete', 'errored') AND raw_capture_deleted_at IS NULL \
           AND COALESCE(completed_at, updated_at) <= now() - make_interval(secs => $1) \
         ORDER BY COALESCE(completed_at, updated_at) LIMIT $2",
    )
    .bind(grace.as_secs_f64())
    .bind(BATCH)
    .fetch_all(db)
    .await?;
    let mut deleted = 0;
    for (scan_id,) in due {
        blob.delete(&recon_contracts::names::capture_key(scan_id))
            .await?;
        sqlx::query(
            "UPDATE scans SET raw_capture_deleted_at = now() \
             WHERE id = $1 AND raw_capture_deleted_at IS NULL",
        )
        .bind(scan_id)
        .execute(db)
        .await?;
        deleted += 1;
    }
    Ok(deleted)
}
