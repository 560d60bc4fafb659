//! What a subscriber asks for: a pattern, a queue capacity, an overflow policy and an
//! ordering.
//!
//! [`Subscription`] is plain data built with chained methods, so a plugin can return its
//! subscriptions from a function and the runtime can log, compare or replay them. The
//! pattern string is kept as typed and validated when it is handed to the bus, which is
//! where the error can be reported with the plugin's name attached.

use std::fmt;
use std::sync::Arc;

use crate::event::Event;
use crate::topic::{Pattern, TopicError};

/// Identifies one subscription on one bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub(crate) u64);

impl SubscriptionId {
    /// The numeric value (unique per bus, increasing in subscription order).
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sub#{}", self.0)
    }
}

/// What happens when an event arrives for a full queue.
///
/// Critical events are never dropped under either policy: when nothing else can make room
/// they are queued beyond capacity and counted as `critical_overflow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Overflow {
    /// Drop the incoming event (the default: what is already queued is kept, and a burst
    /// cannot push out older events that a handler may be about to need).
    #[default]
    DropNewest,
    /// Make room by dropping the oldest queued event of the lowest non-empty priority class
    /// that is not higher than the incoming one; if there is none, drop the incoming event.
    DropOldest,
}

/// Which part of an event decides its ordering key under [`Ordering::PerKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Key {
    /// `event.source.channel`.
    Channel,
    /// The id of `event.user()`.
    User,
    /// `event.source.instance` (one platform account).
    Instance,
}

impl Key {
    /// The key value of `event`; events without one share the `None` key.
    pub(crate) fn of(self, event: &Event) -> Option<Arc<str>> {
        match self {
            Key::Channel => event.source.channel.clone(),
            Key::User => event.user().map(|u| u.id.clone()),
            Key::Instance => Some(event.source.instance.clone()),
        }
    }
}

/// How a subscription's handler is run over its queue.
///
/// "In order" means in the order events leave the queue: highest priority first, publish
/// order within a priority. A critical event therefore overtakes normal ones that are
/// still queued, also under [`Ordering::PerKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Ordering {
    /// One handler at a time, in queue order (the default).
    #[default]
    Sequential,
    /// Events with the same key in order, different keys in parallel, at most
    /// `max_in_flight` events taken from the queue and not yet handled.
    PerKey {
        /// What the key is.
        key: Key,
        /// Bound on events taken from the queue and not yet handled, over all keys.
        max_in_flight: usize,
    },
    /// No ordering; at most `max_in_flight` handlers at once.
    Unordered {
        /// Bound on concurrent handlers.
        max_in_flight: usize,
    },
}

/// The default `max_in_flight` of [`Subscription::ordered_by`].
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

/// A request to receive the events whose topic matches a pattern.
///
/// ```
/// use botkit::bus::{Key, Overflow, Subscription};
/// let sub = Subscription::to("platform.*.chat.message")
///     .named("greeter")
///     .capacity(256)
///     .overflow(Overflow::DropOldest)
///     .ordered_by(Key::Channel);
/// assert_eq!(sub.pattern_str(), "platform.*.chat.message");
/// assert_eq!(sub.name(), "greeter");
/// ```
#[derive(Debug, Clone)]
pub struct Subscription {
    pub(crate) pattern_src: String,
    pub(crate) pattern: Result<Pattern, TopicError>,
    pub(crate) name: Option<String>,
    pub(crate) capacity: Option<usize>,
    pub(crate) overflow: Overflow,
    pub(crate) ordering: Ordering,
}

impl Subscription {
    /// Subscribes to `pattern` (NATS syntax). An invalid pattern is reported by
    /// `subscribe` as [`crate::bus::BusError::InvalidPattern`].
    #[must_use]
    pub fn to(pattern: &str) -> Self {
        Self {
            pattern_src: pattern.to_owned(),
            pattern: Pattern::new(pattern),
            name: None,
            capacity: None,
            overflow: Overflow::default(),
            ordering: Ordering::default(),
        }
    }

    /// Subscribes to an already validated pattern.
    #[must_use]
    pub fn pattern(p: Pattern) -> Self {
        Self {
            pattern_src: p.as_str().to_owned(),
            pattern: Ok(p),
            name: None,
            capacity: None,
            overflow: Overflow::default(),
            ordering: Ordering::default(),
        }
    }

    /// Names the subscription in stats and logs (default: the pattern).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the queue capacity (at least 1), overriding the bus configuration.
    #[must_use]
    pub fn capacity(mut self, n: usize) -> Self {
        self.capacity = Some(n.max(1));
        self
    }

    /// Sets the overflow policy.
    #[must_use]
    pub fn overflow(mut self, o: Overflow) -> Self {
        self.overflow = o;
        self
    }

    /// One handler at a time, in queue order (the default).
    #[must_use]
    pub fn sequential(mut self) -> Self {
        self.ordering = Ordering::Sequential;
        self
    }

    /// In order per `key`, parallel across keys, with at most
    /// [`DEFAULT_MAX_IN_FLIGHT`] events in flight.
    #[must_use]
    pub fn ordered_by(self, key: Key) -> Self {
        self.ordered_by_with(key, DEFAULT_MAX_IN_FLIGHT)
    }

    /// In order per `key`, parallel across keys, with at most `max_in_flight` (at least 1)
    /// events in flight.
    #[must_use]
    pub fn ordered_by_with(mut self, key: Key, max_in_flight: usize) -> Self {
        self.ordering = Ordering::PerKey {
            key,
            max_in_flight: max_in_flight.max(1),
        };
        self
    }

    /// No ordering, at most `max_in_flight` (at least 1) handlers at once.
    #[must_use]
    pub fn unordered(mut self, max_in_flight: usize) -> Self {
        self.ordering = Ordering::Unordered {
            max_in_flight: max_in_flight.max(1),
        };
        self
    }

    /// Sets the ordering directly.
    #[must_use]
    pub fn ordering(mut self, ordering: Ordering) -> Self {
        self.ordering = match ordering {
            Ordering::PerKey { key, max_in_flight } => Ordering::PerKey {
                key,
                max_in_flight: max_in_flight.max(1),
            },
            Ordering::Unordered { max_in_flight } => Ordering::Unordered {
                max_in_flight: max_in_flight.max(1),
            },
            other => other,
        };
        self
    }

    /// The pattern as given.
    pub fn pattern_str(&self) -> &str {
        &self.pattern_src
    }

    /// The name in stats and logs.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.pattern_src)
    }

    /// The overflow policy.
    pub fn overflow_policy(&self) -> Overflow {
        self.overflow
    }

    /// The ordering.
    pub fn ordering_mode(&self) -> Ordering {
        self.ordering
    }

    /// The capacity set on the subscription itself, if any.
    pub fn capacity_override(&self) -> Option<usize> {
        self.capacity
    }
}
