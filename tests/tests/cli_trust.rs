//! The `recon` binary at the trust boundary (DESIGN.md § Trust boundary): it refuses to send the
//! API key over plain http to a server that is not this machine unless told to, before any
//! request leaves; and whatever a server sends (step messages, errors, the version notice,
//! account names, report URLs) reaches the terminal without its escape sequences.

use std::process::Output;
use std::sync::{Arc, Mutex};

use recon_tests::cli::{one_error_line, run_recon as recon};
use recon_tests::hostile_server::{self, HostileServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "rec_live_TRUSTBOUNDARYTESTKEY0000000000";
/// A server name that resolves nowhere: a request for it can only reach the test's listener,
/// through the HTTP proxy the test sets.
const REMOTE_HTTP_SERVER: &str = "http://recon.invalid";

/// A loopback listener that keeps the head of every request it receives and answers each with
/// a JSON 404; set as the HTTP proxy, it receives whatever recon sends to any http:// server.
struct Listener {
    url: String,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Listener {
    async fn start() -> Listener {
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the listener");
        let url = format!("http://{}", socket.local_addr().expect("its address"));
        let heads: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = heads.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = socket.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0_u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match stream.read(&mut byte).await {
                            Ok(1) => head.push(byte[0]),
                            _ => break,
                        }
                    }
                    log.lock()
                        .expect("log")
                        .push(String::from_utf8_lossy(&head).into_owned());
                    let body = r#"{"error":{"code":"not_found","message":"no such scan"}}"#;
                    let answer = format!(
                        "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        Listener { url, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("log").clone()
    }
}

/// The environment and the arguments of one run of recon.
type Invocation<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_machine_is_refused_before_any_request_leaves() {
    let listener = Listener::start().await;
    let home = tempfile::TempDir::new().unwrap();
    let scan_id = uuid::Uuid::new_v4().to_string();
    let through_proxy = [
        ("http_proxy", listener.url.as_str()),
        ("HTTP_PROXY", listener.url.as_str()),
    ];
    let with_server: Vec<(&str, &str)> = through_proxy
        .iter()
        .copied()
        .chain([("RECON_SERVER", REMOTE_HTTP_SERVER), ("RECON_API_KEY", KEY)])
        .collect();
    let commands: [Invocation; 5] = [
        (&with_server, &["status", &scan_id]),
        (&with_server, &["watch", &scan_id, "--no-progress"]),
        (
            &with_server,
            &[
                "scan",
                "https://demo-shop.recon.test/",
                "--from-har",
                "fixtures/demo.har",
                "--no-progress",
            ],
        ),
        (&through_proxy, &["login", "--server", REMOTE_HTTP_SERVER]),
        (
            &[
                through_proxy[0],
                through_proxy[1],
                ("RECON_SERVER", REMOTE_HTTP_SERVER),
            ],
            &["login"],
        ),
    ];
    for (env, args) in commands {
        let output = recon(home.path(), env, &format!("{KEY}\n"), args).await;
        assert_eq!(output.status.code(), Some(2), "recon {args:?}: {output:?}");
        let line = one_error_line(&output);
        assert!(
            line.contains("refusing to send the API key unencrypted to http://recon.invalid"),
            "recon {args:?}: {line}"
        );
        assert!(line.contains("--allow-http"), "{line}");
        assert!(
            listener.heads().is_empty(),
            "recon {args:?} sent {:?}",
            listener.heads()
        );
    }
    assert!(
        !home.path().join(".recon").join("config.toml").exists(),
        "a refused login saves nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_http_sends_to_a_plain_http_server_as_asked() {
    let listener = Listener::start().await;
    let home = tempfile::TempDir::new().unwrap();
    let scan_id = uuid::Uuid::new_v4().to_string();
    let env = [
        ("http_proxy", listener.url.as_str()),
        ("HTTP_PROXY", listener.url.as_str()),
        ("RECON_SERVER", REMOTE_HTTP_SERVER),
        ("RECON_API_KEY", KEY),
    ];
    let allowed_by_flag = recon(home.path(), &env, "", &["status", &scan_id, "--allow-http"]).await;
    let mut with_env = env.to_vec();
    with_env.push(("RECON_ALLOW_HTTP", "1"));
    let allowed_by_env = recon(home.path(), &with_env, "", &["status", &scan_id]).await;
    for output in [allowed_by_flag, allowed_by_env] {
        // The listener's 404, read as the server's answer.
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        assert!(one_error_line(&output).contains("no such scan"));
    }
    let lookups: Vec<String> = listener
        .heads()
        .into_iter()
        .filter(|head| head.starts_with(&format!("GET {REMOTE_HTTP_SERVER}/scans/{scan_id} ")))
        .collect();
    assert_eq!(lookups.len(), 2, "{:?}", listener.heads());
    for head in lookups {
        assert!(
            head.to_ascii_lowercase().contains(&format!(
                "authorization: bearer {}",
                KEY.to_ascii_lowercase()
            )),
            "{head}"
        );
    }

    let unclear = recon(
        home.path(),
        &[("RECON_ALLOW_HTTP", "perhaps")],
        "",
        &["status", &scan_id],
    )
    .await;
    assert_eq!(unclear.status.code(), Some(2), "{unclear:?}");
    assert!(one_error_line(&unclear).contains("allow-http"));
}

/// No byte a terminal acts on: control characters other than the line ends, bidi controls, and
/// no leftover of a sequence (dropped whole, not just its ESC).
fn assert_terminal_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8(bytes.to_vec()).expect("recon prints UTF-8");
    let acted_on: Vec<char> = text
        .chars()
        .filter(|c| {
            (c.is_control() && *c != '\n')
                || matches!(
                    c,
                    '\u{061c}'
                        | '\u{200e}'
                        | '\u{200f}'
                        | '\u{202a}'..='\u{202e}'
                        | '\u{2066}'..='\u{2069}'
                )
        })
        .collect();
    assert!(acted_on.is_empty(), "{what} holds {acted_on:?}: {text:?}");
    for leftover in ["[2J", "]52;", "cm0gLXJm", "ZXZpbA", "owned", "[31m", "1J"] {
        assert!(
            !text.contains(leftover),
            "{what} holds {leftover:?}: {text}"
        );
    }
}

fn hostile_env(server: &HostileServer) -> [(&str, &str); 2] {
    [
        ("RECON_SERVER", server.url.as_str()),
        ("RECON_API_KEY", KEY),
    ]
}

/// `recon scan` of the demo HAR against `server`, with `more` arguments.
async fn scan_demo_har(home: &std::path::Path, server: &HostileServer, more: &[&str]) -> Output {
    let mut args = vec![
        "scan",
        "https://demo-shop.recon.test/",
        "--from-har",
        "fixtures/demo.har",
    ];
    args.extend(more);
    recon(home, &hostile_env(server), "", &args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_messages_errors_and_the_version_notice_are_printed_without_escapes() {
    let server = HostileServer::start().await;
    let home = tempfile::TempDir::new().unwrap();
    let output = scan_demo_har(
        home.path(),
        &server,
        &["--intent", "fail at validation", "--no-progress"],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stderr}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_terminal_clean("stderr", &output.stderr);
    assert_terminal_clean("stdout", &output.stdout);
    // Over the WebSocket, then by polling after it closed.
    assert!(stderr.contains("polling every 1.5 s"), "{stderr}");
    for line in [
        format!("[detection] complete: {}", hostile_server::STEP_MESSAGE),
        "[analysis] started: starting".to_owned(),
        format!("[validation] errored: {}", hostile_server::STEP_ERROR),
    ] {
        assert!(
            stderr.lines().any(|shown| shown == line),
            "{line}: {stderr}"
        );
    }
    assert!(
        stderr.contains(&format!(
            "failed at step validation: {}",
            hostile_server::STEP_ERROR
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "a newer version is available: {}-",
            hostile_server::LATEST_VERSION
        )),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_stays_valid_and_holds_a_clean_report_url() {
    let server = HostileServer::start().await;
    let home = tempfile::TempDir::new().unwrap();
    let output = scan_demo_har(home.path(), &server, &["--no-progress", "--json"]).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_terminal_clean("stdout", &output.stdout);
    assert_terminal_clean("stderr", &output.stderr);
    let result: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object on stdout");
    assert_eq!(result["status"], "complete");
    let scan_id: uuid::Uuid = result["scan_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        result["report_url"],
        format!("{}/r/{}", server.url, scan_id.simple())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_server_errors_are_printed_without_escapes() {
    let server = HostileServer::start().await;
    let home = tempfile::TempDir::new().unwrap();
    let env = hostile_env(&server);
    let queued = scan_demo_har(home.path(), &server, &["--intent", "fail", "--no-wait"]).await;
    assert_eq!(queued.status.code(), Some(0), "{queued:?}");
    assert_terminal_clean("stderr of --no-wait", &queued.stderr);
    let scan_id = String::from_utf8_lossy(&queued.stdout).trim().to_owned();

    let status = recon(home.path(), &env, "", &["status", &scan_id]).await;
    assert_eq!(status.status.code(), Some(0), "{status:?}");
    assert_terminal_clean("status", &status.stdout);
    assert_terminal_clean("status's stderr", &status.stderr);
    let shown = String::from_utf8_lossy(&status.stdout);
    for line in [
        "target   https://shop.example/".to_owned(),
        "status   errored".to_owned(),
        format!("error    {}", hostile_server::STEP_ERROR),
        "intent   lamp prices".to_owned(),
    ] {
        assert!(shown.lines().any(|shown| shown == line), "{line}: {shown}");
    }

    let as_json = recon(home.path(), &env, "", &["status", &scan_id, "--json"]).await;
    assert_terminal_clean("status --json", &as_json.stdout);
    let view: serde_json::Value = serde_json::from_slice(&as_json.stdout).expect("JSON");
    assert_eq!(view["status"], "errored");

    let unknown = uuid::Uuid::new_v4().to_string();
    let refused = recon(home.path(), &env, "", &["status", &unknown]).await;
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert_terminal_clean("the error line", &refused.stderr);
    assert!(one_error_line(&refused).contains(hostile_server::UNKNOWN_SCAN_MESSAGE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_prints_the_account_without_escapes() {
    let server = HostileServer::start().await;
    let home = tempfile::TempDir::new().unwrap();
    let output = recon(
        home.path(),
        &[],
        &format!("{KEY}\n"),
        &["login", "--server", &server.url],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_terminal_clean("login's stderr", &output.stderr);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "as {} (key rec_live_abc…)",
            hostile_server::ACCOUNT
        )),
        "{stderr}"
    );
}
