//! Shared state of the api handlers.

use std::sync::Arc;

use recon_runtime::stage::Deps;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::ingest::Decoder;
use crate::ApiSettings;

#[derive(Clone)]
pub struct AppState {
    pub deps: Deps,
    pub settings: Arc<ApiSettings>,
    pub public_url: Arc<str>,
    /// Scan ids with a newly recorded event (fed by Postgres LISTEN).
    pub new_events: broadcast::Sender<Uuid>,
    pub decoder: Decoder,
}

impl AppState {
    pub fn new(deps: Deps, settings: ApiSettings, public_url: String) -> AppState {
        let (new_events, _) = broadcast::channel(1024);
        AppState {
            deps,
            settings: Arc::new(settings),
            public_url: public_url.trim_end_matches('/').into(),
            new_events,
            decoder: Decoder::new(),
        }
    }

    pub fn with_notifier(mut self, new_events: broadcast::Sender<Uuid>) -> AppState {
        self.new_events = new_events;
        self
    }

    pub fn report_url(&self, slug: &str) -> String {
        format!("{}/r/{slug}", self.public_url)
    }

    pub fn events_url(&self, scan_id: Uuid) -> String {
        format!("{}/scans/{scan_id}/events", self.public_url)
    }
}
