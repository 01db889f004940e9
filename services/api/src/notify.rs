//! One Postgres `LISTEN scan_events` per api process feeds every WebSocket. The recorder sends
//! `NOTIFY scan_events, '<scan id>'` on commit; only the sockets following that scan wake up.
//! Notifications sent while the listener is disconnected are lost, so every socket re-reads
//! once each time the listener has (re)connected: a socket never polls, yet misses nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Pause before connecting again after the listener failed.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// Who is waiting for which scan's events.
#[derive(Clone)]
pub struct Wakeups {
    inner: Arc<Inner>,
}

struct Inner {
    /// Per followed scan: a counter bumped on each notification, and how many sockets follow it.
    scans: Mutex<HashMap<Uuid, (watch::Sender<u64>, usize)>>,
    /// Bumped each time the listener (re)connects: everyone re-reads.
    resync: watch::Sender<u64>,
    /// Cancelled when the listener stops for good (shutdown).
    stopped: CancellationToken,
}

/// Why a socket's wait ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Wake {
    /// The scan may have new events: read them.
    News,
    /// The listener has stopped for good: the process is shutting down.
    Stopped,
}

impl Wakeups {
    pub fn new() -> Wakeups {
        Wakeups {
            inner: Arc::new(Inner {
                scans: Mutex::new(HashMap::new()),
                resync: watch::Sender::new(0),
                stopped: CancellationToken::new(),
            }),
        }
    }

    /// Starts following `scan_id` until the subscription is dropped.
    pub fn subscribe(&self, scan_id: Uuid) -> Subscription {
        let mut scans = self.scans();
        let (sender, followers) = scans
            .entry(scan_id)
            .or_insert_with(|| (watch::Sender::new(0), 0));
        *followers += 1;
        Subscription {
            scan_id,
            scan: sender.subscribe(),
            resync: self.inner.resync.subscribe(),
            wakeups: self.clone(),
        }
    }

    /// Wakes the sockets following `scan_id`, if any.
    fn notify(&self, scan_id: Uuid) {
        if let Some((sender, _)) = self.scans().get(&scan_id) {
            sender.send_modify(|count| *count = count.wrapping_add(1));
        }
    }

    /// Wakes every socket.
    fn resync(&self) {
        self.inner
            .resync
            .send_modify(|count| *count = count.wrapping_add(1));
    }

    fn scans(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (watch::Sender<u64>, usize)>> {
        self.inner
            .scans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// One socket's interest in one scan.
pub struct Subscription {
    scan_id: Uuid,
    scan: watch::Receiver<u64>,
    resync: watch::Receiver<u64>,
    wakeups: Wakeups,
}

impl Subscription {
    /// Marks every wake-up so far as handled. Call it before reading the scan's events: a
    /// notification that arrives during the read then makes the next [`Self::changed`] return
    /// at once.
    pub fn mark_seen(&mut self) {
        self.scan.borrow_and_update();
        self.resync.borrow_and_update();
    }

    /// Waits for the first wake-up after the last [`Self::mark_seen`].
    pub async fn changed(&mut self) -> Wake {
        let stopped = self.wakeups.inner.stopped.clone();
        tokio::select! {
            // The senders live as long as this subscription, so these never fail.
            _ = self.scan.changed() => Wake::News,
            _ = self.resync.changed() => Wake::News,
            _ = stopped.cancelled() => Wake::Stopped,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut scans = self.wakeups.scans();
        if let Some((_, followers)) = scans.get_mut(&self.scan_id) {
            *followers -= 1;
            if *followers == 0 {
                scans.remove(&self.scan_id);
            }
        }
    }
}

/// Listens until `shutdown`, reconnecting as needed, and wakes the sockets of `wakeups`.
pub fn spawn_listener(pool: PgPool, wakeups: Wakeups, shutdown: CancellationToken) {
    tokio::spawn(async move {
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = listen(&pool, &wakeups) => {}
        }
        wakeups.inner.stopped.cancel();
    });
}

async fn listen(pool: &PgPool, wakeups: &Wakeups) {
    loop {
        let mut listener = match connect(pool).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "cannot LISTEN for events; retrying");
                tokio::time::sleep(RECONNECT_PAUSE).await;
                continue;
            }
        };
        loop {
            // Listening (again): whatever was recorded before is read once by every socket.
            wakeups.resync();
            match receive(&mut listener, wakeups).await {
                // The connection dropped and sqlx has reconnected and listens again.
                Ok(()) => tracing::info!("event listener reconnected"),
                Err(err) => {
                    tracing::warn!(error = %err, "event listener failed; connecting again");
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    break;
                }
            }
        }
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen(recon_runtime::db::events::NOTIFY_CHANNEL)
        .await?;
    Ok(listener)
}

/// Forwards notifications until the connection is lost (`Ok`, already reconnected) or fails.
async fn receive(listener: &mut PgListener, wakeups: &Wakeups) -> Result<(), sqlx::Error> {
    while let Some(notification) = listener.try_recv().await? {
        if let Ok(scan_id) = notification.payload().parse::<Uuid>() {
            wakeups.notify(scan_id);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn wakes(subscription: &mut Subscription) -> bool {
        tokio::time::timeout(Duration::from_millis(50), subscription.changed())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn only_the_notified_scan_wakes() {
        let wakeups = Wakeups::new();
        let (mine, other) = (Uuid::new_v4(), Uuid::new_v4());
        let mut subscription = wakeups.subscribe(mine);
        subscription.mark_seen();
        wakeups.notify(other);
        assert!(!wakes(&mut subscription).await);
        wakeups.notify(mine);
        assert!(wakes(&mut subscription).await);
        assert!(!wakes(&mut subscription).await, "one wake per notification");
    }

    #[tokio::test]
    async fn a_notification_during_the_read_is_not_lost() {
        let wakeups = Wakeups::new();
        let scan = Uuid::new_v4();
        let mut subscription = wakeups.subscribe(scan);
        subscription.mark_seen();
        // …the socket reads its events here, and meanwhile the recorder commits one more.
        wakeups.notify(scan);
        assert_eq!(subscription.changed().await, Wake::News);
    }

    #[tokio::test]
    async fn a_resync_wakes_everyone_and_a_stop_ends_the_wait() {
        let wakeups = Wakeups::new();
        let mut first = wakeups.subscribe(Uuid::new_v4());
        let mut second = wakeups.subscribe(Uuid::new_v4());
        first.mark_seen();
        second.mark_seen();
        wakeups.resync();
        assert!(wakes(&mut first).await);
        assert!(wakes(&mut second).await);
        wakeups.inner.stopped.cancel();
        assert_eq!(first.changed().await, Wake::Stopped);
    }

    #[test]
    fn the_last_subscription_gone_forgets_the_scan() {
        let wakeups = Wakeups::new();
        let scan = Uuid::new_v4();
        let first = wakeups.subscribe(scan);
        let second = wakeups.subscribe(scan);
        drop(first);
        assert_eq!(wakeups.scans().len(), 1);
        drop(second);
        assert!(wakeups.scans().is_empty());
    }
}
