//! Render (target `render`): the report JSON, a self-contained HTML page (inline CSS and JS, no
//! external requests; its "Changes since <date>" section in `changes`) and the OpenAPI document
//! of the inventory, from stage results only (which were built from or checked against scrubbed
//! data). The runtime marks the scan complete once the pipeline's last result is stored.

mod changes;
mod guard;
mod html;

use recon_contracts::{
    Detection, Drift, IntentRanking, Inventory, RenderedReport, Report, ReportScan, ScanStatus,
    ScrubSummary, Synthesis, Validation,
};
use uuid::Uuid;

pub use html::escape;

pub struct ReportInputs {
    pub scan_id: Uuid,
    /// The report's slug: the page links to `./{slug}.json` and the OpenAPI file.
    pub report_slug: String,
    pub target_url: String,
    pub intent_text: String,
    pub starter_template: String,
    pub detection: Detection,
    pub inventory: Inventory,
    pub ranking: IntentRanking,
    pub validation: Validation,
    pub synthesis: Synthesis,
    pub scrub: Option<ScrubSummary>,
    /// What changed since the previous scan of the site (a first scan's drift says so).
    pub drift: Option<Drift>,
}

pub fn render(inputs: ReportInputs) -> RenderedReport {
    let inventory = guard::clean_inventory(&inputs.inventory);
    // The scan's own URL may carry a token (`?auth=…`): scrub it like any captured URL.
    let target_url = recon_redaction::Scrubber::default().url(&inputs.target_url);
    let openapi = recon_knowledge::openapi_document(&inventory, &target_url);
    let report = Report {
        scan: ReportScan {
            id: inputs.scan_id,
            target_url,
            status: ScanStatus::Complete,
            intent_text: inputs.intent_text,
            starter_template: inputs.starter_template,
        },
        detection: inputs.detection,
        endpoints: inventory.endpoints,
        intent: inputs.ranking,
        validation: inputs.validation,
        synthesis: inputs.synthesis,
        scrub: inputs.scrub,
        drift: inputs.drift,
    };
    let report = guard::scrubbed(&report).unwrap_or(report);
    let mut openapi = openapi;
    guard::scrub_value(&mut openapi);
    let html = html::page(
        &report,
        &html::Links {
            slug: &inputs.report_slug,
            has_openapi: true,
        },
    );
    RenderedReport {
        report,
        html,
        openapi: Some(openapi),
    }
}

/// The step's summary line: the page's size.
pub fn summary_line(rendered: &RenderedReport) -> String {
    format!("report ready ({} KB)", rendered.html.len().div_ceil(1024))
}

#[cfg(test)]
mod tests;
