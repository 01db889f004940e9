//! The leases behind the WebSocket quota, as this api replica holds them: each admitted under
//! the account lock, all renewed together in one statement, each deleted when its socket ends
//! (or when the upgrade never happens). A replica that dies stops renewing, and its leases stop
//! counting after `LEASE_STALE_AFTER`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use recon_runtime::{db, quota};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::ApiError;

#[derive(Clone)]
pub struct SocketLeases {
    db: PgPool,
    held: Arc<Mutex<HashSet<Uuid>>>,
}

impl SocketLeases {
    pub fn new(db: PgPool) -> SocketLeases {
        SocketLeases {
            db,
            held: Arc::default(),
        }
    }

    /// Admits one more socket for the account's `scan_id`, or refuses it over the quota.
    pub async fn acquire(
        &self,
        account_id: Uuid,
        scan_id: Uuid,
        limit: u64,
        lifetime: Duration,
    ) -> Result<Lease, ApiError> {
        // Refused without waiting for the account lock when the quota is plainly full.
        quota::check_websockets(&mut *self.db.acquire().await?, account_id, limit).await?;
        let mut tx = self.db.begin().await?;
        db::accounts::lock(&mut tx, account_id).await?;
        let id = quota::admit_websocket(&mut tx, account_id, scan_id, limit, lifetime).await?;
        tx.commit().await?;
        self.held().insert(id);
        Ok(Lease {
            id,
            leases: self.clone(),
        })
    }

    /// Renews the held leases every `LEASE_RENEW_EVERY` until `shutdown`.
    pub fn spawn_renewal(&self, shutdown: CancellationToken) {
        let leases = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(quota::LEASE_RENEW_EVERY) => {}
                }
                let ids: Vec<Uuid> = leases.held().iter().copied().collect();
                if ids.is_empty() {
                    continue;
                }
                if let Err(err) = db::websocket_leases::renew(&leases.db, &ids).await {
                    tracing::warn!(error = %err, sockets = ids.len(), "cannot renew WebSocket leases");
                }
            }
        });
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashSet<Uuid>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One open socket's place in the quota; dropping it gives the place back.
pub struct Lease {
    id: Uuid,
    leases: SocketLeases,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.leases.held().remove(&self.id);
        let (db, id) = (self.leases.db.clone(), self.id);
        // Outside a runtime (process exit) the lease simply stops being renewed.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(err) = db::websocket_leases::delete(&db, id).await {
                    tracing::warn!(error = %err, "cannot delete a WebSocket lease; it lapses unrenewed");
                }
            });
        }
    }
}
