//! The events recorder (target `events`): persists every progress event from `SCAN_EVENTS`
//! as a `scan_events` row with a gap-free per-scan cursor. Any number of recorders share one
//! durable consumer that allows a single event in flight, so rows appear in publication order;
//! the cursor itself is made safe against concurrent writers in `recon_runtime::db::events`.

use std::time::Duration;

use async_nats::jetstream::{self, AckKind};
use recon_contracts::{decode_message, StepEvent};
use recon_runtime::nats::BusError;
use recon_runtime::stage::Deps;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

pub async fn run_recorder(deps: Deps, shutdown: CancellationToken) -> Result<(), BusError> {
    let consumer = deps.bus.events_consumer(&deps.pipeline).await?;
    info!("events recorder ready");
    let deps = &deps;
    recon_runtime::consume::consume_one_at_a_time(
        &consumer,
        "events",
        &shutdown,
        |message| async move { record(deps, &message).await },
    )
    .await;
    info!("events recorder stopped");
    Ok(())
}

async fn record(deps: &Deps, message: &jetstream::Message) {
    let disposition = match decode_message::<StepEvent>(&message.payload) {
        Err(err) => {
            warn!(error = %err, subject = %message.subject, "dropping a malformed event");
            AckKind::Term
        }
        Ok(event) => match recon_runtime::db::events::record(&deps.db, &event).await {
            Ok(inserted) => {
                debug!(scan_id = %event.scan_id, step = %event.step, status = event.status.as_str(), inserted, "event recorded");
                AckKind::Ack
            }
            Err(err) if recon_runtime::error::is_transient_db_error(&err) => {
                warn!(error = %err, "database unavailable; event will be retried");
                AckKind::Nak(Some(Duration::from_millis(500)))
            }
            Err(err) => {
                warn!(error = %err, scan_id = %event.scan_id, "event cannot be stored (unknown scan?); dropping");
                AckKind::Term
            }
        },
    };
    let result = match disposition {
        AckKind::Ack => message.double_ack().await,
        other => message.ack_with(other).await,
    };
    if let Err(err) = result {
        warn!(error = %err, "event acknowledgement failed; it will be redelivered");
    }
}
