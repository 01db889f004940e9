//! `GET /scans` (the account's scans, newest first, a page at a time, filtered by site and
//! status) and `DELETE /scans/{id}` (the scan and everything made from it). Deleting is
//! idempotent in effect: the first call answers 204, later ones 404 like any scan the account
//! does not have. A scan still in the pipeline is refused with 409 until it ends.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use recon_contracts::{ScanList, ScanStatus};
use recon_runtime::db::scan_deletion::{self, Deletion};
use recon_runtime::db::scan_pages::{self, PageCursor, ScanFilter};
use serde::Deserialize;

use crate::auth::Caller;
use crate::routes::scans::view;
use crate::{ApiError, AppState};

const DEFAULT_PAGE: i64 = 20;
const MAX_PAGE: i64 = 100;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    site: Option<String>,
    status: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
    /// The scan whose report URL ends in this slug (how the CLI resolves a report URL).
    slug: Option<String>,
}

impl ListQuery {
    fn parse(self) -> Result<(ScanFilter, i64), ApiError> {
        let present = |value: Option<String>| {
            value
                .map(|text| text.trim().to_owned())
                .filter(|text| !text.is_empty())
        };
        let status = match present(self.status) {
            None => None,
            Some(text) => Some(ScanStatus::parse(&text).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_status",
                    format!(
                        "status must be one of created, processing, complete, errored; got {text:?}"
                    ),
                )
            })?),
        };
        let limit = match present(self.limit) {
            None => DEFAULT_PAGE,
            Some(text) => match text.parse::<i64>() {
                Ok(limit) if (1..=MAX_PAGE).contains(&limit) => limit,
                _ => {
                    return Err(ApiError::bad_request(
                        "invalid_limit",
                        format!("limit must be a whole number from 1 to {MAX_PAGE}; got {text:?}"),
                    ))
                }
            },
        };
        let after = match present(self.cursor) {
            None => None,
            Some(text) => Some(PageCursor::parse(&text).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_cursor",
                    "cursor must be a next_cursor returned by GET /scans",
                )
            })?),
        };
        let site = present(self.site).map(|site| site.to_ascii_lowercase());
        if site.as_ref().is_some_and(|site| site.len() > 253) {
            return Err(ApiError::bad_request(
                "invalid_site",
                "site must be a host name such as shop.example",
            ));
        }
        let filter = ScanFilter {
            site,
            status,
            report_slug: present(self.slug),
            after,
        };
        Ok((filter, limit))
    }
}

pub async fn list(
    State(state): State<AppState>,
    Caller(owner): Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<ScanList>, ApiError> {
    let (filter, limit) = query.parse()?;
    let mut records =
        scan_pages::list(&state.deps.db, owner.account_id, &filter, limit + 1).await?;
    let more = records.len() as i64 > limit;
    records.truncate(limit as usize);
    let next_cursor = more.then(|| records.last()).flatten().map(|last| {
        PageCursor {
            created_at: last.created_at,
            id: last.id,
        }
        .encode()
    });
    Ok(Json(ScanList {
        scans: records.iter().map(|scan| view(&state, scan)).collect(),
        next_cursor,
    }))
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(owner): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let scan_id = super::scan_id(&id)?;
    let outcome = scan_deletion::delete(
        &state.deps.db,
        state.deps.blob.as_ref(),
        scan_id,
        Some(owner.account_id),
    )
    .await
    .map_err(|err| match err {
        scan_deletion::DeletionError::Database(err) => ApiError::from(err),
        scan_deletion::DeletionError::Blob(err) => {
            ApiError::Unavailable(format!("cannot delete the scan's data now ({err}); retry"))
        }
    })?;
    tracing::info!(
        account_id = %owner.account_id,
        key_id = %owner.key_id,
        %scan_id,
        outcome = ?outcome,
        "account action: scan deletion"
    );
    match outcome {
        Deletion::Deleted => Ok(StatusCode::NO_CONTENT),
        Deletion::NotFound => Err(ApiError::scan_not_found()),
        Deletion::StillProcessing => Err(ApiError::Conflict {
            code: "scan_processing",
            message: "the scan is still in the pipeline; delete it once it has ended \
                      (recon watch ID)"
                .to_owned(),
        }),
    }
}
