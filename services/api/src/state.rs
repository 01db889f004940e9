//! Shared state of the api handlers.

use std::sync::Arc;

use recon_runtime::stage::Deps;
use uuid::Uuid;

use crate::ingest::Decoder;
use crate::notify::Wakeups;
use crate::socket_leases::SocketLeases;
use crate::version_tally::VersionTally;
use crate::ApiSettings;

#[derive(Clone)]
pub struct AppState {
    pub deps: Deps,
    pub settings: Arc<ApiSettings>,
    pub public_url: Arc<str>,
    /// The WebSockets waiting for their scan's next event (woken by the Postgres listener).
    pub wakeups: Wakeups,
    /// This replica's open WebSockets, as the quota counts them.
    pub socket_leases: SocketLeases,
    pub decoder: Decoder,
    /// Requests per CLI version and account, on their way to the version banner.
    pub version_tally: VersionTally,
}

impl AppState {
    pub fn new(deps: Deps, settings: ApiSettings, public_url: String) -> AppState {
        AppState {
            socket_leases: SocketLeases::new(deps.db.clone()),
            deps,
            settings: Arc::new(settings),
            public_url: public_url.trim_end_matches('/').into(),
            wakeups: Wakeups::new(),
            decoder: Decoder::new(),
            version_tally: VersionTally::default(),
        }
    }

    pub fn report_url(&self, slug: &str) -> String {
        format!("{}/r/{slug}", self.public_url)
    }

    pub fn events_url(&self, scan_id: Uuid) -> String {
        format!("{}/scans/{scan_id}/events", self.public_url)
    }
}
