//! A scan's history: the same account's previous complete scan of the same site (the
//! registrable domain stored on each scan at creation), whose stored results drift compares with.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// The scan a scan is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviousScan {
    pub id: Uuid,
    pub completed_at: DateTime<Utc>,
}

/// The newest complete scan of the same account and site created before `scan_id`.
pub async fn previous_complete(
    pool: &PgPool,
    scan_id: Uuid,
) -> Result<Option<PreviousScan>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT earlier.id, COALESCE(earlier.completed_at, earlier.updated_at) AS completed_at \
         FROM scans this JOIN scans earlier \
           ON earlier.account_id = this.account_id AND earlier.site = this.site \
         WHERE this.id = $1 AND earlier.id <> this.id AND earlier.status = 'complete' \
           AND earlier.created_at < this.created_at \
         ORDER BY earlier.created_at DESC LIMIT 1",
    )
    .bind(scan_id)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(PreviousScan {
            id: row.try_get("id")?,
            completed_at: row.try_get("completed_at")?,
        })
    })
    .transpose()
}
