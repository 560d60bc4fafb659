//! `NOTICE`: a message from the server, to a channel or to `*`.
//!
//! Most notices a bot must act on carry a `msg-id`: `msg_ratelimit` (sending too fast),
//! `msg_duplicate` (the same text within 30 s), `msg_slowmode`, `msg_timedout`,
//! `msg_banned`… The login failures are the exception: `Login authentication failed`,
//! `Improperly formatted auth` and `Invalid NICK` come **without** a `msg-id`, addressed
//! to `*`, just before the server closes the connection. [`NoticeKind`] sorts them so
//! the session can stop retrying on an auth failure instead of reconnecting in a loop.

use super::{CommandError, required_param};
use crate::irc::IrcMessage;

/// What a notice means for the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoticeKind {
    /// Login refused: bad or expired token, or a malformed PASS/NICK.
    AuthFailed,
    /// `msg_ratelimit`: a message was dropped for going too fast.
    RateLimited,
    /// `msg_duplicate`: a message was dropped as identical to the last one within 30 s.
    Duplicate,
    /// `msg_slowmode`: the channel's slow mode dropped a message.
    SlowMode,
    /// `msg_timedout`, `msg_banned`, `msg_channel_suspended`, `no_permission` and
    /// the other refusals of a message.
    Refused,
    /// Anything else (informational).
    Other,
}

/// A server notice.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Notice<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
    /// The channel login, or `None` for a notice to `*`.
    pub channel: Option<&'a str>,
    /// `msg-id`, if any.
    pub msg_id: Option<&'a str>,
    /// The notice text.
    pub text: &'a str,
}

const NAME: &str = "NOTICE";

impl<'a> TryFrom<IrcMessage<'a>> for Notice<'a> {
    type Error = CommandError;

    fn try_from(source: IrcMessage<'a>) -> Result<Self, CommandError> {
        required_param(&source, NAME, 0)?;
        Ok(Notice {
            source,
            channel: source.channel_login(),
            msg_id: source.tag("msg-id").and_then(|v| v.non_empty()),
            text: source.param(1).unwrap_or(""),
        })
    }
}

impl Notice<'_> {
    /// What the notice means.
    pub fn kind(&self) -> NoticeKind {
        match self.msg_id {
            Some("msg_ratelimit") => NoticeKind::RateLimited,
            Some("msg_duplicate") => NoticeKind::Duplicate,
            Some("msg_slowmode") => NoticeKind::SlowMode,
            Some(
                "msg_timedout"
                | "msg_banned"
                | "msg_channel_suspended"
                | "msg_channel_blocked"
                | "msg_emoteonly"
                | "msg_subsonly"
                | "msg_r9k"
                | "msg_followersonly"
                | "msg_followersonly_zero"
                | "msg_followersonly_followed"
                | "msg_requires_verified_phone_number"
                | "msg_verified_email"
                | "msg_rejected"
                | "msg_rejected_mandatory"
                | "msg_suspended"
                | "no_permission",
            ) => NoticeKind::Refused,
            Some(_) => NoticeKind::Other,
            None if is_login_failure(self.text) => NoticeKind::AuthFailed,
            None => NoticeKind::Other,
        }
    }
}

/// The texts Twitch (and tmi.js's fixtures) use for a refused login.
fn is_login_failure(text: &str) -> bool {
    const FAILURES: [&str; 5] = [
        "Login authentication failed",
        "Improperly formatted auth",
        "Invalid NICK",
        "Login unsuccessful",
        "Error logging in",
    ];
    FAILURES.iter().any(|f| {
        text.get(..f.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(f))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Notice<'_> {
        Notice::try_from(IrcMessage::parse(line).unwrap()).unwrap()
    }

    #[test]
    fn rate_limit_and_duplicate() {
        // pajbot/tmi-rate-limits README
        let n = parse(
            "@msg-id=msg_ratelimit :tmi.twitch.tv NOTICE #randers00 :Your message was not sent because you are sending messages too quickly.",
        );
        assert_eq!(n.kind(), NoticeKind::RateLimited);
        assert_eq!(n.channel, Some("randers00"));
        let n = parse(
            "@msg-id=msg_duplicate :tmi.twitch.tv NOTICE #randers00 :Your message was not sent because it is identical to the previous one you sent, less than 30 seconds ago.",
        );
        assert_eq!(n.kind(), NoticeKind::Duplicate);
    }

    #[test]
    fn auth_failures_have_no_msg_id() {
        // twitch-irc-rs notice.rs and go-twitch-irc client_test.go
        for line in [
            ":tmi.twitch.tv NOTICE * :Improperly formatted auth",
            ":tmi.twitch.tv NOTICE * :Login authentication failed",
        ] {
            let n = parse(line);
            assert_eq!(n.channel, None);
            assert_eq!(n.kind(), NoticeKind::AuthFailed, "{line}");
        }
        let n = parse(":tmi.twitch.tv NOTICE #pajlada :WEEB123 has been timed out for 1 second.");
        assert_eq!(n.kind(), NoticeKind::Other);
    }
}
