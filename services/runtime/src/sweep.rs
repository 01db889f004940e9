//! The orphan sweep: a scan in `processing` with no event and no stage activity for a while
//! (its stage died for good, or its message expired) is marked `errored`, with an `errored`
//! event for the step it was stuck in, so clients stop waiting.
//!
//! Idleness is measured only over time the sweep could see: after it failed to reach the
//! database or NATS, a stage holding a scan through the same outage could not record progress
//! either, so [`Sweeper`] calls nothing orphaned until a full idle period after the outage.
//!
//! Safe with several sweepers at once: the event id is derived from (scan, step, errored), so a
//! second publish is dropped by JetStream and by the recorder; the status update only applies
//! while the scan is still `processing` and still stale.

use std::time::Duration;

use recon_contracts::{Step, StepStatus};
use sqlx::PgPool;
use uuid::Uuid;

use crate::nats::{Bus, BusError};
use crate::step::StepGuard;

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("nats: {0}")]
    Bus(#[from] BusError),
    #[error("nats: not connected")]
    Disconnected,
}

/// The periodic sweep, blind for `idle_for` after any failure (see the module comment).
#[derive(Debug, Default)]
pub struct Sweeper {
    /// No scan is called orphaned before this instant.
    blind_until: Option<tokio::time::Instant>,
}

impl Sweeper {
    /// Sweeps once, unless an outage ended less than `idle_for` ago; then it only checks that
    /// the database and NATS are reachable, and an outage still on extends the wait.
    pub async fn sweep(
        &mut self,
        db: &PgPool,
        bus: &Bus,
        steps: &[Step],
        idle_for: Duration,
    ) -> Result<Vec<Orphan>, SweepError> {
        let now = tokio::time::Instant::now();
        let result = match self.blind_until {
            Some(until) if now < until => probe(db, bus).await.map(|()| Vec::new()),
            _ => sweep_orphans(db, bus, steps, idle_for).await,
        };
        if result.is_err() {
            self.blind_until = Some(tokio::time::Instant::now() + idle_for);
        } else if self.blind_until.is_some_and(|until| now >= until) {
            self.blind_until = None;
        }
        result
    }
}

async fn probe(db: &PgPool, bus: &Bus) -> Result<(), SweepError> {
    sqlx::query("SELECT 1").execute(db).await?;
    if !bus.is_connected() {
        return Err(SweepError::Disconnected);
    }
    Ok(())
}

/// A scan the sweep found stuck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub scan_id: Uuid,
    pub step: Step,
}

/// Sweeps once; returns the scans this call marked errored. `steps` is the pipeline in order.
pub async fn sweep_orphans(
    db: &PgPool,
    bus: &Bus,
    steps: &[Step],
    idle_for: Duration,
) -> Result<Vec<Orphan>, SweepError> {
    let idle_secs = idle_for.as_secs_f64();
    let candidates: Vec<(Uuid, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT s.id, last.step, last.status FROM scans s \
         LEFT JOIN LATERAL ( \
             SELECT step, status, created_at FROM scan_events e \
             WHERE e.scan_id = s.id ORDER BY cursor DESC LIMIT 1 \
         ) last ON true \
         WHERE s.status = 'processing' \
           AND greatest(s.updated_at, coalesce(last.created_at, s.updated_at)) \
               < now() - make_interval(secs => $1) \
         ORDER BY s.updated_at \
         LIMIT 500",
    )
    .bind(idle_secs)
    .fetch_all(db)
    .await?;

    let mut swept = Vec::new();
    for (scan_id, last_step, last_status) in candidates {
        let step = stuck_step(steps, last_step.as_deref(), last_status.as_deref());
        let message = format!(
            "no progress for {} minutes: the {step} stage stopped working on this scan; \
             start a new scan",
            idle_for.as_secs().div_ceil(60)
        );
        // The event first: if this sweeper dies after it, the next sweep finds the scan
        // still processing and publishes the same event id again.
        StepGuard::resume(bus, scan_id, step.clone())
            .errored(&message)
            .await?;
        let updated = sqlx::query(
            "UPDATE scans SET status = 'errored', error = $2, completed_at = now(), \
             updated_at = now() \
             WHERE id = $1 AND status = 'processing' \
               AND updated_at < now() - make_interval(secs => $3)",
        )
        .bind(scan_id)
        .bind(&message)
        .bind(idle_secs)
        .execute(db)
        .await?
        .rows_affected();
        if updated == 1 {
            crate::metrics::metrics().orphans_swept.inc();
            tracing::warn!(%scan_id, %step, "orphaned scan marked errored");
            swept.push(Orphan { scan_id, step });
        }
    }
    Ok(swept)
}

/// The step a scan is stuck in, from its last event.
fn stuck_step(steps: &[Step], last_step: Option<&str>, last_status: Option<&str>) -> Step {
    let position = last_step.and_then(|name| steps.iter().position(|step| step == name));
    let first = || {
        steps
            .first()
            .cloned()
            .unwrap_or_else(|| Step::named("unknown"))
    };
    match (position, last_status, last_step) {
        (Some(position), Some(status), _) if status == StepStatus::Complete.as_str() => {
            steps.get(position + 1).unwrap_or(&steps[position]).clone()
        }
        (Some(position), _, _) => steps[position].clone(),
        // A step this server does not run (any more): name it as the events did.
        (None, _, Some(name)) => Step::from(name.to_owned()),
        (None, _, None) => first(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stuck_step_follows_the_last_event() {
        let steps: Vec<Step> = ["detection", "analysis", "intent_filter", "render"]
            .into_iter()
            .map(Step::named)
            .collect();
        let step = |last, status| stuck_step(&steps, last, status);
        assert_eq!(step(None, None), Step::named("detection"));
        assert_eq!(
            step(Some("analysis"), Some("started")),
            Step::named("analysis")
        );
        assert_eq!(
            step(Some("analysis"), Some("complete")),
            Step::named("intent_filter")
        );
        assert_eq!(
            step(Some("render"), Some("complete")),
            Step::named("render")
        );
    }
}
