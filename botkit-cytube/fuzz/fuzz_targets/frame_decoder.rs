//! Arbitrary bytes through everything a websocket text frame meets before the bus: the
//! Engine.IO/Socket.IO codec, the typed CyTube event decoder, the channel-state fold and
//! the normalizer. None of them may panic; errors are the expected answer to garbage.
//! (The proptests in `src/codec.rs` cover the codec on every `cargo test`; this goes
//! deeper, with coverage guidance, when someone runs it.)
#![no_main]

use botkit_cytube::normalize::snapshot_payload;
use botkit_cytube::{Frame, Normalizer, ServerEvent, SocketPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Websocket text frames are UTF-8; tungstenite refuses anything else before us.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut normalizer = Normalizer::new();
    normalizer.join_started();
    // Several frames per input (one per line) so state-dependent paths are reached.
    for line in text.split('\n') {
        let Ok(frame) = Frame::decode(line) else {
            continue;
        };
        let _ = frame.encode();
        if let Frame::Message(SocketPacket::Event { name, args, .. }) = frame
            && let Ok(event) = ServerEvent::decode(&name, &args)
        {
            let _ = normalizer.handle(&event);
        }
    }
    // Serializing the state (what `channel.state` publishes) must not panic either.
    let _ = snapshot_payload(normalizer.state());
});
