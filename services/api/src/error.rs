//! Every failure of the api becomes a status code and a JSON `{error: {code, message}}` body.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use recon_contracts::{ErrorBody, ErrorDetail, LimitExceeded, QuotaErrorBody, QuotaErrorDetail};
use recon_runtime::quota::{whole_seconds, Exceeded, QuotaError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("missing or invalid API key; send Authorization: Bearer rec_live_…")]
    Unauthorized,
    /// The request is understood and refused (a cross-site form post, a bad CSRF token).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// A capture crossed one of its bounds; the error body names it.
    #[error("{0}")]
    CaptureLimit(LimitExceeded),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    UpgradeRequired(String),
    /// An endpoint retired for good.
    #[error("{0}")]
    Gone(String),
    /// The request body stalled or took too long; the message says which.
    #[error("{0}")]
    Timeout(String),
    #[error("request target longer than {limit} bytes")]
    UriTooLong { limit: usize },
    /// The account is over one of its quotas: 429 with Retry-After, or 413 when the request
    /// alone is more than the quota allows.
    #[error("{}", .0.message())]
    QuotaExceeded(Exceeded),
    /// A dependency (database, NATS, blob store) is down: retry later.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn scan_not_found() -> ApiError {
        ApiError::NotFound("no such scan".to_owned())
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden { code, .. } => (StatusCode::FORBIDDEN, code),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::PayloadTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            ApiError::CaptureLimit(exceeded) if exceeded.limit.is_shape() => {
                (StatusCode::BAD_REQUEST, "capture_too_deep")
            }
            ApiError::CaptureLimit(_) => (StatusCode::PAYLOAD_TOO_LARGE, "capture_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::UpgradeRequired(_) => (StatusCode::UPGRADE_REQUIRED, "upgrade_required"),
            ApiError::Gone(_) => (StatusCode::GONE, "gone"),
            ApiError::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            ApiError::UriTooLong { .. } => (StatusCode::URI_TOO_LONG, "uri_too_long"),
            ApiError::QuotaExceeded(exceeded) if exceeded.retry_after.is_none() => {
                (StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded")
            }
            ApiError::QuotaExceeded(_) => (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        if recon_runtime::error::is_transient_db_error(&err) {
            ApiError::Unavailable("the database is unavailable; retry shortly".to_owned())
        } else {
            ApiError::Internal(err.to_string())
        }
    }
}

impl From<QuotaError> for ApiError {
    fn from(err: QuotaError) -> Self {
        match err {
            QuotaError::Exceeded(exceeded) => ApiError::QuotaExceeded(exceeded),
            QuotaError::Database(err) => err.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::QuotaExceeded(exceeded) = &self {
            return quota_response(status, code, exceeded);
        }
        match &self {
            ApiError::Internal(detail) => tracing::error!(detail, "internal error"),
            ApiError::Unavailable(detail) => tracing::warn!(detail, "dependency unavailable"),
            _ => {}
        }
        let limit = match &self {
            ApiError::CaptureLimit(exceeded) => Some(exceeded.limit.as_str().to_owned()),
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: self.to_string(),
                limit,
            },
        };
        (status, Json(body)).into_response()
    }
}

/// The 429 (or 413) of a quota: the error body with the quota named, and Retry-After.
fn quota_response(status: StatusCode, code: &str, exceeded: &Exceeded) -> Response {
    recon_runtime::metrics::metrics().count_quota_refusal(exceeded.quota);
    let retry_after_secs = exceeded.retry_after.map(whole_seconds);
    let body = QuotaErrorBody {
        error: QuotaErrorDetail {
            detail: ErrorDetail {
                code: code.to_owned(),
                message: exceeded.message(),
                limit: None,
            },
            quota: exceeded.quota,
            allowed: exceeded.limit,
            used: exceeded.used,
            retry_after_secs,
        },
    };
    let mut response = (status, Json(body)).into_response();
    if let Some(retry_after) = exceeded.retry_after {
        response
            .extensions_mut()
            .insert(crate::pace::RefusalPace::until(retry_after));
    }
    if let Some(seconds) = retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    }
    response
}
