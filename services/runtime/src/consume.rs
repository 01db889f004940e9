//! The pull loop every consumer shares: one message at a time per replica (a replica never
//! hoards work another could do), re-subscribing after errors, until shutdown.

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
    mut handle: F,
) where
    F: FnMut(jetstream::Message) -> Fut,
    Fut: Future<Output = ()>,
{
    while !shutdown.is_cancelled() {
        let mut messages = match consumer
            .stream()
            .max_messages_per_batch(1)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
        {
            Ok(messages) => messages,
            Err(err) => {
                warn!(role, error = %err, "cannot pull messages; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => break,
                next = messages.next() => next,
            };
            match next {
                Some(Ok(message)) => handle(message).await,
                Some(Err(err)) => {
                    warn!(role, error = %err, "pull failed; re-subscribing");
                    break;
                }
                None => break,
            }
        }
    }
}
