//! Render's adapter: the scan and every stage result (drift's too) in, the report (JSON, HTML,
//! OpenAPI) out.

use recon_contracts::{RenderedReport, StageResult};
use recon_render::ReportInputs;
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};

#[derive(Clone, Copy)]
pub struct RenderStage;

impl Stage for RenderStage {
    const STEP: &'static str = RenderedReport::STEP;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        let inputs = ReportInputs {
            scan_id: ctx.scan.id,
            report_slug: ctx.scan.report_slug.clone(),
            target_url: ctx.scan.target_url.clone(),
            intent_text: ctx.scan.intent_text.clone(),
            starter_template: ctx.scan.starter_template.clone(),
            detection: ctx.result().await?,
            inventory: ctx.result().await?,
            ranking: ctx.result().await?,
            validation: ctx.result().await?,
            synthesis: ctx.result().await?,
            scrub: Some(ctx.result().await?),
            drift: Some(ctx.result().await?),
        };
        let rendered = tokio::task::spawn_blocking(move || recon_render::render(inputs))
            .await
            .map_err(|err| StageError::permanent_from("render panicked", err))?;
        StageOutput::new(&rendered, recon_render::summary_line(&rendered))
    }
}
