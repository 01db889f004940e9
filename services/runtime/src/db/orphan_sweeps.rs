//! The orphan sweeps that marked scans errored, one row each, for the admin page.

use recon_contracts::admin::OrphanSweeps;
use sqlx::{PgPool, Row};

/// Records a sweep that marked `scans` scans errored.
pub async fn record(pool: &PgPool, scans: usize) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO orphan_sweeps (scans) VALUES ($1)")
        .bind(i32::try_from(scans).unwrap_or(i32::MAX))
        .execute(pool)
        .await?;
    Ok(())
}

/// Sweeps and swept scans of the last 7 and 30 days.
pub async fn summary(pool: &PgPool) -> Result<OrphanSweeps, sqlx::Error> {
    let row = sqlx::query(
        "SELECT count(*) FILTER (WHERE swept_at > now() - interval '7 days') AS sweeps_7d, \
                COALESCE(sum(scans) FILTER (WHERE swept_at > now() - interval '7 days'), 0) \
                    AS scans_7d, \
                COALESCE(sum(scans), 0) AS scans_30d, \
                max(swept_at) AS last_at \
         FROM orphan_sweeps WHERE swept_at > now() - interval '30 days'",
    )
    .fetch_one(pool)
    .await?;
    let count = |name: &str| -> Result<u64, sqlx::Error> {
        Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0))
    };
    Ok(OrphanSweeps {
        sweeps_7d: count("sweeps_7d")?,
        scans_7d: count("scans_7d")?,
        scans_30d: count("scans_30d")?,
        last_at: row.try_get("last_at")?,
    })
}
