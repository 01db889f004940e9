//! The api target: scans, capture ingest, progress events (REST and WebSocket), reports,
//! version and health. Built zero2prod-style: `Application::build` binds first (port 0 in
//! tests) and reports the real address.

mod admin;
mod auth;
mod body;
mod client_version;
mod error;
mod guard;
mod http_metrics;
mod ingest;
mod notify;
pub mod ops;
mod pace;
mod routes;
mod serve;
mod socket_leases;
mod state;
mod version_tally;

use std::net::SocketAddr;

use recon_runtime::config::{HttpSettings, VersionPolicy, WebSocketSettings};
use recon_runtime::stage::Deps;
use tokio_util::sync::CancellationToken;

pub use error::ApiError;
pub use state::AppState;

/// What the api needs beyond the shared dependencies.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub listen: SocketAddr,
    /// Base of the URLs handed to clients; `None` uses the bound address.
    pub public_url: Option<String>,
    pub versions: VersionPolicy,
    /// Header deadline, header caps and body timeouts of the listener.
    pub http: HttpSettings,
    /// Idle and lifetime limits of the events WebSockets.
    pub websockets: WebSocketSettings,
}

pub struct Application {
    listener: tokio::net::TcpListener,
    address: SocketAddr,
    state: AppState,
}

impl Application {
    pub async fn build(settings: ApiSettings, deps: Deps) -> std::io::Result<Application> {
        let listener = tokio::net::TcpListener::bind(settings.listen).await?;
        let address = listener.local_addr()?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));
        let state = AppState::new(deps, settings, public_url);
        Ok(Application {
            listener,
            address,
            state,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` fires, then drains open requests.
    pub async fn run(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let state = self.state;
        notify::spawn_listener(
            state.deps.db.clone(),
            state.wakeups.clone(),
            shutdown.clone(),
        );
        state.socket_leases.spawn_renewal(shutdown.clone());
        state
            .version_tally
            .spawn_flusher(state.deps.db.clone(), shutdown.clone());
        let http = state.settings.http.clone();
        let grace = state.deps.pipeline.shutdown_grace;
        let app = routes::router(state);
        tracing::info!(address = %self.address, "api listening");
        serve::serve(self.listener, app, &http, grace, shutdown).await
    }
}
