//! Exponential backoff with jitter, for every retry loop in botkit.
//!
//! A reconnect loop, a Helix call that got a 503, a store write that hit a locked database:
//! each waits a little longer after every failure, up to a cap, with random jitter so that
//! many bots (or many connections of one bot) that failed together do not retry together.
//! [`BackoffPolicy`] is the configuration (plain data, `Default`, serde), [`Backoff`] is the
//! per-loop state that hands out the delays, and [`retry`] is the loop itself for the common
//! case of "call this async operation until it succeeds or fails for good".
//!
//! The un-jittered delay after failure `n` (0-based) is `min(base · factorⁿ, cap)`, so with the
//! defaults it runs 2 s, 4 s, 8 s … 256 s, 300 s, 300 s …; jitter then scales it by a uniform
//! factor in `[1 − jitter, 1 + jitter]`. Delays are computed from the attempt count rather than
//! from the previous (jittered) delay, so jitter never compounds and a delay never exceeds
//! `cap · (1 + jitter)`. Time is `tokio::time`, so tests with paused time run instantly.
//!
//! Durations in config files are written as a string with a unit (`"500ms"`, `"2s"`, `"5m"`,
//! `"1h"`, decimals allowed: `"1.5s"`) or as an integer number of milliseconds:
//!
//! ```toml
//! [platform.reconnect]
//! base = "2s"
//! cap = "5m"
//! factor = 2.0
//! jitter = 0.25
//! max_attempts = 10
//! ```

use std::future::Future;
use std::time::Duration;

use serde::Deserialize;

/// How delays grow between attempts. Plain data: copy it into every loop that needs one.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BackoffPolicy {
    /// Delay after the first failure (default 2 s). Config: `"2s"` or milliseconds.
    #[serde(deserialize_with = "duration_serde::deserialize")]
    pub base: Duration,
    /// Largest un-jittered delay (default 5 min). Config: `"5m"` or milliseconds.
    #[serde(deserialize_with = "duration_serde::deserialize")]
    pub cap: Duration,
    /// Growth factor per failure (default 2.0; values below 1 or not finite count as 1).
    pub factor: f64,
    /// Relative jitter (default 0.25 = ±25 %; clamped to `0.0..=1.0`).
    pub jitter: f64,
    /// Maximum number of attempts, the first one included; `None` (default) retries forever.
    /// `Some(0)` and `Some(1)` both mean "try once, never retry".
    pub max_attempts: Option<u32>,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(300),
            factor: 2.0,
            jitter: 0.25,
            max_attempts: None,
        }
    }
}

impl BackoffPolicy {
    /// The default policy: 2 s doubling to 5 min, ±25 % jitter, unlimited attempts.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same policy with another first delay.
    #[must_use]
    pub fn with_base(mut self, base: Duration) -> Self {
        self.base = base;
        self
    }

    /// The same policy with another cap.
    #[must_use]
    pub fn with_cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// The same policy with another growth factor.
    #[must_use]
    pub fn with_factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// The same policy with another relative jitter (0.0 turns jitter off).
    #[must_use]
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// The same policy, giving up after `max` attempts (the first one included).
    #[must_use]
    pub fn with_max_attempts(mut self, max: u32) -> Self {
        self.max_attempts = Some(max);
        self
    }

    /// The same policy, retrying forever.
    #[must_use]
    pub fn unlimited(mut self) -> Self {
        self.max_attempts = None;
        self
    }

    /// The un-jittered delay after failure number `failure` (0-based): `min(base·factorⁿ, cap)`.
    pub fn nominal_delay(&self, failure: u32) -> Duration {
        let factor = if self.factor.is_finite() && self.factor >= 1.0 {
            self.factor
        } else {
            1.0
        };
        let exponent = i32::try_from(failure).unwrap_or(i32::MAX);
        let secs = self.base.as_secs_f64() * factor.powi(exponent);
        let cap = self.cap.as_secs_f64();
        // `min` also maps an infinite product (huge exponent) to the cap.
        Duration::try_from_secs_f64(secs.min(cap)).unwrap_or(self.cap)
    }

    /// The jitter fraction actually used: `jitter` clamped to `0.0..=1.0`, NaN as 0.
    fn effective_jitter(&self) -> f64 {
        if self.jitter.is_nan() {
            0.0
        } else {
            self.jitter.clamp(0.0, 1.0)
        }
    }
}

/// The state of one retry loop: how many failures so far, and the random source for jitter.
///
/// Call [`next_delay`](Self::next_delay) after each failure and sleep that long;
/// call [`reset`](Self::reset) after a success (e.g. a connection that stayed up).
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: BackoffPolicy,
    failures: u32,
    rng: fastrand::Rng,
}

impl Backoff {
    /// A fresh loop state with a randomly seeded jitter source.
    pub fn new(policy: BackoffPolicy) -> Self {
        Self::with_rng(policy, fastrand::Rng::new())
    }

    /// A fresh loop state with a given random source, e.g. `fastrand::Rng::with_seed(7)` for
    /// reproducible delays in tests.
    pub fn with_rng(policy: BackoffPolicy, rng: fastrand::Rng) -> Self {
        Self {
            policy,
            failures: 0,
            rng,
        }
    }

    /// Records a failed attempt and returns how long to wait before the next one, or `None`
    /// when the policy's `max_attempts` have all been used.
    pub fn next_delay(&mut self) -> Option<Duration> {
        let failure = self.failures;
        self.failures = self.failures.saturating_add(1);
        if self
            .policy
            .max_attempts
            .is_some_and(|max| self.failures >= max)
        {
            return None;
        }
        let nominal = self.policy.nominal_delay(failure);
        let jitter = self.policy.effective_jitter();
        if jitter == 0.0 {
            return Some(nominal);
        }
        // Uniform in [1 - jitter, 1 + jitter]; jitter <= 1 keeps it non-negative.
        let scale = 1.0 + jitter * (2.0 * self.rng.f64() - 1.0);
        let secs = (nominal.as_secs_f64() * scale).max(0.0);
        Some(Duration::try_from_secs_f64(secs).unwrap_or(nominal))
    }

    /// Forgets the failures so far: the next delay is `base` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failed attempts recorded since creation or the last [`reset`](Self::reset).
    pub fn attempts(&self) -> u32 {
        self.failures
    }

    /// The policy this state follows.
    pub fn policy(&self) -> &BackoffPolicy {
        &self.policy
    }
}

/// Runs `op` until it succeeds, fails with an error `is_transient` refuses, or the policy's
/// attempts run out; sleeps (tokio time) with backoff between transient failures.
///
/// The error returned is the last one `op` produced.
pub async fn retry<T, E, F, Fut>(
    policy: &BackoffPolicy,
    is_transient: impl Fn(&E) -> bool,
    op: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut backoff = Backoff::new(policy.clone());
    retry_with(&mut backoff, is_transient, op).await
}

/// [`retry`] with a caller-owned [`Backoff`] (seeded jitter, or to read
/// [`attempts`](Backoff::attempts) afterwards).
pub async fn retry_with<T, E, F, Fut>(
    backoff: &mut Backoff,
    is_transient: impl Fn(&E) -> bool,
    mut op: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(error) if !is_transient(&error) => return Err(error),
            Err(error) => match backoff.next_delay() {
                Some(delay) => {
                    tracing::debug!(
                        attempt = backoff.attempts(),
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "transient failure, retrying after backoff"
                    );
                    tokio::time::sleep(delay).await;
                }
                None => {
                    tracing::debug!(
                        attempts = backoff.attempts(),
                        "transient failure, attempts exhausted"
                    );
                    return Err(error);
                }
            },
        }
    }
}

/// Serde helpers for durations in config: `"250ms"`, `"2s"`, `"1.5s"`, `"5m"`, `"1h"`, or an
/// integer number of milliseconds. Shared by every config that holds a duration (backoff,
/// breaker, rate limits, the LLM backends); also reachable as `botkit::config::duration`.
pub mod duration_serde {
    use std::fmt;
    use std::time::Duration;

    use serde::Deserializer;
    use serde::de::{self, Visitor};

    /// Parses a duration with units (`"250ms"`, `"2s"`, `"1.5s"`, `"5m"`, `"1h30m"`, `"2d"`);
    /// a bare number is milliseconds. Units are the ones chat commands accept.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let text = text.trim();
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text
                .parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| format!("duration `{text}` is out of range"));
        }
        crate::command::args::parse_duration(text).ok_or_else(|| {
            format!("`{text}` is not a duration; write e.g. \"500ms\", \"2s\", \"5m\" or \"1h\"")
        })
    }

    struct DurationVisitor;

    impl Visitor<'_> for DurationVisitor {
        type Value = Duration;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration such as \"2s\" or \"500ms\", or an integer of milliseconds")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
            Ok(Duration::from_millis(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
            u64::try_from(v)
                .map(Duration::from_millis)
                .map_err(|_| E::custom(format!("duration {v} ms is negative")))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            parse(v).map_err(E::custom)
        }
    }

    /// `deserialize_with` target for a `Duration` field.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    #[test]
    fn nominal_delays_double_from_base_to_cap() {
        let policy = BackoffPolicy::default();
        let got: Vec<u64> = (0..10).map(|n| policy.nominal_delay(n).as_secs()).collect();
        assert_eq!(got, vec![2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(policy.nominal_delay(u32::MAX), Duration::from_secs(300));
    }

    #[test]
    fn jittered_delays_stay_within_a_quarter_of_nominal() {
        let policy = BackoffPolicy::default();
        for seed in 0..50 {
            let mut backoff = Backoff::with_rng(policy.clone(), fastrand::Rng::with_seed(seed));
            for n in 0..20 {
                let delay = backoff.next_delay().expect("unlimited policy");
                let nominal = secs(policy.nominal_delay(n));
                assert!(
                    secs(delay) >= nominal * 0.75 - 1e-9 && secs(delay) <= nominal * 1.25 + 1e-9,
                    "delay {delay:?} after failure {n} outside ±25 % of {nominal}s"
                );
                assert!(secs(delay) <= 300.0 * 1.25 + 1e-9);
            }
        }
    }

    #[test]
    fn jitter_actually_varies_the_delays() {
        let policy = BackoffPolicy::default();
        let delays: Vec<Duration> = (0..20)
            .map(|seed| {
                Backoff::with_rng(policy.clone(), fastrand::Rng::with_seed(seed))
                    .next_delay()
                    .unwrap_or_default()
            })
            .collect();
        let first = delays[0];
        assert!(delays.iter().any(|d| *d != first), "{delays:?}");
    }

    #[test]
    fn seeded_backoff_is_reproducible() {
        let run = || {
            let mut b = Backoff::with_rng(BackoffPolicy::default(), fastrand::Rng::with_seed(42));
            (0..5).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn nonsense_config_values_do_not_panic() {
        let policy = BackoffPolicy::default()
            .with_factor(f64::NAN)
            .with_jitter(7.0)
            .with_base(Duration::from_secs(10))
            .with_cap(Duration::from_secs(1));
        let mut backoff = Backoff::with_rng(policy, fastrand::Rng::with_seed(1));
        for _ in 0..100 {
            let d = backoff.next_delay().unwrap_or_default();
            // jitter clamped to 100 %, base above cap means the cap rules
            assert!(secs(d) <= 2.0 + 1e-9, "{d:?}");
        }
    }

    #[test]
    fn reset_starts_again_from_base() {
        let policy = BackoffPolicy::default().with_jitter(0.0);
        let mut backoff = Backoff::new(policy);
        assert_eq!(backoff.next_delay(), Some(Duration::from_secs(2)));
        assert_eq!(backoff.next_delay(), Some(Duration::from_secs(4)));
        assert_eq!(backoff.attempts(), 2);
        backoff.reset();
        assert_eq!(backoff.attempts(), 0);
        assert_eq!(backoff.next_delay(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn max_attempts_counts_the_first_try() {
        let mut backoff = Backoff::new(BackoffPolicy::default().with_max_attempts(3));
        assert!(backoff.next_delay().is_some());
        assert!(backoff.next_delay().is_some());
        assert_eq!(backoff.next_delay(), None);
        assert_eq!(backoff.next_delay(), None);
        let mut once = Backoff::new(BackoffPolicy::default().with_max_attempts(0));
        assert_eq!(once.next_delay(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_sleeps_with_delays_growing_to_the_cap() {
        let start = tokio::time::Instant::now();
        let calls = Cell::new(Vec::new());
        let policy = BackoffPolicy::default();
        let result: Result<&str, &str> = retry(
            &policy,
            |_| true,
            || {
                let mut seen = calls.take();
                seen.push(start.elapsed());
                let n = seen.len();
                calls.set(seen);
                async move { if n < 12 { Err("busy") } else { Ok("done") } }
            },
        )
        .await;
        assert_eq!(result, Ok("done"));
        let times = calls.take();
        assert_eq!(times.len(), 12);
        let gaps: Vec<f64> = times.windows(2).map(|w| secs(w[1] - w[0])).collect();
        let nominal = [
            2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0, 300.0, 300.0,
        ];
        assert_eq!(gaps.len(), nominal.len());
        for (gap, nominal) in gaps.iter().zip(nominal) {
            // tokio timers have millisecond resolution
            assert!(
                *gap >= nominal * 0.75 - 0.002 && *gap <= nominal * 1.25 + 0.002,
                "gap {gap}s, nominal {nominal}s, all {gaps:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_stops_at_once_on_a_permanent_error() {
        let start = tokio::time::Instant::now();
        let calls = Cell::new(0);
        let result: Result<(), &str> = retry(
            &BackoffPolicy::default(),
            |e: &&str| *e == "transient",
            || {
                calls.set(calls.get() + 1);
                async { Err("permanent") }
            },
        )
        .await;
        assert_eq!(result, Err("permanent"));
        assert_eq!(calls.get(), 1);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_gives_up_after_max_attempts() {
        let calls = Cell::new(0);
        let policy = BackoffPolicy::default().with_max_attempts(4);
        let result: Result<(), u32> = retry(
            &policy,
            |_| true,
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move { Err(n) }
            },
        )
        .await;
        assert_eq!(result, Err(4), "the last error is returned");
        assert_eq!(calls.get(), 4);
    }

    #[derive(Debug, Deserialize)]
    struct Wrapper {
        reconnect: BackoffPolicy,
    }

    #[test]
    fn policy_reads_from_toml_with_unit_strings_or_milliseconds() {
        let w: Wrapper = toml::from_str(
            "[reconnect]\nbase = \"500ms\"\ncap = 60000\nfactor = 3.0\nmax_attempts = 7\n",
        )
        .expect("valid config");
        assert_eq!(w.reconnect.base, Duration::from_millis(500));
        assert_eq!(w.reconnect.cap, Duration::from_secs(60));
        assert_eq!(w.reconnect.factor, 3.0);
        assert_eq!(w.reconnect.jitter, 0.25, "unset fields keep their default");
        assert_eq!(w.reconnect.max_attempts, Some(7));

        let empty: Wrapper = toml::from_str("[reconnect]\n").expect("all defaults");
        assert_eq!(empty.reconnect, BackoffPolicy::default());
    }

    #[test]
    fn bad_durations_are_refused_with_a_hint() {
        let err = toml::from_str::<Wrapper>("[reconnect]\nbase = \"2 fortnights\"\n")
            .expect_err("unknown unit");
        assert!(err.to_string().contains("write e.g. \"500ms\""), "{err}");
        let err = toml::from_str::<Wrapper>("[reconnect]\nbase = -5\n").expect_err("negative");
        assert!(err.to_string().contains("negative"), "{err}");
        assert_eq!(
            duration_serde::parse("1.5s"),
            Ok(Duration::from_millis(1500))
        );
        assert_eq!(duration_serde::parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(duration_serde::parse("1h"), Ok(Duration::from_secs(3600)));
        assert!(duration_serde::parse("s").is_err());
        assert!(duration_serde::parse("1e400s").is_err());
    }
}
