//! The parser never panics, whatever arrives from the network.
//!
//! Arbitrary bytes (decoded lossily, as the session decodes a socket) mostly die at the
//! first check, so a second strategy builds lines from IRC's own alphabet — `@`, `:`,
//! `;`, `=`, `\`, `#`, `!`, spaces, digits, letters, `\x01ACTION` and multi-byte
//! characters — which reaches every branch of the tag, prefix, parameter, emote and
//! ACTION code. Every accessor is exercised on whatever parses.

use botkit_twitch::irc::commands::ServerMessage;
use botkit_twitch::irc::{IrcMessage, emotes, tags};
use proptest::prelude::*;

fn exercise(line: &str) {
    let Ok(msg) = IrcMessage::parse(line) else {
        return;
    };
    let _ = msg.command().name();
    let _ = msg.params().count();
    let _ = msg.last_param();
    let _ = msg.channel_login();
    let _ = msg.sender_login();
    let text = msg.text();
    for (k, v) in msg.tags() {
        let _ = (k, v.unescape(), v.as_u64());
    }
    if let Some(tag) = msg.tag("emotes") {
        let _ = emotes::parse(tag.raw(), text.map_or("", |t| t.0));
    }
    if let Ok(typed) = ServerMessage::try_from(msg) {
        let _ = format!("{typed:?}");
        if let ServerMessage::Privmsg(p) = &typed {
            let _ = p.emotes();
        }
    }
}

fn irc_alphabet() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "@",
        ":",
        ";",
        "=",
        "\\",
        "\\s",
        "#",
        "!",
        " ",
        "  ",
        "/",
        ",",
        "-",
        "0",
        "7",
        "42",
        "a",
        "Z",
        "emotes=",
        "25:0-4",
        "1-",
        "PRIVMSG",
        "privmsg",
        "CLEARCHAT",
        "NOTICE",
        "USERNOTICE",
        "ROOMSTATE",
        "WHISPER",
        "JOIN",
        "CAP",
        "PING",
        "001",
        "\u{1}ACTION ",
        "\u{1}",
        "é",
        "👉",
        "테",
        "\r",
        "\n",
        "ban-duration=",
        "followers-only=",
        "bits=",
        "msg-id=",
        "tmi-sent-ts=",
        "login=",
        "user-id=",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let line = String::from_utf8_lossy(&bytes);
        exercise(&line);
    }

    #[test]
    fn irc_shaped_lines_never_panic(line in irc_alphabet()) {
        exercise(&line);
    }

    #[test]
    fn emote_ranges_never_panic(tag in "[0-9a-z_:,/-]{0,40}", text in "\\PC{0,40}") {
        let _ = emotes::parse(&tag, &text);
    }

    #[test]
    fn escaping_round_trips(value in "\\PC{0,60}") {
        let escaped = tags::escape(&value);
        prop_assert_eq!(tags::unescape(&escaped), value.as_str());
    }
}
