//! Synthesis (starter code) from every earlier step's real output for a realistic capture.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recon_fuzz::pipeline::{self, Intent, SiteScript};
use recon_fuzz::CaptureRecipe;
use recon_synthesis::SynthesisInputs;

fuzz_target!(|input: (CaptureRecipe, Intent, SiteScript)| {
    let (recipe, intent, script) = input;
    let capture = recipe.build();
    if capture.validate().is_err() {
        return;
    }
    let results = pipeline::run_to_synthesis(&capture, &intent, &script);
    let synthesis = recon_synthesis::synthesize(&SynthesisInputs {
        scrubbed: &results.scrubbed.capture,
        detection: &results.detection,
        inventory: &results.inventory,
        ranking: &results.ranking,
        validation: &results.validation,
    });
    serde_json::to_vec(&synthesis).expect("a synthesis serialises");
});
