//! A throwaway `nats-server -js` on a free loopback port, killed and waited for on drop, so no
//! server outlives its test, not even as a zombie, and its JetStream store goes with it.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::process::{Child, Command};

pub struct NatsServer {
    pub url: String,
    pub port: u16,
    child: Child,
    store: TempDir,
}

impl NatsServer {
    pub async fn start() -> NatsServer {
        let store = TempDir::new().expect("temp dir for JetStream");
        let port = crate::free_port();
        let child = spawn(port, &store);
        let server = NatsServer {
            url: format!("nats://127.0.0.1:{port}"),
            port,
            child,
            store,
        };
        server.wait_until_up().await;
        server
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Where JetStream keeps its data; removed on drop.
    pub fn store_dir(&self) -> &std::path::Path {
        self.store.path()
    }

    /// Stops the server (SIGKILL) and starts it again on the same port and store.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start_again().await;
    }

    /// Kills the server (SIGKILL); [`Self::start_again`] brings it back with the same store.
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }

    pub async fn start_again(&mut self) {
        self.child = spawn(self.port, &self.store);
        self.wait_until_up().await;
    }

    async fn wait_until_up(&self) {
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nats-server did not start on port {}", self.port);
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        kill_and_reap(&mut self.child);
    }
}

/// How long a SIGKILLed server may take to be reaped before we give up waiting.
const REAP_TIMEOUT: Duration = Duration::from_secs(10);

/// SIGKILL, then wait for the exit, so the process is gone before its store is removed. Blocking
/// (drop cannot await), but a killed process exits in milliseconds.
pub(crate) fn kill_and_reap(child: &mut Child) {
    if child.start_kill().is_err() {
        // Already reaped.
        return;
    }
    let deadline = Instant::now() + REAP_TIMEOUT;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    eprintln!(
        "nats-server (pid {:?}) did not exit within {REAP_TIMEOUT:?} of SIGKILL",
        child.id()
    );
}

fn spawn(port: u16, store: &TempDir) -> Child {
    let binary = crate::harness_env("RECON_TEST_NATS_SERVER");
    Command::new(&binary)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(store.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {binary}: {err}"))
}
