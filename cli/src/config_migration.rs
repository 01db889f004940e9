//! Upgrades a 0.2.x `~/.recon/config.toml` to the current shape on first run, so customers who
//! upgrade with `pipx upgrade browser-recon` stay logged in.
//!
//! The repository holds no copy of the 0.2 (Python) CLI, so its shape is an assumption, chosen to
//! cover what that CLI plausibly wrote:
//! - top-level `api_url = "…"` and `token = "…"`, or
//! - the same keys (or `server` / `api_key`) in a `[default]` table (a profile section).
//!
//! The current shape is top-level `server` and `api_key`. A file that already has either of those
//! is never touched. Migration keeps the original as `config.toml.bak` (mode 0600: it holds the
//! key) and writes the new file with mode 0600; keys without a current meaning stay only in the
//! backup, and the one-time notice names them.

use std::path::{Path, PathBuf};

use crate::config::FileConfig;

/// A 0.2-format file, read into the current shape.
#[derive(Debug, PartialEq, Eq)]
pub struct LegacyConfig {
    pub server: Option<String>,
    pub api_key: Option<String>,
    /// Keys of the old file that the current version has no use for (e.g. `default.timeout`).
    pub dropped: Vec<String>,
}

impl LegacyConfig {
    pub fn file_config(&self) -> FileConfig {
        FileConfig {
            server: self.server.clone(),
            api_key: self.api_key.clone(),
        }
    }

    /// The file that replaces the old one.
    pub fn to_toml(&self, backup_name: &str) -> String {
        let mut text = format!(
            "# recon configuration (migrated from the 0.2 format; the original is in {backup_name})\n"
        );
        for (key, value) in [("server", &self.server), ("api_key", &self.api_key)] {
            if let Some(value) = value {
                text.push_str(&format!("{key} = {}\n", crate::config::toml_string(value)));
            }
        }
        text
    }
}

const LEGACY_SERVER_KEYS: [&str; 2] = ["api_url", "server"];
const LEGACY_KEY_KEYS: [&str; 2] = ["token", "api_key"];

/// `Ok(None)` when `table` is not in the 0.2 format (the current shape, or something else the
/// normal parser will judge); `Err` names a legacy key whose value is not a string.
pub fn detect(table: &toml::Table) -> Result<Option<LegacyConfig>, String> {
    if table.contains_key("server") || table.contains_key("api_key") {
        return Ok(None);
    }
    let top_level = table.contains_key("api_url") || table.contains_key("token");
    let section = match table.get("default") {
        Some(toml::Value::Table(section))
            if LEGACY_SERVER_KEYS
                .iter()
                .chain(&LEGACY_KEY_KEYS)
                .any(|key| section.contains_key(*key)) =>
        {
            Some(section)
        }
        _ => None,
    };
    if !top_level && section.is_none() {
        return Ok(None);
    }
    let mut dropped = Vec::new();
    let mut server = None;
    let mut api_key = None;
    for (key, value) in table {
        match (key.as_str(), value) {
            ("api_url", value) => server = Some(string_value(key, value)?),
            ("token", value) => api_key = Some(string_value(key, value)?),
            ("default", toml::Value::Table(_)) if section.is_some() => {}
            _ => dropped.push(key.clone()),
        }
    }
    if let Some(section) = section {
        for (key, value) in section {
            let name = format!("default.{key}");
            if LEGACY_SERVER_KEYS.contains(&key.as_str()) {
                // A top-level value wins over the profile's.
                if server.is_none() {
                    server = Some(string_value(&name, value)?);
                }
            } else if LEGACY_KEY_KEYS.contains(&key.as_str()) {
                if api_key.is_none() {
                    api_key = Some(string_value(&name, value)?);
                }
            } else {
                dropped.push(name);
            }
        }
    }
    Ok(Some(LegacyConfig {
        server,
        api_key,
        dropped,
    }))
}

fn string_value(name: &str, value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(text) => Ok(text.clone()),
        other => Err(format!(
            "{name} must be a string (found {})",
            other.type_str()
        )),
    }
}

/// `config.toml.bak`, or `config.toml.bak.N` when an earlier backup is already there.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    let first = path.with_file_name(&name);
    if !first.exists() {
        return first;
    }
    (1..)
        .map(|n| {
            let mut numbered = name.clone();
            numbered.push(format!(".{n}"));
            path.with_file_name(numbered)
        })
        .find(|candidate| !candidate.exists())
        .unwrap_or(first)
}

/// Writes the backup, then replaces `path` with the migrated file; returns the backup's path.
pub fn migrate(path: &Path, original: &str, legacy: &LegacyConfig) -> std::io::Result<PathBuf> {
    let backup = backup_path(path);
    crate::config::write_private(&backup, original.as_bytes())?;
    let backup_name = backup
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_extension("toml.tmp");
    crate::config::write_private(&temporary, legacy.to_toml(&backup_name).as_bytes())?;
    std::fs::rename(&temporary, path)?;
    Ok(backup)
}

/// The one-time notice, e.g. `recon: migrated ~/.recon/config.toml from the 0.2 format
/// (backup: ~/.recon/config.toml.bak)`.
pub fn notice(path: &Path, backup: &Path, legacy: &LegacyConfig, home: Option<&Path>) -> String {
    let mut text = format!(
        "recon: migrated {} from the 0.2 format (backup: {})",
        tilde(path, home),
        tilde(backup, home)
    );
    if !legacy.dropped.is_empty() {
        text.push_str(&format!(
            "; not carried over: {}",
            legacy.dropped.join(", ")
        ));
    }
    text
}

fn tilde(path: &Path, home: Option<&Path>) -> String {
    match home.and_then(|home| path.strip_prefix(home).ok()) {
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn top_level_api_url_and_token() {
        let legacy = detect(&table(
            "api_url = \"https://recon.example/\"\ntoken = \"rec_live_old\"\ntimeout = 30\n",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(
            legacy,
            LegacyConfig {
                server: Some("https://recon.example/".into()),
                api_key: Some("rec_live_old".into()),
                dropped: vec!["timeout".into()],
            }
        );
    }

    #[test]
    fn a_default_profile_table() {
        let legacy = detect(&table(
            "[default]\napi_url = \"https://a.example\"\ntoken = \"t\"\nverify_ssl = true\n\n[staging]\napi_url = \"https://s.example\"\n",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(legacy.server.as_deref(), Some("https://a.example"));
        assert_eq!(legacy.api_key.as_deref(), Some("t"));
        assert_eq!(legacy.dropped, vec!["staging", "default.verify_ssl"]);
        let only_key = detect(&table("[default]\napi_key = \"k\"\n"))
            .unwrap()
            .unwrap();
        assert_eq!(only_key.server, None);
        assert_eq!(only_key.api_key.as_deref(), Some("k"));
    }

    #[test]
    fn the_current_shape_and_unrelated_files_are_left_alone() {
        for text in [
            "server = \"https://a.example\"\napi_key = \"k\"\n",
            // Half-migrated by hand: the current keys win, nothing is rewritten.
            "api_key = \"k\"\ntoken = \"old\"\n",
            "",
            "chrome_path = \"/x\"\n[default]\ncolor = true\n",
        ] {
            assert_eq!(detect(&table(text)).unwrap(), None, "{text}");
        }
    }

    #[test]
    fn a_non_string_value_is_an_error() {
        let error = detect(&table("token = 12\n")).unwrap_err();
        assert_eq!(error, "token must be a string (found integer)");
        let error = detect(&table("[default]\napi_url = [1]\n")).unwrap_err();
        assert!(
            error.starts_with("default.api_url must be a string"),
            "{error}"
        );
    }

    #[test]
    fn the_migrated_text_is_the_current_shape() {
        let legacy = LegacyConfig {
            server: Some("https://a.example".into()),
            api_key: Some("rec_\"x".into()),
            dropped: vec![],
        };
        let text = legacy.to_toml("config.toml.bak");
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(parsed["server"].as_str(), Some("https://a.example"));
        assert_eq!(parsed["api_key"].as_str(), Some("rec_\"x"));
        assert_eq!(detect(&parsed).unwrap(), None);
    }

    #[test]
    fn backups_are_never_overwritten() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(backup_path(&path), dir.path().join("config.toml.bak"));
        std::fs::write(dir.path().join("config.toml.bak"), "x").unwrap();
        assert_eq!(backup_path(&path), dir.path().join("config.toml.bak.1"));
        std::fs::write(dir.path().join("config.toml.bak.1"), "x").unwrap();
        assert_eq!(backup_path(&path), dir.path().join("config.toml.bak.2"));
    }

    #[test]
    fn the_notice_uses_a_tilde_under_home() {
        let legacy = LegacyConfig {
            server: None,
            api_key: Some("k".into()),
            dropped: vec!["timeout".into()],
        };
        let home = Path::new("/home/me");
        let text = notice(
            &home.join(".recon/config.toml"),
            &home.join(".recon/config.toml.bak"),
            &legacy,
            Some(home),
        );
        assert_eq!(
            text,
            "recon: migrated ~/.recon/config.toml from the 0.2 format (backup: ~/.recon/config.toml.bak); not carried over: timeout"
        );
        let elsewhere = notice(
            Path::new("/etc/recon.toml"),
            Path::new("/etc/recon.toml.bak"),
            &legacy,
            Some(home),
        );
        assert!(elsewhere.starts_with("recon: migrated /etc/recon.toml from"));
    }
}
