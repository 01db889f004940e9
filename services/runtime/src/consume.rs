//! The pull loops the consumers share: one message at a time per replica (a replica never
//! hoards work another could do), re-subscribing after errors, until shutdown. Stages stream
//! their pulls; the events recorder, whose consumers allow one message in flight, pulls each
//! message only after handling the previous one ([`consume_in_order`]).

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::nats::PullConsumer;

pub async fn consume_one_at_a_time<F, Fut>(
    consumer: &PullConsumer,
    role: &str,
    shutdown: &CancellationToken,
    handle: F,
) where
    F: FnMut(jetstream::Message) -> Fut,
    Fut: Future<Output = ()>,
{
    let subscribe = || {
        consumer
            .stream()
            .max_messages_per_batch(1)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
    };
    pull_until_shutdown(role, shutdown, subscribe, handle).await;
}

/// How long one pull of [`consume_in_order`] waits for a message before asking again.
const IN_ORDER_PULL_WAIT: Duration = Duration::from_secs(5);

/// The loop for a consumer with `max_ack_pending = 1`: each pull asks for one message, and the
/// next pull goes out only after `handle` (which acknowledges) returns. The streaming pull of
/// [`consume_one_at_a_time`] asks for the next message as soon as one arrives, while that one is
/// still unacknowledged; against such a consumer, under load, that waiting request was seen to
/// stall until its missed heartbeat (10 s) re-subscribed it, and the recorders' throughput fell
/// tenfold.
pub async fn consume_in_order<F, Fut>(
    consumer: &PullConsumer,
    role: &str,
    shutdown: &CancellationToken,
    handle: F,
) where
    F: FnMut(jetstream::Message) -> Fut,
    Fut: Future<Output = ()>,
{
    let pull = || {
        consumer
            .batch()
            .max_messages(1)
            .expires(IN_ORDER_PULL_WAIT)
            .messages()
    };
    pull_until_shutdown(role, shutdown, pull, handle).await;
}

/// Opens a pull with `open` and hands each message to `handle`, opening another when the pull
/// ends or fails (after a second when it cannot be opened), until shutdown.
async fn pull_until_shutdown<Open, Opening, Messages, OpenError, PullError, F, Fut>(
    role: &str,
    shutdown: &CancellationToken,
    mut open: Open,
    mut handle: F,
) where
    Open: FnMut() -> Opening,
    Opening: Future<Output = Result<Messages, OpenError>>,
    Messages: futures::Stream<Item = Result<jetstream::Message, PullError>> + Unpin,
    OpenError: std::fmt::Display,
    PullError: std::fmt::Display,
    F: FnMut(jetstream::Message) -> Fut,
    Fut: Future<Output = ()>,
{
    while !shutdown.is_cancelled() {
        let mut messages = match open().await {
            Ok(messages) => messages,
            Err(err) => {
                warn!(role, error = %err, "cannot pull messages; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return,
                next = messages.next() => next,
            };
            match next {
                Some(Ok(message)) => handle(message).await,
                Some(Err(err)) => {
                    warn!(role, error = %err, "pull failed; pulling again");
                    break;
                }
                None => break,
            }
        }
    }
}
