//! Writing chat lines: PRIVMSG formatting, replies and the 30-second duplicate rule.
//!
//! Rate limits and splitting happen before this, in botkit's outgoing path (the
//! platform's [`Capabilities`](botkit::Capabilities) carry them), so what arrives here is
//! one message of at most 500 characters. Two Twitch rules remain:
//!
//! - **Replies** are a tag on the PRIVMSG: `@reply-parent-msg-id=<id> PRIVMSG #c :text`.
//! - **Duplicates**: Twitch silently drops (`msg_duplicate`) a message identical to the
//!   previous one the bot sent in that channel less than 30 s ago, comparing after
//!   trimming and merging spaces; moderators, VIPs and the broadcaster are exempt. The
//!   usual fix (pajbot, dank-twitch-irc's AlternateMessageModifier) alternates an
//!   invisible suffix `" \u{E0000}"` on repeats, which [`DuplicateGuard`] does. When the
//!   suffix would push a message past 500 characters, its last character is dropped
//!   instead, which makes it differ just as well.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::irc::tags::escape;

/// Twitch's maximum message length, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// How long Twitch remembers the last message for the duplicate rule.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(30);

/// The invisible suffix that makes a repeated message differ.
pub const DUPLICATE_SUFFIX: &str = " \u{E0000}";

/// A `PRIVMSG` line (without CRLF). CR and LF in `text` become spaces, since a line
/// break would end the command and start another.
pub fn privmsg(channel: &str, text: &str, reply_to: Option<&str>) -> String {
    let text: String = text
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    let channel = channel.trim_start_matches('#').to_ascii_lowercase();
    match reply_to.filter(|id| !id.is_empty()) {
        Some(id) => format!(
            "@reply-parent-msg-id={} PRIVMSG #{channel} :{text}",
            escape(id)
        ),
        None => format!("PRIVMSG #{channel} :{text}"),
    }
}

/// Remembers the last message per channel and changes repeats so Twitch accepts them.
#[derive(Debug, Default)]
pub struct DuplicateGuard {
    last: Mutex<HashMap<String, Sent>>,
}

#[derive(Debug)]
struct Sent {
    normalized: String,
    at: Instant,
    suffixed: bool,
}

/// How Twitch compares messages: trimmed, runs of spaces merged.
fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl DuplicateGuard {
    /// A guard that remembers nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The text to send in `channel` now: `text` itself, or a variant that Twitch will
    /// not consider a duplicate of the previous message. Records what was chosen.
    pub fn prepare(&self, channel: &str, text: &str) -> String {
        let now = Instant::now();
        let normalized = normalize(text);
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        // Forget channels whose window has passed, so the map stays small.
        last.retain(|_, sent| now.duration_since(sent.at) < DUPLICATE_WINDOW);
        let repeat = last
            .get(channel)
            .filter(|sent| sent.normalized == normalized)
            .map(|sent| sent.suffixed);
        let (out, suffixed) = match repeat {
            // Alternate: after a suffixed copy, the plain text differs again.
            Some(true) | None => (text.to_owned(), false),
            Some(false) => {
                let chars = text.chars().count();
                if chars + DUPLICATE_SUFFIX.chars().count() <= MAX_MESSAGE_CHARS {
                    (format!("{text}{DUPLICATE_SUFFIX}"), true)
                } else {
                    let mut shorter: String = text.chars().take(chars.saturating_sub(1)).collect();
                    shorter.truncate(shorter.trim_end().len());
                    (shorter, true)
                }
            }
        };
        last.insert(
            channel.to_owned(),
            Sent {
                normalized,
                at: now,
                suffixed,
            },
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_privmsg_and_replies() {
        assert_eq!(
            privmsg("#Chan", "hi\r\nthere", None),
            "PRIVMSG #chan :hi  there"
        );
        assert_eq!(
            privmsg("chan", "yes", Some("abc-123")),
            "@reply-parent-msg-id=abc-123 PRIVMSG #chan :yes"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn repeats_alternate_within_thirty_seconds() {
        let guard = DuplicateGuard::new();
        assert_eq!(guard.prepare("c", "pong"), "pong");
        assert_eq!(
            guard.prepare("c", " pong  "),
            format!(" pong  {DUPLICATE_SUFFIX}")
        );
        assert_eq!(guard.prepare("c", "pong"), "pong");
        // Another channel has its own memory.
        assert_eq!(guard.prepare("d", "pong"), "pong");
        tokio::time::advance(DUPLICATE_WINDOW).await;
        assert_eq!(guard.prepare("c", "pong"), "pong");
        assert_eq!(guard.prepare("c", "other"), "other");
    }

    #[tokio::test(start_paused = true)]
    async fn long_repeats_lose_a_character_instead() {
        let guard = DuplicateGuard::new();
        let long = "a".repeat(MAX_MESSAGE_CHARS);
        assert_eq!(guard.prepare("c", &long), long);
        let second = guard.prepare("c", &long);
        assert_eq!(second.chars().count(), MAX_MESSAGE_CHARS - 1);
    }
}
