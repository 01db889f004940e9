//! Shared AWS SDK plumbing for the S3 blob store and the Secrets Manager secrets source: loading
//! the SDK configuration from the standard environment, building clients, and sorting SDK errors
//! into "not found", "retry later" and "give up".

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// How long to wait for a TCP/TLS connection to an AWS endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Upper bound on one attempt of one API call, so a stalled connection cannot hang a stage or a
/// readiness probe forever; generous enough for uploading a large capture.
const OPERATION_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Error codes that mean "try again later" even when the HTTP status alone does not say so.
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServiceError",
    "ServiceUnavailable",
];

/// Loads the SDK configuration from the standard AWS environment (`AWS_REGION`,
/// `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, profiles, IRSA web identity, instance metadata, ...),
/// with connect and per-attempt timeouts.
pub async fn load_sdk_config() -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(OPERATION_ATTEMPT_TIMEOUT)
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
}

/// Builds an S3 client; S3 emulators (moto, MinIO, LocalStack) need path-style addressing because
/// they cannot serve `<bucket>.<host>` names.
pub fn s3_client(config: &SdkConfig, force_path_style: bool) -> aws_sdk_s3::Client {
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(force_path_style)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

/// Builds a Secrets Manager client.
pub fn secrets_manager_client(config: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(config)
}

/// What a failed AWS call means for the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// The service answered 404.
    NotFound,
    /// Network trouble, a timeout, throttling or a 5xx: worth retrying.
    Transient,
    /// Anything else (access denied, bad request, bad configuration): retrying will not help.
    Permanent,
}

/// A classified AWS failure. `description` holds only the error code, the service's message and
/// the HTTP status, or the kind of transport failure, never request or response bodies.
#[derive(Debug)]
pub(crate) struct AwsFailure {
    pub(crate) kind: FailureKind,
    pub(crate) code: Option<String>,
    pub(crate) description: String,
}

/// Sorts an SDK error into [`FailureKind`]s and describes it in one line.
pub(crate) fn classify<E>(err: &SdkError<E, HttpResponse>) -> AwsFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = err.code().map(str::to_owned);
            let kind = if code
                .as_deref()
                .is_some_and(|c| TRANSIENT_CODES.contains(&c))
                || status == 429
                || status >= 500
            {
                FailureKind::Transient
            } else if status == 404 {
                FailureKind::NotFound
            } else {
                FailureKind::Permanent
            };
            let mut description = code.clone().unwrap_or_else(|| "unknown error".to_owned());
            if let Some(message) = err.message() {
                description.push_str(": ");
                description.push_str(message);
            }
            description.push_str(&format!(" (HTTP {status})"));
            AwsFailure {
                kind,
                code,
                description,
            }
        }
        SdkError::TimeoutError(_) => AwsFailure {
            kind: FailureKind::Transient,
            code: None,
            description: "request timed out".to_owned(),
        },
        SdkError::DispatchFailure(dispatch) => AwsFailure {
            kind: if dispatch.is_user() {
                FailureKind::Permanent
            } else {
                FailureKind::Transient
            },
            code: None,
            description: format!("request failed: {}", DisplayErrorContext(err)),
        },
        // The response could not be parsed (a connection cut mid-body, a proxy's error page); its
        // content is deliberately left out of the description.
        SdkError::ResponseError(response) => AwsFailure {
            kind: FailureKind::Transient,
            code: None,
            description: format!(
                "unreadable response (HTTP {})",
                response.raw().status().as_u16()
            ),
        },
        SdkError::ConstructionFailure(_) => AwsFailure {
            kind: FailureKind::Permanent,
            code: None,
            description: format!("could not build the request: {}", DisplayErrorContext(err)),
        },
        _ => AwsFailure {
            kind: FailureKind::Transient,
            code: None,
            description: format!("request failed: {}", DisplayErrorContext(err)),
        },
    }
}
