//! `cargo xtask stack up|down`: Postgres, NATS and `recon-server --target all` running in the
//! background for local use, and `target/recon-dev/env` so a shell (or the demo) can reach them.

use crate::http;
use crate::install;
use crate::nats::DevNats;
use crate::paths::{non_empty_var, Paths};
use crate::postgres::{self, Cluster, Durability};
use crate::process::{self, PidFile};
use anyhow::{bail, Context, Result};
use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const DEFAULT_PG_PORT: u16 = 54329;
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DATABASE: &str = "recon";
const ACCOUNT: &str = "dev";
/// recon-server finishes in-flight messages on SIGTERM (RECON_SHUTDOWN_GRACE_SECS, 20 s).
const SERVER_STOP_GRACE: Duration = Duration::from_secs(30);
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// What `stack up` started, as written to the env file.
pub struct DevStack {
    pub server_url: String,
    pub api_key: String,
    pub database_url: String,
    pub nats_url: String,
    pub env_file: PathBuf,
    pub server_log: PathBuf,
    repo: PathBuf,
}

/// Starts (or restarts) the stack; validation may also replay to `replay_ports` (a loopback
/// site's) besides 80 and 443, unless the caller set RECON_VALIDATION_ALLOWED_PORTS.
pub fn up(paths: &Paths, replay_ports: &[u16]) -> Result<DevStack> {
    let tools = install::ensure(paths)?;
    fs::create_dir_all(&paths.dev)
        .with_context(|| format!("cannot create {}", paths.dev.display()))?;

    let mut pg = dev_postgres(paths, &tools.pg_bin)?;
    if pg.ensure_running()? {
        println!("stack: started PostgreSQL on 127.0.0.1:{}", pg.port());
    } else {
        println!(
            "stack: PostgreSQL already running on 127.0.0.1:{}",
            pg.port()
        );
    }
    if pg.ensure_database(DATABASE)? {
        println!("stack: created database {DATABASE}");
    }

    let nats = DevNats::new(&paths.dev);
    match nats.ensure_running(&tools.nats_server)? {
        (pid, true) => println!("stack: started nats-server on {} (pid {pid})", nats.url()),
        (pid, false) => println!("stack: nats-server already running (pid {pid})"),
    }

    build(paths)?;
    let mut server = Server::new(paths, pg.url(DATABASE), nats.url());
    server.replay_ports.extend_from_slice(replay_ports);
    server.restart()?;
    let api_key = server.create_api_key()?;

    let stack = DevStack {
        server_url: format!("http://{}", server.client_address),
        api_key,
        database_url: server.database_url.clone(),
        nats_url: server.nats_url.clone(),
        env_file: paths.dev.join("env"),
        server_log: server.log_file(),
        repo: paths.repo.clone(),
    };
    stack.write_env_file()?;
    Ok(stack)
}

pub fn down(paths: &Paths) -> Result<()> {
    let server = PidFile::new(paths.dev.join("server.pid"), "recon-server");
    report_stop("recon-server", server.stop(SERVER_STOP_GRACE)?);
    report_stop("nats-server", DevNats::new(&paths.dev).stop()?);
    match postgres::bin_dir() {
        Some(bin) => {
            let pg = dev_postgres(paths, &bin)?;
            if pg.stop()? {
                println!("stack: stopped PostgreSQL");
            } else {
                println!("stack: PostgreSQL was not running");
            }
        }
        None => println!("stack: PostgreSQL is not installed, so not running"),
    }
    println!("stack: data kept under {}", paths.show(&paths.dev));
    Ok(())
}

fn report_stop(name: &str, stopped: Option<u32>) {
    match stopped {
        Some(pid) => println!("stack: stopped {name} (pid {pid})"),
        None => println!("stack: {name} was not running"),
    }
}

/// `RECON_DEV_PG_DIR` (default `target/recon-dev/pg`) on `RECON_DEV_PG_PORT` (default 54329).
fn dev_postgres(paths: &Paths, bin: &Path) -> Result<Cluster> {
    let root = match non_empty_var("RECON_DEV_PG_DIR") {
        // The postgres tools run from `/`, so a relative dir is made absolute here.
        Some(dir) => std::env::current_dir()
            .context("cannot read the current directory")?
            .join(dir),
        None => paths.dev.join("pg"),
    };
    let port = match non_empty_var("RECON_DEV_PG_PORT") {
        Some(text) => text
            .parse()
            .with_context(|| format!("RECON_DEV_PG_PORT: expected a port number, got {text:?}"))?,
        None => DEFAULT_PG_PORT,
    };
    Ok(Cluster::new(bin, root, port, Durability::Durable))
}

fn build(paths: &Paths) -> Result<()> {
    println!("stack: building recon-server and recon");
    process::run(process::cargo(paths).args(["build", "-p", "recon-server", "-p", "browser-recon"]))
        .context("the build failed: fix the errors above and run the command again")
}

/// `recon-server --target all`, its environment, pid file and log.
struct Server {
    binary: PathBuf,
    dev: PathBuf,
    database_url: String,
    nats_url: String,
    /// `RECON_LISTEN` as given (the server binds it).
    listen: String,
    /// Where a client connects: `listen` with an unspecified address replaced by loopback.
    client_address: String,
    blob_dir: PathBuf,
    /// RECON_VALIDATION_ALLOWED_PORTS, when the caller did not set it.
    replay_ports: Vec<u16>,
}

impl Server {
    fn new(paths: &Paths, database_url: String, nats_url: String) -> Server {
        let listen = non_empty_var("RECON_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        Server {
            binary: paths.binary("recon-server"),
            dev: paths.dev.clone(),
            database_url,
            nats_url,
            client_address: client_address(&listen),
            listen,
            blob_dir: paths.dev.join("blobs"),
            replay_ports: vec![80, 443],
        }
    }

    fn log_file(&self) -> PathBuf {
        self.dev.join("server.log")
    }

    fn pid_file(&self) -> PidFile {
        PidFile::new(self.dev.join("server.pid"), "recon-server")
    }

    /// The stack's own Postgres and NATS always; the rest only where the caller set nothing, so
    /// the caller's RECON_*, AWS_* and OTEL_* variables (inherited) win.
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.env("DATABASE_URL", &self.database_url)
            .env("NATS_URL", &self.nats_url)
            .env("RECON_LISTEN", &self.listen);
        if std::env::var_os("NO_COLOR").is_none() {
            // The log is a file: keep colour codes out of it (and of the tail shown on failure).
            cmd.env("NO_COLOR", "1");
        }
        if non_empty_var("RECON_BLOB_URL").is_none() {
            cmd.env(
                "RECON_BLOB_URL",
                format!("file://{}", self.blob_dir.display()),
            );
        }
        if non_empty_var("RECON_VALIDATION_ALLOW_LOOPBACK").is_none() {
            // The demo shop runs on loopback; validation replays its calls.
            cmd.env("RECON_VALIDATION_ALLOW_LOOPBACK", "1");
        }
        if non_empty_var("RECON_VALIDATION_ALLOWED_PORTS").is_none() {
            let ports: Vec<String> = self.replay_ports.iter().map(u16::to_string).collect();
            cmd.env("RECON_VALIDATION_ALLOWED_PORTS", ports.join(","));
        }
        if non_empty_var("RECON_SECRETS_URL").is_none() {
            // A missing file means "no proxies" to the server.
            let secrets = self.dev.join("secrets.json");
            cmd.env("RECON_SECRETS_URL", format!("file://{}", secrets.display()));
        }
        cmd
    }

    /// Stops a running server and starts the freshly built one, so `up` always runs new code.
    fn restart(&self) -> Result<()> {
        if !self.binary.is_file() {
            bail!("{} is missing after the build", self.binary.display());
        }
        if let Some(pid) = self.pid_file().stop(SERVER_STOP_GRACE)? {
            println!("stack: stopped the running recon-server (pid {pid})");
        }
        if http::is_listening(&self.client_address) {
            bail!(
                "{} is taken by another process: stop it, or set RECON_LISTEN to another address",
                self.client_address
            );
        }
        fs::create_dir_all(&self.blob_dir)
            .with_context(|| format!("cannot create {}", self.blob_dir.display()))?;
        let mut cmd = self.command();
        cmd.args(["--target", "all"]);
        let mut child = process::spawn_background(&mut cmd, &self.log_file())?;
        self.pid_file().write(child.id())?;
        println!(
            "stack: started recon-server --target all (pid {}), waiting for /readyz",
            child.id()
        );
        let readyz = format!("http://{}/readyz", self.client_address);
        let log = self.log_file();
        let ready = process::wait_until(READY_TIMEOUT, &format!("{readyz} to answer 200"), || {
            if let Some(status) = child.try_wait()? {
                bail!("recon-server exited at start ({status})");
            }
            Ok(http::get_status(&readyz).is_ok_and(|code| code == 200))
        });
        if let Err(err) = ready {
            // A server that never got ready would only hold the port.
            self.pid_file().stop(SERVER_STOP_GRACE)?;
            bail!(
                "{err:#}\n--- last lines of {} ---\n{}",
                log.display(),
                process::tail(&log, 40)
            );
        }
        Ok(())
    }

    /// `recon-server admin create-key --account dev`: the key alone on stdout.
    fn create_api_key(&self) -> Result<String> {
        let mut cmd = self.command();
        cmd.args(["admin", "create-key", "--account", ACCOUNT]);
        let out = process::output(&mut cmd).context("cannot create the dev API key")?;
        let key = out.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            bail!(
                "`recon-server admin create-key` should print the key alone, but printed {out:?}"
            );
        }
        Ok(key.to_owned())
    }
}

/// A server bound to 0.0.0.0 or [::] is reached on loopback.
fn client_address(listen: &str) -> String {
    match listen.parse::<SocketAddr>() {
        Ok(SocketAddr::V4(addr)) if addr.ip().is_unspecified() => {
            format!("127.0.0.1:{}", addr.port())
        }
        Ok(SocketAddr::V6(addr)) if addr.ip().is_unspecified() => {
            format!("[::1]:{}", addr.port())
        }
        _ => listen.to_owned(),
    }
}

impl DevStack {
    /// Mode 0600: the file holds an API key.
    fn write_env_file(&self) -> Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let text = format!(
            "# Written by `cargo xtask stack up`. Load it with: . target/recon-dev/env\n\
             export RECON_SERVER={}\nexport RECON_API_KEY={}\nexport DATABASE_URL={}\n\
             export NATS_URL={}\n",
            shell_quote(&self.server_url),
            shell_quote(&self.api_key),
            shell_quote(&self.database_url),
            shell_quote(&self.nats_url),
        );
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&self.env_file)
            .with_context(|| format!("cannot write {}", self.env_file.display()))?;
        file.write_all(text.as_bytes())
            .with_context(|| format!("cannot write {}", self.env_file.display()))
    }

    pub fn print_summary(&self) {
        let show = |path: &Path| {
            path.strip_prefix(&self.repo)
                .unwrap_or(path)
                .display()
                .to_string()
        };
        println!();
        println!("The stack is up:");
        println!(
            "  recon-server  {}   (log: {})",
            self.server_url,
            show(&self.server_log)
        );
        println!("  PostgreSQL    {}", self.database_url);
        println!("  NATS          {}", self.nats_url);
        println!(
            "  env file      {}   (load it: . {0})",
            show(&self.env_file)
        );
        println!("Stop it with: cargo xtask stack down");
    }
}

/// Single-quoted for sh, with embedded single quotes closed, escaped and reopened.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_listen_addresses_are_reached_on_loopback() {
        assert_eq!(client_address("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(client_address("[::]:9000"), "[::1]:9000");
        assert_eq!(client_address("127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(client_address("localhost:8080"), "localhost:8080");
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote("rec_live_abc"), "'rec_live_abc'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
