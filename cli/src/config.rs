//! Where the server is and which API key to send: `~/.recon/config.toml` when it exists
//! (keys `server` and `api_key`, the file `recon login` writes with mode 0600), overridden by
//! the environment (`RECON_SERVER`, `RECON_API_KEY`). Parsed once at start-up; a 0.2-format
//! file is migrated on that first read (see [`crate::config_migration`]).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config_migration;
use crate::exit::Exit;

pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";
pub const SERVER_ENV: &str = "RECON_SERVER";
pub const API_KEY_ENV: &str = "RECON_API_KEY";
/// Set to 1 (or pass `--allow-http`) to send the API key over plain http to another machine.
pub const ALLOW_HTTP_ENV: &str = "RECON_ALLOW_HTTP";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub server: ServerUrl,
    api_key: Option<String>,
}

/// A server the API key may be sent to: an http(s) base URL without a trailing slash, query or
/// fragment, and https unless the host is this machine (127.0.0.0/8, ::1, `localhost`) or plain
/// http was allowed. The only way to build one is [`ServerUrl::parse`], and the API client takes
/// nothing else, so no command can send the key in clear text by mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl(String);

impl ServerUrl {
    /// `value` as a server URL; `source_name` says where it came from in the error.
    pub fn parse(
        value: &str,
        source_name: &str,
        allow_http: bool,
    ) -> Result<ServerUrl, ConfigError> {
        let bad = |reason: String| ConfigError::BadServerUrl {
            source_name: source_name.to_owned(),
            value: value.to_owned(),
            reason,
        };
        let url = url::Url::parse(value.trim()).map_err(|error| bad(error.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad(format!(
                "the scheme must be http or https, not {}",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("it has no host".into()));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("it must not have a query or a fragment".into()));
        }
        let server = url.as_str().trim_end_matches('/').to_owned();
        if url.scheme() == "http" && !allow_http && !is_this_machine(&url) {
            return Err(ConfigError::PlainHttp {
                server,
                source_name: source_name.to_owned(),
            });
        }
        Ok(ServerUrl(server))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `path` on this server, over the WebSocket scheme that matches: wss:// for https://.
    pub fn websocket_url(&self, path: &str) -> String {
        match self.0.split_once("://") {
            Some(("https", rest)) => format!("wss://{rest}{path}"),
            Some((_, rest)) => format!("ws://{rest}{path}"),
            None => format!("{}{path}", self.0),
        }
    }
}

impl std::fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Loopback only: traffic to it never leaves the machine.
fn is_this_machine(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => {
            address.is_loopback() || address.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost") || name.eq_ignore_ascii_case("localhost.")
        }
        None => false,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    UnreadableFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a valid recon config file: {reason}", path.display())]
    BadFile { path: PathBuf, reason: String },
    #[error("{source_name} is {value:?}, which is not a usable server URL: {reason}")]
    BadServerUrl {
        source_name: String,
        value: String,
        reason: String,
    },
    #[error("no API key: run `recon login` or set {API_KEY_ENV}")]
    MissingApiKey,
    #[error("cannot write {}: {source}", path.display())]
    UnwritableFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no home directory (HOME is not set), so there is no ~/.recon/config.toml")]
    NoHome,
    #[error(
        "refusing to send the API key unencrypted to {server} ({source_name}): use an https:// \
         server URL, or pass --allow-http (or set {ALLOW_HTTP_ENV}=1) to accept plain http to a \
         host that is not this machine"
    )]
    PlainHttp { server: String, source_name: String },
}

impl ConfigError {
    pub fn exit(&self) -> Exit {
        match self {
            // Without a key the server cannot be asked anything: the same class as a refused key.
            ConfigError::MissingApiKey => Exit::Server,
            _ => Exit::Usage,
        }
    }
}

/// The keys of `~/.recon/config.toml` this version reads; others are left for later versions.
#[derive(Debug, Default, Deserialize)]
pub struct FileConfig {
    pub server: Option<String>,
    pub api_key: Option<String>,
}

impl Config {
    /// Reads the config file (if there is one) and the environment; `allow_http` is
    /// `--allow-http` / `RECON_ALLOW_HTTP`.
    pub fn load(allow_http: bool) -> Result<Config, ConfigError> {
        let path = default_config_path();
        let file = match &path {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        Config::resolve(file, path.as_deref(), allow_http, |name| {
            std::env::var(name).ok()
        })
    }

    fn resolve(
        file: FileConfig,
        file_path: Option<&Path>,
        allow_http: bool,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let from_env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        let file_source = || match file_path {
            Some(path) => format!("server in {}", path.display()),
            None => "server in the config file".to_owned(),
        };
        let (server, source_name) = match (from_env(SERVER_ENV), file.server) {
            (Some(value), _) => (value, SERVER_ENV.to_owned()),
            (None, Some(value)) => (value, file_source()),
            (None, None) => (DEFAULT_SERVER.to_owned(), "the default server".to_owned()),
        };
        let server = ServerUrl::parse(&server, &source_name, allow_http)?;
        let api_key = from_env(API_KEY_ENV)
            .or(file.api_key)
            .map(|key| key.trim().to_owned())
            .filter(|key| !key.is_empty());
        Ok(Config { server, api_key })
    }

    pub fn api_key(&self) -> Result<&str, ConfigError> {
        self.api_key.as_deref().ok_or(ConfigError::MissingApiKey)
    }
}

/// `~/.recon/config.toml`, when a home directory is known.
pub fn default_config_path() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|home| !home.is_empty())?;
    Some(PathBuf::from(home).join(".recon").join("config.toml"))
}

/// The server to talk to without a key yet: `RECON_SERVER`, the file's, or the default.
pub fn server_for_login(
    explicit: Option<&str>,
    file: &FileConfig,
    allow_http: bool,
) -> Result<ServerUrl, ConfigError> {
    let env_server = std::env::var(SERVER_ENV)
        .ok()
        .filter(|value| !value.trim().is_empty());
    let (value, source_name) = match (explicit, env_server, &file.server) {
        (Some(value), _, _) => (value.to_owned(), "--server".to_owned()),
        (None, Some(value), _) => (value, SERVER_ENV.to_owned()),
        (None, None, Some(value)) => (value.clone(), "server in the config file".to_owned()),
        (None, None, None) => (DEFAULT_SERVER.to_owned(), "the default server".to_owned()),
    };
    ServerUrl::parse(&value, &source_name, allow_http)
}

/// Sets (`Some`) or removes (`None`) top-level keys of the config file, keeping every other
/// line as it was, and leaves the file readable by its owner only.
pub fn update_file(path: &Path, changes: &[(&str, Option<&str>)]) -> Result<(), ConfigError> {
    let unwritable = |source| ConfigError::UnwritableFile {
        path: path.to_owned(),
        source,
    };
    let old = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(unwritable(source)),
    };
    let text = apply_changes(&old, changes);
    if let Some(dir) = path.parent() {
        create_private_dir(dir).map_err(unwritable)?;
    }
    let temporary = path.with_extension("toml.tmp");
    write_private(&temporary, text.as_bytes()).map_err(unwritable)?;
    std::fs::rename(&temporary, path).map_err(unwritable)
}

fn apply_changes(old: &str, changes: &[(&str, Option<&str>)]) -> String {
    let key_of = |line: &str| {
        let line = line.trim_start();
        changes.iter().map(|(key, _)| *key).find(|key| {
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
    };
    let mut lines: Vec<String> = Vec::new();
    // Top-level keys must stay above the first [table] header.
    let mut insert_at = None;
    for line in old.lines() {
        if insert_at.is_none() && line.trim_start().starts_with('[') {
            insert_at = Some(lines.len());
        }
        if insert_at.is_none() && key_of(line).is_some() {
            continue;
        }
        lines.push(line.to_owned());
    }
    let new_lines: Vec<String> = changes
        .iter()
        .filter_map(|(key, value)| value.map(|value| format!("{key} = {}", toml_string(value))))
        .collect();
    let at = insert_at.unwrap_or(lines.len());
    lines.splice(at..at, new_lines);
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// A TOML basic string; JSON's escapes are a subset of TOML's.
pub(crate) fn toml_string(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "\"\"".to_owned())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // The mode above applies only when the file is new.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Reads the config file; a file in the 0.2 format is migrated first (once: afterwards it is
/// in the current shape), with a notice on stderr.
pub fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => match migrate_legacy(&text, path)? {
            Some(file) => Ok(file),
            None => parse_file(&text, path),
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
        Err(source) => Err(ConfigError::UnreadableFile {
            path: path.to_owned(),
            source,
        }),
    }
}

/// `Some` when `text` was in the 0.2 format: migrated on disk, or, when the file cannot be
/// rewritten (a read-only home), used as it is for this run with a warning.
fn migrate_legacy(text: &str, path: &Path) -> Result<Option<FileConfig>, ConfigError> {
    // Malformed TOML is reported by parse_file, in the usual words.
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        return Ok(None);
    };
    let legacy = match config_migration::detect(&table) {
        Ok(Some(legacy)) => legacy,
        Ok(None) => return Ok(None),
        Err(reason) => {
            return Err(ConfigError::BadFile {
                path: path.to_owned(),
                reason: format!("{reason} (in the 0.2 format)"),
            })
        }
    };
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match config_migration::migrate(path, text, &legacy) {
        Ok(backup) => eprintln!(
            "{}",
            config_migration::notice(path, &backup, &legacy, home.as_deref())
        ),
        Err(error) => eprintln!(
            "recon: warning: {} is in the 0.2 format and could not be migrated ({error}); using it as it is",
            path.display()
        ),
    }
    Ok(Some(legacy.file_config()))
}

fn parse_file(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|error| ConfigError::BadFile {
        path: path.to_owned(),
        reason: error.message().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn file(text: &str) -> FileConfig {
        parse_file(text, Path::new("config.toml")).unwrap()
    }

    #[test]
    fn defaults_to_the_local_server_without_a_key() {
        let config = Config::resolve(FileConfig::default(), None, false, env(&[])).unwrap();
        assert_eq!(config.server.as_str(), "http://127.0.0.1:8080");
        assert!(matches!(config.api_key(), Err(ConfigError::MissingApiKey)));
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let file = file("server = \"https://recon.example/\"\napi_key = \"rec_live_file\"\n");
        let config = Config::resolve(
            file,
            None,
            false,
            env(&[
                ("RECON_SERVER", "https://other.example/base/"),
                ("RECON_API_KEY", "rec_live_env"),
            ]),
        )
        .unwrap();
        assert_eq!(config.server.as_str(), "https://other.example/base");
        assert_eq!(config.api_key().unwrap(), "rec_live_env");
    }

    #[test]
    fn the_file_is_used_when_the_environment_is_empty() {
        let file = file("server = \"https://recon.example\"\napi_key = \"rec_live_file\"\nchrome_path = \"/x\"\n");
        let config = Config::resolve(
            file,
            None,
            false,
            env(&[("RECON_API_KEY", "  "), ("RECON_SERVER", "")]),
        )
        .unwrap();
        assert_eq!(config.server.as_str(), "https://recon.example");
        assert_eq!(config.api_key().unwrap(), "rec_live_file");
    }

    #[test]
    fn updates_keep_other_lines_and_tables() {
        let old = "# mine\nserver = \"https://a.example\"\napi_key = \"old\"\nchrome_path = \"/x\"\n[extra]\napi_key = \"not top level\"\n";
        let new = apply_changes(
            old,
            &[
                ("server", Some("https://b.example")),
                ("api_key", Some("rec_\"x")),
            ],
        );
        assert_eq!(
            new,
            "# mine\nchrome_path = \"/x\"\nserver = \"https://b.example\"\napi_key = \"rec_\\\"x\"\n[extra]\napi_key = \"not top level\"\n"
        );
        let parsed = file(&new);
        assert_eq!(parsed.api_key.as_deref(), Some("rec_\"x"));
        let removed = apply_changes(&new, &[("api_key", None)]);
        assert!(file(&removed).api_key.is_none());
        assert_eq!(file(&removed).server.as_deref(), Some("https://b.example"));
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join(".recon").join("config.toml");
        update_file(&path, &[("api_key", Some("rec_live_x"))]).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert_eq!(
            read_file(&path).unwrap().api_key.as_deref(),
            Some("rec_live_x")
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_legacy_file_is_migrated_once_with_a_private_backup() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("config.toml");
        let old = "[default]\napi_url = \"https://recon.example/\"\ntoken = \"rec_live_old\"\n";
        std::fs::write(&path, old).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

        let file = read_file(&path).unwrap();
        assert_eq!(file.server.as_deref(), Some("https://recon.example/"));
        assert_eq!(file.api_key.as_deref(), Some("rec_live_old"));
        let backup = dir.path().join("config.toml.bak");
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), old);
        for written in [&path, &backup] {
            let mode = std::fs::metadata(written).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", written.display());
        }
        let migrated = std::fs::read_to_string(&path).unwrap();
        assert!(
            migrated.contains("server = \"https://recon.example/\"\n"),
            "{migrated}"
        );

        // Second run: already the current shape, nothing rewritten, no second backup.
        let again = read_file(&path).unwrap();
        assert_eq!(again.api_key.as_deref(), Some("rec_live_old"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), migrated);
        assert!(!dir.path().join("config.toml.bak.1").exists());

        // And the normal update path keeps working on the migrated file.
        update_file(&path, &[("api_key", None)]).unwrap();
        assert!(read_file(&path).unwrap().api_key.is_none());
    }

    #[test]
    fn a_legacy_file_with_a_bad_value_names_it() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "token = 12\n").unwrap();
        let error = read_file(&path).unwrap_err().to_string();
        assert!(
            error.ends_with("token must be a string (found integer) (in the 0.2 format)"),
            "{error}"
        );
        assert!(!dir.path().join("config.toml.bak").exists());
    }

    #[test]
    fn bad_values_name_their_source() {
        let error = Config::resolve(
            FileConfig::default(),
            None,
            false,
            env(&[("RECON_SERVER", "ftp://recon.example")]),
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("RECON_SERVER is \"ftp://recon.example\""),
            "{text}"
        );
        assert_eq!(error.exit(), Exit::Usage);

        let error = parse_file("server = ", Path::new("/home/me/.recon/config.toml")).unwrap_err();
        assert!(error
            .to_string()
            .starts_with("/home/me/.recon/config.toml is not a valid recon config file"));
    }

    #[test]
    fn plain_http_is_refused_for_another_machine_unless_allowed() {
        for server in [
            "http://recon.invalid",
            "http://recon.example:8080/base",
            "http://10.0.0.5",
            "http://[2001:db8::1]:8080",
            "http://localhost.example",
            "http://127.0.0.1.nip.io",
        ] {
            let error = ServerUrl::parse(server, "RECON_SERVER", false).unwrap_err();
            assert!(
                matches!(error, ConfigError::PlainHttp { .. }),
                "{server}: {error}"
            );
            assert_eq!(error.exit(), Exit::Usage);
            let text = error.to_string();
            assert!(text.contains("--allow-http"), "{text}");
            assert!(text.contains("RECON_ALLOW_HTTP=1"), "{text}");
            assert!(text.contains("(RECON_SERVER)"), "{text}");
            assert!(
                ServerUrl::parse(server, "RECON_SERVER", true).is_ok(),
                "{server}"
            );
        }
    }

    #[test]
    fn plain_http_to_this_machine_and_https_anywhere_are_fine() {
        for server in [
            "http://127.0.0.1:8080",
            "http://127.9.8.7",
            "http://[::1]:8080/",
            "http://localhost:8080",
            "http://LOCALHOST",
            "https://recon.example",
            "https://10.0.0.5:8443/base",
        ] {
            assert!(
                ServerUrl::parse(server, "--server", false).is_ok(),
                "{server}"
            );
        }
    }

    #[test]
    fn the_websocket_follows_the_server_scheme() {
        let secure = ServerUrl::parse("https://recon.example/base/", "x", false).unwrap();
        assert_eq!(
            secure.websocket_url("/scans/1/ws"),
            "wss://recon.example/base/scans/1/ws"
        );
        let local = ServerUrl::parse("http://127.0.0.1:8080", "x", false).unwrap();
        assert_eq!(local.websocket_url("/ws"), "ws://127.0.0.1:8080/ws");
    }

    #[test]
    fn the_file_server_is_checked_too() {
        let file = file("server = \"http://recon.example\"\n");
        let error = Config::resolve(
            file,
            Some(Path::new("/h/.recon/config.toml")),
            false,
            env(&[]),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("(server in /h/.recon/config.toml)"),
            "{error}"
        );
    }
}
