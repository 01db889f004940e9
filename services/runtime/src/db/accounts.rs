//! Accounts and API keys. A key is shown once, at creation; only its SHA-256 is stored.

use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub const KEY_PREFIX: &str = "rec_live_";
const KEY_RANDOM_CHARS: usize = 32;

fn hash_key(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// Whether a presented key has our shape, before any database work.
pub fn looks_like_key(key: &str) -> bool {
    key.strip_prefix(KEY_PREFIX).is_some_and(|rest| {
        rest.len() == KEY_RANDOM_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// Creates the account if needed and a new key for it; returns the key in clear text.
pub async fn create_key(pool: &PgPool, account_name: &str) -> Result<String, sqlx::Error> {
    let random: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(KEY_RANDOM_CHARS)
        .map(char::from)
        .collect();
    let key = format!("{KEY_PREFIX}{random}");
    let mut tx = pool.begin().await?;
    let account_id: Uuid = sqlx::query_scalar(
        "INSERT INTO accounts (id, name) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
         RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(account_name)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO api_keys (id, account_id, key_hash, key_prefix) VALUES ($1, $2, $3, $4)",
    )
    .bind(Uuid::new_v4())
    .bind(account_id)
    .bind(hash_key(&key))
    .bind(&key[..KEY_PREFIX.len() + 4])
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(key)
}

/// The account a key belongs to, if the key exists and is not revoked.
pub async fn authenticate(pool: &PgPool, key: &str) -> Result<Option<Uuid>, sqlx::Error> {
    if !looks_like_key(key) {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT account_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
        .bind(hash_key(key))
        .fetch_optional(pool)
        .await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shape_is_checked_before_lookup() {
        assert!(looks_like_key("rec_live_abcdefghijABCDEFGHIJ0123456789xy"));
        assert!(!looks_like_key("rec_live_short"));
        assert!(!looks_like_key("rec_test_abcdefghijABCDEFGHIJ0123456789xy"));
        assert!(!looks_like_key("rec_live_abcdefghijABCDEFGHIJ0123456789x!"));
    }
}
