//! Scrubbing on realistic captures full of cookies, tokens and personal data: deterministic,
//! and the scrubbed capture still passes the capture checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recon_fuzz::CaptureRecipe;

fuzz_target!(|recipe: CaptureRecipe| {
    let Some(capture) = recipe.build_valid() else {
        return;
    };
    let scrubbed = recon_scrub::scrub(capture.clone());
    scrubbed
        .capture
        .validate()
        .expect("a scrubbed capture still passes the capture checks");
    let again = recon_scrub::scrub(capture);
    assert_eq!(
        again.capture, scrubbed.capture,
        "scrubbing is deterministic"
    );
});
