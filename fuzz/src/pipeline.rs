//! The pipeline's steps chained as production chains them (detection → analysis → intent →
//! validation → scrub → synthesis → render; drift, which compares two scans, is left out and
//! render gets none), so each stage's target feeds it what the stages before it really produce. Validation replays through an in-process transport whose answers
//! the fuzzer scripts: no packet leaves the process, and paused tokio time makes Retry-After
//! back-offs instant.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arbitrary::Arbitrary;
use recon_contracts::{
    Capture, Detection, Header, IntentRanking, Inventory, ProxySecrets, ScrubSummary, Validation,
    ValidationSettings,
};
use recon_validation::transport::{Hop, RawResponse, Sending, Transport, TransportError};
use recon_validation::{ReplayEnvironment, StaticResolver, ValidationInput};

use crate::{pick, Text, BLOCK_PAGES, HOSTS};

const INTENTS: &[&str] = &[
    "product prices",
    "search results",
    "reviews of a product",
    "my orders",
    "",
    "stock levels per store and sku",
];
const TEMPLATES: &[&str] = &["python", "python-httpx", "curl_cffi", "rust", "curl", ""];

/// What the user asked for when starting the scan.
#[derive(Debug, Arbitrary)]
pub struct Intent {
    pub text: u8,
    pub free_text: Option<Vec<Text>>,
    pub template: u8,
}

impl Intent {
    pub fn text(&self) -> String {
        match &self.free_text {
            Some(words) => words.iter().map(Text::render).collect::<Vec<_>>().join(" "),
            None => pick(INTENTS, self.text).to_string(),
        }
    }

    pub fn template(&self) -> &'static str {
        pick(TEMPLATES, self.template)
    }
}

/// How the replayed site answers, one answer per replay request in turn.
#[derive(Debug, Clone, Arbitrary)]
pub enum Answer {
    /// The response the capture recorded for that URL (404 when there is none).
    AsCaptured,
    Status(u16, Vec<(u8, Text)>, Vec<u8>),
    BlockPage(u16, u8),
    RateLimited(Text),
    Redirect(Text),
    Timeout,
    Refused,
    Truncated,
}

#[derive(Debug, Arbitrary)]
pub struct SiteScript {
    pub answers: Vec<Answer>,
    pub full_matrix: bool,
    pub top_endpoints: u8,
}

/// The site as the fuzzer scripts it.
struct ScriptedSite<'c> {
    capture: &'c Capture,
    answers: Vec<Answer>,
    next: AtomicUsize,
}

impl Transport for ScriptedSite<'_> {
    fn send<'a>(&'a self, hop: Hop<'a>) -> Sending<'a> {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        let answer = if self.answers.is_empty() {
            Answer::AsCaptured
        } else {
            self.answers[turn % self.answers.len()].clone()
        };
        let url = hop.request.url.clone();
        Box::pin(async move { self.answer(&url, answer) })
    }
}

impl ScriptedSite<'_> {
    fn answer(&self, url: &str, answer: Answer) -> Result<RawResponse, TransportError> {
        let raw = |status: u16, headers: Vec<Header>, body: Vec<u8>| RawResponse {
            status,
            headers,
            body: body.into(),
            truncated: false,
        };
        Ok(match answer {
            Answer::AsCaptured => {
                let recorded = self
                    .capture
                    .requests
                    .iter()
                    .find(|r| r.url == url)
                    .and_then(|r| r.response.as_ref());
                match recorded {
                    Some(response) => {
                        let body = response
                            .body
                            .as_ref()
                            .map(|b| b.data.clone().into_bytes())
                            .unwrap_or_default();
                        raw(response.status, response.headers.clone(), body)
                    }
                    None => raw(404, Vec::new(), b"not found".to_vec()),
                }
            }
            Answer::Status(status, headers, body) => raw(
                status,
                headers
                    .iter()
                    .map(|(name, value)| {
                        Header::new(pick(crate::HEADER_NAMES, *name).to_owned(), value.render())
                    })
                    .collect(),
                body,
            ),
            Answer::BlockPage(status, page) => raw(
                status,
                vec![
                    Header::new("content-type", "text/html"),
                    Header::new("server", "cloudflare"),
                ],
                pick(BLOCK_PAGES, page).as_bytes().to_vec(),
            ),
            Answer::RateLimited(after) => raw(
                429,
                vec![Header::new("retry-after", after.render())],
                Vec::new(),
            ),
            Answer::Redirect(to) => {
                raw(302, vec![Header::new("location", to.render())], Vec::new())
            }
            Answer::Timeout => return Err(TransportError::Timeout),
            Answer::Refused => return Err(TransportError::Other("connection refused".to_owned())),
            Answer::Truncated => RawResponse {
                status: 200,
                headers: vec![Header::new("content-type", "application/json")],
                body: b"{\"items\":[1,2".to_vec().into(),
                truncated: true,
            },
        })
    }
}

/// A single-threaded runtime with paused time: sleeps (back-offs, pacing) end at once.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds")
}

pub fn validate(
    capture: &Capture,
    inventory: &Inventory,
    ranking: &IntentRanking,
    script: &SiteScript,
) -> Validation {
    let site = ScriptedSite {
        capture,
        answers: script.answers.clone(),
        next: AtomicUsize::new(0),
    };
    // Every host the recipes use resolves to a public address; others do not resolve.
    let resolver = StaticResolver::new(HOSTS.iter().map(|host| {
        (
            host.split(':').next().unwrap_or(host),
            vec!["93.184.215.14"],
        )
    }));
    let settings = ValidationSettings {
        top_endpoints: usize::from(script.top_endpoints % 6),
        full_matrix: script.full_matrix,
        request_timeout: Duration::from_secs(5),
        ..ValidationSettings::default()
    };
    let secrets = ProxySecrets::default();
    runtime().block_on(recon_validation::validate(
        ValidationInput {
            capture,
            inventory,
            ranking,
        },
        ReplayEnvironment {
            settings: &settings,
            secrets: &secrets,
            resolver: Arc::new(resolver),
            transport: &site,
        },
    ))
}

/// Every step's result for one capture, as the stages compute them.
pub struct Results {
    pub detection: Detection,
    pub inventory: Inventory,
    pub ranking: IntentRanking,
    pub validation: Validation,
    pub scrubbed: recon_scrub::Scrubbed,
}

impl Results {
    pub fn synthesize(&self) -> recon_contracts::Synthesis {
        recon_synthesis::synthesize(&recon_synthesis::SynthesisInputs {
            scrubbed: &self.scrubbed.capture,
            detection: &self.detection,
            inventory: &self.inventory,
            ranking: &self.ranking,
            validation: &self.validation,
        })
    }
}

pub fn run_to_synthesis(capture: &Capture, intent: &Intent, script: &SiteScript) -> Results {
    let detection = recon_detection::detect(capture);
    let inventory = recon_analysis::analyze(capture, &detection);
    let ranking = recon_intent::rank(&inventory, &intent.text(), intent.template());
    let validation = validate(capture, &inventory, &ranking, script);
    let scrubbed = recon_scrub::scrub(capture.clone());
    Results {
        detection,
        inventory,
        ranking,
        validation,
        scrubbed,
    }
}

pub fn scrub_summary(scrubbed: &recon_scrub::Scrubbed) -> ScrubSummary {
    ScrubSummary {
        scrubbed_capture_key: "captures/fuzz.scrubbed.json.gz".to_owned(),
        replacements: scrubbed.replacements,
        by_kind: scrubbed.by_kind.clone(),
    }
}
