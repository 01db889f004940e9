//! Reading request bodies within limits: a size cap while streaming (never buffering more than
//! the cap), a deadline against slow senders, and gzip decoding with a cap on the inflated size.

use std::time::Duration;

use axum::body::Body;
use axum::http::HeaderMap;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use recon_runtime::codec::{self, CodecError};

use crate::ApiError;

const BODY_DEADLINE: Duration = Duration::from_secs(120);
/// How much of a refused body is read and thrown away so the client, still sending, gets to
/// read the 413 instead of a reset connection.
const DRAIN_LIMIT: usize = 16 << 20;

pub async fn read_limited(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    // Far too large: refuse at once and let the connection close.
    if declared.is_some_and(|length| length > limit.saturating_add(DRAIN_LIMIT)) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let collect = async {
        let mut buffer = BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
        let mut too_large = declared.is_some_and(|length| length > limit);
        let mut drained = 0usize;
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|err| {
                ApiError::bad_request("bad_body", format!("could not read the body: {err}"))
            })?;
            if too_large {
                drained += chunk.len();
                if drained > DRAIN_LIMIT {
                    break;
                }
            } else if buffer.len() + chunk.len() > limit {
                too_large = true;
                buffer = BytesMut::new();
            } else {
                buffer.extend_from_slice(&chunk);
            }
        }
        if too_large {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        Ok(buffer.freeze())
    };
    tokio::time::timeout(BODY_DEADLINE, collect)
        .await
        .map_err(|_| ApiError::Timeout)?
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
        other => ApiError::bad_request("bad_gzip", format!("the gzip body is corrupt: {other}")),
    })
}

/// Parses JSON, saying where it went wrong.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|err| ApiError::bad_request("invalid_json", format!("invalid {what}: {err}")))
}
