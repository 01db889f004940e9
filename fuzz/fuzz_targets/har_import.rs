//! The CLI's HAR importer on arbitrary bytes: a HAR file is whatever a user hands `recon scan
//! --from-har`, so every input must end in a capture or a clean error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = browser_recon::har::import_bytes(data, Path::new("fuzz.har"), "https://shop.example/");
});
