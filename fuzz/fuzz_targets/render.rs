//! The report: rendered from every step's real output for a realistic capture.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recon_fuzz::pipeline::{self, Intent, SiteScript};
use recon_fuzz::{CaptureRecipe, Text};
use recon_render::ReportInputs;

fuzz_target!(|input: (CaptureRecipe, Intent, SiteScript, Text)| {
    let (recipe, intent, script, slug) = input;
    let Some(capture) = recipe.build_valid() else {
        return;
    };
    let results = pipeline::run_to_synthesis(&capture, &intent, &script);
    let synthesis = results.synthesize();
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
        drift: None,
    });
    let _ = report;
});
