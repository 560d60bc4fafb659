//! Dispatchers: the task that turns a subscriber's queue into handler calls.
//!
//! One task per `subscribe_with` subscription pops its queue (highest priority first) and
//! runs the handler according to the subscription's [`Ordering`]:
//!
//! - `Sequential` awaits each handler before popping the next event;
//! - `Unordered` and `PerKey` take an owned semaphore permit *before* popping, so events
//!   taken from the queue and not yet finished never exceed `max_in_flight`, and the queue
//!   (with its priorities and overflow policy) keeps holding the backlog;
//! - `PerKey` runs at most one task per key: an event whose key is busy waits, with its
//!   permit, in that key's pending deque, and the key's task drains the deque in order.
//!
//! Every handler run is wrapped in `catch_unwind`, so a panicking plugin costs one event,
//! not the subscription.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

// Tokio's clock, so paused-time tests see handler time too.
use tokio::time::Instant;

use super::queue::{Entry, State, SubShared, lock};
use super::subscription::Ordering;
use crate::event::Event;

/// Runs the dispatcher of one subscription until it is unsubscribed, or the bus is closed
/// (or dropped) and its queue is empty.
pub(crate) async fn run<F, Fut>(sub: Arc<SubShared>, handler: F)
where
    F: Fn(Arc<Event>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let handler = Arc::new(handler);
    match sub.ordering {
        Ordering::Sequential => {
            // Back to back, one handler's end is the next one's start: one clock read
            // per event instead of two when the queue is busy.
            let mut last_end = None;
            loop {
                // A busy queue never makes us wait, so give the scheduler its turn from
                // time to time (the same budget tokio's own resources use).
                tokio::task::coop::consume_budget().await;
                let entry = match sub.try_pop(true) {
                    Ok(entry) => entry,
                    Err(State::Open) => {
                        last_end = None;
                        match sub.pop(true).await {
                            Some(entry) => entry,
                            None => break,
                        }
                    }
                    Err(_) => break,
                };
                last_end = Some(handle(&sub, &*handler, entry, last_end).await);
            }
        }
        Ordering::Unordered { max_in_flight } => {
            let sem = Arc::new(Semaphore::new(max_in_flight.max(1)));
            loop {
                let Ok(permit) = Arc::clone(&sem).acquire_owned().await else {
                    break;
                };
                let Some(entry) = sub.pop(true).await else {
                    break;
                };
                let (sub, handler) = (Arc::clone(&sub), Arc::clone(&handler));
                tokio::spawn(async move {
                    handle(&sub, &*handler, entry, None).await;
                    drop(permit);
                });
            }
        }
        Ordering::PerKey { key, max_in_flight } => {
            let sem = Arc::new(Semaphore::new(max_in_flight.max(1)));
            let keys: Arc<KeyMap> = Arc::default();
            loop {
                let Ok(permit) = Arc::clone(&sem).acquire_owned().await else {
                    break;
                };
                let Some(entry) = sub.pop(true).await else {
                    break;
                };
                let k = key.of(&entry.event);
                let mut map = lock(&keys);
                match map.get_mut(&k) {
                    Some(pending) => pending.push_back((entry, permit)),
                    None => {
                        map.insert(k.clone(), VecDeque::new());
                        drop(map);
                        let (sub, handler, keys) =
                            (Arc::clone(&sub), Arc::clone(&handler), Arc::clone(&keys));
                        tokio::spawn(key_worker(sub, handler, keys, k, entry, permit));
                    }
                }
            }
        }
    }
}

type KeyMap = Mutex<HashMap<Option<Arc<str>>, VecDeque<(Entry, OwnedSemaphorePermit)>>>;

/// Handles `first`, then every event that queued up behind it for the same key, in order.
async fn key_worker<F, Fut>(
    sub: Arc<SubShared>,
    handler: Arc<F>,
    keys: Arc<KeyMap>,
    key: Option<Arc<str>>,
    first: Entry,
    first_permit: OwnedSemaphorePermit,
) where
    F: Fn(Arc<Event>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut next = Some((first, first_permit));
    while let Some((entry, permit)) = next.take() {
        handle(&sub, &*handler, entry, None).await;
        drop(permit);
        let mut map = lock(&keys);
        next = map.get_mut(&key).and_then(VecDeque::pop_front);
        if next.is_none() {
            // Removing under the same lock the dispatcher checks means a later event of
            // this key starts a fresh worker instead of waiting for one that has left.
            map.remove(&key);
        }
    }
}

/// Runs the handler once on an event taken from the queue (already counted in flight),
/// catching panics and recording the time it took (from `start`, when the caller has just
/// read the clock); returns when it ended.
async fn handle<F, Fut>(
    sub: &SubShared,
    handler: &F,
    entry: Entry,
    start: Option<Instant>,
) -> Instant
where
    F: Fn(Arc<Event>) -> Fut,
    Fut: Future<Output = ()>,
{
    let event = entry.event;
    let start = start.unwrap_or_else(Instant::now);
    let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| handler(Arc::clone(&event)))) {
        Ok(fut) => AssertUnwindSafe(fut).catch_unwind().await,
        Err(payload) => Err(payload),
    };
    let end = Instant::now();
    let took = end.saturating_duration_since(start);
    if let Err(payload) = &outcome {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned());
        tracing::error!(
            subscriber = %sub.name,
            topic = %event.topic,
            event_id = %event.id,
            panic = %msg,
            "event handler panicked; the subscription carries on with the next event"
        );
    }
    sub.finish_run(took, outcome.is_err());
    end
}
