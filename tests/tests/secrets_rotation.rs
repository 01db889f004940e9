//! Proxy secret rotation without a redeploy, end to end: the secret lives in Secrets Manager
//! (a `moto_server` on loopback), a real `recon-server` process replays through the proxy the
//! secret names, and a rotated secret is used after the cache TTL, or at once after SIGHUP.
//! Which proxy the validation stage used is read from the proxies' own relay logs.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use recon_tests::protected_site::ProtectedSite;
use recon_tests::replay_proxies::TestProxy;
use recon_tests::{free_port, harness_env, TestStack};

const SECRET_ID: &str = "recon/proxies";

/// A child process killed (and reaped) on drop.
struct Child {
    child: std::process::Child,
    log: PathBuf,
}

impl Child {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(program: &str, args: &[&str], env: &[(&str, String)], log: PathBuf) -> Child {
    let file = std::fs::File::create(&log).unwrap();
    let child = std::process::Command::new(program)
        .args(args)
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {program}: {err}"));
    Child { child, log }
}

async fn wait_for_port(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = child.child.try_wait() {
            panic!("process exited with {status}:\n{}", child.log());
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "nothing listens on {port}:\n{}",
            child.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

fn secrets_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let config = recon_tests::moto_sdk_config(endpoint);
    aws_sdk_secretsmanager::Client::new(&config)
}

fn secret_value(proxy: &TestProxy) -> String {
    serde_json::json!({ "DATACENTER_PROXY": proxy.url() }).to_string()
}

/// Starts `recon-server --target all` against the stack's database and NATS.
async fn start_server(
    stack: &TestStack,
    moto: &str,
    ttl_secs: u32,
    dir: &std::path::Path,
    name: &str,
    site: &ProtectedSite,
) -> (Child, String) {
    let port = free_port();
    let mut env = aws_env(moto);
    env.extend([
        ("DATABASE_URL", stack.config.database_url.clone()),
        ("NATS_URL", stack.nats.url.clone()),
        ("RECON_LISTEN", format!("127.0.0.1:{port}")),
        (
            "RECON_BLOB_URL",
            format!("file://{}", dir.join(format!("{name}-blobs")).display()),
        ),
        ("RECON_SECRETS_URL", format!("aws-sm://{SECRET_ID}")),
        ("RECON_SECRETS_TTL_SECS", ttl_secs.to_string()),
        ("RECON_VALIDATION_ALLOW_LOOPBACK", "1".to_owned()),
        (
            "RECON_VALIDATION_ALLOWED_PORTS",
            site.address.port().to_string(),
        ),
        ("RECON_VALIDATION_TOP_ENDPOINTS", "10".to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ]);
    let mut child = spawn(
        &harness_env("RECON_TEST_SERVER"),
        &["--target", "all"],
        &env,
        dir.join(format!("{name}.log")),
    );
    wait_for_port(port, &mut child).await;
    (child, format!("http://127.0.0.1:{port}"))
}

async fn scan_through(stack: &TestStack, site: &ProtectedSite) {
    let scan_id = stack.run_scan(&site.capture()).await;
    let events = stack
        .wait_for_terminal(scan_id, Duration::from_secs(180))
        .await;
    let view = stack.scan(scan_id).await;
    assert_eq!(
        view.status,
        recon_contracts::ScanStatus::Complete,
        "{view:?} {events:?}"
    );
}

#[tokio::test]
async fn rotated_proxy_secrets_are_used_after_the_ttl_and_at_once_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let moto_port = free_port();
    let mut moto = spawn(
        &harness_env("RECON_TEST_MOTO_SERVER"),
        &["-H", "127.0.0.1", "-p", &moto_port.to_string()],
        &[],
        dir.path().join("moto.log"),
    );
    wait_for_port(moto_port, &mut moto).await;
    let moto_url = format!("http://127.0.0.1:{moto_port}");
    let client = secrets_client(&moto_url);

    let site = ProtectedSite::start().await;
    let first = TestProxy::http("first", "first-Secret-1").await;
    let second = TestProxy::http("second", "second-Secret-2").await;
    let third = TestProxy::http("third", "third-Secret-3").await;
    client
        .create_secret()
        .name(SECRET_ID)
        .secret_string(secret_value(&first))
        .send()
        .await
        .unwrap();

    // Only the database and NATS come from the stack; the server is a real child process.
    let mut stack = TestStack::start_roles(&[]).await;

    // A long TTL: the rotation is invisible until SIGHUP flushes the cache.
    let (server, url) = start_server(&stack, &moto_url, 3600, dir.path(), "sighup", &site).await;
    stack.api = url;
    scan_through(&stack, &site).await;
    let used_first = first.relayed().len();
    assert!(used_first > 0, "the first proxy was not used");

    client
        .put_secret_value()
        .secret_id(SECRET_ID)
        .secret_string(secret_value(&second))
        .send()
        .await
        .unwrap();
    scan_through(&stack, &site).await;
    assert!(
        first.relayed().len() > used_first,
        "still cached: the first proxy"
    );
    assert!(
        second.relayed().is_empty(),
        "rotation seen before the TTL or a SIGHUP"
    );

    let status = std::process::Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.log().contains("SIGHUP") {
        assert!(
            Instant::now() < deadline,
            "no SIGHUP in the log:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let used_first = first.relayed().len();
    scan_through(&stack, &site).await;
    assert!(
        !second.relayed().is_empty(),
        "SIGHUP did not reload the secret"
    );
    assert_eq!(first.relayed().len(), used_first);
    let sighup_log = server.log();
    drop(server);

    // A short TTL: the next rotation is picked up once the TTL has passed, no signal needed.
    let (server, url) = start_server(&stack, &moto_url, 2, dir.path(), "ttl", &site).await;
    stack.api = url;
    scan_through(&stack, &site).await;
    let used_second = second.relayed().len();
    client
        .put_secret_value()
        .secret_id(SECRET_ID)
        .secret_string(secret_value(&third))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    scan_through(&stack, &site).await;
    assert!(
        !third.relayed().is_empty(),
        "the TTL did not expire the cache"
    );
    assert_eq!(second.relayed().len(), used_second);

    for log in [sighup_log, server.log()] {
        for proxy in [&first, &second, &third] {
            assert!(
                !log.contains(&proxy.password),
                "the server log leaks a proxy password"
            );
            assert!(
                !log.contains(&proxy.url()),
                "the server log leaks a proxy URL"
            );
        }
    }
    drop(server);
    stack.stop().await;
}
