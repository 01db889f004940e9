//! A real `recon-server` process (the release build `cargo xtask bench` made) in a bench
//! stack's world, so its memory is its own and can be read from /proc.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use recon_tests::TestStack;

pub struct ServerProcess {
    child: tokio::process::Child,
    pid: u32,
    pub url: String,
}

impl ServerProcess {
    /// Starts `recon-server --target <targets>` on a free loopback port and waits for /readyz.
    pub async fn spawn(stack: &TestStack, targets: &str) -> Result<ServerProcess> {
        Self::spawn_with(stack, targets, &[]).await
    }

    /// [`Self::spawn`] with more environment (e.g. other capture bounds). Readiness is read on
    /// the operations listener, which every role serves, so any role can be started alone.
    pub async fn spawn_with(
        stack: &TestStack,
        targets: &str,
        env: &[(&str, String)],
    ) -> Result<ServerProcess> {
        let program = std::env::var("RECON_BENCH_SERVER").context(
            "RECON_BENCH_SERVER is not set: run the benchmarks with `cargo xtask bench`",
        )?;
        let port = recon_tests::free_port();
        let ops_port = recon_tests::free_port();
        let child = tokio::process::Command::new(&program)
            .args(["--target", targets])
            .env("DATABASE_URL", &stack.config.database_url)
            .env("NATS_URL", &stack.config.nats_url)
            .env("RECON_LISTEN", format!("127.0.0.1:{port}"))
            .env("RECON_OPS_LISTEN", format!("127.0.0.1:{ops_port}"))
            .env("RECON_BLOB_URL", &stack.config.blob_url)
            .env("RECON_SECRETS_URL", &stack.config.secrets_url)
            .envs(recon_tests::UNMETERED_QUOTAS)
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {program}"))?;
        let pid = child.id().context("recon-server exited at once")?;
        let server = ServerProcess {
            child,
            pid,
            url: format!("http://127.0.0.1:{port}"),
        };
        server
            .wait_ready(&format!("http://127.0.0.1:{ops_port}/readyz"))
            .await?;
        Ok(server)
    }

    async fn wait_ready(&self, readyz: &str) -> Result<()> {
        let started = Instant::now();
        let client = reqwest::Client::new();
        loop {
            let ready = client
                .get(readyz)
                .send()
                .await
                .is_ok_and(|response| response.status().is_success());
            if ready {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("recon-server at {readyz} was not ready within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Resident memory now (VmRSS), in bytes.
    pub fn rss(&self) -> Result<u64> {
        self.status_field("VmRSS")
    }

    /// The highest resident memory since start or the last [`Self::reset_peak`] (VmHWM).
    pub fn peak_rss(&self) -> Result<u64> {
        self.status_field("VmHWM")
    }

    /// Resets VmHWM to the current RSS (writing 5 to clear_refs, Linux 4.0+).
    pub fn reset_peak(&self) -> Result<()> {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5")
            .context("cannot reset the peak RSS through /proc/PID/clear_refs")
    }

    fn status_field(&self, name: &str) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .context("cannot read /proc/PID/status")?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|value| value.trim().strip_suffix("kB"))
            .and_then(|kib| kib.trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
            .with_context(|| format!("no {name} in /proc/PID/status"))
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}
