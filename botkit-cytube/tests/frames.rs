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

mod events {
    use std::collections::{BTreeSet, HashMap};
    use std::fmt::Write as _;

    use botkit_cytube::capture::{self, Direction};
    use botkit_cytube::{Frame, Normalizer, ServerEvent, SocketPacket};

    fn short(s: &str, n: usize) -> String {
        let mut out: String = s.chars().take(n).collect();
        if s.chars().count() > n {
            out.push('…');
        }
        out
    }

    /// Replays every client's frames through the event decoder and the normalizer, the way
    /// a session does (a `joinChannel` we send starts the join backlog).
    fn replay(text: &str) -> (String, HashMap<(String, String), Normalizer>) {
        let mut sessions: HashMap<(String, String), Normalizer> = HashMap::new();
        let mut seen = BTreeSet::new();
        let mut out = String::new();
        for f in capture::frames(text).iter().filter(|f| !f.narrated) {
            let session = sessions
                .entry((f.section.to_owned(), f.client.to_owned()))
                .or_default();
            let Ok(Frame::Message(SocketPacket::Event { name, args, .. })) = Frame::decode(f.text)
            else {
                continue;
            };
            if f.direction == Direction::FromClient {
                if name == "joinChannel" {
                    session.join_started();
                }
                continue;
            }
            let typed = ServerEvent::decode(&name, &args);
            let (typed_line, normalized) = match &typed {
                Ok(ev) => {
                    let out: Vec<String> = session
                        .handle(ev)
                        .into_iter()
                        .map(|n| {
                            let payload = serde_json::to_string(&n.payload).unwrap_or_default();
                            format!("{} {:?} {}", n.kind, n.priority, short(&payload, 300))
                        })
                        .collect();
                    (short(&format!("{ev:?}"), 300), out.join("\n   -> "))
                }
                Err(e) => (format!("ERROR {e}"), String::new()),
            };
            if seen.insert((f.text.to_owned(), normalized.clone())) {
                let _ = writeln!(
                    out,
                    "<< {}\n   == {typed_line}\n   -> {normalized}",
                    short(f.text, 160)
                );
            }
        }
        (out, sessions)
    }

    #[test]
    fn every_captured_server_event_decodes_and_normalizes() {
        let text = super::capture_text();
        let (out, _) = replay(&text);
        assert!(!out.contains("ERROR"), "some events failed to decode");
        insta::assert_snapshot!("captured_events", out);
    }

    #[test]
    fn join_backlog_is_history_and_live_chat_is_not() {
        let text = super::capture_text();
        let (out, _) = replay(&text);
        // s4's owner joins after the flood test: the replayed `f11` is history…
        assert!(out.contains(r#""text":"f11","is_action":false,"is_history":true"#));
        // …while the live copy seen during the flood test is not.
        assert!(out.contains(r#""text":"f11","is_action":false,"is_history":false"#));
    }

    #[test]
    fn channel_state_after_the_owner_session() {
        let text = super::capture_text();
        let (_, sessions) = replay(&text);
        let owner = sessions
            .get(&("s2_owner".to_owned(), "owner".to_owned()))
            .expect("s2 owner session");
        insta::assert_snapshot!(
            "state_s2_owner",
            serde_json::to_string_pretty(owner.state()).unwrap_or_default()
        );
        let alice = sessions
            .get(&("s1_guest".to_owned(), "alice".to_owned()))
            .expect("s1 alice session");
        let state = alice.state();
        assert_eq!(state.me.as_deref(), Some("alice_guest"));
        assert_eq!(state.my_rank, 0.0);
        // bob left; alice is back from AFK
        assert_eq!(state.users.len(), 1);
        assert!(
            !state
                .user("ALICE_GUEST")
                .map(|u| u.meta.afk)
                .unwrap_or(true)
        );
        insta::assert_snapshot!(
            "state_s1_alice",
            serde_json::to_string_pretty(state).unwrap_or_default()
        );
    }
}
