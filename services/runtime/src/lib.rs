//! The server runtime, written once for every role: configuration, Postgres, NATS JetStream,
//! the blob store, the secrets store, and the generic stage loop with its `step` guard.
//! Stage crates contribute a plain function; everything that moves data lives here.

pub mod admin_reports;
pub mod aws;
pub mod blob;
pub mod codec;
pub mod config;
pub mod consume;
pub mod db;
pub mod error;
pub mod health;
pub mod metrics;
pub mod nats;
pub mod quota;
pub mod secrets;
pub mod stage;
pub mod step;
pub mod sweep;
pub mod telemetry;
pub mod trace_context;

pub use config::ServerConfig;
pub use error::StageError;
pub use stage::{Stage, StageContext};
