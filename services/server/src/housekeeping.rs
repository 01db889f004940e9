//! Periodic work beside the roles: the orphan sweep (each sweep that marked scans errored is
//! recorded for the admin page), report retention (ended scans older than
//! `RECON_REPORT_RETENTION_DAYS` are deleted with everything made from them), the pruning of
//! quota usage no window counts any more and of expired admin sessions, and the
//! scans-by-status gauge (with the api role), and the consumer-lag gauge of every consumer this
//! process pulls from.

use std::time::Duration;

use recon_contracts::{names, Step};
use recon_runtime::db;
use recon_runtime::metrics::{metrics, ConsumerLabels, StatusLabels};
use recon_runtime::stage::Deps;
use recon_runtime::sweep;
use tokio_util::sync::CancellationToken;

use crate::Role;

const LAG_SAMPLE_EVERY: Duration = Duration::from_secs(15);

/// The sweep at start-up and then every `sweep_interval`; retention, the pruning and the scans
/// gauge with it. `steps` is the pipeline in order, to name the step a stuck scan stopped in.
pub async fn run_sweeper(deps: Deps, steps: Vec<Step>, shutdown: CancellationToken) {
    let every = deps.pipeline.sweep_interval;
    let mut sweeper = sweep::Sweeper::default();
    loop {
        match sweeper
            .sweep(&deps.db, &deps.bus, &steps, deps.pipeline.orphan_after)
            .await
        {
            Ok(swept) if !swept.is_empty() => {
                tracing::warn!(count = swept.len(), "orphan sweep marked scans errored");
                if let Err(err) = db::orphan_sweeps::record(&deps.db, swept.len()).await {
                    tracing::warn!(error = %err, "cannot record the orphan sweep");
                }
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "orphan sweep failed; will retry"),
        }
        report_retention(&deps).await;
        if let Err(err) = recon_runtime::quota::prune(&deps.db).await {
            tracing::warn!(error = %err, "cannot prune old quota usage; will retry");
        }
        if let Err(err) = db::admin_sessions::prune(&deps.db).await {
            tracing::warn!(error = %err, "cannot prune expired admin sessions; will retry");
        }
        sample_scans(&deps).await;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Ended scans older than the retention, deleted with everything made from them.
async fn report_retention(deps: &Deps) {
    let retention = deps.retention.report_retention;
    let blob = match deps.blob_store() {
        Ok(blob) => blob,
        Err(err) => return tracing::warn!(error = %err, "report retention cannot run"),
    };
    match db::scan_deletion::sweep_expired(&deps.db, blob, retention).await {
        Ok(0) => {}
        Ok(deleted) => tracing::info!(
            deleted,
            retention_days = retention.as_secs_f64() / 86_400.0,
            "report retention deleted ended scans"
        ),
        Err(err) => tracing::warn!(error = %err, "report retention failed; will retry"),
    }
}

async fn sample_scans(deps: &Deps) {
    if let Ok(counts) = recon_runtime::db::scans::count_by_status(&deps.db).await {
        for status in ["created", "processing", "complete", "errored"] {
            let count = counts
                .iter()
                .find(|(name, _)| name == status)
                .map_or(0, |(_, count)| *count);
            metrics()
                .scans
                .get_or_create(&StatusLabels {
                    status: status.to_owned(),
                })
                .set(count);
        }
    }
}

/// The stream and durable consumers a role pulls from: one per stage, one per partition of the
/// events layout of `event_partitions` partitions for the recorder.
fn consumers_of(role: Role, event_partitions: u16) -> Vec<(&'static str, String)> {
    match role {
        Role::Api => Vec::new(),
        Role::Events => (0..event_partitions)
            .map(|partition| {
                (
                    names::SCAN_EVENTS_STREAM,
                    names::events_partition_consumer(event_partitions, partition),
                )
            })
            .collect(),
        Role::Stage(name) => vec![(names::SCANS_STREAM, name.to_owned())],
    }
}

/// Samples the lag of the consumers of `roles` until shutdown.
pub async fn run_lag_sampler(deps: Deps, roles: Vec<Role>, shutdown: CancellationToken) {
    let partitions = deps.pipeline.event_partitions;
    let consumers: Vec<_> = roles
        .into_iter()
        .flat_map(|role| consumers_of(role, partitions))
        .collect();
    if consumers.is_empty() {
        return;
    }
    loop {
        for (stream, consumer) in &consumers {
            match deps.bus.consumer_lag(stream, consumer).await {
                Ok(lag) => {
                    metrics()
                        .consumer_pending
                        .get_or_create(&ConsumerLabels {
                            stream: (*stream).to_owned(),
                            consumer: consumer.clone(),
                        })
                        .set(i64::try_from(lag).unwrap_or(i64::MAX));
                }
                Err(err) => tracing::debug!(%consumer, error = %err, "consumer lag unavailable"),
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(LAG_SAMPLE_EVERY) => {}
        }
    }
}
