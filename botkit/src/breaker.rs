//! A circuit breaker: stop calling a service that keeps failing, probe it now and then.
//!
//! When Helix, Ollama or a database is down, retrying every request only adds load and
//! latency. A [`CircuitBreaker`] counts consecutive failures; after `failure_threshold` of
//! them it *opens* and refuses calls at once with [`BreakerOpen`] (carrying how long to wait).
//! When the open period is over it goes *half-open* and lets exactly **one** probe through:
//! a success closes it, a failure opens it again.
//!
//! Design choices:
//! - **Growing open periods.** The first open period is `open_for` (default 30 s); each failed
//!   probe in a row doubles it, up to `max_open_for` (default 5 min), so a service that is down
//!   for an hour gets a dozen probes, not 120. A successful probe resets it. The growth has no
//!   jitter, so `retry_after` is exact; set `max_open_for = open_for` for a fixed period.
//! - **A permit dropped without a verdict counts as a failure.** The usual way a call ends
//!   without an answer is a timeout or a cancelled future around a hung service, which is
//!   exactly what a breaker must notice; it also guarantees that a half-open breaker whose
//!   probe vanished does not stay half-open forever.
//! - **Stale verdicts are ignored.** A permit taken while closed that finishes after the
//!   breaker opened (or opened and closed again) does not move the state: the breaker has
//!   already decided on fresher evidence.
//! - One `std::sync::Mutex` around a few words of state, never held across an `.await`;
//!   time is `tokio::time::Instant`, so tests with paused time are instant and exact.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use crate::backoff::duration_serde;

/// When to open and how long to stay open.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker (default 5; 0 counts as 1).
    pub failure_threshold: u32,
    /// First open period (default 30 s). Config: `"30s"` or milliseconds.
    #[serde(deserialize_with = "duration_serde::deserialize")]
    pub open_for: Duration,
    /// Longest open period after repeated failed probes (default 5 min). Config: `"5m"`.
    #[serde(deserialize_with = "duration_serde::deserialize")]
    pub max_open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
            max_open_for: Duration::from_secs(300),
        }
    }
}

impl BreakerConfig {
    /// The defaults: open after 5 failures, for 30 s growing to 5 min.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same config with another failure threshold.
    #[must_use]
    pub fn with_failure_threshold(mut self, failures: u32) -> Self {
        self.failure_threshold = failures;
        self
    }

    /// The same config with another first open period.
    #[must_use]
    pub fn with_open_for(mut self, open_for: Duration) -> Self {
        self.open_for = open_for;
        self
    }

    /// The same config with another longest open period.
    #[must_use]
    pub fn with_max_open_for(mut self, max_open_for: Duration) -> Self {
        self.max_open_for = max_open_for;
        self
    }

    /// The open period after `failed_probes` failed probes in a row: `open_for · 2ⁿ`, capped.
    fn open_period(&self, failed_probes: u32) -> Duration {
        let max = self.max_open_for.max(self.open_for);
        let factor = 2u32.checked_pow(failed_probes).unwrap_or(u32::MAX);
        self.open_for.checked_mul(factor).unwrap_or(max).min(max)
    }
}

/// What the breaker currently does with calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakerState {
    /// Calls go through; failures are being counted.
    Closed,
    /// Calls are refused until the open period ends.
    Open,
    /// The open period is over: the next call is the one probe, or the probe is in flight.
    HalfOpen,
}

/// Refusal from an open (or probing) breaker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} is unavailable (circuit breaker open); retry in {retry_after:?}", .service.as_deref().unwrap_or("the service"))]
#[non_exhaustive]
pub struct BreakerOpen {
    /// How long until the breaker lets a probe through (for a probe already in flight: the
    /// open period that follows if it fails).
    pub retry_after: Duration,
    /// The breaker's name, when it was given one.
    pub service: Option<Arc<str>>,
}

impl BreakerOpen {
    /// Always true: the same call may succeed after [`retry_after`](Self::retry_after).
    pub fn is_transient(&self) -> bool {
        true
    }
}

/// Error from [`CircuitBreaker::call`]: refused by the breaker, or the operation's own error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BreakerError<E> {
    /// The breaker refused; the operation did not run.
    #[error(transparent)]
    Open(#[from] BreakerOpen),
    /// The operation ran and failed.
    #[error(transparent)]
    Inner(E),
}

impl<E> BreakerError<E> {
    /// How long to wait when the breaker refused; `None` for the operation's own errors.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            BreakerError::Open(open) => Some(open.retry_after),
            BreakerError::Inner(_) => None,
        }
    }

    /// The operation's error, if it ran.
    pub fn into_inner(self) -> Option<E> {
        match self {
            BreakerError::Open(_) => None,
            BreakerError::Inner(e) => Some(e),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// The probe is in flight.
    HalfOpen,
}

#[derive(Debug, Clone)]
struct Shared {
    state: State,
    /// Failed probes in a row, for the growing open period.
    failed_probes: u32,
    /// Bumped on every transition, so a verdict from an older state is recognised as stale.
    generation: u64,
}

#[derive(Debug)]
struct Inner {
    config: BreakerConfig,
    name: Option<Arc<str>>,
    shared: Mutex<Shared>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // The state is a few plain words that are valid at every point; a panic elsewhere
        // while holding the lock cannot leave it half-written.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn open(&self, shared: &mut Shared, now: Instant) {
        let period = self.config.open_period(shared.failed_probes);
        shared.state = State::Open {
            until: now + period,
        };
        shared.generation = shared.generation.wrapping_add(1);
        tracing::warn!(
            breaker = self.name.as_deref().unwrap_or(""),
            open_for_ms = u64::try_from(period.as_millis()).unwrap_or(u64::MAX),
            "circuit breaker opened"
        );
    }

    fn settle(&self, probe: bool, generation: u64, success: bool) {
        let mut shared = self.lock();
        if shared.generation != generation {
            return;
        }
        let now = Instant::now();
        match (shared.state, probe, success) {
            (State::Closed { .. }, false, true) => shared.state = State::Closed { failures: 0 },
            (State::Closed { failures }, false, false) => {
                let failures = failures.saturating_add(1);
                if failures >= self.config.failure_threshold.max(1) {
                    shared.failed_probes = 0;
                    self.open(&mut shared, now);
                } else {
                    shared.state = State::Closed { failures };
                }
            }
            (State::HalfOpen, true, true) => {
                shared.state = State::Closed { failures: 0 };
                shared.failed_probes = 0;
                shared.generation = shared.generation.wrapping_add(1);
                tracing::info!(
                    breaker = self.name.as_deref().unwrap_or(""),
                    "circuit breaker closed after a successful probe"
                );
            }
            (State::HalfOpen, true, false) => {
                shared.failed_probes = shared.failed_probes.saturating_add(1);
                self.open(&mut shared, now);
            }
            // A verdict that does not match the state it was issued in: ignore.
            _ => {}
        }
    }
}

/// A circuit breaker around one service. Cheap to clone: clones share the state.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    inner: Arc<Inner>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                name: None,
                shared: Mutex::new(Shared {
                    state: State::Closed { failures: 0 },
                    failed_probes: 0,
                    generation: 0,
                }),
            }),
        }
    }

    /// The same breaker with a name for logs and error messages (e.g. `"twitch helix"`).
    /// Meant for construction time; a handle that was already cloned gets its own copy of
    /// the state, no longer shared with the clones.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<Arc<str>>) -> Self {
        let name = Some(name.into());
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.name = name;
            return self;
        }
        let shared = self.inner.lock().clone();
        Self {
            inner: Arc::new(Inner {
                config: self.inner.config.clone(),
                name,
                shared: Mutex::new(shared),
            }),
        }
    }

    /// The config this breaker follows.
    pub fn config(&self) -> &BreakerConfig {
        &self.inner.config
    }

    /// Asks to make one call. `Ok` carries a [`Permit`] to report the call's result with;
    /// `Err` says how long the breaker stays open.
    pub fn check(&self) -> Result<Permit, BreakerOpen> {
        let mut shared = self.inner.lock();
        let now = Instant::now();
        match shared.state {
            State::Closed { .. } => Ok(self.permit(false, shared.generation)),
            State::Open { until } if now >= until => {
                shared.state = State::HalfOpen;
                shared.generation = shared.generation.wrapping_add(1);
                tracing::debug!(
                    breaker = self.inner.name.as_deref().unwrap_or(""),
                    "circuit breaker half-open: letting one probe through"
                );
                Ok(self.permit(true, shared.generation))
            }
            State::Open { until } => Err(self.refusal(until - now)),
            State::HalfOpen => {
                let next = shared.failed_probes.saturating_add(1);
                Err(self.refusal(self.inner.config.open_period(next)))
            }
        }
    }

    /// Runs `op` if the breaker allows it; every `Err` of `op` counts as a failure.
    pub async fn call<T, E, F, Fut>(&self, op: F) -> Result<T, BreakerError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.call_with(|_| true, op).await
    }

    /// Like [`call`](Self::call), but only errors for which `is_failure` says yes count
    /// against the service; others (a 400 for a bad request: the service answered) count as
    /// a success.
    pub async fn call_with<T, E, F, Fut>(
        &self,
        is_failure: impl Fn(&E) -> bool,
        op: F,
    ) -> Result<T, BreakerError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let permit = self.check()?;
        match op().await {
            Ok(value) => {
                permit.success();
                Ok(value)
            }
            Err(error) => {
                if is_failure(&error) {
                    permit.failure();
                } else {
                    permit.success();
                }
                Err(BreakerError::Inner(error))
            }
        }
    }

    /// The current state (an elapsed open period reads as [`BreakerState::HalfOpen`]).
    pub fn state(&self) -> BreakerState {
        match self.inner.lock().state {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if Instant::now() >= until => BreakerState::HalfOpen,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen => BreakerState::HalfOpen,
        }
    }

    fn permit(&self, probe: bool, generation: u64) -> Permit {
        Permit {
            inner: Arc::clone(&self.inner),
            probe,
            generation,
            settled: false,
        }
    }

    fn refusal(&self, retry_after: Duration) -> BreakerOpen {
        BreakerOpen {
            retry_after,
            service: self.inner.name.clone(),
        }
    }
}

/// Leave to make one call; report how it went with [`success`](Self::success) or
/// [`failure`](Self::failure). Dropping it without a verdict counts as a failure.
#[derive(Debug)]
#[must_use = "report the call's result with .success() or .failure(); dropping counts as failure"]
pub struct Permit {
    inner: Arc<Inner>,
    probe: bool,
    generation: u64,
    settled: bool,
}

impl Permit {
    /// The call succeeded.
    pub fn success(mut self) {
        self.settled = true;
        self.inner.settle(self.probe, self.generation, true);
    }

    /// The call failed.
    pub fn failure(mut self) {
        self.settled = true;
        self.inner.settle(self.probe, self.generation, false);
    }

    /// Whether this permit is the half-open probe.
    pub fn is_probe(&self) -> bool {
        self.probe
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.settled {
            self.inner.settle(self.probe, self.generation, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::time::advance;

    use super::*;

    fn breaker(threshold: u32) -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig::default().with_failure_threshold(threshold))
    }

    fn fail(b: &CircuitBreaker, times: u32) {
        for _ in 0..times {
            b.check().expect("closed").failure();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_n_consecutive_failures() {
        let b = breaker(5);
        fail(&b, 4);
        assert_eq!(b.state(), BreakerState::Closed);
        fail(&b, 1);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.check().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_resets_the_failure_count() {
        let b = breaker(3);
        fail(&b, 2);
        b.check().expect("closed").success();
        fail(&b, 2);
        assert_eq!(b.state(), BreakerState::Closed);
        fail(&b, 1);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[tokio::test(start_paused = true)]
    async fn refuses_with_retry_after_while_open() {
        let b = breaker(1).with_name("helix");
        fail(&b, 1);
        let refused = b.check().expect_err("open");
        assert_eq!(refused.retry_after, Duration::from_secs(30));
        assert!(
            refused.to_string().contains("helix is unavailable"),
            "{refused}"
        );
        advance(Duration::from_secs(12)).await;
        let refused = b.check().expect_err("still open");
        assert_eq!(refused.retry_after, Duration::from_secs(18));
        advance(Duration::from_secs(18)).await;
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.check().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_lets_exactly_one_probe_through_and_closes_on_success() {
        let b = breaker(1);
        fail(&b, 1);
        advance(Duration::from_secs(30)).await;
        let probe = b.check().expect("probe allowed");
        assert!(probe.is_probe());
        for _ in 0..10 {
            assert!(b.check().is_err(), "only one probe at a time");
        }
        probe.success();
        assert_eq!(b.state(), BreakerState::Closed);
        let permit = b.check().expect("closed again");
        assert!(!permit.is_probe());
        permit.success();
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_reopens_for_twice_as_long_up_to_the_max() {
        let b = CircuitBreaker::new(
            BreakerConfig::default()
                .with_failure_threshold(1)
                .with_open_for(Duration::from_secs(30))
                .with_max_open_for(Duration::from_secs(100)),
        );
        fail(&b, 1);
        let mut periods = Vec::new();
        for _ in 0..4 {
            let wait = b.check().expect_err("open").retry_after;
            periods.push(wait.as_secs());
            advance(wait).await;
            b.check().expect("probe").failure();
        }
        assert_eq!(periods, vec![30, 60, 100, 100]);
        // A success resets the growth.
        advance(Duration::from_secs(100)).await;
        b.check().expect("probe").success();
        fail(&b, 1);
        assert_eq!(
            b.check().expect_err("open").retry_after,
            Duration::from_secs(30)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_probe_counts_as_failure() {
        let b = breaker(1);
        fail(&b, 1);
        advance(Duration::from_secs(30)).await;
        drop(b.check().expect("probe"));
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(
            b.check().expect_err("reopened").retry_after,
            Duration::from_secs(60)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stale_verdicts_do_not_move_the_state() {
        let b = breaker(1);
        let slow = b.check().expect("closed");
        fail(&b, 1);
        advance(Duration::from_secs(30)).await;
        b.check().expect("probe").success();
        // The slow call from before the outage finally fails: the breaker stays closed.
        slow.failure();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn call_skips_the_operation_while_open() {
        let b = breaker(2);
        let runs = AtomicUsize::new(0);
        for _ in 0..2 {
            let r: Result<(), _> = b
                .call(|| async {
                    runs.fetch_add(1, Ordering::SeqCst);
                    Err("down")
                })
                .await;
            assert_eq!(r, Err(BreakerError::Inner("down")));
        }
        let r: Result<(), BreakerError<&str>> = b
            .call(|| async {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
            .await;
        assert_eq!(
            r.expect_err("open").retry_after(),
            Some(Duration::from_secs(30))
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn call_with_does_not_count_caller_errors() {
        let b = breaker(1);
        for _ in 0..5 {
            let r: Result<(), _> = b
                .call_with(|e: &u16| *e >= 500, || async { Err(400u16) })
                .await;
            assert_eq!(r.expect_err("inner").into_inner(), Some(400));
        }
        assert_eq!(b.state(), BreakerState::Closed);
        let _ = b
            .call_with(|e: &u16| *e >= 500, || async { Err::<(), _>(503u16) })
            .await;
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn concurrent_callers_get_one_probe_between_them() {
        // Real threads, real clock: an open period of zero makes the probe due at once.
        let b = CircuitBreaker::new(
            BreakerConfig::default()
                .with_failure_threshold(1)
                .with_open_for(Duration::ZERO)
                .with_max_open_for(Duration::ZERO),
        );
        fail(&b, 1);
        let barrier = Barrier::new(16);
        let permits = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| {
                    barrier.wait();
                    if let Ok(p) = b.check() {
                        permits.lock().unwrap_or_else(|p| p.into_inner()).push(p);
                    }
                });
            }
        });
        let permits = permits.into_inner().unwrap_or_else(|p| p.into_inner());
        assert_eq!(permits.len(), 1);
        assert!(permits.iter().all(Permit::is_probe));
    }

    #[test]
    fn config_reads_from_toml() {
        let c: BreakerConfig =
            toml::from_str("failure_threshold = 3\nopen_for = \"10s\"\n").expect("valid");
        assert_eq!(
            c,
            BreakerConfig::default()
                .with_failure_threshold(3)
                .with_open_for(Duration::from_secs(10))
        );
    }
}
