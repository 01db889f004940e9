//! Moving to a new layout of partitions without losing an event or reordering a scan's.
//!
//! `ensure_streams` (every role, at start-up) points the stream's subject transform at the
//! configured layout, whose size is part of the stored subject, so the consumers of an earlier
//! layout (the single `events` consumer of 0.3.0, or `events-<M>-<p>` for another size M) get
//! nothing new. A recorder records every event those consumers still hold, one at a time as
//! before, deletes each once it is empty, and only then starts on the new partitions: a scan
//! whose events straddle the change keeps its publication order. Recorders that start while
//! another drains drain alongside it through the same one-in-flight consumer.

use std::time::Duration;

use async_nats::jetstream::context::ConsumerInfoErrorKind;
use futures::StreamExt;
use recon_runtime::nats::{BusError, PullConsumer};
use recon_runtime::stage::Deps;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Records what the consumers of earlier layouts still hold and deletes them; returns early
/// (leaving them for the next start) on shutdown.
pub(crate) async fn drain_earlier_layouts(
    deps: &Deps,
    shutdown: &CancellationToken,
) -> Result<(), BusError> {
    let stale = deps
        .bus
        .stale_event_consumers(deps.pipeline.event_partitions)
        .await?;
    for consumer in stale {
        let name = consumer.cached_info().name.clone();
        info!(consumer = %name, "draining the events consumer of an earlier layout");
        if !drain(deps, consumer, shutdown).await? {
            return Ok(());
        }
        deps.bus.delete_event_consumer(&name).await?;
        info!(consumer = %name, "events consumer of an earlier layout drained and deleted");
    }
    Ok(())
}

/// Records until the consumer has nothing pending or in flight (or is gone: another recorder
/// drained and deleted it). False when shutdown came first.
async fn drain(
    deps: &Deps,
    mut consumer: PullConsumer,
    shutdown: &CancellationToken,
) -> Result<bool, BusError> {
    loop {
        if shutdown.is_cancelled() {
            return Ok(false);
        }
        match consumer.info().await {
            Ok(info) if info.num_pending == 0 && info.num_ack_pending == 0 => return Ok(true),
            Ok(_) => {}
            Err(err) if err.kind() == ConsumerInfoErrorKind::NotFound => return Ok(true),
            Err(err) => {
                return Err(BusError::JetStream {
                    action: "reading an events consumer",
                    message: err.to_string(),
                })
            }
        }
        let batch = consumer
            .fetch()
            .max_messages(1)
            .expires(Duration::from_secs(1))
            .messages()
            .await;
        match batch {
            Ok(mut batch) => {
                while let Some(next) = batch.next().await {
                    match next {
                        Ok(message) => crate::record::record(deps, &message).await,
                        Err(err) => {
                            warn!(error = %err, "pull from an earlier layout failed; retrying");
                            break;
                        }
                    }
                }
            }
            Err(err) => {
                warn!(error = %err, "cannot pull from an earlier layout; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}
