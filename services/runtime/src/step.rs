//! The `step` guard: `started` when a stage begins work on a scan, then exactly one of
//! `complete` (clean exit) or `errored` (permanent failure, with the error text).
//!
//! A transient failure emits nothing: the message is retried and the step goes on. Event ids
//! are derived from (scan, step, status), so a re-run re-emits the same events and the
//! recorder keeps each once.

use recon_contracts::{Step, StepEvent, StepStatus};
use uuid::Uuid;

use crate::nats::{Bus, BusError};

#[must_use = "a step must end with complete() or errored()"]
pub struct StepGuard<'a> {
    bus: &'a Bus,
    scan_id: Uuid,
    step: Step,
}

impl<'a> StepGuard<'a> {
    pub async fn begin(bus: &'a Bus, scan_id: Uuid, step: Step) -> Result<StepGuard<'a>, BusError> {
        let guard = StepGuard { bus, scan_id, step };
        guard
            .emit(StepStatus::Started, None, serde_json::json!({}))
            .await?;
        Ok(guard)
    }

    /// A guard for a step whose `started` was already emitted (used to fail it after the fact).
    pub fn resume(bus: &'a Bus, scan_id: Uuid, step: Step) -> StepGuard<'a> {
        StepGuard { bus, scan_id, step }
    }

    pub async fn complete(
        self,
        message: Option<String>,
        metadata: serde_json::Value,
    ) -> Result<(), BusError> {
        self.emit(StepStatus::Complete, message, metadata).await
    }

    pub async fn errored(self, error: &str) -> Result<(), BusError> {
        self.emit(
            StepStatus::Errored,
            Some(error.to_owned()),
            serde_json::json!({}),
        )
        .await
    }

    async fn emit(
        &self,
        status: StepStatus,
        message: Option<String>,
        metadata: serde_json::Value,
    ) -> Result<(), BusError> {
        let event = StepEvent::new(self.scan_id, self.step.clone(), status, message, metadata);
        self.bus.publish_event(&event).await
    }
}
