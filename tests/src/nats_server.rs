//! A throwaway `nats-server -js` on a free loopback port, killed on drop.

use std::process::Stdio;
use std::time::Duration;

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
