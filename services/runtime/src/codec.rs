//! Gzip-compressed JSON, the format of captures at rest, with a cap on the inflated size so a
//! small gzip bomb cannot exhaust memory, and the reading of a stored capture under its bounds.

use std::io::{Read, Write};

use recon_contracts::{
    decode_capture, Capture, CaptureBounds, CaptureDecodeError, Limit, LimitExceeded,
};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("not valid gzip: {0}")]
    Gzip(std::io::Error),
    #[error("inflates to more than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// Inflates at most `limit` bytes; more is an error, not a truncation.
pub fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(4).min(limit));
    let decoder = flate2::read::MultiGzDecoder::new(bytes);
    decoder
        // One byte past the limit tells "exactly the limit" from "more"; saturating, so
        // `usize::MAX` (no limit) does not wrap to a zero-byte read.
        .take((limit as u64).saturating_add(1))
        .read_to_end(&mut out)
        .map_err(CodecError::Gzip)?;
    if out.len() > limit {
        return Err(CodecError::TooLarge { limit });
    }
    Ok(out)
}

/// Serialises straight into the compressor: the uncompressed JSON is never held whole.
pub fn to_gzip_json<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    serde_json::to_writer(&mut encoder, value)?;
    encoder.finish().map_err(CodecError::Gzip)
}

/// Why a gzip-compressed capture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureReadError {
    #[error("{0}")]
    Gzip(CodecError),
    #[error(transparent)]
    Decode(#[from] CaptureDecodeError),
}

/// Inflates a gzip-compressed capture, refusing it past its decoded-bytes bound.
pub fn gunzip_capture(bytes: &[u8], bounds: &CaptureBounds) -> Result<Vec<u8>, CaptureReadError> {
    let max = bounds.max(Limit::DecodedBytes);
    gunzip(bytes, usize::try_from(max).unwrap_or(usize::MAX)).map_err(|err| match err {
        CodecError::TooLarge { .. } => CaptureReadError::Decode(
            LimitExceeded {
                limit: Limit::DecodedBytes,
                max,
            }
            .into(),
        ),
        other => CaptureReadError::Gzip(other),
    })
}

/// Reads a gzip-compressed capture the way the api reads an upload ([`decode_capture`]).
pub fn read_capture(bytes: &[u8], bounds: &CaptureBounds) -> Result<Capture, CaptureReadError> {
    let json = gunzip_capture(bytes, bounds)?;
    Ok(decode_capture(&json, bounds)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture() -> Capture {
        serde_json::from_value(serde_json::json!({
            "format_version": 1,
            "source": "chrome",
            "target_url": "https://shop.example/",
            "started_at_ms": 0.0,
            "ended_at_ms": 1.0,
            "requests": [],
            "streams": [{"kind": "web_socket", "url": "wss://shop.example/", "samples": ["a", "b"]}]
        }))
        .unwrap()
    }

    #[test]
    fn round_trips() {
        let value = serde_json::json!({"a": [1, 2, 3]});
        let bytes = to_gzip_json(&value).unwrap();
        let back: serde_json::Value =
            serde_json::from_slice(&gunzip(&bytes, 1 << 20).unwrap()).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn no_limit_reads_everything() {
        // Found by the capture_decode fuzz target: `limit + 1` overflowed for usize::MAX.
        let bytes = to_gzip_json(&serde_json::json!({"a": 1})).unwrap();
        assert_eq!(gunzip(&bytes, usize::MAX).unwrap(), br#"{"a":1}"#);
    }

    #[test]
    fn a_stored_capture_reads_back_under_its_bounds() {
        let stored = to_gzip_json(&capture()).unwrap();
        let bounds = CaptureBounds::default();
        assert_eq!(read_capture(&stored, &bounds).unwrap(), capture());
        let tight = bounds.with(Limit::SamplesPerStream, 1);
        assert!(matches!(
            read_capture(&stored, &tight),
            Err(CaptureReadError::Decode(CaptureDecodeError::Limit(
                LimitExceeded {
                    limit: Limit::SamplesPerStream,
                    max: 1
                }
            )))
        ));
    }

    #[test]
    fn a_capture_inflating_past_its_bound_names_the_bound() {
        let stored = to_gzip_json(&capture()).unwrap();
        let json_bytes = gunzip(&stored, usize::MAX).unwrap().len() as u64;
        let bounds = CaptureBounds::default().with(Limit::DecodedBytes, json_bytes - 1);
        assert!(matches!(
            read_capture(&stored, &bounds),
            Err(CaptureReadError::Decode(CaptureDecodeError::Limit(
                LimitExceeded {
                    limit: Limit::DecodedBytes,
                    ..
                }
            )))
        ));
        assert!(matches!(
            read_capture(b"not gzip", &bounds),
            Err(CaptureReadError::Gzip(CodecError::Gzip(_)))
        ));
    }

    #[test]
    fn refuses_bombs_and_garbage() {
        let bomb = gzip(&vec![b'a'; 10 << 20]);
        assert!(bomb.len() < 100 << 10);
        assert!(matches!(
            gunzip(&bomb, 1 << 20),
            Err(CodecError::TooLarge { .. })
        ));
        assert!(matches!(
            gunzip(b"definitely not gzip", 1 << 20),
            Err(CodecError::Gzip(_))
        ));
        let truncated = &bomb[..bomb.len() / 2];
        assert!(gunzip(truncated, 100 << 20).is_err());
    }
}
