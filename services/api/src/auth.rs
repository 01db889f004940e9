//! `Authorization: Bearer rec_live_…` → the key and the account it belongs to.

use std::sync::{Arc, OnceLock};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use recon_runtime::db::keys::{self, KeyOwner};
use uuid::Uuid;

use crate::{ApiError, AppState};

/// The authenticated key of a request.
pub struct Caller(pub KeyOwner);

/// The authenticated account of a request.
pub struct Account(pub Uuid);

/// Where the version middleware learns which account a request was made for: it puts an empty
/// slot in the request, and the extractor fills it once the key is accepted.
#[derive(Clone, Default)]
pub struct AccountSlot(Arc<OnceLock<Uuid>>);

impl AccountSlot {
    pub fn get(&self) -> Option<Uuid> {
        self.0.get().copied()
    }
}

/// The key in the request's Authorization header, if any.
pub fn bearer_key(parts: &Parts) -> Option<&str> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    Some(
        header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))?
            .trim(),
    )
}

/// The owner of the request's key, when it presents one that is accepted.
pub async fn key_owner(parts: &Parts, state: &AppState) -> Result<Option<KeyOwner>, ApiError> {
    let Some(key) = bearer_key(parts) else {
        return Ok(None);
    };
    let owner = keys::authenticate(&state.deps.db, key).await?;
    if let (Some(owner), Some(slot)) = (owner, parts.extensions.get::<AccountSlot>()) {
        let _ = slot.0.set(owner.account_id);
    }
    Ok(owner)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        key_owner(parts, state)
            .await?
            .map(Caller)
            .ok_or(ApiError::Unauthorized)
    }
}

impl FromRequestParts<AppState> for Account {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(owner) = Caller::from_request_parts(parts, state).await?;
        Ok(Account(owner.account_id))
    }
}
