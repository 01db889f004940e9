//! `TestStack`: a fresh database, NATS server and blob directory, with the server roles
//! running in-process on a random port. Everything it made goes when it is dropped, also when
//! its test panics: roles cancelled, `nats-server` killed and reaped, database dropped,
//! directories removed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use recon_contracts::{
    Capture, CaptureAccepted, CreateScanRequest, CreateScanResponse, EventsPage, RecordedEvent,
    ScanView, StageResult, Validation,
};
use recon_runtime::stage::Deps;
use recon_runtime::{db, ServerConfig};
use recon_server::{Pipeline, Role, RunningServer};
use sqlx::PgPool;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::NatsServer;

/// Quotas high enough never to refuse a test world, where one account runs many scans at once;
/// the quota tests set their own limits over these.
pub const UNMETERED_QUOTAS: [(&str, &str); 5] = [
    ("RECON_QUOTA_CONCURRENT_SCANS", "1000"),
    ("RECON_QUOTA_SCANS_PER_HOUR", "100000"),
    ("RECON_QUOTA_CAPTURE_BYTES_PER_DAY", "1099511627776"),
    ("RECON_QUOTA_VALIDATION_REQUESTS_PER_DAY", "10000000"),
    ("RECON_QUOTA_WEBSOCKETS", "1000"),
];

pub struct TestStack {
    pub config: ServerConfig,
    pub nats: NatsServer,
    pub db: PgPool,
    pub api: String,
    pub key: String,
    pub http: reqwest::Client,
    pub shutdown: CancellationToken,
    pub servers: Vec<RunningServer>,
    pub data_dir: TempDir,
    database_name: String,
    admin_url: String,
    /// Set once [`TestStack::stop`] dropped the database, so drop need not.
    database_dropped: bool,
}

impl TestStack {
    /// Every role, like `recon-server --target all`.
    pub async fn start() -> TestStack {
        Self::start_roles(&recon_server::parse_targets("all").expect("all parses")).await
    }

    pub async fn start_roles(roles: &[Role]) -> TestStack {
        Self::start_with(roles, &[]).await
    }

    /// Starts `roles` with extra environment settings (e.g. smaller limits).
    pub async fn start_with(roles: &[Role], overrides: &[(&str, &str)]) -> TestStack {
        let mut stack = Self::world(overrides).await;
        stack.add_roles(roles).await;
        stack
    }

    /// Every role of `pipeline` (e.g. the standard one with a test stage inserted through the
    /// registry), like `recon-server --target all` of a server built with that pipeline.
    pub async fn start_pipeline(pipeline: Pipeline) -> TestStack {
        let pipeline = Arc::new(pipeline);
        let roles = recon_server::parse_targets_of(&pipeline, "all").expect("all parses");
        let mut stack = Self::world(&[]).await;
        let server =
            recon_server::start_pipeline(&stack.config, pipeline, &roles, stack.shutdown.clone())
                .await
                .expect("start roles");
        stack.adopt(server);
        stack
    }

    /// A database, a NATS server and an account, with no role running yet.
    async fn world(overrides: &[(&str, &str)]) -> TestStack {
        let admin_url = crate::harness_env("RECON_TEST_DATABASE_URL");
        Self::world_on(&admin_url, overrides).await
    }

    /// [`Self::start_with`], with this stack's database on the Postgres cluster `admin_url`
    /// reaches instead of the shared one (e.g. a [`crate::PostgresCluster`] the test stops).
    pub async fn start_on_cluster(
        admin_url: &str,
        roles: &[Role],
        overrides: &[(&str, &str)],
    ) -> TestStack {
        let mut stack = Self::world_on(admin_url, overrides).await;
        stack.add_roles(roles).await;
        stack
    }

    /// [`Self::world`] on the Postgres cluster `admin_url` reaches.
    async fn world_on(admin_url: &str, overrides: &[(&str, &str)]) -> TestStack {
        let admin_url = admin_url.to_owned();
        let database_name = format!("recon_test_{}", Uuid::new_v4().simple());
        let admin = PgPool::connect(&admin_url)
            .await
            .expect("connect to the test cluster");
        sqlx::query(&format!("CREATE DATABASE {database_name}"))
            .execute(&admin)
            .await
            .expect("create test database");
        admin.close().await;
        let database_url = replace_database(&admin_url, &database_name);

        let nats = NatsServer::start().await;
        let data_dir = TempDir::new().expect("temp data dir");
        let mut vars: HashMap<&str, String> = HashMap::from([
            ("DATABASE_URL", database_url.clone()),
            ("NATS_URL", nats.url.clone()),
            ("RECON_LISTEN", "127.0.0.1:0".to_owned()),
            (
                "RECON_BLOB_URL",
                format!("file://{}", data_dir.path().join("blobs").display()),
            ),
            (
                "RECON_SECRETS_URL",
                format!("file://{}", data_dir.path().join("secrets.json").display()),
            ),
            ("RECON_ACK_WAIT_SECS", "2".to_owned()),
            ("RECON_RETRY_BACKOFF_MS", "100".to_owned()),
            ("RECON_SHUTDOWN_GRACE_SECS", "2".to_owned()),
        ]);
        vars.extend(
            UNMETERED_QUOTAS
                .iter()
                .map(|(name, value)| (*name, (*value).to_owned())),
        );
        vars.extend(
            overrides
                .iter()
                .map(|(name, value)| (*name, (*value).to_owned())),
        );
        let config =
            ServerConfig::from_lookup(|name| vars.get(name).cloned()).expect("test config");
        let db = db::connect(&config.database_url).expect("pool");
        db::migrate(&db).await.expect("migrations");
        let key = db::accounts::create_key(&db, "test-account")
            .await
            .expect("key");

        let shutdown = CancellationToken::new();
        TestStack {
            config,
            nats,
            db,
            api: String::new(),
            key,
            http: reqwest::Client::builder()
                .user_agent(recon_contracts::version::user_agent())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            shutdown,
            servers: Vec::new(),
            data_dir,
            database_name,
            admin_url,
            database_dropped: false,
        }
    }

    /// Starts more roles in this stack (e.g. a second events recorder).
    pub async fn add_roles(&mut self, roles: &[Role]) {
        let server = recon_server::start(&self.config, roles, self.shutdown.clone())
            .await
            .expect("start roles");
        self.adopt(server);
    }

    fn adopt(&mut self, server: RunningServer) {
        if let Some(address) = server.api_address {
            if self.api.is_empty() {
                self.api = format!("http://{address}");
            }
        }
        self.servers.push(server);
    }

    /// A key of another account in this world (created on first use of `name`).
    pub async fn account_key(&self, name: &str) -> String {
        db::accounts::create_key(&self.db, name)
            .await
            .expect("create key")
    }

    /// The base URL of every api role running in this world, in start order.
    pub fn api_replicas(&self) -> Vec<String> {
        self.servers
            .iter()
            .filter_map(|server| server.api_address)
            .map(|address| format!("http://{address}"))
            .collect()
    }

    /// GETs `path` on the first server's operations listener (started with `RECON_OPS_LISTEN`).
    pub async fn ops_get(&self, path: &str) -> reqwest::Response {
        let ops = self
            .servers
            .first()
            .and_then(|server| server.ops_address)
            .expect("an operations listener: start the stack with RECON_OPS_LISTEN");
        self.http
            .get(format!("http://{ops}{path}"))
            .send()
            .await
            .unwrap_or_else(|err| panic!("GET {path} on the operations listener: {err}"))
    }

    /// The Prometheus exposition of the operations listener.
    pub async fn ops_metrics(&self) -> String {
        self.ops_get("/metrics")
            .await
            .text()
            .await
            .expect("metrics text")
    }

    /// The validation result stored for a scan.
    pub async fn validation(&self, scan_id: Uuid) -> Validation {
        let stored = db::results::load(&self.db, scan_id, Validation::STEP)
            .await
            .expect("read the validation result")
            .expect("a stored validation result");
        serde_json::from_value(stored).expect("a validation result")
    }

    /// The shared dependencies, for running a custom stage in this world.
    pub async fn deps(&self) -> Deps {
        recon_runtime::open_deps(&self.config, recon_runtime::Needs::ALL)
            .await
            .expect("deps")
    }

    /// Stops the roles gracefully (each finishes what it holds), then cleans up as drop does.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        for server in std::mem::take(&mut self.servers) {
            let _ = tokio::time::timeout(Duration::from_secs(10), server.wait()).await;
        }
        self.db.close().await;
        drop_database(&self.admin_url, &self.database_name).await;
        self.database_dropped = true;
    }

    /// This stack's own database.
    pub fn database_name(&self) -> &str {
        &self.database_name
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api)
    }

    pub fn authed(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        builder.bearer_auth(&self.key)
    }

    pub async fn create_scan(&self, intent: &str) -> CreateScanResponse {
        let response = self
            .authed(self.http.post(self.url("/scans")))
            .json(&CreateScanRequest {
                target_url: "https://demo-shop.recon.test/".to_owned(),
                intent_text: Some(intent.to_owned()),
                starter_template: None,
            })
            .send()
            .await
            .expect("POST /scans");
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        response.json().await.expect("scan body")
    }

    /// POST /scans/{id}/capture with a gzipped capture body, as the CLI sends it.
    pub fn capture_request(&self, scan_id: Uuid, gzip_body: Vec<u8>) -> reqwest::RequestBuilder {
        self.authed(
            self.http
                .post(self.url(&format!("/scans/{scan_id}/capture"))),
        )
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip_body)
    }

    /// POST /scans/{id}/capture with `capture` gzipped, as the CLI sends it; whatever answers.
    pub async fn post_capture(&self, scan_id: Uuid, capture: &Capture) -> reqwest::Response {
        let body = recon_runtime::codec::to_gzip_json(capture).expect("gzip");
        self.capture_request(scan_id, body)
            .send()
            .await
            .expect("POST capture")
    }

    pub async fn upload(&self, scan_id: Uuid, capture: &Capture) -> CaptureAccepted {
        let response = self.post_capture(scan_id, capture).await;
        assert_eq!(response.status(), 202, "{:?}", response.text().await);
        response.json().await.expect("accepted body")
    }

    /// One scan from creation to its terminal event; returns its id.
    pub async fn run_scan(&self, capture: &Capture) -> Uuid {
        let created = self.create_scan("product prices").await;
        self.upload(created.scan_id, capture).await;
        created.scan_id
    }

    /// GETs `url` (absolute, or a path on the api) and parses the JSON answer.
    pub async fn get_json(&self, url: &str) -> serde_json::Value {
        self.get_ok(url).await.json().await.expect("JSON body")
    }

    /// GETs `url` (absolute, or a path on the api) and returns the body as text.
    pub async fn get_text(&self, url: &str) -> String {
        self.get_ok(url).await.text().await.expect("text body")
    }

    async fn get_ok(&self, url: &str) -> reqwest::Response {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            self.url(url)
        };
        let response = self.http.get(&url).send().await.expect("GET");
        assert!(
            response.status().is_success(),
            "GET {url}: {}",
            response.status()
        );
        response
    }

    pub async fn events_page(&self, scan_id: Uuid, since: i64) -> EventsPage {
        let response = self
            .authed(
                self.http
                    .get(self.url(&format!("/scans/{scan_id}/events?since={since}"))),
            )
            .send()
            .await
            .expect("GET events");
        assert_eq!(response.status(), 200);
        response.json().await.expect("events body")
    }

    pub async fn scan(&self, scan_id: Uuid) -> ScanView {
        self.authed(self.http.get(self.url(&format!("/scans/{scan_id}"))))
            .send()
            .await
            .expect("GET scan")
            .json()
            .await
            .expect("scan body")
    }

    /// Polls events until the scan's terminal event; every event once, in order.
    pub async fn wait_for_terminal(&self, scan_id: Uuid, timeout: Duration) -> Vec<RecordedEvent> {
        let deadline = Instant::now() + timeout;
        let mut cursor = 0;
        let mut events: Vec<RecordedEvent> = Vec::new();
        loop {
            let page = self.events_page(scan_id, cursor).await;
            cursor = page.cursor;
            events.extend(page.events);
            if events.last().is_some_and(RecordedEvent::is_terminal) {
                return events;
            }
            assert!(
                Instant::now() < deadline,
                "scan {scan_id} did not finish in {timeout:?}; events so far: {:?}",
                events
                    .iter()
                    .map(|e| format!("{} {}", e.step, e.status.as_str()))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for TestStack {
    /// The roles first (cancelled, and their tasks aborted as `servers` drop), so none uses the
    /// database while it goes; the fields' own drops then kill and reap `nats-server` and remove
    /// the directories.
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.servers.clear();
        if !self.database_dropped {
            drop_database_blocking(&self.admin_url, &self.database_name);
        }
    }
}

/// Drops `database`, closing whatever connections the roles or the test still hold on it.
async fn drop_database(admin_url: &str, database: &str) {
    let result = async {
        let admin = PgPool::connect(admin_url).await?;
        let dropped = sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .execute(&admin)
            .await;
        admin.close().await;
        dropped.map(|_| ())
    }
    .await;
    if let Err(error) = result {
        eprintln!("TestStack: cannot drop database {database}: {error}");
    }
}

/// [`drop_database`] from a synchronous drop, which may run inside a runtime (a test's own, or
/// while its panic unwinds): on a thread of its own with a runtime of its own.
fn drop_database_blocking(admin_url: &str, database: &str) {
    let dropped = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("drop-test-database".into())
            .spawn_scoped(scope, || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|runtime| runtime.block_on(drop_database(admin_url, database)))
            })
            .map(|thread| thread.join())
    });
    if !matches!(dropped, Ok(Ok(Ok(())))) {
        eprintln!("TestStack: cannot drop database {database}: the cleanup thread failed");
    }
}

fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = match base.rsplit_once('/') {
        Some((prefix, _))
            if prefix.contains("://") && prefix.len() > prefix.find("://").unwrap_or(0) + 3 =>
        {
            prefix
        }
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            super::replace_database("postgres://postgres@127.0.0.1:5/postgres", "x"),
            "postgres://postgres@127.0.0.1:5/x"
        );
        assert_eq!(
            super::replace_database("postgres://u@h:5/postgres?sslmode=disable", "x"),
            "postgres://u@h:5/x?sslmode=disable"
        );
    }
}
