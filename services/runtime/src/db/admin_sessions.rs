//! Logins to the `/admin` page. The session token lives only in the browser's cookie; the table
//! keeps its SHA-256, the CSRF token its forms carry, and when it expires. A session ends at its
//! expiry, at logout, when its key is revoked or when its account is no longer an admin.

use std::time::Duration;

use rand::distributions::Alphanumeric;
use rand::Rng;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::keys::{hash_key, KeyOwner};

const TOKEN_CHARS: usize = 43;

fn random_token() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(TOKEN_CHARS)
        .map(char::from)
        .collect()
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub account_id: Uuid,
    pub key_id: Uuid,
    /// Every form POST of the session must carry this.
    pub csrf_token: String,
}

/// Starts a session for an admin key; returns the token for the cookie and the session.
pub async fn create(
    pool: &PgPool,
    owner: KeyOwner,
    lifetime: Duration,
) -> Result<(String, Session), sqlx::Error> {
    let token = random_token();
    let session = Session {
        account_id: owner.account_id,
        key_id: owner.key_id,
        csrf_token: random_token(),
    };
    sqlx::query(
        "INSERT INTO admin_sessions (token_hash, account_id, key_id, csrf_token, expires_at) \
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
    )
    .bind(hash_key(&token))
    .bind(session.account_id)
    .bind(session.key_id)
    .bind(&session.csrf_token)
    .bind(lifetime.as_secs_f64())
    .execute(pool)
    .await?;
    Ok((token, session))
}

/// The session of a cookie's token, if it is live: unexpired, its key unrevoked, its account
/// still an admin.
pub async fn find(pool: &PgPool, token: &str) -> Result<Option<Session>, sqlx::Error> {
    if token.len() != TOKEN_CHARS || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT s.account_id, s.key_id, s.csrf_token FROM admin_sessions s \
         JOIN api_keys k ON k.id = s.key_id AND k.revoked_at IS NULL \
         JOIN accounts a ON a.id = s.account_id AND a.is_admin \
         WHERE s.token_hash = $1 AND s.expires_at > now()",
    )
    .bind(hash_key(token))
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(Session {
            account_id: row.try_get("account_id")?,
            key_id: row.try_get("key_id")?,
            csrf_token: row.try_get("csrf_token")?,
        })
    })
    .transpose()
}

/// Ends the session of a cookie's token.
pub async fn delete(pool: &PgPool, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM admin_sessions WHERE token_hash = $1")
        .bind(hash_key(token))
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets expired sessions; run periodically.
pub async fn prune(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM admin_sessions WHERE expires_at <= now()")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}
