//! `Authorization: Bearer rec_live_…` → the account the key belongs to.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::{ApiError, AppState};

/// The authenticated account of a request.
pub struct Account(pub Uuid);

impl FromRequestParts<AppState> for Account {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let key = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(ApiError::Unauthorized)?
            .trim();
        recon_runtime::db::accounts::authenticate(&state.deps.db, key)
            .await?
            .map(Account)
            .ok_or(ApiError::Unauthorized)
    }
}
