//! `recon-server`: one binary, many roles (the Loki/Mimir `-target` pattern). The pipeline
//! registry ([`Pipeline`]) names the stages in order; the role table ([`Role`]) adds the api and
//! the events recorder and says what each role needs; the stage adapters ([`stages`]) connect
//! each stage crate to the runtime. `all` runs every role in one process, `pipeline` every
//! stage, a comma list any subset, and nothing else differs between a laptop and a cluster.

mod housekeeping;
pub mod pipeline;
mod roles;
pub mod stages;

pub use pipeline::{Pipeline, PipelineError, StageEntry};
pub use roles::{
    parse_targets, parse_targets_of, spawn_stage, start, start_pipeline, Role, RunningServer,
};
