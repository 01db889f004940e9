//! What operators see (`/admin`, `/admin/api/*`, `recon-server admin …`): the version banner,
//! usage per account against its quotas, and scans by status with the errored ones. One
//! function per report, shared by the page, the JSON and the command line.

use recon_contracts::admin::{
    AccountUsage, AccountsReport, DayStatusCount, ErroredScan, ScansReport, StatusCount,
    VersionReport,
};
use sqlx::{PgPool, Row};

use crate::config::{QuotaSettings, VersionPolicy};
use crate::db;

/// How many errored scans the scans report lists.
const ERRORED_SHOWN: i64 = 20;

pub async fn versions(pool: &PgPool, policy: &VersionPolicy) -> Result<VersionReport, sqlx::Error> {
    db::version_usage::report(pool, policy).await
}

fn count(row: &sqlx::postgres::PgRow, name: &str) -> Result<u64, sqlx::Error> {
    Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0))
}

/// Every account with its keys, scans and quotas, by name.
pub async fn accounts(
    pool: &PgPool,
    settings: &QuotaSettings,
) -> Result<AccountsReport, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.id, a.name, a.is_admin, \
                (SELECT count(*) FROM api_keys k WHERE k.account_id = a.id AND k.revoked_at IS NULL) \
                    AS active_keys, \
                (SELECT count(*) FROM scans s WHERE s.account_id = a.id) AS scans \
         FROM accounts a ORDER BY a.name",
    )
    .fetch_all(pool)
    .await?;
    let mut accounts = Vec::with_capacity(rows.len());
    for row in &rows {
        let id = row.try_get("id")?;
        accounts.push(AccountUsage {
            id,
            name: row.try_get("name")?,
            admin: row.try_get("is_admin")?,
            active_keys: count(row, "active_keys")?,
            scans: count(row, "scans")?,
            quotas: crate::quota::account_quotas(pool, id, settings).await?,
        });
    }
    Ok(AccountsReport { accounts })
}

/// Scans by status now and per day of the last 30 days, the latest errored scans with the step
/// and message that ended them, and the orphan sweeps.
pub async fn scans(pool: &PgPool) -> Result<ScansReport, sqlx::Error> {
    let by_status =
        sqlx::query("SELECT status, count(*) AS n FROM scans GROUP BY status ORDER BY status")
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| {
                Ok(StatusCount {
                    status: row.try_get("status")?,
                    count: count(row, "n")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
    let by_day = sqlx::query(
        "SELECT (created_at AT TIME ZONE 'UTC')::date AS day, status, count(*) AS n FROM scans \
         WHERE created_at > now() - interval '30 days' GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| {
        Ok(DayStatusCount {
            day: row.try_get("day")?,
            status: row.try_get("status")?,
            count: count(row, "n")?,
        })
    })
    .collect::<Result<_, sqlx::Error>>()?;
    let errored = sqlx::query(
        "SELECT s.id, a.name, s.target_url, last.step, COALESCE(last.message, s.error) AS message, \
                COALESCE(s.completed_at, s.updated_at) AS at \
         FROM scans s JOIN accounts a ON a.id = s.account_id \
         LEFT JOIN LATERAL ( \
             SELECT step, message FROM scan_events e \
             WHERE e.scan_id = s.id AND e.status = 'errored' ORDER BY cursor DESC LIMIT 1 \
         ) last ON true \
         WHERE s.status = 'errored' ORDER BY at DESC LIMIT $1",
    )
    .bind(ERRORED_SHOWN)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| {
        Ok(ErroredScan {
            id: row.try_get("id")?,
            account: row.try_get("name")?,
            target_url: row.try_get("target_url")?,
            step: row.try_get("step")?,
            message: row.try_get("message")?,
            at: row.try_get("at")?,
        })
    })
    .collect::<Result<_, sqlx::Error>>()?;
    Ok(ScansReport {
        by_status,
        by_day,
        errored,
        orphan_sweeps: db::orphan_sweeps::summary(pool).await?,
    })
}
