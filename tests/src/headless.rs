//! Real headless Chromium for the tests of pages the server renders (the report, `/admin`): one
//! browser with a throwaway profile, and a page whose console errors (CSP violations included),
//! uncaught exceptions and requests are recorded, so a test can assert there were none beyond
//! what it expects.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::log::{
    EnableParams as LogEnable, EventEntryAdded, LogEntryLevel,
};
use chromiumoxide::cdp::browser_protocol::network::EventRequestWillBeSent;
use chromiumoxide::cdp::js_protocol::runtime::{
    ConsoleApiCalledType, EvaluateParams, EventConsoleApiCalled, EventExceptionThrown,
};
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures::StreamExt;
use tempfile::TempDir;

/// A running headless Chromium (RECON_TEST_CHROME); closed by [`Headless::close`].
pub struct Headless {
    pub browser: Browser,
    driver: tokio::task::JoinHandle<()>,
    _profile: TempDir,
}

impl Headless {
    pub async fn launch() -> Headless {
        let chrome = crate::harness_env("RECON_TEST_CHROME");
        let profile = TempDir::new().expect("a Chromium profile dir");
        let config = BrowserConfig::builder()
            .chrome_executable(chrome)
            .new_headless_mode()
            .no_sandbox()
            .user_data_dir(profile.path())
            .window_size(1280, 900)
            .arg("--disable-gpu")
            .arg("--no-first-run")
            .build()
            .expect("a Chromium configuration");
        let (browser, mut handler) = Browser::launch(config).await.expect("launch Chromium");
        let driver = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Headless {
            browser,
            driver,
            _profile: profile,
        }
    }

    /// A blank page with its events recorded from the start.
    pub async fn page(&self) -> (Page, PageEvents) {
        let page = self
            .browser
            .new_page("about:blank")
            .await
            .expect("a Chromium page");
        let events = listen(&page).await;
        (page, events)
    }

    pub async fn close(mut self) {
        self.browser.close().await.ok();
        self.browser.wait().await.ok();
        self.driver.abort();
    }
}

/// What a page did: the URLs it requested, and every console error, uncaught exception and
/// error-level log entry (where Chromium reports CSP violations).
pub struct PageEvents {
    pub requests: Arc<Mutex<Vec<String>>>,
    pub errors: Arc<Mutex<Vec<String>>>,
}

async fn listen(page: &Page) -> PageEvents {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let mut sent = page
        .event_listener::<EventRequestWillBeSent>()
        .await
        .expect("request events");
    let mut console = page
        .event_listener::<EventConsoleApiCalled>()
        .await
        .expect("console events");
    let mut thrown = page
        .event_listener::<EventExceptionThrown>()
        .await
        .expect("exception events");
    let mut logged = page
        .event_listener::<EventEntryAdded>()
        .await
        .expect("log events");
    page.execute(LogEnable::default())
        .await
        .expect("log domain");
    let seen = requests.clone();
    tokio::spawn(async move {
        while let Some(event) = sent.next().await {
            seen.lock().unwrap().push(event.request.url.clone());
        }
    });
    let (e1, e2, e3) = (errors.clone(), errors.clone(), errors.clone());
    tokio::spawn(async move {
        while let Some(event) = console.next().await {
            if matches!(
                event.r#type,
                ConsoleApiCalledType::Error | ConsoleApiCalledType::Assert
            ) {
                e1.lock()
                    .unwrap()
                    .push(format!("console: {:?}", event.args));
            }
        }
    });
    tokio::spawn(async move {
        while let Some(event) = thrown.next().await {
            e2.lock()
                .unwrap()
                .push(format!("exception: {:?}", event.exception_details));
        }
    });
    tokio::spawn(async move {
        while let Some(event) = logged.next().await {
            if event.entry.level == LogEntryLevel::Error {
                e3.lock()
                    .unwrap()
                    .push(format!("log: {}", event.entry.text));
            }
        }
    });
    PageEvents { requests, errors }
}

/// The value of a JavaScript expression in the page (promises awaited), or why there is none.
async fn try_eval<T: serde::de::DeserializeOwned>(
    page: &Page,
    expression: &str,
) -> Result<T, String> {
    let params = EvaluateParams::builder()
        .expression(expression)
        .await_promise(true)
        .build()
        .map_err(|err| err.to_string())?;
    page.evaluate_expression(params)
        .await
        .map_err(|err| format!("evaluating {expression}: {err}"))?
        .into_value()
        .map_err(|err| format!("value of {expression}: {err}"))
}

/// The value of a JavaScript expression in the page (promises awaited).
pub async fn eval<T: serde::de::DeserializeOwned>(page: &Page, expression: &str) -> T {
    try_eval(page, expression)
        .await
        .unwrap_or_else(|err| panic!("{err}"))
}

/// Waits (up to 5 s) until `expression` is true in the page; while the page navigates (its
/// context is gone for a moment) it keeps asking.
pub async fn wait_for(page: &Page, expression: &str) {
    for _ in 0..100 {
        if try_eval::<bool>(page, expression).await == Ok(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never true: {expression}");
}
