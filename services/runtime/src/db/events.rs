//! The `scan_events` table and its cursor.
//!
//! A cursor taken before commit becomes visible out of order when two writers commit
//! concurrently, and a reader past the later one would skip the earlier forever. So each insert
//! first takes a per-scan advisory lock that Postgres releases only after the commit is
//! visible, and only then reads `max(cursor)` (in a new statement, hence a new snapshot): the
//! next cursor of a scan cannot be written until the previous one is visible to every reader.

use recon_contracts::{RecordedEvent, Step, StepEvent, StepStatus};
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// Channel on which the recorder announces a new event; the payload is the scan id.
pub const NOTIFY_CHANNEL: &str = "scan_events";

/// Stores an event once (a redelivered event with the same id is ignored) and notifies
/// listeners on commit. Returns whether the event was new.
pub async fn record(pool: &PgPool, event: &StepEvent) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7023))")
        .bind(event.scan_id)
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO scan_events (id, scan_id, step, status, message, metadata, created_at, cursor)
         SELECT $1, $2, $3, $4, $5, $6, $7,
                COALESCE((SELECT max(cursor) FROM scan_events WHERE scan_id = $2), 0) + 1
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(event.id)
    .bind(event.scan_id)
    .bind(event.step.as_str())
    .bind(event.status.as_str())
    .bind(&event.message)
    .bind(&event.metadata)
    .bind(event.created_at)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(NOTIFY_CHANNEL)
            .bind(event.scan_id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(inserted)
}

/// Events of a scan strictly after `since`, in cursor order, at most `limit`.
pub async fn after(
    pool: &PgPool,
    scan_id: Uuid,
    since: i64,
    limit: i64,
) -> Result<Vec<RecordedEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, scan_id, step, status, message, metadata, created_at, cursor
         FROM scan_events WHERE scan_id = $1 AND cursor > $2 ORDER BY cursor LIMIT $3",
    )
    .bind(scan_id)
    .bind(since)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

fn from_row(row: &sqlx::postgres::PgRow) -> Result<RecordedEvent, sqlx::Error> {
    let step: String = row.try_get("step")?;
    let status: String = row.try_get("status")?;
    let decode = |index: &str, source: String| sqlx::Error::ColumnDecode {
        index: index.into(),
        source: source.into(),
    };
    Ok(RecordedEvent {
        id: row.try_get("id")?,
        scan_id: row.try_get("scan_id")?,
        step: Step::from(step),
        status: StepStatus::parse(&status)
            .ok_or_else(|| decode("status", format!("unknown status {status:?}")))?,
        message: row.try_get("message")?,
        metadata: row.try_get("metadata")?,
        created_at: row.try_get("created_at")?,
        cursor: row.try_get("cursor")?,
        terminal: false,
    })
}
