//! `GET /account/keys`, `POST /account/keys` and `DELETE /account/keys/{id}`: a customer's own
//! API keys. A new key is answered once, in clear text; afterwards only its prefix and last use
//! are shown. Revoking takes effect at once on every replica, open WebSockets included. The one
//! refusal: the account's last active key (necessarily the key asking) is not revoked, since
//! that would lock the account out; create another key first.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use recon_contracts::KeyList;
use recon_runtime::db::keys::{self, Revoked};
use uuid::Uuid;

use crate::auth::Caller;
use crate::{ApiError, AppState};

fn key_not_found() -> ApiError {
    ApiError::NotFound("no such key".to_owned())
}

pub async fn list(
    State(state): State<AppState>,
    Caller(owner): Caller,
) -> Result<Json<KeyList>, ApiError> {
    let keys = keys::list(&state.deps.db, owner.account_id, Some(owner.key_id)).await?;
    Ok(Json(KeyList { keys }))
}

pub async fn create(
    State(state): State<AppState>,
    Caller(owner): Caller,
) -> Result<impl IntoResponse, ApiError> {
    let mut conn = state.deps.db.acquire().await?;
    let created = keys::insert(&mut conn, owner.account_id).await?;
    tracing::info!(
        account_id = %owner.account_id,
        key_id = %owner.key_id,
        new_key_id = %created.id,
        "account action: API key created"
    );
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn revoke(
    State(state): State<AppState>,
    Caller(owner): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let key_id: Uuid = id.parse().map_err(|_| key_not_found())?;
    let outcome = keys::revoke_own(&state.deps.db, owner.account_id, key_id).await?;
    tracing::info!(
        account_id = %owner.account_id,
        key_id = %owner.key_id,
        revoked_key_id = %key_id,
        outcome = ?outcome,
        "account action: API key revocation"
    );
    match outcome {
        Revoked::Now | Revoked::Already => Ok(StatusCode::NO_CONTENT),
        Revoked::NotFound => Err(key_not_found()),
        Revoked::LastActiveKey => Err(ApiError::Conflict {
            code: "last_active_key",
            message: "this is the account's last active key: revoking it would lock the \
                      account out; create another key first (POST /account/keys)"
                .to_owned(),
        }),
    }
}
