//! Postgres: the pool, the migrations, and one module of queries per table.

pub mod accounts;
pub mod admin_sessions;
pub mod events;
pub mod keys;
pub mod orphan_sweeps;
pub mod results;
pub mod scan_deletion;
pub mod scan_pages;
pub mod scans;
pub mod usage;
pub mod version_usage;
pub mod websocket_leases;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Opens a pool lazily, so a role starts (and reports not-ready) while Postgres is down.
pub fn connect(database_url: &str) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = database_url.parse()?;
    Ok(PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options))
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Readiness probe.
pub async fn check(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}
