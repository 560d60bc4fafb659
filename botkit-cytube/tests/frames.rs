//! The codec (and, further down, the event decoder) run over every frame recorded on a
//! real CyTube 3.86 server; the results are insta snapshots.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use botkit_cytube::capture::{self, Direction};
use botkit_cytube::{Frame, SocketPacket};

fn capture_text() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/frames.txt");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_copy_matches_the_shared_capture_when_present() {
    let shared =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocols/cytube/frames.txt");
    match std::fs::read_to_string(&shared) {
        Ok(text) => assert_eq!(
            text,
            capture_text(),
            "tests/data/frames.txt differs from {}; copy it again",
            shared.display()
        ),
        Err(_) => println!("skipped: {} not present", shared.display()),
    }
}

fn describe(frame: &Frame) -> String {
    match frame {
        Frame::Message(SocketPacket::Event {
            namespace,
            ack_id,
            name,
            args,
        }) => {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            format!(
                "event ns={namespace} ack={ack_id:?} name={name} args=[{}]",
                args.join(", ")
            )
        }
        other => format!("{other:?}"),
    }
}

/// Every distinct verbatim frame of the capture, decoded. Server frames must all decode,
/// except the lines the capture itself shortened.
#[test]
fn every_captured_frame_decodes() {
    let text = capture_text();
    let frames = capture::frames(&text);
    assert!(frames.len() > 900, "only {} frames found", frames.len());
    let mut seen = BTreeSet::new();
    let mut out = String::new();
    let mut server_frames = 0;
    for f in frames.iter().filter(|f| !f.narrated) {
        let decoded = Frame::decode(f.text);
        if f.direction == Direction::FromServer {
            server_frames += 1;
            assert!(
                decoded.is_ok() || f.truncated,
                "{} {}: {} -> {decoded:?}",
                f.section,
                f.client,
                f.text
            );
        }
        if !seen.insert((f.direction, f.text)) {
            continue;
        }
        let dir = match f.direction {
            Direction::FromServer => "<<",
            Direction::FromClient => ">>",
        };
        let shown: String = f.text.chars().take(160).collect();
        let result = match &decoded {
            Ok(frame) => describe(frame).chars().take(240).collect::<String>(),
            Err(e) => format!("ERROR {e}"),
        };
        let _ = writeln!(out, "{dir} {shown}\n   => {result}");
    }
    assert!(server_frames > 700);
    insta::assert_snapshot!("captured_frames", out);
}

/// Re-encoding a decoded frame gives a frame that decodes to the same value.
#[test]
fn captured_frames_round_trip() {
    let text = capture_text();
    for f in capture::frames(&text).iter().filter(|f| !f.narrated) {
        if let Ok(frame) = Frame::decode(f.text) {
            assert_eq!(
                Frame::decode(&frame.encode()).as_ref(),
                Ok(&frame),
                "{}",
                f.text
            );
        }
    }
}
