//! Detection's entry function on realistic captures (see `recon_fuzz::CaptureRecipe`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use recon_fuzz::CaptureRecipe;

fuzz_target!(|recipe: CaptureRecipe| {
    let Some(capture) = recipe.build_valid() else {
        return;
    };
    let detection = recon_detection::detect(&capture);
    serde_json::to_vec(&detection).expect("a detection serialises");
});
