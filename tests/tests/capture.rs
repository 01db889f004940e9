//! Chrome capture through the real `recon` binary and real headless Chromium
//! (RECON_TEST_CHROME) against the loopback fixture site: the fetch calls with their bodies,
//! the GraphQL POST, the cookies (including the Cookie request header that only Chrome's
//! ExtraInfo events carry), every redirect hop, the image, the EventSource, and the API call
//! a service worker makes behind the response it serves; DevTools runs over a pipe, with no
//! debugging port open while recording. Then `recon scan --headless` against a TestStack behind
//! a recording proxy: after the capture, only the upload and event requests.

use std::path::Path;
use std::process::Output;
use std::time::Instant;

use recon_contracts::{Capture, ResourceType, StreamKind};
use recon_tests::capture_site::CaptureSite;
use recon_tests::cli::{recon_command, run_recon};
use recon_tests::proxy::RecordingProxy;
use recon_tests::TestStack;

/// `recon ARGS` with the test Chromium as CHROME_PATH.
async fn recon(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let chrome = recon_tests::harness_env("RECON_TEST_CHROME");
    let mut env = env.to_vec();
    env.push(("CHROME_PATH", &chrome));
    run_recon(home, &env, "", args).await
}

fn counter(stderr: &str, name: &str) -> usize {
    stderr
        .split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("{name}=")))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in the recorder line: {stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_chrome_records_fetches_bodies_cookies_redirects_and_service_worker_calls() {
    let site = CaptureSite::start().await;
    let home = tempfile::TempDir::new().unwrap();
    let out = home.path().join("capture.json");
    let started = Instant::now();
    let output = recon(
        home.path(),
        &[],
        &[
            "capture",
            &site.url,
            "--out",
            out.to_str().unwrap(),
            "--headless",
            "--duration",
            "8s",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let capture: Capture = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    capture.validate().unwrap();
    println!(
        "capture of the fixture site: {} requests, {} bytes of JSON, {:.1}s wall time\n{stderr}",
        capture.requests.len(),
        std::fs::metadata(&out).unwrap().len(),
        started.elapsed().as_secs_f64()
    );
    println!("site served: {:?}", site.served());

    let find = |path: &str| {
        capture
            .requests
            .iter()
            .find(|request| request.url.ends_with(path))
            .unwrap_or_else(|| {
                panic!(
                    "no request for {path}; captured: {:?}",
                    capture.requests.iter().map(|r| &r.url).collect::<Vec<_>>()
                )
            })
    };
    let text_body = |path: &str| {
        find(path)
            .response
            .as_ref()
            .and_then(|response| response.body.as_ref())
            .and_then(|body| body.as_text())
            .unwrap_or_else(|| panic!("no text body for {path}"))
            .to_owned()
    };

    // The document, with its Set-Cookie as sent on the wire.
    let page = capture
        .requests
        .iter()
        .find(|request| request.resource_type == ResourceType::Document)
        .expect("the page itself");
    let page_response = page.response.as_ref().unwrap();
    assert_eq!(page_response.status, 200);
    assert!(page_response
        .header("set-cookie")
        .is_some_and(|value| value.contains("srv_session=srv123")));
    assert!(page_response
        .body
        .as_ref()
        .unwrap()
        .as_text()
        .unwrap()
        .contains("Lamp shop"));
    assert_eq!(capture.pages.len(), 1, "{:?}", capture.pages);
    assert_eq!(page.page_id.as_deref(), Some(capture.pages[0].id.as_str()));

    // fetch() of a JSON API: body, and the Cookie header Chrome adds late (ExtraInfo).
    let products = find("/api/products?page=1");
    assert_eq!(products.resource_type, ResourceType::Fetch);
    assert!(text_body("/api/products?page=1").contains("Desk lamp"));
    let cookie = products.request_header("cookie").unwrap_or_else(|| {
        panic!(
            "no Cookie header on the API call: {:?}",
            products.request_headers
        )
    });
    assert!(cookie.contains("srv_session=srv123"), "{cookie}");
    assert!(cookie.contains("js_pref=dark"), "{cookie}");
    assert!(products
        .initiator
        .as_ref()
        .is_some_and(|initiator| initiator.kind == "script"));

    // The GraphQL POST: its body and its answer.
    let graphql = find("/graphql");
    assert_eq!(graphql.method, "POST");
    let post = graphql.post_data.as_ref().unwrap().as_text().unwrap();
    assert!(
        post.contains("\"operationName\":\"SearchProducts\""),
        "{post}"
    );
    assert!(text_body("/graphql").contains("\"operation\":\"SearchProducts\""));

    // Every redirect hop, chained.
    let start = find("/redirect/start");
    let middle = find("/redirect/middle");
    let last = find("/api/final");
    assert_eq!(start.response.as_ref().unwrap().status, 302);
    assert_eq!(middle.response.as_ref().unwrap().status, 301);
    assert_eq!(middle.redirected_from.as_deref(), Some(start.id.as_str()));
    assert_eq!(last.redirected_from.as_deref(), Some(middle.id.as_str()));
    assert_eq!(
        start.response.as_ref().unwrap().header("location"),
        Some("/redirect/middle")
    );
    assert!(text_body("/api/final").contains("\"final\":true"));

    // The image is recorded, its body is not kept.
    let logo = find("/logo.png");
    assert_eq!(logo.resource_type, ResourceType::Image);
    assert!(logo.response.as_ref().unwrap().body.is_none());

    // The EventSource, summarised.
    let events = capture
        .streams
        .iter()
        .find(|stream| stream.kind == StreamKind::EventSource)
        .expect("the EventSource stream");
    assert_eq!(events.messages_received, 2, "{events:?}");
    assert!(events.samples[0].contains("tick"));

    // The service worker answered /sw-api/items; the API call it made is in the capture too.
    let served = find("/sw-api/items");
    assert!(served.response.as_ref().unwrap().from_service_worker);
    assert!(text_body("/sw-api/items").contains("Shade"));
    let behind = find("/api/sw-backend?via=service-worker");
    assert_eq!(behind.response.as_ref().unwrap().status, 200);
    assert!(!behind.response.as_ref().unwrap().from_service_worker);
    assert_eq!(
        capture
            .requests
            .iter()
            .filter(|request| request.url.contains("/api/sw-backend"))
            .count(),
        1,
        "the worker's call is recorded once"
    );
    assert!(counter(&stderr, "service_worker_requests") >= 1);

    // The cookie jar at the end: set by the server, by JS and by an API response.
    for name in ["srv_session", "js_pref", "api_seen"] {
        assert!(
            capture.cookies.iter().any(|cookie| cookie.name == name),
            "cookie {name} missing: {:?}",
            capture.cookies
        );
    }
    assert!(capture
        .cookies
        .iter()
        .any(|cookie| cookie.name == "srv_session" && cookie.http_only));

    // The ExtraInfo events the DevTools pipe delivered (a typed client such as chromiumoxide
    // drops most of them on this Chrome).
    let request_extra = counter(&stderr, "request_extra_info");
    let response_extra = counter(&stderr, "response_extra_info");
    println!("ExtraInfo events: {request_extra} requestWillBeSentExtraInfo, {response_extra} responseReceivedExtraInfo");
    let network_requests = capture
        .requests
        .iter()
        .filter(|request| {
            request
                .response
                .as_ref()
                .is_some_and(|r| !r.from_service_worker && !r.from_cache)
        })
        .count();
    assert!(
        response_extra >= network_requests - 1,
        "{response_extra} response ExtraInfo events for {network_requests} network responses"
    );
    assert!(request_extra >= 6, "{request_extra}");
    assert!(capture
        .browser
        .as_deref()
        .is_some_and(|b| b.contains("Chrome")));
}

/// What /proc says about the processes of this machine (Linux).
#[cfg(target_os = "linux")]
mod processes {
    use std::collections::{HashMap, HashSet};

    /// `pid` and every process below it.
    pub fn tree(pid: u32) -> Vec<u32> {
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(child) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse().ok());
            if let Some(parent) = parent {
                children.entry(parent).or_default().push(child);
            }
        }
        let mut found = vec![pid];
        let mut at = 0;
        while at < found.len() {
            found.extend(children.get(&found[at]).into_iter().flatten());
            at += 1;
        }
        found
    }

    pub fn command_line(pid: u32) -> Vec<String> {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .unwrap_or_default()
            .split(|byte| *byte == 0)
            .filter(|arg| !arg.is_empty())
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect()
    }

    /// The socket inodes of every listening TCP socket (IPv4 and IPv6).
    pub fn listening_tcp_sockets() -> HashSet<String> {
        ["/proc/net/tcp", "/proc/net/tcp6"]
            .iter()
            .filter_map(|table| std::fs::read_to_string(table).ok())
            .flat_map(|table| {
                table
                    .lines()
                    .skip(1)
                    .filter_map(|line| {
                        let fields: Vec<&str> = line.split_whitespace().collect();
                        // st 0A is LISTEN; the inode is the tenth field.
                        (fields.get(3) == Some(&"0A")).then(|| fields.get(9).map(|i| i.to_string()))
                    })
                    .flatten()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The socket inodes `pid` holds open.
    pub fn sockets_of(pid: u32) -> HashSet<String> {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .filter_map(|target| {
                let target = target.to_string_lossy().into_owned();
                target
                    .strip_prefix("socket:[")
                    .and_then(|rest| rest.strip_suffix(']'))
                    .map(str::to_owned)
            })
            .collect()
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chrome_is_driven_over_a_pipe_and_opens_no_debugging_port() {
    let site = CaptureSite::start().await;
    let home = tempfile::TempDir::new().unwrap();
    let profile = home.path().join("profile");
    let out = home.path().join("capture.json");
    let chrome = recon_tests::harness_env("RECON_TEST_CHROME");
    let recon = recon_command(
        home.path(),
        &[("CHROME_PATH", &chrome)],
        &["capture", &site.url, "--headless", "--duration", "10s"],
    )
    .arg("--profile")
    .arg(&profile)
    .arg("--out")
    .arg(&out)
    .stdin(std::process::Stdio::null())
    .spawn()
    .expect("run recon");
    let recon_pid = recon.id().expect("recon's pid");

    // Recording for sure: the page's script has called the API.
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while !site
        .served()
        .iter()
        .any(|line| line.contains("/api/products"))
    {
        assert!(
            Instant::now() < deadline,
            "the page never loaded: {:?}",
            site.served()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let chrome: Vec<u32> = processes::tree(recon_pid)
        .into_iter()
        .filter(|pid| *pid != recon_pid)
        .collect();
    let profile_flag = format!("--user-data-dir={}", profile.display());
    let browser = chrome
        .iter()
        .map(|pid| processes::command_line(*pid))
        .find(|args| args.contains(&profile_flag) && !args.iter().any(|a| a.starts_with("--type=")))
        .expect("the browser process below recon");
    assert!(
        browser.contains(&"--remote-debugging-pipe".to_owned()),
        "{browser:?}"
    );
    assert!(
        !browser
            .iter()
            .any(|arg| arg.starts_with("--remote-debugging-port")),
        "{browser:?}"
    );
    assert!(
        !profile.join("DevToolsActivePort").exists(),
        "Chrome announced a debugging port"
    );
    let listening = processes::listening_tcp_sockets();
    for pid in &chrome {
        let open: Vec<String> = processes::sockets_of(*pid)
            .intersection(&listening)
            .cloned()
            .collect();
        assert!(
            open.is_empty(),
            "Chrome process {pid} ({:?}) listens on TCP (socket inodes {open:?})",
            processes::command_line(*pid)
        );
    }
    println!("{} Chrome processes, none listening on TCP", chrome.len());

    // And the recording over the pipe goes on to a capture.
    let output = recon.wait_with_output().await.expect("recon's output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let capture: Capture = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(capture
        .requests
        .iter()
        .any(|request| request.url.ends_with("/api/products?page=1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chrome_not_found_says_how_to_install_it() {
    let home = tempfile::TempDir::new().unwrap();
    let missing = home.path().join("no-chrome-here");
    let binary = recon_tests::harness_env("RECON_TEST_CLI");
    let output = tokio::process::Command::new(binary)
        .args(["capture", "http://127.0.0.1:9/", "--headless", "--out"])
        .arg(home.path().join("capture.json"))
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", home.path())
        .env("CHROME_PATH", &missing)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("CHROME_PATH"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    if std::path::Path::new("/usr/bin/chromium").exists() {
        // Found in its Debian place even without PATH: the install hint cannot show here.
        return;
    }
    let output = tokio::process::Command::new(recon_tests::harness_env("RECON_TEST_CLI"))
        .args(["capture", "http://127.0.0.1:9/", "--headless", "--out"])
        .arg(home.path().join("capture.json"))
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", home.path())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("apt-get install chromium"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recon_scan_headless_uploads_the_capture_and_then_only_follows_events() {
    let site = CaptureSite::start().await;
    let site_port = url::Url::parse(&site.url)
        .ok()
        .and_then(|url| url.port())
        .expect("the site's port")
        .to_string();
    let stack = TestStack::start_with(
        &recon_server::parse_targets("all").unwrap(),
        &[
            ("RECON_VALIDATION_ALLOW_LOOPBACK", "1"),
            ("RECON_VALIDATION_ALLOWED_PORTS", &site_port),
        ],
    )
    .await;
    let proxy = RecordingProxy::start(&stack.api, None).await;
    let home = tempfile::TempDir::new().unwrap();
    let output = recon(
        home.path(),
        &[("RECON_SERVER", &proxy.url), ("RECON_API_KEY", &stack.key)],
        &[
            "scan",
            &site.url,
            "--headless",
            "--duration",
            "6s",
            "--intent",
            "lamp prices",
            "--no-progress",
            "--json",
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(result["status"], "complete");
    let scan_id = result["scan_id"].as_str().unwrap().to_owned();
    assert!(stderr.contains("captured: "), "{stderr}");
    assert!(stderr.contains("API calls"), "{stderr}");

    // What the server saw, in order.
    let requests = proxy.requests();
    println!("requests at the server: {requests:#?}");
    let upload = format!("POST /scans/{scan_id}/capture");
    let at = requests
        .iter()
        .position(|line| *line == upload)
        .expect("the upload");
    for line in &requests[..at] {
        assert!(
            line == "POST /scans" || line == "GET /version",
            "before the capture only the scan and the version check: {line}"
        );
    }
    for line in &requests[at + 1..] {
        let events = line.starts_with(&format!("GET /scans/{scan_id}/events?since="))
            || line.starts_with(&format!("GET /scans/{scan_id}/ws?since="));
        assert!(events, "after the capture only events: {line}");
    }
    assert_eq!(requests.iter().filter(|line| **line == upload).count(), 1);

    // The uploaded capture went through the pipeline: its API calls are in the report.
    let report = stack
        .get_json(&format!("{}.json", result["report_url"].as_str().unwrap()))
        .await;
    let endpoints = report["endpoints"].to_string();
    assert!(endpoints.contains("/api/products"), "{endpoints}");
    assert!(endpoints.contains("/graphql"), "{endpoints}");
    stack.stop().await;
}
