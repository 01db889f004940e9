//! Turns Postgres `NOTIFY scan_events` (sent by the recorder on commit) into an in-process
//! broadcast, so WebSocket clients are woken the moment their scan has a new event.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub fn spawn_listener(pool: PgPool, shutdown: CancellationToken) -> broadcast::Sender<Uuid> {
    let (sender, _) = broadcast::channel(4096);
    let publish = sender.clone();
    tokio::spawn(async move {
        while !shutdown.is_cancelled() {
            let mut listener = match PgListener::connect_with(&pool).await {
                Ok(listener) => listener,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot LISTEN for events; WebSockets fall back to ticking");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    }
                }
            };
            if let Err(err) = listener
                .listen(recon_runtime::db::events::NOTIFY_CHANNEL)
                .await
            {
                tracing::warn!(error = %err, "LISTEN failed");
                continue;
            }
            loop {
                let next = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    next = listener.recv() => next,
                };
                match next {
                    Ok(notification) => {
                        if let Ok(scan_id) = notification.payload().parse::<Uuid>() {
                            let _ = publish.send(scan_id);
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "event listener lost its connection");
                        break;
                    }
                }
            }
        }
    });
    sender
}
