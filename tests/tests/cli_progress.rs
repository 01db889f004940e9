//! The live progress display in a real terminal (tmux): one line per step, updated while the
//! pipeline runs; and the WebSocket cut mid-scan by a proxy, after which polling carries on from
//! the same cursor with no event lost or shown twice.
//!
//! The render step waits on a gate the test opens, so "while the pipeline runs" is a state the
//! test reaches for sure instead of a moment it hopes to catch.

use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use recon_contracts::Step;
use recon_runtime::stage::StageOutput;
use recon_runtime::{Stage, StageContext, StageError};
use recon_server::Role;
use recon_tests::proxy::RecordingProxy;
use recon_tests::TestStack;
use tokio::sync::Semaphore;

/// The real render stage, run only when the test hands out a permit.
struct GatedRender {
    gate: Arc<Semaphore>,
}

impl Stage for GatedRender {
    const STEP: Step = Step::Render;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        if let Ok(permit) = self.gate.acquire().await {
            permit.forget();
        }
        recon_render::RenderStage.run(ctx).await
    }
}

/// Frames the proxy lets through before it cuts each WebSocket.
const FRAMES_BEFORE_CUT: usize = 3;
/// Bounds for waiting on the pipeline; generous for a noisy machine, never asserted on.
const PATIENCE: Duration = Duration::from_secs(180);

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs (cargo xtask deps installs it)");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "recon"])
    }

    async fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {what}; it shows:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

fn step_line<'a>(screen: &'a str, step: &str) -> Vec<&'a str> {
    screen
        .lines()
        .filter(|line| line.split_whitespace().nth(1) == Some(step))
        .collect()
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn progress_is_live_in_a_terminal_and_survives_a_dropped_websocket() {
    let roles: Vec<Role> = recon_server::parse_targets("all")
        .unwrap()
        .into_iter()
        .filter(|role| *role != Role::Stage(Step::Render))
        .collect();
    let stack = TestStack::start_roles(&roles).await;
    let gate = Arc::new(Semaphore::new(0));
    let mut gated = tokio::task::JoinSet::new();
    recon_server::spawn_stage(
        &mut gated,
        stack.deps().await,
        GatedRender { gate: gate.clone() },
        stack.shutdown.clone(),
    );
    let proxy = RecordingProxy::start(&stack.api, Some(FRAMES_BEFORE_CUT)).await;
    let home = tempfile::TempDir::new().unwrap();
    let binary = recon_tests::harness_env("RECON_TEST_CLI");
    let tests_dir = recon_tests::crate_dir();
    let tests_dir = tests_dir.to_str().expect("a UTF-8 path");

    // 1. The live display in a terminal.
    let tmux = Tmux {
        socket: format!("recon-test-{}", uuid::Uuid::new_v4().simple()),
    };
    let command = format!(
        "env -i HOME={home} PATH=/usr/bin:/bin TERM=xterm-256color RECON_SERVER={server} \
         RECON_API_KEY={key} {binary} scan https://demo-shop.recon.test/ --from-har \
         fixtures/demo.har; echo EXIT=$?; sleep 600",
        home = shell_quote(&home.path().display().to_string()),
        server = shell_quote(&proxy.url),
        key = shell_quote(&stack.key),
        binary = shell_quote(&binary),
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "recon",
        "-x",
        "120",
        "-y",
        "40",
        "-c",
        tests_dir,
        &command,
    ]);
    let before_render = tmux
        .wait_for("six steps complete and render running", |screen| {
            screen
                .lines()
                .filter(|line| line.contains(" complete"))
                .count()
                == 6
                && step_line(screen, "render")
                    .first()
                    .is_some_and(|line| line.contains("running"))
        })
        .await;
    println!("--- while render runs ---\n{before_render}");
    gate.add_permits(1);
    let finished = tmux
        .wait_for("the end of the scan", |screen| screen.contains("EXIT="))
        .await;
    println!("--- at the end ---\n{finished}");

    for step in Step::ALL {
        let lines = step_line(&finished, step.as_str());
        assert_eq!(lines.len(), 1, "one line for {step}:\n{finished}");
        assert!(
            lines[0].contains("complete"),
            "{step} completed:\n{finished}"
        );
    }
    for step in &Step::ALL[..6] {
        let lines = step_line(&before_render, step.as_str());
        assert_eq!(lines.len(), 1, "one line for {step}:\n{before_render}");
    }
    assert!(finished.contains("EXIT=0"), "{finished}");
    assert!(finished.contains("/r/"), "the report URL:\n{finished}");
    assert!(
        finished.contains("polling every 1.5 s"),
        "the fall-back is said:\n{finished}"
    );
    assert_eq!(proxy.sockets_cut.load(Ordering::SeqCst), 1);
    let requests = proxy.requests();
    let socket_at = requests
        .iter()
        .position(|line| line.contains("/ws?since=0"));
    let poll_at = requests
        .iter()
        .position(|line| line.contains("/events?since="));
    assert!(
        matches!((socket_at, poll_at), (Some(ws), Some(poll)) if ws < poll),
        "WebSocket first, then polling: {requests:#?}"
    );
    // Polling resumed after the cursor of the last event the socket delivered.
    let first_poll = &requests[poll_at.unwrap()];
    assert!(!first_poll.ends_with("since=0"), "{first_poll}");

    // 2. The same with plain lines: every event exactly once, in order, across the cut.
    gate.add_permits(1);
    let output = tokio::process::Command::new(&binary)
        .args([
            "scan",
            "https://demo-shop.recon.test/",
            "--from-har",
            "fixtures/demo.har",
            "--no-progress",
        ])
        .current_dir(tests_dir)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RECON_SERVER", &proxy.url)
        .env("RECON_API_KEY", &stack.key)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let shown: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with('['))
        .collect();
    let expected: Vec<String> = Step::ALL
        .iter()
        .flat_map(|step| [format!("[{step}] started"), format!("[{step}] complete")])
        .collect();
    let shown_bare: Vec<&str> = shown
        .iter()
        .map(|line| line.split(": ").next().unwrap_or(line))
        .collect();
    assert_eq!(shown_bare, expected, "{stderr}");
    assert!(stderr.contains("polling every 1.5 s"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no escape codes: {stderr}");
    assert_eq!(proxy.sockets_cut.load(Ordering::SeqCst), 2);
    println!("--- plain lines ---\n{stderr}");

    stack.stop().await;
    gated.abort_all();
}
