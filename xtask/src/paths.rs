//! Where things live: the repository, the cache outside the clone, the cargo target dir, the venv
//! and the dev stack's state.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Paths {
    /// The workspace root (the parent of `xtask/`).
    pub repo: PathBuf,
    /// `CARGO_TARGET_DIR` for every inner cargo run: the caller's, else `<cache>/target`.
    pub target: PathBuf,
    /// `<cache>/venv`, the Python venv that provides `nats-server` and `moto_server`; the cache
    /// is `${XDG_CACHE_HOME:-$HOME/.cache}/browser-recon`, outside the clone, so it survives it.
    pub venv: PathBuf,
    /// `<repo>/target/recon-dev`: the dev stack's data, logs, pid files and env file.
    pub dev: PathBuf,
}

impl Paths {
    pub fn discover() -> Result<Paths> {
        // `cargo run` sets it at run time too; that one is right even when a target dir shared
        // by two checkouts holds an xtask binary built from the other one.
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        let repo = manifest_dir
            .parent()
            .context("xtask's manifest dir has no parent")?
            .to_path_buf();
        let cache = match non_empty_var("XDG_CACHE_HOME") {
            Some(dir) => PathBuf::from(dir).join("browser-recon"),
            None => match non_empty_var("HOME") {
                Some(home) => PathBuf::from(home).join(".cache/browser-recon"),
                None => {
                    bail!("neither XDG_CACHE_HOME nor HOME is set: set one to pick a cache dir")
                }
            },
        };
        let target = match non_empty_var("CARGO_TARGET_DIR") {
            Some(dir) => absolute(&repo, PathBuf::from(dir)),
            None => cache.join("target"),
        };
        Ok(Paths {
            venv: cache.join("venv"),
            dev: repo.join("target/recon-dev"),
            repo,
            target,
        })
    }

    /// A built binary of the workspace (debug profile).
    pub fn binary(&self, name: &str) -> PathBuf {
        self.target.join("debug").join(name)
    }

    /// A built binary of the workspace, release profile.
    pub fn release_binary(&self, name: &str) -> PathBuf {
        self.target.join("release").join(name)
    }

    /// The cache outside the clone that holds the venv and other downloaded tools.
    pub fn cache_dir(&self) -> PathBuf {
        self.venv
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.venv.clone())
    }

    pub fn venv_bin(&self, name: &str) -> PathBuf {
        self.venv.join("bin").join(name)
    }

    /// `path` relative to the repository when it is inside it, for shorter messages.
    pub fn show(&self, path: &Path) -> String {
        path.strip_prefix(&self.repo)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

pub fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// A relative `CARGO_TARGET_DIR` means the caller's working directory, as it does for cargo; the
/// inner runs work in the repository, so they get the absolute path.
fn absolute(repo: &Path, dir: PathBuf) -> PathBuf {
    if dir.is_absolute() {
        dir
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| repo.to_path_buf())
            .join(dir)
    }
}
