//! `GET /scans`: one account's scans, newest first, a page at a time. The cursor is the last
//! row's (created_at, id), so pages neither skip nor repeat a scan while new ones are created.

use chrono::{DateTime, Utc};
use recon_contracts::ScanStatus;
use sqlx::PgPool;
use uuid::Uuid;

use super::scans::{from_row, ScanRecord, COLUMNS};

/// Where the previous page ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl PageCursor {
    /// `<microseconds since the epoch>_<scan id>`.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.created_at.timestamp_micros(), self.id)
    }

    pub fn parse(text: &str) -> Option<PageCursor> {
        let (micros, id) = text.split_once('_')?;
        Some(PageCursor {
            created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: id.parse().ok()?,
        })
    }
}

/// Which scans a page holds.
#[derive(Debug, Clone, Default)]
pub struct ScanFilter {
    /// Only scans of this host (the target URL's, compared without case).
    pub site: Option<String>,
    pub status: Option<ScanStatus>,
    /// Only the scan whose report has this slug.
    pub report_slug: Option<String>,
    pub after: Option<PageCursor>,
}

/// Up to `limit` of the account's scans matching `filter`, newest first.
pub async fn list(
    pool: &PgPool,
    account_id: Uuid,
    filter: &ScanFilter,
    limit: i64,
) -> Result<Vec<ScanRecord>, sqlx::Error> {
    let host =
        "lower(substring(target_url from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/?#:]+)'))";
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM scans \
         WHERE account_id = $1 \
           AND ($2::text IS NULL OR {host} = lower($2)) \
           AND ($3::text IS NULL OR status = $3) \
           AND ($4::text IS NULL OR report_slug = $4) \
           AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6)) \
         ORDER BY created_at DESC, id DESC LIMIT $7"
    ))
    .bind(account_id)
    .bind(filter.site.as_deref())
    .bind(filter.status.map(ScanStatus::as_str))
    .bind(filter.report_slug.as_deref())
    .bind(filter.after.map(|cursor| cursor.created_at))
    .bind(filter.after.map(|cursor| cursor.id))
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = PageCursor {
            created_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: Uuid::new_v4(),
        };
        assert_eq!(PageCursor::parse(&cursor.encode()), Some(cursor));
        for bad in ["", "12", "x_y", "12_not-a-uuid", &format!("_{}", cursor.id)] {
            assert_eq!(PageCursor::parse(bad), None, "{bad:?}");
        }
    }
}
