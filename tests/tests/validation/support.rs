//! What every validation test shares: transports that only reach loopback (or nothing), the
//! settings, the inventory an earlier step would produce, and the world of a protected site
//! behind two proxies.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use recon_contracts::{
    Body, Capture, Endpoint, EndpointValidation, Header, IntentRanking, Inventory, RankedEndpoint,
    RequestRecord, ResourceType, ResponseRecord, Timing, Validation,
};
use recon_runtime::config::ValidationSettings;
use recon_runtime::secrets::{ProxySecrets, RotationMode};
use recon_tests::protected_site::ProtectedSite;
use recon_tests::replay_proxies::TestProxy;
use recon_validation::transport::{Hop, HttpTransport, Sending, Transport};
use recon_validation::{validate, ReplayEnvironment, Resolver, SystemResolver, ValidationInput};

/// Sends through the real network, but only to 127.0.0.0/8; anything else fails the test.
#[derive(Default)]
pub struct LoopbackOnly {
    pub hops: Mutex<Vec<String>>,
}

impl Transport for LoopbackOnly {
    fn send<'a>(&'a self, hop: Hop<'a>) -> Sending<'a> {
        assert!(
            hop.target.address.ip().is_loopback() && hop.target.address.is_ipv4(),
            "asked to connect to {} ({})",
            hop.target.address,
            hop.target.url
        );
        self.hops
            .lock()
            .unwrap()
            .push(format!("{} {}", hop.target.address, hop.target.url.path()));
        HttpTransport.send(hop)
    }
}

/// Fails the test if it is asked to send anything at all.
pub struct NeverConnect;

impl Transport for NeverConnect {
    fn send<'a>(&'a self, hop: Hop<'a>) -> Sending<'a> {
        panic!(
            "the guard let a request through to {} ({})",
            hop.target.address, hop.target.url
        );
    }
}

/// Roomy budgets and replays to `allowed_ports` only (the test sites' random ports).
pub fn settings(allow_loopback: bool, allowed_ports: &[u16]) -> ValidationSettings {
    ValidationSettings {
        allow_loopback,
        allowed_ports: allowed_ports.to_vec(),
        top_endpoints: 10,
        full_matrix: false,
        max_requests_per_scan: 200,
        max_requests_per_host: 200,
        concurrency: 4,
        request_timeout: Duration::from_secs(20),
    }
}

/// The inventory and ranking the earlier steps would produce: one endpoint per capture request.
pub fn inventory_for(capture: &Capture, ids: &[&str]) -> (Inventory, IntentRanking) {
    let endpoints: Vec<Endpoint> = ids
        .iter()
        .filter_map(|id| capture.requests.iter().find(|request| request.id == *id))
        .map(|request| {
            let url = url_path(&request.url);
            Endpoint {
                id: format!("ep-{}", request.id),
                method: request.method.clone(),
                host: "127.0.0.1".to_owned(),
                path_template: url,
                kind: "json-api".to_owned(),
                bucket: "other".to_owned(),
                sample_count: 1,
                request_ids: vec![request.id.clone()],
                ..Default::default()
            }
        })
        .collect();
    let ranking = IntentRanking {
        ranked: endpoints
            .iter()
            .map(|endpoint| RankedEndpoint {
                endpoint_id: endpoint.id.clone(),
                score: 1.0,
                reasons: Vec::new(),
            })
            .collect(),
        ..Default::default()
    };
    (Inventory { endpoints }, ranking)
}

fn url_path(url: &str) -> String {
    let after = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    after
        .find('/')
        .map(|index| after[index..].to_owned())
        .unwrap_or_else(|| "/".to_owned())
}

pub fn result<'a>(validation: &'a Validation, endpoint_id: &str) -> &'a EndpointValidation {
    validation
        .results
        .iter()
        .find(|result| result.endpoint_id == endpoint_id)
        .unwrap_or_else(|| panic!("no result for {endpoint_id}: {validation:#?}"))
}

pub fn matrix(validation: &Validation) -> String {
    let mut text = String::new();
    for result in &validation.results {
        text.push_str(&format!(
            "{} ({} requests)\n",
            result.endpoint_id, result.requests_sent
        ));
        if let Some(not_replayed) = &result.not_replayed {
            text.push_str(&format!("    {}\n", not_replayed.sentence()));
        }
        for attempt in &result.attempts {
            text.push_str(&format!(
                "    {:>15} × {:<11} {:>4} {:?} {}\n",
                attempt.profile.name(),
                attempt.tier.name(),
                attempt
                    .status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                attempt.verdict,
                attempt.reason.as_deref().unwrap_or_default()
            ));
        }
        text.push_str(&format!(
            "    best: {:?}; minimal: {:?}; rate limit: {:?}\n",
            result.best, result.minimal, result.rate_limit
        ));
    }
    text
}

pub struct World {
    pub site: ProtectedSite,
    pub datacenter: TestProxy,
    pub residential: TestProxy,
}

/// `validate` on the fixture inventory with the given settings, secrets, resolver and transport.
pub async fn replay(
    capture: &Capture,
    (inventory, ranking): (&Inventory, &IntentRanking),
    settings: &ValidationSettings,
    secrets: &ProxySecrets,
    resolver: Arc<dyn Resolver>,
    transport: &dyn Transport,
) -> Validation {
    validate(
        ValidationInput {
            capture,
            inventory,
            ranking,
        },
        ReplayEnvironment {
            settings,
            secrets,
            resolver,
            transport,
        },
    )
    .await
}

/// [`replay`] the usual way: the system resolver, connections to loopback only.
pub async fn replay_on_loopback(
    capture: &Capture,
    inventory_and_ranking: (&Inventory, &IntentRanking),
    settings: &ValidationSettings,
    secrets: &ProxySecrets,
) -> Validation {
    replay(
        capture,
        inventory_and_ranking,
        settings,
        secrets,
        Arc::new(SystemResolver),
        &LoopbackOnly::default(),
    )
    .await
}

impl World {
    pub async fn start() -> World {
        World {
            site: ProtectedSite::start().await,
            datacenter: TestProxy::http("dc-user", "dc-Pa55word").await,
            residential: TestProxy::socks5("res-user", "res-Pa55word").await,
        }
    }

    /// [`settings`] for replays to the protected site on loopback.
    pub fn settings(&self) -> ValidationSettings {
        settings(true, &[self.site.address.port()])
    }

    pub fn secrets(&self) -> ProxySecrets {
        ProxySecrets {
            datacenter_proxy: Some(self.datacenter.url()),
            residential_proxy: Some(self.residential.url()),
            datacenter_rotation: RotationMode::Sticky,
            residential_rotation: RotationMode::Rotating,
        }
    }

    pub fn secret_strings(&self) -> Vec<String> {
        vec![
            self.datacenter.url(),
            self.residential.url(),
            self.datacenter.password.clone(),
            self.residential.password.clone(),
            format!("dc-user:{}", self.datacenter.password),
        ]
    }
}

pub fn json_request(id: &str, url: &str) -> RequestRecord {
    RequestRecord {
        id: id.to_owned(),
        page_id: None,
        method: "GET".to_owned(),
        url: url.to_owned(),
        resource_type: ResourceType::Fetch,
        initiator: None,
        request_headers: vec![Header::new("Accept", "application/json")],
        post_data: None,
        response: Some(ResponseRecord {
            status: 200,
            status_text: "OK".to_owned(),
            headers: vec![Header::new("Content-Type", "application/json")],
            mime_type: "application/json".to_owned(),
            body: Some(Body::text(r#"{"ok":true}"#)),
            remote_address: None,
            protocol: None,
            from_cache: false,
            from_service_worker: false,
        }),
        timing: Timing::default(),
        redirected_from: None,
        failure: None,
    }
}

/// Everything the server logs during this test binary's run (all levels down to debug).
pub fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,h2=info,hyper=info,hyper_util=info,sqlx=warn,async_nats=info,rustls=info,tower=info,aws=info,tokio_tungstenite=info,tungstenite=info",
            ))
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .try_init();
        buffer
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
