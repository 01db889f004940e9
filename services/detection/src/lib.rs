//! Detection (target `detection`): which anti-bot vendors guard the site.
//!
//! The vendor rules arrive with the recon-intelligence work; until then `detect` reports no
//! vendor rather than guessing.

mod response;

pub use response::{classify_response, ResponseBlock};

use recon_contracts::{Capture, Detection, Step};
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};

pub fn detect(_capture: &Capture) -> Detection {
    Detection::default()
}

pub struct DetectionStage;

impl Stage for DetectionStage {
    const STEP: Step = Step::Detection;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        let capture = ctx.capture().await?;
        let detection = detect(&capture);
        let summary = format!("{} anti-bot vendor(s) found", detection.vendors.len());
        StageOutput::new(&detection, summary)
    }
}
