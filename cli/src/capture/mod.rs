//! Recording a site in Chrome (DESIGN.md § The CLI). We find the browser ([`chrome`]) and
//! start it with a fresh profile in its own process group, with DevTools on a pipe rather than
//! a TCP port ([`launch`]); our own DevTools client ([`cdp`]) drives it over that pipe. The
//! recording auto-attaches to every page, frame and worker target, service workers included,
//! so a response a service worker serves never hides the network call behind it, and the
//! [`recorder`] gets every event as JSON, the ExtraInfo ones included.

pub mod cdp;
pub mod cdp_types;
pub mod chrome;
mod launch;
pub mod pipe_frames;
mod recorder;

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use recon_contracts::Capture;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use self::cdp::{CdpClient, CdpError, CdpEvent};
use self::cdp_types as types;
pub use self::recorder::{BodyFetch, Recorder};
pub use self::recorder::{BodyLimits, RecorderStats};

/// How long bodies still being read may delay the end of a capture.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// The cookie jar is read now and then, so closing the window (which ends the browser) still
/// leaves a recent copy.
const COOKIE_SNAPSHOT_EVERY: Duration = Duration::from_secs(2);
/// Targets whose network traffic is recorded.
const RECORDED_KINDS: [&str; 5] = [
    "page",
    "iframe",
    "service_worker",
    "shared_worker",
    "worker",
];

#[derive(Debug, Clone)]
pub struct CaptureOptions {
    pub target_url: String,
    pub headless: bool,
    /// Where Chrome keeps its profile; a fresh temporary one when `None`.
    pub profile: Option<PathBuf>,
    pub limits: BodyLimits,
}

/// Why recording stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    DurationElapsed,
    EnterPressed,
    WindowClosed,
    BrowserExited,
    Interrupted,
}

impl StopReason {
    pub fn describe(self) -> &'static str {
        match self {
            StopReason::DurationElapsed => "the duration elapsed",
            StopReason::EnterPressed => "Enter was pressed",
            StopReason::WindowClosed => "the browser window was closed",
            StopReason::BrowserExited => "the browser exited",
            StopReason::Interrupted => "Ctrl-C was pressed",
        }
    }
}

pub struct Recording {
    pub capture: Capture,
    pub stats: RecorderStats,
    pub stopped_by: StopReason,
    pub elapsed: Duration,
    /// Set when Chrome could not open the target URL (e.g. `net::ERR_CONNECTION_REFUSED`).
    pub navigation_error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(transparent)]
    ChromeNotFound(#[from] chrome::FindError),
    #[error(
        "there is no display to open a Chrome window on (DISPLAY is not set); record without a \
         window with `--headless --duration 30s`, or import a HAR file with --from-har"
    )]
    NoDisplay,
    #[error("cannot use the Chrome profile directory {}: {reason}", path.display())]
    Profile { path: PathBuf, reason: String },
    #[error("cannot start {}: {reason}", browser.display())]
    Launch { browser: PathBuf, reason: String },
    #[error("recording in Chrome failed: {0}")]
    Cdp(#[from] CdpError),
}

/// The browser to record with, or why recording cannot start; checked before the user is told
/// to start browsing.
pub fn preflight(headless: bool) -> Result<PathBuf, CaptureError> {
    let executable = chrome::find_chrome(std::env::var_os(chrome::CHROME_PATH_ENV))?;
    if !headless && !has_display() {
        return Err(CaptureError::NoDisplay);
    }
    Ok(executable)
}

/// Launches Chrome, records until `stop` resolves (or the window closes), and returns the
/// capture. The browser and its temporary profile are gone when this returns.
pub async fn record(
    options: &CaptureOptions,
    stop: impl Future<Output = StopReason>,
) -> Result<Recording, CaptureError> {
    let executable = preflight(options.headless)?;
    let temporary_profile;
    let profile_dir = match &options.profile {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|error| CaptureError::Profile {
                path: dir.clone(),
                reason: error.to_string(),
            })?;
            dir.clone()
        }
        None => {
            temporary_profile = tempfile::Builder::new()
                .prefix("recon-chrome-")
                .tempdir()
                .map_err(|error| CaptureError::Profile {
                    path: std::env::temp_dir(),
                    reason: error.to_string(),
                })?;
            temporary_profile.path().to_owned()
        }
    };
    let launch_error = |reason: String| CaptureError::Launch {
        browser: executable.clone(),
        reason: crate::exit::one_line(&reason),
    };
    let args = launch::chrome_args(&profile_dir, options.headless, running_as_root());
    let launch::LaunchedChrome {
        mut child,
        cdp,
        events,
        browser_version,
    } = launch::launch(&executable, &args)
        .await
        .map_err(launch_error)?;

    let result = Session::start(cdp.clone(), events, browser_version, options).await;
    let result = match result {
        Ok(session) => Ok(session.run(stop).await),
        Err(error) => Err(error),
    };

    let _ =
        tokio::time::timeout(SHUTDOWN_TIMEOUT, cdp.call("Browser.close", json!({}), None)).await;
    if tokio::time::timeout(SHUTDOWN_TIMEOUT, child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
    result
}

struct Session {
    cdp: CdpClient,
    events: mpsc::UnboundedReceiver<CdpEvent>,
    recorder: Recorder,
    target_url: String,
    main_target: String,
    browser_version: Option<String>,
    recorded_targets: HashSet<String>,
}

impl Session {
    async fn start(
        cdp: CdpClient,
        events: mpsc::UnboundedReceiver<CdpEvent>,
        browser_version: Option<String>,
        options: &CaptureOptions,
    ) -> Result<Session, CaptureError> {
        cdp.call("Target.setDiscoverTargets", json!({"discover": true}), None)
            .await?;
        let existing = cdp.call("Target.getTargets", json!({}), None).await?;
        cdp.call(
            "Target.setAutoAttach",
            json!({"autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true}),
            None,
        )
        .await?;
        let created = cdp
            .call("Target.createTarget", json!({"url": "about:blank"}), None)
            .await?;
        let main_target = created["targetId"].as_str().unwrap_or_default().to_owned();
        // The blank tab Chrome opened on start would only confuse the user.
        for info in existing["targetInfos"].as_array().into_iter().flatten() {
            let blank = matches!(
                info["url"].as_str(),
                Some("about:blank" | "chrome://newtab/" | "chrome://new-tab-page/")
            );
            if info["type"] == "page" && blank {
                let _ = cdp
                    .call(
                        "Target.closeTarget",
                        json!({"targetId": info["targetId"]}),
                        None,
                    )
                    .await;
            }
        }
        Ok(Session {
            cdp,
            events,
            recorder: Recorder::new(&options.target_url, now_ms(), options.limits),
            target_url: options.target_url.clone(),
            main_target,
            browser_version,
            recorded_targets: HashSet::new(),
        })
    }

    async fn run(mut self, stop: impl Future<Output = StopReason>) -> Recording {
        let started = Instant::now();
        let (ready_sender, mut ready) = mpsc::unbounded_channel::<(String, String)>();
        let mut bodies: FuturesUnordered<
            BoxFuture<'static, (BodyFetch, Result<types::ResponseBody, String>)>,
        > = FuturesUnordered::new();
        let mut cookie_reads: FuturesUnordered<BoxFuture<'static, Option<types::Cookies>>> =
            FuturesUnordered::new();
        let mut navigation: FuturesUnordered<BoxFuture<'static, Option<String>>> =
            FuturesUnordered::new();
        let mut navigation_error = None;
        let mut cookie_timer = tokio::time::interval(COOKIE_SNAPSHOT_EVERY);
        let mut live_pages: HashSet<String> = HashSet::new();
        let mut navigated = false;
        tokio::pin!(stop);

        let stopped_by = loop {
            tokio::select! {
                event = self.events.recv() => {
                    let Some(event) = event else { break StopReason::BrowserExited };
                    match event.method.as_str() {
                        "Target.attachedToTarget" => {
                            let Ok(attached) = types::AttachedToTarget::deserialize(&event.params) else { continue };
                            self.attach(attached, &ready_sender, &mut live_pages);
                        }
                        "Target.targetDestroyed" => {
                            let Ok(gone) = types::TargetDestroyed::deserialize(&event.params) else { continue };
                            if live_pages.remove(&gone.target_id) && live_pages.is_empty() && navigated {
                                break StopReason::WindowClosed;
                            }
                        }
                        _ => {
                            if let Some(fetch) = self.recorder.on_event(&event) {
                                bodies.push(Box::pin(fetch_body(self.cdp.clone(), fetch)));
                            }
                        }
                    }
                }
                Some((session, target)) = ready.recv() => {
                    if target == self.main_target && !navigated {
                        navigated = true;
                        navigation.push(Box::pin(navigate(self.cdp.clone(), session, self.target_url.clone())));
                    }
                }
                Some((fetch, answer)) = bodies.next(), if !bodies.is_empty() => {
                    self.recorder.on_body(&fetch, answer);
                }
                Some(cookies) = cookie_reads.next(), if !cookie_reads.is_empty() => {
                    if let Some(cookies) = cookies {
                        self.recorder.set_cookies(cookies.cookies);
                    }
                }
                Some(error) = navigation.next(), if !navigation.is_empty() => {
                    navigation_error = error;
                }
                _ = cookie_timer.tick() => {
                    if cookie_reads.is_empty() {
                        cookie_reads.push(Box::pin(read_cookies(self.cdp.clone())));
                    }
                }
                reason = &mut stop => break reason,
            }
        };

        let elapsed = started.elapsed();
        if stopped_by != StopReason::BrowserExited && stopped_by != StopReason::WindowClosed {
            // Bodies still being read and the final cookie jar; events keep being read so a
            // body's reply is never stuck behind them.
            let drain = async {
                while !bodies.is_empty() {
                    tokio::select! {
                        Some((fetch, answer)) = bodies.next() => self.recorder.on_body(&fetch, answer),
                        Some(event) = self.events.recv() => {
                            if event.method.starts_with("Network.") {
                                // Late events still complete records; no new bodies are read.
                                let _ = self.recorder.on_event(&event);
                            }
                        }
                        else => break,
                    }
                }
            };
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain).await;
            if let Some(cookies) = read_cookies(self.cdp.clone()).await {
                self.recorder.set_cookies(cookies.cookies);
            }
            // Titles as they are now (a title set by script after load included).
            if let Ok(targets) = self.cdp.call("Target.getTargets", json!({}), None).await {
                for info in targets["targetInfos"].as_array().into_iter().flatten() {
                    let _ = self.recorder.on_event(&CdpEvent {
                        method: "Target.targetInfoChanged".into(),
                        params: json!({"targetInfo": info}),
                        session_id: None,
                    });
                }
            }
        }
        let stats = self.recorder.stats.clone();
        let capture = self.recorder.finish(now_ms(), self.browser_version.clone());
        Recording {
            capture,
            stats,
            stopped_by,
            elapsed,
            navigation_error,
        }
    }

    /// A new target: record it if it has network traffic, then let it run.
    fn attach(
        &mut self,
        attached: types::AttachedToTarget,
        ready: &mpsc::UnboundedSender<(String, String)>,
        live_pages: &mut HashSet<String>,
    ) {
        let kind = attached.target_info.kind.clone();
        let target_id = attached.target_info.target_id.clone();
        let session = attached.session_id.clone();
        // A worker is attached both from the browser and from its page: record it once.
        let recorded = RECORDED_KINDS.contains(&kind.as_str())
            && self.recorded_targets.insert(target_id.clone());
        if recorded {
            self.recorder.add_session(&session, &target_id, &kind);
        }
        if kind == "page" {
            live_pages.insert(target_id.clone());
        }
        let cdp = self.cdp.clone();
        let ready = ready.clone();
        let waiting = attached.waiting_for_debugger;
        tokio::spawn(async move {
            // Sent together, not one after the other: a worker paused on start may not answer
            // Network.enable until it runs.
            let enable = async {
                if recorded {
                    let _ = cdp
                        .call(
                            "Network.enable",
                            json!({
                                "maxTotalBufferSize": 256 << 20,
                                "maxResourceBufferSize": 32 << 20,
                                "maxPostDataSize": 1 << 20,
                            }),
                            Some(&session),
                        )
                        .await;
                }
            };
            let attach_children = async {
                if kind == "page" || kind == "iframe" {
                    let _ = cdp
                        .call(
                            "Target.setAutoAttach",
                            json!({"autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true}),
                            Some(&session),
                        )
                        .await;
                }
            };
            let resume = async {
                if waiting {
                    let _ = cdp
                        .call("Runtime.runIfWaitingForDebugger", json!({}), Some(&session))
                        .await;
                }
            };
            futures::join!(enable, attach_children, resume);
            let _ = ready.send((session, target_id));
        });
    }
}

use serde::Deserialize;

async fn fetch_body(
    cdp: CdpClient,
    fetch: BodyFetch,
) -> (BodyFetch, Result<types::ResponseBody, String>) {
    let answer = cdp
        .call(
            "Network.getResponseBody",
            json!({"requestId": fetch.request_id}),
            fetch.session_id.as_deref(),
        )
        .await
        .map_err(|error| error.to_string())
        .and_then(|value| {
            types::ResponseBody::deserialize(&value).map_err(|error| error.to_string())
        });
    (fetch, answer)
}

async fn read_cookies(cdp: CdpClient) -> Option<types::Cookies> {
    let value: Value = cdp.call("Storage.getCookies", json!({}), None).await.ok()?;
    types::Cookies::deserialize(&value).ok()
}

/// Opens the target URL; returns Chrome's error text when it could not.
async fn navigate(cdp: CdpClient, session: String, url: String) -> Option<String> {
    match cdp
        .call("Page.navigate", json!({"url": url}), Some(&session))
        .await
    {
        Ok(answer) => answer["errorText"]
            .as_str()
            .filter(|text| !text.is_empty())
            .map(str::to_owned),
        Err(error) => Some(error.to_string()),
    }
}

fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64() * 1000.0)
}

#[cfg(all(unix, not(target_os = "macos")))]
fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn has_display() -> bool {
    true
}

#[cfg(target_os = "linux")]
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

#[cfg(not(target_os = "linux"))]
fn running_as_root() -> bool {
    false
}
