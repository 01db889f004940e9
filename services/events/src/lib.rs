//! The events recorder (target `events`): persists every progress event from `SCAN_EVENTS`
//! as a `scan_events` row with a gap-free per-scan cursor.
//!
//! JetStream maps each scan onto one of `RECON_EVENT_PARTITIONS` partitions. Each partition has
//! one durable consumer that lets a single event be in flight across all recorders, so a scan's
//! rows appear in its publication order while scans in different partitions record in
//! parallel. Every recorder runs one task per partition: one process already records that many
//! scans at once, and more processes add failover. The cursor itself is made safe against
//! concurrent writers in `recon_runtime::db::events`.
//!
//! A change of layout (from the single consumer of 0.3.0, or to another number of partitions)
//! is handled in [`layout`]: the old consumers are drained before the new partitions record.

mod layout;
mod record;

use recon_runtime::nats::BusError;
use recon_runtime::stage::Deps;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub async fn run_recorder(deps: Deps, shutdown: CancellationToken) -> Result<(), BusError> {
    let partitions = deps.pipeline.event_partitions;
    let mut consumers = Vec::with_capacity(usize::from(partitions));
    for partition in 0..partitions {
        consumers.push(
            deps.bus
                .event_partition_consumer(&deps.pipeline, partition)
                .await?,
        );
    }
    if !layout::drain_earlier_layouts(&deps, &shutdown).await? {
        info!("events recorder stopped while draining an earlier layout");
        return Ok(());
    }
    info!(partitions, "events recorder ready");
    let mut tasks = JoinSet::new();
    for (partition, consumer) in (0..partitions).zip(consumers) {
        let deps = deps.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            let role = format!("events partition {partition}");
            let deps = &deps;
            recon_runtime::consume::consume_in_order(
                &consumer,
                &role,
                &shutdown,
                |message| async move { record::record(deps, &message).await },
            )
            .await;
        });
    }
    while tasks.join_next().await.is_some() {}
    info!("events recorder stopped");
    Ok(())
}
