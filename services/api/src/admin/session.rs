//! Logging in to `/admin` with an admin key, and out. The session token goes in an HttpOnly,
//! SameSite=Strict cookie (Secure when the public URL is https) scoped to `/admin`; the server
//! keeps only its hash. Every form POST must come from this origin (the Origin header, or the
//! Referer when a browser sends no Origin) and, once logged in, carry the session's CSRF token.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use recon_runtime::db::{admin_sessions, keys};
use serde::Deserialize;

use super::{page, Admin};
use crate::{ApiError, AppState};

const COOKIE: &str = "recon_admin";
/// How long a login lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The session token of the request's cookie, if it has one.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn cookie(state: &AppState, value: &str, max_age: Duration) -> Option<HeaderValue> {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        max_age.as_secs()
    ))
    .ok()
}

/// Refuses a form POST that does not come from a page of this server.
fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let refused = |why: &str| ApiError::Forbidden {
        code: "cross_origin",
        message: format!("form posts to /admin must come from its own pages: {why}"),
    };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| refused("no Host header"))?;
    let origin = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| refused("no Origin header"))?;
    let origin_host = url::Url::parse(origin)
        .ok()
        .and_then(|url| {
            let host = url.host_str()?.to_owned();
            Some(match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .ok_or_else(|| refused("the Origin is not a URL"))?;
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(refused("the Origin is another site"))
    }
}

pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = cookie_token(&headers) {
        if admin_sessions::find(&state.deps.db, &token)
            .await?
            .is_some()
        {
            return Ok(Redirect::to("/admin").into_response());
        }
    }
    Ok(page::login(StatusCode::OK, None))
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    key: String,
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let owner = keys::authenticate(&state.deps.db, form.key.trim()).await?;
    let Some(owner) = owner.filter(|owner| owner.admin) else {
        match owner {
            Some(customer) => tracing::warn!(
                account_id = %customer.account_id,
                key_id = %customer.key_id,
                "admin login refused: a customer key"
            ),
            None => tracing::warn!("admin login refused: not an active key"),
        }
        return Ok(page::login(
            StatusCode::UNAUTHORIZED,
            Some("That is not an active admin key."),
        ));
    };
    let (token, _) = admin_sessions::create(&state.deps.db, owner, SESSION_LIFETIME).await?;
    tracing::info!(
        account_id = %owner.account_id,
        key_id = %owner.key_id,
        "admin action: logged in"
    );
    let mut response = Redirect::to("/admin").into_response();
    if let Some(value) = cookie(&state, &token, SESSION_LIFETIME) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let (Some(expected), Some(token)) = (admin.csrf_token.as_deref(), cookie_token(&headers))
    else {
        return Err(super::hidden());
    };
    if form.csrf != expected {
        return Err(ApiError::Forbidden {
            code: "bad_csrf_token",
            message: "the form's CSRF token does not match this session; reload the page".into(),
        });
    }
    admin_sessions::delete(&state.deps.db, &token).await?;
    tracing::info!(
        account_id = %admin.account_id,
        key_id = %admin.key_id,
        "admin action: logged out"
    );
    let mut response = Redirect::to("/admin/login").into_response();
    if let Some(value) = cookie(&state, "", Duration::ZERO) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let map = headers(&[(header::COOKIE, "a=1; recon_admin=tok; b=2")]);
        assert_eq!(cookie_token(&map).as_deref(), Some("tok"));
        assert_eq!(cookie_token(&headers(&[(header::COOKIE, "a=1")])), None);
    }

    #[test]
    fn only_same_origin_posts_pass() {
        let ok = headers(&[
            (header::HOST, "127.0.0.1:8080"),
            (header::ORIGIN, "http://127.0.0.1:8080"),
        ]);
        assert!(same_origin(&ok).is_ok());
        let referer = headers(&[
            (header::HOST, "127.0.0.1:8080"),
            (header::REFERER, "http://127.0.0.1:8080/admin"),
        ]);
        assert!(same_origin(&referer).is_ok());
        for bad in [
            headers(&[
                (header::HOST, "127.0.0.1:8080"),
                (header::ORIGIN, "https://evil.example"),
            ]),
            headers(&[(header::HOST, "127.0.0.1:8080"), (header::ORIGIN, "null")]),
            headers(&[(header::HOST, "127.0.0.1:8080")]),
        ] {
            assert!(same_origin(&bad).is_err(), "{bad:?}");
        }
    }
}
