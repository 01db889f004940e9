//! The Helm chart as the tests see it: `helm template` of `helm/browser-recon` (helm from
//! `RECON_TEST_HELM`) and the rendered YAML documents as JSON (PyYAML in the test venv).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::{harness_env, run_ok};

/// The repository's root.
pub fn repo() -> PathBuf {
    crate::crate_dir()
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

pub fn chart() -> PathBuf {
    repo().join("helm/browser-recon")
}

/// The values file that turns every optional feature on.
pub fn all_features() -> PathBuf {
    chart().join("ci/all-features-values.yaml")
}

/// `helm template` with the release name `recon`, the given values files and `--set`s.
pub fn render(values: &[&Path], sets: &[&str]) -> String {
    let mut command = Command::new(harness_env("RECON_TEST_HELM"));
    command.arg("template").arg("recon").arg(chart());
    for file in values {
        command.arg("--values").arg(file);
    }
    for set in sets {
        command.args(["--set", set]);
    }
    String::from_utf8(run_ok(&mut command).stdout).expect("helm prints UTF-8")
}

/// Every YAML document of `yaml` as JSON.
pub fn documents(yaml: &str) -> Vec<Value> {
    let mut child = Command::new(harness_env("RECON_TEST_PYTHON"))
        .args([
            "-c",
            "import json, sys, yaml\n\
             docs = [d for d in yaml.safe_load_all(sys.stdin) if d]\n\
             json.dump(docs, sys.stdout)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(yaml.as_bytes())
        .expect("write yaml");
    let output = child.wait_with_output().expect("python ends");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("json from python")
}

/// The documents of `kind`.
pub fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|doc| doc["kind"] == kind).collect()
}

pub fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or_default()
}
