//! The operators' view (issue 20): `/admin` and `/admin/api/*` hidden from the public and from
//! customer keys, a login that sets a strict session cookie, CSRF-safe forms, and the page
//! checked in real headless Chromium against seeded traffic (the version banner's figures, an
//! orphaned scan swept errored with its step and message, usage against quotas; no console
//! error, so no CSP violation), with a screenshot.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chromiumoxide::page::ScreenshotParams;
use recon_runtime::{db, sweep};
use recon_tests::headless::{eval, wait_for, Headless};
use recon_tests::{fixtures, SharedStack, TestStack};
use reqwest::header;
use serde_json::Value;

static STACK: SharedStack = SharedStack::new("api,events", &[]);

/// A client that is not the CLI (its requests count as `other`) and follows no redirect.
fn script_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent("admin-test-script")
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn admin_key(stack: &TestStack, name: &str) -> String {
    recon_runtime::db::accounts::create_account_key(&stack.db, name, true)
        .await
        .unwrap()
        .key
}

/// Logs in as a browser would (a same-origin form post); returns the session cookie.
async fn login(stack: &TestStack, client: &reqwest::Client, key: &str) -> String {
    let response = client
        .post(stack.url("/admin/login"))
        .header(header::ORIGIN, &stack.api)
        .form(&[("key", key)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[header::LOCATION], "/admin");
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http on loopback: {cookie}"
    );
    cookie.split(';').next().unwrap().to_owned()
}

#[test]
fn admin_routes_are_404_to_the_public_and_to_customer_keys() {
    let world = STACK.world();
    world.block_on(async {
        let stack = world.stack();
        let client = script_client();
        let customer = stack.account_key("admin-hidden-customer").await;
        for path in [
            "/admin",
            "/admin/api/versions",
            "/admin/api/accounts",
            "/admin/api/scans",
        ] {
            let public = client.get(stack.url(path)).send().await.unwrap();
            assert_eq!(public.status(), 404, "{path}");
            let body: Value = public.json().await.unwrap();
            assert_eq!(body["error"]["code"], "not_found");
            let keyed = client
                .get(stack.url(path))
                .bearer_auth(&customer)
                .send()
                .await
                .unwrap();
            assert_eq!(keyed.status(), 404, "{path} with a customer key");
            let cookie = client
                .get(stack.url(path))
                .header(
                    header::COOKIE,
                    "recon_admin=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                )
                .send()
                .await
                .unwrap();
            assert_eq!(cookie.status(), 404, "{path} with a made-up session");
        }
        let logout = client
            .post(stack.url("/admin/logout"))
            .header(header::ORIGIN, &stack.api)
            .form(&[("csrf", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(logout.status(), 404);
        let form = client.get(stack.url("/admin/login")).send().await.unwrap();
        assert_eq!(form.status(), 200, "the login form is public");
    });
}

#[test]
fn an_admin_key_reads_the_json_as_a_bearer_token() {
    let world = STACK.world();
    world.block_on(async {
        let stack = world.stack();
        let key = admin_key(stack, "admin-bearer").await;
        let client = script_client();
        for (path, field) in [
            ("/admin/api/versions", "windows"),
            ("/admin/api/accounts", "accounts"),
            ("/admin/api/scans", "by_status"),
        ] {
            let response = client
                .get(stack.url(path))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let body: Value = response.json().await.unwrap();
            assert!(body[field].is_array(), "{path}: {body}");
        }
    });
}

#[test]
fn login_refuses_other_origins_and_non_admin_keys() {
    let world = STACK.world();
    world.block_on(async {
        let stack = world.stack();
        let client = script_client();
        let key = admin_key(stack, "admin-origin").await;
        let cross = client
            .post(stack.url("/admin/login"))
            .header(header::ORIGIN, "https://evil.example")
            .form(&[("key", key.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(cross.status(), 403);
        assert!(cross.headers().get(header::SET_COOKIE).is_none());
        let body: Value = cross.json().await.unwrap();
        assert_eq!(body["error"]["code"], "cross_origin");
        let no_origin = client
            .post(stack.url("/admin/login"))
            .form(&[("key", key.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(no_origin.status(), 403);
        let customer = stack.account_key("admin-origin-customer").await;
        let refused = client
            .post(stack.url("/admin/login"))
            .header(header::ORIGIN, &stack.api)
            .form(&[("key", customer.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
        assert!(refused.headers().get(header::SET_COOKIE).is_none());
        assert!(refused
            .text()
            .await
            .unwrap()
            .contains("not an active admin key"));
    });
}

#[test]
fn logout_needs_the_sessions_csrf_token_and_ends_the_session() {
    let world = STACK.world();
    world.block_on(async {
        let stack = world.stack();
        let client = script_client();
        let key = admin_key(stack, "admin-logout").await;
        let cookie = login(stack, &client, &key).await;
        let page = client
            .get(stack.url("/admin"))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.starts_with("default-src 'none'") && csp.contains("form-action 'self'"),
            "{csp}"
        );
        let html = page.text().await.unwrap();
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the logout form carries the CSRF token")
            .to_owned();
        let forged = client
            .post(stack.url("/admin/logout"))
            .header(header::COOKIE, &cookie)
            .header(header::ORIGIN, &stack.api)
            .form(&[("csrf", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403);
        let cross = client
            .post(stack.url("/admin/logout"))
            .header(header::COOKIE, &cookie)
            .header(header::ORIGIN, "https://evil.example")
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(cross.status(), 403);
        let out = client
            .post(stack.url("/admin/logout"))
            .header(header::COOKIE, &cookie)
            .header(header::ORIGIN, &stack.api)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), 303);
        assert!(out.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0"));
        let after = client
            .get(stack.url("/admin"))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(after.status(), 404, "the session is gone");
    });
}

/// A client announcing CLI `version`.
fn cli_client(version: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(format!("browser-recon/{version}"))
        .build()
        .unwrap()
}

/// Seeds CLI traffic: 0.3.0 from three accounts (6 requests), 0.2.9 from one account calling the
/// legacy endpoint twice, and one 0.2.9 request refused with 426 before any key is looked at.
async fn seed_version_traffic(stack: &TestStack) {
    let current = cli_client("0.3.0");
    let old = cli_client("0.2.9");
    let (a, b, legacy) = (
        stack.account_key("versions-a").await,
        stack.account_key("versions-b").await,
        stack.account_key("versions-legacy").await,
    );
    for (key, times) in [(&a, 3), (&b, 2)] {
        for _ in 0..times {
            let response = current
                .get(stack.url("/scans"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
        }
    }
    let created: Value = current
        .post(stack.url("/scans"))
        .bearer_auth(&legacy)
        .json(&serde_json::json!({ "target_url": "https://legacy.recon.test/" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scan_id = created["scan_id"].as_str().unwrap();
    for _ in 0..2 {
        let response = old
            .post(stack.url(&format!("/scans/{scan_id}/complete")))
            .bearer_auth(&legacy)
            .json(&serde_json::json!({ "results": [] }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            202,
            "the legacy endpoint still answers before its sunset"
        );
    }
    let refused = old
        .get(stack.url("/scans"))
        .bearer_auth(&legacy)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 426);
}

/// A scan of the stack's own account left in processing (no stage runs in this world) long
/// enough for the orphan sweep, which marks it errored as the sweeper role does. Requests go
/// through `client`, so they count as no CLI version. Returns the scan's id.
async fn orphaned_scan(stack: &TestStack, client: &reqwest::Client) -> uuid::Uuid {
    let created: Value = client
        .post(stack.url("/scans"))
        .bearer_auth(&stack.key)
        .json(&serde_json::json!({ "target_url": "https://stuck.recon.test/" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scan_id: uuid::Uuid = created["scan_id"].as_str().unwrap().parse().unwrap();
    let upload = client
        .post(stack.url(&format!("/scans/{scan_id}/capture")))
        .bearer_auth(&stack.key)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(recon_runtime::codec::to_gzip_json(&fixtures::shop_capture()).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 202);
    sqlx::query("UPDATE scans SET updated_at = now() - interval '11 minutes' WHERE id = $1")
        .bind(scan_id)
        .execute(&stack.db)
        .await
        .unwrap();
    let deps = stack.deps().await;
    // The api's own sweeper may get there first; either way one sweep is recorded.
    let swept = sweep::sweep_orphans(&deps.db, &deps.bus, Duration::from_secs(600))
        .await
        .unwrap();
    if !swept.is_empty() {
        db::orphan_sweeps::record(&stack.db, swept.len())
            .await
            .unwrap();
    }
    scan_id
}

fn version_row<'a>(report: &'a Value, days: u64, version: &str) -> Option<&'a Value> {
    report["windows"]
        .as_array()?
        .iter()
        .find(|window| window["days"] == days)?["versions"]
        .as_array()?
        .iter()
        .find(|row| row["version"] == version)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_admin_page_in_chromium_shows_the_version_banner_of_seeded_traffic() {
    let stack = TestStack::start_roles(&recon_server::parse_targets("api,events").unwrap()).await;
    let key = admin_key(&stack, "operator").await;
    seed_version_traffic(&stack).await;
    let script = script_client();
    let orphan = orphaned_scan(&stack, &script).await;

    // The errored event reaches the database through the events recorder.
    let deadline = Instant::now() + Duration::from_secs(20);
    let errored = loop {
        let scans: Value = script
            .get(stack.url("/admin/api/scans"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let row = scans["errored"]
            .as_array()
            .and_then(|rows| rows.iter().find(|row| row["id"] == orphan.to_string()))
            .cloned();
        if let Some(row) = row.filter(|row| !row["step"].is_null()) {
            assert_eq!(scans["orphan_sweeps"]["sweeps_7d"], 1, "{scans}");
            break row;
        }
        assert!(
            Instant::now() < deadline,
            "the orphaned scan is not listed with its step: {scans}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let first_step = recon_contracts::Step::ALL[0].as_str();
    assert_eq!(errored["step"], first_step);
    let message = errored["message"].as_str().unwrap().to_owned();
    assert!(message.contains("no progress"), "{message}");

    // The counts reach the database in batches: wait for the flush.
    let deadline = Instant::now() + Duration::from_secs(20);
    let report = loop {
        let report: Value = script
            .get(stack.url("/admin/api/versions"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let requests =
            |version| version_row(&report, 7, version).map(|row| row["requests"].clone());
        if requests("0.3.0") == Some(6.into()) && requests("0.2.9") == Some(3.into()) {
            break report;
        }
        assert!(
            Instant::now() < deadline,
            "the banner never counted the traffic: {report}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(version_row(&report, 7, "0.3.0").unwrap()["accounts"], 3);
    assert_eq!(
        version_row(&report, 7, "0.2.9").unwrap()["accounts"],
        1,
        "the 426 had no account"
    );
    assert_eq!(
        version_row(&report, 7, "0.2.9").unwrap()["below_minimum"],
        true
    );
    assert_eq!(version_row(&report, 30, "0.3.0").unwrap()["requests"], 6);
    let below = &report["windows"][0]["below_minimum"];
    assert_eq!(
        (
            below["versions"].clone(),
            below["accounts"].clone(),
            below["requests"].clone()
        ),
        (1.into(), 1.into(), 3.into())
    );
    assert_eq!(report["legacy"]["requests_7d"], 2);
    assert_eq!(report["legacy"]["accounts_30d"], 1);
    assert_eq!(report["legacy"]["still_called"], true);

    let chromium = Headless::launch().await;
    let (page, events) = chromium.page().await;
    page.goto(stack.url("/admin/login").as_str()).await.unwrap();
    wait_for(
        &page,
        "document.readyState === 'complete' && !!document.getElementById('key')",
    )
    .await;
    let _: bool = eval(
        &page,
        &format!(
            "(() => {{ document.getElementById('key').value = {}; return true; }})()",
            serde_json::to_string(&key).unwrap()
        ),
    )
    .await;
    page.find_element("#login")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &page,
        "location.pathname === '/admin' && document.readyState === 'complete' && !!document.getElementById('versions')",
    )
    .await;
    let cookie_visible: String = eval(&page, "document.cookie").await;
    assert!(
        !cookie_visible.contains("recon_admin"),
        "the session cookie is HttpOnly"
    );

    let cell = |days: u32, version: &str, class: &str| {
        format!("document.querySelector('[data-window=\"{days}\"] tr[data-version=\"{version}\"] .{class}').textContent")
    };
    assert_eq!(
        eval::<String>(&page, &cell(7, "0.3.0", "requests")).await,
        "6"
    );
    assert_eq!(
        eval::<String>(&page, &cell(7, "0.3.0", "accounts")).await,
        "3"
    );
    assert_eq!(
        eval::<String>(&page, &cell(7, "0.2.9", "requests")).await,
        "3"
    );
    assert_eq!(
        eval::<String>(&page, &cell(30, "0.2.9", "accounts")).await,
        "1"
    );
    let below: Vec<String> = eval(
        &page,
        "(() => { const b = document.querySelector('[data-window=\"7\"] .below').dataset; return [b.versions, b.accounts, b.requests]; })()",
    )
    .await;
    assert_eq!(below, vec!["1", "1", "3"]);
    let legacy: String = eval(
        &page,
        "document.getElementById('legacy').dataset.stillCalled",
    )
    .await;
    assert_eq!(legacy, "true");
    let scans_created: String = eval(
        &page,
        "document.querySelector('[data-status=\"created\"]').textContent",
    )
    .await;
    assert_eq!(scans_created, "1", "the legacy account's scan");
    let accounts: u32 = eval(
        &page,
        "document.querySelectorAll('#accounts tr[data-account]').length",
    )
    .await;
    assert!(accounts >= 4, "every account is listed: {accounts}");
    let scans_per_hour: String = eval(
        &page,
        "document.querySelectorAll('#accounts tr[data-account=\"versions-legacy\"] td')[4].textContent",
    )
    .await;
    let limit = stack.config.quotas.scans_per_hour;
    assert_eq!(
        scans_per_hour,
        format!("1 / {limit}"),
        "usage against the quota"
    );
    let orphans: String = eval(&page, "document.getElementById('orphans').textContent").await;
    assert!(
        orphans.contains("1 in 7 days marked 1 scans errored"),
        "{orphans}"
    );
    let errored_row: Vec<String> = eval(
        &page,
        &format!(
            "Array.from(document.querySelectorAll('#errored tr[data-scan=\"{orphan}\"] td')).map(td => td.textContent)"
        ),
    )
    .await;
    assert_eq!(errored_row.len(), 5, "{errored_row:?}");
    assert_eq!(errored_row[1], "test-account");
    assert_eq!(errored_row[3], first_step);
    assert_eq!(errored_row[4], message);
    assert_eq!(
        eval::<String>(
            &page,
            "document.querySelector('[data-status=\"errored\"]').textContent"
        )
        .await,
        "1"
    );

    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("admin-page.png");
    page.save_screenshot(
        ScreenshotParams::builder().full_page(true).build(),
        &screenshot,
    )
    .await
    .unwrap();
    eprintln!("SCREENSHOT (admin page): {}", screenshot.display());

    page.find_element("#logout")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &page,
        "location.pathname === '/admin/login' && document.readyState === 'complete' && !!document.getElementById('key')",
    )
    .await;

    tokio::time::sleep(Duration::from_millis(300)).await;
    let errors = events.errors.lock().unwrap().clone();
    assert!(
        errors.is_empty(),
        "console errors (CSP violations among them): {errors:?}"
    );
    let requests = events.requests.lock().unwrap().clone();
    for url in &requests {
        assert!(
            url.starts_with(&stack.api) || url == "about:blank",
            "a request off the server: {url}"
        );
    }
    chromium.close().await;
    stack.stop().await;
}
