//! Validation: what it selects and plans for replay and how it judges each answer (block pages,
//! rate limits, redirects, timeouts, truncated bodies), against a site the fuzzer scripts
//! in-process. No request leaves the process.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recon_fuzz::pipeline::{self, Intent, SiteScript};
use recon_fuzz::CaptureRecipe;

fuzz_target!(|input: (CaptureRecipe, Intent, SiteScript)| {
    let (recipe, intent, script) = input;
    let Some(capture) = recipe.build_valid() else {
        return;
    };
    let detection = recon_detection::detect(&capture);
    let inventory = recon_analysis::analyze(&capture, &detection);
    let ranking = recon_intent::rank(&inventory, &intent.text(), intent.template());
    let validation = pipeline::validate(&capture, &inventory, &ranking, &script);
    serde_json::to_vec(&validation).expect("a validation serialises");
});
