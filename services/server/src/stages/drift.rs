//! Drift's adapter: this scan's detection, inventory and validation, and the same of the
//! account's previous complete scan of the site, in; the changes out, with the one-line
//! headline the CLI repeats at the end of the scan.

use chrono::{DateTime, Utc};
use recon_contracts::{Detection, Drift, Inventory, StageResult, Validation};
use recon_drift::ScanFacts;
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};
use uuid::Uuid;

#[derive(Clone, Copy)]
pub struct DriftStage;

/// The results drift compares, owned.
struct Results {
    detection: Detection,
    inventory: Inventory,
    validation: Validation,
}

impl Results {
    async fn of(ctx: &StageContext, scan_id: Uuid) -> Result<Results, StageError> {
        Ok(Results {
            detection: ctx.result_of(scan_id).await?,
            inventory: ctx.result_of(scan_id).await?,
            validation: ctx.result_of(scan_id).await?,
        })
    }

    fn facts(&self, scan_id: Uuid, completed_at: Option<DateTime<Utc>>) -> ScanFacts<'_> {
        ScanFacts {
            scan_id,
            completed_at,
            detection: &self.detection,
            inventory: &self.inventory,
            validation: &self.validation,
        }
    }
}

impl Stage for DriftStage {
    const STEP: &'static str = Drift::STEP;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        let current = Results::of(ctx, ctx.scan.id).await?;
        let previous = match ctx.previous_scan().await? {
            Some(previous) => Some((previous, Results::of(ctx, previous.id).await?)),
            None => None,
        };
        let previous_facts = previous
            .as_ref()
            .map(|(scan, results)| results.facts(scan.id, Some(scan.completed_at)));
        let drift = recon_drift::drift(previous_facts.as_ref(), &current.facts(ctx.scan.id, None));
        let headline = recon_drift::headline(&drift);
        Ok(StageOutput::new(&drift, headline.clone())?.with_headline(headline))
    }
}
