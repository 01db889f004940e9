//! One delivered event: stored (or recognised as a duplicate) and acknowledged, retried later
//! while the database is down, dropped when it can never be stored.

use std::time::Duration;

use async_nats::jetstream::{self, AckKind};
use recon_contracts::{decode_message, StepEvent};
use recon_runtime::stage::Deps;
use tracing::{debug, warn};

pub(crate) async fn record(deps: &Deps, message: &jetstream::Message) {
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
