//! Analysis's adapter: the raw capture and detection in, the endpoint inventory out.

use recon_contracts::{Detection, Inventory, StageResult};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};

#[derive(Clone, Copy)]
pub struct AnalysisStage;

impl Stage for AnalysisStage {
    const STEP: &'static str = Inventory::STEP;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        recon_analysis::check_config()
            .map_err(|err| StageError::permanent_from("the analysis rules are invalid", err))?;
        let capture = ctx.capture().await?;
        let detection = ctx.result::<Detection>().await?;
        let inventory = recon_analysis::analyze(&capture, &detection);
        let summary = recon_analysis::summary_line(&inventory, capture.requests.len());
        StageOutput::new(&inventory, summary)
    }
}
