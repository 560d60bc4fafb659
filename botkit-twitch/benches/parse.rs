//! Parsing the IRC corpus: this crate against the `twitch-irc` and `tmi` crates.
//!
//! Two corpora: the 375 lines of `tests/data/irc-vectors.jsonl` (a mix of every command,
//! escapes, emotes and malformed lines) and the same repeated 40 times, so caches and
//! branch predictors see a steady stream as in a busy chat. Each parser runs at the layer
//! it is compared at:
//!
//! - **typed**: our `ServerMessage::parse` (IRC layer + one-pass typed command) against
//!   twitch-irc's `IRCMessage::parse` + `ServerMessage::try_from`, the like-for-like
//!   comparison (target: at least 5× faster);
//! - **irc**: our `IrcMessage::parse` against tmi's `IrcMessageRef::parse`, both raw
//!   IRC splitters (target: at least as fast). tmi's splitter does not validate the
//!   line; ours does.
//!
//! Criterion reports each case; afterwards a short, separate timing prints lines per
//! second and the two ratios.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};

fn corpus() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/irc-vectors.jsonl");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["raw"].as_str().map(str::to_owned))
        .collect()
}

fn ours_typed(lines: &[String]) {
    for line in lines {
        let _ = black_box(botkit_twitch::ServerMessage::parse(black_box(line)));
    }
}

fn ours_irc(lines: &[String]) {
    for line in lines {
        let _ = black_box(botkit_twitch::IrcMessage::parse(black_box(line)));
    }
}

fn twitch_irc_typed(lines: &[String]) {
    use twitch_irc::message::{IRCMessage, ServerMessage};
    for line in lines {
        let parsed = IRCMessage::parse(black_box(line)).map(ServerMessage::try_from);
        let _ = black_box(parsed);
    }
}

fn tmi_irc(lines: &[String]) {
    for line in lines {
        let _ = black_box(tmi::IrcMessageRef::parse(black_box(line)));
    }
}

type Parser = fn(&[String]);

const PARSERS: [(&str, Parser); 4] = [
    ("botkit-twitch typed", ours_typed),
    ("twitch-irc typed", twitch_irc_typed),
    ("botkit-twitch irc", ours_irc),
    ("tmi irc", tmi_irc),
];

/// Lines per second of `parse` over `lines`: best of five runs of ~0.3 s each.
fn lines_per_sec(parse: Parser, lines: &[String]) -> f64 {
    let mut best = 0.0f64;
    for _ in 0..5 {
        let start = Instant::now();
        let mut n = 0usize;
        while start.elapsed() < Duration::from_millis(300) {
            parse(lines);
            n += lines.len();
        }
        best = best.max(n as f64 / start.elapsed().as_secs_f64());
    }
    best
}

fn main() {
    let small = corpus();
    if small.is_empty() {
        eprintln!("tests/data/irc-vectors.jsonl is missing or empty; nothing to measure");
        return;
    }
    let large: Vec<String> = small
        .iter()
        .cycle()
        .take(small.len() * 40)
        .cloned()
        .collect();

    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    for (label, lines) in [("corpus", &small), ("corpus x40", &large)] {
        let mut group = c.benchmark_group(format!("parse {label}"));
        group.throughput(Throughput::Elements(lines.len() as u64));
        for (name, parse) in PARSERS {
            group.bench_function(name, |b| b.iter(|| parse(lines)));
        }
        group.finish();
    }
    c.final_summary();

    for (label, lines) in [("corpus", &small), ("corpus x40", &large)] {
        println!("\n{label} ({} lines):", lines.len());
        let rates: Vec<f64> = PARSERS
            .iter()
            .map(|(name, parse)| {
                let rate = lines_per_sec(*parse, lines);
                println!("  {name:<22} {:>12.0} lines/s", rate);
                rate
            })
            .collect();
        if let [ours_typed, twitch_irc, ours_irc, tmi] = rates[..] {
            println!(
                "  typed: botkit-twitch / twitch-irc = {:.1}x (target >= 5x)",
                ours_typed / twitch_irc
            );
            println!(
                "  irc:   botkit-twitch / tmi        = {:.2}x (target >= 1x)",
                ours_irc / tmi
            );
        }
    }
}
