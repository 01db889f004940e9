//! The S3 blob store: one object per key under an optional prefix, every object encrypted at rest
//! with SSE-KMS because captures hold live cookies and tokens.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use bytes::Bytes;

use super::{validate_key, BlobError, BlobStore};
use crate::aws::{classify, FailureKind};

/// Stores each blob as the object `s3://<bucket>/<prefix>/<key>`.
#[derive(Clone, Debug)]
pub struct S3BlobStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// Empty, or ends with `/`.
    prefix: String,
    kms_key_id: Option<String>,
}

impl S3BlobStore {
    /// `prefix` may be empty; surrounding slashes are ignored (`a/b/` and `a/b` both store `k`
    /// as `a/b/k`). `kms_key_id` selects the KMS key for SSE-KMS; `None` uses the bucket's
    /// AWS-managed key.
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: String,
        prefix: String,
        kms_key_id: Option<String>,
    ) -> Self {
        let trimmed = prefix.trim_matches('/');
        let prefix = if trimmed.is_empty() {
            String::new()
        } else {
            format!("{trimmed}/")
        };
        Self {
            client,
            bucket,
            prefix,
            kms_key_id: kms_key_id.filter(|id| !id.is_empty()),
        }
    }

    fn object_key(&self, key: &str) -> Result<String, BlobError> {
        validate_key(key)?;
        Ok(format!("{}{key}", self.prefix))
    }

    fn error<E>(&self, operation: &str, key: &str, err: &SdkError<E, HttpResponse>) -> BlobError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let failure = classify(err);
        let message = format!(
            "{operation} s3://{}/{}{key}: {}",
            self.bucket, self.prefix, failure.description
        );
        match failure.kind {
            FailureKind::Transient => BlobError::Unavailable(message),
            // A missing bucket is a configuration problem, not a missing blob.
            FailureKind::NotFound if failure.code.as_deref() != Some("NoSuchBucket") => {
                BlobError::NotFound {
                    key: key.to_owned(),
                }
            }
            FailureKind::NotFound | FailureKind::Permanent => BlobError::Refused(message),
        }
    }
}

#[async_trait::async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        let object_key = self.object_key(key)?;
        let size = bytes.len();
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&object_key)
            .body(ByteStream::from(bytes))
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .set_ssekms_key_id(self.kms_key_id.clone())
            .send()
            .await
            .map_err(|err| self.error("PutObject", key, &err))?;
        tracing::debug!(bucket = %self.bucket, key = %object_key, size, "stored blob");
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Bytes, BlobError> {
        let object_key = self.object_key(key)?;
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&object_key)
            .send()
            .await
            .map_err(|err| self.error("GetObject", key, &err))?;
        let body = output.body.collect().await.map_err(|err| {
            BlobError::Unavailable(format!(
                "GetObject s3://{}/{object_key}: reading the body failed: {err}",
                self.bucket
            ))
        })?;
        Ok(body.into_bytes())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let object_key = self.object_key(key)?;
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(&object_key)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // S3 answers 204 for a missing key; some compatible stores answer 404.
            Err(err) => match self.error("DeleteObject", key, &err) {
                BlobError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn check(&self) -> Result<(), BlobError> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(err) => {
                let failure = classify(&err);
                let message = format!("HeadBucket s3://{}: {}", self.bucket, failure.description);
                Err(match failure.kind {
                    FailureKind::Transient => BlobError::Unavailable(message),
                    FailureKind::NotFound => {
                        BlobError::Refused(format!("bucket {:?} does not exist", self.bucket))
                    }
                    FailureKind::Permanent => BlobError::Refused(message),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(prefix: &str) -> S3BlobStore {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .build();
        S3BlobStore::new(
            aws_sdk_s3::Client::from_conf(config),
            "bucket".into(),
            prefix.into(),
            Some(String::new()),
        )
    }

    #[test]
    fn prefixes_keys_with_exactly_one_slash() {
        assert_eq!(
            store("").object_key("captures/a").ok().as_deref(),
            Some("captures/a")
        );
        assert_eq!(
            store("/").object_key("captures/a").ok().as_deref(),
            Some("captures/a")
        );
        for prefix in ["env/prod", "env/prod/", "/env/prod/"] {
            assert_eq!(
                store(prefix).object_key("captures/a").ok().as_deref(),
                Some("env/prod/captures/a")
            );
        }
    }

    #[test]
    fn refuses_bad_keys_and_ignores_an_empty_kms_key() {
        let store = store("p");
        assert!(matches!(
            store.object_key("../x"),
            Err(BlobError::Refused(_))
        ));
        assert_eq!(store.kms_key_id, None);
    }
}
