//! The intent filter's adapter: the inventory and the scan's intent in, the ranking out.

use recon_contracts::{IntentRanking, Inventory, StageResult};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};

#[derive(Clone, Copy)]
pub struct IntentStage;

impl Stage for IntentStage {
    const STEP: &'static str = IntentRanking::STEP;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        recon_intent::check_vocabulary()
            .map_err(|err| StageError::permanent_from("the intent vocabulary is invalid", err))?;
        let inventory = ctx.result::<Inventory>().await?;
        let ranking = recon_intent::rank(
            &inventory,
            &ctx.scan.intent_text,
            &ctx.scan.starter_template,
        );
        StageOutput::new(&ranking, recon_intent::summary_line(&ranking, &inventory))
    }
}
