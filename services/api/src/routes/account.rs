//! `GET /account`: whose API key this is, so `recon login` can check a key before saving it.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use crate::auth::Account;
use crate::{ApiError, AppState};

/// Characters of the key shown back: `rec_live_` and four more, as stored with the key.
const SHOWN_KEY_CHARS: usize = 13;

pub async fn show(
    State(state): State<AppState>,
    Account(account_id): Account,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let name: String = sqlx::query_scalar("SELECT name FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(&state.deps.db)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    // The extractor accepted the key, so the header is there and well formed.
    let key_prefix: String = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_whitespace().nth(1))
        .map(|key| key.chars().take(SHOWN_KEY_CHARS).collect())
        .unwrap_or_default();
    Ok(Json(json!({"account": name, "key_prefix": key_prefix})))
}
