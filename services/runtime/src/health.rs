//! Readiness of a process: its database, NATS connection and blob store answer. Served at
//! `/readyz` by the api and by every role's operations listener.

use std::future::Future;
use std::time::Duration;

use serde_json::{json, Value};

use crate::stage::Deps;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Readiness {
    pub ready: bool,
    /// `{"status": "ready"|"not_ready", "checks": {...}}`.
    pub body: Value,
}

pub async fn readiness(deps: &Deps) -> Readiness {
    let (database, blob) = tokio::join!(
        with_timeout(async {
            crate::db::check(&deps.db)
                .await
                .map_err(|err| err.to_string())
        }),
        with_timeout(async { deps.blob.check().await.map_err(|err| err.to_string()) }),
    );
    let nats: Result<(), String> = if deps.bus.is_connected() {
        Ok(())
    } else {
        Err("not connected".to_owned())
    };
    let ready = database.is_ok() && blob.is_ok() && nats.is_ok();
    let describe = |result: &Result<(), String>| match result {
        Ok(()) => json!("ok"),
        Err(err) => json!(err),
    };
    Readiness {
        ready,
        body: json!({
            "status": if ready { "ready" } else { "not_ready" },
            "checks": {
                "database": describe(&database),
                "nats": describe(&nats),
                "blob_store": describe(&blob),
            }
        }),
    }
}

async fn with_timeout(check: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err("timed out".to_owned()))
}
