//! The in-process event bus: topic routing, per-subscriber priority queues, ordered
//! delivery, request/reply and statistics.
//!
//! Ingest must never wait on a plugin, so [`Bus::publish`] is a plain function: it finds
//! the subscriptions matching the event's topic and pushes an `Arc<Event>` into each one's
//! bounded queue, and that is all. Its cost does not depend on how slow the subscribers
//! are; a full queue sheds load by its [`Overflow`] policy instead of pushing back.
//!
//! Routing goes through a token trie over the patterns (the `index` submodule) and a
//! per-topic route cache in front of it (a `RwLock<HashMap>` keyed by topic string,
//! cleared whenever a subscription comes or goes, bounded by
//! [`BusConfig::route_cache_capacity`]). Chat bots publish on a small set of topics, so
//! after warm-up a publish is one hash lookup, a few atomic increments and one short lock
//! per matching subscriber, with no allocation.
//!
//! Each subscriber owns four FIFO queues, one per [`Priority`](crate::Priority), drained
//! highest first. A subscription is either pulled ([`Bus::subscribe`] gives a
//! [`Subscriber`]) or pushed to a handler ([`Bus::subscribe_with`] spawns a dispatcher
//! task, see [`Ordering`] for sequential, per-key and unordered delivery). Handler panics
//! are caught and counted.
//!
//! Request/reply uses NATS conventions: [`Bus::request`] publishes with `reply_to` set to
//! a fresh `_inbox.<id>` topic and waits; [`Bus::reply`] publishes on that topic with
//! `correlation_id` set. Inbox topics are resolved directly and never routed to
//! subscriptions.
//!
//! Shutdown is [`Bus::close`] (publishes are refused from then on, replies still pass)
//! followed by [`Bus::drain`] (wait, bounded, until every queue is empty and no handler
//! runs).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use botkit::bus::{Bus, BusConfig, Subscription};
//! use botkit::{Event, Payload, Source, Topic};
//!
//! let bus = Bus::new(BusConfig::default());
//! let mut sub = bus.subscribe(Subscription::to("bot.*")).unwrap();
//! let event = Event::new(
//!     Topic::new("bot.started").unwrap(),
//!     Source::bot(),
//!     Payload::Lifecycle("started".into()),
//! );
//! assert_eq!(bus.publish(event), Ok(1));
//! assert_eq!(sub.recv().await.unwrap().topic.as_str(), "bot.started");
//! # }
//! ```

pub(crate) mod dispatch;
pub(crate) mod index;
pub(crate) mod queue;
pub(crate) mod request;
pub mod stats;
pub mod subscription;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering as Mem};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::Duration;

use tokio::sync::Notify;

use crate::event::{Event, EventId, Payload, Source};
use crate::topic::{Pattern, Topic, TopicError};

use index::Index;
use queue::{Pushed, SubShared};
use request::{Pending, WaiterGuard, is_inbox};
use stats::TopicCounters;

pub use request::INBOX_PREFIX;
pub use stats::{BusStats, SubscriberStats, TopicStats};
pub use subscription::{
    DEFAULT_MAX_IN_FLIGHT, Key, Ordering, Overflow, Subscription, SubscriptionId,
};

/// Errors of the bus.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The subscription's pattern is not valid NATS syntax.
    #[error("invalid subscription pattern: {0}")]
    InvalidPattern(#[from] TopicError),
    /// The bus was closed (the bot is shutting down); nothing more can be published.
    #[error("the bus is closed because the bot is shutting down; stop publishing")]
    Closed,
    /// A request found no subscription to handle it.
    #[error(
        "no subscriber accepted the request on `{topic}`; check that the plugin answering it is loaded and keeping up"
    )]
    NoResponders {
        /// The request's topic.
        topic: String,
    },
    /// A request got no reply in time.
    #[error(
        "no reply to the request on `{topic}` within {after:?}; the responder may be overloaded, retry later"
    )]
    Timeout {
        /// The request's topic.
        topic: String,
        /// How long the requester waited.
        after: Duration,
    },
    /// `reply` was called with an event that has no `reply_to`.
    #[error("the event is not a request (it has no reply_to), so it cannot be answered")]
    NotARequest,
    /// `subscribe_with` was called outside a tokio runtime, so no dispatcher can run.
    #[error("subscribe_with needs a tokio runtime to run its dispatcher; call it from within one")]
    NoRuntime,
}

impl BusError {
    /// Whether trying again later may succeed (a responder may appear or catch up).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            BusError::NoResponders { .. } | BusError::Timeout { .. }
        )
    }
}

/// Bus configuration.
///
/// A subscription's queue capacity is, in order: the capacity set on the subscription
/// itself ([`Subscription::capacity`]); else the first entry of [`BusConfig::capacities`]
/// whose pattern *covers* the subscription's pattern, i.e. matches every topic the
/// subscription can match (`platform.>` covers `platform.*.chat.message` and
/// `platform.twitch.>`; `command.*` covers `command.*` and `command.help` but not
/// `command.>`); else [`BusConfig::default_capacity`].
#[derive(Clone, Debug)]
pub struct BusConfig {
    /// Queue capacity of a subscription nothing else configures (default 1024).
    pub default_capacity: usize,
    /// Capacities by subscription pattern, first match wins (see the type's docs).
    pub capacities: Vec<(Pattern, usize)>,
    /// Topics kept in the route cache (default 4096; 0 disables the cache). When full the
    /// cache is cleared and refills with the topics in use.
    pub route_cache_capacity: usize,
    /// Distinct topics with their own stats (default 4096); further topics are counted
    /// together under `_other`, so unbounded topic names cannot grow memory.
    pub max_tracked_topics: usize,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            default_capacity: 1024,
            capacities: Vec::new(),
            route_cache_capacity: 4096,
            max_tracked_topics: 4096,
        }
    }
}

impl BusConfig {
    /// Sets the default queue capacity.
    #[must_use]
    pub fn with_default_capacity(mut self, n: usize) -> Self {
        self.default_capacity = n;
        self
    }

    /// Adds a capacity rule for subscriptions covered by `pattern`.
    #[must_use]
    pub fn with_capacity(mut self, pattern: Pattern, n: usize) -> Self {
        self.capacities.push((pattern, n));
        self
    }

    /// Sets the route cache size (0 disables it).
    #[must_use]
    pub fn with_route_cache_capacity(mut self, n: usize) -> Self {
        self.route_cache_capacity = n;
        self
    }

    /// The queue capacity for a subscription to `pattern` with no capacity of its own.
    pub fn capacity_for(&self, pattern: &Pattern) -> usize {
        self.capacities
            .iter()
            .find(|(p, _)| covers(p, pattern))
            .map_or(self.default_capacity, |(_, n)| *n)
            .max(1)
    }
}

/// The stats name of replies, counted together.
const INBOX_TOPICS: &str = "_inbox";
/// The stats name of topics beyond `max_tracked_topics`, counted together.
const OTHER_TOPICS: &str = "_other";

/// Whether every topic `inner` can match is matched by `outer`.
fn covers(outer: &Pattern, inner: &Pattern) -> bool {
    let mut o = outer.tokens();
    let mut i = inner.tokens();
    loop {
        match (o.next(), i.next()) {
            (None, None) => return true,
            // `>` takes one or more tokens, whatever they are.
            (Some(">"), Some(_)) => return true,
            // `*` takes exactly one token: a literal or `*`, not a `>`.
            (Some("*"), Some(t)) if t != ">" => {}
            (Some(a), Some(b)) if a == b && a != "*" && a != ">" => {}
            _ => return false,
        }
    }
}

/// Wake-ups shared by the bus and its dispatchers (which must not keep the bus alive).
#[derive(Debug, Default)]
pub(crate) struct Signals {
    closed: AtomicBool,
    drainers: AtomicUsize,
    progress: Notify,
}

impl Signals {
    /// Tells waiting `drain` calls that a queue emptied or a handler finished. Costs one
    /// atomic load when nobody drains.
    pub(crate) fn progress(&self) {
        if self.drainers.load(Mem::SeqCst) > 0 {
            self.progress.notify_waiters();
        }
    }
}

/// The matching subscriptions of one topic, and that topic's counters.
struct Route {
    /// Each matching subscription with the slot of this topic in its own topic table.
    subs: Box<[(Arc<SubShared>, u32)]>,
    topic: Arc<TopicCounters>,
}

#[derive(Default)]
struct Registry {
    index: Index<Arc<SubShared>>,
    subs: BTreeMap<SubscriptionId, Arc<SubShared>>,
    /// Unsubscribed subscriptions whose handlers may still run: `drain` waits for them.
    retiring: Vec<Arc<SubShared>>,
}

#[derive(Default)]
struct RouteCache {
    map: HashMap<Box<str>, Arc<Route>>,
    /// Bumped (under the write lock) on every subscription change, so a route computed
    /// from an older index is never cached.
    generation: u64,
}

struct Inner {
    config: BusConfig,
    signals: Arc<Signals>,
    next_id: AtomicU64,
    registry: RwLock<Registry>,
    routes: RwLock<RouteCache>,
    topics: RwLock<HashMap<Arc<str>, Arc<TopicCounters>>>,
    other_topics: Arc<TopicCounters>,
    inbox_topic: Arc<TopicCounters>,
    published: AtomicU64,
    rejected: AtomicU64,
    unrouted: AtomicU64,
    pending: Pending,
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Inner {
    fn route(&self, topic: &str) -> Arc<Route> {
        let generation = {
            let cache = read(&self.routes);
            if let Some(r) = cache.map.get(topic) {
                return Arc::clone(r);
            }
            cache.generation
        };
        let (name, counters) = self.topic_counters(topic);
        let subs: Box<[(Arc<SubShared>, u32)]> = {
            let registry = read(&self.registry);
            let mut found = Vec::new();
            registry.index.matches(topic, &mut found);
            found
                .into_iter()
                .map(|(_, s)| {
                    let slot = s.topic_slot(&name);
                    (s, slot)
                })
                .collect()
        };
        let route = Arc::new(Route {
            subs,
            topic: counters,
        });
        let cap = self.config.route_cache_capacity;
        if cap > 0 {
            let mut cache = write(&self.routes);
            if cache.generation == generation {
                if cache.map.len() >= cap {
                    cache.map.clear();
                }
                cache.map.insert(Box::from(topic), Arc::clone(&route));
            }
        }
        route
    }

    /// The stats name of `topic` (itself, or `_other` beyond the tracking limit) and its
    /// bus-wide counters.
    fn topic_counters(&self, topic: &str) -> (Arc<str>, Arc<TopicCounters>) {
        if let Some((name, c)) = read(&self.topics).get_key_value(topic) {
            return (Arc::clone(name), Arc::clone(c));
        }
        let mut topics = write(&self.topics);
        if let Some((name, c)) = topics.get_key_value(topic) {
            return (Arc::clone(name), Arc::clone(c));
        }
        if topics.len() >= self.config.max_tracked_topics || topic == OTHER_TOPICS {
            return (Arc::from(OTHER_TOPICS), Arc::clone(&self.other_topics));
        }
        let name: Arc<str> = Arc::from(topic);
        let c = Arc::new(TopicCounters::default());
        topics.insert(Arc::clone(&name), Arc::clone(&c));
        (name, c)
    }

    fn invalidate_routes(&self) {
        let mut cache = write(&self.routes);
        cache.generation = cache.generation.wrapping_add(1);
        cache.map.clear();
    }

    fn register(&self, sub: Subscription) -> Result<Arc<SubShared>, BusError> {
        let pattern = sub.pattern.clone()?;
        let capacity = sub
            .capacity
            .unwrap_or_else(|| self.config.capacity_for(&pattern));
        let id = SubscriptionId(self.next_id.fetch_add(1, Mem::Relaxed));
        let name = sub.name().to_owned();
        let shared = Arc::new(SubShared::new(
            id,
            name,
            pattern.clone(),
            capacity,
            sub.overflow,
            sub.ordering,
            Arc::clone(&self.signals),
        ));
        {
            let mut registry = write(&self.registry);
            // Checked under the registry lock that `close` takes after setting the flag,
            // so a subscription is either refused or seen (and closed) by `close`.
            if self.signals.closed.load(Mem::SeqCst) {
                return Err(BusError::Closed);
            }
            registry
                .index
                .insert(&pattern, id.as_u64(), Arc::clone(&shared));
            registry.subs.insert(id, Arc::clone(&shared));
        }
        self.invalidate_routes();
        tracing::debug!(
            subscription = %id,
            name = %shared.name,
            pattern = %pattern,
            capacity,
            "subscribed"
        );
        Ok(shared)
    }

    fn unsubscribe(&self, id: SubscriptionId) -> bool {
        let removed = {
            let mut registry = write(&self.registry);
            let removed = registry.subs.remove(&id);
            if let Some(s) = &removed {
                registry.index.remove(&s.pattern, id.as_u64());
                // Closed and folded into the bus-wide topic counters in the same critical
                // section that `stats` reads under, so no count is seen twice or missed.
                s.close(true);
                for t in s.topic_tallies() {
                    let (_, counters) = self.topic_counters(&t.topic);
                    counters.delivered.fetch_add(t.delivered, Mem::Relaxed);
                    counters.dropped.fetch_add(t.dropped, Mem::Relaxed);
                }
                // Kept until its running handlers finish, so a drain waits for them;
                // finished ones are pruned here and by `drain`.
                registry.retiring.retain(|r| !r.is_idle());
                registry.retiring.push(Arc::clone(s));
            }
            removed
        };
        let Some(sub) = removed else {
            return false;
        };
        self.invalidate_routes();
        self.signals.progress();
        tracing::debug!(subscription = %id, name = %sub.name, "unsubscribed");
        true
    }

    fn publish_reply(&self, event: Arc<Event>) -> usize {
        self.published.fetch_add(1, Mem::Relaxed);
        self.inbox_topic.published.fetch_add(1, Mem::Relaxed);
        if self.pending.resolve(event) {
            self.inbox_topic.delivered.fetch_add(1, Mem::Relaxed);
            1
        } else {
            self.inbox_topic.dropped.fetch_add(1, Mem::Relaxed);
            0
        }
    }

    fn is_idle(&self) -> bool {
        let registry = read(&self.registry);
        if !registry.subs.values().all(|s| s.is_idle()) {
            return false;
        }
        if registry.retiring.is_empty() {
            return true;
        }
        drop(registry);
        let mut registry = write(&self.registry);
        registry.retiring.retain(|s| !s.is_idle());
        registry.retiring.is_empty()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Let dispatchers and pull subscribers finish what is queued and then stop.
        let registry = read(&self.registry);
        for sub in registry.subs.values() {
            sub.close(false);
        }
    }
}

/// The event bus. Cheap to clone (an `Arc` inside); all clones are the same bus.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

impl fmt::Debug for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bus")
            .field("subscriptions", &read(&self.inner.registry).subs.len())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl Default for Bus {
    fn default() -> Self {
        Self::new(BusConfig::default())
    }
}

impl Bus {
    /// A new, open bus with no subscriptions.
    pub fn new(config: BusConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                signals: Arc::default(),
                next_id: AtomicU64::new(1),
                registry: RwLock::default(),
                routes: RwLock::default(),
                topics: RwLock::default(),
                other_topics: Arc::default(),
                inbox_topic: Arc::default(),
                published: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
                unrouted: AtomicU64::new(0),
                pending: Pending::default(),
            }),
        }
    }

    /// Queues `event` for every subscription whose pattern matches its topic and returns
    /// how many queued it (0 is fine: nobody listens, or every matching queue was full).
    ///
    /// Never waits for a subscriber. Fails only with [`BusError::Closed`] after
    /// [`Bus::close`]; replies on `_inbox.` topics are still accepted then.
    pub fn publish(&self, event: impl Into<Arc<Event>>) -> Result<usize, BusError> {
        let event: Arc<Event> = event.into();
        let inner = &*self.inner;
        let topic = event.topic.as_str();
        if is_inbox(topic) {
            return Ok(inner.publish_reply(event));
        }
        if inner.signals.closed.load(Mem::Acquire) {
            inner.rejected.fetch_add(1, Mem::Relaxed);
            return Err(BusError::Closed);
        }
        inner.published.fetch_add(1, Mem::Relaxed);
        let route = inner.route(topic);
        route.topic.published.fetch_add(1, Mem::Relaxed);
        if route.subs.is_empty() {
            inner.unrouted.fetch_add(1, Mem::Relaxed);
            return Ok(0);
        }
        let mut queued = 0;
        for (sub, slot) in route.subs.iter() {
            if sub.push(&event, *slot) == Pushed::Queued {
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// Subscribes with a pull-style handle: read events with [`Subscriber::recv`].
    /// Dropping the handle unsubscribes.
    pub fn subscribe(&self, sub: Subscription) -> Result<Subscriber, BusError> {
        let shared = self.inner.register(sub)?;
        Ok(Subscriber {
            shared,
            signals: Arc::clone(&self.inner.signals),
            bus: Arc::downgrade(&self.inner),
        })
    }

    /// Subscribes `handler`, run by a dispatcher task spawned on the current tokio runtime
    /// according to the subscription's [`Ordering`].
    ///
    /// The dispatcher lives as long as the bus: dropping the returned handle does *not*
    /// unsubscribe (call [`SubscriptionHandle::unsubscribe`] or [`Bus::unsubscribe`]).
    /// After [`Bus::close`] or when the last `Bus` clone is dropped, the dispatcher
    /// delivers what is queued and then ends.
    pub fn subscribe_with<F, Fut>(
        &self,
        sub: Subscription,
        handler: F,
    ) -> Result<SubscriptionHandle, BusError>
    where
        F: Fn(Arc<Event>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| BusError::NoRuntime)?;
        let shared = self.inner.register(sub)?;
        let id = shared.id;
        runtime.spawn(dispatch::run(shared, handler));
        Ok(SubscriptionHandle {
            id,
            bus: Arc::downgrade(&self.inner),
        })
    }

    /// Removes a subscription; whether it existed. Events still queued for it are dropped
    /// (and counted as dropped on their topics); handlers already running finish.
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        self.inner.unsubscribe(id)
    }

    /// Whether any subscription matches `topic` (for an `_inbox.` topic: whether a
    /// requester waits on it).
    pub fn has_subscribers(&self, topic: &Topic) -> bool {
        if is_inbox(topic.as_str()) {
            return self.inner.pending.has_waiter(topic.as_str());
        }
        !self.inner.route(topic.as_str()).subs.is_empty()
    }

    /// The subscriptions matching `topic`, in subscription order, computed from the index
    /// without the route cache (for diagnostics).
    pub fn subscribers_of(&self, topic: &Topic) -> Vec<SubscriptionId> {
        let registry = read(&self.inner.registry);
        let mut found = Vec::new();
        registry.index.matches(topic.as_str(), &mut found);
        found.into_iter().map(|(_, s)| s.id).collect()
    }

    /// Publishes `event` as a request and waits up to `timeout` for the reply.
    ///
    /// Fails at once with [`BusError::NoResponders`] when no subscription matches the
    /// topic (or none could queue it), with [`BusError::Timeout`] when no reply came in
    /// time. `event.reply_to` is replaced by a fresh `_inbox.<id>` topic.
    pub async fn request(
        &self,
        mut event: Event,
        timeout: Duration,
    ) -> Result<Arc<Event>, BusError> {
        let inner = &*self.inner;
        if inner.signals.closed.load(Mem::Acquire) {
            inner.rejected.fetch_add(1, Mem::Relaxed);
            return Err(BusError::Closed);
        }
        let no_responders = |topic: &Topic| BusError::NoResponders {
            topic: topic.to_string(),
        };
        if !self.has_subscribers(&event.topic) {
            return Err(no_responders(&event.topic));
        }
        let topic = event.topic.clone();
        let inbox = Topic::new(format!("{INBOX_PREFIX}{}", EventId::new()))?;
        let rx = inner.pending.register(inbox.as_str());
        let _guard = WaiterGuard {
            pending: &inner.pending,
            inbox: inbox.as_str(),
        };
        event.reply_to = Some(inbox.clone());
        if self.publish(event)? == 0 {
            return Err(no_responders(&topic));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            // The sender vanished without a reply: only when the bus itself went away.
            Ok(Err(_)) => Err(BusError::Closed),
            Err(_) => Err(BusError::Timeout {
                topic: topic.to_string(),
                after: timeout,
            }),
        }
    }

    /// Answers `request` with `payload`: publishes on its `reply_to` topic with
    /// `correlation_id` = the request's id, the request's priority and [`Source::bot`].
    ///
    /// A reply whose requester stopped waiting is dropped quietly and counted in
    /// [`BusStats::late_replies`]. Fails with [`BusError::NotARequest`] when the event has
    /// no `reply_to`.
    pub fn reply(&self, request: &Event, payload: Payload) -> Result<(), BusError> {
        let to = request.reply_to.as_ref().ok_or(BusError::NotARequest)?;
        let mut reply = Event::new(to.clone(), Source::bot(), payload);
        reply.correlation_id = Some(request.id);
        reply.priority = request.priority;
        self.publish(reply).map(|_| ())
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> BusStats {
        let inner = &*self.inner;
        // Held throughout, so unsubscriptions (which fold their counts into the bus-wide
        // ones) cannot happen halfway through.
        let registry = read(&inner.registry);
        let mut topics: BTreeMap<String, TopicStats> = read(&inner.topics)
            .iter()
            .map(|(t, c)| (t.to_string(), c.snapshot()))
            .collect();
        for (name, counters) in [
            (INBOX_TOPICS, &inner.inbox_topic),
            (OTHER_TOPICS, &inner.other_topics),
        ] {
            let s = counters.snapshot();
            if s != TopicStats::default() {
                topics.insert(name.to_owned(), s);
            }
        }
        let mut subscribers = Vec::with_capacity(registry.subs.len());
        for sub in registry.subs.values() {
            let (stats, tallies) = sub.snapshot();
            for t in tallies {
                let entry = topics.entry(t.topic.to_string()).or_default();
                entry.delivered += t.delivered;
                entry.dropped += t.dropped;
            }
            subscribers.push(stats);
        }
        BusStats {
            published: inner.published.load(Mem::Relaxed),
            rejected: inner.rejected.load(Mem::Relaxed),
            unrouted: inner.unrouted.load(Mem::Relaxed),
            late_replies: inner.pending.late.load(Mem::Relaxed),
            pending_requests: inner.pending.len(),
            topics,
            subscribers,
        }
    }

    /// Waits until every queue is empty and no handler runs, or `timeout` passes; whether
    /// the bus got fully drained. A pull [`Subscriber`] that nobody reads keeps the bus
    /// from draining, and so does the handler that calls `drain` (it waits for itself).
    pub async fn drain(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let signals = &*self.inner.signals;
        signals.drainers.fetch_add(1, Mem::SeqCst);
        let _guard = DrainerGuard(signals);
        loop {
            let notified = signals.progress.notified();
            tokio::pin!(notified);
            // Registered before checking, so progress made after the check wakes us.
            notified.as_mut().enable();
            if self.inner.is_idle() {
                return true;
            }
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(deadline) => return self.inner.is_idle(),
            }
        }
    }

    /// Closes the bus: from now on `publish` and `request` fail with [`BusError::Closed`]
    /// (replies on `_inbox.` topics still pass, so requests in flight can be answered
    /// while draining). Queued events are still delivered; then dispatchers end and
    /// [`Subscriber::recv`] returns `None`.
    pub fn close(&self) {
        if self.inner.signals.closed.swap(true, Mem::SeqCst) {
            return;
        }
        let registry = read(&self.inner.registry);
        for sub in registry.subs.values() {
            sub.close(false);
        }
        tracing::info!(subscriptions = registry.subs.len(), "bus closed");
    }

    /// Whether [`Bus::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.signals.closed.load(Mem::Acquire)
    }
}

struct DrainerGuard<'a>(&'a Signals);

impl Drop for DrainerGuard<'_> {
    fn drop(&mut self) {
        self.0.drainers.fetch_sub(1, Mem::SeqCst);
    }
}

/// A pull-style subscription. Dropping it unsubscribes.
pub struct Subscriber {
    shared: Arc<SubShared>,
    signals: Arc<Signals>,
    bus: Weak<Inner>,
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("id", &self.shared.id)
            .field("name", &self.shared.name)
            .field("pattern", &self.shared.pattern)
            .finish()
    }
}

impl Subscriber {
    /// The next event, highest priority first; `None` once the bus is closed (or dropped)
    /// and the queue is empty.
    pub async fn recv(&mut self) -> Option<Arc<Event>> {
        let entry = self.shared.pop(false).await?;
        Some(self.delivered(entry))
    }

    /// The next event if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Arc<Event>> {
        let entry = self.shared.try_pop(false).ok()?;
        Some(self.delivered(entry))
    }

    fn delivered(&self, entry: queue::Entry) -> Arc<Event> {
        self.signals.progress();
        entry.event
    }

    /// The subscription's id.
    pub fn id(&self) -> SubscriptionId {
        self.shared.id
    }

    /// The subscription's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Unsubscribes (the same as dropping the handle).
    pub fn unsubscribe(self) {}
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        match self.bus.upgrade() {
            Some(inner) => {
                inner.unsubscribe(self.shared.id);
            }
            None => self.shared.close(true),
        }
    }
}

/// The handle of a [`Bus::subscribe_with`] subscription.
///
/// Dropping it does **not** unsubscribe: the dispatcher lives as long as the bus, which
/// suits plugins that subscribe once at start. Keep the handle to unsubscribe later.
#[derive(Clone)]
pub struct SubscriptionHandle {
    id: SubscriptionId,
    bus: Weak<Inner>,
}

impl fmt::Debug for SubscriptionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriptionHandle")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SubscriptionHandle {
    /// The subscription's id.
    pub fn id(&self) -> SubscriptionId {
        self.id
    }

    /// Unsubscribes: queued events are dropped, running handlers finish, the dispatcher
    /// ends. Whether the subscription still existed.
    pub fn unsubscribe(self) -> bool {
        self.bus
            .upgrade()
            .is_some_and(|inner| inner.unsubscribe(self.id))
    }
}

/// Compile-time checks that the public handles can cross tasks.
#[allow(dead_code)]
fn assert_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Bus>();
    check::<Subscriber>();
    check::<SubscriptionHandle>();
    check::<BusError>();
}
