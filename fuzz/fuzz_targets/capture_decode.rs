//! What the api and every stage do with an uploaded capture's bytes: gunzip with the decoded
//! size cap (no gzip bomb grows past it), parse the JSON, run the capture checks; the stages load
//! the stored copy with `from_gzip_json` under the same cap. Any bytes: a clean error or a
//! capture that survives the store-and-load round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recon_contracts::Capture;
use recon_runtime::codec;

/// Small enough that a bomb is caught quickly, large enough for every seed.
const DECODED_LIMIT: usize = 4 << 20;

fuzz_target!(|data: &[u8]| {
    let (gzip, body) = match data.split_first() {
        Some((flag, rest)) => (flag & 1 == 1, rest),
        None => return,
    };
    let json = if gzip {
        match codec::gunzip(body, DECODED_LIMIT) {
            Ok(json) => json,
            Err(_) => return,
        }
    } else {
        body.to_vec()
    };
    assert!(
        json.len() <= DECODED_LIMIT,
        "gunzip returned more than its limit"
    );
    let Ok(capture) = serde_json::from_slice::<Capture>(&json) else {
        return;
    };
    if capture.validate().is_err() {
        return;
    }
    // Stored gzip-compressed, loaded by the stages: the same capture comes back.
    let stored = codec::to_gzip_json(&capture).expect("an accepted capture serialises");
    let loaded: Capture =
        codec::from_gzip_json(&stored, usize::MAX).expect("a stored capture loads again");
    assert_eq!(loaded, capture);
    loaded
        .validate()
        .expect("a loaded capture still passes the checks");
});
