//! Request/reply bookkeeping: one waiter per `_inbox.<id>` topic.
//!
//! A request gets a fresh inbox topic in `reply_to`; the reply is published on it with
//! `correlation_id` set to the request's id. Publishing on an inbox topic bypasses routing
//! and resolves the waiter directly through a oneshot channel, so a requester needs no
//! subscription and inbox topics never enter the route cache or the per-topic stats one by
//! one. A waiter is removed by a guard when the requester stops waiting (reply, timeout
//! or cancellation), so a late reply finds nobody and is dropped quietly.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering as Mem};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::queue::lock;
use crate::event::Event;

/// The prefix of reply topics.
pub const INBOX_PREFIX: &str = "_inbox.";

/// Whether `topic` is a reply inbox.
pub(crate) fn is_inbox(topic: &str) -> bool {
    topic.starts_with(INBOX_PREFIX)
}

#[derive(Debug, Default)]
pub(crate) struct Pending {
    waiters: Mutex<HashMap<Box<str>, oneshot::Sender<Arc<Event>>>>,
    pub(crate) late: AtomicU64,
}

impl Pending {
    pub(crate) fn register(&self, inbox: &str) -> oneshot::Receiver<Arc<Event>> {
        let (tx, rx) = oneshot::channel();
        lock(&self.waiters).insert(Box::from(inbox), tx);
        rx
    }

    pub(crate) fn forget(&self, inbox: &str) {
        lock(&self.waiters).remove(inbox);
    }

    pub(crate) fn has_waiter(&self, inbox: &str) -> bool {
        lock(&self.waiters).contains_key(inbox)
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.waiters).len()
    }

    /// Hands `reply` to the waiter of its topic; whether someone was still waiting.
    pub(crate) fn resolve(&self, reply: Arc<Event>) -> bool {
        let waiter = lock(&self.waiters).remove(reply.topic.as_str());
        let delivered = match waiter {
            Some(tx) => tx.send(reply).is_ok(),
            None => false,
        };
        if !delivered {
            self.late.fetch_add(1, Mem::Relaxed);
            tracing::debug!("reply arrived after its requester stopped waiting; dropped");
        }
        delivered
    }
}

/// Forgets the waiter when the request future ends, however it ends.
pub(crate) struct WaiterGuard<'a> {
    pub(crate) pending: &'a Pending,
    pub(crate) inbox: &'a str,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        self.pending.forget(self.inbox);
    }
}
