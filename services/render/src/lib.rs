//! Render (target `render`): the report JSON, a self-contained HTML page (inline CSS and JS, no
//! external requests) and the OpenAPI document of the inventory, from stage results only (which
//! were built from or checked against scrubbed data). The runtime marks the scan complete once
//! this result is stored.

mod guard;
mod html;

use recon_contracts::{
    Detection, IntentRanking, Inventory, RenderedReport, Report, ReportScan, ScanStatus,
    ScrubSummary, Step, Synthesis, Validation,
};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};
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
}

pub fn render(inputs: ReportInputs) -> RenderedReport {
    let inventory = guard::clean_inventory(&inputs.inventory);
    // The scan's own URL may carry a token (`?auth=…`): scrub it like any captured URL.
    let target_url = recon_scrub::Scrubber::default().url(&inputs.target_url);
    let openapi = recon_analysis::openapi_document(&inventory, &target_url);
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

pub struct RenderStage;

impl Stage for RenderStage {
    const STEP: Step = Step::Render;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        let inputs = ReportInputs {
            scan_id: ctx.scan.id,
            report_slug: ctx.scan.report_slug.clone(),
            target_url: ctx.scan.target_url.clone(),
            intent_text: ctx.scan.intent_text.clone(),
            starter_template: ctx.scan.starter_template.clone(),
            detection: ctx.result(Step::Detection).await?,
            inventory: ctx.result(Step::Analysis).await?,
            ranking: ctx.result(Step::IntentFilter).await?,
            validation: ctx.result(Step::Validation).await?,
            synthesis: ctx.result(Step::Synthesis).await?,
            scrub: Some(ctx.result(Step::Scrub).await?),
        };
        let rendered = tokio::task::spawn_blocking(move || render(inputs))
            .await
            .map_err(|err| StageError::Permanent(format!("render panicked: {err}")))?;
        let summary = format!("report ready ({} KB)", rendered.html.len().div_ceil(1024));
        StageOutput::new(&rendered, summary)
    }
}

#[cfg(test)]
mod tests;
