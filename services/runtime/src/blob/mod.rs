//! The blob store: where large data (the raw capture, the scrubbed capture) lives, behind one
//! trait with a local-filesystem backend and an S3 backend, chosen by `RECON_BLOB_URL`.

mod fs;
mod s3;

use std::path::PathBuf;
use std::sync::Arc;

pub use fs::FsBlobStore;
pub use s3::S3BlobStore;

/// Environment variable naming the KMS key used for SSE-KMS on S3 (unset: the bucket's AWS-managed
/// key).
pub const KMS_KEY_ID_ENV: &str = "RECON_S3_KMS_KEY_ID";

/// Environment variable forcing (`1`/`true`) or disabling (`0`/`false`) S3 path-style addressing;
/// when unset, path-style is used exactly when a custom endpoint (`AWS_ENDPOINT_URL` or
/// `AWS_ENDPOINT_URL_S3`) is configured.
pub const FORCE_PATH_STYLE_ENV: &str = "RECON_S3_FORCE_PATH_STYLE";

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob is stored under the key.
    #[error("blob {key:?} not found")]
    NotFound { key: String },
    /// Transient: network, 5xx, throttling, I/O errors. Retry with back-off.
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
    /// Permanent: access denied, bad key, bad configuration.
    #[error("blob store refused the request: {0}")]
    Refused(String),
}

impl BlobError {
    /// Whether retrying the same operation later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, BlobError::Unavailable(_))
    }
}

/// A flat key → bytes store. Keys are relative, `/`-separated paths such as
/// `captures/<scan_id>.json.gz`.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` under `key`, replacing any earlier blob; readers see either the old or the
    /// new blob, never a partial one.
    async fn put(&self, key: &str, bytes: bytes::Bytes) -> Result<(), BlobError>;
    /// Reads the whole blob stored under `key`.
    async fn get(&self, key: &str) -> Result<bytes::Bytes, BlobError>;
    /// Deleting a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// Cheap readiness probe (for /readyz).
    async fn check(&self) -> Result<(), BlobError>;
}

/// Parses RECON_BLOB_URL: `file:///abs/path` (FsBlobStore) or `s3://bucket/optional/prefix`
/// (S3BlobStore). A filesystem root is created if missing; the S3 client is configured from the
/// standard AWS environment plus [`KMS_KEY_ID_ENV`] and [`FORCE_PATH_STYLE_ENV`].
pub async fn open_blob_store(url: &str) -> Result<Arc<dyn BlobStore>, BlobError> {
    match parse_blob_url(url)? {
        BlobLocation::Filesystem(root) => {
            fs::create_private_dir_all(&root).map_err(|err| {
                BlobError::Refused(format!(
                    "cannot create blob directory {}: {err}",
                    root.display()
                ))
            })?;
            Ok(Arc::new(FsBlobStore::new(root)))
        }
        BlobLocation::S3 { bucket, prefix } => {
            let kms_key_id = non_empty_env(KMS_KEY_ID_ENV);
            let endpoint_configured = non_empty_env("AWS_ENDPOINT_URL").is_some()
                || non_empty_env("AWS_ENDPOINT_URL_S3").is_some();
            let force_path_style = path_style(
                non_empty_env(FORCE_PATH_STYLE_ENV).as_deref(),
                endpoint_configured,
            )?;
            let config = crate::aws::load_sdk_config().await;
            let client = crate::aws::s3_client(&config, force_path_style);
            tracing::info!(
                %bucket,
                %prefix,
                force_path_style,
                kms_key_configured = kms_key_id.is_some(),
                "using the S3 blob store"
            );
            Ok(Arc::new(S3BlobStore::new(
                client, bucket, prefix, kms_key_id,
            )))
        }
    }
}

/// Where RECON_BLOB_URL points.
#[derive(Debug, PartialEq, Eq)]
enum BlobLocation {
    Filesystem(PathBuf),
    S3 { bucket: String, prefix: String },
}

fn parse_blob_url(raw: &str) -> Result<BlobLocation, BlobError> {
    let invalid = |why: &str| BlobError::Refused(format!("RECON_BLOB_URL {raw:?}: {why}"));
    if let Some(rest) = raw.strip_prefix("s3://") {
        if rest.contains(['?', '#']) {
            return Err(invalid("an s3:// URL takes no query or fragment"));
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid("expected s3://<bucket>[/<prefix>]"));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            validate_key(prefix).map_err(|_| invalid("the prefix is not a valid key prefix"))?;
        }
        return Ok(BlobLocation::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        });
    }
    if raw.starts_with("file:") {
        let url = url::Url::parse(raw).map_err(|err| invalid(&err.to_string()))?;
        let path = url
            .to_file_path()
            .map_err(|()| invalid("expected file:///<absolute path>"))?;
        return Ok(BlobLocation::Filesystem(path));
    }
    Err(invalid(
        "expected file:///<absolute path> or s3://<bucket>[/<prefix>]",
    ))
}

fn path_style(force: Option<&str>, endpoint_configured: bool) -> Result<bool, BlobError> {
    match force {
        None => Ok(endpoint_configured),
        Some("1") | Some("true") => Ok(true),
        Some("0") | Some("false") => Ok(false),
        Some(_) => Err(BlobError::Refused(format!(
            "{FORCE_PATH_STYLE_ENV} must be 1, true, 0 or false"
        ))),
    }
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// Accepts relative `/`-separated keys made of non-empty segments; refuses anything that could
/// escape the store's root or mean different things to different backends.
pub(crate) fn validate_key(key: &str) -> Result<(), BlobError> {
    let refuse = |why: &str| {
        Err(BlobError::Refused(format!(
            "invalid blob key {key:?}: {why}"
        )))
    };
    if key.is_empty() {
        return refuse("empty");
    }
    if key.starts_with('/') {
        return refuse("absolute");
    }
    if key.contains('\\') {
        return refuse("contains a backslash");
    }
    if key.contains('\0') {
        return refuse("contains NUL");
    }
    for segment in key.split('/') {
        match segment {
            "" => return refuse("contains an empty path segment"),
            "." | ".." => return refuse("contains a relative path segment"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_keys_the_pipeline_uses() {
        for key in [
            "captures/0b6f4c3e-8a1e-4f55-9a43-0d1f8e1b2c3d.json.gz",
            "scrubbed/0b6f4c3e-8a1e-4f55-9a43-0d1f8e1b2c3d.json.gz",
            "flat-key",
            "a/b/c/.hidden",
        ] {
            assert!(validate_key(key).is_ok(), "{key}");
        }
    }

    #[test]
    fn refuses_keys_that_could_escape_the_root() {
        for key in [
            "",
            "/etc/passwd",
            "../secrets.json",
            "captures/../../x",
            "captures/..",
            "./x",
            "captures\\x.json",
            "captures/x\0.json",
            "captures//x.json",
            "captures/",
        ] {
            let err = validate_key(key).expect_err(key);
            assert!(matches!(err, BlobError::Refused(_)), "{key}: {err}");
            assert!(!err.is_transient());
        }
    }

    #[test]
    fn parses_blob_urls() {
        assert_eq!(
            parse_blob_url("file:///var/lib/recon/blobs").ok(),
            Some(BlobLocation::Filesystem(PathBuf::from(
                "/var/lib/recon/blobs"
            )))
        );
        assert_eq!(
            parse_blob_url("file:///tmp/with%20space").ok(),
            Some(BlobLocation::Filesystem(PathBuf::from("/tmp/with space")))
        );
        assert_eq!(
            parse_blob_url("s3://recon-captures").ok(),
            Some(BlobLocation::S3 {
                bucket: "recon-captures".into(),
                prefix: String::new()
            })
        );
        assert_eq!(
            parse_blob_url("s3://recon-captures/env/prod/").ok(),
            Some(BlobLocation::S3 {
                bucket: "recon-captures".into(),
                prefix: "env/prod".into()
            })
        );
    }

    #[test]
    fn refuses_malformed_blob_urls() {
        for url in [
            "",
            "/var/lib/recon",
            "file://relative/path",
            "s3://",
            "s3:///prefix",
            "s3://bucket/../x",
            "s3://bucket?region=x",
            "gs://bucket",
        ] {
            let err = parse_blob_url(url).expect_err(url);
            assert!(matches!(err, BlobError::Refused(_)), "{url}: {err}");
        }
    }

    #[test]
    fn path_style_follows_the_flag_then_the_endpoint() {
        assert!(!path_style(None, false).unwrap_or(true));
        assert!(path_style(None, true).unwrap_or(false));
        assert!(path_style(Some("1"), false).unwrap_or(false));
        assert!(!path_style(Some("0"), true).unwrap_or(true));
        assert!(path_style(Some("yes"), false).is_err());
    }

    #[test]
    fn only_unavailable_is_transient() {
        assert!(BlobError::Unavailable("x".into()).is_transient());
        assert!(!BlobError::Refused("x".into()).is_transient());
        assert!(!BlobError::NotFound { key: "k".into() }.is_transient());
    }
}
