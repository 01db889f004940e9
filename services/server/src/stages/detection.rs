//! Detection's adapter: the raw capture in, the vendor findings out.

use recon_contracts::{Detection, StageResult};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};

#[derive(Clone, Copy)]
pub struct DetectionStage;

impl Stage for DetectionStage {
    const STEP: &'static str = Detection::STEP;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        recon_detection::check_rules()
            .map_err(|err| StageError::permanent_from("the detection rules are invalid", err))?;
        let detection = recon_detection::detect(&ctx.capture().await?);
        StageOutput::new(&detection, recon_detection::summary_line(&detection))
    }
}
