//! One Postgres `LISTEN scan_events` per api process feeds every WebSocket. The recorder sends
//! `NOTIFY scan_events, '<scan id>'` on commit; only the sockets following that scan wake up.
//! Notifications sent while the listener is disconnected are lost, so every socket re-reads
//! once each time the listener has (re)connected: a socket never polls, yet misses nothing.
//! The same channel carries key revocations (`revoked:<key id>`): the sockets opened with that
//! key end at once. A socket that may have missed one (a reconnect, a burst it lagged behind)
//! checks its key in the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Pause before connecting again after the listener failed.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);
/// Revocations a socket may fall behind by before it checks its key instead.
const REVOCATION_BACKLOG: usize = 64;

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
    /// Keys revoked while this process listens.
    revoked: broadcast::Sender<Uuid>,
    /// Cancelled when the listener stops for good (shutdown).
    stopped: CancellationToken,
}

/// Why a socket's wait ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Wake {
    /// The scan may have new events: read them.
    News,
    /// Notifications may have been missed: read, and check that the key is still active.
    Resync,
    /// The socket's key was revoked.
    Revoked,
    /// The listener has stopped for good: the process is shutting down.
    Stopped,
}

impl Wakeups {
    pub fn new() -> Wakeups {
        Wakeups {
            inner: Arc::new(Inner {
                scans: Mutex::new(HashMap::new()),
                resync: watch::Sender::new(0),
                revoked: broadcast::Sender::new(REVOCATION_BACKLOG),
                stopped: CancellationToken::new(),
            }),
        }
    }

    /// Starts following `scan_id` for a socket opened with `key_id`, until the subscription is
    /// dropped.
    pub fn subscribe(&self, scan_id: Uuid, key_id: Uuid) -> Subscription {
        let mut scans = self.scans();
        let (sender, followers) = scans
            .entry(scan_id)
            .or_insert_with(|| (watch::Sender::new(0), 0));
        *followers += 1;
        Subscription {
            scan_id,
            scan: sender.subscribe(),
            resync: self.inner.resync.subscribe(),
            key_id,
            revoked: self.inner.revoked.subscribe(),
            wakeups: self.clone(),
        }
    }

    /// Wakes the sockets following `scan_id`, if any.
    fn notify(&self, scan_id: Uuid) {
        if let Some((sender, _)) = self.scans().get(&scan_id) {
            sender.send_modify(|count| *count = count.wrapping_add(1));
        }
    }

    /// Ends the sockets opened with `key_id`, if any.
    fn revoke(&self, key_id: Uuid) {
        // No receiver means no socket: nothing to end.
        let _ = self.inner.revoked.send(key_id);
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
    key_id: Uuid,
    revoked: broadcast::Receiver<Uuid>,
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
        loop {
            tokio::select! {
                // The senders live as long as this subscription, so these never fail.
                _ = self.scan.changed() => return Wake::News,
                _ = self.resync.changed() => return Wake::Resync,
                revoked = self.revoked.recv() => match revoked {
                    Ok(key_id) if key_id == self.key_id => return Wake::Revoked,
                    Ok(_) => continue,
                    Err(_) => return Wake::Resync,
                },
                _ = stopped.cancelled() => return Wake::Stopped,
            }
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
        let payload = notification.payload();
        if let Ok(scan_id) = payload.parse::<Uuid>() {
            wakeups.notify(scan_id);
        } else if let Some(key_id) = recon_runtime::db::keys::revoked_key(payload) {
            wakeups.revoke(key_id);
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
        let mut subscription = wakeups.subscribe(mine, Uuid::new_v4());
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
        let mut subscription = wakeups.subscribe(scan, Uuid::new_v4());
        subscription.mark_seen();
        // …the socket reads its events here, and meanwhile the recorder commits one more.
        wakeups.notify(scan);
        assert_eq!(subscription.changed().await, Wake::News);
    }

    #[tokio::test]
    async fn a_resync_wakes_everyone_and_a_stop_ends_the_wait() {
        let wakeups = Wakeups::new();
        let mut first = wakeups.subscribe(Uuid::new_v4(), Uuid::new_v4());
        let mut second = wakeups.subscribe(Uuid::new_v4(), Uuid::new_v4());
        first.mark_seen();
        second.mark_seen();
        wakeups.resync();
        assert!(wakes(&mut first).await);
        assert!(wakes(&mut second).await);
        wakeups.inner.stopped.cancel();
        assert_eq!(first.changed().await, Wake::Stopped);
    }

    #[tokio::test]
    async fn a_revocation_ends_only_the_sockets_of_that_key() {
        let wakeups = Wakeups::new();
        let (revoked_key, other_key) = (Uuid::new_v4(), Uuid::new_v4());
        let scan = Uuid::new_v4();
        let mut of_revoked = wakeups.subscribe(scan, revoked_key);
        let mut of_other = wakeups.subscribe(scan, other_key);
        of_revoked.mark_seen();
        of_other.mark_seen();
        wakeups.revoke(revoked_key);
        assert_eq!(of_revoked.changed().await, Wake::Revoked);
        assert!(!wakes(&mut of_other).await);
    }

    #[test]
    fn the_last_subscription_gone_forgets_the_scan() {
        let wakeups = Wakeups::new();
        let scan = Uuid::new_v4();
        let first = wakeups.subscribe(scan, Uuid::new_v4());
        let second = wakeups.subscribe(scan, Uuid::new_v4());
        drop(first);
        assert_eq!(wakeups.scans().len(), 1);
        drop(second);
        assert!(wakeups.scans().is_empty());
    }
}
