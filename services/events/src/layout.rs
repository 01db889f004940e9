//! Moving to a new layout of partitions without losing an event or reordering a scan's.
//!
//! The size of a layout is part of its stored subjects, and whichever role switches the
//! stream's subject transform to a layout first creates that layout's consumers
//! (`Bus::ensure_streams`), so every stored event has a consumer, and the consumers of an
//! earlier layout (the single `events` consumer of 0.3.0, or `events-<M>-<p>` for another size
//! M) receive nothing new once the layout changed. Before recording its own partitions, a
//! recorder records what those consumers still hold in stream order: it always takes the
//! consumer whose next event is the oldest, and only up to the next event of any other, so a
//! scan whose events straddle one or more layout changes keeps its publication order. Each
//! consumer is deleted once empty. Recorders that start together drain together; an event one
//! fetches out of turn is handed back.

use std::time::Duration;

use async_nats::jetstream::context::ConsumerInfoErrorKind;
use async_nats::jetstream::{self, AckKind};
use futures::StreamExt;
use recon_runtime::nats::{BusError, PullConsumer};
use recon_runtime::stage::Deps;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Records what the consumers of earlier layouts still hold and deletes them. False when
/// shutdown came first (they are left for the next start).
pub(crate) async fn drain_earlier_layouts(
    deps: &Deps,
    shutdown: &CancellationToken,
) -> Result<bool, BusError> {
    let mut stale = deps
        .bus
        .stale_event_consumers(deps.pipeline.event_partitions)
        .await?;
    for consumer in &stale {
        info!(consumer = %consumer.cached_info().name, "draining the events consumer of an earlier layout");
    }
    while !stale.is_empty() {
        if shutdown.is_cancelled() {
            return Ok(false);
        }
        let mut heads = Vec::with_capacity(stale.len());
        let mut index = 0;
        while index < stale.len() {
            match next_of(deps, &mut stale[index]).await? {
                Head::Gone => {
                    let name = stale.remove(index).cached_info().name.clone();
                    deps.bus.delete_event_consumer(&name).await?;
                    info!(consumer = %name, "events consumer of an earlier layout drained and deleted");
                }
                Head::Next(sequence) => {
                    heads.push((sequence, index));
                    index += 1;
                }
            }
        }
        heads.sort_unstable();
        let Some(&(_, oldest)) = heads.first() else {
            continue;
        };
        let bound = heads.get(1).map_or(u64::MAX, |&(sequence, _)| sequence);
        record_before(deps, &stale[oldest], bound).await;
    }
    Ok(true)
}

enum Head {
    /// Nothing pending or in flight (or another recorder deleted it).
    Gone,
    /// The stream sequence of its oldest event not yet stored (perhaps in flight at another
    /// recorder, or handed back for redelivery).
    Next(u64),
}

async fn next_of(deps: &Deps, consumer: &mut PullConsumer) -> Result<Head, BusError> {
    let info = match consumer.info().await {
        Ok(info) => info.clone(),
        Err(err) if err.kind() == ConsumerInfoErrorKind::NotFound => return Ok(Head::Gone),
        Err(err) => {
            return Err(BusError::JetStream {
                action: "reading an events consumer",
                message: err.to_string(),
            })
        }
    };
    if info.num_pending == 0 && info.num_ack_pending == 0 {
        return Ok(Head::Gone);
    }
    // One event in flight at most: everything up to the ack floor is stored, and the next
    // event after it is the one to store next.
    let from = info.ack_floor.stream_sequence + 1;
    let next = deps
        .bus
        .next_event_sequence(&info.config.filter_subject, from)
        .await?;
    // None: counted as pending but already gone from the stream (its age ran out); fetching
    // settles the count, after the others.
    Ok(Head::Next(next.unwrap_or(u64::MAX)))
}

/// Records the consumer's events while they are older than `bound` (the next event of any
/// other earlier-layout consumer).
async fn record_before(deps: &Deps, consumer: &PullConsumer, bound: u64) {
    loop {
        let batch = consumer
            .fetch()
            .max_messages(1)
            .expires(Duration::from_secs(1))
            .messages()
            .await;
        let mut batch = match batch {
            Ok(batch) => batch,
            Err(err) => {
                warn!(error = %err, "cannot pull from an earlier layout; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
                return;
            }
        };
        let message = match batch.next().await {
            Some(Ok(message)) => message,
            Some(Err(err)) => {
                warn!(error = %err, "pull from an earlier layout failed; retrying");
                return;
            }
            None => return,
        };
        if sequence_of(&message).is_none_or(|sequence| sequence >= bound) {
            // Another recorder moved this consumer on meanwhile: its turn comes later.
            if let Err(err) = message.ack_with(AckKind::Nak(None)).await {
                warn!(error = %err, "handing back an event failed; it will be redelivered");
            }
            return;
        }
        crate::record::record(deps, &message).await;
    }
}

fn sequence_of(message: &jetstream::Message) -> Option<u64> {
    message.info().ok().map(|info| info.stream_sequence)
}
