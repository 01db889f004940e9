//! mitmproxy2swagger 0.14 (PyPI). It works in two passes: the first lists the paths it found as
//! `ignore:` entries, the user un-ignores them, the second writes the schema. The first pass is
//! preparation; the second is timed, and its interpreter-and-import start-up is measured apart
//! (a bare `import` of its module in the same interpreter) and shown beside it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

pub struct Peer<'a> {
    pub program: &'a str,
    /// The venv's python, for the start-up measurement.
    pub python: &'a str,
    pub scratch: &'a Path,
}

/// A prepared HAR: the un-ignored listing the second pass reads.
pub struct Prepared {
    har: PathBuf,
    prefix: String,
    listing: String,
    schema: PathBuf,
}

impl Peer<'_> {
    /// Runs the first pass and un-ignores every path it listed.
    pub fn prepare(&self, har: &Path, prefix: &str, name: &str) -> Result<Prepared> {
        let schema = self.scratch.join(format!("{name}.yaml"));
        self.pass(har, prefix, &schema)?;
        let listed = std::fs::read_to_string(&schema)?;
        Ok(Prepared {
            har: har.to_owned(),
            prefix: prefix.to_owned(),
            listing: listed.replace("- ignore:", "- "),
            schema,
        })
    }

    /// One timed second pass; the schema's paths.
    pub fn second_pass(&self, prepared: &Prepared) -> Result<(Duration, Vec<String>)> {
        std::fs::write(&prepared.schema, &prepared.listing)?;
        let started = Instant::now();
        self.pass(&prepared.har, &prepared.prefix, &prepared.schema)?;
        let elapsed = started.elapsed();
        let schema = std::fs::read_to_string(&prepared.schema)?;
        Ok((elapsed, schema_paths(&schema)))
    }

    /// The interpreter's start plus the import of mitmproxy2swagger and what it loads.
    pub fn start_up(&self) -> Result<Duration> {
        let started = Instant::now();
        let output = Command::new(self.python)
            .args(["-c", "import mitmproxy2swagger.mitmproxy2swagger"])
            .output()
            .with_context(|| format!("cannot run {}", self.python))?;
        ensure!(
            output.status.success(),
            "importing mitmproxy2swagger failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(started.elapsed())
    }

    fn pass(&self, har: &Path, prefix: &str, schema: &Path) -> Result<()> {
        let result = Command::new(self.program)
            .arg("-i")
            .arg(har)
            .arg("-o")
            .arg(schema)
            .args(["-p", prefix, "-f", "har"])
            .output()
            .with_context(|| format!("cannot run {}", self.program))?;
        ensure!(
            result.status.success(),
            "mitmproxy2swagger failed: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        Ok(())
    }
}

/// The keys of the schema's `paths:` mapping (two-space-indented keys under it).
fn schema_paths(yaml: &str) -> Vec<String> {
    yaml.lines()
        .skip_while(|line| *line != "paths:")
        .skip(1)
        .take_while(|line| line.starts_with(' ') || line.is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.trim().strip_suffix(':'))
        .map(|key| key.trim_matches(|c| c == '\'' || c == '"').to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_keys_of_the_paths_mapping_only() {
        let yaml = "openapi: 3.0.0\npaths:\n  /v1/products/{id}:\n    get:\n      summary: x\n  '/graphql':\n    post: {}\nx-path-templates:\n- /a\n";
        assert_eq!(schema_paths(yaml), ["/v1/products/{id}", "/graphql"]);
    }
}
