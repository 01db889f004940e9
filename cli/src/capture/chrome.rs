//! Finding the user's Chrome, Chromium or Edge. `CHROME_PATH` wins; otherwise the usual
//! install locations of each OS and the names on `PATH`. recon never downloads a browser: when
//! none is found the error says how to install one.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub const CHROME_PATH_ENV: &str = "CHROME_PATH";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindError {
    #[error("{CHROME_PATH_ENV} is {}, which is not an executable file", path.display())]
    BadOverride { path: PathBuf },
    #[error("Chrome, Chromium or Edge was not found; {hint}")]
    NotFound { hint: &'static str },
}

/// The browser to launch: `override_path` (the value of `CHROME_PATH`) or the first one found.
pub fn find_chrome(override_path: Option<OsString>) -> Result<PathBuf, FindError> {
    if let Some(path) = override_path.filter(|path| !path.is_empty()) {
        let path = PathBuf::from(path);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(FindError::BadOverride { path })
        };
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    candidates(&path_var)
        .into_iter()
        .find(|path| is_executable(path))
        .ok_or(FindError::NotFound {
            hint: install_hint(),
        })
}

fn candidates(path_var: &OsString) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    for name in program_names() {
        for dir in std::env::split_paths(path_var) {
            found.push(dir.join(name));
        }
    }
    found.extend(install_locations());
    found
}

#[cfg(target_os = "linux")]
fn program_names() -> &'static [&'static str] {
    &[
        "google-chrome",
        "google-chrome-stable",
        "chromium",
        "chromium-browser",
        "microsoft-edge",
        "microsoft-edge-stable",
    ]
}

#[cfg(target_os = "linux")]
fn install_locations() -> Vec<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/google-chrome",
        "/opt/google/chrome/chrome",
        "/snap/bin/chromium",
        "/opt/microsoft/msedge/msedge",
    ]
    .iter()
    .map(PathBuf::from)
    .collect()
}

#[cfg(target_os = "linux")]
fn install_hint() -> &'static str {
    "install Chromium (Debian/Ubuntu: `sudo apt-get install chromium`; Fedora: `sudo dnf install \
     chromium`) or Google Chrome, or set CHROME_PATH to the browser's executable"
}

#[cfg(target_os = "macos")]
fn program_names() -> &'static [&'static str] {
    &["chromium", "google-chrome"]
}

#[cfg(target_os = "macos")]
fn install_locations() -> Vec<PathBuf> {
    let apps = [
        "Google Chrome.app/Contents/MacOS/Google Chrome",
        "Chromium.app/Contents/MacOS/Chromium",
        "Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
        "Google Chrome Canary.app/Contents/MacOS/Google Chrome Canary",
    ];
    let mut roots = vec![PathBuf::from("/Applications")];
    if let Some(home) = std::env::var_os("HOME") {
        roots.push(PathBuf::from(home).join("Applications"));
    }
    roots
        .iter()
        .flat_map(|root| apps.iter().map(move |app| root.join(app)))
        .collect()
}

#[cfg(target_os = "macos")]
fn install_hint() -> &'static str {
    "install Google Chrome (https://www.google.com/chrome/) or Chromium (`brew install --cask \
     chromium`), or set CHROME_PATH to the browser's executable"
}

#[cfg(windows)]
fn program_names() -> &'static [&'static str] {
    &["chrome.exe", "msedge.exe"]
}

#[cfg(windows)]
fn install_locations() -> Vec<PathBuf> {
    let apps = [
        r"Google\Chrome\Application\chrome.exe",
        r"Microsoft\Edge\Application\msedge.exe",
        r"Chromium\Application\chrome.exe",
    ];
    ["ProgramFiles", "ProgramFiles(x86)", "LOCALAPPDATA"]
        .iter()
        .filter_map(std::env::var_os)
        .flat_map(|root| apps.iter().map(move |app| PathBuf::from(&root).join(app)))
        .collect()
}

#[cfg(windows)]
fn install_hint() -> &'static str {
    "install Google Chrome (https://www.google.com/chrome/) or Microsoft Edge, or set \
     CHROME_PATH to chrome.exe or msedge.exe"
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn program_names() -> &'static [&'static str] {
    &["chromium", "chrome", "google-chrome"]
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn install_locations() -> Vec<PathBuf> {
    Vec::new()
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn install_hint() -> &'static str {
    "install Chromium with your package manager, or set CHROME_PATH to the browser's executable"
}

fn is_executable(path: &Path) -> bool {
    let Ok(metadata) = std::fs::metadata(path) else {
        return false;
    };
    if !metadata.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrome_path_wins_and_is_checked() {
        let dir = tempfile::TempDir::new().unwrap();
        let missing = dir.path().join("nope");
        assert_eq!(
            find_chrome(Some(missing.clone().into_os_string())),
            Err(FindError::BadOverride { path: missing })
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let fake = dir.path().join("my-chrome");
            std::fs::write(&fake, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
            assert_eq!(find_chrome(Some(fake.clone().into_os_string())), Ok(fake));
        }
    }

    #[test]
    fn names_on_path_are_candidates_and_the_hint_says_how_to_install() {
        let list = candidates(&OsString::from("/x/bin"));
        assert!(list.iter().any(|path| path.starts_with("/x/bin")));
        let error = FindError::NotFound {
            hint: install_hint(),
        };
        assert!(error.to_string().contains("install"), "{error}");
        assert!(error.to_string().contains("CHROME_PATH"), "{error}");
    }
}
