//! How a stage run can fail: transient failures are retried with back-off, permanent ones end
//! the scan with an `errored` event. An error keeps what caused it
//! ([`std::error::Error::source`]); [`StageError::report`] is the message and its causes in one
//! line, the text the `errored` event and the scan carry.

use crate::blob::BlobError;
use crate::secrets::SecretsError;

/// What caused a stage error.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The database, NATS or the blob store is down or busy: try the message again later.
    #[error("{message}")]
    Transient {
        message: String,
        #[source]
        source: Option<Cause>,
    },
    /// The input cannot be processed, however often it is tried.
    #[error("{message}")]
    Permanent {
        message: String,
        #[source]
        source: Option<Cause>,
    },
}

impl StageError {
    /// A permanent failure described by `message` alone.
    pub fn permanent(message: impl std::fmt::Display) -> StageError {
        StageError::Permanent {
            message: message.to_string(),
            source: None,
        }
    }

    /// A transient failure described by `message` alone.
    pub fn transient(message: impl std::fmt::Display) -> StageError {
        StageError::Transient {
            message: message.to_string(),
            source: None,
        }
    }

    /// A permanent failure: `message` says what failed, `source` why.
    pub fn permanent_from(message: impl Into<String>, source: impl Into<Cause>) -> StageError {
        StageError::Permanent {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// A transient failure: `message` says what failed, `source` why.
    pub fn transient_from(message: impl Into<String>, source: impl Into<Cause>) -> StageError {
        StageError::Transient {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, StageError::Transient { .. })
    }

    /// The message followed by each cause: `database unavailable: pool timed out`.
    pub fn report(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            let line = error.to_string();
            if !line.is_empty() && !text.ends_with(&line) {
                text.push_str(": ");
                text.push_str(&line);
            }
            cause = error.source();
        }
        text
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
            StageError::transient_from("database unavailable", err)
        } else {
            StageError::permanent_from("database error", err)
        }
    }
}

impl From<BlobError> for StageError {
    fn from(err: BlobError) -> Self {
        let message = err.to_string();
        if err.is_transient() {
            StageError::transient_from(message, err)
        } else {
            StageError::permanent_from(message, err)
        }
    }
}

impl From<SecretsError> for StageError {
    fn from(err: SecretsError) -> Self {
        let message = err.to_string();
        if err.is_transient() {
            StageError::transient_from(message, err)
        } else {
            StageError::permanent_from(message, err)
        }
    }
}

impl From<async_nats::Error> for StageError {
    fn from(err: async_nats::Error) -> Self {
        StageError::transient_from("NATS unavailable", err)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn an_error_keeps_its_source_and_reports_the_chain() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = StageError::transient_from("blob store unavailable", refused);
        assert!(err.is_transient());
        assert_eq!(err.to_string(), "blob store unavailable");
        let source = err.source().expect("the cause is kept");
        assert_eq!(
            source.downcast_ref::<std::io::Error>().map(|io| io.kind()),
            Some(std::io::ErrorKind::ConnectionRefused)
        );
        assert_eq!(err.report(), "blob store unavailable: refused");

        let plain = StageError::permanent("the capture has no requests");
        assert!(plain.source().is_none());
        assert_eq!(plain.report(), "the capture has no requests");
    }

    #[test]
    fn a_database_error_stays_reachable_and_decides_retrying() {
        let err = StageError::from(sqlx::Error::PoolTimedOut);
        assert!(err.is_transient());
        assert!(matches!(
            err.source()
                .and_then(|source| source.downcast_ref::<sqlx::Error>()),
            Some(sqlx::Error::PoolTimedOut)
        ));
        assert!(err.report().starts_with("database unavailable: "));
        let missing = StageError::from(sqlx::Error::RowNotFound);
        assert!(!missing.is_transient());
        assert!(missing.source().is_some());
    }
}
