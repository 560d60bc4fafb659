//! `CLEARMSG`: one message deleted by a moderator.
//!
//! `@login=<sender>;room-id=;target-msg-id=<id>;tmi-sent-ts=… :tmi.twitch.tv CLEARMSG
//! #chan :<deleted text>`. The sender comes from the `login` tag (the prefix is the
//! server); `room-id` is often empty. The deleted text can be an ACTION, which is
//! unwrapped like a PRIVMSG's.

use super::{CommandError, channel_param, number, required_param};
use crate::irc::{IrcMessage, strip_action};

/// A deleted message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClearMsg<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
    /// The channel login.
    pub channel: &'a str,
    /// `login`: who sent the deleted message.
    pub sender_login: Option<&'a str>,
    /// `target-msg-id`: the deleted message's id.
    pub message_id: Option<&'a str>,
    /// The deleted text (ACTION unwrapped).
    pub text: &'a str,
    /// Whether the deleted message was a `/me` action.
    pub is_action: bool,
    /// `tmi-sent-ts` (Unix milliseconds).
    pub sent_ms: Option<i64>,
}

const NAME: &str = "CLEARMSG";

impl<'a> TryFrom<IrcMessage<'a>> for ClearMsg<'a> {
    type Error = CommandError;

    fn try_from(source: IrcMessage<'a>) -> Result<Self, CommandError> {
        let channel = channel_param(&source, NAME, 0)?;
        let (text, is_action) = strip_action(required_param(&source, NAME, 1)?);
        let mut msg = ClearMsg {
            source,
            channel,
            sender_login: None,
            message_id: None,
            text,
            is_action,
            sent_ms: None,
        };
        for (key, value) in source.tags() {
            match key {
                "login" => msg.sender_login = value.non_empty(),
                "target-msg-id" => msg.message_id = value.non_empty(),
                "tmi-sent-ts" => msg.sent_ms = number(value, NAME, "tmi-sent-ts")?,
                _ => {}
            }
        }
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> ClearMsg<'_> {
        ClearMsg::try_from(IrcMessage::parse(line).unwrap()).unwrap()
    }

    #[test]
    fn deleted_message() {
        // twitch-irc-rs clearmsg.rs
        let m = parse(
            "@login=alazymeme;room-id=;target-msg-id=3c92014f-340a-4dc3-a9c9-e5cf182f4a84;tmi-sent-ts=1594561955611 :tmi.twitch.tv CLEARMSG #pajlada :NIGHT CUNT",
        );
        assert_eq!(m.channel, "pajlada");
        assert_eq!(m.sender_login, Some("alazymeme"));
        assert_eq!(m.message_id, Some("3c92014f-340a-4dc3-a9c9-e5cf182f4a84"));
        assert_eq!(m.text, "NIGHT CUNT");
        assert_eq!(m.sent_ms, Some(1594561955611));
    }

    #[test]
    fn deleted_action() {
        let m = parse(
            "@login=randers;room-id=;target-msg-id=15e5164d-f8e6-4aec-baf4-2d6a330760c4;tmi-sent-ts=1594562632383 :tmi.twitch.tv CLEARMSG #pajlada :\u{1}ACTION test\u{1}",
        );
        assert!(m.is_action);
        assert_eq!(m.text, "test");
    }

    #[test]
    fn negative_timestamp_is_kept() {
        // dank-twitch-irc clearmsg.spec.ts has a negative tmi-sent-ts.
        let m = parse(
            "@login=supibot;room-id=;target-msg-id=25fd76d9-4731-4907-978e-a391134ebd67;tmi-sent-ts=-6795364578871 :tmi.twitch.tv CLEARMSG #randers :Pong!",
        );
        assert_eq!(m.sent_ms, Some(-6795364578871));
    }
}
