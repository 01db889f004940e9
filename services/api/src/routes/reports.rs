//! `GET /r/{slug}` (HTML), `/r/{slug}?download=1` (the same page as an attachment) and
//! `/r/{slug}.json`. The unguessable slug is the capability: no API key, so a browser opens it.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use recon_contracts::{RenderedReport, Step};
use recon_runtime::db::{results, scans};
use serde::Deserialize;

use crate::{ApiError, AppState};

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    download: Option<String>,
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
    let not_found = || ApiError::NotFound("no such report".to_owned());
    if slug.is_empty() || slug.len() > 64 || !slug.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(not_found());
    }
    let scan = scans::get_by_slug(&state.deps.db, &slug)
        .await?
        .ok_or_else(not_found)?;
    let stored = results::load(&state.deps.db, scan.id, Step::Render)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "the report is not ready yet (scan status: {})",
                scan.status.as_str()
            ))
        })?;
    let rendered: RenderedReport = serde_json::from_value(stored)
        .map_err(|err| ApiError::Internal(format!("stored report unreadable: {err}")))?;
    if as_json {
        return Ok(Json(rendered.report).into_response());
    }
    let download = query.download.is_some_and(|value| value != "0");
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:".to_owned(),
            ),
        ],
        rendered.html,
    )
        .into_response();
    if download {
        let disposition = format!("attachment; filename=\"browser-recon-{slug}.html\"");
        if let Ok(value) = disposition.parse() {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}
