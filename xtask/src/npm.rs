//! Tools that come as npm packages, each installed once into its own prefix under the cache
//! (`<cache>/tools/<name>-<version>`) and found there again by the version in its manifest.

use crate::paths::Paths;
use crate::process;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory of npm package `name` at `version` (its `node_modules/<name>`), installed
/// when missing or at another version.
pub fn ensure_package(paths: &Paths, name: &str, version: &str) -> Result<PathBuf> {
    let prefix = paths
        .cache_dir()
        .join(format!("tools/{}-{version}", name.replace('/', "-")));
    let package = prefix.join("node_modules").join(name);
    if installed_version(&package).as_deref() == Some(version) {
        return Ok(package);
    }
    println!("deps: installing {name} {version} (npm)");
    if !process::succeeds(Command::new("npm").arg("--version")) {
        bail!("npm is needed to install {name}: install Node.js and npm");
    }
    fs::create_dir_all(&prefix)?;
    process::output(
        Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(format!("{name}@{version}")),
    )
    .with_context(|| format!("npm install {name}@{version} failed"))?;
    if installed_version(&package).as_deref() != Some(version) {
        bail!(
            "npm installed {name} but {} does not hold version {version}",
            package.display()
        );
    }
    Ok(package)
}

fn installed_version(package: &Path) -> Option<String> {
    let manifest = fs::read_to_string(package.join("package.json")).ok()?;
    let start = manifest.find("\"version\"")?;
    let rest = &manifest[start + "\"version\"".len()..];
    let value = rest.split('"').nth(1)?;
    Some(value.to_owned())
}
