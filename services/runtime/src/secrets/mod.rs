//! Operator secrets (the validation stage's proxy URLs) behind one trait, read from a local JSON
//! file or AWS Secrets Manager (chosen by `RECON_SECRETS_URL`), parsed into [`ProxySecrets`] and
//! cached with a TTL that SIGHUP can cut short.
//!
//! Proxy URLs carry credentials: they never appear in `Debug` output, error messages or logs.

mod aws;
mod file;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use aws::AwsSecretsSource;
pub use file::FileSecretsSource;
pub use recon_contracts::{ProxySecrets, RotationMode};

/// Key of the datacenter proxy URL in the secret's JSON object.
pub const DATACENTER_PROXY_KEY: &str = "DATACENTER_PROXY";
/// Key of the residential proxy URL in the secret's JSON object.
pub const RESIDENTIAL_PROXY_KEY: &str = "RESIDENTIAL_PROXY";
/// Key of the datacenter proxy's rotation mode (default sticky).
pub const DATACENTER_ROTATION_KEY: &str = "DATACENTER_PROXY_ROTATION_MODE";
/// Key of the residential proxy's rotation mode (default rotating).
pub const RESIDENTIAL_ROTATION_KEY: &str = "RESIDENTIAL_PROXY_ROTATION_MODE";

/// Proxy URL schemes the validation stage can use.
const PROXY_SCHEMES: &[&str] = &["http", "https", "socks5", "socks5h"];

/// Parses the secret's JSON object. Empty strings and `null` count as unset; other keys are
/// ignored. Errors name the offending key, never its value.
pub fn parse_proxy_secrets(text: &str) -> Result<ProxySecrets, SecretsError> {
    // serde_json's type errors quote the offending value, so the shape is checked by hand.
    let value: serde_json::Value = serde_json::from_str(text).map_err(|err| {
        SecretsError::Invalid(format!(
            "the proxy secret is not valid JSON (line {}, column {})",
            err.line(),
            err.column()
        ))
    })?;
    let serde_json::Value::Object(object) = value else {
        return Err(SecretsError::Invalid(
            "the proxy secret must be a JSON object".to_owned(),
        ));
    };
    let defaults = ProxySecrets::default();
    Ok(ProxySecrets {
        datacenter_proxy: proxy_url(&object, DATACENTER_PROXY_KEY)?,
        residential_proxy: proxy_url(&object, RESIDENTIAL_PROXY_KEY)?,
        datacenter_rotation: rotation_mode(&object, DATACENTER_ROTATION_KEY)?
            .unwrap_or(defaults.datacenter_rotation),
        residential_rotation: rotation_mode(&object, RESIDENTIAL_ROTATION_KEY)?
            .unwrap_or(defaults.residential_rotation),
    })
}

/// A string value of the secret object; `null`, missing and empty are all `None`.
fn string_value<'a>(
    object: &'a serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<Option<&'a str>, SecretsError> {
    match object.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(value)) => {
            let value = value.trim();
            Ok((!value.is_empty()).then_some(value))
        }
        Some(_) => Err(SecretsError::Invalid(format!("{key} must be a string"))),
    }
}

fn proxy_url(
    object: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<Option<String>, SecretsError> {
    let Some(value) = string_value(object, key)? else {
        return Ok(None);
    };
    let url = url::Url::parse(value)
        .map_err(|_| SecretsError::Invalid(format!("{key} is not a valid URL")))?;
    if !PROXY_SCHEMES.contains(&url.scheme()) {
        return Err(SecretsError::Invalid(format!(
            "{key} must be an http://, https://, socks5:// or socks5h:// URL"
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(SecretsError::Invalid(format!("{key} has no host")));
    }
    Ok(Some(value.to_owned()))
}

fn rotation_mode(
    object: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<Option<RotationMode>, SecretsError> {
    string_value(object, key)?
        .map(|value| {
            RotationMode::parse(value).ok_or_else(|| {
                SecretsError::Invalid(format!("{key} must be \"sticky\" or \"rotating\""))
            })
        })
        .transpose()
}

/// Why the proxy secrets could not be loaded. Messages never contain secret values.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// Transient: the source could not be reached. Retry with back-off.
    #[error("secrets store unavailable: {0}")]
    Unavailable(String),
    /// Permanent: malformed JSON, a bad rotation mode or proxy URL, access refused.
    #[error("invalid secrets: {0}")]
    Invalid(String),
    /// The configured secret does not exist.
    #[error("secret not found: {0}")]
    NotFound(String),
}

impl SecretsError {
    /// Whether retrying the same load later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, SecretsError::Unavailable(_))
    }
}

/// Where the server gets its proxy secrets.
#[async_trait::async_trait]
pub trait SecretsStore: Send + Sync + std::fmt::Debug {
    /// The current proxy secrets, cached with a TTL.
    async fn load_proxy_secrets(&self) -> Result<ProxySecrets, SecretsError>;
    /// Drop the cache so the next load reads the source again (called on SIGHUP).
    fn flush(&self);
}

/// A backend that reads the proxy secrets from their source on every call; wrap it in a
/// [`CachedSecretsStore`] to get a [`SecretsStore`].
#[async_trait::async_trait]
pub trait SecretsSource: Send + Sync + std::fmt::Debug {
    /// Reads and parses the secret from its source, uncached.
    async fn fetch_proxy_secrets(&self) -> Result<ProxySecrets, SecretsError>;
}

/// Parses RECON_SECRETS_URL: `file:///abs/path/secrets.json` or `aws-sm://<secret id or ARN>`.
/// Nothing is read until the first load, so a briefly unreachable Secrets Manager does not stop
/// the server from starting.
pub async fn open_secrets_store(
    url: &str,
    ttl: Duration,
) -> Result<Arc<dyn SecretsStore>, SecretsError> {
    match parse_secrets_url(url)? {
        SecretsLocation::File(path) => Ok(Arc::new(CachedSecretsStore::new(
            FileSecretsSource::new(path),
            ttl,
        ))),
        SecretsLocation::SecretsManager(secret_id) => {
            let config = crate::aws::load_sdk_config().await;
            let client = crate::aws::secrets_manager_client(&config);
            Ok(Arc::new(CachedSecretsStore::new(
                AwsSecretsSource::new(client, secret_id),
                ttl,
            )))
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum SecretsLocation {
    File(std::path::PathBuf),
    SecretsManager(String),
}

fn parse_secrets_url(raw: &str) -> Result<SecretsLocation, SecretsError> {
    let invalid = |why: &str| SecretsError::Invalid(format!("RECON_SECRETS_URL {raw:?}: {why}"));
    // Not parsed as a URL: an ARN is full of colons.
    if let Some(secret_id) = raw.strip_prefix("aws-sm://") {
        if secret_id.is_empty() || secret_id.chars().any(char::is_whitespace) {
            return Err(invalid("expected aws-sm://<secret id or ARN>"));
        }
        return Ok(SecretsLocation::SecretsManager(secret_id.to_owned()));
    }
    if raw.starts_with("file:") {
        let url = url::Url::parse(raw).map_err(|err| invalid(&err.to_string()))?;
        let path = url
            .to_file_path()
            .map_err(|()| invalid("expected file:///<absolute path>"))?;
        return Ok(SecretsLocation::File(path));
    }
    Err(invalid(
        "expected file:///<absolute path> or aws-sm://<secret id or ARN>",
    ))
}

/// Caches a [`SecretsSource`] for a TTL. After expiry (or a flush) one caller refreshes while
/// concurrent callers wait for its result instead of all hitting the source; failures are not
/// cached.
pub struct CachedSecretsStore<S> {
    source: S,
    ttl: Duration,
    state: Mutex<CacheState>,
    /// Serialises refreshes; never held together with `state`.
    refresh: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct CacheState {
    entry: Option<(Instant, ProxySecrets)>,
    /// Bumped by every flush so that a fetch started before the flush does not refill the cache
    /// with what may be the pre-rotation value.
    generation: u64,
}

impl<S: SecretsSource> CachedSecretsStore<S> {
    pub fn new(source: S, ttl: Duration) -> Self {
        Self {
            source,
            ttl,
            state: Mutex::new(CacheState::default()),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    /// The cached value if it is still fresh, and the current generation.
    fn cached(&self) -> (Option<ProxySecrets>, u64) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = state
            .entry
            .as_ref()
            .filter(|(loaded_at, _)| loaded_at.elapsed() < self.ttl)
            .map(|(_, secrets)| secrets.clone());
        (fresh, state.generation)
    }
}

impl<S: fmt::Debug> fmt::Debug for CachedSecretsStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedSecretsStore")
            .field("source", &self.source)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl<S: SecretsSource> SecretsStore for CachedSecretsStore<S> {
    async fn load_proxy_secrets(&self) -> Result<ProxySecrets, SecretsError> {
        if let (Some(secrets), _) = self.cached() {
            return Ok(secrets);
        }
        let _refreshing = self.refresh.lock().await;
        // Whoever held the lock before us may have refreshed already.
        let (cached, generation) = self.cached();
        if let Some(secrets) = cached {
            return Ok(secrets);
        }
        let secrets = self.source.fetch_proxy_secrets().await?;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.generation == generation {
            state.entry = Some((Instant::now(), secrets.clone()));
        }
        tracing::debug!(?secrets, "loaded proxy secrets");
        Ok(secrets)
    }

    fn flush(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.entry = None;
        state.generation = state.generation.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const DATACENTER: &str = "http://dc-user:dc-pass@dc.proxy.example:8080";
    const RESIDENTIAL: &str = "socks5h://res-user:res-pass@res.proxy.example:1080";

    #[test]
    fn parses_a_full_secret() {
        let secrets = parse_proxy_secrets(&format!(
            r#"{{"DATACENTER_PROXY": "{DATACENTER}", "RESIDENTIAL_PROXY": "{RESIDENTIAL}",
                "DATACENTER_PROXY_ROTATION_MODE": "rotating",
                "RESIDENTIAL_PROXY_ROTATION_MODE": "Sticky", "UNRELATED": 1}}"#
        ))
        .unwrap();
        assert_eq!(
            secrets,
            ProxySecrets {
                datacenter_proxy: Some(DATACENTER.into()),
                residential_proxy: Some(RESIDENTIAL.into()),
                datacenter_rotation: RotationMode::Rotating,
                residential_rotation: RotationMode::Sticky,
            }
        );
    }

    #[test]
    fn missing_null_and_empty_values_take_the_defaults() {
        for text in [
            "{}",
            r#"{"DATACENTER_PROXY": "", "RESIDENTIAL_PROXY": null,
                "DATACENTER_PROXY_ROTATION_MODE": "", "RESIDENTIAL_PROXY_ROTATION_MODE": null}"#,
        ] {
            let secrets = parse_proxy_secrets(text).unwrap();
            assert_eq!(secrets, ProxySecrets::default(), "{text}");
            assert_eq!(secrets.datacenter_rotation, RotationMode::Sticky);
            assert_eq!(secrets.residential_rotation, RotationMode::Rotating);
        }
    }

    #[test]
    fn accepts_every_supported_proxy_scheme() {
        for scheme in ["http", "https", "socks5", "socks5h"] {
            let url = format!("{scheme}://u:p@proxy.example:1");
            let text = serde_json::json!({ "RESIDENTIAL_PROXY": url }).to_string();
            let secrets = parse_proxy_secrets(&text).unwrap();
            assert_eq!(secrets.residential_proxy.as_deref(), Some(url.as_str()));
        }
    }

    #[test]
    fn invalid_secrets_name_the_key_but_never_the_value() {
        let cases = [
            (
                serde_json::json!({ "DATACENTER_PROXY": "ftp://u:hunter2@x.example" }).to_string(),
                Some("DATACENTER_PROXY"),
            ),
            (
                serde_json::json!({ "RESIDENTIAL_PROXY": "hunter2@not a url" }).to_string(),
                Some("RESIDENTIAL_PROXY"),
            ),
            (
                serde_json::json!({ "RESIDENTIAL_PROXY": ["http://u:hunter2@x.example"] })
                    .to_string(),
                Some("RESIDENTIAL_PROXY"),
            ),
            (
                serde_json::json!({ "DATACENTER_PROXY_ROTATION_MODE": "hunter2" }).to_string(),
                Some("DATACENTER_PROXY_ROTATION_MODE"),
            ),
            (
                r#"{"DATACENTER_PROXY": "http://u:hunter2@x.example",}"#.to_owned(),
                None,
            ),
            (r#"["http://u:hunter2@x.example"]"#.to_owned(), None),
            (r#""http://u:hunter2@x.example""#.to_owned(), None),
        ];
        for (text, key) in cases {
            let err = parse_proxy_secrets(&text).unwrap_err();
            let message = err.to_string();
            assert!(matches!(err, SecretsError::Invalid(_)), "{message}");
            assert!(!err.is_transient());
            assert!(!message.contains("hunter2"), "{message}");
            if let Some(key) = key {
                assert!(message.contains(key), "{message}");
            }
        }
    }

    #[test]
    fn debug_redacts_proxy_urls() {
        let secrets = ProxySecrets {
            datacenter_proxy: Some(DATACENTER.into()),
            ..ProxySecrets::default()
        };
        let debug = format!("{secrets:?}");
        assert!(
            !debug.contains("dc-pass") && !debug.contains("dc.proxy"),
            "{debug}"
        );
        assert!(debug.contains("datacenter_proxy: <set>"), "{debug}");
        assert!(debug.contains("residential_proxy: <unset>"), "{debug}");
        assert!(
            debug.contains("Sticky") && debug.contains("Rotating"),
            "{debug}"
        );
        assert!(!format!("{secrets:#?}").contains("dc-pass"));
    }

    #[test]
    fn rotation_mode_serializes_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&RotationMode::Sticky).unwrap(),
            "\"sticky\""
        );
        assert_eq!(
            serde_json::from_str::<RotationMode>("\"rotating\"").unwrap(),
            RotationMode::Rotating
        );
    }

    #[test]
    fn parses_secrets_urls() {
        assert_eq!(
            parse_secrets_url("file:///etc/recon/secrets.json").ok(),
            Some(SecretsLocation::File("/etc/recon/secrets.json".into()))
        );
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:recon/proxies-AbCdEf";
        assert_eq!(
            parse_secrets_url(&format!("aws-sm://{arn}")).ok(),
            Some(SecretsLocation::SecretsManager(arn.into()))
        );
        assert_eq!(
            parse_secrets_url("aws-sm://recon/proxies").ok(),
            Some(SecretsLocation::SecretsManager("recon/proxies".into()))
        );
        for bad in [
            "",
            "aws-sm://",
            "file://relative",
            "/etc/secrets.json",
            "vault://x",
        ] {
            assert!(
                matches!(parse_secrets_url(bad), Err(SecretsError::Invalid(_))),
                "{bad}"
            );
        }
    }

    /// Counts fetches and returns whatever `value` currently holds.
    #[derive(Debug, Default)]
    struct CountingSource {
        fetches: AtomicUsize,
        value: Mutex<Option<String>>,
        delay: Duration,
    }

    impl CountingSource {
        fn set(&self, proxy: &str) {
            *self.value.lock().unwrap() = Some(proxy.to_owned());
        }
    }

    #[async_trait::async_trait]
    impl SecretsSource for Arc<CountingSource> {
        async fn fetch_proxy_secrets(&self) -> Result<ProxySecrets, SecretsError> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            let value = self.value.lock().unwrap().clone();
            match value {
                Some(proxy) => Ok(ProxySecrets {
                    datacenter_proxy: Some(proxy),
                    ..ProxySecrets::default()
                }),
                None => Err(SecretsError::Unavailable("source down".into())),
            }
        }
    }

    fn datacenter(secrets: &ProxySecrets) -> &str {
        secrets.datacenter_proxy.as_deref().unwrap_or_default()
    }

    #[tokio::test]
    async fn caches_until_the_ttl_expires() {
        let source = Arc::new(CountingSource::default());
        source.set("http://one.example");
        let store = CachedSecretsStore::new(source.clone(), Duration::from_millis(200));

        assert_eq!(
            datacenter(&store.load_proxy_secrets().await.unwrap()),
            "http://one.example"
        );
        source.set("http://two.example");
        assert_eq!(
            datacenter(&store.load_proxy_secrets().await.unwrap()),
            "http://one.example"
        );
        assert_eq!(source.fetches.load(Ordering::SeqCst), 1);

        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(
            datacenter(&store.load_proxy_secrets().await.unwrap()),
            "http://two.example"
        );
        assert_eq!(source.fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn flush_forces_a_reload() {
        let source = Arc::new(CountingSource::default());
        source.set("http://one.example");
        let store = CachedSecretsStore::new(source.clone(), Duration::from_secs(3600));
        store.load_proxy_secrets().await.unwrap();
        source.set("http://two.example");
        assert_eq!(
            datacenter(&store.load_proxy_secrets().await.unwrap()),
            "http://one.example"
        );

        store.flush();
        assert_eq!(
            datacenter(&store.load_proxy_secrets().await.unwrap()),
            "http://two.example"
        );
        assert_eq!(source.fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn concurrent_loads_after_expiry_hit_the_source_once() {
        let source = Arc::new(CountingSource {
            delay: Duration::from_millis(50),
            ..CountingSource::default()
        });
        source.set("http://one.example");
        let store = Arc::new(CachedSecretsStore::new(
            source.clone(),
            Duration::from_secs(3600),
        ));
        let loads: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.load_proxy_secrets().await })
            })
            .collect();
        for load in loads {
            assert_eq!(
                datacenter(&load.await.unwrap().unwrap()),
                "http://one.example"
            );
        }
        assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let source = Arc::new(CountingSource::default());
        let store = CachedSecretsStore::new(source.clone(), Duration::from_secs(3600));
        let err = store.load_proxy_secrets().await.unwrap_err();
        assert!(err.is_transient());
        source.set("http://one.example");
        assert_eq!(
            datacenter(&store.load_proxy_secrets().await.unwrap()),
            "http://one.example"
        );
    }

    #[tokio::test]
    async fn a_fetch_started_before_a_flush_does_not_refill_the_cache() {
        let source = Arc::new(CountingSource {
            delay: Duration::from_millis(100),
            ..CountingSource::default()
        });
        source.set("http://old.example");
        let store = Arc::new(CachedSecretsStore::new(
            source.clone(),
            Duration::from_secs(3600),
        ));
        let in_flight = {
            let store = store.clone();
            tokio::spawn(async move { store.load_proxy_secrets().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        store.flush();
        in_flight.await.unwrap().unwrap();
        source.set("http://new.example");
        assert_eq!(
            datacenter(&store.load_proxy_secrets().await.unwrap()),
            "http://new.example"
        );
    }
}
