//! A process-wide model of CyTube's per-IP connect bucket, so the bot never draws
//! `44 Rate limit exceeded` by itself.
//!
//! CyTube's `ipThrottleMiddleware` lets one IP open 5 sockets in a burst, then one per
//! 10 s (a token bucket, capacity 5, refill 0.1/s). Every session of every account in this
//! process shares our IP, so after a server restart a bot in eight channels would otherwise
//! reconnect all eight at once and lock three of them out. Each connect first *reserves* a
//! token from the bucket of its server (keyed by host and port, which on a real deployment
//! is one socket server per IP) and waits until that token exists; reservations queue in
//! order, so waits grow 10 s apart instead of colliding. A small margin absorbs the delay
//! between our clock and the server's.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

/// Sockets CyTube accepts from one IP in a burst.
pub const BURST: f64 = 5.0;
/// Tokens CyTube refills per second (one per 10 s).
pub const REFILL_PER_SEC: f64 = 0.1;
/// Added to every non-zero wait, for clock and network skew.
pub const MARGIN: Duration = Duration::from_millis(250);

/// One server's bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    /// A full bucket at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            tokens: BURST,
            updated: now,
        }
    }

    /// Takes one token at `now` (possibly one not refilled yet) and says how long to wait
    /// before using it.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * REFILL_PER_SEC).min(BURST);
        self.updated = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / REFILL_PER_SEC) + MARGIN
        }
    }
}

fn buckets() -> &'static Mutex<HashMap<String, Bucket>> {
    static BUCKETS: OnceLock<Mutex<HashMap<String, Bucket>>> = OnceLock::new();
    BUCKETS.get_or_init(Default::default)
}

/// Reserves a connect to the server at `url` and returns how long to wait before it.
pub fn reserve(url: &str) -> Duration {
    let key = server_key(url);
    let now = Instant::now();
    let mut map = buckets().lock().unwrap_or_else(|p| p.into_inner());
    map.entry(key)
        .or_insert_with(|| Bucket::new(now))
        .reserve(now)
}

/// `host:port` of a `ws(s)://` URL (the whole URL if it has no authority).
fn server_key(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn five_at_once_then_one_per_ten_seconds() {
        let mut bucket = Bucket::new(Instant::now());
        let waits: Vec<Duration> = (0..8).map(|_| bucket.reserve(Instant::now())).collect();
        assert!(waits[..5].iter().all(Duration::is_zero), "{waits:?}");
        assert_eq!(waits[5], Duration::from_secs(10) + MARGIN);
        assert_eq!(waits[6], Duration::from_secs(20) + MARGIN);
        assert_eq!(waits[7], Duration::from_secs(30) + MARGIN);
        // Two quiet minutes pay the 3 reserved ahead back and refill the burst, capped at 5.
        tokio::time::advance(Duration::from_secs(120)).await;
        let later: Vec<Duration> = (0..6).map(|_| bucket.reserve(Instant::now())).collect();
        assert_eq!(later.iter().filter(|w| w.is_zero()).count(), 5, "{later:?}");
        assert_eq!(later[5], Duration::from_secs(10) + MARGIN);
    }

    #[test]
    fn servers_are_keyed_by_host_and_port() {
        assert_eq!(
            server_key("wss://Cytu.be:10443/socket.io/?EIO=4&transport=websocket"),
            "cytu.be:10443"
        );
        assert_eq!(server_key("ws://127.0.0.1:1337"), "127.0.0.1:1337");
    }
}
