//! `GET /r/{slug}` (HTML), `/r/{slug}?download=1` (the same page as an attachment),
//! `/r/{slug}.json` (the report JSON) and `/r/{slug}/openapi.json` (the OpenAPI document, as a
//! download). The unguessable slug is the capability: no API key, so a browser opens it.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use recon_contracts::{RenderedReport, StageResult};
use recon_runtime::db::{results, scans};
use serde::Deserialize;

use crate::{ApiError, AppState};

/// The page may run its own inline script and style and nothing else: no network at all.
const REPORT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    download: Option<String>,
}

fn not_found() -> ApiError {
    ApiError::NotFound("no such report".to_owned())
}

/// The stored render result of the scan behind `slug`.
async fn load(state: &AppState, slug: &str) -> Result<RenderedReport, ApiError> {
    if slug.is_empty() || slug.len() > 64 || !slug.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(not_found());
    }
    let scan = scans::get_by_slug(&state.deps.db, slug)
        .await?
        .ok_or_else(not_found)?;
    let stored = results::load(&state.deps.db, scan.id, RenderedReport::STEP)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "the report is not ready yet (scan status: {})",
                scan.status.as_str()
            ))
        })?;
    serde_json::from_value(stored)
        .map_err(|err| ApiError::Internal(format!("stored report unreadable: {err}")))
}

fn common_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    headers.insert(
        HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex"),
    );
}

fn attachment(response: &mut Response, filename: &str) {
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
}

pub async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let (slug, as_json) = match slug.strip_suffix(".json") {
        Some(slug) => (slug.to_owned(), true),
        None => (slug, false),
    };
    let rendered = load(&state, &slug).await?;
    let download = query.download.is_some_and(|value| value != "0");
    let mut response = if as_json {
        Json(rendered.report).into_response()
    } else {
        let html = if download {
            // The saved file is opened from disk, where the page's relative links to its JSON
            // and OpenAPI siblings would point nowhere.
            rendered.html.replace(
                &format!("href=\"./{slug}"),
                &format!("href=\"{}", state.report_url(&slug)),
            )
        } else {
            rendered.html
        };
        let mut response =
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(REPORT_CSP),
        );
        response
    };
    common_headers(&mut response);
    if download {
        let extension = if as_json { "json" } else { "html" };
        attachment(&mut response, &format!("browser-recon-{slug}.{extension}"));
    }
    Ok(response)
}

/// The OpenAPI 3.1 document of the scan's inventory, always as a download.
pub async fn openapi(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let rendered = load(&state, &slug).await?;
    let document = rendered
        .openapi
        .ok_or_else(|| ApiError::NotFound("this report has no OpenAPI document".to_owned()))?;
    let mut response = Json(document).into_response();
    common_headers(&mut response);
    attachment(&mut response, &format!("browser-recon-{slug}.openapi.json"));
    Ok(response)
}
