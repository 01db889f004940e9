//! The intent filter: ranking an inventory (from a realistic capture) against any intent text
//! and starter template the user may type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recon_fuzz::pipeline::Intent;
use recon_fuzz::CaptureRecipe;

fuzz_target!(|input: (CaptureRecipe, Intent)| {
    let (recipe, intent) = input;
    let Some(capture) = recipe.build_valid() else {
        return;
    };
    let detection = recon_detection::detect(&capture);
    let inventory = recon_analysis::analyze(&capture, &detection);
    let ranking = recon_intent::rank(&inventory, &intent.text(), intent.template());
    serde_json::to_vec(&ranking).expect("a ranking serialises");
});
