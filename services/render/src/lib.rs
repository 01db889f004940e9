//! Render (target `render`): the report JSON and a self-contained HTML page (inline CSS, no
//! external requests). The runtime marks the scan complete once this result is stored.

mod html;

use recon_contracts::{
    Detection, IntentRanking, Inventory, RenderedReport, Report, ReportScan, ScanStatus, Step,
    Synthesis, Validation,
};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};
use uuid::Uuid;

pub struct ReportInputs {
    pub scan_id: Uuid,
    pub target_url: String,
    pub intent_text: String,
    pub starter_template: String,
    pub detection: Detection,
    pub inventory: Inventory,
    pub ranking: IntentRanking,
    pub validation: Validation,
    pub synthesis: Synthesis,
}

pub fn render(inputs: ReportInputs) -> RenderedReport {
    let report = Report {
        scan: ReportScan {
            id: inputs.scan_id,
            target_url: inputs.target_url,
            status: ScanStatus::Complete,
            intent_text: inputs.intent_text,
            starter_template: inputs.starter_template,
        },
        detection: inputs.detection,
        endpoints: inputs.inventory.endpoints,
        intent: inputs.ranking,
        validation: inputs.validation,
        synthesis: inputs.synthesis,
        scrub: None,
    };
    let html = html::page(&report);
    RenderedReport {
        report,
        html,
        openapi: None,
    }
}

pub struct RenderStage;

impl Stage for RenderStage {
    const STEP: Step = Step::Render;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        let rendered = render(ReportInputs {
            scan_id: ctx.scan.id,
            target_url: ctx.scan.target_url.clone(),
            intent_text: ctx.scan.intent_text.clone(),
            starter_template: ctx.scan.starter_template.clone(),
            detection: ctx.result(Step::Detection).await?,
            inventory: ctx.result(Step::Analysis).await?,
            ranking: ctx.result(Step::IntentFilter).await?,
            validation: ctx.result(Step::Validation).await?,
            synthesis: ctx.result(Step::Synthesis).await?,
        });
        let summary = format!("report ready ({} KB)", rendered.html.len().div_ceil(1024));
        StageOutput::new(&rendered, summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_page_escapes_captured_text() {
        let rendered = render(ReportInputs {
            scan_id: Uuid::nil(),
            target_url: "https://shop.example/?q=<script>alert(1)</script>".into(),
            intent_text: String::new(),
            starter_template: String::new(),
            detection: Detection::default(),
            inventory: Inventory::default(),
            ranking: IntentRanking::default(),
            validation: Validation::default(),
            synthesis: Synthesis {
                snippets: vec![],
                notes: vec!["a & b".into()],
                drivers: vec![],
            },
        });
        assert!(!rendered.html.contains("<script>alert"));
        assert!(rendered.html.contains("&lt;script&gt;"));
        assert!(rendered.html.contains("a &amp; b"));
        assert!(!rendered.html.contains("http://") || !rendered.html.contains("src=\"http"));
        assert_eq!(rendered.report.scan.status, ScanStatus::Complete);
    }
}
