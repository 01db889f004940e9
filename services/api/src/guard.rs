//! Request-level guards every route shares: an over-long URI is refused with 414 before any
//! routing, and every error response not already in the `{error: {code, message}}` shape
//! (axum's own extractor rejections, 405 for a wrong method, a refused WebSocket upgrade) is
//! rewritten into it, so clients parse one error format whatever refused them.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use recon_contracts::{ErrorBody, ErrorDetail};

use crate::ApiError;

/// Longest request target (path and query) accepted; no route of this API needs more.
pub const MAX_URI_BYTES: usize = 8 << 10;
/// How much of a plain-text error body is kept as the message.
const MAX_MESSAGE_BYTES: usize = 4 << 10;

pub async fn shape_errors(request: Request, next: Next) -> Response {
    let uri_length = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if uri_length > MAX_URI_BYTES {
        return ApiError::UriTooLong {
            limit: MAX_URI_BYTES,
        }
        .into_response();
    }
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_MESSAGE_BYTES)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    // axum adds the `Allow` header outside this layer, so the message points to it.
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        format!(
            "{method} is not allowed on this route; the Allow header lists the methods it takes"
        )
    } else if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_owned()
    } else {
        text
    };
    let mut shaped = (
        status,
        Json(ErrorBody {
            error: ErrorDetail {
                code: code_for(status).to_owned(),
                message,
                limit: None,
            },
        }),
    )
        .into_response();
    // Keep what the original said beyond its body (`Allow` on a 405, for one).
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            shaped.headers_mut().append(name, value.clone());
        }
    }
    shaped
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value: &HeaderValue| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_request",
        StatusCode::UPGRADE_REQUIRED => "upgrade_required",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        status if status.is_server_error() => "internal",
        _ => "bad_request",
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::extract::Path;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use axum::Router;
    use recon_contracts::ErrorBody;
    use tower::ServiceExt;

    fn app() -> Router {
        Router::new()
            .route("/items/{id}", get(|| async { "item" }))
            .route(
                "/names/{name}",
                get(|Path(name): Path<String>| async move { name }),
            )
            .layer(axum::middleware::from_fn(super::shape_errors))
    }

    async fn call(method: &str, uri: &str) -> (StatusCode, ErrorBody) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let response = app().oneshot(request).await.unwrap();
        let status = response.status();
        assert_eq!(response.headers()["content-type"], "application/json");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_wrong_method_gets_a_json_405_naming_it() {
        let (status, body) = call("DELETE", "/items/1").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body.error.code, "method_not_allowed");
        assert!(
            body.error.message.contains("DELETE"),
            "{}",
            body.error.message
        );
    }

    #[tokio::test]
    async fn an_over_long_uri_gets_a_json_414() {
        let uri = format!("/items/1?pad={}", "p".repeat(super::MAX_URI_BYTES));
        let (status, body) = call("GET", &uri).await;
        assert_eq!(status, StatusCode::URI_TOO_LONG);
        assert_eq!(body.error.code, "uri_too_long");
    }

    #[tokio::test]
    async fn extractor_rejections_become_json_and_successes_are_untouched() {
        let (status, body) = call("GET", "/names/%FF").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body.error.code, "bad_request");
        assert!(
            body.error.message.contains("UTF-8"),
            "{}",
            body.error.message
        );
        let request = Request::builder()
            .uri("/names/ok")
            .body(Body::empty())
            .unwrap();
        let response = app().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );
    }
}
