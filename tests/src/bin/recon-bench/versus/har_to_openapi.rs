//! har-to-openapi 3.0.1 (npm), run warm in one node process by `har_to_openapi.mjs`, and once
//! as a fresh process (what a user of its command line waits for).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use serde::Deserialize;

const DRIVER: &str = include_str!("har_to_openapi.mjs");

#[derive(Debug, Deserialize)]
pub struct Output {
    pub import_ms: f64,
    pub run_ms: Vec<f64>,
    /// Per domain: each path of its spec with the methods under it.
    pub domains: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

impl Output {
    pub fn runs(&self) -> Vec<Duration> {
        self.run_ms
            .iter()
            .map(|ms| Duration::from_secs_f64(ms / 1000.0))
            .collect()
    }

    /// The paths of `host`'s spec.
    pub fn paths(&self, host: &str) -> Vec<(String, Vec<String>)> {
        self.domains
            .get(host)
            .map(|paths| paths.clone().into_iter().collect())
            .unwrap_or_default()
    }
}

pub struct Peer<'a> {
    pub package: &'a Path,
    pub scratch: &'a Path,
}

impl Peer<'_> {
    /// `runs` timed conversions after `warmup` untimed ones, in one process.
    pub fn warm(&self, har: &Path, runs: usize, warmup: usize) -> Result<Output> {
        let output = self.node(har, runs, warmup)?;
        serde_json::from_slice(&output).context("har-to-openapi's driver printed no JSON")
    }

    /// The wall time of a fresh `node` process converting `har` once.
    pub fn fresh(&self, har: &Path) -> Result<Duration> {
        let started = Instant::now();
        self.node(har, 1, 0)?;
        Ok(started.elapsed())
    }

    fn node(&self, har: &Path, runs: usize, warmup: usize) -> Result<Vec<u8>> {
        let driver = self.scratch.join("har_to_openapi.mjs");
        if !driver.exists() {
            std::fs::write(&driver, DRIVER)?;
        }
        let output = Command::new("node")
            .arg(&driver)
            .arg(self.package)
            .arg(har)
            .arg(runs.to_string())
            .arg(warmup.to_string())
            .output()
            .context("cannot run node for har-to-openapi")?;
        ensure!(
            output.status.success(),
            "har-to-openapi failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(output.stdout)
    }
}
