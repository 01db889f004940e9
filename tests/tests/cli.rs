//! The `recon` binary against a real server: import the demo HAR, upload, follow the
//! pipeline, print the result.

use std::process::Output;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};
use recon_server::Role;
use recon_tests::cli::{one_error_line, run_recon};
use recon_tests::TestStack;

async fn recon(stack: &TestStack, home: &std::path::Path, args: &[&str]) -> Output {
    recon_with_key(stack, &stack.key, home, args).await
}

async fn recon_with_key(
    stack: &TestStack,
    key: &str,
    home: &std::path::Path,
    args: &[&str],
) -> Output {
    let env = [("RECON_SERVER", stack.api.as_str()), ("RECON_API_KEY", key)];
    run_recon(home, &env, "", args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recon_scan_from_har_follows_the_pipeline_to_the_report() {
    let stack = TestStack::start().await;
    let home = tempfile::TempDir::new().unwrap();
    let output = recon(
        &stack,
        home.path(),
        &[
            "scan",
            "https://demo-shop.recon.test/",
            "--from-har",
            "fixtures/demo.har",
            "--intent",
            "product prices and reviews",
            "--no-progress",
            "--json",
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let result: serde_json::Value =
        serde_json::from_str(stdout.trim()).expect("one JSON object on stdout");
    assert_eq!(result["status"], "complete");
    let report_url = result["report_url"].as_str().expect("report_url");
    assert!(report_url.starts_with(&stack.api));
    for step in recon_tests::steps() {
        let line = format!("[{step}] complete");
        assert!(stderr.contains(&line), "progress shows {line}: {stderr}");
    }
    // The stack is fresh: drift's line, printed last, says this scan is the site's first.
    assert_eq!(
        stderr.lines().last(),
        Some("first scan of this site"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "--no-progress prints no ANSI escapes"
    );
    let report = stack.http.get(report_url).send().await.unwrap();
    assert_eq!(report.status(), 200);
    let json = stack.get_json(&format!("{report_url}.json")).await;
    assert!(json["endpoints"].as_array().is_some_and(|e| e.len() > 3));

    // A key the server refuses: exit 3 and one readable line.
    let refused = recon_with_key(
        &stack,
        "rec_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        home.path(),
        &["status", result["scan_id"].as_str().unwrap()],
    )
    .await;
    assert_eq!(refused.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    // A HAR that is not one: exit 2.
    let bad = home.path().join("bad.har");
    std::fs::write(&bad, "{\"log\": 5}").unwrap();
    let output = recon(
        &stack,
        home.path(),
        &[
            "scan",
            "https://demo-shop.recon.test/",
            "--from-har",
            bad.to_str().unwrap(),
            "--no-progress",
        ],
    )
    .await;
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stack.stop().await;
}

struct ScrubFails {
    runs: Arc<AtomicU32>,
}

impl Stage for ScrubFails {
    const STEP: &'static str = "scrub";

    async fn run(&self, _ctx: &StageContext) -> Result<StageOutput, StageError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        Err(StageError::permanent("scrubber exploded"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_errored_step_is_shown_inline_and_exits_1_and_watch_status_no_wait_work() {
    let roles: Vec<Role> = recon_server::parse_targets("all")
        .unwrap()
        .into_iter()
        .filter(|role| *role != Role::Stage("scrub"))
        .collect();
    let stack = TestStack::start_roles(&roles).await;
    let mut failing = tokio::task::JoinSet::new();
    recon_server::spawn_stage(
        &mut failing,
        stack.deps().await,
        ScrubFails {
            runs: Arc::new(AtomicU32::new(0)),
        },
        stack.shutdown.clone(),
    );
    let home = tempfile::TempDir::new().unwrap();

    let queued = recon(
        &stack,
        home.path(),
        &[
            "scan",
            "https://demo-shop.recon.test/",
            "--from-har",
            "fixtures/demo.har",
            "--no-wait",
        ],
    )
    .await;
    assert_eq!(
        queued.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&queued.stderr)
    );
    let scan_id = String::from_utf8_lossy(&queued.stdout).trim().to_owned();
    assert!(
        scan_id.parse::<uuid::Uuid>().is_ok(),
        "--no-wait prints the scan id: {scan_id:?}"
    );

    let watched = recon(&stack, home.path(), &["watch", &scan_id, "--no-progress"]).await;
    let stderr = String::from_utf8_lossy(&watched.stderr);
    assert_eq!(watched.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("scrubber exploded"),
        "the error is shown inline: {stderr}"
    );

    let status = recon(&stack, home.path(), &["status", &scan_id, "--json"]).await;
    let view: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status --json");
    assert_eq!(view["status"], "errored");

    let unknown = recon(
        &stack,
        home.path(),
        &["status", &uuid::Uuid::new_v4().to_string()],
    )
    .await;
    assert_eq!(unknown.status.code(), Some(2));
    stack.stop().await;
    failing.abort_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_checks_and_saves_the_key_logout_removes_it_and_failures_are_one_line() {
    let stack = TestStack::start_roles(&recon_server::parse_targets("api").unwrap()).await;
    let home = tempfile::TempDir::new().unwrap();
    let config = home.path().join(".recon").join("config.toml");
    let unknown_scan = uuid::Uuid::new_v4().to_string();

    // GET /account: whose key this is; 401 JSON without one.
    let account = stack
        .authed(stack.http.get(stack.url("/account")))
        .send()
        .await
        .unwrap();
    assert_eq!(account.status(), 200);
    let body: serde_json::Value = account.json().await.unwrap();
    assert_eq!(body["account"], "test-account");
    assert_eq!(body["key_prefix"], stack.key[..13]);
    let refused = stack.http.get(stack.url("/account")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");

    // A refused key is not saved.
    let bad = run_recon(
        home.path(),
        &[],
        "rec_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
        &["login", "--server", &stack.api],
    )
    .await;
    assert_eq!(bad.status.code(), Some(3));
    assert!(one_error_line(&bad).contains("refused the API key"));
    assert!(!config.exists());

    // A good key is checked, then saved with mode 0600, and used from then on.
    let good = run_recon(
        home.path(),
        &[],
        &format!("{}\n", stack.key),
        &["login", "--server", &stack.api],
    )
    .await;
    let stderr = String::from_utf8_lossy(&good.stderr);
    assert_eq!(good.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("as test-account"), "{stderr}");
    assert!(
        !stderr.contains(&stack.key),
        "the key is not echoed: {stderr}"
    );
    let saved = std::fs::read_to_string(&config).unwrap();
    assert!(
        saved.contains(&format!("api_key = \"{}\"", stack.key)),
        "{saved}"
    );
    assert!(
        saved.contains(&format!("server = \"{}\"", stack.api)),
        "{saved}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let status = run_recon(home.path(), &[], "", &["status", &unknown_scan]).await;
    assert_eq!(
        status.status.code(),
        Some(2),
        "the saved key was used: {:?}",
        status
    );
    assert!(one_error_line(&status).contains("404"));

    // RECON_API_KEY overrides the saved key.
    let overridden = run_recon(
        home.path(),
        &[("RECON_API_KEY", "rec_live_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")],
        "",
        &["status", &unknown_scan],
    )
    .await;
    assert_eq!(overridden.status.code(), Some(3));

    // Logout removes the key and keeps the server.
    let logout = run_recon(home.path(), &[], "", &["logout"]).await;
    assert_eq!(logout.status.code(), Some(0));
    let saved = std::fs::read_to_string(&config).unwrap();
    assert!(!saved.contains("api_key"), "{saved}");
    assert!(saved.contains("server = "), "{saved}");
    let no_key = run_recon(home.path(), &[], "", &["status", &unknown_scan]).await;
    assert_eq!(no_key.status.code(), Some(3));
    assert!(one_error_line(&no_key).contains("recon login"));

    // Nobody listening: one line, exit 3.
    let dead = format!("http://127.0.0.1:{}", recon_tests::free_port());
    let unreachable = run_recon(
        home.path(),
        &[("RECON_SERVER", &dead), ("RECON_API_KEY", &stack.key)],
        "",
        &[
            "scan",
            "https://demo-shop.recon.test/",
            "--from-har",
            "fixtures/demo.har",
        ],
    )
    .await;
    assert_eq!(unreachable.status.code(), Some(3));
    assert!(one_error_line(&unreachable).contains("cannot reach the server"));
    stack.stop().await;

    // A server that needs a newer client: 426, one line, exit 3.
    let strict = TestStack::start_with(
        &recon_server::parse_targets("api").unwrap(),
        &[
            ("RECON_MINIMUM_CLI_VERSION", "9.0.0"),
            ("RECON_LATEST_CLI_VERSION", "9.0.0"),
        ],
    )
    .await;
    let too_old = run_recon(
        home.path(),
        &[
            ("RECON_SERVER", &strict.api),
            ("RECON_API_KEY", &strict.key),
        ],
        "",
        &["status", &unknown_scan],
    )
    .await;
    assert_eq!(too_old.status.code(), Some(3));
    assert!(one_error_line(&too_old).contains("needs a newer recon"));
    strict.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_0_2_config_file_is_migrated_on_first_run_and_used() {
    use std::os::unix::fs::PermissionsExt;
    let stack = TestStack::start_roles(&recon_server::parse_targets("api").unwrap()).await;
    let scan = stack.create_scan("prices").await;
    let scan_id = scan.scan_id.to_string();
    let home = tempfile::TempDir::new().unwrap();
    let dir = home.path().join(".recon");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    // The 0.2 shape (see cli/src/config_migration.rs): a [default] profile with api_url/token.
    let old = format!(
        "[default]\napi_url = \"{}/\"\ntoken = \"{}\"\ntimeout = 30\n",
        stack.api, stack.key
    );
    std::fs::write(&config, &old).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();

    // No RECON_SERVER / RECON_API_KEY: the server and key can only come from the old file.
    let first = run_recon(home.path(), &[], "", &["status", &scan_id, "--json"]).await;
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(0), "stderr: {stderr}");
    let view: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(view["scan_id"], scan_id.as_str());
    let notice = "recon: migrated ~/.recon/config.toml from the 0.2 format (backup: ~/.recon/config.toml.bak); not carried over: default.timeout";
    assert_eq!(
        stderr
            .lines()
            .filter(|line| line.contains("migrated"))
            .collect::<Vec<_>>(),
        vec![notice],
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("config.toml.bak")).unwrap(),
        old
    );
    let migrated = std::fs::read_to_string(&config).unwrap();
    assert!(
        migrated.contains(&format!("api_key = \"{}\"", stack.key)),
        "{migrated}"
    );
    assert!(!migrated.contains("[default]"), "{migrated}");
    for path in [&config, &dir.join("config.toml.bak")] {
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }

    // Said once: the second run reads the current shape silently.
    let second = run_recon(home.path(), &[], "", &["status", &scan_id, "--json"]).await;
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("migrated"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), migrated);
    assert!(!dir.join("config.toml.bak.1").exists());

    // The migrated file is an ordinary config: logout edits it.
    let logout = run_recon(home.path(), &[], "", &["logout"]).await;
    assert_eq!(logout.status.code(), Some(0));
    assert!(!std::fs::read_to_string(&config)
        .unwrap()
        .contains("api_key"));
    stack.stop().await;
}
