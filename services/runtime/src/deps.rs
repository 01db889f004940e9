//! What a process opens for its roles: each role declares the dependencies it needs
//! ([`Needs`]), the process opens the union of them once ([`open_deps`]), and readiness checks
//! exactly that. A process without the validation role never reads operator secrets; the events
//! recorder never touches the blob store.

use std::sync::Arc;

use sqlx::PgPool;

use crate::blob::{self, BlobError, BlobStore};
use crate::config::{
    CaptureLimits, PipelineSettings, QuotaSettings, RetentionSettings, ServerConfig,
    ValidationSettings,
};
use crate::nats::{Bus, BusError};
use crate::secrets::{self, SecretsError, SecretsStore};

/// The dependencies one role uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub database: bool,
    pub nats: bool,
    pub blob: bool,
    pub secrets: bool,
}

impl Needs {
    /// Postgres and NATS: what every role of this server uses.
    pub const DATABASE_AND_NATS: Needs = Needs {
        database: true,
        nats: true,
        blob: false,
        secrets: false,
    };

    /// Everything: for tests and tools that act as any role.
    pub const ALL: Needs = Needs {
        database: true,
        nats: true,
        blob: true,
        secrets: true,
    };

    pub const fn and_blob(self) -> Needs {
        Needs { blob: true, ..self }
    }

    pub const fn and_secrets(self) -> Needs {
        Needs {
            secrets: true,
            ..self
        }
    }

    /// What a process running both roles needs.
    pub fn union(self, other: Needs) -> Needs {
        Needs {
            database: self.database || other.database,
            nats: self.nats || other.nats,
            blob: self.blob || other.blob,
            secrets: self.secrets || other.secrets,
        }
    }
}

/// Everything a process's roles need, opened once at start-up and shared. The blob and secrets
/// stores are there only when some role declared them.
#[derive(Clone, Debug)]
pub struct Deps {
    pub db: PgPool,
    pub bus: Bus,
    pub blob: Option<Arc<dyn BlobStore>>,
    pub secrets: Option<Arc<dyn SecretsStore>>,
    /// What was declared, so readiness checks exactly that.
    pub needs: Needs,
    pub pipeline: PipelineSettings,
    pub limits: CaptureLimits,
    pub validation: ValidationSettings,
    pub retention: RetentionSettings,
    pub quotas: QuotaSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("DATABASE_URL is not a valid Postgres URL: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Nats(#[from] BusError),
    #[error("cannot open the blob store (RECON_BLOB_URL): {0}")]
    Blob(#[from] BlobError),
    #[error("cannot open the secrets store (RECON_SECRETS_URL): {0}")]
    Secrets(#[from] SecretsError),
}

/// Opens what `needs` names. The pool connects lazily, so a process starts (and reports
/// not-ready) while Postgres is down; NATS is connected and its streams ensured.
pub async fn open_deps(config: &ServerConfig, needs: Needs) -> Result<Deps, OpenError> {
    let db = crate::db::connect(&config.database_url)?;
    let bus = Bus::connect(&config.nats_url).await?;
    bus.ensure_streams(&config.pipeline).await?;
    let blob = match needs.blob {
        true => Some(blob::open_blob_store(&config.blob_url).await?),
        false => None,
    };
    let secrets = match needs.secrets {
        true => Some(secrets::open_secrets_store(&config.secrets_url, config.secrets_ttl).await?),
        false => None,
    };
    Ok(Deps {
        db,
        bus,
        blob,
        secrets,
        needs,
        pipeline: config.pipeline.clone(),
        limits: config.limits.clone(),
        validation: config.validation.clone(),
        retention: config.retention.clone(),
        quotas: config.quotas.clone(),
    })
}

impl Deps {
    /// The blob store, or a permanent error naming the role table as the thing to fix.
    pub fn blob_store(&self) -> Result<&dyn BlobStore, BlobError> {
        self.blob.as_deref().ok_or_else(|| {
            BlobError::Refused("this process's roles did not declare the blob store".to_owned())
        })
    }

    pub fn secrets_store(&self) -> Result<&dyn SecretsStore, SecretsError> {
        self.secrets.as_deref().ok_or_else(|| {
            SecretsError::Invalid(
                "this process's roles did not declare the secrets store".to_owned(),
            )
        })
    }
}
