//! Synthesis's adapter: the scrubbed capture and every earlier result in, starter code out.

use recon_contracts::{
    Detection, IntentRanking, Inventory, ScrubSummary, StageResult, Synthesis, Validation,
};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};
use recon_synthesis::SynthesisInputs;

#[derive(Clone, Copy)]
pub struct SynthesisStage;

impl Stage for SynthesisStage {
    const STEP: &'static str = Synthesis::STEP;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        let scrub = ctx.result::<ScrubSummary>().await?;
        let synthesis = recon_synthesis::synthesize(&SynthesisInputs {
            scrubbed: &ctx.load_capture(&scrub.scrubbed_capture_key).await?,
            detection: &ctx.result::<Detection>().await?,
            inventory: &ctx.result::<Inventory>().await?,
            ranking: &ctx.result::<IntentRanking>().await?,
            validation: &ctx.result::<Validation>().await?,
        });
        StageOutput::new(&synthesis, recon_synthesis::summary_line(&synthesis))
    }
}
