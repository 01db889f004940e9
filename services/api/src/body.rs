//! Reading request bodies within limits: a size cap while streaming (never buffering more than
//! the cap), an idle timeout and an overall deadline against slow senders, and gzip decoding
//! with a cap on the inflated size.

use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::http::HeaderMap;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use recon_runtime::codec::{self, CodecError};
use recon_runtime::config::HttpSettings;

use crate::ApiError;

/// How much of a refused body is read and thrown away so the client, still sending, gets to
/// read the 413 instead of a reset connection.
const DRAIN_LIMIT: usize = 16 << 20;

/// Reads the whole body, refusing it (413) past `limit` bytes, (408) when no bytes arrive for
/// `http.body_idle_timeout` or the whole body takes longer than `http.body_timeout`.
pub async fn read_limited(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    http: &HttpSettings,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    // Far too large: refuse at once and let the connection close.
    if declared.is_some_and(|length| length > limit.saturating_add(DRAIN_LIMIT)) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    // Shared with the timeouts below: a body already known to be too large is answered 413
    // even when the client then stalls, since that is the refusal it needs to act on.
    let too_large = AtomicBool::new(declared.is_some_and(|length| length > limit));
    let collect = async {
        let mut buffer = BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
        let mut drained = 0usize;
        let mut stream = body.into_data_stream();
        let idle = http.body_idle_timeout;
        loop {
            let Ok(next) = tokio::time::timeout(idle, stream.next()).await else {
                return Err(ApiError::Timeout(format!(
                    "the request body stalled: no bytes for {} s",
                    idle.as_secs_f64()
                )));
            };
            let Some(chunk) = next else {
                break;
            };
            let chunk = chunk.map_err(|err| {
                ApiError::bad_request("bad_body", format!("could not read the body: {err}"))
            })?;
            if too_large.load(Ordering::Relaxed) {
                drained += chunk.len();
                if drained > DRAIN_LIMIT {
                    break;
                }
            } else if buffer.len() + chunk.len() > limit {
                too_large.store(true, Ordering::Relaxed);
                buffer = BytesMut::new();
            } else {
                buffer.extend_from_slice(&chunk);
            }
        }
        Ok(buffer.freeze())
    };
    let outcome = tokio::time::timeout(http.body_timeout, collect).await;
    if too_large.load(Ordering::Relaxed) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    outcome.map_err(|_| {
        ApiError::Timeout(format!(
            "the request body was not complete within {} s",
            http.body_timeout.as_secs_f64()
        ))
    })?
}

/// Whether the body is gzip (`Content-Encoding: gzip`); other encodings are refused.
pub fn is_gzip(headers: &HeaderMap) -> Result<bool, ApiError> {
    match headers
        .get(axum::http::header::CONTENT_ENCODING)
        .map(|value| value.to_str().unwrap_or("?").trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("identity") => Ok(false),
        Some("gzip") | Some("x-gzip") => Ok(true),
        Some(other) => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Encoding {other:?} is not supported; send gzip or no encoding"
        ))),
    }
}

/// Inflates a gzip body, refusing truncated streams and bombs.
pub fn inflate(bytes: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    codec::gunzip(bytes, limit).map_err(|err| match err {
        CodecError::TooLarge { limit } => ApiError::PayloadTooLarge { limit },
        other => bad_gzip(other),
    })
}

/// The refusal of a gzip body that does not inflate.
pub fn bad_gzip(err: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("bad_gzip", format!("the gzip body is corrupt: {err}"))
}

/// Parses JSON, saying where it went wrong.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|err| ApiError::bad_request("invalid_json", format!("invalid {what}: {err}")))
}
