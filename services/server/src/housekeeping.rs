//! Periodic work beside the roles: the orphan sweep, the pruning of quota usage no window counts
//! any more, and the scans-by-status gauge (with the api role), and the consumer-lag gauge of
//! every consumer this process pulls from.

use std::time::Duration;

use recon_contracts::names;
use recon_runtime::metrics::{metrics, ConsumerLabels, StatusLabels};
use recon_runtime::stage::Deps;
use recon_runtime::sweep;
use tokio_util::sync::CancellationToken;

use crate::Role;

const LAG_SAMPLE_EVERY: Duration = Duration::from_secs(15);

/// The sweep at start-up and then every `sweep_interval`; the pruning and scans gauge with it.
pub async fn run_sweeper(deps: Deps, shutdown: CancellationToken) {
    let every = deps.pipeline.sweep_interval;
    let mut sweeper = sweep::Sweeper::default();
    loop {
        match sweeper
            .sweep(&deps.db, &deps.bus, deps.pipeline.orphan_after)
            .await
        {
            Ok(swept) if !swept.is_empty() => {
                tracing::warn!(count = swept.len(), "orphan sweep marked scans errored")
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "orphan sweep failed; will retry"),
        }
        if let Err(err) = recon_runtime::quota::prune(&deps.db).await {
            tracing::warn!(error = %err, "cannot prune old quota usage; will retry");
        }
        sample_scans(&deps).await;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
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

/// The stream and durable consumer a role pulls from.
fn consumer_of(role: Role) -> Option<(&'static str, &'static str)> {
    match role {
        Role::Api => None,
        Role::Events => Some((names::SCAN_EVENTS_STREAM, names::EVENTS_CONSUMER)),
        Role::Stage(step) => Some((names::SCANS_STREAM, step.consumer_name())),
    }
}

/// Samples the lag of the consumers of `roles` until shutdown.
pub async fn run_lag_sampler(deps: Deps, roles: Vec<Role>, shutdown: CancellationToken) {
    let consumers: Vec<_> = roles.into_iter().filter_map(consumer_of).collect();
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
                            consumer: (*consumer).to_owned(),
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
