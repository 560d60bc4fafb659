//! One subscriber's bounded priority queue and its counters.
//!
//! A queue is four `VecDeque`s (one per [`Priority`]) behind one `std::sync::Mutex`: the
//! critical section is a push or a pop, far shorter than anything an async mutex would
//! buy, and the publisher never awaits. The consumer parks on a `tokio::sync::Notify` that
//! the publisher only pokes when it turns an empty queue non-empty, so a busy consumer
//! costs the publisher nothing but the lock.
//!
//! Every counter that changes on a push or a pop (received, delivered, dropped, and the
//! same per topic) lives in the locked state, so it costs no atomic operation and no
//! cache line shared with other subscribers. A queued entry names its topic by a small
//! slot number into this subscriber's own topic table (assigned when the route is
//! computed), rather than by a shared `Arc`, for the same reason: on a fan-out, shared
//! reference counts bounced between cores dominated the cost.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as Mem};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use super::Signals;
use super::stats::SubscriberStats;
use super::subscription::{Ordering, Overflow, SubscriptionId};
use crate::event::{Event, Priority};
use crate::topic::Pattern;

/// Locks a mutex, ignoring poisoning: nothing panics while holding our locks, and a
/// poisoned counter is still a counter.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A queued event and the slot of its topic in the subscriber's topic table.
pub(crate) struct Entry {
    pub(crate) event: Arc<Event>,
    slot: u32,
}

/// Whether the queue still accepts events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Open,
    /// The bus was closed: nothing new comes in, what is queued is still delivered.
    Closing,
    /// Unsubscribed: nothing comes in and nothing more goes out.
    Closed,
}

/// Per-topic counters of one subscriber.
#[derive(Debug, Clone)]
pub(crate) struct TopicTally {
    pub(crate) topic: Arc<str>,
    pub(crate) delivered: u64,
    pub(crate) dropped: u64,
}

struct Queue {
    levels: [VecDeque<Entry>; 4],
    len: usize,
    state: State,
    received: u64,
    delivered: u64,
    dropped: u64,
    critical_overflow: u64,
    topics: Vec<TopicTally>,
    slots: HashMap<Arc<str>, u32>,
}

impl Queue {
    fn pop(&mut self) -> Option<Entry> {
        for level in &mut self.levels {
            if let Some(e) = level.pop_front() {
                self.len -= 1;
                return Some(e);
            }
        }
        None
    }

    fn tally(&mut self, slot: u32) -> Option<&mut TopicTally> {
        self.topics.get_mut(slot as usize)
    }

    fn count_drop(&mut self, slot: u32) {
        self.dropped += 1;
        if let Some(t) = self.tally(slot) {
            t.dropped += 1;
        }
    }
}

/// What a push did, reported back to the publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued (possibly after dropping an older event).
    Queued,
    /// Dropped by the overflow policy.
    Dropped,
    /// The subscriber is gone or the bus closed.
    Refused,
}

/// Everything about one subscription that the bus, the publisher and the consumer share.
pub(crate) struct SubShared {
    pub(crate) id: SubscriptionId,
    pub(crate) name: String,
    pub(crate) pattern: Pattern,
    pub(crate) capacity: usize,
    pub(crate) overflow: Overflow,
    pub(crate) ordering: Ordering,
    pub(crate) signals: Arc<Signals>,
    queue: Mutex<Queue>,
    pub(crate) notify: Notify,
    in_flight: AtomicUsize,
    panics: AtomicU64,
    handler_nanos: AtomicU64,
    handler_max_nanos: AtomicU64,
}

impl std::fmt::Debug for SubShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("pattern", &self.pattern)
            .finish_non_exhaustive()
    }
}

impl SubShared {
    pub(crate) fn new(
        id: SubscriptionId,
        name: String,
        pattern: Pattern,
        capacity: usize,
        overflow: Overflow,
        ordering: Ordering,
        signals: Arc<Signals>,
    ) -> Self {
        Self {
            id,
            name,
            pattern,
            capacity: capacity.max(1),
            overflow,
            ordering,
            signals,
            queue: Mutex::new(Queue {
                levels: Default::default(),
                len: 0,
                state: State::Open,
                received: 0,
                delivered: 0,
                dropped: 0,
                critical_overflow: 0,
                topics: Vec::new(),
                slots: HashMap::new(),
            }),
            notify: Notify::new(),
            in_flight: AtomicUsize::new(0),
            panics: AtomicU64::new(0),
            handler_nanos: AtomicU64::new(0),
            handler_max_nanos: AtomicU64::new(0),
        }
    }

    /// The slot of `topic` (a stats name: a topic or `_other`) in this subscriber's topic
    /// table, added if new. Called when a route is computed, not per publish.
    pub(crate) fn topic_slot(&self, topic: &Arc<str>) -> u32 {
        let mut q = lock(&self.queue);
        if let Some(slot) = q.slots.get(topic) {
            return *slot;
        }
        let slot = u32::try_from(q.topics.len()).unwrap_or(u32::MAX);
        q.topics.push(TopicTally {
            topic: Arc::clone(topic),
            delivered: 0,
            dropped: 0,
        });
        q.slots.insert(Arc::clone(topic), slot);
        slot
    }

    /// Queues `event` according to the capacity and overflow policy. Never blocks on the
    /// consumer: the only wait is the queue lock, held for a push.
    pub(crate) fn push(&self, event: &Arc<Event>, slot: u32) -> Pushed {
        let prio = event.priority;
        let mut overflowed = false;
        let mut evicted = false;
        let was_empty;
        {
            let mut q = lock(&self.queue);
            if q.state != State::Open {
                return Pushed::Refused;
            }
            q.received += 1;
            was_empty = q.len == 0;
            if q.len >= self.capacity {
                let victim = match self.overflow {
                    // The oldest of the lowest class not above the incoming event; never
                    // a critical one.
                    Overflow::DropOldest => {
                        let lowest_allowed = prio.index().max(Priority::High.index());
                        (lowest_allowed..4)
                            .rev()
                            .find_map(|idx| q.levels.get_mut(idx).and_then(VecDeque::pop_front))
                    }
                    Overflow::DropNewest => None,
                };
                match victim {
                    Some(old) => {
                        q.len -= 1;
                        q.count_drop(old.slot);
                        evicted = true;
                    }
                    None if prio == Priority::Critical => {
                        q.critical_overflow += 1;
                        overflowed = true;
                    }
                    None => {
                        q.count_drop(slot);
                        drop(q);
                        tracing::debug!(
                            subscriber = %self.name,
                            topic = %event.topic,
                            "queue full, dropped the incoming event"
                        );
                        return Pushed::Dropped;
                    }
                }
            }
            if let Some(level) = q.levels.get_mut(prio.index()) {
                level.push_back(Entry {
                    event: Arc::clone(event),
                    slot,
                });
                q.len += 1;
            }
        }
        if evicted {
            tracing::debug!(subscriber = %self.name, "queue full, dropped an older event");
        }
        if overflowed {
            tracing::warn!(
                subscriber = %self.name,
                topic = %event.topic,
                capacity = self.capacity,
                "critical event queued beyond capacity (critical events are never dropped)"
            );
        }
        if was_empty {
            self.notify.notify_one();
        }
        Pushed::Queued
    }

    /// Pops the highest-priority event, counting it delivered. With `track`, the event is
    /// also counted in flight under the same lock, so a drain never misses it.
    pub(crate) fn try_pop(&self, track: bool) -> Result<Entry, State> {
        let mut q = lock(&self.queue);
        match q.pop() {
            Some(e) => {
                q.delivered += 1;
                if let Some(t) = q.tally(e.slot) {
                    t.delivered += 1;
                }
                if track {
                    self.in_flight.fetch_add(1, Mem::SeqCst);
                }
                Ok(e)
            }
            None => Err(q.state),
        }
    }

    /// Waits for the next event; `None` once the queue is closed (and, when the bus closed,
    /// emptied).
    pub(crate) async fn pop(&self, track: bool) -> Option<Entry> {
        loop {
            match self.try_pop(track) {
                Ok(e) => return Some(e),
                Err(State::Open) => self.notify.notified().await,
                Err(_) => return None,
            }
        }
    }

    /// Stops accepting events. `discard` (unsubscribe) also drops what is queued, counted
    /// as dropped; otherwise (bus closing) the queue is still delivered.
    pub(crate) fn close(&self, discard: bool) {
        let discarded: Vec<Entry> = {
            let mut q = lock(&self.queue);
            if discard {
                q.state = State::Closed;
                let mut out = Vec::with_capacity(q.len);
                while let Some(e) = q.pop() {
                    q.count_drop(e.slot);
                    out.push(e);
                }
                out
            } else {
                if q.state == State::Open {
                    q.state = State::Closing;
                }
                Vec::new()
            }
        };
        // Events are released outside the lock.
        drop(discarded);
        // Wake the consumer so it sees the new state; the permit is kept if it is not
        // waiting yet.
        self.notify.notify_one();
    }

    /// Whether nothing is queued and nothing is being handled. The in-flight count is
    /// raised under the queue lock, so an event is always seen in one place or the other.
    pub(crate) fn is_idle(&self) -> bool {
        let q = lock(&self.queue);
        q.len == 0 && self.in_flight.load(Mem::SeqCst) == 0
    }

    /// Records one finished handler run and wakes drains.
    pub(crate) fn finish_run(&self, took: Duration, panicked: bool) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.handler_nanos.fetch_add(nanos, Mem::Relaxed);
        self.handler_max_nanos.fetch_max(nanos, Mem::Relaxed);
        if panicked {
            self.panics.fetch_add(1, Mem::Relaxed);
        }
        self.in_flight.fetch_sub(1, Mem::SeqCst);
        self.signals.progress();
    }

    /// This subscriber's per-topic counters.
    pub(crate) fn topic_tallies(&self) -> Vec<TopicTally> {
        lock(&self.queue).topics.clone()
    }

    pub(crate) fn snapshot(&self) -> (SubscriberStats, Vec<TopicTally>) {
        let (received, delivered, dropped, critical_overflow, queue_depth, topics) = {
            let q = lock(&self.queue);
            (
                q.received,
                q.delivered,
                q.dropped,
                q.critical_overflow,
                q.len,
                q.topics.clone(),
            )
        };
        let stats = SubscriberStats {
            id: self.id,
            name: self.name.clone(),
            pattern: self.pattern.as_str().to_owned(),
            received,
            delivered,
            dropped,
            critical_overflow,
            queue_depth,
            in_flight: self.in_flight.load(Mem::Relaxed),
            panics: self.panics.load(Mem::Relaxed),
            handler_time: Duration::from_nanos(self.handler_nanos.load(Mem::Relaxed)),
            handler_max: Duration::from_nanos(self.handler_max_nanos.load(Mem::Relaxed)),
        };
        (stats, topics)
    }
}
