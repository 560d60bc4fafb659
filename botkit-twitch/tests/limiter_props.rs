//! The outgoing limits the platform declares never let more through than Twitch allows.
//!
//! Random bursts of sends into random channels, at random paused-clock times, go through
//! the platform's shared limiter exactly as botkit's outgoing path uses it
//! (`try_acquire` per message), with the bot moderator in some channels. Whatever the
//! pattern, no 30-second window holds more than 100 messages in all nor more than 20 in
//! the channels where the bot is an ordinary user, and no such channel gets two messages
//! within one second.

use std::time::Duration;

use botkit::Platform;
use botkit_twitch::platform::{DEFAULT_LIMIT, LIMIT_WINDOW, PRIVILEGED_LIMIT};
use botkit_twitch::{TwitchConfig, TwitchPlatform};
use proptest::prelude::*;
use tokio::time::Instant;

fn max_in_window(times: &[Instant], window: Duration) -> usize {
    let mut sorted = times.to_vec();
    sorted.sort();
    let mut best = 0;
    let mut start = 0;
    for end in 0..sorted.len() {
        while sorted[end] - sorted[start] >= window {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn never_more_than_the_limit(
        steps in prop::collection::vec((0u64..3_000, 0usize..3, 1usize..12), 1..160),
        modded in prop::collection::vec(any::<bool>(), 3),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime");
        let (sent, per_channel) = runtime.block_on(async {
            let platform = TwitchPlatform::new("t", TwitchConfig::default()).expect("config");
            let caps = platform.capabilities();
            let limiter = caps.shared_limiter.expect("a shared limiter");
            for (name, m) in ["a", "b", "c"].iter().zip(&modded) {
                limiter.set_channel_exempt(name, *m);
            }
            let mut sent = Vec::new();
            let mut per_channel: [Vec<Instant>; 3] = Default::default();
            for (gap_ms, channel, burst) in steps {
                tokio::time::advance(Duration::from_millis(gap_ms)).await;
                let name = ["a", "b", "c"][channel];
                for _ in 0..burst {
                    if limiter.try_acquire(Some(name)).is_ok() {
                        sent.push(Instant::now());
                        per_channel[channel].push(Instant::now());
                    }
                }
            }
            (sent, per_channel)
        });
        prop_assert!(max_in_window(&sent, LIMIT_WINDOW) <= PRIVILEGED_LIMIT as usize);
        let ordinary: Vec<Instant> = per_channel
            .iter()
            .zip(&modded)
            .filter(|(_, m)| !**m)
            .flat_map(|(times, _)| times.iter().copied())
            .collect();
        prop_assert!(max_in_window(&ordinary, LIMIT_WINDOW) <= DEFAULT_LIMIT as usize);
        for (times, m) in per_channel.iter().zip(&modded) {
            if !m {
                prop_assert!(max_in_window(times, Duration::from_secs(1)) <= 1);
            }
        }
    }
}
