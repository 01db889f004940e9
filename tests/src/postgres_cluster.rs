//! A PostgreSQL cluster of a test's own, on a free loopback port with trust authentication, that
//! the test may stop and start again (a database outage). The shared cluster `cargo xtask test`
//! gives every other test must never go down, so an outage test brings its own. Run as the
//! `postgres` OS user when the tests run as root (Postgres refuses root); stopped at once and
//! removed on drop.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

pub struct PostgresCluster {
    bin: PathBuf,
    root: TempDir,
    port: u16,
    running: bool,
}

impl PostgresCluster {
    /// Creates the cluster (initdb) and starts it.
    pub async fn start() -> PostgresCluster {
        let bin = bin_dir();
        let root = TempDir::new().expect("temp dir for a Postgres cluster");
        if is_root() {
            hand_to_postgres(root.path());
        }
        let mut cluster = PostgresCluster {
            bin,
            root,
            port: crate::free_port(),
            running: false,
        };
        let data = cluster.data_dir();
        cluster.run(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start_again().await;
        cluster
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Fast shutdown: every connection is closed, and new ones are refused until
    /// [`Self::start_again`].
    pub async fn stop(&mut self) {
        let data = self.data_dir();
        self.run_blocking(
            "pg_ctl",
            &["stop", "-s", "-w", "-m", "fast", "-D", path_str(&data)],
        )
        .await;
        self.running = false;
    }

    /// Starts the server on the same port and data, and waits until it accepts connections.
    pub async fn start_again(&mut self) {
        let data = self.data_dir();
        let log = self.root.path().join("postgres.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.root.path().display()
        );
        self.run_blocking(
            "pg_ctl",
            &[
                "start",
                "-s",
                "-w",
                "-t",
                "60",
                "-D",
                path_str(&data),
                "-l",
                path_str(&log),
                "-o",
                &options,
            ],
        )
        .await;
        self.running = true;
    }

    fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        let mut command = if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        // The test's directory may be closed to the postgres user.
        command.current_dir("/").stdin(Stdio::null());
        command
    }

    fn run(&self, tool: &str, args: &[&str]) {
        crate::run_ok(self.command(tool).args(args));
    }

    /// [`Self::run`] off the runtime's threads: pg_ctl waits for the server.
    async fn run_blocking(&self, tool: &str, args: &[&str]) {
        let mut command = self.command(tool);
        command.args(args);
        tokio::task::spawn_blocking(move || {
            crate::run_ok(&mut command);
        })
        .await
        .expect("pg_ctl ran");
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        if self.running {
            let data = self.data_dir();
            let _ = self
                .command("pg_ctl")
                .args(["stop", "-s", "-w", "-m", "immediate", "-D", path_str(&data)])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The cluster's directory belongs to the postgres user, which runs the server.
fn hand_to_postgres(dir: &Path) {
    let id = |flag: &str| -> u32 {
        let output = crate::run_ok(Command::new("id").args([flag, "postgres"]));
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("a numeric id of the postgres user")
    };
    std::os::unix::fs::chown(dir, Some(id("-u")), Some(id("-g")))
        .unwrap_or_else(|err| panic!("cannot hand {} to postgres: {err}", dir.display()));
}

/// Where initdb and pg_ctl live: `RECON_TEST_PG_BIN`, else the newest Debian install, else
/// `pg_config --bindir` (how `cargo xtask` finds them).
fn bin_dir() -> PathBuf {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("RECON_TEST_PG_BIN").map(PathBuf::from) {
        return dir;
    }
    let debian = std::fs::read_dir("/usr/lib/postgresql")
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
    debian
        .or_else(|| {
            let output = Command::new("pg_config").arg("--bindir").output().ok()?;
            let bin = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
            (output.status.success() && has_tools(&bin)).then_some(bin)
        })
        .expect("PostgreSQL's initdb and pg_ctl: run `cargo xtask deps`")
}
