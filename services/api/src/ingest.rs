//! Decoding an uploaded capture: inflate under the decoded-bytes bound, hash, parse under every
//! other bound of the capture (the decoder the stages use too: in place up to an eighth of the decoded-bytes bound),
//! check. It is CPU work on
//! several times the upload's size in memory, so it runs off the async workers and at most one
//! decode per core at a time: the api's memory grows with the number of cores, not with the
//! number of concurrent uploads. Bodies waiting their turn are held compressed.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use recon_contracts::{decode_capture, CaptureDecodeError};
use recon_runtime::codec;
use recon_runtime::config::CaptureLimits;
use sha2::{Digest, Sha256};

use crate::{body, ApiError};

/// A checked capture, ready to store.
pub struct Decoded {
    /// SHA-256 of the capture's JSON: a retried upload is recognised by it.
    pub digest: Vec<u8>,
    /// What goes to the blob store: always gzip.
    pub stored: Bytes,
    pub requests: usize,
}

/// Inflates (when `gzip`), hashes, parses and checks a capture body. A gzip body is stored as
/// sent; at most an eighth of the decoded-bytes bound of its JSON is held while it is parsed.
pub fn decode(wire: Bytes, gzip: bool, limits: &CaptureLimits) -> Result<Decoded, ApiError> {
    let bounds = &limits.bounds;
    // Only the request count is kept: each capture is dropped as soon as it is checked.
    let (requests, digest, stored) = if gzip {
        let mut hasher = Sha256::new();
        let requests = codec::read_capture_with(&wire, bounds, |json| hasher.update(json))
            .map_err(refusal)?
            .requests
            .len();
        (requests, hasher.finalize(), wire)
    } else {
        let requests = decode_capture(&wire, bounds)
            .map_err(refusal)?
            .requests
            .len();
        (
            requests,
            Sha256::digest(&wire),
            Bytes::from(codec::gzip(&wire)),
        )
    };
    Ok(Decoded {
        digest: digest.to_vec(),
        stored,
        requests,
    })
}

fn refusal(err: CaptureDecodeError) -> ApiError {
    match err {
        CaptureDecodeError::Limit(exceeded) => ApiError::CaptureLimit(exceeded),
        // Only a gzip body is read through a reader that can fail.
        CaptureDecodeError::Read(err) => body::bad_gzip(err),
        CaptureDecodeError::Json(err) => {
            ApiError::bad_request("invalid_json", format!("invalid capture: {err}"))
        }
        CaptureDecodeError::Invalid(err) => {
            ApiError::bad_request("invalid_capture", err.to_string())
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs [`decode`]s on a few threads of its own, one per core. Not tokio's blocking pool:
/// glibc gives each thread that allocates its own arena and keeps freed memory there, so
/// decodes wandering over many pool threads would leave a decode's worth of memory on each.
#[derive(Clone)]
pub struct Decoder {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl Decoder {
    pub fn new() -> Decoder {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..cores {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("capture-decode-{index}"))
                .spawn(move || loop {
                    // The lock is held only while waiting for the next job.
                    let job = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        // Every sender is gone: the api has shut down.
                        Err(_) => return,
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "cannot start a capture decoding thread");
            }
        }
        Decoder { jobs }
    }

    pub async fn decode(
        &self,
        wire: Bytes,
        gzip: bool,
        limits: CaptureLimits,
    ) -> Result<Decoded, ApiError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(decode(wire, gzip, &limits));
        });
        self.jobs
            .send(job)
            .map_err(|_| ApiError::Unavailable("capture decoding has stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| ApiError::Internal("capture decoding failed".to_owned()))?
    }
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder::new()
    }
}
