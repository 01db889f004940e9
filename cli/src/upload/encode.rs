//! The capture as the upload body: JSON written straight into a gzip encoder and on into any
//! writer, in fixed-size pieces, so neither the whole JSON nor the whole gzip is ever held. The
//! server's size limits are checked on the way: the encoding stops at the first byte over one.

use std::io::{self, BufWriter, Write};

use flate2::write::GzEncoder;
use flate2::Compression;
use recon_contracts::Capture;

use super::human_bytes;

/// The server's default limits (`RECON_MAX_CAPTURE_DECODED_BYTES`, `RECON_MAX_CAPTURE_BYTES`):
/// a capture over them is refused here, with advice, instead of by the server.
pub const MAX_CAPTURE_JSON_BYTES: u64 = 256 << 20;
pub const MAX_UPLOAD_BYTES: u64 = 64 << 20;

/// The JSON is handed to the encoder in pieces this large: one deflate call per piece instead
/// of one per JSON token.
const JSON_PIECE: usize = 64 << 10;

/// Level 1: on this JSON it deflates several times faster than the default level for a
/// slightly larger body, and the upload waits on the encoder, not on the network, on every
/// link faster than a few MB/s (figures in the README's benchmark notes).
pub const LEVEL: Compression = Compression::fast();

const ADVICE: &str = "record a shorter session (fewer pages, or a smaller --duration)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub json_bytes: u64,
    pub gzip_bytes: u64,
}

impl Limits {
    pub const SERVER_DEFAULTS: Limits = Limits {
        json_bytes: MAX_CAPTURE_JSON_BYTES,
        gzip_bytes: MAX_UPLOAD_BYTES,
    };
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoded {
    pub json_bytes: u64,
    pub gzip_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("the capture is over the server's limit of {} as JSON; {ADVICE}", human_bytes(*.limit))]
    JsonTooLarge { limit: u64 },
    #[error("the capture is over the server's upload limit of {} gzipped; {ADVICE}", human_bytes(*.limit))]
    GzipTooLarge { limit: u64 },
    /// The writer went away (the upload ended before the body did).
    #[error("cannot encode the capture for upload: {0}")]
    Write(io::Error),
}

/// Writes `capture` as gzip-compressed JSON into `out`.
pub fn encode(capture: &Capture, limits: Limits, out: impl Write) -> Result<Encoded, EncodeError> {
    let gzip = Counter::new(out, limits.gzip_bytes, Side::Gzip);
    let json = Counter::new(GzEncoder::new(gzip, LEVEL), limits.json_bytes, Side::Json);
    let mut pieces = BufWriter::with_capacity(JSON_PIECE, json);
    // Not `flush`: through the encoder that would end a deflate block at every call.
    let written = serde_json::to_writer(&mut pieces, capture).map_err(io::Error::from);
    let json = match written {
        Ok(()) => pieces.into_inner().map_err(|error| error.into_error()),
        Err(error) => Err(error),
    }
    .map_err(|error| classify(error, limits))?;
    let json_bytes = json.count;
    let mut gzip = json
        .inner
        .finish()
        .map_err(|error| classify(error, limits))?;
    gzip.flush().map_err(|error| classify(error, limits))?;
    Ok(Encoded {
        json_bytes,
        gzip_bytes: gzip.count,
    })
}

/// Which limit a [`Counter`] holds.
#[derive(Debug, Clone, Copy)]
enum Side {
    Json,
    Gzip,
}

/// The error a [`Counter`] returns at its limit, recognised again by [`classify`].
#[derive(Debug, thiserror::Error)]
#[error("over the limit")]
struct OverLimit(Side);

fn classify(error: io::Error, limits: Limits) -> EncodeError {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<OverLimit>())
    {
        Some(OverLimit(Side::Json)) => EncodeError::JsonTooLarge {
            limit: limits.json_bytes,
        },
        Some(OverLimit(Side::Gzip)) => EncodeError::GzipTooLarge {
            limit: limits.gzip_bytes,
        },
        None => EncodeError::Write(error),
    }
}

/// Passes bytes on, counting them, and fails once they pass `limit`.
struct Counter<W> {
    inner: W,
    count: u64,
    limit: u64,
    side: Side,
}

impl<W> Counter<W> {
    fn new(inner: W, limit: u64, side: Side) -> Counter<W> {
        Counter {
            inner,
            count: 0,
            limit,
            side,
        }
    }
}

impl<W: Write> Write for Counter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.count + buf.len() as u64 > self.limit {
            return Err(io::Error::other(OverLimit(self.side)));
        }
        let written = self.inner.write(buf)?;
        self.count += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::path::Path;

    fn demo() -> Capture {
        // The fixture's bytes are compiled in: no path that a shared target dir could make stale.
        let bytes = include_bytes!("../../../tests/fixtures/demo.har");
        crate::har::import_bytes(
            bytes,
            Path::new("demo.har"),
            "https://demo-shop.recon.test/",
        )
        .unwrap()
        .capture
    }

    fn gunzip(gzip: &[u8]) -> Vec<u8> {
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(gzip)
            .read_to_end(&mut json)
            .unwrap();
        json
    }

    #[test]
    fn the_body_is_the_capture_gzipped_and_its_sizes_are_counted() {
        let capture = demo();
        let mut body = Vec::new();
        let encoded = encode(&capture, Limits::SERVER_DEFAULTS, &mut body).unwrap();
        assert_eq!(encoded.gzip_bytes, body.len() as u64);
        let json = gunzip(&body);
        assert_eq!(encoded.json_bytes, json.len() as u64);
        assert_eq!(json, serde_json::to_vec(&capture).unwrap());
        assert!(body.len() < json.len());
    }

    #[test]
    fn a_capture_over_the_json_limit_is_refused_with_advice() {
        let capture = demo();
        let limits = Limits {
            json_bytes: 1000,
            ..Limits::SERVER_DEFAULTS
        };
        let error = encode(&capture, limits, io::sink()).unwrap_err();
        assert!(matches!(error, EncodeError::JsonTooLarge { .. }), "{error}");
        let message = error.to_string();
        assert!(
            message.starts_with("the capture is over the server's limit of 1000 B as JSON;"),
            "{message}"
        );
        assert!(message.contains("shorter session"), "{message}");
    }

    #[test]
    fn a_capture_over_the_upload_limit_is_refused_with_advice() {
        let capture = demo();
        let limits = Limits {
            gzip_bytes: 2048,
            ..Limits::SERVER_DEFAULTS
        };
        let error = encode(&capture, limits, io::sink()).unwrap_err();
        let message = error.to_string();
        assert!(
            message
                .starts_with("the capture is over the server's upload limit of 2.0 KiB gzipped;"),
            "{message}"
        );
    }

    #[test]
    fn a_capture_at_the_limits_passes() {
        let capture = demo();
        let exact = encode(&capture, Limits::SERVER_DEFAULTS, io::sink()).unwrap();
        let limits = Limits {
            json_bytes: exact.json_bytes,
            gzip_bytes: exact.gzip_bytes,
        };
        assert_eq!(encode(&capture, limits, io::sink()).unwrap(), exact);
    }

    #[test]
    fn a_writer_that_fails_is_a_write_error() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let error = encode(&demo(), Limits::SERVER_DEFAULTS, Closed).unwrap_err();
        assert!(matches!(error, EncodeError::Write(_)), "{error}");
    }
}
