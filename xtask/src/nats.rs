//! The dev stack's NATS server: JetStream on 127.0.0.1:4229, state under target/recon-dev/nats.

use crate::http;
use crate::process::{self, PidFile};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub const DEV_PORT: u16 = 4229;

pub struct DevNats {
    dev: PathBuf,
}

impl DevNats {
    pub fn new(dev: &Path) -> DevNats {
        DevNats {
            dev: dev.to_path_buf(),
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{DEV_PORT}")
    }

    pub fn log_file(&self) -> PathBuf {
        self.dev.join("nats.log")
    }

    fn pid_file(&self) -> PidFile {
        PidFile::new(self.dev.join("nats.pid"), "nats-server")
    }

    /// Starts nats-server unless ours already runs; returns its pid and whether it started now.
    pub fn ensure_running(&self, nats_server: &Path) -> Result<(u32, bool)> {
        if let Some(pid) = self.pid_file().running() {
            return Ok((pid, false));
        }
        let address = format!("127.0.0.1:{DEV_PORT}");
        if http::is_listening(&address) {
            bail!(
                "port {DEV_PORT} is taken by another process (not this stack's nats-server): \
                 stop it (`ss -ltnp 'sport = :{DEV_PORT}'` shows which)"
            );
        }
        let mut cmd = Command::new(nats_server);
        cmd.arg("-js")
            .arg("-sd")
            .arg(self.dev.join("nats"))
            .args(["-a", "127.0.0.1", "-p"])
            .arg(DEV_PORT.to_string());
        let mut child = process::spawn_background(&mut cmd, &self.log_file())?;
        self.pid_file().write(child.id())?;
        let log = self.log_file();
        process::wait_until(
            Duration::from_secs(15),
            &format!("nats-server on {address}"),
            || {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "nats-server exited at start ({status}):\n{}",
                        process::tail(&log, 20)
                    );
                }
                Ok(http::is_listening(&address))
            },
        )?;
        Ok((child.id(), true))
    }

    /// Returns the pid that was stopped, if one ran.
    pub fn stop(&self) -> Result<Option<u32>> {
        self.pid_file().stop(Duration::from_secs(10))
    }
}
