//! Requests per (day, CLI version, account) for the admin's version banner, counted in memory by
//! the version middleware and added to Postgres in one statement every few seconds (and once
//! more at shutdown): a busy api costs the database one write per flush, not one per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use recon_runtime::db::version_usage::{self, Tally};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How often the counts reach the database.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);
/// Distinct (day, version, account) rows held before a flush; beyond it requests are counted
/// under the nil account, so a flood of keys cannot grow the map without bound.
const MAX_ROWS: usize = 10_000;

type Counts = HashMap<(NaiveDate, String, Uuid), (i64, i64)>;

#[derive(Clone, Default)]
pub struct VersionTally {
    counts: Arc<Mutex<Counts>>,
}

impl VersionTally {
    /// Counts one request of `version` (the metric's label) for `account` (nil when none).
    pub fn count(&self, version: String, account: Option<Uuid>, legacy: bool) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let day = Utc::now().date_naive();
        let mut key = (day, version, account.unwrap_or(Uuid::nil()));
        if counts.len() >= MAX_ROWS && !counts.contains_key(&key) {
            key.2 = Uuid::nil();
        }
        let entry = counts.entry(key).or_insert((0, 0));
        entry.0 += 1;
        entry.1 += i64::from(legacy);
    }

    fn take(&self) -> Vec<Tally> {
        let counts =
            std::mem::take(&mut *self.counts.lock().unwrap_or_else(PoisonError::into_inner));
        counts
            .into_iter()
            .map(
                |((day, version, account_id), (requests, legacy_requests))| Tally {
                    day,
                    version,
                    account_id,
                    requests,
                    legacy_requests,
                },
            )
            .collect()
    }

    /// Writes what was counted; on failure the counts are kept for the next flush.
    async fn flush(&self, pool: &PgPool) {
        let tallies = self.take();
        if let Err(err) = version_usage::add(pool, &tallies).await {
            tracing::warn!(error = %err, "cannot record CLI version usage; will retry");
            let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
            for tally in tallies {
                let entry = counts
                    .entry((tally.day, tally.version, tally.account_id))
                    .or_insert((0, 0));
                entry.0 += tally.requests;
                entry.1 += tally.legacy_requests;
            }
        }
    }

    /// Flushes every [`FLUSH_EVERY`] until `shutdown`, then once more.
    pub fn spawn_flusher(&self, pool: PgPool, shutdown: CancellationToken) {
        let tally = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(FLUSH_EVERY) => tally.flush(&pool).await,
                }
            }
            tally.flush(&pool).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_per_version_and_account() {
        let tally = VersionTally::default();
        let account = Uuid::new_v4();
        tally.count("0.3.0".into(), Some(account), false);
        tally.count("0.3.0".into(), Some(account), false);
        tally.count("0.2.9".into(), Some(account), true);
        tally.count("other".into(), None, false);
        let mut taken = tally.take();
        taken.sort_by(|a, b| a.version.cmp(&b.version));
        let summary: Vec<_> = taken
            .iter()
            .map(|t| {
                (
                    t.version.as_str(),
                    t.account_id,
                    t.requests,
                    t.legacy_requests,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("0.2.9", account, 1, 1),
                ("0.3.0", account, 2, 0),
                ("other", Uuid::nil(), 1, 0)
            ]
        );
        assert!(tally.take().is_empty(), "a flush empties the tally");
    }
}
