//! Typed stage results: each result type names the step that stores it, so a stage asks for
//! `ctx.result::<Detection>()` and can neither misname the step nor misread its result.

use crate::{
    Detection, Drift, IntentRanking, Inventory, RenderedReport, ScrubSummary, Synthesis, Validation,
};

/// A result stored by one pipeline step (the `stage_results` row of that step).
pub trait StageResult: serde::Serialize + serde::de::DeserializeOwned {
    /// The step (and `--target`, and consumer) that produces it.
    const STEP: &'static str;
}

impl StageResult for Detection {
    const STEP: &'static str = "detection";
}

impl StageResult for Inventory {
    const STEP: &'static str = "analysis";
}

impl StageResult for IntentRanking {
    const STEP: &'static str = "intent_filter";
}

impl StageResult for Validation {
    const STEP: &'static str = "validation";
}

impl StageResult for ScrubSummary {
    const STEP: &'static str = "scrub";
}

impl StageResult for Synthesis {
    const STEP: &'static str = "synthesis";
}

impl StageResult for Drift {
    const STEP: &'static str = "drift";
}

impl StageResult for RenderedReport {
    const STEP: &'static str = "render";
}
