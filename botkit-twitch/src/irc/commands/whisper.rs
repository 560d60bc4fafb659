//! `WHISPER`: a private message to the bot.
//!
//! `@tags :from!from@from.tmi.twitch.tv WHISPER <to_login> :text`. Whispers can still be
//! received over IRC; sending them needs Helix (IRC `/w` is gone). Whispers have no
//! ACTION form: `/me` arrives as literal text.

use super::{CommandError, required_nick, required_param};
use crate::irc::emotes::{self, Emote, MalformedEmotes};
use crate::irc::{IrcMessage, TagValue};

/// A whisper.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Whisper<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
    /// The sender's login.
    pub sender_login: &'a str,
    /// The recipient's login (the bot).
    pub recipient_login: &'a str,
    /// The text.
    pub text: &'a str,
    /// `user-id`: the sender's id.
    pub user_id: Option<&'a str>,
    /// `display-name` (escaped).
    pub display_name: Option<TagValue<'a>>,
    /// `badges`.
    pub badges: Option<&'a str>,
    /// `color`.
    pub color: Option<&'a str>,
    /// `emotes`, still encoded; see [`Whisper::emotes`].
    pub emotes_tag: Option<&'a str>,
    /// `message-id`: a counter within the thread.
    pub message_id: Option<&'a str>,
    /// `thread-id`: `<lower id>_<higher id>` of the two users.
    pub thread_id: Option<&'a str>,
    /// `turbo=1`.
    pub turbo: bool,
}

const NAME: &str = "WHISPER";

impl<'a> TryFrom<IrcMessage<'a>> for Whisper<'a> {
    type Error = CommandError;

    fn try_from(source: IrcMessage<'a>) -> Result<Self, CommandError> {
        let recipient_login = required_param(&source, NAME, 0)?;
        let text = required_param(&source, NAME, 1)?;
        let sender_login = required_nick(&source, NAME)?;
        let mut msg = Whisper {
            source,
            sender_login,
            recipient_login,
            text,
            user_id: None,
            display_name: None,
            badges: None,
            color: None,
            emotes_tag: None,
            message_id: None,
            thread_id: None,
            turbo: false,
        };
        for (key, value) in source.tags() {
            let raw = value.raw();
            match key {
                "user-id" => msg.user_id = Some(raw),
                "display-name" => msg.display_name = Some(value),
                "badges" => msg.badges = Some(raw),
                "color" => msg.color = Some(raw),
                "emotes" => msg.emotes_tag = Some(raw),
                "message-id" => msg.message_id = Some(raw),
                "thread-id" => msg.thread_id = Some(raw),
                "turbo" => msg.turbo = value.is_set(),
                _ => {}
            }
        }
        Ok(msg)
    }
}

impl<'a> Whisper<'a> {
    /// The emotes in the text, sorted by position.
    pub fn emotes(&self) -> Result<Vec<Emote<'a>>, MalformedEmotes> {
        emotes::parse(self.emotes_tag.unwrap_or(""), self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whisper() {
        // twitch-irc-rs whisper.rs
        let line = "@badges=;color=#19E6E6;display-name=randers;emotes=25:22-26;message-id=1;thread-id=40286300_553170741;turbo=0;user-id=40286300;user-type= :randers!randers@randers.tmi.twitch.tv WHISPER randers811 :hello, this is a test Kappa";
        let w = Whisper::try_from(IrcMessage::parse(line).unwrap()).unwrap();
        assert_eq!(w.sender_login, "randers");
        assert_eq!(w.recipient_login, "randers811");
        assert_eq!(w.text, "hello, this is a test Kappa");
        assert_eq!(w.user_id, Some("40286300"));
        assert_eq!(w.emotes().unwrap()[0].code, "Kappa");
    }

    #[test]
    fn escaped_display_name() {
        // dank-twitch-irc whisper.spec.ts
        let line = "@badges=;color=#2E8B57;display-name=pajbot\\s;emotes=25:7-11;message-id=2034;thread-id=40286300_82008718;turbo=0;user-id=82008718;user-type= :pajbot!pajbot@pajbot.tmi.twitch.tv WHISPER randers :Riftey Kappa";
        let w = Whisper::try_from(IrcMessage::parse(line).unwrap()).unwrap();
        assert_eq!(w.display_name.unwrap().unescape(), "pajbot ");
    }
}
