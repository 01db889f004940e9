//! What the bad-input tests share: the checks of an error answer, raw exchanges on one TCP
//! connection (for what an HTTP client will not send), and a test's own corner of the shared
//! world with the proof that its bad requests wrote nothing.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use recon_contracts::{ErrorBody, ScanStatus};
use recon_runtime::db::accounts;
use recon_tests::{fixtures, SharedStack, TestStack};
use reqwest::Response;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

/// Generous bound for "the server closed the connection eventually"; not a timing assertion.
pub const CLOSE_BOUND: Duration = Duration::from_secs(30);
pub const SCAN_TIMEOUT: Duration = Duration::from_secs(90);

/// Asserts a 4xx with the JSON error shape and, when given, its code; returns the body.
pub async fn expect_error(
    response: Response,
    status: u16,
    code: Option<&str>,
    case: &str,
) -> ErrorBody {
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(actual, status, "{case}: body {text}");
    assert!(
        content_type.starts_with("application/json"),
        "{case}: content-type {content_type:?}, body {text}"
    );
    let body: ErrorBody =
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("{case}: {err}: {text}"));
    if let Some(code) = code {
        assert_eq!(body.error.code, code, "{case}: {text}");
    }
    assert!(!body.error.message.is_empty(), "{case}");
    eprintln!(
        "{case}: {actual} {} ({})",
        body.error.code, body.error.message
    );
    body
}

/// What a raw exchange on one TCP connection came to.
#[derive(Debug)]
pub struct RawOutcome {
    /// The status of the first response, if one arrived.
    pub status: Option<u16>,
    /// Everything read (headers and body), lossily decoded.
    pub text: String,
    /// The server closed (or reset) the connection within `CLOSE_BOUND`.
    pub closed: bool,
    pub elapsed: Duration,
}

impl RawOutcome {
    pub fn json_error(&self) -> ErrorBody {
        let body = self
            .text
            .split_once("\r\n\r\n")
            .map(|(_, body)| body)
            .unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|err| panic!("{err}: {}", self.text))
    }
}

/// Writes `head`, then each of `trickle` after `pause`, while reading whatever comes back
/// until the server closes the connection (or `CLOSE_BOUND` passes). Write errors are expected:
/// the server may close while the client is still sending.
pub async fn raw_exchange(
    address: SocketAddr,
    head: Vec<u8>,
    trickle: Vec<Vec<u8>>,
    pause: Duration,
) -> RawOutcome {
    let stream = TcpStream::connect(address).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        if writer.write_all(&head).await.is_err() {
            return;
        }
        for piece in trickle {
            tokio::time::sleep(pause).await;
            if writer.write_all(&piece).await.is_err() || writer.flush().await.is_err() {
                return;
            }
        }
        // Keep the write side open: a half-close would let the server see EOF early.
        std::future::pending::<()>().await;
    });
    let mut received = Vec::new();
    let closed = tokio::time::timeout(CLOSE_BOUND, async {
        let mut buffer = [0u8; 8192];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => received.extend_from_slice(&buffer[..read]),
            }
        }
    })
    .await
    .is_ok();
    let elapsed = started.elapsed();
    sender.abort();
    let text = String::from_utf8_lossy(&received).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    RawOutcome {
        status,
        text,
        closed,
        elapsed,
    }
}

pub fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// The shop capture as the JSON a client uploads.
pub fn shop_capture_json() -> Vec<u8> {
    serde_json::to_vec(&fixtures::shop_capture()).expect("capture json")
}

/// A scan of the stack's account that went through every stage.
pub async fn completed_scan(stack: &TestStack) -> Uuid {
    let scan_id = stack.run_scan(&fixtures::shop_capture()).await;
    let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
    assert_eq!(
        stack.scan(scan_id).await.status,
        ScanStatus::Complete,
        "{events:?}"
    );
    scan_id
}

/// A scan of the stack's account that a stage failed.
pub async fn errored_scan(stack: &TestStack) -> Uuid {
    let scan_id = stack.create_scan("prices").await.scan_id;
    sqlx::query("UPDATE scans SET status = 'errored', error = 'a stage failed' WHERE id = $1")
        .bind(scan_id)
        .execute(&stack.db)
        .await
        .expect("mark errored");
    scan_id
}

/// Runs `test` in a corner of its own of `shared`, then checks that nothing it aimed at was
/// written and that the server still answers its probes.
pub fn in_corner(shared: &'static SharedStack, test: impl AsyncFnOnce(&mut Corner<'_>)) {
    let world = shared.world();
    world.block_on(async {
        let mut corner = Corner::new(world.stack()).await;
        test(&mut corner).await;
        corner.assert_untouched_and_healthy().await;
    });
}

/// One test's own part of the shared world, which no other test touches: a fresh scan (of the
/// stack's account) that waits for its capture, an account of its own for the requests that
/// could create scans, any scans it adds, and what was stored for all of them before its bad
/// requests. The world is shared, so "nothing was written" is checked on these alone.
pub struct Corner<'a> {
    pub stack: &'a TestStack,
    pub fresh: Uuid,
    /// A key of an account only this test uses.
    pub own_key: String,
    own_account: Uuid,
    scans: Vec<Uuid>,
    before: Snapshot,
}

impl<'a> Corner<'a> {
    pub async fn new(stack: &'a TestStack) -> Corner<'a> {
        let fresh = stack.create_scan("prices").await.scan_id;
        let own_key = accounts::create_key(&stack.db, &format!("bad-input-{}", Uuid::new_v4()))
            .await
            .expect("own account");
        let own_account = accounts::authenticate(&stack.db, &own_key)
            .await
            .expect("authenticate")
            .expect("the new key is valid");
        let before = Snapshot::take(stack, own_account, &[fresh]).await;
        Corner {
            stack,
            fresh,
            own_key,
            own_account,
            scans: vec![fresh],
            before,
        }
    }

    /// Other scans this test aims at (finished ones, unknown ids), before it sends anything.
    pub async fn watch_too(&mut self, scans: &[Uuid]) {
        self.scans.extend_from_slice(scans);
        self.before = Snapshot::take(self.stack, self.own_account, &self.scans).await;
    }

    /// The api's address, for raw exchanges.
    pub fn address(&self) -> SocketAddr {
        self.stack
            .api
            .trim_start_matches("http://")
            .parse()
            .expect("api address")
    }

    pub fn capture_url(&self) -> String {
        self.stack.url(&format!("/scans/{}/capture", self.fresh))
    }

    /// POST /scans as this test's own account, so a scan it wrongly created would show.
    pub fn post_scan(&self, body: Vec<u8>) -> impl Future<Output = reqwest::Result<Response>> {
        self.stack
            .http
            .post(self.stack.url("/scans"))
            .bearer_auth(&self.own_key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    }

    /// POSTs `body` as JSON (gzipped when `gzip`) to `url` with the stack's key.
    pub fn upload(
        &self,
        url: String,
        body: Vec<u8>,
        gzip: bool,
    ) -> impl Future<Output = reqwest::Result<Response>> {
        let mut request = self
            .stack
            .authed(self.stack.http.post(url))
            .header("content-type", "application/json")
            .body(body);
        if gzip {
            request = request.header("content-encoding", "gzip");
        }
        request.send()
    }

    /// Nothing this test aimed at was written, half or whole, and the server still answers
    /// its probes.
    pub async fn assert_untouched_and_healthy(&self) {
        let after = Snapshot::take(self.stack, self.own_account, &self.scans).await;
        assert_eq!(self.before, after, "bad requests changed stored state");
        for probe in ["/healthz", "/readyz"] {
            let response = self
                .stack
                .http
                .get(self.stack.url(probe))
                .send()
                .await
                .expect("probe");
            assert_eq!(response.status(), 200, "{probe}");
        }
    }
}

/// The rows of some scans, their events, stage results and blobs, and the scans and keys of
/// one account: equal before and after means nothing was written, half or whole.
#[derive(Debug, PartialEq)]
struct Snapshot {
    scan_rows: String,
    events: i64,
    stage_results: i64,
    account_scans: i64,
    account_keys: i64,
    blobs: Vec<(String, u64)>,
}

impl Snapshot {
    async fn take(stack: &TestStack, account: Uuid, scans: &[Uuid]) -> Snapshot {
        let count = |sql: &'static str, id: Option<Uuid>| {
            let db = stack.db.clone();
            let scans = scans.to_vec();
            async move {
                let query = sqlx::query_scalar::<_, i64>(sql);
                let query = match id {
                    Some(id) => query.bind(id),
                    None => query.bind(scans),
                };
                query.fetch_one(&db).await.expect("count")
            }
        };
        let scan_rows: Option<String> = sqlx::query_scalar(
            "SELECT string_agg(id::text || ' ' || status || ' ' || coalesce(encode(capture_sha256, 'hex'), '-') \
             || ' ' || coalesce(error, '-') || ' ' || updated_at::text, E'\\n' ORDER BY id) \
             FROM scans WHERE id = ANY($1)",
        )
        .bind(scans.to_vec())
        .fetch_one(&stack.db)
        .await
        .expect("scan rows");
        let names: Vec<String> = scans.iter().map(Uuid::to_string).collect();
        let mut blobs = Vec::new();
        list_files(&stack.data_dir.path().join("blobs"), &mut blobs);
        blobs.retain(|(path, _)| names.iter().any(|name| path.contains(name.as_str())));
        blobs.sort();
        Snapshot {
            scan_rows: scan_rows.unwrap_or_default(),
            events: count(
                "SELECT count(*) FROM scan_events WHERE scan_id = ANY($1)",
                None,
            )
            .await,
            stage_results: count(
                "SELECT count(*) FROM stage_results WHERE scan_id = ANY($1)",
                None,
            )
            .await,
            account_scans: count(
                "SELECT count(*) FROM scans WHERE account_id = $1",
                Some(account),
            )
            .await,
            account_keys: count(
                "SELECT count(*) FROM api_keys WHERE account_id = $1",
                Some(account),
            )
            .await,
            blobs,
        }
    }
}

fn list_files(dir: &Path, out: &mut Vec<(String, u64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            list_files(&path, out);
        } else if let Ok(meta) = entry.metadata() {
            out.push((path.display().to_string(), meta.len()));
        }
    }
}
