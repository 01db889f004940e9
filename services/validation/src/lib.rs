//! Validation (target `validation`): which client profile and proxy tier can replay each
//! top-ranked endpoint, what the cheapest passing combination needs (the minimal cookies and
//! headers), and why the others failed.
//!
//! [`validate`] is the stage as a function of the capture, the inventory, the ranking, the
//! settings, the proxy secret and two seams: the [`Resolver`] the SSRF guard asks, and the
//! [`Transport`] that sends. Tests swap either; production uses the system resolver and
//! reqwest/wreq.

mod budget;
mod cascade;
pub mod cookies;
mod diagnosis;
pub mod graphql;
pub mod guard;
pub mod proxy;
pub mod ratelimit;
pub mod read_only;
mod recommend;
mod replay;
pub mod request;
pub mod resolver;
mod similarity;
pub mod transport;
mod tunnel;
mod verdict;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use recon_contracts::{
    AuthKind, Capture, EndpointValidation, IntentRanking, Inventory, NotReplayed,
    NotReplayedReason, ProxySecrets, RequestRecord, RotationMode, Validation, ValidationSettings,
};
use tokio::sync::Semaphore;

pub use cascade::PROFILES;
pub use guard::{refusal_reason, AddressGuard, Refusal};
pub use resolver::{Resolver, StaticResolver, SystemResolver};
pub use transport::{HttpTransport, Transport};

use crate::budget::Budget;
use crate::proxy::{ProxyTier, Redactor};
use crate::ratelimit::HostPacer;
use crate::read_only::CouldChangeState;
use crate::replay::Replayer;

/// What validation reads from earlier steps.
#[derive(Debug, Clone, Copy)]
pub struct ValidationInput<'a> {
    pub capture: &'a Capture,
    pub inventory: &'a Inventory,
    pub ranking: &'a IntentRanking,
}

/// Where and how validation may replay.
pub struct ReplayEnvironment<'a> {
    pub settings: &'a ValidationSettings,
    pub secrets: &'a ProxySecrets,
    pub resolver: Arc<dyn Resolver>,
    pub transport: &'a dyn Transport,
}

/// Replays the top-ranked endpoints. Never fails: what could not be done is in the notes.
pub async fn validate(input: ValidationInput<'_>, env: ReplayEnvironment<'_>) -> Validation {
    let settings = env.settings;
    let redactor = Redactor::new(env.secrets);
    let captured_hosts: BTreeSet<String> = input
        .capture
        .requests
        .iter()
        .filter_map(|request| url::Url::parse(&request.url).ok())
        .filter_map(|url| match url.host()? {
            url::Host::Ipv6(ip) => Some(format!("[{ip}]")),
            host => Some(host.to_string()),
        })
        .collect();
    let replayer = Replayer {
        guard: AddressGuard::new(
            env.resolver.clone(),
            settings.allow_loopback,
            &settings.allowed_ports,
            captured_hosts,
        ),
        transport: env.transport,
        budget: Budget::new(
            settings.max_requests_per_scan,
            settings.max_requests_per_host,
        ),
        pacer: HostPacer::default(),
        slots: Semaphore::new(settings.concurrency.max(1)),
        timeout: settings.request_timeout,
        redactor: redactor.clone(),
    };
    let tiers = ProxyTier::from_secrets(env.secrets);
    let mut notes = vec![tiers_note(&tiers)];

    let requests = requests_by_id(input.capture);
    let mut jobs = Vec::new();
    for ranked in input.ranking.ranked.iter().take(settings.top_endpoints) {
        let endpoint = input
            .inventory
            .endpoints
            .iter()
            .find(|endpoint| endpoint.id == ranked.endpoint_id);
        let sample = endpoint.map_or(Sample::Missing, |endpoint| {
            pick_sample(&requests, &endpoint.request_ids)
        });
        let antibot: Vec<String> = endpoint
            .map(|endpoint| {
                endpoint
                    .auth
                    .iter()
                    .filter(|auth| auth.kind == AuthKind::AntiBotCookie)
                    .map(|auth| auth.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        jobs.push((ranked.endpoint_id.clone(), sample, antibot));
    }

    // Phase one: every endpoint's cascade, so the diagnosis of one cannot starve another.
    let cascades = futures::future::join_all(
        jobs.iter()
            .map(|(_, sample, _)| cascade_for(&replayer, &tiers, sample, settings.full_matrix)),
    )
    .await;

    // Phase two: the diagnosis of each endpoint that needed the browser's headers or cookies.
    let mut results = Vec::new();
    for ((endpoint_id, sample, antibot), cascade) in jobs.iter().zip(cascades) {
        let mut result = EndpointValidation {
            endpoint_id: endpoint_id.clone(),
            ..Default::default()
        };
        let cascade = match cascade {
            Ok(cascade) => cascade,
            Err(not_replayed) => {
                tracing::info!(
                    endpoint_id = %result.endpoint_id,
                    reason = ?not_replayed.reason,
                    "endpoint not replayed"
                );
                result.not_replayed = Some(not_replayed);
                results.push(result);
                continue;
            }
        };
        result.attempts = cascade.attempts;
        result.best = cascade.best;
        result.rate_limit = cascade.rate_limit;
        result.requests_sent = cascade.sent;
        let mut extra_notes = cascade.notes;
        if let Some(refusal) = cascade.refusal {
            if cascade.sent == 0 {
                result.not_replayed = Some(NotReplayed {
                    reason: NotReplayedReason::TargetRefused,
                    detail: refusal.to_string(),
                });
            } else {
                extra_notes.push(format!("Stopped: a later request was refused ({refusal})."));
            }
        }
        if let (Some(best), Some(route), Sample::Replayable(record)) =
            (cascade.best, cascade.best_route.as_ref(), sample)
        {
            if let Some(diagnosis) = diagnosis::minimize(&replayer, record, best, route).await {
                result.requests_sent += diagnosis.sent;
                if !diagnosis.untested.is_empty() {
                    extra_notes.push(format!(
                        "The diagnosis could not test {} (budget or rate limit); kept them in the minimal set.",
                        diagnosis.untested.join(", ")
                    ));
                }
                result.minimal = Some(diagnosis.minimal);
            }
            result.recommendation = Some(recommend::endpoint_recommendation(
                best,
                result.minimal.as_ref(),
            ));
        }
        tracing::info!(
            endpoint_id = %result.endpoint_id,
            best = ?result.best,
            attempts = result.attempts.len(),
            requests = result.requests_sent,
            "endpoint validated"
        );
        result.notes = recommend::endpoint_notes(&result, antibot);
        result.notes.extend(extra_notes);
        result.notes = result
            .notes
            .iter()
            .map(|note| redactor.redact(note))
            .collect();
        results.push(result);
    }

    let requests_sent = results.iter().map(|result| result.requests_sent).sum();
    if results.is_empty() {
        notes.push("No ranked endpoints to validate.".to_owned());
    }
    Validation {
        recommendation: recommend::overall_recommendation(&results),
        results,
        notes,
        requests_sent,
    }
}

/// One endpoint's cascade, or why it was not replayed.
async fn cascade_for(
    replayer: &Replayer<'_>,
    tiers: &[ProxyTier],
    sample: &Sample<'_>,
    full_matrix: bool,
) -> Result<cascade::CascadeResult, NotReplayed> {
    let sample = match sample {
        Sample::Replayable(record) => *record,
        Sample::CouldChangeState(why) => {
            return Err(NotReplayed {
                reason: NotReplayedReason::CouldChangeState,
                detail: why.to_string(),
            })
        }
        Sample::Missing => {
            return Err(NotReplayed {
                reason: NotReplayedReason::NoCapturedResponse,
                detail: "nothing to compare a replay with".to_owned(),
            })
        }
    };
    let session = session_id();
    Ok(cascade::run_cascade(replayer, sample, tiers, full_matrix, &session).await)
}

enum Sample<'a> {
    Replayable(&'a RequestRecord),
    CouldChangeState(CouldChangeState),
    Missing,
}

/// The capture's requests by id, built once: endpoints name their requests by id, and looking
/// each up in the request list would make validation quadratic in the capture. The first
/// request of an id wins, should a capture repeat one.
fn requests_by_id(capture: &Capture) -> HashMap<&str, &RequestRecord> {
    let mut requests = HashMap::with_capacity(capture.requests.len());
    for request in &capture.requests {
        requests.entry(request.id.as_str()).or_insert(request);
    }
    requests
}

/// The captured request to replay: a successful one that cannot change state when there is
/// one; otherwise why the endpoint's first request could.
fn pick_sample<'a>(
    requests: &HashMap<&str, &'a RequestRecord>,
    request_ids: &[String],
) -> Sample<'a> {
    let records: Vec<&RequestRecord> = request_ids
        .iter()
        .filter_map(|id| requests.get(id.as_str()).copied())
        .filter(|request| recon_contracts::is_http_url(&request.url) && request.response.is_some())
        .collect();
    let successful = |record: &&&RequestRecord| {
        record
            .response
            .as_ref()
            .is_some_and(|response| (200..300).contains(&response.status))
    };
    let read_only: Vec<&RequestRecord> = records
        .iter()
        .copied()
        .filter(|record| read_only::check(record).is_ok())
        .collect();
    if let Some(record) = read_only.iter().find(successful).or(read_only.first()) {
        return Sample::Replayable(record);
    }
    match records.first().map(|record| read_only::check(record)) {
        Some(Err(why)) => Sample::CouldChangeState(why),
        _ => Sample::Missing,
    }
}

fn session_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..10)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.gen_range(0..36)]))
        .collect()
}

fn tiers_note(tiers: &[ProxyTier]) -> String {
    let mut names = vec!["direct".to_owned()];
    names.extend(tiers.iter().map(|tier| {
        format!(
            "{} ({})",
            tier.tier.name(),
            match tier.rotation {
                RotationMode::Sticky => "sticky",
                RotationMode::Rotating => "rotating",
            }
        )
    }));
    format!("Tiers tried, cheapest first: {}.", names.join(", "))
}

/// The step's summary line: how many endpoints replay without a browser, requests sent.
pub fn summary_line(validation: &Validation) -> String {
    let passed = validation
        .results
        .iter()
        .filter(|r| r.best.is_some())
        .count();
    let not_replayed = validation
        .results
        .iter()
        .filter(|r| r.not_replayed.is_some())
        .count();
    let mut summary = format!(
        "{passed} of {} endpoint(s) replayable without a browser; {} request(s) sent",
        validation.results.len(),
        validation.requests_sent
    );
    if not_replayed > 0 {
        summary.push_str(&format!("; {not_replayed} not replayed"));
    }
    summary
}
