//! The report: rendered from every step's real output for a realistic capture.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recon_fuzz::pipeline::{self, Intent, SiteScript};
use recon_fuzz::{CaptureRecipe, Text};
use recon_render::ReportInputs;
use recon_synthesis::SynthesisInputs;

fuzz_target!(|input: (CaptureRecipe, Intent, SiteScript, Text)| {
    let (recipe, intent, script, slug) = input;
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
    let report = recon_render::render(ReportInputs {
        scan_id: uuid::Uuid::from_u128(7),
        report_slug: slug.render(),
        target_url: capture.target_url.clone(),
        intent_text: intent.text(),
        starter_template: intent.template().to_owned(),
        detection: results.detection,
        inventory: results.inventory,
        ranking: results.ranking,
        validation: results.validation,
        synthesis,
        scrub: Some(pipeline::scrub_summary(&results.scrubbed)),
    });
    let _ = report;
});
