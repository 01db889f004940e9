//! Requests per (day, CLI version, account): what the admin's version banner counts. The api
//! adds to these rows in batches (one upsert per flush, see the api's `version_tally`), never
//! one write per request.

use chrono::{NaiveDate, Utc};
use recon_contracts::admin::{LegacyUse, VersionReport, VersionTotals, VersionUse, VersionWindow};
use recon_contracts::version::SemVer;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::config::VersionPolicy;

/// Requests of one (day, version, account) since the last flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub day: NaiveDate,
    pub version: String,
    /// The nil UUID for requests no key authenticated.
    pub account_id: Uuid,
    pub requests: i64,
    /// Of which to the 0.2.x legacy endpoint.
    pub legacy_requests: i64,
}

/// Adds a batch of tallies in one statement.
pub async fn add(pool: &PgPool, tallies: &[Tally]) -> Result<(), sqlx::Error> {
    if tallies.is_empty() {
        return Ok(());
    }
    let days: Vec<NaiveDate> = tallies.iter().map(|tally| tally.day).collect();
    let versions: Vec<&str> = tallies.iter().map(|tally| tally.version.as_str()).collect();
    let accounts: Vec<Uuid> = tallies.iter().map(|tally| tally.account_id).collect();
    let requests: Vec<i64> = tallies.iter().map(|tally| tally.requests).collect();
    let legacy: Vec<i64> = tallies.iter().map(|tally| tally.legacy_requests).collect();
    sqlx::query(
        "INSERT INTO client_version_usage AS u (day, version, account_id, requests, legacy_requests) \
         SELECT * FROM UNNEST($1::date[], $2::text[], $3::uuid[], $4::int8[], $5::int8[]) \
         ON CONFLICT (day, version, account_id) DO UPDATE \
         SET requests = u.requests + EXCLUDED.requests, \
             legacy_requests = u.legacy_requests + EXCLUDED.legacy_requests",
    )
    .bind(days)
    .bind(versions)
    .bind(accounts)
    .bind(requests)
    .bind(legacy)
    .execute(pool)
    .await?;
    Ok(())
}

/// The first day of a window of `days` days ending today (UTC).
fn window_start(days: u32) -> NaiveDate {
    let today = Utc::now().date_naive();
    today - chrono::Days::new(u64::from(days.saturating_sub(1)))
}

fn count(row: &sqlx::postgres::PgRow, name: &str) -> Result<u64, sqlx::Error> {
    Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0))
}

async fn window(
    pool: &PgPool,
    days: u32,
    minimum: Option<SemVer>,
) -> Result<VersionWindow, sqlx::Error> {
    let since = window_start(days);
    let rows = sqlx::query(
        "SELECT version, \
                count(DISTINCT account_id) FILTER (WHERE account_id <> $2) AS accounts, \
                sum(requests)::int8 AS requests \
         FROM client_version_usage WHERE day >= $1 \
         GROUP BY version ORDER BY sum(requests) DESC, version",
    )
    .bind(since)
    .bind(Uuid::nil())
    .fetch_all(pool)
    .await?;
    let mut versions = Vec::with_capacity(rows.len());
    for row in &rows {
        let version: String = row.try_get("version")?;
        let below_minimum = minimum
            .zip(SemVer::parse(&version))
            .is_some_and(|(minimum, version)| version < minimum);
        versions.push(VersionUse {
            version,
            accounts: count(row, "accounts")?,
            requests: count(row, "requests")?,
            below_minimum,
        });
    }
    let below: Vec<&str> = versions
        .iter()
        .filter(|use_| use_.below_minimum)
        .map(|use_| use_.version.as_str())
        .collect();
    let row = sqlx::query(
        "SELECT count(DISTINCT account_id) FILTER (WHERE account_id <> $3) AS accounts, \
                COALESCE(sum(requests), 0)::int8 AS requests \
         FROM client_version_usage WHERE day >= $1 AND version = ANY($2)",
    )
    .bind(since)
    .bind(&below)
    .bind(Uuid::nil())
    .fetch_one(pool)
    .await?;
    let below_minimum = VersionTotals {
        versions: below.len() as u64,
        accounts: count(&row, "accounts")?,
        requests: count(&row, "requests")?,
    };
    Ok(VersionWindow {
        days,
        versions,
        below_minimum,
    })
}

/// The version banner: versions of the last 7 and 30 days, those below the minimum, and the
/// 0.2.x clients still calling their legacy endpoint.
pub async fn report(pool: &PgPool, policy: &VersionPolicy) -> Result<VersionReport, sqlx::Error> {
    let minimum = SemVer::parse(&policy.minimum_cli);
    let windows = vec![
        window(pool, 7, minimum).await?,
        window(pool, 30, minimum).await?,
    ];
    let row = sqlx::query(
        "SELECT COALESCE(sum(legacy_requests) FILTER (WHERE day >= $1), 0)::int8 AS requests_7d, \
                COALESCE(sum(legacy_requests), 0)::int8 AS requests_30d, \
                count(DISTINCT account_id) FILTER (WHERE legacy_requests > 0 AND account_id <> $3) \
                    AS accounts_30d \
         FROM client_version_usage WHERE day >= $2 AND version LIKE '0.2.%'",
    )
    .bind(window_start(7))
    .bind(window_start(30))
    .bind(Uuid::nil())
    .fetch_one(pool)
    .await?;
    let before_sunset = Utc::now() < policy.legacy_complete_sunset;
    let requests_7d = count(&row, "requests_7d")?;
    Ok(VersionReport {
        latest: policy.latest_cli.clone(),
        minimum: policy.minimum_cli.clone(),
        windows,
        legacy: LegacyUse {
            sunset: policy.legacy_complete_sunset,
            before_sunset,
            requests_7d,
            requests_30d: count(&row, "requests_30d")?,
            accounts_30d: count(&row, "accounts_30d")?,
            still_called: before_sunset && requests_7d > 0,
        },
    })
}
