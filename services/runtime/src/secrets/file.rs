//! The local secrets file: the proxy secret's JSON object in a file, read on every fetch; a
//! missing file means "no proxies", which is what a development machine has.

use std::io;
use std::path::PathBuf;

use super::{ProxySecrets, SecretsError, SecretsSource};

/// Reads the proxy secrets from a JSON file.
#[derive(Clone, Debug)]
pub struct FileSecretsSource {
    path: PathBuf,
}

impl FileSecretsSource {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }
}

#[async_trait::async_trait]
impl SecretsSource for FileSecretsSource {
    async fn fetch_proxy_secrets(&self) -> Result<ProxySecrets, SecretsError> {
        let bytes = match tokio::fs::read(&self.path).await {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                tracing::debug!(path = %self.path.display(), "no secrets file: running without proxies");
                return Ok(ProxySecrets::default());
            }
            Err(err) => {
                return Err(SecretsError::Unavailable(format!(
                    "cannot read secrets file {}: {err}",
                    self.path.display()
                )))
            }
        };
        let text = String::from_utf8(bytes).map_err(|_| {
            SecretsError::Invalid(format!("secrets file {} is not UTF-8", self.path.display()))
        })?;
        super::parse_proxy_secrets(&text).map_err(|err| match err {
            SecretsError::Invalid(why) => {
                SecretsError::Invalid(format!("secrets file {}: {why}", self.path.display()))
            }
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::RotationMode;

    #[tokio::test]
    async fn a_missing_file_means_no_proxies() {
        let dir = tempfile::tempdir().unwrap();
        let source = FileSecretsSource::new(dir.path().join("secrets.json"));
        assert_eq!(
            source.fetch_proxy_secrets().await.unwrap(),
            ProxySecrets::default()
        );
    }

    #[tokio::test]
    async fn reads_the_secret_object() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        std::fs::write(
            &path,
            r#"{"RESIDENTIAL_PROXY": "https://u:p@res.example:8443", "DATACENTER_PROXY": ""}"#,
        )
        .unwrap();
        let secrets = FileSecretsSource::new(path)
            .fetch_proxy_secrets()
            .await
            .unwrap();
        assert_eq!(
            secrets.residential_proxy.as_deref(),
            Some("https://u:p@res.example:8443")
        );
        assert_eq!(secrets.datacenter_proxy, None);
        assert_eq!(secrets.datacenter_rotation, RotationMode::Sticky);
        assert_eq!(secrets.residential_rotation, RotationMode::Rotating);
    }

    #[tokio::test]
    async fn a_malformed_file_is_invalid_and_names_the_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        std::fs::write(&path, "DATACENTER_PROXY=http://u:hunter2@x.example").unwrap();
        let err = FileSecretsSource::new(path)
            .fetch_proxy_secrets()
            .await
            .unwrap_err();
        assert!(matches!(err, SecretsError::Invalid(_)), "{err}");
        assert!(err.to_string().contains("secrets.json"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[tokio::test]
    async fn an_unreadable_path_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let err = FileSecretsSource::new(dir.path().to_path_buf())
            .fetch_proxy_secrets()
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err}");
    }
}
