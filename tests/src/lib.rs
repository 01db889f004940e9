//! Test worlds for browser-recon: each `TestStack` gets its own Postgres database (created
//! through `RECON_TEST_DATABASE_URL`), its own `nats-server` with JetStream on a free
//! loopback port, its own blob directory, and runs the real server roles in-process; a test
//! that needs a JetStream cluster starts a `NatsCluster` and points the stack at it, and one
//! that takes the database down starts a `PostgresCluster` of its own.
//! `cargo xtask test` provides the servers' binaries and the Postgres cluster.

pub mod canaries;
pub mod capture_site;
pub mod chart;
pub mod cli;
pub mod exposition;
pub mod fixtures;
pub mod har_file;
pub mod headless;
pub mod hostile;
pub mod hostile_server;
pub mod lamp_shop;
pub mod logging_site;
mod nats_cluster;
mod nats_server;
mod postgres_cluster;
pub mod promql;
pub mod protected_site;
pub mod proxy;
pub mod real_corpus;
pub mod replay_proxies;
mod shared_stack;
pub mod snippet_syntax;
mod stack;
mod stack_traces;
pub mod starter_site;
mod websocket;

pub use nats_cluster::NatsCluster;
pub use nats_server::NatsServer;
pub use postgres_cluster::PostgresCluster;
pub use shared_stack::{SharedStack, SharedWorld};
pub use stack::{TestStack, UNMETERED_QUOTAS};
pub use stack_traces::StackTraces;
pub use websocket::{connect_events, read_until_closed, websocket_events, EventSocket};

/// This crate's directory (`tests/`). Read at run time first (cargo test sets it): a target dir
/// shared by two checkouts may hold a test binary built in the other one, whose compile-time
/// path no longer exists.
pub fn crate_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|err| panic!("no free loopback port: {err}"))
}

/// Serves `app` on a free 127.0.0.1 port until the guard is dropped; handlers may take the
/// peer's address (`ConnectInfo<SocketAddr>`).
pub async fn serve_on_loopback(
    app: axum::Router,
) -> (std::net::SocketAddr, tokio_util::sync::DropGuard) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|err| panic!("cannot bind a loopback port: {err}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|err| panic!("no loopback address: {err}"));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(stop.cancelled_owned())
        .await;
    });
    (address, shutdown.drop_guard())
}

/// An environment variable the test harness must provide.
pub fn harness_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with `cargo xtask test`, which installs and starts what they need")
    })
}

/// Runs `command` to its end and returns what it printed; panics with both streams when it
/// cannot start or fails.
pub fn run_ok(command: &mut std::process::Command) -> std::process::Output {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("cannot run {command:?}: {err}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Every step started then complete, in pipeline order: the events of a scan that succeeded.
pub fn successful_scan_sequence() -> Vec<(recon_contracts::Step, recon_contracts::StepStatus)> {
    recon_server::Pipeline::standard()
        .steps()
        .into_iter()
        .flat_map(|step| {
            [
                (step.clone(), recon_contracts::StepStatus::Started),
                (step, recon_contracts::StepStatus::Complete),
            ]
        })
        .collect()
}

/// AWS SDK settings for the local emulator at `endpoint`: static credentials and region, so the
/// developer's ~/.aws and AWS_* variables play no part.
pub fn moto_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "recon-tests",
        )))
        .endpoint_url(endpoint)
        .build()
}

/// The standard pipeline's steps in order, as the server serves them to clients.
pub fn steps() -> Vec<recon_contracts::Step> {
    recon_server::Pipeline::standard().steps()
}
