//! The upload body as a stream: a blocking thread encodes the capture ([`super::encode`]) into
//! pieces handed over a short channel, and the HTTP client sends each piece as it comes. At most
//! a few pieces are in memory whatever the capture's size, and the network and the encoder work
//! at the same time.

use std::io::{self, Write};
use std::sync::Arc;

use recon_contracts::Capture;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::encode::{encode, EncodeError, Encoded, Limits};

/// Gzip bytes per piece sent.
const PIECE_BYTES: usize = 64 << 10;
/// Pieces waiting for the network before the encoder waits too.
const PIECES_IN_FLIGHT: usize = 4;

enum Piece {
    Bytes(Vec<u8>),
    /// The encoder finished: the body ends here. A channel closed without it means the encoder
    /// stopped early, and the body must fail rather than end short.
    End,
}

/// A body being encoded: hand `body` to the request, then await `encoding` for what was sent
/// (or why the encoding stopped).
pub struct StreamedBody {
    pub body: reqwest::Body,
    pub encoding: JoinHandle<Result<Encoded, EncodeError>>,
}

/// Starts encoding `capture` on a blocking thread of the runtime.
pub fn start(capture: Arc<Capture>, limits: Limits) -> StreamedBody {
    let (sender, receiver) = mpsc::channel(PIECES_IN_FLIGHT);
    let encoding = tokio::task::spawn_blocking(move || {
        let mut pieces = PieceWriter {
            piece: Vec::with_capacity(PIECE_BYTES),
            sender,
        };
        let encoded = encode(&capture, limits, &mut pieces)?;
        pieces
            .sender
            .blocking_send(Piece::End)
            .map_err(|_| EncodeError::Write(upload_gone()))?;
        Ok(encoded)
    });
    let pieces = futures::stream::unfold(Some(receiver), |receiver| async move {
        let mut receiver = receiver?;
        match receiver.recv().await {
            Some(Piece::Bytes(bytes)) => Some((Ok(bytes), Some(receiver))),
            Some(Piece::End) => None,
            None => Some((
                Err(io::Error::other("the capture's encoding stopped")),
                None,
            )),
        }
    });
    StreamedBody {
        body: reqwest::Body::wrap_stream(pieces),
        encoding,
    }
}

fn upload_gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the upload stopped before the capture was sent",
    )
}

/// Collects bytes into pieces of [`PIECE_BYTES`] and sends each full one; `flush` sends the rest.
struct PieceWriter {
    piece: Vec<u8>,
    sender: mpsc::Sender<Piece>,
}

impl PieceWriter {
    fn send(&mut self) -> io::Result<()> {
        let piece = std::mem::replace(&mut self.piece, Vec::with_capacity(PIECE_BYTES));
        self.sender
            .blocking_send(Piece::Bytes(piece))
            .map_err(|_| upload_gone())
    }
}

impl Write for PieceWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.piece.extend_from_slice(buf);
        if self.piece.len() >= PIECE_BYTES {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.piece.is_empty() {
            return Ok(());
        }
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::io::Read;
    use std::path::Path;

    fn demo() -> Arc<Capture> {
        let bytes = include_bytes!("../../../tests/fixtures/demo.har");
        let import = crate::har::import_bytes(
            bytes,
            Path::new("demo.har"),
            "https://demo-shop.recon.test/",
        )
        .unwrap();
        Arc::new(import.capture)
    }

    async fn collect(body: reqwest::Body) -> Result<Vec<u8>, String> {
        let mut stream = http_body_util::BodyDataStream::new(body);
        let mut bytes = Vec::new();
        while let Some(piece) = stream.next().await {
            bytes.extend_from_slice(&piece.map_err(|error| chain(&error))?);
        }
        Ok(bytes)
    }

    /// The error and its sources, as one text.
    fn chain(error: &dyn std::error::Error) -> String {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }

    #[tokio::test]
    async fn the_stream_carries_the_whole_capture() {
        let capture = demo();
        let streamed = start(capture.clone(), Limits::SERVER_DEFAULTS);
        let body = collect(streamed.body).await.unwrap();
        let encoded = streamed.encoding.await.unwrap().unwrap();
        assert_eq!(encoded.gzip_bytes, body.len() as u64);
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(body.as_slice())
            .read_to_end(&mut json)
            .unwrap();
        let back: Capture = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, *capture);
    }

    #[tokio::test]
    async fn a_refused_capture_fails_the_body_instead_of_ending_it() {
        let limits = Limits {
            gzip_bytes: 2048,
            ..Limits::SERVER_DEFAULTS
        };
        let streamed = start(demo(), limits);
        let error = collect(streamed.body).await.unwrap_err();
        assert!(error.contains("encoding stopped"), "{error}");
        let refusal = streamed.encoding.await.unwrap().unwrap_err();
        assert!(
            matches!(refusal, EncodeError::GzipTooLarge { .. }),
            "{refusal}"
        );
    }
}
