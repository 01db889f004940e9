//! Test worlds for browser-recon: each `TestStack` gets its own Postgres database (created
//! through `RECON_TEST_DATABASE_URL`), its own `nats-server` with JetStream on a free
//! loopback port, its own blob directory, and runs the real server roles in-process.
//! `cargo xtask test` provides the servers' binaries and the Postgres cluster.

pub mod canaries;
pub mod capture_site;
pub mod fixtures;
pub mod lamp_shop;
mod nats_server;
pub mod protected_site;
pub mod proxy;
pub mod replay_proxies;
mod stack;
pub mod starter_site;
mod websocket;

pub use nats_server::NatsServer;
pub use stack::TestStack;
pub use websocket::websocket_events;

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|err| panic!("no free loopback port: {err}"))
}

/// An environment variable the test harness must provide.
pub fn harness_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with `cargo xtask test`, which installs and starts what they need")
    })
}
