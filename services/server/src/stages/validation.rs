//! Validation's adapter: the ranking, inventory, raw capture and the operator's proxy secret in;
//! replays through the system resolver and the real HTTP clients; the verdicts out. The
//! server wraps it in the account's replay quota (`recon_runtime::quota::validation`).

use std::sync::Arc;

use recon_contracts::{IntentRanking, Inventory, StageResult, Validation};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};
use recon_validation::{HttpTransport, ReplayEnvironment, SystemResolver, ValidationInput};

#[derive(Clone, Copy)]
pub struct ValidationStage;

impl Stage for ValidationStage {
    const STEP: &'static str = Validation::STEP;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        let ranking = ctx.result::<IntentRanking>().await?;
        let inventory = ctx.result::<Inventory>().await?;
        let capture = ctx.capture().await?;
        let secrets = ctx.proxy_secrets().await?;
        let validation = recon_validation::validate(
            ValidationInput {
                capture: &capture,
                inventory: &inventory,
                ranking: &ranking,
            },
            ReplayEnvironment {
                settings: ctx.validation_settings(),
                secrets: &secrets,
                resolver: Arc::new(SystemResolver),
                transport: &HttpTransport,
            },
        )
        .await;
        StageOutput::new(&validation, recon_validation::summary_line(&validation))
    }
}
