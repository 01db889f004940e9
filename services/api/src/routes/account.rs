//! `GET /account`: whose API key this is (so `recon login` can check a key before saving it),
//! and the account's quotas: each limit and what the account uses of it now.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use recon_contracts::AccountView;
use recon_runtime::{db, quota};

use crate::auth::Account;
use crate::{ApiError, AppState};

/// Characters of the key shown back: `rec_live_` and four more, as stored with the key.
const SHOWN_KEY_CHARS: usize = 13;

pub async fn show(
    State(state): State<AppState>,
    Account(account_id): Account,
    headers: HeaderMap,
) -> Result<Json<AccountView>, ApiError> {
    let name = db::accounts::name(&state.deps.db, account_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    // The extractor accepted the key, so the header is there and well formed.
    let key_prefix: String = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_whitespace().nth(1))
        .map(|key| key.chars().take(SHOWN_KEY_CHARS).collect())
        .unwrap_or_default();
    let quotas = quota::account_quotas(&state.deps.db, account_id, &state.deps.quotas).await?;
    Ok(Json(AccountView {
        account: name,
        key_prefix,
        quotas,
    }))
}
