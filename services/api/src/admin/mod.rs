//! The operators' side of the api: `/admin` (a server-rendered page behind a login with an admin
//! key), and the same data as JSON under `/admin/api/` for scripts (session cookie or the admin
//! key as a Bearer token). Everything here except the login form answers 404 to the public and
//! to keys of accounts that are not admins, as if it did not exist.

mod json;
mod page;
mod session;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::Router;
use recon_runtime::db::admin_sessions;
use uuid::Uuid;

use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(page::show))
        .route("/admin/login", get(session::form).post(session::login))
        .route("/admin/logout", post(session::logout))
        .route("/admin/api/versions", get(json::versions))
        .route("/admin/api/accounts", get(json::accounts))
        .route("/admin/api/scans", get(json::scans))
}

/// An operator: a live admin session, or an admin key sent as a Bearer token.
pub struct Admin {
    pub account_id: Uuid,
    pub key_id: Uuid,
    /// The session's CSRF token; `None` for a Bearer key, which sends no cookie and fills no form.
    pub csrf_token: Option<String>,
}

/// What everyone else gets from an admin route.
fn hidden() -> ApiError {
    ApiError::NotFound("no such endpoint".to_owned())
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(token) = session::cookie_token(&parts.headers) {
            if let Some(found) = admin_sessions::find(&state.deps.db, &token).await? {
                return Ok(Admin {
                    account_id: found.account_id,
                    key_id: found.key_id,
                    csrf_token: Some(found.csrf_token),
                });
            }
        }
        match crate::auth::key_owner(parts, state).await? {
            Some(owner) if owner.admin => Ok(Admin {
                account_id: owner.account_id,
                key_id: owner.key_id,
                csrf_token: None,
            }),
            _ => Err(hidden()),
        }
    }
}
