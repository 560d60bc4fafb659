//! Frames decoded per second, on the frames recorded from a real CyTube 3.86 server.
//!
//! Three stages are measured over every verbatim server frame of the capture: the
//! Engine.IO/Socket.IO codec alone, codec + typed event decoding, and the whole inbound
//! path up to normalized payloads (codec, typed event, state fold, normalization).

use std::hint::black_box;
use std::time::Duration;

use botkit_cytube::capture::{self, Direction};
use botkit_cytube::{Frame, Normalizer, ServerEvent, SocketPacket};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn server_frames() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/frames.txt");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    capture::frames(&text)
        .into_iter()
        .filter(|f| f.direction == Direction::FromServer && !f.narrated && !f.truncated)
        .map(|f| f.text.to_owned())
        .collect()
}

fn bench(c: &mut Criterion) {
    let frames = server_frames();
    let bytes: usize = frames.iter().map(String::len).sum();
    println!("capture: {} server frames, {bytes} bytes", frames.len());
    let mut group = c.benchmark_group("cytube_decode");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(20)
        .throughput(Throughput::Elements(frames.len() as u64));

    group.bench_function("codec", |b| {
        b.iter(|| {
            for f in &frames {
                let _ = black_box(Frame::decode(black_box(f)));
            }
        })
    });

    group.bench_function("codec+typed", |b| {
        b.iter(|| {
            for f in &frames {
                if let Ok(Frame::Message(SocketPacket::Event { name, args, .. })) = Frame::decode(f)
                {
                    let _ = black_box(ServerEvent::decode(&name, &args));
                }
            }
        })
    });

    group.bench_function("codec+typed+normalized", |b| {
        b.iter(|| {
            let mut normalizer = Normalizer::new();
            normalizer.join_started();
            for f in &frames {
                if let Ok(Frame::Message(SocketPacket::Event { name, args, .. })) = Frame::decode(f)
                    && let Ok(event) = ServerEvent::decode(&name, &args)
                {
                    black_box(normalizer.handle(&event));
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
