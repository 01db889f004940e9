//! The pipeline's shape as data: one registry names the stages in order, each with the subject
//! it publishes and what its role needs. Everything else derives from it: the subject each stage
//! consumes (the previous one's output; the first consumes `scan.captured`), the consumers and
//! `--target` names, which stage completes a scan, the step list served to clients and the Helm
//! chart's targets. Adding a stage is one line in [`Pipeline::standard`]; tests build variants
//! with [`Pipeline::insert_after`] and [`Pipeline::replace`].

use std::future::Future;
use std::sync::Arc;

use recon_contracts::{names, Step};
use recon_runtime::quota::validation::ValidationQuota;
use recon_runtime::stage::{run_stage, Deps, StagePlace};
use recon_runtime::{Needs, Stage};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::stages::{
    AnalysisStage, DetectionStage, DriftStage, IntentStage, RenderStage, ScrubStage,
    SynthesisStage, ValidationStage,
};

/// The tasks of a running process.
pub type Tasks = JoinSet<anyhow::Result<()>>;

type Launch = Arc<dyn Fn(&mut Tasks, Deps, StagePlace, CancellationToken) + Send + Sync>;

/// A stage reads stage results and captures: Postgres, NATS and the blob store.
const STAGE_NEEDS: Needs = Needs::DATABASE_AND_NATS.and_blob();

/// One stage of the registry.
#[derive(Clone)]
pub struct StageEntry {
    name: &'static str,
    publishes: &'static str,
    needs: Needs,
    launch: Launch,
}

impl StageEntry {
    /// A stage publishing `publishes` when done; its role needs `needs`.
    pub fn new<S: Stage + Clone>(stage: S, publishes: &'static str, needs: Needs) -> StageEntry {
        StageEntry {
            name: S::STEP,
            publishes,
            needs,
            launch: Arc::new(move |tasks, deps, place, shutdown| {
                tasks.spawn(with_context(
                    S::STEP,
                    run_stage(deps, stage.clone(), place, shutdown),
                ));
            }),
        }
    }

    /// Another task the stage's role runs beside its consumer.
    pub fn with_companion<F, Fut, E>(self, companion: F) -> StageEntry
    where
        F: Fn(Deps, CancellationToken) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::error::Error + Send + Sync + 'static,
    {
        let (name, launch) = (self.name, self.launch.clone());
        StageEntry {
            launch: Arc::new(move |tasks, deps, place, shutdown| {
                tasks.spawn(with_context(
                    name,
                    companion(deps.clone(), shutdown.clone()),
                ));
                launch(tasks, deps, place, shutdown);
            }),
            ..self
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn needs(&self) -> Needs {
        self.needs
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PipelineError {
    #[error("no stage named {0:?} in the pipeline")]
    UnknownStage(String),
    #[error("a stage named {0:?} is already in the pipeline")]
    DuplicateStage(&'static str),
    #[error("subject {0:?} must be scan.<verb> and not used by another stage")]
    BadSubject(&'static str),
}

/// The ordered stages.
#[derive(Clone)]
pub struct Pipeline {
    stages: Vec<StageEntry>,
}

impl Pipeline {
    /// The pipeline this server runs (DESIGN.md § Pipeline).
    pub fn standard() -> Pipeline {
        Pipeline {
            stages: vec![
                StageEntry::new(DetectionStage, names::SCAN_DETECTED, STAGE_NEEDS),
                StageEntry::new(AnalysisStage, names::SCAN_ANALYZED, STAGE_NEEDS),
                StageEntry::new(IntentStage, names::SCAN_FILTERED, STAGE_NEEDS),
                // The account's daily validation quota is reserved around each run.
                StageEntry::new(
                    ValidationQuota(ValidationStage),
                    names::SCAN_VALIDATED,
                    STAGE_NEEDS.and_secrets(),
                ),
                // The scrub role also deletes raw captures once their scan has ended.
                StageEntry::new(ScrubStage, names::SCAN_SCRUBBED, STAGE_NEEDS)
                    .with_companion(recon_runtime::retention::run),
                StageEntry::new(SynthesisStage, names::SCAN_SYNTHESIZED, STAGE_NEEDS),
                // Drift reads stored results only (this scan's and the previous one's).
                StageEntry::new(DriftStage, names::SCAN_DRIFTED, Needs::DATABASE_AND_NATS),
                StageEntry::new(RenderStage, names::SCAN_RENDERED, STAGE_NEEDS),
            ],
        }
    }

    /// Inserts `entry` right after the stage named `after`.
    pub fn insert_after(&mut self, after: &str, entry: StageEntry) -> Result<(), PipelineError> {
        let position = self.position(after)?;
        if self.stages.iter().any(|stage| stage.name == entry.name) {
            return Err(PipelineError::DuplicateStage(entry.name));
        }
        let subject_taken = self
            .stages
            .iter()
            .any(|stage| stage.publishes == entry.publishes)
            || entry.publishes == names::SCAN_CAPTURED;
        if subject_taken || !entry.publishes.starts_with("scan.") {
            return Err(PipelineError::BadSubject(entry.publishes));
        }
        self.stages.insert(position + 1, entry);
        Ok(())
    }

    /// Replaces the stage of the same name (e.g. with a wrapped one), keeping its place.
    pub fn replace(&mut self, entry: StageEntry) -> Result<(), PipelineError> {
        let position = self.position(entry.name)?;
        self.stages[position] = entry;
        Ok(())
    }

    fn position(&self, name: &str) -> Result<usize, PipelineError> {
        self.stages
            .iter()
            .position(|stage| stage.name == name)
            .ok_or_else(|| PipelineError::UnknownStage(name.to_owned()))
    }

    pub fn stages(&self) -> impl Iterator<Item = &StageEntry> {
        self.stages.iter()
    }

    pub fn get(&self, name: &str) -> Option<&StageEntry> {
        self.stages.iter().find(|stage| stage.name == name)
    }

    /// The step list served to clients, in order.
    pub fn steps(&self) -> Vec<Step> {
        self.stages
            .iter()
            .map(|stage| Step::named(stage.name))
            .collect()
    }

    /// Where the stage named `name` sits: what it consumes, publishes, and whether it is last.
    pub fn place_of(&self, name: &str) -> Result<StagePlace, PipelineError> {
        let position = self.position(name)?;
        Ok(StagePlace {
            consumes: match position {
                0 => names::SCAN_CAPTURED,
                _ => self.stages[position - 1].publishes,
            },
            publishes: self.stages[position].publishes,
            last: position + 1 == self.stages.len(),
        })
    }

    /// Starts the stage named `name` at its place.
    pub(crate) fn launch(
        &self,
        name: &str,
        tasks: &mut Tasks,
        deps: Deps,
        shutdown: CancellationToken,
    ) -> Result<(), PipelineError> {
        let place = self.place_of(name)?;
        let entry = &self.stages[self.position(name)?];
        (entry.launch)(tasks, deps, place, shutdown);
        Ok(())
    }
}

pub(crate) async fn with_context<E: std::error::Error + Send + Sync + 'static>(
    role: &'static str,
    work: impl Future<Output = Result<(), E>>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    work.await.with_context(|| format!("role {role}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_chain_in_order_from_captured_to_rendered() {
        let pipeline = Pipeline::standard();
        let names: Vec<&str> = pipeline.stages().map(StageEntry::name).collect();
        assert_eq!(
            names,
            [
                "detection",
                "analysis",
                "intent_filter",
                "validation",
                "scrub",
                "synthesis",
                "drift",
                "render"
            ]
        );
        let places: Vec<StagePlace> = names
            .iter()
            .map(|name| pipeline.place_of(name).unwrap())
            .collect();
        assert_eq!(places[0].consumes, names::SCAN_CAPTURED);
        for pair in places.windows(2) {
            assert_eq!(pair[0].publishes, pair[1].consumes);
            assert!(!pair[0].last);
        }
        let last = places.last().unwrap();
        assert_eq!(last.publishes, names::SCAN_RENDERED);
        assert!(last.last);
    }

    #[test]
    fn an_inserted_stage_takes_its_place_in_the_chain() {
        let mut pipeline = Pipeline::standard();
        let extra = StageEntry::new(DetectionStage, "scan.checked", STAGE_NEEDS);
        assert_eq!(
            pipeline.insert_after("synthesis", extra.clone()),
            Err(PipelineError::DuplicateStage("detection"))
        );
        let taken = StageEntry::new(RenderStage, names::SCAN_DETECTED, STAGE_NEEDS);
        let mut without_render = Pipeline {
            stages: pipeline.stages[..7].to_vec(),
        };
        assert_eq!(
            without_render.insert_after("drift", taken),
            Err(PipelineError::BadSubject(names::SCAN_DETECTED))
        );
        assert!(matches!(
            pipeline.insert_after("nope", extra),
            Err(PipelineError::UnknownStage(_))
        ));
        let render = StageEntry::new(RenderStage, "scan.checked", STAGE_NEEDS);
        without_render.insert_after("drift", render).unwrap();
        let place = without_render.place_of("render").unwrap();
        assert_eq!(place.consumes, names::SCAN_DRIFTED);
        assert_eq!(place.publishes, "scan.checked");
        assert!(place.last);
        assert!(pipeline.place_of("render").unwrap().last);
    }
}
