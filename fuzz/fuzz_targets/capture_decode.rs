//! What the api and every stage do with an uploaded capture's bytes: decode under every bound
//! and run the capture checks (`decode_capture`), inflating a gzip body never past the
//! decoded-bytes bound before it is parsed (`read_capture_with`); the stages read the stored copy with
//! `read_capture` under the same bounds. Any bytes: a clean error or a capture that plain serde reads the same way
//! and that survives the store-and-load round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recon_contracts::{decode_capture, Capture, CaptureBounds, Limit};
use recon_runtime::codec;

/// Small enough that a bomb is caught quickly, large enough for every seed.
const DECODED_LIMIT: u64 = 4 << 20;

fuzz_target!(|data: &[u8]| {
    let (gzip, body) = match data.split_first() {
        Some((flag, rest)) => (flag & 1 == 1, rest),
        None => return,
    };
    let bounds = CaptureBounds::default().with(Limit::DecodedBytes, DECODED_LIMIT);
    let mut json = Vec::new();
    let decoded = if gzip {
        codec::read_capture_with(body, &bounds, |piece| json.extend_from_slice(piece))
    } else {
        json = body.to_vec();
        decode_capture(&json, &bounds)
    };
    let Ok(capture) = decoded else {
        return;
    };
    assert!(json.len() as u64 <= DECODED_LIMIT, "decoded past its bound");
    // The bounds only refuse; what they accept reads exactly as plain serde reads it.
    let plain: Capture = serde_json::from_slice(&json).expect("plain serde reads it too");
    assert_eq!(plain, capture);
    // The api stores the upload's own JSON, gzip-compressed; the stages load it back.
    let loaded = codec::read_capture(&codec::gzip(&json), &bounds)
        .expect("a stored upload loads under the bounds it was accepted under");
    assert_eq!(loaded, capture);
    // A copy written by a stage (scrub) loads under the default bounds.
    let written = codec::to_gzip_json(&capture).expect("an accepted capture serialises");
    let reloaded = codec::read_capture(&written, &CaptureBounds::default())
        .expect("a written capture loads again");
    assert_eq!(reloaded, capture);
});
