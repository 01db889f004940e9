//! API keys: who a presented key is, its last use, listing and revoking. A key's value is shown
//! once, at creation; only its SHA-256 and a short prefix are stored. Revoking a key tells every
//! api replica at once over the events channel, so an open WebSocket of that key closes too.

use chrono::{DateTime, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;
use recon_contracts::{CreatedKey, KeyView};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

pub const KEY_PREFIX: &str = "rec_live_";
const KEY_RANDOM_CHARS: usize = 32;
/// Characters of a key kept in clear: `rec_live_` and four more.
pub const SHOWN_KEY_CHARS: usize = KEY_PREFIX.len() + 4;
/// The payload prefix of a revocation notice on the events channel.
const REVOKED_NOTICE: &str = "revoked:";

pub(crate) fn hash_key(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// Whether a presented key has our shape, before any database work.
pub fn looks_like_key(key: &str) -> bool {
    key.strip_prefix(KEY_PREFIX).is_some_and(|rest| {
        rest.len() == KEY_RANDOM_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// Whom an accepted key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyOwner {
    pub key_id: Uuid,
    pub account_id: Uuid,
    pub admin: bool,
}

/// The owner of a key that exists and is not revoked. Records the key's use when the last
/// record is a minute old or more: one write per key per minute, not one per request.
pub async fn authenticate(pool: &PgPool, key: &str) -> Result<Option<KeyOwner>, sqlx::Error> {
    if !looks_like_key(key) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT k.id, k.account_id, a.is_admin, \
                (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute') AS stale \
         FROM api_keys k JOIN accounts a ON a.id = k.account_id \
         WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
    )
    .bind(hash_key(key))
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let owner = KeyOwner {
        key_id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        admin: row.try_get("is_admin")?,
    };
    if row.try_get::<bool, _>("stale")? {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = now() WHERE id = $1 \
             AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
        )
        .bind(owner.key_id)
        .execute(pool)
        .await?;
    }
    Ok(Some(owner))
}

/// Whether the key still exists unrevoked (a WebSocket re-checks after missed notices).
pub async fn is_active(pool: &PgPool, key_id: Uuid) -> Result<bool, sqlx::Error> {
    let found: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM api_keys WHERE id = $1 AND revoked_at IS NULL")
            .bind(key_id)
            .fetch_optional(pool)
            .await?;
    Ok(found.is_some())
}

/// A new key for an existing account; the clear text is returned this once.
pub async fn insert(conn: &mut PgConnection, account_id: Uuid) -> Result<CreatedKey, sqlx::Error> {
    let random: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(KEY_RANDOM_CHARS)
        .map(char::from)
        .collect();
    let key = format!("{KEY_PREFIX}{random}");
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO api_keys (id, account_id, key_hash, key_prefix) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(account_id)
    .bind(hash_key(&key))
    .bind(&key[..SHOWN_KEY_CHARS])
    .execute(conn)
    .await?;
    Ok(CreatedKey { id, key })
}

fn view(row: &sqlx::postgres::PgRow, current: Option<Uuid>) -> Result<KeyView, sqlx::Error> {
    let id: Uuid = row.try_get("id")?;
    Ok(KeyView {
        id,
        prefix: row.try_get("key_prefix")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
        current: current == Some(id),
    })
}

const KEY_COLUMNS: &str = "k.id, k.key_prefix, k.created_at, k.last_used_at, k.revoked_at";

/// The account's keys, oldest first; `current` marks the key that asked.
pub async fn list(
    pool: &PgPool,
    account_id: Uuid,
    current: Option<Uuid>,
) -> Result<Vec<KeyView>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.account_id = $1 ORDER BY k.created_at, k.id"
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| view(row, current))
    .collect()
}

/// A key with its account's name, for operators.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountKey {
    pub account: String,
    pub admin: bool,
    #[serde(flatten)]
    pub key: KeyView,
}

/// Every key (of one account when `account` is given), by account then age.
pub async fn list_all(
    pool: &PgPool,
    account: Option<&str>,
) -> Result<Vec<AccountKey>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {KEY_COLUMNS}, a.name, a.is_admin FROM api_keys k \
         JOIN accounts a ON a.id = k.account_id \
         WHERE $1::text IS NULL OR a.name = $1 ORDER BY a.name, k.created_at, k.id"
    ))
    .bind(account)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| {
        Ok(AccountKey {
            account: row.try_get("name")?,
            admin: row.try_get("is_admin")?,
            key: view(row, None)?,
        })
    })
    .collect()
}

/// What revoking a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now; the api replicas were told.
    Now,
    /// It was revoked before: nothing changed.
    Already,
    /// No such key (of this account).
    NotFound,
    /// Refused: it is the account's last active key, and revoking it would lock the account out.
    LastActiveKey,
}

/// Revokes one of the account's keys, unless it is the account's last active one. Decided under
/// the account's lock, so two requests revoking each other's keys cannot both win.
pub async fn revoke_own(
    pool: &PgPool,
    account_id: Uuid,
    key_id: Uuid,
) -> Result<Revoked, sqlx::Error> {
    let mut tx = pool.begin().await?;
    super::accounts::lock(&mut tx, account_id).await?;
    let revoked_at: Option<Option<DateTime<Utc>>> =
        sqlx::query_scalar("SELECT revoked_at FROM api_keys WHERE id = $1 AND account_id = $2")
            .bind(key_id)
            .bind(account_id)
            .fetch_optional(&mut *tx)
            .await?;
    match revoked_at {
        None => return Ok(Revoked::NotFound),
        Some(Some(_)) => return Ok(Revoked::Already),
        Some(None) => {}
    }
    let active: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL",
    )
    .bind(account_id)
    .fetch_one(&mut *tx)
    .await?;
    if active <= 1 {
        return Ok(Revoked::LastActiveKey);
    }
    mark_revoked(&mut tx, key_id).await?;
    tx.commit().await?;
    Ok(Revoked::Now)
}

/// The account (id and name) a key belongs to, revoked or not; for the operators' log lines.
pub async fn account_of(
    pool: &PgPool,
    key_id: Uuid,
) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT a.id, a.name FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.id = $1",
    )
    .bind(key_id)
    .fetch_optional(pool)
    .await?;
    row.map(|row| Ok((row.try_get("id")?, row.try_get("name")?)))
        .transpose()
}

/// Revokes any key (operators): no lock-out rule.
pub async fn revoke(pool: &PgPool, key_id: Uuid) -> Result<Revoked, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let revoked_at: Option<Option<DateTime<Utc>>> =
        sqlx::query_scalar("SELECT revoked_at FROM api_keys WHERE id = $1 FOR UPDATE")
            .bind(key_id)
            .fetch_optional(&mut *tx)
            .await?;
    let outcome = match revoked_at {
        None => Revoked::NotFound,
        Some(Some(_)) => Revoked::Already,
        Some(None) => {
            mark_revoked(&mut tx, key_id).await?;
            Revoked::Now
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Marks the key revoked and, on commit, tells every api replica listening on the events channel.
async fn mark_revoked(conn: &mut PgConnection, key_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_keys SET revoked_at = now() WHERE id = $1")
        .bind(key_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(super::events::NOTIFY_CHANNEL)
        .bind(revocation_notice(key_id))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The payload that tells the api replicas a key was revoked.
pub fn revocation_notice(key_id: Uuid) -> String {
    format!("{REVOKED_NOTICE}{key_id}")
}

/// The key a notification payload says was revoked, if it is a revocation notice.
pub fn revoked_key(payload: &str) -> Option<Uuid> {
    payload.strip_prefix(REVOKED_NOTICE)?.parse().ok()
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

    #[test]
    fn revocation_notices_round_trip_and_scan_ids_are_not_notices() {
        let key = Uuid::new_v4();
        assert_eq!(revoked_key(&revocation_notice(key)), Some(key));
        assert_eq!(revoked_key(&Uuid::new_v4().to_string()), None);
        assert_eq!(revoked_key("revoked:nope"), None);
    }
}
