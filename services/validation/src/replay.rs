//! One replay exchange: vet the URL, take from the budgets, wait for the host's pace, send,
//! and follow redirects by hand with every hop vetted again.

use std::time::{Duration, Instant};

use recon_contracts::{NetworkTier, ReplayAttempt, ReplayProfile, RequestRecord, Verdict};
use tokio::sync::Semaphore;
use url::Url;

use crate::budget::{Budget, BudgetExhausted};
use crate::guard::{AddressGuard, Refusal};
use crate::proxy::{Redactor, Route};
use crate::ratelimit::HostPacer;
use crate::request::ReplayRequest;
use crate::transport::{Hop, RawResponse, Transport, TransportError};
use crate::verdict::{judge, Judgement};

/// Redirect hops followed before giving up.
pub const MAX_REDIRECTS: usize = 5;

/// Why an exchange produced no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeFailure {
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    #[error("{0}")]
    Budget(#[from] BudgetExhausted),
    #[error("{0}")]
    Transport(#[from] TransportError),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
}

/// The shared machinery of one scan's replays.
pub struct Replayer<'a> {
    pub guard: AddressGuard,
    pub transport: &'a dyn Transport,
    pub budget: Budget,
    pub pacer: HostPacer,
    pub slots: Semaphore,
    pub timeout: Duration,
    pub redactor: Redactor,
}

/// An attempt, with what the cascade needs beyond the report row.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub attempt: ReplayAttempt,
    pub response: Option<RawResponse>,
    pub failure: Option<ExchangeFailure>,
    pub rate_limited: bool,
    /// Requests this attempt sent (redirect hops included).
    pub sent: u32,
}

impl Outcome {
    /// How long the server asked us to wait (Retry-After), or the default back-off.
    pub fn backoff(&self) -> std::time::Duration {
        self.response
            .as_ref()
            .and_then(|response| {
                crate::ratelimit::rate_limit_of(response.status, &response.headers)
            })
            .and_then(|limit| limit.retry_after_secs)
            .map(std::time::Duration::from_secs)
            .unwrap_or(crate::cascade::DEFAULT_BACKOFF)
    }

    pub fn passed(&self) -> bool {
        self.attempt.verdict == Verdict::Pass
    }
}

impl Replayer<'_> {
    /// Sends `request` as `profile` over `route` and judges the answer against `record`'s.
    pub async fn attempt(
        &self,
        record: &RequestRecord,
        request: &ReplayRequest,
        profile: ReplayProfile,
        route: &Route,
    ) -> Outcome {
        let started = Instant::now();
        let mut sent = 0;
        let follow_redirects = !record
            .response
            .as_ref()
            .is_some_and(|response| (300..400).contains(&response.status));
        let result = self
            .exchange(request, profile, route, follow_redirects, &mut sent)
            .await;
        let latency_ms = Some(started.elapsed().as_millis() as u64);
        let tier: NetworkTier = route.tier();
        match result {
            Ok(response) => {
                let Judgement {
                    verdict,
                    reason,
                    similarity,
                    content_type,
                    rate_limited,
                } = judge(record.response.as_ref(), &response);
                Outcome {
                    attempt: ReplayAttempt {
                        profile,
                        tier,
                        status: Some(response.status),
                        verdict,
                        reason: Some(self.redactor.redact(&reason)),
                        latency_ms,
                        bytes: Some(response.body.len() as u64),
                        content_type,
                        similarity,
                    },
                    response: Some(response),
                    failure: None,
                    rate_limited,
                    sent,
                }
            }
            Err(failure) => Outcome {
                attempt: ReplayAttempt {
                    profile,
                    tier,
                    status: None,
                    verdict: Verdict::Error,
                    reason: Some(self.redactor.redact(&failure.to_string())),
                    latency_ms,
                    bytes: None,
                    content_type: None,
                    similarity: None,
                },
                response: None,
                failure: Some(failure),
                rate_limited: false,
                sent,
            },
        }
    }

    async fn exchange(
        &self,
        request: &ReplayRequest,
        profile: ReplayProfile,
        route: &Route,
        follow_redirects: bool,
        sent: &mut u32,
    ) -> Result<RawResponse, ExchangeFailure> {
        let mut request = request.clone();
        let mut url = Url::parse(&request.url).map_err(|_| Refusal::NotHttp)?;
        let first_host = url.host_str().map(str::to_owned);
        for _ in 0..=MAX_REDIRECTS {
            // Vetting comes first: a refused hop spends nothing and opens nothing, on a proxied
            // route too (the proxy would connect wherever it is told).
            let target = self.guard.vet(&url).await?;
            self.budget.spend(&target.host)?;
            self.pacer.wait(&target.host).await;
            let response = {
                let _slot = self.slots.acquire().await.map_err(|_| {
                    ExchangeFailure::Transport(TransportError::Other("shutting down".into()))
                })?;
                // Counted as sent once it is handed to the network, whatever comes back.
                *sent += 1;
                self.transport
                    .send(Hop {
                        target: &target,
                        request: &request,
                        profile,
                        route,
                        timeout: self.timeout,
                    })
                    .await?
            };
            let location = response.header("location").map(str::to_owned);
            match location {
                Some(location) if follow_redirects && (300..400).contains(&response.status) => {
                    url = url.join(&location).map_err(|_| Refusal::NotHttp)?;
                    request.url = url.to_string();
                    if matches!(response.status, 301..=303) && request.method != "HEAD" {
                        request.method = "GET".to_owned();
                        request.body = None;
                        request.headers.retain(|(name, _)| name != "content-type");
                    }
                    if url.host_str().map(str::to_owned) != first_host {
                        // A browser would not send this host's cookies or credentials there.
                        request.cookies.clear();
                        request.headers.retain(|(name, _)| name != "authorization");
                    }
                }
                _ => return Ok(response),
            }
        }
        Err(ExchangeFailure::TooManyRedirects)
    }
}
