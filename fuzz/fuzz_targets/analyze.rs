//! Analysis on realistic captures, with the detection the stage before it produces, and the
//! OpenAPI document built from its inventory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recon_fuzz::CaptureRecipe;

fuzz_target!(|recipe: CaptureRecipe| {
    let Some(capture) = recipe.build_valid() else {
        return;
    };
    let detection = recon_detection::detect(&capture);
    let inventory = recon_analysis::analyze(&capture, &detection);
    serde_json::to_vec(&inventory).expect("an inventory serialises");
    let document = recon_analysis::openapi_document(&inventory, &capture.target_url);
    serde_json::to_vec(&document).expect("an OpenAPI document serialises");
});
