//! The generic stage loop, the same for every stage: consume → load → run → save → `complete`
//! → publish next → ack, wrapped in the step guard. An outage of a dependency (database, blob
//! store, secrets, NATS) holds the message with back-off until it ends, without using up its
//! deliveries; a permanent failure terminates it and errors the scan. Progress acks while a long
//! step runs or a message is held, and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind};
use recon_contracts::{decode_message, Capture, CaptureBounds, StageMessage, StageResult, Step};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn, Instrument};
use uuid::Uuid;

use crate::blob::BlobStore;
use crate::config::{RetentionSettings, ValidationSettings};
use crate::db::history::PreviousScan;
use crate::db::{self, scans::ScanRecord};
pub use crate::deps::Deps;
use crate::nats::BusError;
use crate::secrets::ProxySecrets;
use crate::step::StepGuard;
use crate::StageError;

/// What a stage hands back: its result (stored in `stage_results`), a one-line summary for
/// the `complete` event and, rarely, a headline the client repeats when the scan ends.
pub struct StageOutput {
    pub result: serde_json::Value,
    pub summary: String,
    pub headline: Option<String>,
}

impl StageOutput {
    pub fn new<T: serde::Serialize>(
        result: &T,
        summary: impl Into<String>,
    ) -> Result<StageOutput, StageError> {
        Ok(StageOutput {
            result: serde_json::to_value(result)
                .map_err(|err| StageError::permanent_from("cannot encode the result", err))?,
            summary: summary.into(),
            headline: None,
        })
    }

    /// Sends `headline` in the `complete` event's metadata (`recon_contracts::HEADLINE_KEY`): the
    /// CLI prints it after the last step, whatever step it came from.
    pub fn with_headline(self, headline: impl Into<String>) -> StageOutput {
        StageOutput {
            headline: Some(headline.into()),
            ..self
        }
    }
}

/// One pipeline stage: the adapter from its plain function to the runtime.
pub trait Stage: Send + Sync + 'static {
    /// The step's name: its target, consumer and `stage_results` row (for a real stage, the
    /// `StageResult::STEP` of what it stores).
    const STEP: &'static str;
    fn run(
        &self,
        ctx: &StageContext,
    ) -> impl Future<Output = Result<StageOutput, StageError>> + Send;
}

/// Where a stage sits in the pipeline, as the server's registry places it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagePlace {
    /// The subject it consumes (the previous stage's output, or `scan.captured`).
    pub consumes: &'static str,
    /// The subject it publishes when done.
    pub publishes: &'static str,
    /// The pipeline's last stage: storing its result completes the scan.
    pub last: bool,
}

/// The inputs of one stage run, loaded on demand.
pub struct StageContext {
    pub scan: ScanRecord,
    deps: Deps,
}

impl StageContext {
    pub fn new(scan: ScanRecord, deps: Deps) -> StageContext {
        StageContext { scan, deps }
    }

    pub fn blob(&self) -> Result<&dyn BlobStore, StageError> {
        Ok(self.deps.blob_store()?)
    }

    /// The raw capture the user uploaded.
    pub async fn capture(&self) -> Result<Capture, StageError> {
        self.load_capture(&recon_contracts::names::capture_key(self.scan.id))
            .await
    }

    /// A capture stored as gzip JSON under `key` (the raw or the scrubbed one), decoded.
    pub async fn load_capture(&self, key: &str) -> Result<Capture, StageError> {
        self.stored_capture(key).await?.decode()
    }

    /// A capture stored under `key`, fetched but not decoded yet: for a stage that decodes it
    /// on the blocking thread that works on it.
    pub async fn stored_capture(&self, key: &str) -> Result<StoredCapture, StageError> {
        Ok(StoredCapture {
            bytes: self.deps.blob_store()?.get(key).await?,
            key: key.to_owned(),
            bounds: self.deps.limits.bounds.clone(),
        })
    }

    /// The stored result of an earlier step: the type names the step.
    pub async fn result<T: StageResult>(&self) -> Result<T, StageError> {
        self.result_of(self.scan.id).await
    }

    /// The same account's previous complete scan of the same site, if there is one.
    pub async fn previous_scan(&self) -> Result<Option<PreviousScan>, StageError> {
        Ok(db::history::previous_complete(&self.deps.db, self.scan.id).await?)
    }

    /// A stored result of `scan_id` (this scan or one from its history).
    pub async fn result_of<T: StageResult>(&self, scan_id: Uuid) -> Result<T, StageError> {
        let step = T::STEP;
        let value = db::results::load(&self.deps.db, scan_id, step)
            .await?
            .ok_or_else(|| {
                StageError::permanent(format!("the {step} result of scan {scan_id} is missing"))
            })?;
        serde_json::from_value(value).map_err(|err| {
            StageError::permanent_from(format!("the stored {step} result is unreadable"), err)
        })
    }

    pub fn validation_settings(&self) -> &ValidationSettings {
        &self.deps.validation
    }

    /// The same run with at most `max_requests` replay requests (what the account's quota
    /// leaves; see `quota::validation`).
    pub fn with_replay_budget(&self, max_requests: u32) -> StageContext {
        let mut deps = self.deps.clone();
        deps.validation.max_requests_per_scan =
            deps.validation.max_requests_per_scan.min(max_requests);
        StageContext::new(self.scan.clone(), deps)
    }

    /// For the runtime's own wrappers around a stage; stages get their inputs from the methods.
    pub(crate) fn deps(&self) -> &Deps {
        &self.deps
    }

    pub fn retention_settings(&self) -> &RetentionSettings {
        &self.deps.retention
    }

    pub async fn proxy_secrets(&self) -> Result<ProxySecrets, StageError> {
        Ok(self.deps.secrets_store()?.load_proxy_secrets().await?)
    }
}

/// A stored capture's compressed bytes and the bounds to decode them under.
pub struct StoredCapture {
    key: String,
    bytes: bytes::Bytes,
    bounds: CaptureBounds,
}

impl StoredCapture {
    /// Decodes under the same bounds as an upload. A capture over them (the bounds were lowered
    /// since, or the blob was replaced) fails the step for good instead of being retried.
    pub fn decode(&self) -> Result<Capture, StageError> {
        crate::codec::read_capture(&self.bytes, &self.bounds).map_err(|err| self.unreadable(err))
    }

    fn unreadable(&self, err: recon_contracts::CaptureDecodeError) -> StageError {
        StageError::permanent_from(format!("stored capture {} is unreadable", self.key), err)
    }
}

/// What to tell JetStream about a message once its run is over.
#[derive(Debug, PartialEq)]
enum Disposition {
    Ack,
    Retry(Duration),
    Terminate,
}

/// Runs a stage at `place` until `shutdown` fires. The in-flight message gets `shutdown_grace`
/// to finish; after that it is nak'ed so another replica picks it up at once.
pub async fn run_stage<S: Stage>(
    deps: Deps,
    stage: S,
    place: StagePlace,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let stage = Arc::new(stage);
    let consumer = deps
        .bus
        .stage_consumer(S::STEP, place.consumes, &deps.pipeline)
        .await?;
    info!(step = %S::STEP, "stage consumer ready");
    crate::consume::consume_one_at_a_time(&consumer, S::STEP, &shutdown, |message| {
        handle_with_grace(&deps, stage.clone(), &place, message, &shutdown)
    })
    .await;
    info!(step = %S::STEP, "stage stopped");
    Ok(())
}

async fn handle_with_grace<S: Stage>(
    deps: &Deps,
    stage: Arc<S>,
    place: &StagePlace,
    message: jetstream::Message,
    shutdown: &CancellationToken,
) {
    let grace = deps.pipeline.shutdown_grace;
    let started = std::time::Instant::now();
    let outcome = tokio::select! {
        disposition = handle(deps, stage.as_ref(), place, &message) => disposition,
        _ = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            warn!(step = %S::STEP, "shutdown grace elapsed; handing the message back");
            Disposition::Retry(Duration::ZERO)
        }
    };
    let label = match outcome {
        Disposition::Ack => "processed",
        Disposition::Retry(_) => "retried",
        Disposition::Terminate => "failed",
    };
    crate::metrics::metrics().observe_stage(S::STEP, label, started.elapsed());
    let ack = match outcome {
        Disposition::Ack => message.ack().await,
        Disposition::Retry(delay) => message.ack_with(AckKind::Nak(Some(delay))).await,
        Disposition::Terminate => message.ack_with(AckKind::Term).await,
    };
    if let Err(err) = ack {
        // The message will be redelivered; every stage is idempotent.
        warn!(step = %S::STEP, error = %err, "acknowledgement failed");
    }
}

async fn handle<S: Stage>(
    deps: &Deps,
    stage: &S,
    place: &StagePlace,
    message: &jetstream::Message,
) -> Disposition {
    let delivered = message.info().map(|info| info.delivered).unwrap_or(1);
    let scan_id = match decode_message::<StageMessage>(&message.payload) {
        Ok(decoded) => decoded.scan_id,
        Err(err) => {
            warn!(step = %S::STEP, error = %err, "dropping a malformed pipeline message");
            return Disposition::Terminate;
        }
    };
    let span = tracing::info_span!("stage", step = %S::STEP, %scan_id, delivered);
    crate::trace_context::adopt_parent(&span, message.headers.as_ref());
    async {
        let started = std::time::Instant::now();
        let mut held = 0u32;
        let disposition = loop {
            match attempt(deps, stage, place, scan_id, message, held > 0).await {
                Attempt::Done(disposition) => break disposition,
                Attempt::Unavailable(error) => {
                    let delay = backoff(deps, held);
                    held = held.saturating_add(1);
                    warn!(
                        error,
                        ?delay,
                        held,
                        "a dependency is unavailable; holding the message"
                    );
                    keep_alive(message, deps.pipeline.ack_wait, tokio::time::sleep(delay)).await;
                }
            }
        };
        info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            ?disposition,
            held,
            "stage run finished"
        );
        disposition
    }
    .instrument(span)
    .await
}

/// How one try at a message ended.
enum Attempt {
    Done(Disposition),
    /// The database, the blob store, the secrets store or NATS is down: not the message's
    /// fault, so it is held (progress acks, no nak) and tried again, and the outage uses up
    /// none of its `max_deliver` deliveries however long it lasts.
    Unavailable(String),
}

async fn attempt<S: Stage>(
    deps: &Deps,
    stage: &S,
    place: &StagePlace,
    scan_id: Uuid,
    message: &jetstream::Message,
    after_outage: bool,
) -> Attempt {
    if after_outage {
        // While the stage waited the scan recorded no progress; this tells the orphan sweep
        // that the scan is still being worked on (best effort: the database may be the outage).
        let _ = db::scans::touch(&deps.db, scan_id).await;
    }
    let scan = match db::scans::get(&deps.db, scan_id).await {
        Ok(Some(scan)) => scan,
        Ok(None) => {
            warn!("no such scan; dropping the message");
            return Attempt::Done(Disposition::Terminate);
        }
        Err(err) => {
            let err = StageError::from(err);
            if err.is_transient() {
                return Attempt::Unavailable(err.report());
            }
            warn!(error = err.report(), "cannot read the scan; retrying later");
            return Attempt::Done(Disposition::Retry(deps.pipeline.retry_backoff));
        }
    };
    if scan.status == recon_contracts::ScanStatus::Errored {
        info!("scan already errored; not continuing");
        return Attempt::Done(Disposition::Ack);
    }
    match run_in_step(deps, stage, place, scan, message).await {
        Ok(()) => Attempt::Done(Disposition::Ack),
        Err(err) if err.is_transient() => Attempt::Unavailable(err.report()),
        Err(err) => {
            Attempt::Done(fail_scan(deps, scan_id, Step::named(S::STEP), &err.report()).await)
        }
    }
}

/// The wait before the next try after `tries` failed ones: `retry_backoff` doubling, at most
/// 30 s.
fn backoff(deps: &Deps, tries: u32) -> Duration {
    deps.pipeline
        .retry_backoff
        .saturating_mul(2u32.pow(tries.min(6)))
        .min(Duration::from_secs(30))
}

fn retry_later(deps: &Deps, error: &str) -> Disposition {
    let delay = backoff(deps, 0);
    warn!(error, ?delay, "transient failure; retrying");
    Disposition::Retry(delay)
}

/// Marks the scan errored, then emits `errored`: a client that sees the event finds the scan
/// already errored.
async fn fail_scan(deps: &Deps, scan_id: Uuid, step: Step, error: &str) -> Disposition {
    warn!(error, "step failed permanently");
    if let Err(err) = db::scans::mark_errored(&deps.db, scan_id, &format!("{step}: {error}")).await
    {
        return retry_later(deps, &err.to_string());
    }
    let guard = StepGuard::resume(&deps.bus, scan_id, step);
    match guard.errored(error).await {
        Ok(()) => Disposition::Terminate,
        Err(err) => retry_later(deps, &err.to_string()),
    }
}

async fn run_in_step<S: Stage>(
    deps: &Deps,
    stage: &S,
    place: &StagePlace,
    scan: ScanRecord,
    message: &jetstream::Message,
) -> Result<(), StageError> {
    let scan_id = scan.id;
    let guard = StepGuard::begin(&deps.bus, scan_id, Step::named(S::STEP)).await?;
    let ctx = StageContext::new(scan, deps.clone());
    let output = keep_alive(message, deps.pipeline.ack_wait, stage.run(&ctx)).await?;
    db::results::save(&deps.db, scan_id, S::STEP, &output.result).await?;
    if place.last {
        db::scans::mark_complete(&deps.db, scan_id).await?;
    } else {
        db::scans::touch(&deps.db, scan_id).await?;
    }
    // `complete` goes out before the hand-off, so the next step's `started` cannot overtake it.
    let metadata = recon_contracts::headline_metadata(output.headline.as_deref());
    guard.complete(Some(output.summary), metadata).await?;
    deps.bus.publish_stage(scan_id, place.publishes).await?;
    Ok(())
}

/// Sends `+WPI` progress acks while `work` runs, so a long step is not redelivered mid-run.
async fn keep_alive<T>(
    message: &jetstream::Message,
    ack_wait: Duration,
    work: impl Future<Output = T>,
) -> T {
    let period = (ack_wait / 3).max(Duration::from_millis(100));
    tokio::pin!(work);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            output = &mut work => return output,
            _ = ticker.tick() => {
                if let Err(err) = message.ack_with(AckKind::Progress).await {
                    warn!(error = %err, "progress ack failed");
                }
            }
        }
    }
}
