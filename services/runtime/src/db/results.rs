//! The `stage_results` table: one JSON result per scan and stage, overwritten on a re-run.

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

pub async fn save(
    pool: &PgPool,
    scan_id: Uuid,
    step: &str,
    result: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stage_results (scan_id, stage, result) VALUES ($1, $2, $3)
         ON CONFLICT (scan_id, stage) DO UPDATE
         SET result = EXCLUDED.result, updated_at = now(), runs = stage_results.runs + 1",
    )
    .bind(scan_id)
    .bind(step)
    .bind(result)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn load(pool: &PgPool, scan_id: Uuid, step: &str) -> Result<Option<Value>, sqlx::Error> {
    sqlx::query_scalar("SELECT result FROM stage_results WHERE scan_id = $1 AND stage = $2")
        .bind(scan_id)
        .bind(step)
        .fetch_optional(pool)
        .await
}
