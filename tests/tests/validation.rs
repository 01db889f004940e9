//! Validation against a protected fixture site and two local proxies, all on 127.0.0.0/8:
//! the cascade finds the cheapest passing profile × tier per endpoint, the diagnosis names the
//! anti-bot cookie, rate limits are reported, SSRF targets are refused without a connection,
//! and proxy credentials never leave the stage. Every transport used here refuses (and fails the
//! test) if it is ever asked to connect outside 127.0.0.0/8.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use recon_contracts::{
    Body, Capture, Endpoint, EndpointValidation, Header, IntentRanking, Inventory, NetworkTier,
    RankedEndpoint, ReplayChoice, ReplayProfile, RequestRecord, ResourceType, ResponseRecord, Step,
    Timing, Validation, Verdict,
};
use recon_runtime::config::ValidationSettings;
use recon_runtime::secrets::{ProxySecrets, RotationMode};
use recon_tests::protected_site::{ProtectedSite, ANTIBOT_COOKIE};
use recon_tests::replay_proxies::{TestProxy, DATACENTER_EGRESS, RESIDENTIAL_EGRESS};
use recon_validation::transport::{Hop, HttpTransport, Sending, Transport};
use recon_validation::{
    validate, ReplayEnvironment, Resolver, StaticResolver, SystemResolver, ValidationInput,
};

/// Sends through the real network, but only to 127.0.0.0/8; anything else fails the test.
#[derive(Default)]
struct LoopbackOnly {
    hops: Mutex<Vec<String>>,
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
struct NeverConnect;

impl Transport for NeverConnect {
    fn send<'a>(&'a self, hop: Hop<'a>) -> Sending<'a> {
        panic!(
            "the guard let a request through to {} ({})",
            hop.target.address, hop.target.url
        );
    }
}

fn settings(allow_loopback: bool) -> ValidationSettings {
    ValidationSettings {
        allow_loopback,
        top_endpoints: 10,
        full_matrix: false,
        max_requests_per_scan: 200,
        max_requests_per_host: 200,
        concurrency: 4,
        request_timeout: Duration::from_secs(20),
    }
}

/// The inventory and ranking the earlier steps would produce: one endpoint per capture request.
fn inventory_for(capture: &Capture, ids: &[&str]) -> (Inventory, IntentRanking) {
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

fn result<'a>(validation: &'a Validation, endpoint_id: &str) -> &'a EndpointValidation {
    validation
        .results
        .iter()
        .find(|result| result.endpoint_id == endpoint_id)
        .unwrap_or_else(|| panic!("no result for {endpoint_id}: {validation:#?}"))
}

fn matrix(validation: &Validation) -> String {
    let mut text = String::new();
    for result in &validation.results {
        text.push_str(&format!(
            "{} ({} requests)\n",
            result.endpoint_id, result.requests_spent
        ));
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

struct World {
    site: ProtectedSite,
    datacenter: TestProxy,
    residential: TestProxy,
}

/// `validate` on the fixture inventory with the given settings, secrets, resolver and transport.
async fn replay(
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
async fn replay_on_loopback(
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
    async fn start() -> World {
        World {
            site: ProtectedSite::start().await,
            datacenter: TestProxy::http("dc-user", "dc-Pa55word").await,
            residential: TestProxy::socks5("res-user", "res-Pa55word").await,
        }
    }

    fn secrets(&self) -> ProxySecrets {
        ProxySecrets {
            datacenter_proxy: Some(self.datacenter.url()),
            residential_proxy: Some(self.residential.url()),
            datacenter_rotation: RotationMode::Sticky,
            residential_rotation: RotationMode::Rotating,
        }
    }

    fn secret_strings(&self) -> Vec<String> {
        vec![
            self.datacenter.url(),
            self.residential.url(),
            self.datacenter.password.clone(),
            self.residential.password.clone(),
            format!("dc-user:{}", self.datacenter.password),
        ]
    }
}

#[tokio::test]
async fn the_cascade_finds_the_cheapest_pass_names_the_cookie_and_reports_the_rate_limit() {
    let world = World::start().await;
    let capture = world.site.capture();
    let (inventory, ranking) = inventory_for(&capture, &["site-1", "site-2", "site-3", "site-4"]);
    let settings = settings(true);
    let secrets = world.secrets();
    let started = Instant::now();
    let validation =
        replay_on_loopback(&capture, (&inventory, &ranking), &settings, &secrets).await;
    println!(
        "validation of 4 endpoints took {:?}\n{}",
        started.elapsed(),
        matrix(&validation)
    );

    // /api/config is open: plain × direct, first try.
    let config = result(&validation, "ep-site-1");
    assert_eq!(
        config.best,
        Some(ReplayChoice {
            profile: ReplayProfile::Plain,
            tier: NetworkTier::Direct
        })
    );
    assert_eq!(config.attempts.len(), 1);
    assert_eq!(config.minimal, None);
    assert_eq!(config.attempts[0].similarity, Some(1.0));

    // /api/products needs browser headers and the script-minted anti-bot cookie.
    let products = result(&validation, "ep-site-2");
    assert_eq!(
        products.best,
        Some(ReplayChoice {
            profile: ReplayProfile::BrowserSession,
            tier: NetworkTier::Direct
        }),
        "{}",
        matrix(&validation)
    );
    let verdicts: Vec<_> = products
        .attempts
        .iter()
        .map(|a| (a.profile, a.verdict))
        .collect();
    assert_eq!(
        verdicts,
        [
            (ReplayProfile::Plain, Verdict::Blocked),
            (ReplayProfile::BrowserHeaders, Verdict::Blocked),
            (ReplayProfile::BrowserSession, Verdict::Pass),
        ]
    );
    let minimal = products.minimal.as_ref().expect("a minimal set");
    assert_eq!(minimal.cookies, [ANTIBOT_COOKIE]);
    let mut headers = minimal.headers.clone();
    headers.sort();
    assert_eq!(headers, ["accept-language", "user-agent"]);
    let notes = products.notes.join("\n");
    assert!(
        notes.contains("Cookie datadome is DataDome") && notes.contains("412/403"),
        "{notes}"
    );
    assert!(products
        .recommendation
        .as_deref()
        .unwrap()
        .contains("browser-session × direct"));

    // /api/prices blocks datacenter egress: only the residential tier passes.
    let prices = result(&validation, "ep-site-3");
    assert_eq!(
        prices.best,
        Some(ReplayChoice {
            profile: ReplayProfile::Plain,
            tier: NetworkTier::Residential
        })
    );
    for attempt in &prices.attempts {
        let expected = if attempt.tier == NetworkTier::Residential {
            Verdict::Pass
        } else {
            Verdict::Blocked
        };
        assert_eq!(attempt.verdict, expected, "{attempt:?}");
    }
    assert!(prices
        .attempts
        .iter()
        .any(|a| a.tier == NetworkTier::Datacenter && a.profile == ReplayProfile::Impersonate));
    assert!(prices.notes.join("\n").contains("direct and datacenter"));
    let served = world.site.served();
    let peers_for = |path: &str| -> Vec<std::net::IpAddr> {
        let mut peers: Vec<_> = served
            .iter()
            .filter(|s| s.path == path)
            .map(|s| s.peer.ip())
            .collect();
        peers.dedup();
        peers
    };
    assert_eq!(
        peers_for("/api/prices"),
        [
            std::net::IpAddr::from([127, 0, 0, 1]),
            DATACENTER_EGRESS.into(),
            RESIDENTIAL_EGRESS.into()
        ]
    );

    // /api/reviews answers every other request with 429: reported, backed off, then passed.
    let reviews = result(&validation, "ep-site-4");
    let limit = reviews.rate_limit.as_ref().expect("rate limit reported");
    assert_eq!(limit.status, 429);
    assert_eq!(limit.retry_after_secs, Some(1));
    assert!(limit
        .headers
        .contains(&"x-ratelimit-remaining: 0".to_owned()));
    assert_eq!(reviews.attempts.len(), 2);
    assert_eq!(reviews.attempts[0].status, Some(429));
    assert_eq!(reviews.attempts[1].verdict, Verdict::Pass);
    assert!(reviews.notes.join("\n").contains("Retry-After 1 s"));

    // Sticky datacenter: one session id in the username for the endpoint; rotating residential:
    // the username as configured.
    let dc_users: std::collections::BTreeSet<String> = world
        .datacenter
        .relayed()
        .into_iter()
        .map(|r| r.username)
        .collect();
    assert_eq!(dc_users.len(), 1, "{dc_users:?}");
    assert!(dc_users
        .iter()
        .all(|u| u.starts_with("dc-user-session-") && u.len() > 20));
    assert!(world
        .residential
        .relayed()
        .iter()
        .all(|r| r.username == "res-user"));
    assert!(!world.residential.relayed().is_empty());

    let overall = validation.recommendation.as_deref().unwrap();
    assert!(
        overall.contains("plain × residential") || overall.contains("× residential"),
        "{overall}"
    );
    let per_endpoint: u32 = validation.results.iter().map(|r| r.requests_spent).sum();
    assert_eq!(validation.requests_spent, per_endpoint);
    assert_eq!(validation.requests_spent as usize, served.len());

    let json = serde_json::to_string(&validation).unwrap();
    for secret in world.secret_strings() {
        assert!(!json.contains(&secret), "the result leaks {secret}");
    }
}

#[tokio::test]
async fn the_full_matrix_runs_every_profile_on_every_tier() {
    let world = World::start().await;
    let capture = world.site.capture();
    let (inventory, ranking) = inventory_for(&capture, &["site-1"]);
    let mut settings = settings(true);
    settings.full_matrix = true;
    let secrets = world.secrets();
    let validation =
        replay_on_loopback(&capture, (&inventory, &ranking), &settings, &secrets).await;
    let config = result(&validation, "ep-site-1");
    assert_eq!(config.attempts.len(), 12, "{}", matrix(&validation));
    assert!(config.attempts.iter().all(|a| a.verdict == Verdict::Pass));
    assert_eq!(
        config.best,
        Some(ReplayChoice {
            profile: ReplayProfile::Plain,
            tier: NetworkTier::Direct
        })
    );
}

#[tokio::test]
async fn budgets_stop_the_cascade_and_say_so() {
    let world = World::start().await;
    let capture = world.site.capture();
    let (inventory, ranking) = inventory_for(&capture, &["site-3"]);
    let mut settings = settings(true);
    settings.max_requests_per_host = 3;
    let secrets = world.secrets();
    let validation =
        replay_on_loopback(&capture, (&inventory, &ranking), &settings, &secrets).await;
    let prices = result(&validation, "ep-site-3");
    assert_eq!(validation.requests_spent, 3);
    assert_eq!(prices.best, None);
    assert!(
        prices
            .notes
            .join("\n")
            .contains("budget for host 127.0.0.1"),
        "{:?}",
        prices.notes
    );
    assert_eq!(world.site.served().len(), 3);
}

fn json_request(id: &str, url: &str) -> RequestRecord {
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

#[tokio::test]
async fn ssrf_targets_are_refused_before_any_connection() {
    let targets = [
        ("loopback-without-opt-in", "http://127.0.0.1:9/api"),
        ("metadata", "http://169.254.169.254/latest/meta-data/"),
        ("ten", "http://10.0.0.1/admin"),
        ("home-router", "http://192.168.1.1/"),
        ("ipv6-loopback", "http://[::1]:8080/"),
        ("mapped", "http://[::ffff:10.0.0.1]/"),
        ("cgnat", "http://100.64.0.1/"),
        ("private-name", "https://intranet.shop.example/api"),
        ("rebinding-name", "https://rebind.shop.example/api"),
        ("metadata-name", "http://metadata.shop.example/"),
        ("ipv6-metadata-name", "http://ec2meta.shop.example/"),
    ];
    let capture = Capture {
        format_version: recon_contracts::CAPTURE_FORMAT_VERSION,
        source: recon_contracts::CaptureSource::Har,
        target_url: "https://shop.example/".to_owned(),
        started_at_ms: 0.0,
        ended_at_ms: 1.0,
        browser: None,
        pages: Vec::new(),
        requests: targets
            .iter()
            .map(|(id, url)| json_request(id, url))
            .collect(),
        cookies: Vec::new(),
        streams: Vec::new(),
    };
    let ids: Vec<&str> = targets.iter().map(|(id, _)| *id).collect();
    let (inventory, ranking) = inventory_for(&capture, &ids);
    let resolver = StaticResolver::new([
        ("intranet.shop.example", vec!["10.20.30.40"]),
        ("rebind.shop.example", vec!["93.184.216.34", "192.168.0.7"]),
        ("metadata.shop.example", vec!["169.254.169.254"]),
        ("ec2meta.shop.example", vec!["fd00:ec2::254"]),
    ]);
    let mut settings = settings(false);
    settings.top_endpoints = ids.len();
    // Proxied tiers too: the target is vetted before it is handed to a proxy.
    let secrets = ProxySecrets {
        datacenter_proxy: Some("http://u:never-used@127.0.0.1:1".to_owned()),
        residential_proxy: Some("socks5://u:never-used@127.0.0.1:1".to_owned()),
        ..ProxySecrets::default()
    };
    let validation = replay(
        &capture,
        (&inventory, &ranking),
        &settings,
        &secrets,
        Arc::new(resolver),
        &NeverConnect,
    )
    .await;
    assert_eq!(validation.requests_spent, 0);
    for (id, url) in targets {
        let result = result(&validation, &format!("ep-{id}"));
        assert_eq!(result.attempts.len(), 1, "{id}");
        let attempt = &result.attempts[0];
        assert_eq!(attempt.verdict, Verdict::Error);
        assert_eq!(attempt.status, None);
        let reason = attempt.reason.as_deref().unwrap_or_default();
        assert!(reason.starts_with("refused:"), "{url}: {reason}");
        assert!(result.best.is_none());
        assert_eq!(result.requests_spent, 0);
        println!("{url}: {reason}");
    }
}

#[tokio::test]
async fn hosts_not_in_the_capture_and_redirects_into_private_space_are_refused() {
    let site = ProtectedSite::start().await;
    let mut capture = site.capture();
    capture
        .requests
        .push(json_request("redirect", &site.url("/go/internal")));
    let (inventory, ranking) = inventory_for(&capture, &["redirect"]);
    let transport = LoopbackOnly::default();
    let settings = settings(true);
    let validation = replay(
        &capture,
        (&inventory, &ranking),
        &settings,
        &ProxySecrets::default(),
        Arc::new(SystemResolver),
        &transport,
    )
    .await;
    let redirect = result(&validation, "ep-redirect");
    assert_eq!(redirect.attempts.len(), 1, "{}", matrix(&validation));
    let reason = redirect.attempts[0].reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("refused") && reason.contains("10.0.0.1") && reason.contains("private"),
        "{reason}"
    );
    // One hop reached the site; the second was never sent.
    assert_eq!(transport.hops.lock().unwrap().len(), 1);
    assert_eq!(site.served().len(), 1);
}

#[tokio::test]
async fn ten_endpoints_on_loopback() {
    let world = World::start().await;
    let mut capture = world.site.capture();
    // Ten endpoints: the site's four APIs and page, each twice (query variants).
    let originals: Vec<RequestRecord> = capture.requests.clone();
    for (index, request) in originals.iter().enumerate() {
        let mut copy = request.clone();
        copy.id = format!("copy-{index}");
        copy.url = if copy.url.contains('?') {
            format!("{}&variant=2", copy.url)
        } else {
            format!("{}?variant=2", copy.url)
        };
        capture.requests.push(copy);
    }
    let ids: Vec<String> = capture.requests.iter().map(|r| r.id.clone()).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let (inventory, ranking) = inventory_for(&capture, &ids);
    assert_eq!(ranking.ranked.len(), 10);
    let settings = settings(true);
    let secrets = world.secrets();
    let started = Instant::now();
    let validation =
        replay_on_loopback(&capture, (&inventory, &ranking), &settings, &secrets).await;
    let elapsed = started.elapsed();
    let passed = validation
        .results
        .iter()
        .filter(|r| r.best.is_some())
        .count();
    let per_endpoint: BTreeMap<&str, u32> = validation
        .results
        .iter()
        .map(|r| (r.endpoint_id.as_str(), r.requests_spent))
        .collect();
    println!(
        "10 endpoints: {elapsed:?}, {} requests, {passed} passed; per endpoint {per_endpoint:?}",
        validation.requests_spent
    );
    assert_eq!(passed, 10, "{}", matrix(&validation));
    let _ = Step::Validation;
}

/// Everything the server logs during this test binary's run (all levels down to debug).
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
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

#[tokio::test]
async fn the_validation_stage_runs_in_the_pipeline_without_leaking_proxy_credentials() {
    let log = captured_log();
    let world = World::start().await;
    let secrets_dir = tempfile::tempdir().unwrap();
    let secrets_path = secrets_dir.path().join("secrets.json");
    std::fs::write(
        &secrets_path,
        serde_json::json!({
            "DATACENTER_PROXY": world.datacenter.url(),
            "RESIDENTIAL_PROXY": world.residential.url(),
            "DATACENTER_PROXY_ROTATION_MODE": "sticky",
            "RESIDENTIAL_PROXY_ROTATION_MODE": "rotating",
        })
        .to_string(),
    )
    .unwrap();
    let secrets_url = format!("file://{}", secrets_path.display());
    let stack = recon_tests::TestStack::start_with(
        &recon_server::parse_targets("all").unwrap(),
        &[
            ("RECON_VALIDATION_ALLOW_LOOPBACK", "1"),
            ("RECON_VALIDATION_TOP_ENDPOINTS", "10"),
            ("RECON_SECRETS_URL", &secrets_url),
        ],
    )
    .await;
    let scan_id = stack.run_scan(&world.site.capture()).await;
    let events = stack
        .wait_for_terminal(scan_id, Duration::from_secs(180))
        .await;
    let validation_events: Vec<_> = events
        .iter()
        .filter(|event| event.step == Step::Validation)
        .collect();
    let started = validation_events.first().map(|event| event.created_at);
    let finished = validation_events.last().map(|event| event.created_at);
    println!(
        "validation step: {:?} ({:?})",
        finished.zip(started).map(|(end, start)| end - start),
        validation_events
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
    );
    let stored = recon_runtime::db::results::load(&stack.db, scan_id, Step::Validation)
        .await
        .unwrap()
        .expect("a stored validation result");
    let validation: Validation = serde_json::from_value(stored.clone()).unwrap();
    println!("{}", matrix(&validation));
    let inventory: Inventory = serde_json::from_value(
        recon_runtime::db::results::load(&stack.db, scan_id, Step::Analysis)
            .await
            .unwrap()
            .expect("a stored inventory"),
    )
    .unwrap();
    let endpoint_of = |request_id: &str| {
        inventory
            .endpoints
            .iter()
            .find(|endpoint| endpoint.request_ids.iter().any(|id| id == request_id))
            .map(|endpoint| endpoint.id.clone())
            .unwrap_or_else(|| panic!("no endpoint holds {request_id}"))
    };
    let products = result(&validation, &endpoint_of("site-2"));
    assert_eq!(
        products.best,
        Some(ReplayChoice {
            profile: ReplayProfile::BrowserSession,
            tier: NetworkTier::Direct
        })
    );
    assert_eq!(
        products.minimal.as_ref().map(|m| m.cookies.clone()),
        Some(vec![ANTIBOT_COOKIE.to_owned()])
    );
    let prices = result(&validation, &endpoint_of("site-3"));
    assert_eq!(prices.best.map(|b| b.tier), Some(NetworkTier::Residential));
    assert!(!world.datacenter.relayed().is_empty());

    // The proxy credentials appear nowhere: not in the stored result, the events, the report
    // JSON, or anything the server logged.
    let view = stack.scan(scan_id).await;
    assert_eq!(
        view.status,
        recon_contracts::ScanStatus::Complete,
        "{view:?}"
    );
    let report = stack
        .get_json(&format!("{}.json", view.report_url))
        .await
        .to_string();
    let haystacks = [
        ("stored result", stored.to_string()),
        ("events", serde_json::to_string(&events).unwrap()),
        ("report JSON", report),
        (
            "log",
            String::from_utf8_lossy(&log.lock().unwrap()).to_string(),
        ),
    ];
    assert!(
        haystacks[3].1.contains("validation"),
        "the log capture works"
    );
    for (name, text) in &haystacks {
        for secret in world.secret_strings() {
            assert!(!text.contains(&secret), "the {name} leaks {secret}");
        }
    }
    stack.stop().await;
}

#[tokio::test]
async fn a_failing_proxy_is_reported_without_its_url_or_credentials() {
    let site = ProtectedSite::start().await;
    let capture = site.capture();
    let (inventory, ranking) = inventory_for(&capture, &["site-3"]);
    // Nothing listens there: the client's connection error would quote the proxy.
    let closed = format!(
        "http://leaky-user:leaky-Pa55@127.0.0.1:{}",
        recon_tests::free_port()
    );
    let socks = format!(
        "socks5://leaky-user:leaky-Pa55@127.0.0.1:{}",
        recon_tests::free_port()
    );
    let secrets = ProxySecrets {
        datacenter_proxy: Some(closed.clone()),
        residential_proxy: Some(socks.clone()),
        ..ProxySecrets::default()
    };
    let validation =
        replay_on_loopback(&capture, (&inventory, &ranking), &settings(true), &secrets).await;
    let prices = result(&validation, "ep-site-3");
    println!("{}", matrix(&validation));
    let proxied: Vec<_> = prices
        .attempts
        .iter()
        .filter(|a| a.tier != NetworkTier::Direct)
        .collect();
    assert_eq!(proxied.len(), 8);
    assert!(proxied
        .iter()
        .all(|a| a.verdict == Verdict::Error && a.status.is_none()));
    let json = serde_json::to_string(&validation).unwrap();
    assert!(
        !json.contains("/api/prices"),
        "reasons quote the target URL: {json}"
    );
    for secret in [closed.as_str(), socks.as_str(), "leaky-user", "leaky-Pa55"] {
        assert!(!json.contains(secret), "leaks {secret}: {json}");
    }
}

/// The cipher suites and extension types of the first TLS ClientHello sent to a listener that
/// records it and hangs up (no certificate needed: the handshake never completes).
async fn client_hello_of(profile: ReplayProfile) -> (Vec<u16>, Vec<u16>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let recorder = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut header = [0u8; 5];
        stream.read_exact(&mut header).await.unwrap();
        assert_eq!(header[0], 0x16, "a TLS handshake record");
        let mut record = vec![0u8; u16::from_be_bytes([header[3], header[4]]) as usize];
        stream.read_exact(&mut record).await.unwrap();
        record
    });
    let url = url::Url::parse(&format!("https://127.0.0.1:{}/api", address.port())).unwrap();
    let target = recon_validation::guard::VettedTarget {
        host: "127.0.0.1".to_owned(),
        address,
        url: url.clone(),
    };
    let request = recon_validation::request::ReplayRequest {
        method: "GET".to_owned(),
        url: url.to_string(),
        headers: vec![(
            "user-agent".to_owned(),
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36".to_owned(),
        )],
        cookies: Vec::new(),
        body: None,
    };
    let route = recon_validation::proxy::Route::Direct;
    let sent = HttpTransport
        .send(Hop {
            target: &target,
            request: &request,
            profile,
            route: &route,
            timeout: Duration::from_secs(10),
        })
        .await;
    assert!(sent.is_err(), "the recorder never completes a handshake");
    let record = recorder.await.unwrap();
    // Handshake header (4), version (2), random (32), then the variable parts.
    let mut at = 4 + 2 + 32;
    at += 1 + record[at] as usize;
    let suites_len = u16::from_be_bytes([record[at], record[at + 1]]) as usize;
    let suites = record[at + 2..at + 2 + suites_len]
        .chunks(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    at += 2 + suites_len;
    at += 1 + record[at] as usize;
    let extensions_end = at + 2 + u16::from_be_bytes([record[at], record[at + 1]]) as usize;
    at += 2;
    let mut extensions = Vec::new();
    while at + 4 <= extensions_end.min(record.len()) {
        extensions.push(u16::from_be_bytes([record[at], record[at + 1]]));
        at += 4 + u16::from_be_bytes([record[at + 2], record[at + 3]]) as usize;
    }
    (suites, extensions)
}

#[tokio::test]
async fn impersonate_sends_a_chrome_tls_client_hello_and_the_plain_client_does_not() {
    // GREASE values (RFC 8701) look like 0x?a?a; Chrome sends them, rustls does not.
    let grease = |value: &u16| value & 0x0f0f == 0x0a0a && value >> 8 == value & 0xff;
    const COMPRESS_CERTIFICATE: u16 = 0x001b;
    const APPLICATION_SETTINGS: [u16; 2] = [0x4469, 0x44cd];

    let (suites, extensions) = client_hello_of(ReplayProfile::Impersonate).await;
    println!("impersonate: suites {suites:04x?}\n  extensions {extensions:04x?}");
    assert!(suites.iter().any(grease), "GREASE cipher suite");
    assert!(extensions.iter().any(grease), "GREASE extension");
    assert!(extensions.contains(&COMPRESS_CERTIFICATE));
    assert!(extensions.iter().any(|e| APPLICATION_SETTINGS.contains(e)));

    let (suites, extensions) = client_hello_of(ReplayProfile::BrowserSession).await;
    println!("reqwest: suites {suites:04x?}\n  extensions {extensions:04x?}");
    assert!(!suites.iter().any(grease));
    assert!(!extensions.contains(&COMPRESS_CERTIFICATE));
}
