//! The customer's install path, `pipx install browser-recon`: build the wheel exactly as the
//! release workflow does (maturin, `--profile dist`, deflate level 9), check its size budget and
//! that it holds the `recon` binary and nothing else, install it with pipx into a throwaway home
//! and run it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use recon_tests::{harness_env, run_ok};

/// The issue's budget (the release workflow checks the same number).
const WHEEL_BUDGET_BYTES: u64 = 5_000_000;
const VERSION: &str = "0.3.0";
const DIST_INFO: &str = "browser_recon-0.3.0.dist-info/";
const SCRIPT: &str = "browser_recon-0.3.0.data/scripts/recon";

/// `maturin` and `pipx` live in the same venv as the test Python.
fn venv_tool(python: &str, name: &str) -> PathBuf {
    let tool = Path::new(python)
        .parent()
        .expect("RECON_TEST_PYTHON has a directory")
        .join(name);
    assert!(
        tool.exists(),
        "{} is missing: run `cargo xtask deps`",
        tool.display()
    );
    tool
}

fn build_wheel(python: &str, out: &Path) -> (PathBuf, Duration) {
    let cli_dir = recon_tests::crate_dir().join("../cli");
    let mut maturin = Command::new(venv_tool(python, "maturin"));
    maturin
        .args(["build", "--profile", "dist", "--locked"])
        .args(["--compression-level", "9", "--out"])
        .arg(out)
        .current_dir(&cli_dir);
    // The shared target dir keeps the (slow, LTO) dist build cached between runs; xtask sets it.
    if let Ok(target) = std::env::var("CARGO_TARGET_DIR") {
        maturin.env("CARGO_TARGET_DIR", target);
    }
    let started = Instant::now();
    run_ok(&mut maturin);
    let took = started.elapsed();
    let wheels: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .collect();
    assert_eq!(
        wheels.len(),
        1,
        "one wheel in {}: {wheels:?}",
        out.display()
    );
    (wheels[0].clone(), took)
}

/// The wheel's RECORD paths, its member names, and the `recon` binary's bytes.
struct WheelContents {
    record: Vec<String>,
    members: Vec<String>,
    metadata: String,
    binary: Vec<u8>,
}

const READ_WHEEL: &str = r#"
import csv, io, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    members = wheel.namelist()
    record_name = next(n for n in members if n.endswith(".dist-info/RECORD"))
    record = [row[0] for row in csv.reader(io.StringIO(wheel.read(record_name).decode()))]
    metadata = wheel.read(next(n for n in members if n.endswith(".dist-info/METADATA"))).decode()
    with open(sys.argv[3], "wb") as out:
        out.write(wheel.read(sys.argv[2]))
print(json.dumps({"record": record, "members": members, "metadata": metadata}))
"#;

fn read_wheel(python: &str, wheel: &Path, scratch: &Path) -> WheelContents {
    let binary_path = scratch.join("recon-from-wheel");
    let output = run_ok(
        Command::new(python)
            .args(["-c", READ_WHEEL])
            .arg(wheel)
            .arg(SCRIPT)
            .arg(&binary_path),
    );
    let listing: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let strings = |key: &str| -> Vec<String> {
        listing[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|name| name.as_str().unwrap().to_owned())
            .collect()
    };
    WheelContents {
        record: strings("record"),
        members: strings("members"),
        metadata: listing["metadata"].as_str().unwrap().to_owned(),
        binary: std::fs::read(&binary_path).unwrap(),
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// `PIPX_SHARED_LIBS` under the cargo target dir, when there is one.
fn shared_libs() -> Option<(&'static str, PathBuf)> {
    let target = std::env::var_os("CARGO_TARGET_DIR")?;
    Some((
        "PIPX_SHARED_LIBS",
        PathBuf::from(target).join("pipx-shared"),
    ))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[test]
fn the_wheel_holds_only_the_cli_fits_the_budget_and_installs_with_pipx() {
    let python = harness_env("RECON_TEST_PYTHON");
    let scratch = tempfile::TempDir::new().unwrap();
    let out = scratch.path().join("dist");

    let (wheel, build_time) = build_wheel(&python, &out);
    let wheel_size = std::fs::metadata(&wheel).unwrap().len();
    println!(
        "wheel: {} = {wheel_size} bytes ({:.2} MB), built in {:.1}s",
        wheel.file_name().unwrap().to_string_lossy(),
        wheel_size as f64 / 1e6,
        build_time.as_secs_f64()
    );
    assert!(
        wheel_size < WHEEL_BUDGET_BYTES,
        "the wheel is {wheel_size} bytes, over the {WHEEL_BUDGET_BYTES}-byte budget"
    );

    let contents = read_wheel(&python, &wheel, scratch.path());
    println!(
        "recon binary in the wheel: {} bytes ({:.2} MB)",
        contents.binary.len(),
        contents.binary.len() as f64 / 1e6
    );
    // RECORD lists every file of the wheel: the binary and the metadata, nothing else.
    let mut record = contents.record.clone();
    let mut members = contents.members.clone();
    record.sort();
    members.sort();
    assert_eq!(record, members, "RECORD and the archive agree");
    assert!(record.iter().any(|path| path == SCRIPT), "{record:?}");
    for path in &record {
        assert!(
            path == SCRIPT || path.starts_with(DIST_INFO),
            "the wheel holds {path}, which is neither the recon binary nor metadata: {record:?}"
        );
    }
    // No server code linked in: its crates' panic locations would name them. The CLI's own
    // dependencies do show up the same way, so the check can fire.
    assert!(contains(&contents.binary, "tokio-"));
    for server_only in ["services/", "sqlx", "async-nats", "aws-sdk", "axum"] {
        assert!(
            !contains(&contents.binary, server_only),
            "the recon binary contains {server_only:?}: server code is linked in"
        );
    }

    // Nothing to fetch from PyPI when it is installed: no dependencies.
    for line in ["Name: browser-recon", &format!("Version: {VERSION}")] {
        assert!(
            contents.metadata.lines().any(|l| l == line),
            "{line}: {}",
            contents.metadata
        );
    }
    assert!(
        !contents.metadata.contains("Requires-Dist"),
        "{}",
        contents.metadata
    );

    // pipx into a throwaway home. pipx keeps its own pip ("shared libraries") up to date from
    // PyPI, as it does for every user; keeping those in the build cache means that happens once
    // a month here rather than on every run.
    let home = scratch.path().join("home");
    let bin_dir = scratch.path().join("bin");
    std::fs::create_dir_all(&home).unwrap();
    let started = Instant::now();
    let install = run_ok(
        Command::new(venv_tool(&python, "pipx"))
            .arg("install")
            .arg(&wheel)
            .env("HOME", &home)
            .env("PIPX_HOME", scratch.path().join("pipx"))
            .env("PIPX_BIN_DIR", &bin_dir)
            .env("PIPX_MAN_DIR", scratch.path().join("man"))
            .envs(shared_libs())
            .env_remove("VIRTUAL_ENV"),
    );
    println!(
        "pipx install: {:.1}s: {}",
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&install.stdout).trim()
    );

    let recon = bin_dir.join("recon");
    let version = || {
        run_ok(
            Command::new(&recon)
                .arg("--version")
                .env_clear()
                .env("HOME", &home),
        )
    };
    let output = version();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("recon {VERSION}")
    );
    let samples: Vec<Duration> = (0..10)
        .map(|_| {
            let started = Instant::now();
            version();
            started.elapsed()
        })
        .collect();
    println!(
        "recon --version start-up (installed by pipx): median {:.1} ms of 10 runs (min {:.1} ms, max {:.1} ms)",
        median(samples.clone()).as_secs_f64() * 1e3,
        samples.iter().min().unwrap().as_secs_f64() * 1e3,
        samples.iter().max().unwrap().as_secs_f64() * 1e3
    );
}
