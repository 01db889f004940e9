//! Synthesis (starter code) from every earlier step's real output for a realistic capture.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recon_fuzz::pipeline::{self, Intent, SiteScript};
use recon_fuzz::CaptureRecipe;

fuzz_target!(|input: (CaptureRecipe, Intent, SiteScript)| {
    let (recipe, intent, script) = input;
    let Some(capture) = recipe.build_valid() else {
        return;
    };
    let results = pipeline::run_to_synthesis(&capture, &intent, &script);
    let synthesis = results.synthesize();
    serde_json::to_vec(&synthesis).expect("a synthesis serialises");
});
