//! The `websocket_leases` table: one row per open events WebSocket, so the sockets of an account
//! can be counted across api replicas. A replica renews the leases of its open sockets; a lease
//! that is no longer renewed (its replica died) or is past its socket's lifetime is not counted.

use std::time::Duration;

use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

const LIVE: &str = "closes_at > statement_timestamp() \
     AND renewed_at > statement_timestamp() - make_interval(secs => $2)";

/// Open sockets of the account: leases renewed within `stale_after` and not past their end.
pub async fn count_live(
    executor: impl PgExecutor<'_>,
    account_id: Uuid,
    stale_after: Duration,
) -> Result<u64, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM websocket_leases WHERE account_id = $1 AND {LIVE}"
    ))
    .bind(account_id)
    .bind(stale_after.as_secs_f64())
    .fetch_one(executor)
    .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// How long until the first of the account's open sockets reaches the end of its lifetime.
pub async fn first_closes_in(
    executor: impl PgExecutor<'_>,
    account_id: Uuid,
    stale_after: Duration,
) -> Result<Option<Duration>, sqlx::Error> {
    let seconds: Option<f64> = sqlx::query_scalar(&format!(
        "SELECT EXTRACT(EPOCH FROM min(closes_at) - statement_timestamp())::float8 \
         FROM websocket_leases WHERE account_id = $1 AND {LIVE}"
    ))
    .bind(account_id)
    .bind(stale_after.as_secs_f64())
    .fetch_one(executor)
    .await?;
    Ok(seconds.map(|seconds| Duration::from_secs_f64(seconds.max(0.0))))
}

/// A new lease that ends `lifetime` from now.
pub async fn insert(
    executor: impl PgExecutor<'_>,
    id: Uuid,
    account_id: Uuid,
    scan_id: Uuid,
    lifetime: Duration,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO websocket_leases (id, account_id, scan_id, opened_at, renewed_at, closes_at) \
         VALUES ($1, $2, $3, statement_timestamp(), statement_timestamp(), \
                 statement_timestamp() + make_interval(secs => $4))",
    )
    .bind(id)
    .bind(account_id)
    .bind(scan_id)
    .bind(lifetime.as_secs_f64())
    .execute(executor)
    .await?;
    Ok(())
}

/// Marks the leases as still held, in one statement for all of a replica's sockets.
pub async fn renew(pool: &PgPool, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE websocket_leases SET renewed_at = statement_timestamp() WHERE id = ANY($1)",
    )
    .bind(ids)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn delete(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM websocket_leases WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes leases that no longer count; returns how many.
pub async fn prune(pool: &PgPool, stale_after: Duration) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM websocket_leases WHERE closes_at <= statement_timestamp() \
            OR renewed_at <= statement_timestamp() - make_interval(secs => $1)",
    )
    .bind(stale_after.as_secs_f64())
    .execute(pool)
    .await?
    .rows_affected())
}
