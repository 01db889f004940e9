//! Server configuration, read once from the environment (DESIGN.md § Configuration).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use recon_contracts::ValidationSettings;
use recon_contracts::{CaptureBounds, Limit};

#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub database_url: String,
    /// One NATS server URL, or a cluster's, separated by commas.
    pub nats_url: String,
    pub listen: SocketAddr,
    /// Where every role serves /healthz, /readyz and /metrics; `None` serves them only on the
    /// api's own listener.
    pub ops_listen: Option<SocketAddr>,
    /// Base URL for links handed to clients (report and events URLs); by default the address
    /// the api is bound to.
    pub public_url: Option<String>,
    pub blob_url: String,
    pub secrets_url: String,
    pub secrets_ttl: Duration,
    pub validation: ValidationSettings,
    pub retention: RetentionSettings,
    pub pipeline: PipelineSettings,
    pub limits: CaptureLimits,
    pub versions: VersionPolicy,
    pub http: HttpSettings,
    pub quotas: QuotaSettings,
    pub websockets: WebSocketSettings,
}

/// Each account's share of the service (DESIGN.md § Trust boundary). Over a quota, the api
/// answers 429 with Retry-After; validation replays only what the daily quota has left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaSettings {
    /// Scans of one account in processing at once (captures accepted, not yet ended).
    pub concurrent_scans: u64,
    /// Scans one account may create in a sliding hour.
    pub scans_per_hour: u64,
    /// Bytes of captures (as stored, gzip) one account may upload in a sliding 24 hours.
    pub capture_bytes_per_day: u64,
    /// Replay requests validation may send for one account in a sliding 24 hours.
    pub validation_requests_per_day: u64,
    /// WebSockets one account may hold open at once.
    pub websockets: u64,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        QuotaSettings {
            concurrent_scans: 2,
            scans_per_hour: 60,
            capture_bytes_per_day: 1 << 30,
            validation_requests_per_day: 2_000,
            websockets: 8,
        }
    }
}

/// How long an events WebSocket may stay open; the server closes it with a close frame saying
/// why, and the CLI carries on by polling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketSettings {
    /// Closed after this long without an event to send.
    pub idle_timeout: Duration,
    /// Closed this long after it opened, busy or not.
    pub max_lifetime: Duration,
}

impl Default for WebSocketSettings {
    fn default() -> Self {
        WebSocketSettings {
            idle_timeout: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(3600),
        }
    }
}

/// How the HTTP listeners (api and ops) protect themselves from slow or oversized requests.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// A connection that has not sent a complete request head this long after it opened (or
    /// after its previous response) is closed without an answer.
    pub header_read_timeout: Duration,
    /// A request body that delivers no bytes for this long is refused with 408.
    pub body_idle_timeout: Duration,
    /// A request body must be complete within this long, however steadily it trickles.
    pub body_timeout: Duration,
    /// Largest request line plus headers, in bytes; larger heads get 431 and a closed connection.
    pub max_header_bytes: usize,
    /// Most header fields in one request; more get 431 and a closed connection.
    pub max_headers: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            header_read_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(20),
            body_timeout: Duration::from_secs(120),
            max_header_bytes: 64 << 10,
            max_headers: 100,
        }
    }
}

/// How the stage loop treats JetStream deliveries.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    /// Unacknowledged messages are redelivered after this long (kept alive by progress acks).
    pub ack_wait: Duration,
    /// Deliveries of one message (a replica died mid-run, a shutdown handed it back) before
    /// JetStream stops offering it and the orphan sweep ends its scan. An outage of a
    /// dependency uses none: the message is held until the dependency is back.
    pub max_deliver: i64,
    /// First back-off after a transient failure; doubles per delivery.
    pub retry_backoff: Duration,
    /// Longest an in-flight message may take to finish on shutdown before it is nak'ed.
    pub shutdown_grace: Duration,
    /// A processing scan with no event or stage activity for this long is marked errored.
    pub orphan_after: Duration,
    /// How often the api role runs the orphan sweep.
    pub sweep_interval: Duration,
    /// Replicas of both streams and of every consumer: 1 on a single server, 3 on a
    /// three-node JetStream cluster (survives the loss of one node).
    pub replicas: usize,
    /// Partitions of the progress events: each scan's events map onto one of them, and each
    /// is recorded in publication order while different partitions record in parallel.
    pub event_partitions: u16,
}

/// How long data lives.
#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// The raw capture (live cookies and tokens) is deleted this long after its scan ends.
    pub raw_capture_grace: Duration,
    /// Ended scans (report, results, events, blobs) are deleted this long after they ended.
    pub report_retention: Duration,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            raw_capture_grace: Duration::from_secs(600),
            report_retention: Duration::from_secs(90 * 86_400),
        }
    }
}

/// Size limits of a capture: on the wire at ingest, and every dimension of it wherever it is
/// decoded (the api and every stage decode with the same bounds).
#[derive(Debug, Clone)]
pub struct CaptureLimits {
    /// Largest capture body accepted on the wire (compressed or not).
    pub max_capture_bytes: usize,
    /// Bytes after gzip decompression, requests, headers, strings, … ([`bound_variable`]).
    pub bounds: CaptureBounds,
}

#[derive(Debug, Clone)]
pub struct VersionPolicy {
    pub latest_cli: String,
    pub minimum_cli: String,
    /// Until this instant the 0.2.x `POST /scans/{id}/complete` is accepted; after it, 410 Gone.
    pub legacy_complete_sunset: chrono::DateTime<chrono::Utc>,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        PipelineSettings {
            ack_wait: Duration::from_secs(30),
            max_deliver: 8,
            retry_backoff: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(20),
            orphan_after: Duration::from_secs(600),
            sweep_interval: Duration::from_secs(60),
            replicas: 1,
            event_partitions: 8,
        }
    }
}

impl Default for CaptureLimits {
    fn default() -> Self {
        CaptureLimits {
            max_capture_bytes: 64 << 20,
            bounds: CaptureBounds::default(),
        }
    }
}

/// The variable that sets one bound of a decoded capture.
pub fn bound_variable(limit: Limit) -> &'static str {
    match limit {
        Limit::DecodedBytes => "RECON_MAX_CAPTURE_DECODED_BYTES",
        Limit::Requests => "RECON_CAPTURE_MAX_REQUESTS",
        Limit::Pages => "RECON_CAPTURE_MAX_PAGES",
        Limit::Cookies => "RECON_CAPTURE_MAX_COOKIES",
        Limit::Streams => "RECON_CAPTURE_MAX_STREAMS",
        Limit::HeadersPerRequest => "RECON_CAPTURE_MAX_HEADERS_PER_REQUEST",
        Limit::SamplesPerStream => "RECON_CAPTURE_MAX_SAMPLES_PER_STREAM",
        Limit::Samples => "RECON_CAPTURE_MAX_SAMPLES",
        Limit::Strings => "RECON_CAPTURE_MAX_STRINGS",
        Limit::StringBytes => "RECON_CAPTURE_MAX_STRING_BYTES",
        Limit::BodyBytes => "RECON_CAPTURE_MAX_BODY_BYTES",
        Limit::Nesting => "RECON_CAPTURE_MAX_NESTING",
    }
}

/// The JSON parser refuses deeper documents itself; the capture format needs five levels.
const NESTING_RANGE: std::ops::RangeInclusive<u64> = 8..=128;

fn capture_limits(get: &impl Fn(&str) -> Option<String>) -> Result<CaptureLimits, ConfigError> {
    let defaults = CaptureLimits::default();
    let mut bounds = defaults.bounds;
    for limit in Limit::ALL {
        let variable = bound_variable(limit);
        let max: u64 = parse_or(get, variable, Some(bounds.max(limit)))?;
        let allowed = match limit {
            Limit::Nesting => NESTING_RANGE,
            _ => 1..=u64::MAX,
        };
        if !allowed.contains(&max) {
            return Err(ConfigError {
                variable,
                problem: format!(
                    "{max} is out of range; use {} to {}",
                    allowed.start(),
                    allowed.end()
                ),
            });
        }
        bounds = bounds.with(limit, max);
    }
    Ok(CaptureLimits {
        max_capture_bytes: parse_or(
            get,
            "RECON_MAX_CAPTURE_BYTES",
            Some(defaults.max_capture_bytes),
        )?,
        bounds,
    })
}

const DEFAULT_LEGACY_SUNSET: &str = "2027-01-31T00:00:00Z";

impl Default for VersionPolicy {
    fn default() -> Self {
        VersionPolicy {
            latest_cli: recon_contracts::version::VERSION.to_owned(),
            minimum_cli: recon_contracts::version::VERSION.to_owned(),
            legacy_complete_sunset: chrono::DateTime::parse_from_rfc3339(DEFAULT_LEGACY_SUNSET)
                .map(|time| time.to_utc())
                .unwrap_or_default(),
        }
    }
}

impl ServerConfig {
    /// Reads the process environment. A missing or malformed value names its variable.
    pub fn from_env() -> Result<ServerConfig, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ServerConfig, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let data_dir = get("RECON_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(default_data_dir);
        let listen: SocketAddr = parse_or(&get, "RECON_LISTEN", "127.0.0.1:8080".parse().ok())?;
        let public_url = get("RECON_PUBLIC_URL").map(|url| url.trim_end_matches('/').to_owned());
        let defaults = PipelineSettings::default();
        let pipeline = PipelineSettings {
            ack_wait: seconds(&get, "RECON_ACK_WAIT_SECS", defaults.ack_wait)?,
            max_deliver: parse_or(&get, "RECON_MAX_DELIVER", Some(defaults.max_deliver))?,
            retry_backoff: millis(&get, "RECON_RETRY_BACKOFF_MS", defaults.retry_backoff)?,
            shutdown_grace: seconds(&get, "RECON_SHUTDOWN_GRACE_SECS", defaults.shutdown_grace)?,
            orphan_after: seconds(&get, "RECON_ORPHAN_AFTER_SECS", defaults.orphan_after)?,
            sweep_interval: seconds(&get, "RECON_SWEEP_INTERVAL_SECS", defaults.sweep_interval)?,
            replicas: nats_replicas(&get, defaults.replicas)?,
            event_partitions: event_partitions(&get, defaults.event_partitions)?,
        };
        let limits = capture_limits(&get)?;
        let validation_defaults = ValidationSettings::default();
        let validation = ValidationSettings {
            allow_loopback: flag(&get, "RECON_VALIDATION_ALLOW_LOOPBACK")?,
            allowed_ports: ports(
                &get,
                "RECON_VALIDATION_ALLOWED_PORTS",
                validation_defaults.allowed_ports,
            )?,
            top_endpoints: parse_or(
                &get,
                "RECON_VALIDATION_TOP_ENDPOINTS",
                Some(validation_defaults.top_endpoints),
            )?,
            full_matrix: flag(&get, "RECON_VALIDATION_FULL_MATRIX")?,
            max_requests_per_scan: parse_or(
                &get,
                "RECON_VALIDATION_MAX_REQUESTS_PER_SCAN",
                Some(validation_defaults.max_requests_per_scan),
            )?,
            max_requests_per_host: parse_or(
                &get,
                "RECON_VALIDATION_MAX_REQUESTS_PER_HOST",
                Some(validation_defaults.max_requests_per_host),
            )?,
            concurrency: parse_or(
                &get,
                "RECON_VALIDATION_CONCURRENCY",
                Some(validation_defaults.concurrency),
            )?
            .max(1),
            request_timeout: seconds(
                &get,
                "RECON_VALIDATION_TIMEOUT_SECS",
                validation_defaults.request_timeout,
            )?,
        };
        let retention = RetentionSettings {
            raw_capture_grace: seconds(
                &get,
                "RECON_RAW_CAPTURE_GRACE_SECS",
                RetentionSettings::default().raw_capture_grace,
            )?,
            report_retention: days(
                &get,
                "RECON_REPORT_RETENTION_DAYS",
                RetentionSettings::default().report_retention,
            )?,
        };
        let version_defaults = VersionPolicy::default();
        let versions = VersionPolicy {
            latest_cli: semver(
                &get,
                "RECON_LATEST_CLI_VERSION",
                version_defaults.latest_cli,
            )?,
            minimum_cli: semver(
                &get,
                "RECON_MINIMUM_CLI_VERSION",
                version_defaults.minimum_cli,
            )?,
            legacy_complete_sunset: instant(
                &get,
                "RECON_LEGACY_COMPLETE_SUNSET",
                version_defaults.legacy_complete_sunset,
            )?,
        };
        let http = http_settings(&get)?;
        let quotas = quota_settings(&get)?;
        let websockets = websocket_settings(&get)?;
        Ok(ServerConfig {
            database_url: required(&get, "DATABASE_URL")?,
            nats_url: nats_url(&get)?,
            listen,
            ops_listen: match get("RECON_OPS_LISTEN") {
                Some(_) => Some(parse_or(&get, "RECON_OPS_LISTEN", None)?),
                None => None,
            },
            public_url,
            blob_url: get("RECON_BLOB_URL")
                .unwrap_or_else(|| format!("file://{}", data_dir.join("blobs").display())),
            secrets_url: get("RECON_SECRETS_URL")
                .unwrap_or_else(|| format!("file://{}", data_dir.join("secrets.json").display())),
            secrets_ttl: seconds(&get, "RECON_SECRETS_TTL_SECS", Duration::from_secs(300))?,
            validation,
            retention,
            pipeline,
            limits,
            versions,
            http,
            quotas,
            websockets,
        })
    }
}

/// `NATS_URL`: one server or several separated by commas, each a URL the client accepts.
fn nats_url(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let urls = get("NATS_URL").unwrap_or_else(|| "nats://127.0.0.1:4222".to_owned());
    crate::nats::server_addresses(&urls).map_err(|problem| ConfigError {
        variable: "NATS_URL",
        problem,
    })?;
    Ok(urls)
}

/// JetStream keeps at most five replicas of a stream.
const REPLICAS_RANGE: std::ops::RangeInclusive<usize> = 1..=5;

fn nats_replicas(
    get: &impl Fn(&str) -> Option<String>,
    default: usize,
) -> Result<usize, ConfigError> {
    let variable = "RECON_NATS_REPLICAS";
    let replicas = parse_or(get, variable, Some(default))?;
    if !REPLICAS_RANGE.contains(&replicas) {
        return Err(ConfigError {
            variable,
            problem: format!(
                "{replicas} is out of range; JetStream keeps {} to {} replicas",
                REPLICAS_RANGE.start(),
                REPLICAS_RANGE.end()
            ),
        });
    }
    Ok(replicas)
}

/// Each partition is one durable consumer with its own task in every recorder.
const EVENT_PARTITIONS_RANGE: std::ops::RangeInclusive<u16> = 1..=64;

fn event_partitions(
    get: &impl Fn(&str) -> Option<String>,
    default: u16,
) -> Result<u16, ConfigError> {
    let variable = "RECON_EVENT_PARTITIONS";
    let partitions = parse_or(get, variable, Some(default))?;
    if !EVENT_PARTITIONS_RANGE.contains(&partitions) {
        return Err(ConfigError {
            variable,
            problem: format!(
                "{partitions} is out of range; use {} to {} partitions",
                EVENT_PARTITIONS_RANGE.start(),
                EVENT_PARTITIONS_RANGE.end()
            ),
        });
    }
    Ok(partitions)
}

fn quota_settings(get: &impl Fn(&str) -> Option<String>) -> Result<QuotaSettings, ConfigError> {
    let defaults = QuotaSettings::default();
    Ok(QuotaSettings {
        concurrent_scans: parse_or(
            get,
            "RECON_QUOTA_CONCURRENT_SCANS",
            Some(defaults.concurrent_scans),
        )?,
        scans_per_hour: parse_or(
            get,
            "RECON_QUOTA_SCANS_PER_HOUR",
            Some(defaults.scans_per_hour),
        )?,
        capture_bytes_per_day: parse_or(
            get,
            "RECON_QUOTA_CAPTURE_BYTES_PER_DAY",
            Some(defaults.capture_bytes_per_day),
        )?,
        validation_requests_per_day: parse_or(
            get,
            "RECON_QUOTA_VALIDATION_REQUESTS_PER_DAY",
            Some(defaults.validation_requests_per_day),
        )?,
        websockets: parse_or(get, "RECON_QUOTA_WEBSOCKETS", Some(defaults.websockets))?,
    })
}

fn websocket_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<WebSocketSettings, ConfigError> {
    let defaults = WebSocketSettings::default();
    Ok(WebSocketSettings {
        idle_timeout: positive_seconds(get, "RECON_WS_IDLE_TIMEOUT_SECS", defaults.idle_timeout)?,
        max_lifetime: positive_seconds(get, "RECON_WS_MAX_LIFETIME_SECS", defaults.max_lifetime)?,
    })
}

fn http_settings(get: &impl Fn(&str) -> Option<String>) -> Result<HttpSettings, ConfigError> {
    let defaults = HttpSettings::default();
    let positive = |variable, default| positive_seconds(get, variable, default);
    let settings = HttpSettings {
        header_read_timeout: positive(
            "RECON_HEADER_READ_TIMEOUT_SECS",
            defaults.header_read_timeout,
        )?,
        body_idle_timeout: positive("RECON_BODY_IDLE_TIMEOUT_SECS", defaults.body_idle_timeout)?,
        body_timeout: positive("RECON_BODY_TIMEOUT_SECS", defaults.body_timeout)?,
        max_header_bytes: parse_or(
            get,
            "RECON_MAX_HEADER_BYTES",
            Some(defaults.max_header_bytes),
        )?,
        max_headers: parse_or(get, "RECON_MAX_HEADERS", Some(defaults.max_headers))?,
    };
    // Below these a normal client (a User-Agent, a key, a content type) cannot get through.
    if settings.max_header_bytes < 4096 {
        return Err(ConfigError {
            variable: "RECON_MAX_HEADER_BYTES",
            problem: format!(
                "{} is too small; use at least 4096",
                settings.max_header_bytes
            ),
        });
    }
    if settings.max_headers < 16 {
        return Err(ConfigError {
            variable: "RECON_MAX_HEADERS",
            problem: format!("{} is too small; use at least 16", settings.max_headers),
        });
    }
    Ok(settings)
}

fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(dir).join("browser-recon");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/browser-recon"),
        None => PathBuf::from("browser-recon-data"),
    }
}

fn required(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<String, ConfigError> {
    get(variable).ok_or(ConfigError {
        variable,
        problem: "is required but not set".to_owned(),
    })
}

fn parse_or<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: Option<T>,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match get(variable) {
        Some(text) => text.trim().parse().map_err(|err: T::Err| ConfigError {
            variable,
            problem: format!("cannot parse {text:?}: {err}"),
        }),
        None => default.ok_or(ConfigError {
            variable,
            problem: "is required but not set".to_owned(),
        }),
    }
}

fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let value: f64 = parse_or(get, variable, Some(default.as_secs_f64()))?;
    Duration::try_from_secs_f64(value).map_err(|_| ConfigError {
        variable,
        problem: format!("{value} is not a valid number of seconds"),
    })
}

/// A positive number of days (fractions allowed, so a test can say minutes).
fn days(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let value: f64 = parse_or(get, variable, Some(default.as_secs_f64() / 86_400.0))?;
    match Duration::try_from_secs_f64(value * 86_400.0) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(ConfigError {
            variable,
            problem: format!("{value} is not a positive number of days"),
        }),
    }
}

fn positive_seconds(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let value = seconds(get, variable, default)?;
    if value.is_zero() {
        return Err(ConfigError {
            variable,
            problem: "must be more than 0 seconds".to_owned(),
        });
    }
    Ok(value)
}

fn millis(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let value: u64 = parse_or(get, variable, Some(default.as_millis() as u64))?;
    Ok(Duration::from_millis(value))
}

/// A comma-separated list of TCP ports (`80,443,8443`), each 1–65535.
fn ports(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: Vec<u16>,
) -> Result<Vec<u16>, ConfigError> {
    let Some(text) = get(variable) else {
        return Ok(default);
    };
    let mut ports = Vec::new();
    for item in text.split(',').map(str::trim) {
        match item.parse::<u16>() {
            Ok(port) if port > 0 => ports.push(port),
            _ => {
                return Err(ConfigError {
                    variable,
                    problem: format!(
                        "{item:?} in {text:?} is not a port; expected a comma-separated list of ports from 1 to 65535, like 80,443"
                    ),
                })
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

fn flag(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<bool, ConfigError> {
    match get(variable).as_deref().map(str::trim) {
        None | Some("0") | Some("false") => Ok(false),
        Some("1") | Some("true") => Ok(true),
        Some(other) => Err(ConfigError {
            variable,
            problem: format!("expected 1 or 0, got {other:?}"),
        }),
    }
}

/// An RFC 3339 instant (`2027-01-31T00:00:00Z`) or a date (`2027-01-31`, midnight UTC).
fn instant(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, ConfigError> {
    let Some(text) = get(variable) else {
        return Ok(default);
    };
    let text = text.trim();
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|time| time.to_utc())
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|date| date.and_time(chrono::NaiveTime::MIN).and_utc())
        })
        .map_err(|_| ConfigError {
            variable,
            problem: format!("{text:?} is not a date like 2027-01-31 or 2027-01-31T00:00:00Z"),
        })
}

fn semver(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: String,
) -> Result<String, ConfigError> {
    let text = get(variable).unwrap_or(default);
    match recon_contracts::version::SemVer::parse(&text) {
        Some(version) => Ok(version.to_string()),
        None => Err(ConfigError {
            variable,
            problem: format!("{text:?} is not a version like 0.3.0"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<ServerConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ServerConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_fill_everything_but_the_database() {
        let config = config(&[("DATABASE_URL", "postgres://x/y")]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.public_url, None);
        assert!(config.blob_url.starts_with("file://"));
        assert!(config.secrets_url.ends_with("secrets.json"));
        assert!(!config.validation.allow_loopback);
        assert_eq!(config.validation.allowed_ports, [80, 443]);
        assert_eq!(config.http.header_read_timeout, Duration::from_secs(10));
        assert_eq!(config.http.max_headers, 100);
    }

    #[test]
    fn http_limits_are_read_and_checked() {
        let config = config(&[
            ("DATABASE_URL", "x"),
            ("RECON_HEADER_READ_TIMEOUT_SECS", "0.5"),
            ("RECON_BODY_IDLE_TIMEOUT_SECS", "2"),
            ("RECON_MAX_HEADER_BYTES", "16384"),
        ])
        .unwrap();
        assert_eq!(config.http.header_read_timeout, Duration::from_millis(500));
        assert_eq!(config.http.body_idle_timeout, Duration::from_secs(2));
        assert_eq!(config.http.body_timeout, Duration::from_secs(120));
        assert_eq!(config.http.max_header_bytes, 16384);
        assert_each_refused(&[
            ("RECON_HEADER_READ_TIMEOUT_SECS", "0"),
            ("RECON_BODY_TIMEOUT_SECS", "-1"),
            ("RECON_MAX_HEADER_BYTES", "100"),
            ("RECON_MAX_HEADERS", "many"),
        ]);
    }

    /// Each (variable, value) alone is refused with an error naming the variable.
    fn assert_each_refused(cases: &[(&str, &str)]) {
        for (variable, value) in cases {
            let err = config(&[("DATABASE_URL", "x"), (variable, value)]).unwrap_err();
            assert_eq!(err.variable, *variable, "{err}");
        }
    }

    #[test]
    fn capture_bounds_are_read_and_checked() {
        let config = config(&[
            ("DATABASE_URL", "x"),
            ("RECON_CAPTURE_MAX_SAMPLES_PER_STREAM", "7"),
            ("RECON_MAX_CAPTURE_DECODED_BYTES", "1000000"),
        ])
        .unwrap();
        let bounds = &config.limits.bounds;
        assert_eq!(bounds.max(Limit::SamplesPerStream), 7);
        assert_eq!(bounds.max(Limit::DecodedBytes), 1_000_000);
        assert_eq!(bounds.max(Limit::Requests), 100_000);
        assert_each_refused(&[
            ("RECON_CAPTURE_MAX_STRINGS", "0"),
            ("RECON_CAPTURE_MAX_NESTING", "4"),
            ("RECON_CAPTURE_MAX_NESTING", "1000"),
            ("RECON_CAPTURE_MAX_REQUESTS", "lots"),
        ]);
        let names: std::collections::HashSet<_> =
            Limit::ALL.into_iter().map(bound_variable).collect();
        assert_eq!(names.len(), Limit::ALL.len());
    }

    #[test]
    fn quotas_and_socket_limits_have_defaults_and_are_read() {
        let defaults = config(&[("DATABASE_URL", "x")]).unwrap();
        assert_eq!(defaults.quotas, QuotaSettings::default());
        assert_eq!(defaults.websockets, WebSocketSettings::default());
        let config = config(&[
            ("DATABASE_URL", "x"),
            ("RECON_QUOTA_CONCURRENT_SCANS", "3"),
            ("RECON_QUOTA_SCANS_PER_HOUR", "10"),
            ("RECON_QUOTA_CAPTURE_BYTES_PER_DAY", "1048576"),
            ("RECON_QUOTA_VALIDATION_REQUESTS_PER_DAY", "0"),
            ("RECON_QUOTA_WEBSOCKETS", "1"),
            ("RECON_WS_IDLE_TIMEOUT_SECS", "1.5"),
            ("RECON_WS_MAX_LIFETIME_SECS", "60"),
        ])
        .unwrap();
        assert_eq!(
            config.quotas,
            QuotaSettings {
                concurrent_scans: 3,
                scans_per_hour: 10,
                capture_bytes_per_day: 1 << 20,
                validation_requests_per_day: 0,
                websockets: 1,
            }
        );
        assert_eq!(config.websockets.idle_timeout, Duration::from_millis(1500));
        assert_eq!(config.websockets.max_lifetime, Duration::from_secs(60));
        assert_each_refused(&[
            ("RECON_QUOTA_SCANS_PER_HOUR", "-1"),
            ("RECON_QUOTA_WEBSOCKETS", "lots"),
            ("RECON_WS_IDLE_TIMEOUT_SECS", "0"),
        ]);
    }

    #[test]
    fn errors_name_the_variable() {
        let err = config(&[]).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
        let err = config(&[("DATABASE_URL", "x"), ("RECON_LISTEN", "nowhere")]).unwrap_err();
        assert_eq!(err.variable, "RECON_LISTEN");
        assert!(err.to_string().starts_with("RECON_LISTEN: cannot parse"));
        let err = config(&[
            ("DATABASE_URL", "x"),
            ("RECON_VALIDATION_ALLOW_LOOPBACK", "yes"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "RECON_VALIDATION_ALLOW_LOOPBACK");
        for ports in ["80,http", "0", "80,,443", "70000", "-1"] {
            let err = config(&[
                ("DATABASE_URL", "x"),
                ("RECON_VALIDATION_ALLOWED_PORTS", ports),
            ])
            .unwrap_err();
            assert_eq!(err.variable, "RECON_VALIDATION_ALLOWED_PORTS", "{ports}");
            assert!(
                err.to_string()
                    .starts_with("RECON_VALIDATION_ALLOWED_PORTS: ")
                    && err.to_string().contains("is not a port"),
                "{err}"
            );
        }
        let err =
            config(&[("DATABASE_URL", "x"), ("RECON_MINIMUM_CLI_VERSION", "new")]).unwrap_err();
        assert_eq!(err.variable, "RECON_MINIMUM_CLI_VERSION");
    }

    #[test]
    fn nats_takes_a_server_list_and_a_replica_count() {
        let defaults = config(&[("DATABASE_URL", "x")]).unwrap();
        assert_eq!(defaults.nats_url, "nats://127.0.0.1:4222");
        assert_eq!(defaults.pipeline.replicas, 1);
        let cluster = config(&[
            ("DATABASE_URL", "x"),
            (
                "NATS_URL",
                "nats://nats-0:4222, nats://nats-1:4222,nats-2:4222",
            ),
            ("RECON_NATS_REPLICAS", "3"),
        ])
        .unwrap();
        assert_eq!(cluster.pipeline.replicas, 3);
        assert_eq!(
            crate::nats::server_addresses(&cluster.nats_url)
                .unwrap()
                .len(),
            3
        );
        assert_each_refused(&[
            ("NATS_URL", "nats://a:4222,,nats://b:4222"),
            ("NATS_URL", "nats://a:4222,http://b"),
            ("RECON_NATS_REPLICAS", "0"),
            ("RECON_NATS_REPLICAS", "6"),
            ("RECON_NATS_REPLICAS", "three"),
        ]);
        let err = config(&[("DATABASE_URL", "x"), ("NATS_URL", "nats://a:4222,")]).unwrap_err();
        assert!(err.to_string().contains("separated by commas"), "{err}");
    }

    #[test]
    fn event_partitions_default_to_eight_and_are_bounded() {
        let defaults = config(&[("DATABASE_URL", "x")]).unwrap();
        assert_eq!(defaults.pipeline.event_partitions, 8);
        let one = config(&[("DATABASE_URL", "x"), ("RECON_EVENT_PARTITIONS", "1")]).unwrap();
        assert_eq!(one.pipeline.event_partitions, 1);
        let most = config(&[("DATABASE_URL", "x"), ("RECON_EVENT_PARTITIONS", "64")]).unwrap();
        assert_eq!(most.pipeline.event_partitions, 64);
        assert_each_refused(&[
            ("RECON_EVENT_PARTITIONS", "0"),
            ("RECON_EVENT_PARTITIONS", "65"),
            ("RECON_EVENT_PARTITIONS", "-1"),
            ("RECON_EVENT_PARTITIONS", "eight"),
        ]);
    }

    #[test]
    fn explicit_values_win() {
        let config = config(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("RECON_LISTEN", "127.0.0.1:0"),
            ("RECON_PUBLIC_URL", "https://recon.example/"),
            ("RECON_ACK_WAIT_SECS", "1.5"),
            ("RECON_VALIDATION_ALLOW_LOOPBACK", "1"),
            ("RECON_VALIDATION_ALLOWED_PORTS", " 8443, 443,8443 "),
        ])
        .unwrap();
        assert_eq!(config.validation.allowed_ports, [443, 8443]);
        assert_eq!(config.public_url.as_deref(), Some("https://recon.example"));
        assert_eq!(config.pipeline.ack_wait, Duration::from_millis(1500));
        assert!(config.validation.allow_loopback);
    }
}
