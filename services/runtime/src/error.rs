//! How a stage run can fail: transient failures are retried with back-off, permanent ones end
//! the scan with an `errored` event.

use crate::blob::BlobError;
use crate::secrets::SecretsError;

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The database, NATS or the blob store is down or busy: try the message again later.
    #[error("{0}")]
    Transient(String),
    /// The input cannot be processed, however often it is tried.
    #[error("{0}")]
    Permanent(String),
}

impl StageError {
    pub fn permanent(message: impl std::fmt::Display) -> StageError {
        StageError::Permanent(message.to_string())
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, StageError::Transient(_))
    }
}

/// Whether a database error is worth retrying: lost connections, pool exhaustion, server
/// shutdown, serialization failures and resource exhaustion are; constraint violations are not.
pub fn is_transient_db_error(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P")
                || code == "40001"
                || code == "40P01"
        }),
        _ => false,
    }
}

impl From<sqlx::Error> for StageError {
    fn from(err: sqlx::Error) -> Self {
        if is_transient_db_error(&err) {
            StageError::Transient(format!("database unavailable: {err}"))
        } else {
            StageError::Permanent(format!("database error: {err}"))
        }
    }
}

impl From<BlobError> for StageError {
    fn from(err: BlobError) -> Self {
        if err.is_transient() {
            StageError::Transient(err.to_string())
        } else {
            StageError::Permanent(err.to_string())
        }
    }
}

impl From<SecretsError> for StageError {
    fn from(err: SecretsError) -> Self {
        if err.is_transient() {
            StageError::Transient(err.to_string())
        } else {
            StageError::Permanent(err.to_string())
        }
    }
}

impl From<async_nats::Error> for StageError {
    fn from(err: async_nats::Error) -> Self {
        StageError::Transient(format!("NATS unavailable: {err}"))
    }
}
