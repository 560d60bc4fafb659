//! Outgoing rate limits per platform instance and per channel (GCRA through `governor`).
//!
//! Chat services disconnect or silently drop a bot that talks too fast (Twitch: 20 messages
//! per 30 s, 100 as moderator; CyTube throttles per channel). Every platform puts an
//! [`OutgoingLimiter`] in front of its connection: one instance-wide [`RateLimiter`] and one
//! [`KeyedRateLimiter`] per channel.
//!
//! Design choices:
//! - **The guarantee is "never more than `count` in any window of `per`"**, because that is
//!   what services enforce. A GCRA with burst `b` and emission interval `T` admits at most
//!   `b + ⌈W/T⌉ − 1` cells in a window of length `W`, so a plain "`count` burst, `count` per
//!   `per`" quota would let nearly `2·count` through in one window. [`Limit`] therefore splits
//!   `count` into a burst `b` (default `⌈count/2⌉`) and a steady rate of `count − b + 1` per
//!   `per` (interval rounded up to the nanosecond), which keeps `b + m − 1 = count`.
//! - **Time is `tokio::time`.** [`TokioClock`] implements governor's `Clock`, so
//!   `#[tokio::test(start_paused = true)]` drives the limiters exactly, and waiting is one
//!   `tokio::time::sleep` for the wait governor reports, never a polling loop.
//! - **Peeking without consuming.** Governor has no "would this pass?" call, but its state
//!   store is a public trait: each limiter has a second governor limiter over the same state
//!   whose store runs the GCRA decision and never writes it. [`OutgoingLimiter`] peeks at the
//!   channel, consumes the instance cell, then consumes the channel cell, all under one lock,
//!   so a refusal by either limit consumes nothing from the other.
//! - **Limits change at runtime** ([`RateLimiter::set_limit`],
//!   [`OutgoingLimiter::set_instance_limit`]) because Twitch raises the limit when the bot is
//!   made moderator. A new limit starts with its burst used up, so a change never adds a
//!   burst on top of what was just sent; setting the limit already in force is a no-op.

use std::collections::HashSet;
use std::convert::Infallible;
use std::fmt;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::ops::Add;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use governor::clock::{Clock, ReasonablyRealtime, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::{HashMapStateStore, ShrinkableKeyedStateStore};
use governor::state::{InMemoryState, NotKeyed, StateStore};
use governor::{NotUntil, Quota};
use serde::Deserialize;

use crate::backoff::duration_serde;

/// Why a [`Limit`] from config was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// `count` was 0.
    #[error("rate limit `count` must be at least 1")]
    ZeroCount,
    /// `per` was 0.
    #[error("rate limit `per` must be longer than zero, e.g. \"30s\"")]
    ZeroPeriod,
    /// `burst` was 0 or larger than `count`.
    #[error("rate limit `burst` must be between 1 and `count` ({count}), got {burst}")]
    BadBurst {
        /// The configured burst.
        burst: u32,
        /// The configured count.
        count: u32,
    },
}

/// At most `count` actions in any window of `per`, e.g. 20 per 30 s.
///
/// In config: `{ count = 20, per = "30s" }`, optionally `burst = 5` (how many may go out at
/// once after a quiet spell; default `⌈count/2⌉`). `per` is a string with a unit or an
/// integer of milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "LimitConfig")]
#[non_exhaustive]
pub struct Limit {
    /// Most actions in one window (0 counts as 1).
    pub count: u32,
    /// The window (zero counts as one nanosecond, i.e. practically unlimited).
    pub per: Duration,
    /// How many may go out back to back; `None` for the default `⌈count/2⌉`. Clamped to
    /// `1..=count`.
    pub burst: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitConfig {
    count: u32,
    #[serde(deserialize_with = "duration_serde::deserialize")]
    per: Duration,
    #[serde(default)]
    burst: Option<u32>,
}

impl TryFrom<LimitConfig> for Limit {
    type Error = LimitError;

    fn try_from(c: LimitConfig) -> Result<Self, LimitError> {
        let limit = Limit {
            count: c.count,
            per: c.per,
            burst: c.burst,
        };
        limit.validate()?;
        Ok(limit)
    }
}

impl Limit {
    /// `count` per `per`, with the default burst.
    pub fn new(count: u32, per: Duration) -> Self {
        Self {
            count,
            per,
            burst: None,
        }
    }

    /// The same limit with another burst (clamped to `1..=count` when used).
    #[must_use]
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// Checks the values a config file may get wrong.
    pub fn validate(&self) -> Result<(), LimitError> {
        if self.count == 0 {
            return Err(LimitError::ZeroCount);
        }
        if self.per.is_zero() {
            return Err(LimitError::ZeroPeriod);
        }
        match self.burst {
            Some(burst) if burst == 0 || burst > self.count => Err(LimitError::BadBurst {
                burst,
                count: self.count,
            }),
            _ => Ok(()),
        }
    }

    fn effective_count(&self) -> u32 {
        self.count.max(1)
    }

    /// The burst actually used: `burst` clamped to `1..=count`, by default `⌈count/2⌉`.
    pub fn effective_burst(&self) -> u32 {
        let count = self.effective_count();
        self.burst.unwrap_or(count.div_ceil(2)).clamp(1, count)
    }

    /// Steady interval between actions once the burst is used: `per / (count − burst + 1)`,
    /// rounded up so that the window guarantee survives integer nanoseconds.
    pub fn interval(&self) -> Duration {
        let steady = u128::from(self.effective_count() - self.effective_burst() + 1);
        let nanos = self.per.as_nanos().max(1).div_ceil(steady);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// The governor quota implementing this limit.
    pub fn quota(&self) -> Quota {
        let burst = NonZeroU32::new(self.effective_burst()).unwrap_or(NonZeroU32::MIN);
        // `interval()` is at least 1 ns, so `with_period` always succeeds.
        Quota::with_period(self.interval())
            .unwrap_or(Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst)
    }
}

/// A `tokio::time::Instant` as governor's clock reading (a newtype, for the orphan rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokioInstant(pub tokio::time::Instant);

impl Add<Nanos> for TokioInstant {
    type Output = TokioInstant;

    fn add(self, other: Nanos) -> TokioInstant {
        // Governor adds at most a few periods to its start instant; saturate rather than
        // panic on a nonsensical overflow.
        TokioInstant(self.0.checked_add(Duration::from(other)).unwrap_or(self.0))
    }
}

impl Reference for TokioInstant {
    fn duration_since(&self, earlier: Self) -> Nanos {
        Nanos::from(self.0.saturating_duration_since(earlier.0))
    }

    fn saturating_sub(&self, duration: Nanos) -> Self {
        self.0
            .checked_sub(Duration::from(duration))
            .map_or(*self, TokioInstant)
    }
}

/// Governor clock reading `tokio::time::Instant::now()`, so paused tokio time drives it.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    type Instant = TokioInstant;

    fn now(&self) -> TokioInstant {
        TokioInstant(tokio::time::Instant::now())
    }
}

impl ReasonablyRealtime for TokioClock {}

/// A state store shared between the consuming and the peeking governor limiter.
struct Shared<S>(Arc<S>);

impl<S: StateStore> StateStore for Shared<S> {
    type Key = S::Key;

    fn measure_and_replace<T, F, E>(&self, key: &Self::Key, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        self.0.measure_and_replace(key, f)
    }
}

impl<K, S> ShrinkableKeyedStateStore<K> for Shared<S>
where
    K: Hash + Eq + Clone,
    S: ShrinkableKeyedStateStore<K>,
{
    fn retain_recent(&self, drop_below: Nanos) {
        self.0.retain_recent(drop_below);
    }

    fn shrink_to_fit(&self) {
        self.0.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A view of a state store that makes the GCRA decision but never stores it.
struct Peek<S>(Arc<S>);

impl<S: StateStore> StateStore for Peek<S> {
    type Key = S::Key;

    fn measure_and_replace<T, F, E>(&self, key: &Self::Key, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        // The inner store writes only when the closure returns `Ok`; answering every
        // decision through `Err` leaves the state untouched.
        let outcome: Result<Infallible, Result<T, E>> =
            self.0.measure_and_replace(key, |tat| match f(tat) {
                Ok((allowed, _)) => Err(Ok(allowed)),
                Err(refused) => Err(Err(refused)),
            });
        match outcome {
            Ok(never) => match never {},
            Err(decision) => decision,
        }
    }
}

type Gov<K, S> = governor::RateLimiter<K, S, TokioClock, NoOpMiddleware<TokioInstant>>;

fn wait_of(refusal: &NotUntil<TokioInstant>) -> Duration {
    refusal.wait_time_from(TokioClock.now())
}

/// One direct (unkeyed) limiter generation: the consuming and the peeking governor limiter.
struct DirectCore {
    limit: Limit,
    real: Gov<NotKeyed, Shared<InMemoryState>>,
    peek: Gov<NotKeyed, Peek<InMemoryState>>,
}

impl DirectCore {
    fn new(limit: Limit) -> Self {
        let state = Arc::new(InMemoryState::default());
        let quota = limit.quota();
        // Built after `real`, `peek` has the later start instant, which can only make it
        // more cautious than `real`, never less.
        let real = governor::RateLimiter::new(quota, Shared(Arc::clone(&state)), TokioClock);
        let peek = governor::RateLimiter::new(quota, Peek(state), TokioClock);
        Self { limit, real, peek }
    }
}

/// A single limit, e.g. all messages of one platform instance.
pub struct RateLimiter {
    core: RwLock<Arc<DirectCore>>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limit", &self.limit())
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter with its full burst available.
    pub fn new(limit: Limit) -> Self {
        Self {
            core: RwLock::new(Arc::new(DirectCore::new(limit))),
        }
    }

    fn core(&self) -> Arc<DirectCore> {
        Arc::clone(&self.core.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The limit in force.
    pub fn limit(&self) -> Limit {
        self.core().limit
    }

    /// Takes one cell if one is free now; otherwise says how long until one is.
    pub fn check(&self) -> Result<(), Duration> {
        self.core().real.check().map_err(|r| wait_of(&r))
    }

    /// Whether [`check`](Self::check) would succeed now, without taking the cell.
    pub fn peek(&self) -> Result<(), Duration> {
        self.core().peek.check().map_err(|r| wait_of(&r))
    }

    /// Waits (tokio sleep) until a cell is free and takes it.
    pub async fn until_ready(&self) {
        while let Err(wait) = self.check() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Replaces the limit. The new limit starts with its burst used up, so that raising a
    /// limit never adds a burst on top of what was just sent; the same limit again is a
    /// no-op (Twitch repeats its state messages after every message the bot sends).
    pub fn set_limit(&self, limit: Limit) {
        let mut core = self.core.write().unwrap_or_else(|p| p.into_inner());
        if core.limit == limit {
            return;
        }
        let fresh = DirectCore::new(limit);
        let burst = NonZeroU32::new(limit.effective_burst()).unwrap_or(NonZeroU32::MIN);
        // A fresh limiter always has room for its own burst; the result is not needed.
        let _ = fresh.real.check_n(burst);
        tracing::debug!(count = limit.count, per = ?limit.per, "rate limit changed");
        *core = Arc::new(fresh);
    }
}

/// One limit per key (e.g. per channel), each key with its own independent budget.
pub struct KeyedRateLimiter<K: Hash + Eq + Clone> {
    limit: Limit,
    real: Gov<K, Shared<HashMapStateStore<K>>>,
    peek: Gov<K, Peek<HashMapStateStore<K>>>,
}

impl<K: Hash + Eq + Clone> fmt::Debug for KeyedRateLimiter<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedRateLimiter")
            .field("limit", &self.limit)
            .field("keys", &self.len())
            .finish()
    }
}

impl<K: Hash + Eq + Clone> KeyedRateLimiter<K> {
    /// A limiter in which every key starts with its full burst.
    pub fn new(limit: Limit) -> Self {
        let state = Arc::new(HashMapStateStore::<K>::default());
        let quota = limit.quota();
        let real = governor::RateLimiter::new(quota, Shared(Arc::clone(&state)), TokioClock);
        let peek = governor::RateLimiter::new(quota, Peek(state), TokioClock);
        Self { limit, real, peek }
    }

    /// The limit each key gets.
    pub fn limit(&self) -> Limit {
        self.limit
    }

    /// Takes one cell of `key`'s budget if one is free now; otherwise says how long until.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.real.check_key(key).map_err(|r| wait_of(&r))
    }

    /// Whether [`check`](Self::check) would succeed now for `key`, without taking the cell.
    pub fn peek(&self, key: &K) -> Result<(), Duration> {
        self.peek.check_key(key).map_err(|r| wait_of(&r))
    }

    /// Waits (tokio sleep) until `key` has a free cell and takes it.
    pub async fn until_ready(&self, key: &K) {
        while let Err(wait) = self.check(key) {
            tokio::time::sleep(wait).await;
        }
    }

    /// Forgets keys whose budget has fully recovered (they behave exactly like new keys),
    /// so the map does not grow with every channel ever seen. Call it now and then.
    pub fn retain_recent(&self) {
        self.real.retain_recent();
        self.real.shrink_to_fit();
    }

    /// Number of keys currently remembered.
    pub fn len(&self) -> usize {
        self.real.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.real.is_empty()
    }
}

/// The outgoing limits of one platform instance: an instance-wide limit and, optionally,
/// a limit per channel. An action goes out only when both allow it.
///
/// Some services relax limits where the account is privileged: Twitch allows 100 messages
/// per 30 s in channels where the bot is moderator, VIP or broadcaster, but only 20 per 30 s
/// across the others, and only those others have a one-second minimum per channel. That is
/// two shared budgets (pajbot's tmi-rate-limits model): the instance limit, which every
/// action takes from, and an optional [`unprivileged`](Self::with_unprivileged_limit)
/// limit, which only actions outside [exempt](Self::set_channel_exempt) channels take from;
/// exempt channels also skip the per-channel limit.
pub struct OutgoingLimiter {
    instance: Option<RateLimiter>,
    channels: Option<KeyedRateLimiter<String>>,
    unprivileged: Option<RateLimiter>,
    exempt: Mutex<HashSet<String>>,
    /// Makes "peek channel, take instance, take channel" one step for concurrent senders.
    gate: Mutex<()>,
}

impl fmt::Debug for OutgoingLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingLimiter")
            .field("instance", &self.instance)
            .field("channels", &self.channels)
            .field("unprivileged", &self.unprivileged)
            .finish_non_exhaustive()
    }
}

impl OutgoingLimiter {
    /// Limits for one instance, with an optional separate budget per channel.
    pub fn new(instance: Limit, per_channel: Option<Limit>) -> Self {
        Self::optional(Some(instance), per_channel)
    }

    /// Like [`OutgoingLimiter::new`], where either limit may be absent (no limit).
    pub fn optional(instance: Option<Limit>, per_channel: Option<Limit>) -> Self {
        Self {
            instance: instance.map(RateLimiter::new),
            channels: per_channel.map(KeyedRateLimiter::new),
            unprivileged: None,
            exempt: Mutex::new(HashSet::new()),
            gate: Mutex::new(()),
        }
    }

    /// Adds a budget shared by every action outside exempt channels (actions with no
    /// channel included), on top of the instance limit.
    #[must_use]
    pub fn with_unprivileged_limit(mut self, limit: Limit) -> Self {
        self.unprivileged = Some(RateLimiter::new(limit));
        self
    }

    /// The budget of actions outside exempt channels, if any.
    pub fn unprivileged_limit(&self) -> Option<Limit> {
        self.unprivileged.as_ref().map(RateLimiter::limit)
    }

    /// Marks `channel` as one where the account is privileged (`true`): its actions skip
    /// the per-channel limit and the unprivileged budget, and take only from the instance
    /// limit. `false` puts it back under every limit.
    pub fn set_channel_exempt(&self, channel: &str, exempt: bool) {
        let mut set = self.exempt.lock().unwrap_or_else(|p| p.into_inner());
        if exempt {
            set.insert(channel.to_owned());
        } else {
            set.remove(channel);
        }
    }

    /// Puts every channel back under every limit (e.g. after a reconnect, until the
    /// service says again where the account is privileged).
    pub fn clear_exemptions(&self) {
        self.exempt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Whether `channel` is exempt.
    pub fn is_exempt(&self, channel: &str) -> bool {
        self.exempt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(channel)
    }

    /// The instance-wide limit in force, if any.
    pub fn instance_limit(&self) -> Option<Limit> {
        self.instance.as_ref().map(RateLimiter::limit)
    }

    /// The per-channel limit, if any.
    pub fn channel_limit(&self) -> Option<Limit> {
        self.channels.as_ref().map(KeyedRateLimiter::limit)
    }

    /// Changes the instance-wide limit (e.g. Twitch: 100 per 30 s once the bot moderates).
    /// See [`RateLimiter::set_limit`].
    pub fn set_instance_limit(&self, limit: Limit) {
        match &self.instance {
            Some(instance) => instance.set_limit(limit),
            None => tracing::warn!(
                ?limit,
                "set_instance_limit on a limiter built without an instance limit; ignored"
            ),
        }
    }

    /// Takes a cell from the channel's and the instance's budget if both have one now
    /// (for [`Delivery::Drop`](crate::Delivery::Drop)); otherwise consumes nothing and
    /// says how long to wait for the limit that refused. `None` means no channel
    /// (whispers, account-level actions): only the instance limit applies.
    pub fn try_acquire(&self, channel: Option<&str>) -> Result<(), Duration> {
        let _gate = self.gate.lock().unwrap_or_else(|p| p.into_inner());
        let exempt = channel.is_some_and(|name| self.is_exempt(name));
        let keyed = match (channel, &self.channels) {
            (Some(name), Some(channels)) if !exempt => Some((name.to_owned(), channels)),
            _ => None,
        };
        let unprivileged = self.unprivileged.as_ref().filter(|_| !exempt);
        if let Some((key, channels)) = &keyed {
            channels.peek(key)?;
        }
        if let Some(unprivileged) = unprivileged {
            unprivileged.peek()?;
        }
        if let Some(instance) = &self.instance {
            instance.check()?;
        }
        // Neither can refuse: the peeks said yes, time only moved forward, and every user
        // of these limiters holds the gate. Should one ever, the action waits its turn.
        if let Some(unprivileged) = unprivileged {
            unprivileged.check()?;
        }
        if let Some((key, channels)) = &keyed {
            channels.check(key)?;
        }
        Ok(())
    }

    /// Waits (tokio sleep, no polling) until both the channel's and the instance's limit
    /// allow one more action, and takes a cell from each.
    pub async fn acquire(&self, channel: Option<&str>) {
        while let Err(wait) = self.try_acquire(channel) {
            tokio::time::sleep(wait).await;
        }
    }

    /// Forgets channels whose budget has fully recovered; see
    /// [`KeyedRateLimiter::retain_recent`].
    pub fn retain_recent(&self) {
        if let Some(channels) = &self.channels {
            let _gate = self.gate.lock().unwrap_or_else(|p| p.into_inner());
            channels.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;
    use tokio::time::{Instant, advance};

    use super::*;

    /// Panics with a description if more than `limit.count` of `times` fall in one
    /// half-open window of `limit.per`.
    fn assert_window(times: &[Instant], limit: Limit, what: &str) {
        let mut sorted = times.to_vec();
        sorted.sort();
        let count = limit.count as usize;
        for (i, later) in sorted.iter().enumerate().skip(count) {
            let earlier = sorted[i - count];
            assert!(
                *later - earlier >= limit.per,
                "{what}: {} actions within {:?} (from #{} to #{i}), limit {limit:?}",
                count + 1,
                *later - earlier,
                i - count,
            );
        }
    }

    fn assert_send_sync<T: Send + Sync>(_: &T) {}

    #[test]
    fn limiters_and_their_futures_can_cross_tasks() {
        let outgoing = OutgoingLimiter::new(Limit::new(1, Duration::from_secs(1)), None);
        let direct = RateLimiter::new(Limit::new(1, Duration::from_secs(1)));
        let keyed = KeyedRateLimiter::<String>::new(Limit::new(1, Duration::from_secs(1)));
        assert_send_sync(&outgoing);
        assert_send_sync(&direct);
        assert_send_sync(&keyed);
        let key = String::from("a");
        assert_send_sync(&outgoing.acquire(Some("a")));
        assert_send_sync(&direct.until_ready());
        assert_send_sync(&keyed.until_ready(&key));
    }

    fn twitch() -> Limit {
        Limit::new(20, Duration::from_secs(30))
    }

    #[test]
    fn default_burst_and_interval_keep_count_per_window() {
        let limit = twitch();
        assert_eq!(limit.effective_burst(), 10);
        // 11 steady cells per 30 s, rounded up to the nanosecond.
        assert_eq!(limit.interval(), Duration::from_nanos(2_727_272_728));
        assert_eq!(
            Limit::new(1, Duration::from_secs(1)).interval(),
            Duration::from_secs(1)
        );
        let all_burst = Limit::new(5, Duration::from_secs(10)).with_burst(5);
        assert_eq!(all_burst.interval(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn two_hundred_sequential_actions_never_exceed_the_window() {
        let limiter = RateLimiter::new(twitch());
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..200 {
            limiter.until_ready().await;
            times.push(Instant::now());
        }
        assert_window(&times, twitch(), "instance");
        // The burst goes out at once; then one every 30/11 s. The limiter is not stricter
        // than it must be: 190 steady cells take 190 intervals (plus timer rounding).
        assert_eq!(times.iter().filter(|t| **t == start).count(), 10);
        let elapsed = start.elapsed();
        assert!(elapsed >= twitch().interval() * 190, "{elapsed:?}");
        assert!(
            elapsed <= twitch().interval() * 190 + Duration::from_secs(1),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn two_hundred_concurrent_actions_over_channels_respect_both_limits() {
        let channel_limit = Limit::new(3, Duration::from_secs(5));
        let limiter = Arc::new(OutgoingLimiter::new(twitch(), Some(channel_limit)));
        let mut tasks = Vec::new();
        for i in 0..200 {
            let limiter = Arc::clone(&limiter);
            tasks.push(tokio::spawn(async move {
                let channel = ["a", "b", "c", "d"][i % 4];
                limiter.acquire(Some(channel)).await;
                (channel, Instant::now())
            }));
        }
        let mut all = Vec::new();
        let mut per_channel: HashMap<&str, Vec<Instant>> = HashMap::new();
        for task in tasks {
            let (channel, at) = task.await.expect("task finished");
            all.push(at);
            per_channel.entry(channel).or_default().push(at);
        }
        assert_window(&all, twitch(), "instance");
        for (channel, times) in &per_channel {
            assert_eq!(times.len(), 50);
            assert_window(times, channel_limit, channel);
        }
    }

    /// Twitch's two budgets: 100 per 30 s for everything, 20 per 30 s and one per second
    /// per channel only where the bot is not privileged.
    #[tokio::test(start_paused = true)]
    async fn exempt_channels_take_only_from_the_instance_budget() {
        let thirty = Duration::from_secs(30);
        // Whole-window bursts keep the arithmetic plain.
        let limiter = OutgoingLimiter::new(
            Limit::new(100, thirty).with_burst(100),
            Some(Limit::new(1, Duration::from_secs(1))),
        )
        .with_unprivileged_limit(Limit::new(20, thirty).with_burst(20));
        limiter.set_channel_exempt("modded", true);
        assert!(limiter.is_exempt("modded") && !limiter.is_exempt("plain"));

        // An ordinary channel: one per second.
        assert_eq!(limiter.try_acquire(Some("plain")), Ok(()));
        assert!(limiter.try_acquire(Some("plain")).is_err());
        // The privileged channel has no per-channel minimum.
        for _ in 0..30 {
            assert_eq!(limiter.try_acquire(Some("modded")), Ok(()));
        }
        // The unprivileged budget is shared by ordinary channels and spent by them only:
        // 19 more across other channels, then it is empty, while the privileged channel
        // still has instance budget.
        for i in 0..19 {
            assert_eq!(limiter.try_acquire(Some(&format!("c{i}"))), Ok(()), "{i}");
        }
        assert!(limiter.try_acquire(Some("another")).is_err());
        assert!(
            limiter.try_acquire(None).is_err(),
            "no channel counts as ordinary"
        );
        assert_eq!(limiter.try_acquire(Some("modded")), Ok(()));
        // Everything counts against the instance budget: 100 in all.
        let mut more = 0;
        while limiter.try_acquire(Some("modded")).is_ok() {
            more += 1;
        }
        assert_eq!(1 + 30 + 19 + 1 + more, 100);

        // Losing the privilege brings both limits back.
        limiter.set_channel_exempt("modded", false);
        advance(thirty).await;
        assert_eq!(limiter.try_acquire(Some("modded")), Ok(()));
        assert!(limiter.try_acquire(Some("modded")).is_err());
        limiter.clear_exemptions();
        assert!(!limiter.is_exempt("modded"));
    }

    #[tokio::test(start_paused = true)]
    async fn reported_wait_is_exact_and_until_ready_sleeps_it() {
        let limiter = RateLimiter::new(Limit::new(1, Duration::from_secs(10)));
        assert_eq!(limiter.check(), Ok(()));
        assert_eq!(limiter.check(), Err(Duration::from_secs(10)));
        advance(Duration::from_secs(4)).await;
        assert_eq!(limiter.peek(), Err(Duration::from_secs(6)));
        let start = Instant::now();
        limiter.until_ready().await;
        assert_eq!(start.elapsed(), Duration::from_secs(6));
        assert!(limiter.check().is_err(), "until_ready took the cell");
    }

    #[tokio::test(start_paused = true)]
    async fn peek_does_not_consume() {
        let limiter = RateLimiter::new(Limit::new(1, Duration::from_secs(10)));
        for _ in 0..5 {
            assert_eq!(limiter.peek(), Ok(()));
        }
        assert_eq!(limiter.check(), Ok(()));
        assert!(limiter.peek().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn channels_have_independent_budgets() {
        let limiter = OutgoingLimiter::new(
            Limit::new(100, Duration::from_secs(30)),
            Some(Limit::new(2, Duration::from_secs(10)).with_burst(2)),
        );
        assert_eq!(limiter.try_acquire(Some("a")), Ok(()));
        assert_eq!(limiter.try_acquire(Some("a")), Ok(()));
        assert_eq!(limiter.try_acquire(Some("a")), Err(Duration::from_secs(10)));
        assert_eq!(limiter.try_acquire(Some("b")), Ok(()));
        assert_eq!(
            limiter.try_acquire(None),
            Ok(()),
            "no channel: instance only"
        );
        let keyed = KeyedRateLimiter::new(Limit::new(1, Duration::from_secs(1)));
        assert_eq!(keyed.check(&1u8), Ok(()));
        assert!(keyed.check(&1u8).is_err());
        assert_eq!(keyed.check(&2u8), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_channel_does_not_spend_the_instance_budget() {
        let limiter = OutgoingLimiter::new(
            Limit::new(2, Duration::from_secs(10)).with_burst(2),
            Some(Limit::new(1, Duration::from_secs(10))),
        );
        assert_eq!(limiter.try_acquire(Some("a")), Ok(()));
        for _ in 0..10 {
            assert!(
                limiter.try_acquire(Some("a")).is_err(),
                "channel a is spent"
            );
        }
        assert_eq!(
            limiter.try_acquire(Some("b")),
            Ok(()),
            "instance cell was kept"
        );
        // Now the instance refuses: channel c's budget must stay intact.
        assert!(limiter.try_acquire(Some("c")).is_err());
        advance(Duration::from_secs(10)).await;
        assert_eq!(limiter.try_acquire(Some("c")), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn raising_the_instance_limit_takes_effect_without_a_new_burst() {
        let limiter = OutgoingLimiter::new(twitch(), None);
        for _ in 0..10 {
            assert_eq!(limiter.try_acquire(None), Ok(()));
        }
        assert!(limiter.try_acquire(None).is_err());
        let moderator = Limit::new(100, Duration::from_secs(30));
        limiter.set_instance_limit(moderator);
        assert_eq!(limiter.instance_limit(), Some(moderator));
        assert!(limiter.try_acquire(None).is_err(), "no fresh burst");
        let start = Instant::now();
        for _ in 0..20 {
            limiter.acquire(None).await;
        }
        // 20 at the moderator pace (30 s / 51) take about 12 s instead of 55 s.
        assert!(
            start.elapsed() < Duration::from_secs(13),
            "{:?}",
            start.elapsed()
        );
        // Setting the same limit again changes nothing (no reset, no new priming).
        advance(Duration::from_secs(60)).await;
        limiter.set_instance_limit(moderator);
        assert_eq!(limiter.try_acquire(None), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn retain_recent_forgets_idle_channels() {
        let limiter = KeyedRateLimiter::new(Limit::new(2, Duration::from_secs(10)));
        for channel in ["a", "b", "c"] {
            assert_eq!(limiter.check(&channel.to_owned()), Ok(()));
        }
        assert_eq!(limiter.len(), 3);
        limiter.retain_recent();
        assert_eq!(limiter.len(), 3, "budgets still recovering are kept");
        advance(Duration::from_secs(30)).await;
        limiter.retain_recent();
        assert!(limiter.is_empty());
    }

    #[test]
    fn limits_read_from_toml_and_bad_ones_are_refused() {
        #[derive(Debug, Deserialize)]
        struct Conf {
            limit: Limit,
        }
        let c: Conf = toml::from_str("limit = { count = 20, per = \"30s\" }").expect("valid");
        assert_eq!(c.limit, twitch());
        let c: Conf =
            toml::from_str("limit = { count = 3, per = 1500, burst = 1 }").expect("valid");
        assert_eq!(
            c.limit,
            Limit::new(3, Duration::from_millis(1500)).with_burst(1)
        );
        for (text, needle) in [
            ("limit = { count = 0, per = \"1s\" }", "at least 1"),
            ("limit = { count = 2, per = 0 }", "longer than zero"),
            (
                "limit = { count = 2, per = \"1s\", burst = 3 }",
                "between 1 and",
            ),
            ("limit = { count = 2 }", "per"),
        ] {
            let err = toml::from_str::<Conf>(text).expect_err(text);
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
    }

    #[derive(Debug, Clone)]
    struct Arrival {
        gap_ms: u64,
        channel: Option<u8>,
        drop: bool,
    }

    fn arrival() -> impl Strategy<Value = Arrival> {
        (0u64..1500, proptest::option::of(0u8..3), any::<bool>()).prop_map(
            |(gap_ms, channel, drop)| Arrival {
                gap_ms,
                channel,
                drop,
            },
        )
    }

    fn limit_strategy() -> impl Strategy<Value = Limit> {
        (1u32..8, 1u64..4000, proptest::option::of(1u32..8)).prop_map(|(count, per, burst)| {
            let limit = Limit::new(count, Duration::from_millis(per));
            match burst {
                Some(b) => limit.with_burst(b.min(count)),
                None => limit,
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn no_window_ever_holds_more_than_count(
            instance in limit_strategy(),
            channel in limit_strategy(),
            arrivals in proptest::collection::vec(arrival(), 1..60),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .expect("runtime");
            let (all, per_channel) = runtime.block_on(async move {
                let limiter = Arc::new(OutgoingLimiter::new(instance, Some(channel)));
                let mut tasks = Vec::new();
                let mut offset = Duration::ZERO;
                for a in arrivals {
                    offset += Duration::from_millis(a.gap_ms);
                    let limiter = Arc::clone(&limiter);
                    tasks.push(tokio::spawn(async move {
                        tokio::time::sleep(offset).await;
                        let name = a.channel.map(|c| c.to_string());
                        if a.drop {
                            limiter.try_acquire(name.as_deref()).ok()?;
                        } else {
                            limiter.acquire(name.as_deref()).await;
                        }
                        Some((a.channel, Instant::now()))
                    }));
                }
                let mut all = Vec::new();
                let mut per_channel: HashMap<u8, Vec<Instant>> = HashMap::new();
                for task in tasks {
                    if let Some((ch, at)) = task.await.expect("task") {
                        all.push(at);
                        if let Some(ch) = ch {
                            per_channel.entry(ch).or_default().push(at);
                        }
                    }
                }
                (all, per_channel)
            });
            assert_window(&all, instance, "instance");
            for times in per_channel.values() {
                assert_window(times, channel, "channel");
            }
        }
    }
}
