//! Gzip-compressed JSON, the format of captures at rest, with a cap on the inflated size so a
//! small gzip bomb cannot exhaust memory, and the reading of a gzip-compressed capture under its
//! bounds. zlib-rs inflates and deflates: a capture is inflated by the api and by every stage.

use std::io::{Read, Write};

use recon_contracts::{decode_capture_from_reader, Capture, CaptureBounds, CaptureDecodeError};
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

/// Serialises straight into the compressor: the uncompressed JSON is never held whole. A buffer
/// sits between the two: serde_json writes token by token, and each write into the compressor
/// costs a pass over its output buffer (that was half the scrub stage's time).
pub fn to_gzip_json<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut buffered = std::io::BufWriter::with_capacity(WRITE_BUFFER, encoder);
    serde_json::to_writer(&mut buffered, value)?;
    let encoder = buffered
        .into_inner()
        .map_err(|err| CodecError::Gzip(err.into_error()))?;
    encoder.finish().map_err(CodecError::Gzip)
}

/// What the compressor is handed at a time.
const WRITE_BUFFER: usize = 64 << 10;

/// Reads a gzip-compressed capture the way the api reads an upload
/// ([`decode_capture_from_reader`]): inflated never past its decoded-bytes bound, and parsed in
/// place when small, as it inflates when large.
pub fn read_capture(bytes: &[u8], bounds: &CaptureBounds) -> Result<Capture, CaptureDecodeError> {
    read_capture_with(bytes, bounds, |_| {})
}

/// [`read_capture`], showing `on_json` the JSON as it is inflated, piece by piece (the api
/// hashes it).
pub fn read_capture_with(
    bytes: &[u8],
    bounds: &CaptureBounds,
    on_json: impl FnMut(&[u8]),
) -> Result<Capture, CaptureDecodeError> {
    let inflating = Observed {
        inner: flate2::read::MultiGzDecoder::new(bytes),
        on_read: on_json,
    };
    decode_capture_from_reader(inflating, gzip_stated_size(bytes), bounds)
}

/// The inflated size a gzip member's trailer states (modulo 4 GiB): exact for a single-member
/// body like the CLI's, a hint only, since the sender writes it, and never more than deflate
/// can expand what was sent.
fn gzip_stated_size(bytes: &[u8]) -> usize {
    const DEFLATE_MAX_RATIO: usize = 1_032;
    match bytes.len().checked_sub(4).map(|start| &bytes[start..]) {
        Some(&[a, b, c, d]) => (u32::from_le_bytes([a, b, c, d]) as usize)
            .min(bytes.len().saturating_mul(DEFLATE_MAX_RATIO)),
        _ => 0,
    }
}

/// A reader that shows what it reads to `on_read`.
struct Observed<R, F> {
    inner: R,
    on_read: F,
}

impl<R: Read, F: FnMut(&[u8])> Read for Observed<R, F> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let count = self.inner.read(buffer)?;
        (self.on_read)(&buffer[..count]);
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use recon_contracts::{Limit, LimitExceeded};

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
            Err(CaptureDecodeError::Limit(LimitExceeded {
                limit: Limit::SamplesPerStream,
                max: 1
            }))
        ));
    }

    #[test]
    fn the_gzip_trailer_sizes_the_json_and_a_lying_one_is_capped() {
        let json = serde_json::to_vec(&capture()).unwrap();
        let mut gzip = to_gzip_json(&capture()).unwrap();
        assert_eq!(gzip_stated_size(&gzip), json.len());
        let end = gzip.len();
        gzip[end - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(gzip_stated_size(&gzip), gzip.len() * 1_032);
        assert_eq!(gzip_stated_size(b"abc"), 0);
        // gzip checks the size it states, so a lying trailer is a corrupt body.
        let err = read_capture(&gzip, &CaptureBounds::default()).unwrap_err();
        assert!(matches!(err, CaptureDecodeError::Read(_)), "{err:?}");
    }

    #[test]
    fn the_inflated_json_is_shown_whole_as_it_is_read() {
        let stored = to_gzip_json(&capture()).unwrap();
        let mut seen = Vec::new();
        let read = read_capture_with(&stored, &CaptureBounds::default(), |piece| {
            seen.extend_from_slice(piece)
        })
        .unwrap();
        assert_eq!(read, capture());
        assert_eq!(seen, gunzip(&stored, usize::MAX).unwrap());
    }

    #[test]
    fn a_capture_inflating_past_its_bound_names_the_bound() {
        let stored = to_gzip_json(&capture()).unwrap();
        let json_bytes = gunzip(&stored, usize::MAX).unwrap().len() as u64;
        let at_the_bound = CaptureBounds::default().with(Limit::DecodedBytes, json_bytes);
        assert_eq!(read_capture(&stored, &at_the_bound).unwrap(), capture());
        let bounds = at_the_bound.with(Limit::DecodedBytes, json_bytes - 1);
        assert!(matches!(
            read_capture(&stored, &bounds),
            Err(CaptureDecodeError::Limit(LimitExceeded {
                limit: Limit::DecodedBytes,
                ..
            }))
        ));
        // A bomb stops at the bound, not at its end.
        let bomb = gzip(&vec![b' '; 64 << 20]);
        assert!(matches!(
            read_capture(&bomb, &bounds),
            Err(CaptureDecodeError::Limit(LimitExceeded {
                limit: Limit::DecodedBytes,
                ..
            }))
        ));
    }

    #[test]
    fn corrupt_gzip_is_a_read_error() {
        let bounds = CaptureBounds::default();
        let stored = to_gzip_json(&capture()).unwrap();
        let mut bad_checksum = stored.clone();
        let crc = bad_checksum.len() - 8;
        bad_checksum[crc] ^= 0xff;
        for corrupt in [
            b"not gzip".as_slice(),
            &stored[..stored.len() / 2],
            &bad_checksum,
        ] {
            let err = read_capture(corrupt, &bounds).unwrap_err();
            assert!(matches!(err, CaptureDecodeError::Read(_)), "{err:?}");
        }
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
