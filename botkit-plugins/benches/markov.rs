//! Markov speed: words learned per second and the latency of generating one line, on a
//! synthetic chat corpus (seeded, so runs compare).

use std::hint::black_box;
use std::time::{Duration, Instant};

use botkit_plugins::markov::Chain;
use criterion::{Criterion, Throughput};

fn corpus(lines: usize) -> Vec<String> {
    let vocab: Vec<String> = (0..2000).map(|i| format!("w{i}")).collect();
    let mut rng = fastrand::Rng::with_seed(7);
    (0..lines)
        .map(|_| {
            let n = rng.usize(3..15);
            (0..n)
                .map(|_| vocab[rng.usize(0..vocab.len())].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn main() {
    let lines = corpus(5000);
    let words: u64 = lines.iter().map(|l| l.split(' ').count() as u64).sum();
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(10);
    for order in 1..=3 {
        let mut group = c.benchmark_group(format!("markov/order{order}"));
        group.throughput(Throughput::Elements(words));
        group.bench_function("learn 5000 lines", |b| {
            b.iter(|| {
                let mut chain = Chain::new(order);
                for line in &lines {
                    chain.learn(line);
                }
                black_box(chain.lines())
            })
        });
        let mut chain = Chain::new(order);
        for line in &lines {
            chain.learn(line);
        }
        group.finish();
        let mut group = c.benchmark_group(format!("markov/order{order}"));
        let mut rng = fastrand::Rng::with_seed(1);
        group.bench_function("generate 30 words", |b| {
            b.iter(|| black_box(chain.generate(&[], 30, &mut rng)))
        });
        group.finish();

        // Plain figures too, for the report.
        let t = Instant::now();
        let mut fresh = Chain::new(order);
        for line in &lines {
            fresh.learn(line);
        }
        let learn = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for _ in 0..1000 {
            black_box(fresh.generate(&[], 30, &mut rng));
        }
        let gen_us = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "order {order}: learned {:.0} words/s; generation {gen_us:.1} µs per line",
            words as f64 / learn
        );
    }
    c.final_summary();
}
