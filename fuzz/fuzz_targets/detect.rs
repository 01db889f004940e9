//! Detection's entry function on realistic captures (see `recon_fuzz::CaptureRecipe`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use recon_fuzz::CaptureRecipe;

fuzz_target!(|recipe: CaptureRecipe| {
    let capture = recipe.build();
    if capture.validate().is_err() {
        return;
    }
    let detection = recon_detection::detect(&capture);
    serde_json::to_vec(&detection).expect("a detection serialises");
});
