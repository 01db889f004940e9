//! The validation-requests quota, enforced around the validation stage (which must not touch the
//! database): before a run, reserve what the account's daily quota leaves, at most the per-scan
//! budget, and hand the stage that as its budget; after it, settle the reservation at what the
//! run really sent. A run that dies in between keeps its whole reservation counted: the quota
//! errs towards refusing, never towards replaying more than allowed.

use recon_contracts::{Quota, Validation};
use serde::Deserialize;
use tracing::{info, warn};

use crate::stage::{Stage, StageContext, StageOutput};
use crate::{db, StageError};

/// Wraps the validation stage: `recon-server` runs `ValidationQuota(ValidationStage)`.
#[derive(Clone)]
pub struct ValidationQuota<S>(pub S);

/// Replay requests granted to one run, and the usage row that holds them.
struct Grant {
    usage_id: i64,
    requests: u32,
    per_scan: u32,
    daily_limit: u64,
}

impl<S: Stage> Stage for ValidationQuota<S> {
    const STEP: &'static str = S::STEP;

    async fn run(&self, ctx: &StageContext) -> Result<StageOutput, StageError> {
        let grant = reserve(ctx).await?;
        let outcome = self.0.run(&ctx.with_replay_budget(grant.requests)).await;
        let sent = match &outcome {
            Ok(output) => requests_sent(&output.result),
            // The stage fails while loading its inputs, before it replays anything (or, after,
            // only if its result cannot be serialized).
            Err(_) => Some(0),
        };
        match sent {
            Some(sent) => {
                if let Err(err) =
                    db::usage::settle(&ctx.deps().db, grant.usage_id, u64::from(sent)).await
                {
                    warn!(error = %err, reserved = grant.requests, sent, "cannot settle the replay reservation; the whole reservation stays counted");
                }
            }
            None => warn!(
                reserved = grant.requests,
                "the validation result has no request count; the whole reservation stays counted"
            ),
        }
        outcome.map(|output| note_the_quota(output, &grant))
    }
}

/// Takes min(per-scan budget, what the daily quota leaves) under the account lock.
async fn reserve(ctx: &StageContext) -> Result<Grant, StageError> {
    let deps = ctx.deps();
    let per_scan = deps.validation.max_requests_per_scan;
    let daily_limit = deps.quotas.validation_requests_per_day;
    let account_id = ctx.scan.account_id;
    let window = super::window_of(Quota::ValidationRequestsPerDay);
    let mut tx = deps.db.begin().await?;
    db::accounts::lock(&mut tx, account_id).await?;
    let used = db::usage::used(
        &mut *tx,
        account_id,
        Quota::ValidationRequestsPerDay,
        window,
    )
    .await?;
    let left = daily_limit.saturating_sub(used);
    let requests = u32::try_from(left).unwrap_or(u32::MAX).min(per_scan);
    let usage_id = db::usage::record(
        &mut *tx,
        account_id,
        Quota::ValidationRequestsPerDay,
        u64::from(requests),
        Some(ctx.scan.id),
    )
    .await?;
    tx.commit().await?;
    if requests < per_scan {
        info!(
            requests,
            per_scan, used, daily_limit, "the daily validation quota limits this run"
        );
    }
    Ok(Grant {
        usage_id,
        requests,
        per_scan,
        daily_limit,
    })
}

/// The replay requests a validation result says were sent (`Validation::requests_sent`).
fn requests_sent(result: &serde_json::Value) -> Option<u32> {
    Validation::deserialize(result)
        .ok()
        .map(|validation| validation.requests_sent)
}

/// Tells the report reader when the quota, not the per-scan budget, limited the replays.
fn note_the_quota(mut output: StageOutput, grant: &Grant) -> StageOutput {
    if grant.requests >= grant.per_scan {
        return output;
    }
    let note = format!(
        "The account's daily validation quota ({} replay requests in 24 hours) left {} of this \
         scan's usual {}; endpoints beyond that were not replayed.",
        grant.daily_limit, grant.requests, grant.per_scan
    );
    if let Some(notes) = output
        .result
        .get_mut("notes")
        .and_then(serde_json::Value::as_array_mut)
    {
        notes.push(serde_json::Value::String(note));
    }
    output.summary = format!(
        "{} (daily validation quota: {} request(s) left)",
        output.summary, grant.requests
    );
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(requests: u32) -> Grant {
        Grant {
            usage_id: 1,
            requests,
            per_scan: 80,
            daily_limit: 2000,
        }
    }

    fn output() -> StageOutput {
        StageOutput::new(
            &Validation {
                requests_sent: 7,
                notes: vec!["Tiers tried, cheapest first: direct.".into()],
                ..Validation::default()
            },
            "0 of 0 endpoint(s) replayable",
        )
        .unwrap()
    }

    #[test]
    fn the_count_comes_from_the_result() {
        assert_eq!(requests_sent(&output().result), Some(7));
        assert_eq!(requests_sent(&serde_json::json!("not a result")), None);
    }

    #[test]
    fn a_run_the_quota_limited_says_so() {
        let limited = note_the_quota(output(), &grant(3));
        let notes = limited.result["notes"].as_array().unwrap();
        assert_eq!(notes.len(), 2);
        assert!(notes[1]
            .as_str()
            .unwrap()
            .contains("left 3 of this scan's usual 80"));
        assert!(limited
            .summary
            .ends_with("(daily validation quota: 3 request(s) left)"));
        let full = note_the_quota(output(), &grant(80));
        assert_eq!(full.result["notes"].as_array().unwrap().len(), 1);
    }
}
