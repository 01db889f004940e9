//! The `scans` table: creation, status transitions, and look-ups by id, account and slug.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;
use recon_contracts::ScanStatus;
use sqlx::{PgExecutor, PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRecord {
    pub id: Uuid,
    pub account_id: Uuid,
    pub target_url: String,
    pub intent_text: String,
    pub starter_template: String,
    pub status: ScanStatus,
    pub report_slug: String,
    pub client_version: Option<String>,
    pub error: Option<String>,
    pub capture_sha256: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewScan<'a> {
    pub account_id: Uuid,
    pub target_url: &'a str,
    pub intent_text: &'a str,
    pub starter_template: &'a str,
    pub client_version: Option<&'a str>,
}

pub(crate) const COLUMNS: &str =
    "id, account_id, target_url, intent_text, starter_template, status, \
     report_slug, client_version, error, capture_sha256, created_at, updated_at";

pub(crate) fn from_row(row: &sqlx::postgres::PgRow) -> Result<ScanRecord, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(ScanRecord {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        target_url: row.try_get("target_url")?,
        intent_text: row.try_get("intent_text")?,
        starter_template: row.try_get("starter_template")?,
        status: ScanStatus::parse(&status).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "status".into(),
            source: format!("unknown scan status {status:?}").into(),
        })?,
        report_slug: row.try_get("report_slug")?,
        client_version: row.try_get("client_version")?,
        error: row.try_get("error")?,
        capture_sha256: row.try_get("capture_sha256")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// An unguessable slug: the report URL is a capability, shareable without an API key.
fn new_slug() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(22)
        .map(char::from)
        .collect()
}

pub async fn insert(
    executor: impl PgExecutor<'_>,
    scan: NewScan<'_>,
) -> Result<ScanRecord, sqlx::Error> {
    let row = sqlx::query(&format!(
        "INSERT INTO scans (id, account_id, target_url, intent_text, starter_template, \
         report_slug, client_version) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(scan.account_id)
    .bind(scan.target_url)
    .bind(scan.intent_text)
    .bind(scan.starter_template)
    .bind(new_slug())
    .bind(scan.client_version)
    .fetch_one(executor)
    .await?;
    from_row(&row)
}

/// A scan as its owner sees it; another account's scan is `None`, like a missing one.
pub async fn get_for_account(
    pool: &PgPool,
    id: Uuid,
    account_id: Uuid,
) -> Result<Option<ScanRecord>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM scans WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<ScanRecord>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM scans WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn get_by_slug(pool: &PgPool, slug: &str) -> Result<Option<ScanRecord>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM scans WHERE report_slug = $1"
    ))
    .bind(slug)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Locks the scan row for the rest of the transaction (capture ingest holds it while it
/// stores the blob and queues the scan, so two uploads cannot interleave).
pub async fn lock_for_account(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    account_id: Uuid,
) -> Result<Option<ScanRecord>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM scans WHERE id = $1 AND account_id = $2 FOR UPDATE"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(&mut **tx)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// The capture is stored and the scan starts. A scan the retention sweep passed over while it
/// waited for its upload has a raw capture again, to be deleted once the scan ends.
pub async fn mark_queued(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    capture_sha256: &[u8],
    capture_bytes: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE scans SET status = 'processing', capture_sha256 = $2, capture_bytes = $3, \
         raw_capture_deleted_at = NULL, queued_at = now(), updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(capture_sha256)
    .bind(capture_bytes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks a scan complete unless it already ended in error.
pub async fn mark_complete(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE scans SET status = 'complete', completed_at = now(), updated_at = now() \
         WHERE id = $1 AND status <> 'errored'",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn mark_errored(pool: &PgPool, id: Uuid, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE scans SET status = 'errored', error = $2, completed_at = now(), \
         updated_at = now() WHERE id = $1 AND status <> 'complete'",
    )
    .bind(id)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records that a stage touched the scan, for the orphan sweep.
pub async fn touch(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE scans SET updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Scans of the account now in the pipeline.
pub async fn count_processing(
    executor: impl PgExecutor<'_>,
    account_id: Uuid,
) -> Result<u64, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM scans WHERE account_id = $1 AND status = 'processing'",
    )
    .bind(account_id)
    .fetch_one(executor)
    .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// When the account's oldest scan in the pipeline is likely to end: the mean time its last 20
/// scans took from capture to end, less the age of that scan. `None` without such history or
/// without a scan in the pipeline; zero when the scan is already late.
pub async fn oldest_processing_ends_in(
    executor: impl PgExecutor<'_>,
    account_id: Uuid,
) -> Result<Option<Duration>, sqlx::Error> {
    let seconds: Option<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM \
                    (SELECT avg(completed_at - queued_at) FROM \
                        (SELECT completed_at, queued_at FROM scans \
                         WHERE account_id = $1 AND queued_at IS NOT NULL \
                           AND completed_at IS NOT NULL \
                         ORDER BY completed_at DESC LIMIT 20) recent) \
                  - (now() - (SELECT min(queued_at) FROM scans \
                              WHERE account_id = $1 AND status = 'processing')))::float8",
    )
    .bind(account_id)
    .fetch_one(executor)
    .await?;
    Ok(seconds.map(|seconds| Duration::from_secs_f64(seconds.max(0.0))))
}

/// How many scans are in each status.
pub async fn count_by_status(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT status, count(*) FROM scans GROUP BY status")
        .fetch_all(pool)
        .await
}
