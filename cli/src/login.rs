//! `recon login` and `recon logout`: the API key, checked against the server before it is
//! saved in `~/.recon/config.toml` (mode 0600), and removed again.
//!
//! The key is read from a hidden prompt on a terminal, or as one line from stdin when stdin is
//! not a terminal (`echo $KEY | recon login`, for scripts).

use std::io::{BufRead, IsTerminal};

use crate::client::ApiClient;
use crate::config::{self, ConfigError, API_KEY_ENV};
use crate::exit::{Exit, Failure};

pub async fn login(server: Option<String>, allow_http: bool) -> Result<Exit, Failure> {
    let path = config::default_config_path().ok_or(ConfigError::NoHome)?;
    let file = config::read_file(&path)?;
    // Checked before the key is asked for: a refused server never gets to see it.
    let server = config::server_for_login(server.as_deref(), &file, allow_http)?;
    let key = read_key(server.as_str())?;
    let client = ApiClient::with_key(&server, &key)?;
    let account = client.account().await?;
    config::update_file(
        &path,
        &[("server", Some(server.as_str())), ("api_key", Some(&key))],
    )?;
    eprintln!(
        "logged in to {server} as {} (key {}…); saved in {}",
        account.account,
        account.key_prefix,
        path.display()
    );
    if std::env::var(API_KEY_ENV).is_ok_and(|value| !value.trim().is_empty()) {
        eprintln!(
            "recon: note: {API_KEY_ENV} is set and still takes precedence over the saved key"
        );
    }
    Ok(Exit::Complete)
}

pub fn logout() -> Result<Exit, Failure> {
    let path = config::default_config_path().ok_or(ConfigError::NoHome)?;
    let file = config::read_file(&path)?;
    if file.api_key.is_none() {
        eprintln!("not logged in: {} holds no API key", path.display());
    } else {
        config::update_file(&path, &[("api_key", None)])?;
        eprintln!("logged out: removed the API key from {}", path.display());
    }
    if std::env::var(API_KEY_ENV).is_ok_and(|value| !value.trim().is_empty()) {
        eprintln!("recon: note: {API_KEY_ENV} is still set in this shell and will be used");
    }
    Ok(Exit::Complete)
}

fn read_key(server: &str) -> Result<String, Failure> {
    let key = if std::io::stdin().is_terminal() {
        eprintln!(
            "Log in to {server}. Paste your API key (it starts with rec_live_); input is hidden."
        );
        rpassword::prompt_password("API key: ")
            .map_err(|error| Failure::usage(format!("cannot read the API key: {error}")))?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|error| {
                Failure::usage(format!("cannot read the API key from stdin: {error}"))
            })?;
        line
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(Failure::new(Exit::Usage, "no API key was entered"));
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Failure::usage("an API key has no spaces; paste it again"));
    }
    Ok(key)
}
