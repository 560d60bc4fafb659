//! Benchmarks of the client against the local fake Ollama:
//! - overhead per request: the client's time above the server's own (the fake records how
//!   long it spends between reading a request and finishing its answer);
//! - streamed chunks parsed per second, end to end (HTTP chunked body, framing, JSON) and
//!   for the line framer alone on 7-byte reads.

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use botkit::llm::LlmRequest;
use botkit_ollama::framing::LineFramer;
use botkit_ollama::{OllamaBackend, OllamaConfig};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use support::{Fake, Recorded, Script, ollama};

const STREAM_LINES: usize = 10_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn overhead(c: &mut Criterion) {
    let rt = runtime();
    let words = ["Hello", " there", "!"];
    let fake = rt.block_on(Fake::start(move |r| {
        ollama(r, &Script::new(&["m:latest"], &words))
    }));
    let backend = OllamaBackend::new(OllamaConfig::new(fake.url(), "m")).expect("config");
    let request = LlmRequest::prompt("hi");

    // Printed figure: mean client time minus the server's own time, over 2000 requests.
    rt.block_on(async {
        for _ in 0..100 {
            backend.chat(&request).await.expect("warm-up");
        }
        let served0 = fake.state.served.load(Ordering::SeqCst);
        let nanos0 = fake.state.server_nanos.load(Ordering::SeqCst);
        let n = 2000u32;
        let started = Instant::now();
        for _ in 0..n {
            black_box(backend.chat(&request).await.expect("chat"));
        }
        let total = started.elapsed() / n;
        let served = fake.state.served.load(Ordering::SeqCst) - served0;
        let server_nanos = fake.state.server_nanos.load(Ordering::SeqCst) - nanos0;
        let server = Duration::from_nanos(server_nanos / served.max(1) as u64);
        println!(
            "overhead: whole /api/chat round trip {total:?}, server's own {server:?}, client overhead {:?} per request",
            total.saturating_sub(server)
        );
    });

    let mut group = c.benchmark_group("request");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("whole chat round trip", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(backend.chat(&request).await.expect("chat")) });
    });
    group.bench_function("streamed chat round trip (3 chunks)", |b| {
        b.to_async(&rt).iter(|| async {
            let mut stream = backend.chat_stream(&request).await.expect("stream");
            while let Some(chunk) = stream.next().await {
                black_box(chunk.expect("chunk"));
            }
        });
    });
    group.finish();
}

fn streamed_chunks(c: &mut Criterion) {
    let rt = runtime();
    let words: Vec<String> = (0..STREAM_LINES).map(|i| format!(" w{i}")).collect();
    let word_refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let script = Script::new(&["m:latest"], &word_refs);
    // Built once, so the server's own time is only writing. 16 KiB reads: several lines
    // per read, lines split across reads.
    let asked = Recorded {
        method: "POST".into(),
        path: "/api/chat".into(),
        body: serde_json::json!({"model": "m", "stream": true}),
        headers: Vec::new(),
    };
    let reply = ollama(&asked, &script).split_every(16 * 1024);
    let fake = rt.block_on(Fake::start(move |_| reply.clone()));
    let backend = OllamaBackend::new(OllamaConfig::new(fake.url(), "m")).expect("config");
    let request = LlmRequest::prompt("hi");
    let run = || async {
        let mut stream = backend.chat_stream(&request).await.expect("stream");
        let mut n = 0usize;
        while let Some(chunk) = stream.next().await {
            black_box(chunk.expect("chunk"));
            n += 1;
        }
        assert_eq!(n, STREAM_LINES);
    };
    rt.block_on(async {
        run().await;
        let started = Instant::now();
        for _ in 0..5 {
            run().await;
        }
        let per_sec = (5 * STREAM_LINES) as f64 / started.elapsed().as_secs_f64();
        println!("streamed chunks parsed end to end: {per_sec:.0} chunks/s");
    });

    let mut group = c.benchmark_group("stream");
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(10);
    group.throughput(Throughput::Elements(STREAM_LINES as u64));
    group.bench_function("ndjson chat stream end to end (10k chunks)", |b| {
        b.to_async(&rt).iter(run);
    });

    let body: Vec<u8> = (0..STREAM_LINES)
        .map(|i| {
            format!(
                "{{\"model\":\"m\",\"created_at\":\"2023-08-04T08:52:19.385406455-07:00\",\"message\":{{\"role\":\"assistant\",\"content\":\" w{i}\"}},\"done\":false}}\n"
            )
        })
        .collect::<String>()
        .into_bytes();
    group.bench_function("line framer, 7-byte reads (10k lines)", |b| {
        b.iter(|| {
            let mut framer = LineFramer::new();
            let mut lines = 0usize;
            for read in body.chunks(7) {
                framer.push(read).expect("push");
                while let Some(line) = framer.next_line().expect("line") {
                    black_box(line);
                    lines += 1;
                }
            }
            assert_eq!(lines, STREAM_LINES);
        });
    });
    group.finish();
}

criterion_group!(benches, overhead, streamed_chunks);
criterion_main!(benches);
