//! Gzip-compressed JSON, the format of captures at rest, with a cap on the inflated size so a
//! small gzip bomb cannot exhaust memory.

use std::io::{Read, Write};

use serde::{de::DeserializeOwned, Serialize};

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

pub fn to_gzip_json<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    Ok(gzip(&serde_json::to_vec(value)?))
}

pub fn from_gzip_json<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, CodecError> {
    Ok(serde_json::from_slice(&gunzip(bytes, limit)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let value = serde_json::json!({"a": [1, 2, 3]});
        let bytes = to_gzip_json(&value).unwrap();
        let back: serde_json::Value = from_gzip_json(&bytes, 1 << 20).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn no_limit_reads_everything() {
        // Found by the capture_decode fuzz target: `limit + 1` overflowed for usize::MAX.
        let bytes = to_gzip_json(&serde_json::json!({"a": 1})).unwrap();
        let back: serde_json::Value = from_gzip_json(&bytes, usize::MAX).unwrap();
        assert_eq!(back, serde_json::json!({"a": 1}));
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
