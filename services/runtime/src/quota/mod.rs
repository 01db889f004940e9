//! Per-account quotas (DESIGN.md § Trust boundary): whether an account may start more work, and
//! when it may try again if not.
//!
//! Race-free across replicas: an admission runs in one transaction that first takes
//! [`db::accounts::lock`], checks, and records the new use (a row in `account_usage`, a scan
//! turned `processing`, a row in `websocket_leases`) before it commits. Two admissions for one
//! account are so decided one after the other, and the second sees what the first recorded.
//! The same `check_*` functions also run without the lock first, to refuse cheaply before
//! expensive work (reading an upload) or a wait for the lock.

pub mod validation;

use std::time::Duration;

use recon_contracts::{AccountQuotas, Quota, QuotaUse};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::config::QuotaSettings;
use crate::db;

/// Longest a socket lease may go unrenewed before it counts as closed (its replica died).
pub const LEASE_STALE_AFTER: Duration = Duration::from_secs(60);
/// How often an api replica renews the leases of its open sockets.
pub const LEASE_RENEW_EVERY: Duration = Duration::from_secs(20);
/// The longest window: usage older than this counts nowhere and is pruned.
pub const LONGEST_WINDOW: Duration = Duration::from_secs(86_400);
/// Retry-After of the concurrent-scans quota when the account has no finished scan to go by.
const SCAN_SLOT_GUESS: Duration = Duration::from_secs(10);

/// An account asked for more than a quota leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    pub quota: Quota,
    pub limit: u64,
    pub used: u64,
    /// What the refused request would have added.
    pub requested: u64,
    /// When enough of the quota frees up for the request; `None` when it never can (the request
    /// alone is larger than the limit).
    pub retry_after: Option<Duration>,
}

impl Exceeded {
    /// One line for the client: what was exceeded and when to come back.
    pub fn message(&self) -> String {
        let Exceeded {
            quota,
            limit,
            used,
            requested,
            ..
        } = self;
        let what = match quota {
            Quota::ConcurrentScans => format!("{used} of {limit} scans are already in progress"),
            Quota::ScansPerHour => format!("{used} of {limit} scans were created in the last hour"),
            Quota::CaptureBytesPerDay => format!(
                "{used} of {limit} capture bytes were used in the last 24 hours; this capture needs {requested} more"
            ),
            Quota::ValidationRequestsPerDay => format!(
                "{used} of {limit} validation requests were used in the last 24 hours"
            ),
            Quota::Websockets => format!("{used} of {limit} live connections are already open"),
        };
        match self.retry_after {
            Some(after) => format!(
                "quota {quota} exceeded: {what}; retry in {} s",
                whole_seconds(after)
            ),
            None => format!("quota {quota} exceeded: {what}, which the quota can never allow"),
        }
    }
}

/// Seconds as the Retry-After header gives them: whole, and at least one.
pub fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs_f64().ceil().max(1.0) as u64
}

#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    #[error("{}", .0.message())]
    Exceeded(Exceeded),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Refuses `amount` more of a windowed quota when the window has no room for it.
pub async fn check_windowed(
    conn: &mut PgConnection,
    account_id: Uuid,
    quota: Quota,
    limit: u64,
    amount: u64,
) -> Result<(), QuotaError> {
    let window = window_of(quota);
    let used = db::usage::used(&mut *conn, account_id, quota, window).await?;
    if used.saturating_add(amount) <= limit {
        return Ok(());
    }
    let retry_after = if amount > limit {
        None
    } else {
        let must_leave = used.saturating_add(amount) - limit;
        // Nothing to wait for when the uses aged out between the two statements.
        db::usage::frees_in(&mut *conn, account_id, quota, window, must_leave)
            .await?
            .or(Some(Duration::ZERO))
    };
    Err(QuotaError::Exceeded(Exceeded {
        quota,
        limit,
        used,
        requested: amount,
        retry_after,
    }))
}

/// Refuses one more scan in the pipeline when the account has as many as it may. Under the
/// account lock this is the admission itself: the scan then turns `processing` in the same
/// transaction.
pub async fn check_concurrent_scans(
    conn: &mut PgConnection,
    account_id: Uuid,
    limit: u64,
    orphan_after: Duration,
) -> Result<(), QuotaError> {
    let used = db::scans::count_processing(&mut *conn, account_id).await?;
    if used < limit {
        return Ok(());
    }
    // A scan still running after the orphan timeout is swept, so no slot waits longer.
    let retry_after = db::scans::oldest_processing_ends_in(&mut *conn, account_id)
        .await?
        .unwrap_or(SCAN_SLOT_GUESS)
        .min(orphan_after);
    Err(QuotaError::Exceeded(Exceeded {
        quota: Quota::ConcurrentScans,
        limit,
        used,
        requested: 1,
        retry_after: Some(retry_after),
    }))
}

/// Refuses one more WebSocket when the account has as many open as it may.
pub async fn check_websockets(
    conn: &mut PgConnection,
    account_id: Uuid,
    limit: u64,
) -> Result<(), QuotaError> {
    let used = db::websocket_leases::count_live(&mut *conn, account_id, LEASE_STALE_AFTER).await?;
    if used < limit {
        return Ok(());
    }
    // The one figure that is certain: the first open socket reaches its lifetime limit.
    let retry_after =
        db::websocket_leases::first_closes_in(&mut *conn, account_id, LEASE_STALE_AFTER)
            .await?
            .unwrap_or(LEASE_STALE_AFTER);
    Err(QuotaError::Exceeded(Exceeded {
        quota: Quota::Websockets,
        limit,
        used,
        requested: 1,
        retry_after: Some(retry_after),
    }))
}

/// Under the account lock: admits one more WebSocket and records its lease.
pub async fn admit_websocket(
    conn: &mut PgConnection,
    account_id: Uuid,
    scan_id: Uuid,
    limit: u64,
    lifetime: Duration,
) -> Result<Uuid, QuotaError> {
    check_websockets(conn, account_id, limit).await?;
    let lease = Uuid::new_v4();
    db::websocket_leases::insert(&mut *conn, lease, account_id, scan_id, lifetime).await?;
    Ok(lease)
}

/// The account's limits and what it uses of each now, for `GET /account`.
pub async fn account_quotas(
    pool: &PgPool,
    account_id: Uuid,
    settings: &QuotaSettings,
) -> Result<AccountQuotas, sqlx::Error> {
    let windowed = |quota: Quota, limit: u64| async move {
        let used = db::usage::used(pool, account_id, quota, window_of(quota)).await?;
        Ok::<_, sqlx::Error>(QuotaUse {
            limit,
            used,
            window_secs: quota.window_secs(),
        })
    };
    let open = |limit: u64, used: u64| QuotaUse {
        limit,
        used,
        window_secs: None,
    };
    Ok(AccountQuotas {
        concurrent_scans: open(
            settings.concurrent_scans,
            db::scans::count_processing(pool, account_id).await?,
        ),
        scans_per_hour: windowed(Quota::ScansPerHour, settings.scans_per_hour).await?,
        capture_bytes_per_day: windowed(Quota::CaptureBytesPerDay, settings.capture_bytes_per_day)
            .await?,
        validation_requests_per_day: windowed(
            Quota::ValidationRequestsPerDay,
            settings.validation_requests_per_day,
        )
        .await?,
        websockets: open(
            settings.websockets,
            db::websocket_leases::count_live(pool, account_id, LEASE_STALE_AFTER).await?,
        ),
    })
}

/// The sliding window of a windowed quota (the longest one for the others, never asked).
pub(crate) fn window_of(quota: Quota) -> Duration {
    quota
        .window_secs()
        .map_or(LONGEST_WINDOW, Duration::from_secs)
}

/// Deletes usage no window counts any more and leases no longer held; run periodically.
pub async fn prune(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let usage = db::usage::prune(pool, LONGEST_WINDOW).await?;
    let leases = db::websocket_leases::prune(pool, LEASE_STALE_AFTER).await?;
    Ok(usage + leases)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exceeded(quota: Quota, retry_after: Option<Duration>) -> Exceeded {
        Exceeded {
            quota,
            limit: 60,
            used: 60,
            requested: 1,
            retry_after,
        }
    }

    #[test]
    fn the_message_names_the_quota_and_when_to_retry() {
        let message = exceeded(Quota::ScansPerHour, Some(Duration::from_millis(41_200))).message();
        assert!(
            message.starts_with("quota scans_per_hour exceeded"),
            "{message}"
        );
        assert!(message.contains("60 of 60 scans"), "{message}");
        assert!(message.ends_with("retry in 42 s"), "{message}");
        let never = exceeded(Quota::CaptureBytesPerDay, None).message();
        assert!(never.contains("can never allow"), "{never}");
    }

    #[test]
    fn retry_after_is_whole_seconds_and_never_zero() {
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(3600)), 3600);
    }
}
