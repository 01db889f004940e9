//! Validation (target `validation`): which client profile and proxy tier can replay each
//! top-ranked endpoint.
//!
//! The replay cascade arrives with the validation work; until then each top endpoint is listed
//! with no attempts and no recommendation, and a note says replay has not run.

use recon_contracts::{EndpointValidation, IntentRanking, Step, Validation};
use recon_runtime::secrets::ProxySecrets;
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};

/// How many of the ranked endpoints are validated.
pub const TOP_ENDPOINTS: usize = 5;

pub fn validate(ranking: &IntentRanking, secrets: &ProxySecrets) -> Validation {
    let tiers = ["direct"]
        .into_iter()
        .chain(secrets.datacenter_proxy.as_ref().map(|_| "datacenter"))
        .chain(secrets.residential_proxy.as_ref().map(|_| "residential"))
        .collect::<Vec<_>>()
        .join(", ");
    Validation {
        results: ranking
            .ranked
            .iter()
            .take(TOP_ENDPOINTS)
            .map(|ranked| EndpointValidation {
                endpoint_id: ranked.endpoint_id.clone(),
                attempts: Vec::new(),
                ..Default::default()
            })
            .collect(),
        notes: vec![format!(
            "Replay has not run on this server yet; tiers configured: {tiers}."
        )],
        ..Default::default()
    }
}

pub struct ValidationStage;

impl Stage for ValidationStage {
    const STEP: Step = Step::Validation;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        let ranking: IntentRanking = ctx.result(Step::IntentFilter).await?;
        let secrets = ctx.proxy_secrets().await?;
        let validation = validate(&ranking, &secrets);
        let summary = format!(
            "{} top endpoint(s) listed; replay not implemented yet",
            validation.results.len()
        );
        StageOutput::new(&validation, summary)
    }
}
