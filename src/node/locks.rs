//! Locks by key: read-modify-write changes of the state table serialise per record, not per node.
//!
//! A status change of one licence must not wait for a lookup that spends another holder's
//! consent (or signs fifty usage copies under it). Each change locks the record it reads and
//! rewrites: a licence by its id, a consent by its id, a witnessed log by its origin. Two
//! changes of the same record still run one after the other, so a consent's last use cannot be
//! spent twice and a status cannot be undone by a change that read it before.
//!
//! The table holds an entry only while some request holds or waits for its lock, so it stays as
//! small as the number of requests in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// The lock key of a licence record: its status changes and new versions serialise on it.
pub fn licence(id: &str) -> String {
    format!("licence/{id}")
}

/// The lock key of a consent record: its spending by lookups and its withdrawal serialise on it.
pub fn consent(id: &str) -> String {
    format!("consent/{id}")
}

/// The lock key of a partner's log this node witnesses, by its origin.
pub fn witnessed(origin: &str) -> String {
    format!("witness/{origin}")
}

/// The locks currently held or waited for, by key.
#[derive(Debug, Default)]
pub struct KeyedLocks {
    held: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

/// A held lock of one key; dropping it releases the key, and forgets it when nobody waits.
#[derive(Debug)]
pub struct KeyGuard {
    guard: Option<OwnedMutexGuard<()>>,
    lock: Arc<AsyncMutex<()>>,
    key: String,
    locks: Arc<KeyedLocks>,
}

impl KeyedLocks {
    /// A table with no lock held.
    pub fn new() -> Arc<KeyedLocks> {
        Arc::new(KeyedLocks::default())
    }

    /// Waits for the lock of `key` and holds it until the guard is dropped.
    pub async fn lock(self: &Arc<Self>, key: String) -> KeyGuard {
        let lock = {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            held.entry(key.clone()).or_default().clone()
        };
        // Built before the wait, so that a waiter dropped while it waits (its request was
        // abandoned) still forgets the key when it was the last one interested.
        let mut held = KeyGuard {
            guard: None,
            lock,
            key,
            locks: self.clone(),
        };
        held.guard = Some(held.lock.clone().lock_owned().await);
        held
    }

    /// How many keys are held or waited for.
    pub fn len(&self) -> usize {
        self.held.lock().map(|h| h.len()).unwrap_or(0)
    }

    /// Whether no key is held or waited for.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        let mut held = self.locks.held.lock().unwrap_or_else(|p| p.into_inner());
        // Released under the table's lock, so a new waiter either finds this entry (and gets
        // the lock) or none (and makes a fresh one): never two locks for one key.
        drop(self.guard.take());
        // The table's reference and ours: nobody else holds or waits for this key.
        if Arc::strong_count(&self.lock) == 2 {
            held.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_key_serialises_and_other_keys_do_not_wait() {
        let locks = KeyedLocks::new();
        let a = locks.lock("licence/A".into()).await;
        // Another key is free at once.
        let b = tokio::time::timeout(Duration::from_secs(1), locks.lock("licence/B".into()))
            .await
            .expect("an unrelated key waited");
        // The same key waits until the first holder lets go.
        let again = tokio::spawn({
            let locks = locks.clone();
            async move { locks.lock("licence/A".into()).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!again.is_finished(), "a held key was taken twice");
        drop(a);
        let a2 = tokio::time::timeout(Duration::from_secs(1), again)
            .await
            .expect("the waiter never got the key")
            .unwrap();
        assert_eq!(locks.len(), 2);
        drop(a2);
        drop(b);
        assert!(locks.is_empty(), "released keys stayed in the table");
    }

    #[tokio::test]
    async fn many_waiters_take_a_key_one_at_a_time() {
        let locks = KeyedLocks::new();
        let inside = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (locks, inside) = (locks.clone(), inside.clone());
            tasks.push(tokio::spawn(async move {
                let _g = locks.lock("consent/x".into()).await;
                let n = inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                assert_eq!(n, 0, "two holders of one key at once");
                tokio::task::yield_now().await;
                inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert!(locks.is_empty());
    }

    #[tokio::test]
    async fn a_waiter_dropped_while_waiting_leaves_nothing_behind() {
        let locks = KeyedLocks::new();
        let a = locks.lock("licence/A".into()).await;
        let waiting =
            tokio::time::timeout(Duration::from_millis(20), locks.lock("licence/A".into()));
        assert!(waiting.await.is_err(), "the key was taken while held");
        drop(a);
        assert!(
            locks.is_empty(),
            "an abandoned waiter kept its key in the table"
        );
    }
}
