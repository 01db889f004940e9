//! Prometheus metrics of every role, in one registry per process: HTTP latency, stage duration
//! and outcomes, consumer lag, scans by status, client versions, quota refusals. `/metrics` on
//! the operations listener renders them.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// The route pattern (`/scans/{id}`), never the raw path, so ids don't explode the series.
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    pub stage: String,
    /// processed, retried, failed, dropped.
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConsumerLabels {
    pub stream: String,
    pub consumer: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabels {
    pub version: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QuotaLabels {
    pub quota: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    pub http_request_duration: HistogramFamily<HttpLabels>,
    pub stage_duration: HistogramFamily<StageLabels>,
    pub stage_messages: Family<StageLabels, Counter>,
    pub consumer_pending: Family<ConsumerLabels, Gauge>,
    pub scans: Family<StatusLabels, Gauge>,
    pub client_requests: Family<VersionLabels, Counter>,
    pub orphans_swept: Counter,
    pub quota_refusals: Family<QuotaLabels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

fn stage_histogram() -> Histogram {
    // 5 ms to ~5 min: validation replays take long.
    Histogram::new(exponential_buckets(0.005, 2.0, 17))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("recon");
        let http_request_duration: HistogramFamily<HttpLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency of the api, by route and status",
            http_request_duration.clone(),
        );
        let stage_duration: HistogramFamily<StageLabels> =
            Family::new_with_constructor(stage_histogram);
        registry.register(
            "stage_duration_seconds",
            "Time a stage spent on one message, by outcome",
            stage_duration.clone(),
        );
        let stage_messages = Family::<StageLabels, Counter>::default();
        registry.register(
            "stage_messages",
            "Pipeline messages handled by a stage, by outcome",
            stage_messages.clone(),
        );
        let consumer_pending = Family::<ConsumerLabels, Gauge>::default();
        registry.register(
            "consumer_pending_messages",
            "JetStream consumer lag: messages not yet delivered plus delivered but unacknowledged",
            consumer_pending.clone(),
        );
        let scans = Family::<StatusLabels, Gauge>::default();
        registry.register("scans", "Scans by status", scans.clone());
        let client_requests = Family::<VersionLabels, Counter>::default();
        registry.register(
            "client_requests",
            "API requests by the CLI version of their User-Agent (`other` for non-CLI clients and versions that are not releases)",
            client_requests.clone(),
        );
        let orphans_swept = Counter::default();
        registry.register(
            "orphans_swept",
            "Scans stuck in processing that the sweep marked errored",
            orphans_swept.clone(),
        );
        let quota_refusals = Family::<QuotaLabels, Counter>::default();
        registry.register(
            "quota_refusals",
            "Requests refused because their account was over a quota, by quota",
            quota_refusals.clone(),
        );
        Metrics {
            registry,
            http_request_duration,
            stage_duration,
            stage_messages,
            consumer_pending,
            scans,
            client_requests,
            orphans_swept,
            quota_refusals,
        }
    }

    pub fn count_quota_refusal(&self, quota: recon_contracts::Quota) {
        self.quota_refusals
            .get_or_create(&QuotaLabels {
                quota: quota.as_str().to_owned(),
            })
            .inc();
    }

    pub fn observe_stage(&self, stage: &str, outcome: &str, elapsed: Duration) {
        let labels = StageLabels {
            stage: stage.to_owned(),
            outcome: outcome.to_owned(),
        };
        self.stage_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        self.stage_messages.get_or_create(&labels).inc();
    }

    pub fn observe_http(&self, labels: HttpLabels, elapsed: Duration) {
        self.http_request_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_values_appear_in_the_exposition() {
        metrics().observe_stage("detection", "processed", Duration::from_millis(12));
        metrics()
            .client_requests
            .get_or_create(&VersionLabels {
                version: "0.3.0".into(),
            })
            .inc();
        let text = metrics().render();
        assert!(
            text.contains("recon_stage_messages_total{stage=\"detection\",outcome=\"processed\"}")
        );
        assert!(text.contains("recon_stage_duration_seconds_bucket"));
        assert!(text.contains("recon_client_requests_total{version=\"0.3.0\"}"));
        assert!(text.contains("# EOF"));
    }
}
