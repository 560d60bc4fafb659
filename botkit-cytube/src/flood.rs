//! CyTube's chat flood rules, enforced before a message leaves.
//!
//! The server drops (and answers `cooldown`) any chat message or PM that its limiter
//! refuses, so a bot that wants every line delivered must predict the limiter exactly and
//! wait. The model is CyTube's `newRateLimiter` (`src/utilities.js`): after `cooldown`
//! quiet seconds since the last *accepted* message the count resets; up to `burst`
//! messages pass; then one per `1000 / sustained` ms. Two limiters apply: the hard floor
//! (burst 20, 10/s, every rank) and the channel's `chat_antiflood_params` when
//! `chat_antiflood` is on and our rank is below 2. A generic token bucket cannot model the
//! "burst only after a quiet spell" rule, which is why this is its own type; the runtime's
//! GCRA limit (see `Capabilities`) sits in front as a coarse first layer.
//!
//! Network jitter can bring two messages closer together at the server than they left
//! here, so waits carry a small safety margin.

use std::time::Duration;

use tokio::time::Instant;

use crate::events::AntifloodParams;

/// Extra wait added to every limiter interval to absorb network jitter.
pub const SAFETY_MARGIN: Duration = Duration::from_millis(60);

/// The always-on floor: burst 20, 10 messages per second (`MIN_ANTIFLOOD`).
pub const FLOOR: Params = Params {
    burst: 20,
    sustained: 10.0,
    cooldown: Duration::from_secs(2),
};

/// One limiter's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Messages that may pass after a quiet spell.
    pub burst: u32,
    /// Messages per second after the burst.
    pub sustained: f64,
    /// Quiet time that resets the burst.
    pub cooldown: Duration,
}

impl Params {
    /// The channel antiflood parameters from `channelOpts`, clamped the way the server
    /// clamps them (burst ≤ 20, sustained ≤ 10; cooldown = burst / sustained).
    pub fn from_channel(p: &AntifloodParams) -> Self {
        let burst = if p.burst.is_finite() {
            p.burst.clamp(1.0, 20.0)
        } else {
            4.0
        };
        let sustained = if p.sustained.is_finite() && p.sustained > 0.0 {
            p.sustained.min(10.0)
        } else {
            1.0
        };
        let cooldown = p
            .cooldown
            .filter(|c| c.is_finite() && *c >= 0.0)
            .unwrap_or(burst / sustained);
        Self {
            burst: burst as u32,
            sustained,
            cooldown: Duration::try_from_secs_f64(cooldown).unwrap_or(Duration::from_secs(4)),
        }
    }

    fn interval(&self) -> Duration {
        Duration::try_from_secs_f64(1.0 / self.sustained).unwrap_or(Duration::from_secs(1))
    }
}

/// A model of one server-side limiter.
#[derive(Debug, Clone, Default)]
struct Limiter {
    count: u32,
    last: Option<Instant>,
}

impl Limiter {
    fn cooled(&self, p: &Params, now: Instant) -> bool {
        self.last
            .is_none_or(|last| now.saturating_duration_since(last) > p.cooldown + SAFETY_MARGIN)
    }

    /// How long until a message would pass.
    fn wait(&self, p: &Params, now: Instant) -> Duration {
        if self.cooled(p, now) || self.count < p.burst {
            return Duration::ZERO;
        }
        let Some(last) = self.last else {
            return Duration::ZERO;
        };
        (last + p.interval() + SAFETY_MARGIN).saturating_duration_since(now)
    }

    /// Records a message the server will accept at `now`.
    fn record(&mut self, p: &Params, now: Instant) {
        if self.cooled(p, now) {
            self.count = 1;
        } else if self.count < p.burst {
            self.count += 1;
        }
        self.last = Some(now);
    }
}

/// The chat limiters of one session (one socket).
#[derive(Debug, Clone, Default)]
pub struct FloodGuard {
    floor: Limiter,
    channel: Limiter,
}

impl FloodGuard {
    /// A guard with nothing sent yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long to wait before the next message at `now` passes both limiters;
    /// `channel` is the channel antiflood when it applies to us.
    pub fn wait(&self, channel: Option<&Params>, now: Instant) -> Duration {
        let floor = self.floor.wait(&FLOOR, now);
        let chan = channel.map_or(Duration::ZERO, |p| self.channel.wait(p, now));
        floor.max(chan)
    }

    /// Records a message sent at `now`.
    pub fn record(&mut self, channel: Option<&Params>, now: Instant) {
        self.floor.record(&FLOOR, now);
        if let Some(p) = channel {
            self.channel.record(p, now);
        }
    }

    /// Treats both limiters as spent at `now`: the server said `cooldown`, so our model
    /// was out of step (another client on our IP, a restarted count…). From here on
    /// messages go at the sustained rate until a quiet spell resets the burst.
    pub fn saturate(&mut self, now: Instant) {
        for limiter in [&mut self.floor, &mut self.channel] {
            limiter.count = u32::MAX;
            limiter.last = Some(now);
        }
    }

    /// Waits until a message may go, then records it (tokio time).
    pub async fn acquire(&mut self, channel: Option<&Params>) {
        let wait = self.wait(channel, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        self.record(channel, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays CyTube's limiter (`newRateLimiter`) on arrival times in ms and says which
    /// messages it would drop.
    fn server_drops(times_ms: &[u64], p: &Params) -> Vec<bool> {
        let (mut count, mut last) = (0u32, None::<u64>);
        let cooldown = p.cooldown.as_millis() as u64;
        let interval = (1000.0 / p.sustained) as u64;
        times_ms
            .iter()
            .map(|&now| {
                if last.is_none_or(|l| l + cooldown < now) {
                    count = 1;
                    last = Some(now);
                    false
                } else if count < p.burst {
                    count += 1;
                    last = Some(now);
                    false
                } else if now - last.unwrap_or(0) < interval {
                    true
                } else {
                    last = Some(now);
                    false
                }
            })
            .collect()
    }

    async fn send_times(n: usize, channel: Option<Params>) -> Vec<u64> {
        let start = Instant::now();
        let mut guard = FloodGuard::new();
        let mut times = Vec::new();
        for _ in 0..n {
            guard.acquire(channel.as_ref()).await;
            times.push(start.elapsed().as_millis() as u64);
        }
        times
    }

    #[tokio::test(start_paused = true)]
    async fn the_floor_lets_twenty_through_then_paces_at_ten_per_second() {
        let times = send_times(40, None).await;
        assert!(times[..20].iter().all(|&t| t == 0), "{times:?}");
        assert!(times[20] >= 100 && times[39] >= 2000, "{times:?}");
        assert!(server_drops(&times, &FLOOR).iter().all(|d| !d));
    }

    #[tokio::test(start_paused = true)]
    async fn the_channel_antiflood_applies_when_given() {
        let p = Params::from_channel(&AntifloodParams::default());
        let times = send_times(10, Some(p)).await;
        assert!(times[..4].iter().all(|&t| t == 0), "{times:?}");
        assert!(times[4] >= 1000, "{times:?}");
        assert!(server_drops(&times, &p).iter().all(|d| !d));
        assert!(server_drops(&times, &FLOOR).iter().all(|d| !d));
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_spell_restores_the_burst() {
        let mut guard = FloodGuard::new();
        for _ in 0..20 {
            guard.acquire(None).await;
        }
        assert!(guard.wait(None, Instant::now()) > Duration::ZERO);
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(guard.wait(None, Instant::now()), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_cooldown_spends_the_burst() {
        let mut guard = FloodGuard::new();
        guard.saturate(Instant::now());
        let wait = guard.wait(None, Instant::now());
        assert_eq!(wait, Duration::from_millis(100) + SAFETY_MARGIN);
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(guard.wait(None, Instant::now()), Duration::ZERO);
    }

    #[test]
    fn the_server_model_matches_the_capture() {
        // s3: 24 messages in ~6 ms: 20 pass, 4 dropped with `cooldown 100`.
        let drops = server_drops(&[0; 24], &FLOOR);
        assert_eq!(drops.iter().filter(|d| **d).count(), 4);
        // Antiflood 4/1: af1–af4 pass, af5–af7 dropped, a message 1.2 s later passes.
        let p = Params::from_channel(&AntifloodParams::default());
        let drops = server_drops(&[0, 0, 0, 0, 0, 0, 1, 1200], &p);
        assert_eq!(
            drops,
            vec![false, false, false, false, true, true, true, false]
        );
    }

    #[test]
    fn odd_channel_params_are_clamped() {
        let p = Params::from_channel(&AntifloodParams {
            burst: f64::NAN,
            sustained: -1.0,
            cooldown: Some(f64::INFINITY),
        });
        assert_eq!(p.burst, 4);
        assert_eq!(p.sustained, 1.0);
    }
}
