//! Accounts: creation with their first key, admin accounts, the per-account lock. Keys
//! themselves are in [`super::keys`].

use recon_contracts::CreatedKey;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub use super::keys::{looks_like_key, KEY_PREFIX};

/// Creates the account if needed and a new key for it; returns the key in clear text.
pub async fn create_key(pool: &PgPool, account_name: &str) -> Result<String, sqlx::Error> {
    Ok(create_account_key(pool, account_name, false).await?.key)
}

/// Creates the account if needed and a new key for it. `admin` makes the account an admin
/// account (an existing admin account stays one without it).
pub async fn create_account_key(
    pool: &PgPool,
    account_name: &str,
    admin: bool,
) -> Result<CreatedKey, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let account_id: Uuid = sqlx::query_scalar(
        "INSERT INTO accounts (id, name, is_admin) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET is_admin = accounts.is_admin OR EXCLUDED.is_admin
         RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(account_name)
    .bind(admin)
    .fetch_one(&mut *tx)
    .await?;
    let created = super::keys::insert(&mut tx, account_id).await?;
    tx.commit().await?;
    Ok(created)
}

/// The account a key belongs to, if the key exists and is not revoked.
pub async fn authenticate(pool: &PgPool, key: &str) -> Result<Option<Uuid>, sqlx::Error> {
    Ok(super::keys::authenticate(pool, key)
        .await?
        .map(|owner| owner.account_id))
}

/// Locks the account row for the rest of the transaction; `false` when there is no such account.
/// Every admission of an account's metered work takes this lock first, so admissions of one
/// account are decided one after the other on every replica. `NO KEY UPDATE` leaves other
/// transactions free to insert rows that reference the account.
pub async fn lock(conn: &mut PgConnection, account_id: Uuid) -> Result<bool, sqlx::Error> {
    let locked: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE")
            .bind(account_id)
            .fetch_optional(conn)
            .await?;
    Ok(locked.is_some())
}

/// The account's name.
pub async fn name(pool: &PgPool, account_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(pool)
        .await
}
