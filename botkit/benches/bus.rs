//! Benchmarks of the event bus: publish cost, delivered events per second, matching cost
//! with many subscriptions, and fan-out against `tokio::sync::broadcast`.
//!
//! Besides criterion's own report, each group prints the figures the bus is held to
//! (publish median/p99, events/s, fan-out ratio) so a run's output can be pasted as is.

#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use botkit::bus::{Bus, BusConfig, Subscriber, Subscription};
use botkit::{Event, Pattern, Payload, Source, Topic};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio::sync::broadcast;

fn event(topic: &str) -> Arc<Event> {
    Arc::new(Event::new(
        Topic::new(topic).expect("valid topic"),
        Source::new("twitch", "main", Some("#chan")),
        Payload::Lifecycle("bench".into()),
    ))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn empty(sub: &mut Subscriber) {
    while sub.try_recv().is_some() {}
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Publish cost with one subscriber and a warm route cache.
fn publish(c: &mut Criterion) {
    const CHUNK: u64 = 4096;
    let bus = Bus::new(BusConfig::default().with_default_capacity(1 << 17));
    let mut sub = bus
        .subscribe(Subscription::to("platform.*.chat.message"))
        .unwrap();
    let ev = event("platform.twitch.chat.message");

    // Manual figures: 100k individually timed publishes, queue emptied between batches.
    let mut samples = Vec::with_capacity(100_000);
    for _ in 0..10 {
        for _ in 0..10_000 {
            let start = Instant::now();
            black_box(bus.publish(Arc::clone(&ev)).unwrap());
            samples.push(start.elapsed());
        }
        empty(&mut sub);
    }
    samples.sort_unstable();
    println!(
        "publish, 1 subscriber, cache hit: median {:?}, p99 {:?}, max {:?} (over {} publishes, Instant overhead included)",
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples[samples.len() - 1],
        samples.len()
    );

    let mut group = c.benchmark_group("publish");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_subscriber_cache_hit", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(CHUNK);
                let start = Instant::now();
                for _ in 0..n {
                    black_box(bus.publish(Arc::clone(&ev)).unwrap());
                }
                total += start.elapsed();
                empty(&mut sub);
                left -= n;
            }
            total
        });
    });
    group.finish();
}

/// Publishes `n` events and waits until every counter reached its share.
fn publish_and_wait(bus: &Bus, ev: &Arc<Event>, n: u64, counters: &[Arc<AtomicU64>]) -> Duration {
    let targets: Vec<u64> = counters
        .iter()
        .map(|c| c.load(Ordering::Acquire) + n)
        .collect();
    let start = Instant::now();
    for _ in 0..n {
        bus.publish(Arc::clone(ev)).unwrap();
    }
    for (c, t) in counters.iter().zip(&targets) {
        while c.load(Ordering::Acquire) < *t {
            std::thread::yield_now();
        }
    }
    start.elapsed()
}

/// Subscribes `subs` handlers (sequential dispatchers) that count what they get.
fn handler_bus(
    rt: &tokio::runtime::Runtime,
    subs: usize,
    capacity: usize,
) -> (Bus, Vec<Arc<AtomicU64>>) {
    let bus = Bus::new(BusConfig::default().with_default_capacity(capacity));
    let _guard = rt.enter();
    let counters = (0..subs)
        .map(|_| {
            let count = Arc::new(AtomicU64::new(0));
            let c = Arc::clone(&count);
            bus.subscribe_with(Subscription::to("platform.*.chat.message"), move |_| {
                c.fetch_add(1, Ordering::Release);
                async {}
            })
            .unwrap();
            count
        })
        .collect();
    (bus, counters)
}

/// Subscribes `subs` pull subscribers read by tasks that count what they get.
fn pull_bus(
    rt: &tokio::runtime::Runtime,
    subs: usize,
    capacity: usize,
) -> (Bus, Vec<Arc<AtomicU64>>) {
    let bus = Bus::new(BusConfig::default().with_default_capacity(capacity));
    let counters = (0..subs)
        .map(|_| {
            let count = Arc::new(AtomicU64::new(0));
            let c = Arc::clone(&count);
            let mut sub = bus
                .subscribe(Subscription::to("platform.*.chat.message"))
                .unwrap();
            rt.spawn(async move {
                while sub.recv().await.is_some() {
                    c.fetch_add(1, Ordering::Release);
                }
            });
            count
        })
        .collect();
    (bus, counters)
}

/// Broadcast receivers read by tasks that count what they get.
fn broadcast_fanout(
    rt: &tokio::runtime::Runtime,
    subs: usize,
    capacity: usize,
) -> (broadcast::Sender<Arc<Event>>, Vec<Arc<AtomicU64>>) {
    let (tx, _) = broadcast::channel::<Arc<Event>>(capacity);
    let counters = (0..subs)
        .map(|_| {
            let count = Arc::new(AtomicU64::new(0));
            let c = Arc::clone(&count);
            let mut rx = tx.subscribe();
            rt.spawn(async move {
                while rx.recv().await.is_ok() {
                    c.fetch_add(1, Ordering::Release);
                }
            });
            count
        })
        .collect();
    (tx, counters)
}

fn broadcast_and_wait(
    tx: &broadcast::Sender<Arc<Event>>,
    ev: &Arc<Event>,
    n: u64,
    counters: &[Arc<AtomicU64>],
) -> Duration {
    let targets: Vec<u64> = counters
        .iter()
        .map(|c| c.load(Ordering::Acquire) + n)
        .collect();
    let start = Instant::now();
    for _ in 0..n {
        tx.send(Arc::clone(ev)).unwrap();
    }
    for (c, t) in counters.iter().zip(&targets) {
        while c.load(Ordering::Acquire) < *t {
            std::thread::yield_now();
        }
    }
    start.elapsed()
}

/// Events per second delivered to handlers, for 1, 10 and 100 subscribers.
fn delivery(c: &mut Criterion) {
    const N: u64 = 10_000;
    let rt = runtime();
    let ev = event("platform.twitch.chat.message");
    let mut group = c.benchmark_group("delivered");
    for subs in [1usize, 10, 100] {
        let (bus, counters) = handler_bus(&rt, subs, N as usize);
        // Manual figure: best of a few rounds of N events.
        let best = (0..5)
            .map(|_| publish_and_wait(&bus, &ev, N, &counters))
            .min()
            .unwrap_or_default();
        println!(
            "delivered to {subs} handler subscriber(s): {:.0} events/s ({} deliveries in {:?})",
            (N * subs as u64) as f64 / best.as_secs_f64(),
            N * subs as u64,
            best
        );
        group.throughput(Throughput::Elements(N * subs as u64));
        group.bench_with_input(BenchmarkId::new("handlers", subs), &subs, |b, _| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| publish_and_wait(&bus, &ev, N, &counters))
                    .sum()
            });
        });
        bus.close();
    }
    group.finish();
}

/// Route lookup cost with 10, 1,000 and 10,000 distinct subscriptions.
fn matching(c: &mut Criterion) {
    let mut group = c.benchmark_group("matching");
    let topic = Topic::new("platform.p1.chat.message").unwrap();
    for n in [10usize, 1_000, 10_000] {
        let patterns: Vec<String> = (0..n)
            .map(|i| match i % 4 {
                0 => format!("platform.p{i}.chat.message"),
                1 => format!("platform.p{i}.*.message"),
                2 => format!("platform.p{i}.>"),
                _ => format!("platform.*.chat.m{i}"),
            })
            .collect();
        let cached = Bus::default();
        let uncached = Bus::new(BusConfig::default().with_route_cache_capacity(0));
        let _subs: Vec<Subscriber> = patterns
            .iter()
            .flat_map(|p| {
                [
                    cached.subscribe(Subscription::to(p)).unwrap(),
                    uncached.subscribe(Subscription::to(p)).unwrap(),
                ]
            })
            .collect();
        assert!(cached.has_subscribers(&topic) && uncached.has_subscribers(&topic));
        let parsed: Vec<Pattern> = patterns.iter().map(|p| Pattern::new(p).unwrap()).collect();

        group.bench_with_input(BenchmarkId::new("cache_hit", n), &n, |b, _| {
            b.iter(|| black_box(cached.has_subscribers(black_box(&topic))));
        });
        group.bench_with_input(BenchmarkId::new("cache_miss_trie", n), &n, |b, _| {
            b.iter(|| black_box(uncached.has_subscribers(black_box(&topic))));
        });
        group.bench_with_input(BenchmarkId::new("naive_scan_reference", n), &n, |b, _| {
            b.iter(|| {
                black_box(
                    parsed
                        .iter()
                        .filter(|p| p.matches(black_box(topic.as_str())))
                        .count(),
                )
            });
        });
    }
    group.finish();
}

/// Fan-out to 10 subscribers: botkit (pull subscribers and handlers) against
/// `tokio::sync::broadcast`, in the same run.
fn fanout(c: &mut Criterion) {
    const N: u64 = 10_000;
    const SUBS: usize = 10;
    let rt = runtime();
    let ev = event("platform.twitch.chat.message");
    let (pull, pull_counters) = pull_bus(&rt, SUBS, N as usize);
    let (handlers, handler_counters) = handler_bus(&rt, SUBS, N as usize);
    let (tx, bc_counters) = broadcast_fanout(&rt, SUBS, N as usize);

    // Manual figures: median of interleaved rounds, so machine noise hits all three alike.
    let (mut t_pull, mut t_handlers, mut t_bc) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..15 {
        t_bc.push(broadcast_and_wait(&tx, &ev, N, &bc_counters));
        t_pull.push(publish_and_wait(&pull, &ev, N, &pull_counters));
        t_handlers.push(publish_and_wait(&handlers, &ev, N, &handler_counters));
    }
    for t in [&mut t_pull, &mut t_handlers, &mut t_bc] {
        t.sort_unstable();
    }
    let (m_pull, m_handlers, m_bc) = (
        percentile(&t_pull, 0.5),
        percentile(&t_handlers, 0.5),
        percentile(&t_bc, 0.5),
    );
    let rate = |d: Duration| (N * SUBS as u64) as f64 / d.as_secs_f64();
    println!(
        "fanout at {SUBS} subs, {N} events: broadcast {:?} ({:.0}/s), botkit pull {:?} ({:.0}/s), botkit handlers {:?} ({:.0}/s)",
        m_bc,
        rate(m_bc),
        m_pull,
        rate(m_pull),
        m_handlers,
        rate(m_handlers)
    );
    println!(
        "fanout ratio botkit/broadcast at 10 subs: {:.2}x",
        m_pull.as_secs_f64() / m_bc.as_secs_f64()
    );
    println!(
        "fanout ratio botkit handlers/broadcast at 10 subs: {:.2}x",
        m_handlers.as_secs_f64() / m_bc.as_secs_f64()
    );

    let mut group = c.benchmark_group("fanout10");
    group.throughput(Throughput::Elements(N * SUBS as u64));
    group.bench_function("tokio_broadcast", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| broadcast_and_wait(&tx, &ev, N, &bc_counters))
                .sum()
        });
    });
    group.bench_function("botkit_pull", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| publish_and_wait(&pull, &ev, N, &pull_counters))
                .sum()
        });
    });
    group.bench_function("botkit_handlers", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| publish_and_wait(&handlers, &ev, N, &handler_counters))
                .sum()
        });
    });
    group.finish();
    pull.close();
    handlers.close();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = publish, delivery, matching, fanout
}
criterion_main!(benches);
