//! The report end to end: the generated starter code run against a paginating loopback site, and
//! the HTML page of a 2,000-request scan opened in real headless Chromium.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::browser::{
    PermissionDescriptor, PermissionSetting, SetPermissionParams,
};
use chromiumoxide::cdp::browser_protocol::emulation::{
    SetDeviceMetricsOverrideParams, SetFocusEmulationEnabledParams,
};
use chromiumoxide::page::ScreenshotParams;
use recon_contracts::{Capture, Detection, Header, RequestRecord, ResourceType, Synthesis};
use recon_synthesis::{synthesize, SynthesisInputs};
use recon_tests::headless::{eval, wait_for, Headless};
use recon_tests::{fixtures, harness_env, starter_site, TestStack};
use serde_json::Value;
use tokio::process::Command;

const SCAN_TIMEOUT: Duration = Duration::from_secs(240);

fn snippet<'a>(synthesis: &'a Synthesis, endpoint: &str, language: &str) -> &'a str {
    synthesis
        .snippets
        .iter()
        .find(|s| s.endpoint_id == endpoint && s.language == language)
        .map(|s| s.code.as_str())
        .unwrap_or_else(|| panic!("no {language} snippet for {endpoint}"))
}

/// Runs `program args` with the given environment (and no proxy), returning stdout.
async fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .unwrap_or_else(|_| panic!("{program} {args:?} did not finish"))
        .unwrap_or_else(|err| panic!("cannot run {program}: {err}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    stdout
}

fn ids(stdout: &str) -> Vec<i64> {
    let value: Value = serde_json::from_str(stdout)
        .unwrap_or_else(|err| panic!("output is not JSON ({err}):\n{stdout}"));
    let records = match &value {
        Value::Array(items) => items.clone(),
        other => other
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    };
    records.iter().filter_map(|r| r["id"].as_i64()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_python_and_curl_fetch_every_page_from_the_fixture_site() {
    let live_bearer = format!("live-{}", uuid::Uuid::new_v4().simple());
    let site = starter_site::StarterSite::start(&live_bearer).await;
    let raw = starter_site::capture(&site.base);
    let scrubbed = recon_scrub::scrub(raw).capture;
    let (inventory, ranking, validation) = starter_site::results();
    let synthesis = synthesize(&SynthesisInputs {
        scrubbed: &scrubbed,
        detection: &Detection::default(),
        inventory: &inventory,
        ranking: &ranking,
        validation: &validation,
    });
    let everything = serde_json::to_string(&synthesis).unwrap();
    for stale in [
        starter_site::STALE_SESSION,
        starter_site::STALE_CSRF,
        starter_site::STALE_BEARER,
    ] {
        assert!(
            !everything.contains(stale),
            "a captured secret is in the code"
        );
    }

    let python = harness_env("RECON_TEST_PYTHON");
    let dir = tempfile::TempDir::new().unwrap();
    let products = dir.path().join("products.py");
    let search = dir.path().join("search.py");
    std::fs::write(&products, snippet(&synthesis, "ep_products", "python")).unwrap();
    std::fs::write(&search, snippet(&synthesis, "ep_search", "python")).unwrap();
    for file in [&products, &search] {
        run(&python, &["-m", "py_compile", file.to_str().unwrap()], &[]).await;
    }

    // Products: warm-up (cookie from Set-Cookie, CSRF from the meta tag), the bearer token from
    // the environment, then page-number pagination over all 7 products.
    let env = [("SITE_BEARER_TOKEN", live_bearer.as_str())];
    let stdout = run(&python, &[products.to_str().unwrap()], &env).await;
    assert_eq!(ids(&stdout), (1..=7).collect::<Vec<_>>(), "every page");

    // Without the token the code stops and names the variable instead of sending a request.
    let mut command = Command::new(&python);
    command.arg(&products).env_remove("SITE_BEARER_TOKEN");
    let output = command.output().await.unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("SITE_BEARER_TOKEN"));

    // Search: curl_cffi impersonating Chrome, cursor pagination in the JSON body.
    let search_code = snippet(&synthesis, "ep_search", "python");
    assert!(search_code.contains("impersonate=\"chrome\""));
    let stdout = run(&python, &[search.to_str().unwrap()], &[]).await;
    assert_eq!(ids(&stdout), (101..=105).collect::<Vec<_>>());

    // curl: the first page, with the cookie jar warm-up; the CSRF value comes from the
    // environment in shell (the command says so in a TODO line).
    let curl = snippet(&synthesis, "ep_products", "curl");
    assert!(curl.contains("TODO: set SITE_X_CSRF_TOKEN"), "{curl}");
    let csrf = run(
        "sh",
        &[
            "-c",
            &format!(
                "curl -s {}/ | sed -n 's/.*content=\"\\([0-9a-f]*\\)\".*/\\1/p'",
                site.base
            ),
        ],
        &[],
    )
    .await;
    let stdout = run(
        "bash",
        &["-c", curl],
        &[
            ("SITE_BEARER_TOKEN", live_bearer.as_str()),
            ("SITE_X_CSRF_TOKEN", csrf.trim()),
        ],
    )
    .await;
    assert_eq!(ids(&stdout), vec![1, 2, 3], "curl fetches the first page");
    let stdout = run(
        "bash",
        &["-c", snippet(&synthesis, "ep_search", "curl")],
        &[],
    )
    .await;
    assert!(
        stdout.contains("\"id\": 101") || stdout.contains("\"id\":101"),
        "{stdout}"
    );

    // The Rust example at least parses (compiling it needs a crate of its own).
    for endpoint in ["ep_products", "ep_search"] {
        let file = dir.path().join(format!("{endpoint}.rs"));
        std::fs::write(&file, snippet(&synthesis, endpoint, "rust")).unwrap();
        run(
            "rustfmt",
            &[
                "--edition",
                "2021",
                "--emit",
                "stdout",
                file.to_str().unwrap(),
            ],
            &[],
        )
        .await;
    }
    eprintln!(
        "starter code: python {} bytes, curl {} bytes, rust {} bytes",
        snippet(&synthesis, "ep_products", "python").len(),
        curl.len(),
        snippet(&synthesis, "ep_products", "rust").len()
    );
}

/// The shop fixture grown to `count` requests over a few dozen endpoint shapes.
fn large_capture(count: usize) -> Capture {
    let mut capture = fixtures::shop_capture();
    let template = capture.requests[2].clone();
    let host = "https://demo-shop.recon.test";
    let mut index = 0;
    while capture.requests.len() < count {
        index += 1;
        let mut request: RequestRecord = template.clone();
        request.id = format!("bulk-{index}");
        let (url, resource_type) = match index % 8 {
            0 => (
                format!("{host}/api/products/{}", 1000 + index),
                ResourceType::Fetch,
            ),
            1 => (
                format!("{host}/api/products?page={}", index % 40 + 1),
                ResourceType::Fetch,
            ),
            2 => (
                format!("{host}/api/products/{}/reviews", 1000 + index),
                ResourceType::Xhr,
            ),
            3 => (
                format!(
                    "{host}/api/v{}/category/{}/items",
                    index % 3 + 1,
                    index % 17
                ),
                ResourceType::Fetch,
            ),
            4 => (
                format!("{host}/static/img/p{index}.png"),
                ResourceType::Image,
            ),
            5 => (
                format!("{host}/api/search?q=lamp+{}&page=1", index % 30),
                ResourceType::Fetch,
            ),
            6 => (
                format!("https://cdn{}.recon.test/assets/{index}.js", index % 4),
                ResourceType::Script,
            ),
            _ => (
                format!("{host}/api/stores/{}/stock", index % 25),
                ResourceType::Fetch,
            ),
        };
        request.url = url;
        request.resource_type = resource_type;
        request
            .request_headers
            .push(Header::new("X-Request-Id", format!("r{index}")));
        capture.requests.push(request);
    }
    capture
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_2000_request_report_renders_in_headless_chromium_and_copies_code() {
    let stack = TestStack::start().await;
    let capture = large_capture(2_000);
    assert_eq!(capture.requests.len(), 2_000);
    let started = Instant::now();
    let scan_id = stack.run_scan(&capture).await;
    let events = stack.wait_for_terminal(scan_id, SCAN_TIMEOUT).await;
    eprintln!("2,000-request scan finished in {:?}", started.elapsed());
    let last = events.last().unwrap();
    assert_eq!(last.step, recon_contracts::Step::Render, "{events:?}");
    let view = stack.scan(scan_id).await;
    let report_url = view.report_url.clone();

    let html = stack.http.get(&report_url).send().await.unwrap();
    assert_eq!(html.status(), 200);
    let csp = html.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let html = html.text().await.unwrap();
    let json = stack
        .http
        .get(format!("{report_url}.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let openapi = stack
        .http
        .get(format!("{report_url}/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(openapi.status(), 200);
    assert!(openapi.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let openapi = openapi.text().await.unwrap();
    let openapi_value: Value = serde_json::from_str(&openapi).unwrap();
    assert!(openapi_value["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.")));
    let report: Value = serde_json::from_str(&json).unwrap();
    eprintln!(
        "REPORT SIZE for a 2,000-request capture: HTML {} bytes ({} KiB), JSON {} bytes, OpenAPI {} bytes, {} endpoints, {} snippets",
        html.len(),
        html.len().div_ceil(1024),
        json.len(),
        openapi.len(),
        report["endpoints"].as_array().map_or(0, Vec::len),
        report["synthesis"]["snippets"].as_array().map_or(0, Vec::len)
    );
    assert!(
        report["synthesis"]["snippets"]
            .as_array()
            .is_some_and(|s| !s.is_empty()),
        "the report has starter code to copy"
    );

    let chromium = Headless::launch().await;
    let (page, events) = chromium.page().await;
    let browser = &chromium.browser;
    let origin = stack.api.clone();
    for name in ["clipboard-read", "clipboard-write"] {
        let permission = PermissionDescriptor::builder()
            .name(name)
            .allow_without_sanitization(true)
            .build()
            .unwrap();
        browser
            .execute(
                SetPermissionParams::builder()
                    .permission(permission)
                    .setting(PermissionSetting::Granted)
                    .origin(origin.clone())
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
    }
    page.execute(SetFocusEmulationEnabledParams::new(true))
        .await
        .unwrap();

    let loading = Instant::now();
    page.goto(report_url.as_str()).await.unwrap();
    wait_for(&page, "document.readyState === 'complete'").await;
    eprintln!("report loaded in Chromium in {:?}", loading.elapsed());

    let screenshot =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{scan_id}.png"));
    page.save_screenshot(
        ScreenshotParams::builder().full_page(false).build(),
        &screenshot,
    )
    .await
    .unwrap();
    eprintln!("SCREENSHOT (laptop): {}", screenshot.display());
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 1_000);

    let sections: u32 = eval(&page, "document.querySelectorAll('main h2').length").await;
    assert!(sections >= 7, "{sections} sections");
    // The inventory filter narrows the table and says how many rows remain.
    let total: u32 = eval(
        &page,
        "document.querySelectorAll('#endpoint-table tbody tr').length",
    )
    .await;
    let shown: u32 = eval(&page, "(() => { const f = document.getElementById('endpoint-filter'); f.value = 'reviews'; f.dispatchEvent(new Event('input')); return document.querySelectorAll('#endpoint-table tbody tr:not([hidden])').length; })()").await;
    assert!(
        shown >= 1 && shown < total,
        "filter shows {shown} of {total}"
    );
    let count_text: String = eval(
        &page,
        "document.getElementById('endpoint-count').textContent",
    )
    .await;
    assert_eq!(count_text, format!("{shown} of {total} endpoints shown"));

    // The copy button: the Clipboard API path, read back from the real clipboard.
    let expected: String = eval(&page, "document.getElementById('snippet-1').textContent").await;
    page.find_element("button[data-copy='snippet-1']")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &page,
        "document.querySelector(\"button[data-copy='snippet-1']\").textContent === 'Copied'",
    )
    .await;
    let clipboard: String = eval(&page, "navigator.clipboard.readText()").await;
    assert_eq!(clipboard, expected, "the clipboard holds the snippet");
    // The fallback path (no Clipboard API): a selected textarea holding exactly the code.
    let expected: String = eval(&page, "document.getElementById('snippet-2').textContent").await;
    let _: bool = eval(&page, "(() => { Object.defineProperty(navigator, 'clipboard', { value: undefined, configurable: true }); window.__copied = null; document.execCommand = (command) => { const el = document.activeElement; window.__copied = command + ':' + el.value.substring(el.selectionStart, el.selectionEnd); return true; }; return true; })()").await;
    let _: bool = eval(&page, "(() => { const b = document.querySelector(\"button[data-copy='snippet-2']\"); b.closest('details') && (b.closest('details').open = true); b.click(); return true; })()").await;
    let copied: String = eval(&page, "window.__copied").await;
    assert_eq!(copied, format!("copy:{expected}"));

    // Phone width: nothing overflows sideways, and a second screenshot.
    page.execute(SetDeviceMetricsOverrideParams::new(390, 844, 3.0, true))
        .await
        .unwrap();
    let _: bool = eval(&page, "(() => { window.scrollTo(0, 0); return true; })()").await;
    wait_for(&page, "window.scrollY === 0").await;
    let metrics: Vec<f64> = eval(
        &page,
        "[window.innerWidth, document.documentElement.clientWidth, document.documentElement.scrollWidth]",
    )
    .await;
    eprintln!("phone metrics (innerWidth, clientWidth, scrollWidth): {metrics:?}");
    let overflow: Vec<String> = eval(
        &page,
        "(() => { const width = document.documentElement.clientWidth; if (document.documentElement.scrollWidth <= width + 1) return []; return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > width + 1 && !e.closest('.scroll, pre')).slice(0, 10).map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 60)); })()",
    )
    .await;
    assert!(
        overflow.is_empty(),
        "the page scrolls sideways on a phone: {overflow:?}"
    );
    let phone =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{scan_id}-phone.png"));
    page.save_screenshot(ScreenshotParams::builder().full_page(false).build(), &phone)
        .await
        .unwrap();
    eprintln!("SCREENSHOT (phone): {}", phone.display());

    tokio::time::sleep(Duration::from_millis(300)).await;
    let requests = events.requests.lock().unwrap().clone();
    let errors = events.errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    assert!(!requests.is_empty(), "the page load itself was seen");
    for url in &requests {
        assert!(
            url == &report_url || url.starts_with("data:"),
            "the page made a request beyond its own URL: {url}"
        );
    }
    eprintln!("Chromium saw {} request(s): {requests:?}", requests.len());

    chromium.close().await;
    stack.stop().await;
}
