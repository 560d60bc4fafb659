//! `CLEARCHAT`: the whole chat cleared, or one user timed out or banned.
//!
//! Three meanings (twitch-irc-rs clearchat.rs): no target parameter → the chat was
//! cleared; a target and `ban-duration=<secs>` → a timeout; a target and no
//! `ban-duration` → a permanent ban. Tags: `room-id`, `target-user-id`, `tmi-sent-ts`,
//! and on old lines `ban-reason`. The channel is optional only because old fixtures
//! send a bare `CLEARCHAT`.

use super::{CommandError, number};
use crate::irc::{IrcMessage, TagValue};

/// What a `CLEARCHAT` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClearChatAction<'a> {
    /// A moderator cleared the whole chat.
    ChatCleared,
    /// A user was banned permanently.
    Ban {
        /// The banned user's login.
        login: &'a str,
        /// `target-user-id`.
        user_id: Option<&'a str>,
    },
    /// A user was timed out.
    Timeout {
        /// The user's login.
        login: &'a str,
        /// `target-user-id`.
        user_id: Option<&'a str>,
        /// `ban-duration` in seconds.
        duration_secs: u64,
    },
}

/// A chat clear, timeout or ban.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClearChat<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
    /// The channel login, when the line names one.
    pub channel: Option<&'a str>,
    /// What happened.
    pub action: ClearChatAction<'a>,
    /// `room-id`.
    pub room_id: Option<&'a str>,
    /// `tmi-sent-ts` (Unix milliseconds).
    pub sent_ms: Option<i64>,
    /// `ban-reason` (escaped; old lines only).
    pub reason: Option<TagValue<'a>>,
}

const NAME: &str = "CLEARCHAT";

impl<'a> TryFrom<IrcMessage<'a>> for ClearChat<'a> {
    type Error = CommandError;

    fn try_from(source: IrcMessage<'a>) -> Result<Self, CommandError> {
        let channel = source.channel_login();
        let target = source.param(1);
        let mut room_id = None;
        let mut sent_ms = None;
        let mut reason = None;
        let mut user_id = None;
        let mut duration = None;
        for (key, value) in source.tags() {
            match key {
                "room-id" => room_id = Some(value.raw()),
                "tmi-sent-ts" => sent_ms = number(value, NAME, "tmi-sent-ts")?,
                "target-user-id" => user_id = Some(value.raw()),
                "ban-duration" => duration = number(value, NAME, "ban-duration")?,
                "ban-reason" => reason = Some(value).filter(|v| !v.is_empty()),
                _ => {}
            }
        }
        let action = match (target, duration) {
            (None, _) => ClearChatAction::ChatCleared,
            (Some(login), None) => ClearChatAction::Ban { login, user_id },
            (Some(login), Some(duration_secs)) => ClearChatAction::Timeout {
                login,
                user_id,
                duration_secs,
            },
        };
        Ok(ClearChat {
            source,
            channel,
            action,
            room_id,
            sent_ms,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> ClearChat<'_> {
        ClearChat::try_from(IrcMessage::parse(line).unwrap()).unwrap()
    }

    #[test]
    fn timeout() {
        // twitch-irc-rs clearchat.rs
        let c = parse(
            "@ban-duration=1;room-id=11148817;target-user-id=148973258;tmi-sent-ts=1594553828245 :tmi.twitch.tv CLEARCHAT #pajlada :fabzeef",
        );
        assert_eq!(c.channel, Some("pajlada"));
        assert_eq!(
            c.action,
            ClearChatAction::Timeout {
                login: "fabzeef",
                user_id: Some("148973258"),
                duration_secs: 1
            }
        );
    }

    #[test]
    fn ban() {
        let c = parse(
            "@room-id=11148817;target-user-id=70948394;tmi-sent-ts=1594561360331 :tmi.twitch.tv CLEARCHAT #pajlada :weeb123",
        );
        assert_eq!(
            c.action,
            ClearChatAction::Ban {
                login: "weeb123",
                user_id: Some("70948394")
            }
        );
    }

    #[test]
    fn chat_cleared() {
        let c =
            parse("@room-id=40286300;tmi-sent-ts=1594561392337 :tmi.twitch.tv CLEARCHAT #randers");
        assert_eq!(c.action, ClearChatAction::ChatCleared);
        assert_eq!(parse(":tmi.twitch.tv CLEARCHAT").channel, None);
    }

    #[test]
    fn old_ban_reason() {
        // dank-twitch-irc clearchat.spec.ts
        let c = parse(
            "@ban-duration=1;ban-reason=testing\\sxd;room-id=11148817;target-user-id=40910607 :tmi.twitch.tv CLEARCHAT #pajlada :ampzyh",
        );
        assert_eq!(c.reason.unwrap().unescape(), "testing xd");
    }
}
