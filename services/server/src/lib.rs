//! `recon-server`: one binary, many roles (the Loki/Mimir `-target` pattern). The role table
//! below is the only place that knows what each target runs; `all` runs every role in one
//! process, a comma list runs any subset, and nothing else differs between a laptop and a
//! cluster.

mod housekeeping;
mod roles;

pub use roles::{open_deps, parse_targets, spawn_stage, start, Role, RunningServer};
