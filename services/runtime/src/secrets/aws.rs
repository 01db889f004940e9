//! AWS Secrets Manager as the source of the proxy secret: one GetSecretValue per fetch (the
//! cache in front of it keeps that rare).

use super::{ProxySecrets, SecretsError, SecretsSource};
use crate::aws::{classify, FailureKind};

/// Reads the proxy secret's current version from Secrets Manager.
#[derive(Clone, Debug)]
pub struct AwsSecretsSource {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl AwsSecretsSource {
    /// `secret_id` is the secret's name or ARN.
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: String) -> Self {
        Self { client, secret_id }
    }
}

#[async_trait::async_trait]
impl SecretsSource for AwsSecretsSource {
    async fn fetch_proxy_secrets(&self) -> Result<ProxySecrets, SecretsError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|err| {
                let failure = classify(&err);
                let message = format!("GetSecretValue {}: {}", self.secret_id, failure.description);
                let not_found = failure.kind == FailureKind::NotFound
                    || failure.code.as_deref() == Some("ResourceNotFoundException");
                match failure.kind {
                    _ if not_found => SecretsError::NotFound(message),
                    FailureKind::Transient => SecretsError::Unavailable(message),
                    FailureKind::NotFound | FailureKind::Permanent => {
                        SecretsError::Invalid(message)
                    }
                }
            })?;
        let text = match (output.secret_string(), output.secret_binary()) {
            (Some(text), _) => text.to_owned(),
            (None, Some(binary)) => String::from_utf8(binary.as_ref().to_vec()).map_err(|_| {
                SecretsError::Invalid(format!(
                    "secret {} holds binary data, not a JSON object",
                    self.secret_id
                ))
            })?,
            (None, None) => {
                return Err(SecretsError::Invalid(format!(
                    "secret {} has no value",
                    self.secret_id
                )))
            }
        };
        super::parse_proxy_secrets(&text).map_err(|err| match err {
            SecretsError::Invalid(why) => {
                SecretsError::Invalid(format!("secret {}: {why}", self.secret_id))
            }
            other => other,
        })
    }
}
