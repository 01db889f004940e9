//! The generic stage loop, the same for every stage: consume → load → run → save → `complete`
//! → publish next → ack, wrapped in the step guard. An outage of a dependency (database, blob
//! store, secrets, NATS) holds the message with back-off until it ends, without using up its
//! deliveries; a permanent failure terminates it and errors the scan. Progress acks while a long
//! step runs or a message is held, and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind};
use recon_contracts::{decode_message, Capture, CaptureBounds, StageMessage, Step};
use serde::de::DeserializeOwned;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn, Instrument};
use uuid::Uuid;

use crate::blob::BlobStore;
use crate::config::{
    CaptureLimits, PipelineSettings, QuotaSettings, RetentionSettings, ValidationSettings,
};
use crate::db::{self, scans::ScanRecord};
use crate::nats::{Bus, BusError};
use crate::secrets::{ProxySecrets, SecretsStore};
use crate::step::StepGuard;
use crate::StageError;

/// Everything a role may need, opened once at start-up and shared.
#[derive(Clone, Debug)]
pub struct Deps {
    pub db: PgPool,
    pub bus: Bus,
    pub blob: Arc<dyn BlobStore>,
    pub secrets: Arc<dyn SecretsStore>,
    pub pipeline: PipelineSettings,
    pub limits: CaptureLimits,
    pub validation: ValidationSettings,
    pub retention: RetentionSettings,
    pub quotas: QuotaSettings,
}

/// What a stage hands back: its result (stored in `stage_results`) and a one-line summary for
/// the `complete` event.
pub struct StageOutput {
    pub result: serde_json::Value,
    pub summary: String,
}

impl StageOutput {
    pub fn new<T: serde::Serialize>(
        result: &T,
        summary: impl Into<String>,
    ) -> Result<StageOutput, StageError> {
        Ok(StageOutput {
            result: serde_json::to_value(result).map_err(StageError::permanent)?,
            summary: summary.into(),
        })
    }
}

/// One pipeline stage: the adapter from its plain function to the runtime.
pub trait Stage: Send + Sync + 'static {
    const STEP: Step;
    fn run(
        &self,
        ctx: &StageContext,
    ) -> impl Future<Output = Result<StageOutput, StageError>> + Send;
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

    pub fn blob(&self) -> &dyn BlobStore {
        self.deps.blob.as_ref()
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
            bytes: self.deps.blob.get(key).await?,
            key: key.to_owned(),
            bounds: self.deps.limits.bounds.clone(),
        })
    }

    /// The stored result of an earlier step.
    pub async fn result<T: DeserializeOwned>(&self, step: Step) -> Result<T, StageError> {
        let value = db::results::load(&self.deps.db, self.scan.id, step)
            .await?
            .ok_or_else(|| {
                StageError::Permanent(format!("the {step} result of this scan is missing"))
            })?;
        serde_json::from_value(value).map_err(|err| {
            StageError::Permanent(format!("the stored {step} result is unreadable: {err}"))
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
        Ok(self.deps.secrets.load_proxy_secrets().await?)
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
        crate::codec::read_capture(&self.bytes, &self.bounds).map_err(|err| {
            StageError::Permanent(format!("stored capture {} is unreadable: {err}", self.key))
        })
    }
}

/// What to tell JetStream about a message once its run is over.
#[derive(Debug, PartialEq)]
enum Disposition {
    Ack,
    Retry(Duration),
    Terminate,
}

/// Runs a stage until `shutdown` fires. The in-flight message gets `shutdown_grace` to finish;
/// after that it is nak'ed so another replica picks it up at once.
pub async fn run_stage<S: Stage>(
    deps: Deps,
    stage: S,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let stage = Arc::new(stage);
    let consumer = deps.bus.stage_consumer(S::STEP, &deps.pipeline).await?;
    info!(step = %S::STEP, "stage consumer ready");
    crate::consume::consume_one_at_a_time(&consumer, S::STEP.as_str(), &shutdown, |message| {
        handle_with_grace(&deps, stage.clone(), message, &shutdown)
    })
    .await;
    info!(step = %S::STEP, "stage stopped");
    Ok(())
}

async fn handle_with_grace<S: Stage>(
    deps: &Deps,
    stage: Arc<S>,
    message: jetstream::Message,
    shutdown: &CancellationToken,
) {
    let grace = deps.pipeline.shutdown_grace;
    let started = std::time::Instant::now();
    let outcome = tokio::select! {
        disposition = handle(deps, stage.as_ref(), &message) => disposition,
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
    crate::metrics::metrics().observe_stage(S::STEP.as_str(), label, started.elapsed());
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

async fn handle<S: Stage>(deps: &Deps, stage: &S, message: &jetstream::Message) -> Disposition {
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
            match attempt(deps, stage, scan_id, message, held > 0).await {
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
            return match StageError::from(err) {
                StageError::Transient(err) => Attempt::Unavailable(err),
                StageError::Permanent(err) => {
                    warn!(error = err, "cannot read the scan; retrying later");
                    Attempt::Done(Disposition::Retry(deps.pipeline.retry_backoff))
                }
            }
        }
    };
    if scan.status == recon_contracts::ScanStatus::Errored {
        info!("scan already errored; not continuing");
        return Attempt::Done(Disposition::Ack);
    }
    match run_in_step(deps, stage, scan, message).await {
        Ok(()) => Attempt::Done(Disposition::Ack),
        Err(StageError::Transient(err)) => Attempt::Unavailable(err),
        Err(StageError::Permanent(err)) => {
            Attempt::Done(fail_scan(deps, scan_id, S::STEP, &err).await)
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
    scan: ScanRecord,
    message: &jetstream::Message,
) -> Result<(), StageError> {
    let scan_id = scan.id;
    let guard = StepGuard::begin(&deps.bus, scan_id, S::STEP).await?;
    let ctx = StageContext::new(scan, deps.clone());
    let output = keep_alive(message, deps.pipeline.ack_wait, stage.run(&ctx)).await?;
    db::results::save(&deps.db, scan_id, S::STEP, &output.result).await?;
    if S::STEP.is_last() {
        db::scans::mark_complete(&deps.db, scan_id).await?;
    } else {
        db::scans::touch(&deps.db, scan_id).await?;
    }
    // `complete` goes out before the hand-off, so the next step's `started` cannot overtake it.
    guard
        .complete(Some(output.summary), serde_json::json!({}))
        .await?;
    deps.bus
        .publish_stage(scan_id, S::STEP.output_subject())
        .await?;
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
