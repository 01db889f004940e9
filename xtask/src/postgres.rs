//! PostgreSQL clusters for tests (throwaway, in a temp dir) and for the dev stack (kept across
//! runs). initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` OS user.

use crate::http;
use crate::process;
use crate::signals;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The newest `/usr/lib/postgresql/<major>/bin` that has initdb and pg_ctl (Debian's layout),
/// else whatever `pg_config --bindir` names.
pub fn bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let debian = fs::read_dir("/usr/lib/postgresql")
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((major, bin))
        })
        .max_by_key(|(major, _)| *major)
        .map(|(_, bin)| bin);
    debian.or_else(|| {
        let out = Command::new("pg_config").arg("--bindir").output().ok()?;
        let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        (out.status.success() && has_tools(&bin)).then_some(bin)
    })
}

pub fn os_user_exists() -> bool {
    process::succeeds(Command::new("id").args(["-u", "postgres"]))
}

/// Whether the cluster may lose data on a crash in exchange for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Durable,
    Throwaway,
}

/// One cluster: `<root>/data`, its log `<root>/postgres.log`, its socket dir `<root>/run`.
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
    durability: Durability,
}

impl Cluster {
    pub fn new(bin: &Path, root: PathBuf, port: u16, durability: Durability) -> Cluster {
        Cluster {
            bin: bin.to_path_buf(),
            root,
            port,
            durability,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>` (trust auth on loopback only).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn log_file(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// A unix socket path may not exceed 107 bytes; a deep checkout falls back to the temp dir.
    fn socket_dir(&self) -> PathBuf {
        let inside = self.root.join("run");
        let socket = inside.join(format!(".s.PGSQL.{}", self.port));
        if socket.as_os_str().len() < 100 {
            inside
        } else {
            std::env::temp_dir().join(format!("recon-pg-socket-{}", self.port))
        }
    }

    fn tool(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }

    /// `program` as the postgres OS user when we are root; as ourselves otherwise.
    fn as_postgres(&self, program: &Path) -> Command {
        let mut cmd = if signals::is_root() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        // The caller's directory may be closed to the postgres user, and initdb needs a cwd.
        cmd.current_dir("/");
        cmd
    }

    /// True while a server runs on this data dir.
    pub fn is_running(&self) -> bool {
        self.data_dir().join("PG_VERSION").is_file()
            && process::succeeds(
                self.as_postgres(&self.tool("pg_ctl"))
                    .arg("status")
                    .arg("-D")
                    .arg(self.data_dir()),
            )
    }

    /// The port a running server listens on, from line 4 of `postmaster.pid`.
    fn running_port(&self) -> Option<u16> {
        let pid_file = fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    /// Starts the server unless it already runs; a running one is adopted with the port it has.
    /// Returns whether it was started now.
    pub fn ensure_running(&mut self) -> Result<bool> {
        if self.is_running() {
            if let Some(port) = self.running_port() {
                if port != self.port {
                    eprintln!(
                        "postgres: already running on port {port} (not {}); keeping it",
                        self.port
                    );
                    self.port = port;
                }
            }
            return Ok(false);
        }
        self.start()?;
        Ok(true)
    }

    /// Creates the directories (and the cluster on first use), then starts the server and waits
    /// until it accepts connections.
    pub fn start(&self) -> Result<()> {
        self.prepare_dirs()?;
        if !self.data_dir().join("PG_VERSION").is_file() {
            self.init()?;
        }
        self.write_settings()?;
        if http::is_listening(&format!("127.0.0.1:{}", self.port)) {
            bail!(
                "port {} on 127.0.0.1 is already taken by another process: stop it or pick \
                 another port",
                self.port
            );
        }
        let mut pg_ctl = self.as_postgres(&self.tool("pg_ctl"));
        pg_ctl
            .args(["start", "-s", "-w", "-t", "60", "-D"])
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_file());
        // The server outlives pg_ctl in pg_ctl's process group: a group of its own keeps Ctrl-C
        // (during `stack up`'s build, say) from shutting it down behind our back.
        std::os::unix::process::CommandExt::process_group(&mut pg_ctl, 0);
        let started = process::output(&mut pg_ctl);
        if let Err(err) = started {
            bail!(
                "PostgreSQL did not start: {err:#}\n--- {} ---\n{}",
                self.log_file().display(),
                process::tail(&self.log_file(), 20)
            );
        }
        let address = format!("127.0.0.1:{}", self.port);
        process::wait_until(
            Duration::from_secs(30),
            &format!("PostgreSQL on {address}"),
            || {
                Ok(process::succeeds(
                    Command::new(self.tool("pg_isready"))
                        .args(["-q", "-t", "2", "-h", "127.0.0.1", "-p"])
                        .arg(self.port.to_string()),
                ))
            },
        )
    }

    /// The root and socket dir belong to the postgres user, and it must reach them: a clone
    /// under a closed home directory is a clear error rather than an initdb riddle.
    fn prepare_dirs(&self) -> Result<()> {
        let socket_dir = self.socket_dir();
        for dir in [&self.root, &socket_dir] {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        if !signals::is_root() {
            return Ok(());
        }
        let (uid, gid) = postgres_ids()?;
        for dir in [&self.root, &socket_dir] {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                .with_context(|| format!("cannot chown {} to postgres", dir.display()))?;
            let reachable =
                process::succeeds(self.as_postgres(Path::new("test")).arg("-w").arg(dir));
            if !reachable {
                bail!(
                    "the postgres OS user cannot write to {} (a parent directory is closed to \
                     other users, e.g. a clone under /root): `chmod o+x` the parents, or point \
                     RECON_DEV_PG_DIR (stack) or TMPDIR (tests) to a directory it can reach",
                    dir.display()
                );
            }
        }
        Ok(())
    }

    fn init(&self) -> Result<()> {
        if self.durability == Durability::Durable {
            println!(
                "postgres: creating a cluster in {}",
                self.data_dir().display()
            );
        }
        process::output(
            self.as_postgres(&self.tool("initdb"))
                .args([
                    "--username=postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                ])
                .arg("-D")
                .arg(self.data_dir()),
        )
        .context("initdb failed")?;
        let conf = self.data_dir().join("postgresql.conf");
        let mut text =
            fs::read_to_string(&conf).with_context(|| format!("cannot read {}", conf.display()))?;
        text.push_str(
            "\n# Written by cargo xtask on every start.\ninclude_if_exists = 'xtask.conf'\n",
        );
        fs::write(&conf, text).with_context(|| format!("cannot write {}", conf.display()))
    }

    /// Port and socket dir are rewritten on every start, so a moved checkout or another port
    /// just works.
    fn write_settings(&self) -> Result<()> {
        let mut settings = format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             max_connections = 200\n",
            self.port,
            self.socket_dir().display().to_string().replace('\'', "''")
        );
        if self.durability == Durability::Throwaway {
            settings.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        let path = self.data_dir().join("xtask.conf");
        fs::write(&path, settings).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Fast shutdown (rolls back open transactions). Returns whether a server was running.
    pub fn stop(&self) -> Result<bool> {
        if !self.is_running() {
            return Ok(false);
        }
        process::output(
            self.as_postgres(&self.tool("pg_ctl"))
                .args(["stop", "-s", "-w", "-t", "60", "-m", "fast", "-D"])
                .arg(self.data_dir()),
        )
        .context("pg_ctl stop failed")?;
        Ok(true)
    }

    /// Creates `name` unless it exists. Returns whether it was created.
    pub fn ensure_database(&self, name: &str) -> Result<bool> {
        let exists = self.psql(&format!(
            "SELECT 1 FROM pg_database WHERE datname = '{}'",
            name.replace('\'', "''")
        ))?;
        if exists.trim() == "1" {
            return Ok(false);
        }
        self.psql(&format!(
            "CREATE DATABASE \"{}\"",
            name.replace('"', "\"\"")
        ))?;
        Ok(true)
    }

    fn psql(&self, sql: &str) -> Result<String> {
        let psql = self.tool("psql");
        let program = if psql.is_file() {
            psql
        } else {
            PathBuf::from("psql")
        };
        process::output(
            Command::new(program)
                .env("PGCONNECT_TIMEOUT", "5")
                .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"])
                .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-p"])
                .arg(self.port.to_string())
                .arg("-c")
                .arg(sql),
        )
    }

    /// Removes everything the cluster wrote; the server must be stopped.
    fn remove(&self) -> Result<()> {
        for dir in [self.socket_dir(), self.root.clone()] {
            if dir.exists() {
                fs::remove_dir_all(&dir)
                    .with_context(|| format!("cannot remove {}", dir.display()))?;
            }
        }
        Ok(())
    }
}

fn postgres_ids() -> Result<(u32, u32)> {
    let id = |flag: &str| -> Result<u32> {
        let out = process::output(Command::new("id").args([flag, "postgres"]))
            .context("the postgres OS user is missing: run `cargo xtask deps`")?;
        out.trim()
            .parse()
            .with_context(|| format!("`id {flag} postgres` printed {out:?}"))
    };
    Ok((id("-u")?, id("-g")?))
}

/// `<temp>/recon-xtask-pg-<pid of the creator>-<nanos>`.
const THROWAWAY_PREFIX: &str = "recon-xtask-pg-";

/// Removes the throwaway clusters of runs that died without cleaning up (SIGKILL, a killed test
/// process): their creator's pid is gone. A server still running there is stopped first.
fn sweep_stale(bin: &Path) {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(THROWAWAY_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let stale = Cluster::new(bin, entry.path(), 0, Durability::Throwaway);
        match stale.stop().and_then(|_| stale.remove()) {
            Ok(()) => println!(
                "postgres: removed the stale cluster {}",
                entry.path().display()
            ),
            Err(err) => eprintln!("postgres: cannot remove a stale cluster: {err:#}"),
        }
    }
}

/// A cluster in a fresh temp dir on a free port, with fsync off; stopped and deleted on drop,
/// so also when tests fail, xtask errors out, or Ctrl-C arrives while tests run.
pub struct Throwaway {
    cluster: Cluster,
}

impl Throwaway {
    pub fn start(bin: &Path) -> Result<Throwaway> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos())
            .unwrap_or_default();
        sweep_stale(bin);
        let root = std::env::temp_dir().join(format!(
            "{THROWAWAY_PREFIX}{}-{nanos:x}",
            std::process::id()
        ));
        let port = http::free_port()?;
        // The guard exists before the start, so a half-started cluster is cleaned up too.
        let throwaway = Throwaway {
            cluster: Cluster::new(bin, root, port, Durability::Throwaway),
        };
        throwaway.cluster.start()?;
        Ok(throwaway)
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        if let Err(err) = self.cluster.stop() {
            eprintln!("postgres: could not stop the throwaway cluster: {err:#}");
            return;
        }
        if let Err(err) = self.cluster.remove() {
            eprintln!("postgres: {err:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts a real cluster; `cargo xtask test` installs PostgreSQL first.
    #[test]
    fn a_throwaway_cluster_serves_queries_and_leaves_nothing_behind() {
        let Some(bin) = bin_dir() else {
            eprintln!("skipped: PostgreSQL is not installed (cargo xtask deps installs it)");
            return;
        };
        let throwaway = Throwaway::start(&bin).unwrap();
        let cluster = throwaway.cluster();
        assert!(cluster.is_running());
        assert_eq!(cluster.psql("SELECT 40 + 2").unwrap().trim(), "42");
        assert!(cluster.ensure_database("recon_xtask_check").unwrap());
        assert!(!cluster.ensure_database("recon_xtask_check").unwrap());
        let root = cluster.root.clone();
        drop(throwaway);
        assert!(!root.exists(), "{} is left behind", root.display());
    }
}
