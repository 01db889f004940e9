//! The `account_usage` table: one row per metered use of an account (a scan created, a capture
//! accepted, one validation run's replay requests), summed over sliding windows. Times are the
//! statement's, so a transaction that waited for the account lock counts from when it got it.

use std::time::Duration;

use recon_contracts::Quota;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

/// What the account used of `quota` in the `window` up to now.
pub async fn used(
    executor: impl PgExecutor<'_>,
    account_id: Uuid,
    quota: Quota,
    window: Duration,
) -> Result<u64, sqlx::Error> {
    let used: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(amount), 0)::bigint FROM account_usage \
         WHERE account_id = $1 AND quota = $2 \
           AND recorded_at > statement_timestamp() - make_interval(secs => $3)",
    )
    .bind(account_id)
    .bind(quota.as_str())
    .bind(window.as_secs_f64())
    .fetch_one(executor)
    .await?;
    Ok(u64::try_from(used).unwrap_or(0))
}

/// How long until uses of at least `amount` have left the window, oldest first; `None` when the
/// window does not hold that much.
pub async fn frees_in(
    executor: impl PgExecutor<'_>,
    account_id: Uuid,
    quota: Quota,
    window: Duration,
    amount: u64,
) -> Result<Option<Duration>, sqlx::Error> {
    let seconds: Option<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM recorded_at + make_interval(secs => $3) \
                                   - statement_timestamp())::float8 \
         FROM (SELECT recorded_at, \
                      sum(amount) OVER (ORDER BY recorded_at, id) AS leaving \
               FROM account_usage \
               WHERE account_id = $1 AND quota = $2 \
                 AND recorded_at > statement_timestamp() - make_interval(secs => $3)) oldest \
         WHERE leaving >= $4 ORDER BY recorded_at LIMIT 1",
    )
    .bind(account_id)
    .bind(quota.as_str())
    .bind(window.as_secs_f64())
    .bind(i64::try_from(amount).unwrap_or(i64::MAX))
    .fetch_optional(executor)
    .await?;
    Ok(seconds.map(|seconds| Duration::from_secs_f64(seconds.max(0.0))))
}

/// Records a use; returns its row id (for [`settle`]).
pub async fn record(
    executor: impl PgExecutor<'_>,
    account_id: Uuid,
    quota: Quota,
    amount: u64,
    scan_id: Option<Uuid>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO account_usage (account_id, quota, amount, scan_id, recorded_at) \
         VALUES ($1, $2, $3, $4, statement_timestamp()) RETURNING id",
    )
    .bind(account_id)
    .bind(quota.as_str())
    .bind(i64::try_from(amount).unwrap_or(i64::MAX))
    .bind(scan_id)
    .fetch_one(executor)
    .await
}

/// Replaces a reserved amount by what was really used.
pub async fn settle(pool: &PgPool, id: i64, amount: u64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE account_usage SET amount = $2 WHERE id = $1")
        .bind(id)
        .bind(i64::try_from(amount).unwrap_or(i64::MAX))
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes uses older than every window; returns how many.
pub async fn prune(pool: &PgPool, older_than: Duration) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM account_usage \
         WHERE recorded_at < statement_timestamp() - make_interval(secs => $1)",
    )
    .bind(older_than.as_secs_f64())
    .execute(pool)
    .await?
    .rows_affected())
}
