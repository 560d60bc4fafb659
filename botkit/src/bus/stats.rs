//! Bus statistics: plain snapshots built from atomic counters.
//!
//! The hot path only bumps counters (atomics, or plain integers already under the
//! subscriber's queue lock); [`crate::bus::Bus::stats`] reads them into these owned
//! structs, so a metrics exporter can take a snapshot at any time without slowing
//! publishers down.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering as Mem};
use std::time::Duration;

use super::SubscriptionId;

/// A snapshot of the whole bus.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BusStats {
    /// Events accepted by `publish` (replies to requests included).
    pub published: u64,
    /// Events refused because the bus was closed.
    pub rejected: u64,
    /// Accepted events that matched no subscription.
    pub unrouted: u64,
    /// Replies that arrived after their requester gave up (or for an unknown inbox).
    pub late_replies: u64,
    /// Requests currently waiting for a reply.
    pub pending_requests: usize,
    /// Per topic. Replies are counted together under `_inbox`; topics beyond the
    /// configured `max_tracked_topics` are counted together under `_other`.
    pub topics: BTreeMap<String, TopicStats>,
    /// Per live subscription, in subscription order.
    pub subscribers: Vec<SubscriberStats>,
}

impl BusStats {
    /// The stats of the subscription with this id, if it is still subscribed.
    pub fn subscriber(&self, id: SubscriptionId) -> Option<&SubscriberStats> {
        self.subscribers.iter().find(|s| s.id == id)
    }

    /// The stats of the first subscription with this name.
    pub fn subscriber_named(&self, name: &str) -> Option<&SubscriberStats> {
        self.subscribers.iter().find(|s| s.name == name)
    }
}

/// Counters of one topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicStats {
    /// Events published on the topic.
    pub published: u64,
    /// Deliveries to consumers (an event delivered to three subscribers counts three).
    pub delivered: u64,
    /// Deliveries dropped by overflow or unsubscription.
    pub dropped: u64,
}

/// Counters of one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriberStats {
    /// The subscription's id.
    pub id: SubscriptionId,
    /// Its name (the pattern unless it was named).
    pub name: String,
    /// Its pattern.
    pub pattern: String,
    /// Published events that matched it. Once drained: `received == delivered + dropped`.
    pub received: u64,
    /// Events taken from its queue: returned by `recv`, or taken by its dispatcher (handed
    /// to the handler, or waiting for their key's turn under per-key ordering).
    pub delivered: u64,
    /// Events dropped by its overflow policy.
    pub dropped: u64,
    /// Critical events queued beyond capacity (they are never dropped).
    pub critical_overflow: u64,
    /// Events waiting in its queue.
    pub queue_depth: usize,
    /// Events taken from the queue whose handling has not finished yet.
    pub in_flight: usize,
    /// Handler invocations that panicked.
    pub panics: u64,
    /// Total time spent in its handler.
    pub handler_time: Duration,
    /// The longest single handler run.
    pub handler_max: Duration,
}

/// Bus-wide counters of one topic: published (bumped through the cached route), plus the
/// deliveries and drops of subscriptions that are gone and of replies. Live subscribers
/// count their own deliveries and drops per topic, added up in a snapshot.
#[derive(Debug, Default)]
pub(crate) struct TopicCounters {
    pub(crate) published: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) dropped: AtomicU64,
}

impl TopicCounters {
    pub(crate) fn snapshot(&self) -> TopicStats {
        TopicStats {
            published: self.published.load(Mem::Relaxed),
            delivered: self.delivered.load(Mem::Relaxed),
            dropped: self.dropped.load(Mem::Relaxed),
        }
    }
}
