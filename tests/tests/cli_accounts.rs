//! The account commands of `recon` (keys, scans, delete, open, status by report URL, a HAR scan
//! without a URL, completions) and the operator commands of `recon-server admin`, as real
//! processes against a real server. One test per scenario over one shared stack.

use std::path::Path;
use std::process::Output;

use recon_tests::cli::{one_error_line, run_recon};
use recon_tests::{harness_env, SharedStack, TestStack};
use serde_json::Value;

static STACK: SharedStack = SharedStack::new("all", &[]);

async fn recon(stack: &TestStack, key: &str, home: &Path, args: &[&str]) -> Output {
    recon_env(stack, key, home, &[], args).await
}

async fn recon_env(
    stack: &TestStack,
    key: &str,
    home: &Path,
    extra: &[(&str, &str)],
    args: &[&str],
) -> Output {
    let mut env = vec![("RECON_SERVER", stack.api.as_str()), ("RECON_API_KEY", key)];
    env.extend_from_slice(extra);
    run_recon(home, &env, "", args).await
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn succeeded(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(output)
}

fn json(output: &Output) -> Value {
    let text = succeeded(output);
    serde_json::from_str(text.trim())
        .unwrap_or_else(|err| panic!("not one JSON value ({err}): {text}"))
}

/// `recon-server ARGS` on the stack's database, with nothing else of the environment.
fn server_admin(stack: &TestStack, args: &[&str]) -> Output {
    std::process::Command::new(harness_env("RECON_TEST_SERVER"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &stack.config.database_url)
        .output()
        .expect("run recon-server")
}

#[test]
fn recon_keys_create_list_and_revoke() {
    let world = STACK.world();
    world.block_on(async {
        let stack = world.stack();
        let key = stack.account_key("cli-keys").await;
        let home = tempfile::TempDir::new().unwrap();
        let created = recon(stack, &key, home.path(), &["keys", "create"]).await;
        let new_key = succeeded(&created).trim().to_owned();
        assert!(
            new_key.starts_with("rec_live_"),
            "the key alone on stdout: {new_key}"
        );
        let listed = json(&recon(stack, &new_key, home.path(), &["keys", "list", "--json"]).await);
        let keys = listed["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        assert!(
            !listed.to_string().contains(&new_key),
            "never the value again"
        );
        let current = keys.iter().find(|k| k["current"] == true).unwrap();
        assert!(
            current["last_used_at"].is_string(),
            "its use is shown: {current}"
        );
        let table = succeeded(&recon(stack, &key, home.path(), &["keys", "list"]).await);
        assert!(table.starts_with("id "), "{table}");
        assert!(table.contains("(this one)"), "{table}");
        let new_id = keys
            .iter()
            .find(|k| k["current"] == true)
            .and_then(|k| k["id"].as_str())
            .unwrap()
            .to_owned();
        succeeded(&recon(stack, &key, home.path(), &["keys", "revoke", &new_id]).await);
        let refused = recon(stack, &new_key, home.path(), &["scans"]).await;
        assert_eq!(refused.status.code(), Some(3), "auth refused");
        let line = one_error_line(&refused);
        assert!(line.contains("refused the API key"), "{line}");
    });
}

#[test]
fn a_har_scan_without_a_url_is_listed_found_by_its_report_url_opened_and_deleted() {
    let world = STACK.world();
    world.block_on(async {
        let stack = world.stack();
        let key = stack.account_key("cli-scans").await;
        let home = tempfile::TempDir::new().unwrap();
        let scanned = json(
            &recon(
                stack,
                &key,
                home.path(),
                &[
                    "scan",
                    "--from-har",
                    "fixtures/demo.har",
                    "--no-progress",
                    "--json",
                ],
            )
            .await,
        );
        assert_eq!(scanned["status"], "complete");
        let scan_id = scanned["scan_id"].as_str().unwrap().to_owned();
        let report_url = scanned["report_url"].as_str().unwrap().to_owned();

        let listed = json(&recon(stack, &key, home.path(), &["scans", "--json"]).await);
        let first = &listed["scans"][0];
        assert_eq!(first["id"], scan_id.as_str());
        assert_eq!(
            first["target_url"], "https://demo-shop.recon.test/en/",
            "the HAR's first page"
        );
        let table = succeeded(
            &recon(
                stack,
                &key,
                home.path(),
                &["scans", "--site", "demo-shop.recon.test"],
            )
            .await,
        );
        assert!(table.contains(&scan_id), "{table}");

        let status =
            json(&recon(stack, &key, home.path(), &["status", &report_url, "--json"]).await);
        assert_eq!(status["scan_id"], scan_id.as_str());
        assert_eq!(status["status"], "complete");

        let opened_file = home.path().join("opened");
        let browser = home.path().join("browser.sh");
        std::fs::write(
            &browser,
            format!(
                "#!/bin/sh\nprintf '%s' \"$1\" > {}\n",
                opened_file.display()
            ),
        )
        .unwrap();
        let mut permissions = std::fs::metadata(&browser).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&browser, permissions).unwrap();
        let browser_env = browser.display().to_string();
        let opened = recon_env(
            stack,
            &key,
            home.path(),
            &[("BROWSER", browser_env.as_str())],
            &["open", &scan_id],
        )
        .await;
        assert_eq!(succeeded(&opened).trim(), report_url);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !opened_file.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the browser was not started"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(std::fs::read_to_string(&opened_file).unwrap(), report_url);

        succeeded(&recon(stack, &key, home.path(), &["delete", &report_url]).await);
        assert_eq!(
            stack.http.get(&report_url).send().await.unwrap().status(),
            404
        );
        let gone = recon(stack, &key, home.path(), &["status", &scan_id]).await;
        assert_eq!(gone.status.code(), Some(2));
        assert!(one_error_line(&gone).contains("no such scan"));
        let again = recon(stack, &key, home.path(), &["delete", &scan_id]).await;
        assert_eq!(again.status.code(), Some(2));
        one_error_line(&again);
    });
}

#[test]
fn a_har_with_no_page_and_no_entry_is_one_error_line_and_exit_2() {
    let world = STACK.world();
    world.block_on(async {
        let stack = world.stack();
        let home = tempfile::TempDir::new().unwrap();
        let har = home.path().join("empty.har");
        std::fs::write(
            &har,
            r#"{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"pages":[],"entries":[]}}"#,
        )
        .unwrap();
        let output = recon(
            stack,
            &stack.key,
            home.path(),
            &["scan", "--from-har", har.to_str().unwrap(), "--no-progress"],
        )
        .await;
        assert_eq!(output.status.code(), Some(2));
        let line = one_error_line(&output);
        assert!(line.contains("empty.har"), "{line}");
    });
}

#[test]
fn bad_scan_list_flags_are_one_error_line() {
    let world = STACK.world();
    world.block_on(async {
        let stack = world.stack();
        let home = tempfile::TempDir::new().unwrap();
        let output = recon(
            stack,
            &stack.key,
            home.path(),
            &["scans", "--status", "done"],
        )
        .await;
        assert_eq!(output.status.code(), Some(2));
        assert!(one_error_line(&output).contains("invalid_status"));
    });
}

#[test]
fn completions_are_printed_for_each_shell() {
    let world = STACK.world();
    world.block_on(async {
        let stack = world.stack();
        let home = tempfile::TempDir::new().unwrap();
        for (shell, marker) in [
            ("bash", "complete -F"),
            ("zsh", "#compdef recon"),
            ("fish", "complete -c recon"),
        ] {
            let script =
                succeeded(&recon(stack, &stack.key, home.path(), &["completions", shell]).await);
            assert!(
                script.contains(marker),
                "{shell}: {}",
                &script[..script.len().min(200)]
            );
            assert!(script.contains("keys"), "{shell} completes the subcommands");
        }
    });
}

#[test]
fn recon_server_admin_creates_lists_and_revokes_keys() {
    let world = STACK.world();
    world.block_on(async {
        let stack = world.stack();
        let created = server_admin(
            stack,
            &[
                "admin",
                "keys",
                "create",
                "--account",
                "ops-admin",
                "--admin",
            ],
        );
        let key = succeeded(&created).trim().to_owned();
        assert!(key.starts_with("rec_live_"));
        // The admin key opens the admin JSON; a customer key does not.
        let versions = stack
            .http
            .get(stack.url("/admin/api/versions"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(versions.status(), 200);
        let legacy = server_admin(stack, &["admin", "create-key", "--account", "ops-customer"]);
        let customer = succeeded(&legacy).trim().to_owned();
        let refused = stack
            .http
            .get(stack.url("/admin/api/versions"))
            .bearer_auth(&customer)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 404);

        let listed: Value = serde_json::from_str(&succeeded(&server_admin(
            stack,
            &["admin", "keys", "list", "--account", "ops-admin", "--json"],
        )))
        .unwrap();
        let rows = listed.as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["account"], "ops-admin");
        assert_eq!(rows[0]["admin"], true);
        assert!(!listed.to_string().contains(&key));
        let id = rows[0]["id"].as_str().unwrap().to_owned();
        let table = succeeded(&server_admin(stack, &["admin", "keys", "list"]));
        assert!(
            table.contains("ops-admin (admin)") && table.contains(&id),
            "{table}"
        );

        succeeded(&server_admin(stack, &["admin", "keys", "revoke", &id]));
        let after = stack
            .http
            .get(stack.url("/admin/api/versions"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(after.status(), 404, "a revoked admin key sees nothing");
        let unknown = server_admin(
            stack,
            &["admin", "keys", "revoke", &uuid::Uuid::new_v4().to_string()],
        );
        assert_eq!(unknown.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("no key with id"));
    });
}

#[test]
fn recon_server_admin_reports_print_tables_and_json() {
    let world = STACK.world();
    world.block_on(async {
        let stack = world.stack();
        for report in ["versions", "accounts", "scans"] {
            let table = succeeded(&server_admin(stack, &["admin", report]));
            assert!(!table.trim().is_empty(), "{report}");
            let value: Value = serde_json::from_str(&succeeded(&server_admin(
                stack,
                &["admin", report, "--json"],
            )))
            .unwrap_or_else(|err| panic!("{report} --json: {err}"));
            assert!(value.is_object(), "{report}: {value}");
        }
        let accounts: Value = serde_json::from_str(&succeeded(&server_admin(
            stack,
            &["admin", "accounts", "--json"],
        )))
        .unwrap();
        let names: Vec<&str> = accounts["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["name"].as_str())
            .collect();
        assert!(names.contains(&"test-account"), "{names:?}");
        let table = succeeded(&server_admin(stack, &["admin", "accounts"]));
        assert!(table.contains("test-account"), "{table}");
        assert!(table.contains("scans/hour"), "{table}");
    });
}
