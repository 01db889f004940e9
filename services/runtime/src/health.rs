//! Readiness of a process: the dependencies its roles declared (database, NATS, blob store;
//! the secrets store is read on use and cached) answer. Served at
//! `/readyz` by every role's operations listener with each failure's text, and by the api's
//! public port with only which checks fail: error text names hosts, paths and versions.

use std::future::Future;
use std::time::Duration;

use serde_json::{json, Value};

use crate::stage::Deps;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Readiness {
    pub ready: bool,
    checks: Vec<(&'static str, Result<(), String>)>,
}

impl Readiness {
    /// `{"status": "ready"|"not_ready", "checks": {name: "ok" | error text}}`.
    pub fn detailed_body(&self) -> Value {
        self.body(|err| json!(err))
    }

    /// The same with `"failing"` in place of each error's text.
    pub fn public_body(&self) -> Value {
        self.body(|_| json!("failing"))
    }

    fn body(&self, failure: impl Fn(&str) -> Value) -> Value {
        let checks: serde_json::Map<String, Value> = self
            .checks
            .iter()
            .map(|(name, result)| {
                let value = match result {
                    Ok(()) => json!("ok"),
                    Err(err) => failure(err),
                };
                ((*name).to_owned(), value)
            })
            .collect();
        json!({
            "status": if self.ready { "ready" } else { "not_ready" },
            "checks": checks,
        })
    }
}

pub async fn readiness(deps: &Deps) -> Readiness {
    let needs = deps.needs;
    let (database, blob) = tokio::join!(
        with_timeout(async {
            crate::db::check(&deps.db)
                .await
                .map_err(|err| err.to_string())
        }),
        with_timeout(async {
            match &deps.blob {
                Some(blob) => blob.check().await.map_err(|err| err.to_string()),
                None => Ok(()),
            }
        }),
    );
    let nats: Result<(), String> = if deps.bus.is_connected() {
        Ok(())
    } else {
        Err("not connected".to_owned())
    };
    let checks: Vec<(&'static str, Result<(), String>)> = [
        (needs.database, "database", database),
        (needs.nats, "nats", nats),
        (needs.blob, "blob_store", blob),
    ]
    .into_iter()
    .filter(|(needed, _, _)| *needed)
    .map(|(_, name, result)| (name, result))
    .collect();
    Readiness {
        ready: checks.iter().all(|(_, result)| result.is_ok()),
        checks,
    }
}

async fn with_timeout(check: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err("timed out".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_body_names_failing_checks_without_their_text() {
        let readiness = Readiness {
            ready: false,
            checks: vec![
                (
                    "database",
                    Err("connection to 10.0.0.7:5432 refused".to_owned()),
                ),
                ("nats", Ok(())),
                ("blob_store", Ok(())),
            ],
        };
        let public = readiness.public_body();
        assert_eq!(public["status"], "not_ready");
        assert_eq!(public["checks"]["database"], "failing");
        assert_eq!(public["checks"]["nats"], "ok");
        assert!(!public.to_string().contains("10.0.0.7"), "{public}");
        let detailed = readiness.detailed_body();
        assert_eq!(
            detailed["checks"]["database"],
            "connection to 10.0.0.7:5432 refused"
        );
    }
}
