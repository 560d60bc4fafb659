//! `USERSTATE`: the bot's own state in a channel.
//!
//! Sent when the bot joins a channel and after each message it sends (Twitch does not
//! echo the bot's PRIVMSG, so this is the only confirmation). Its `badges` tell whether
//! the bot is moderator, VIP or broadcaster there, which raises the outgoing limit from
//! 20 to 100 messages per 30 s and lifts the 1-second channel slow mode.

use super::{CommandError, badges_grant_privilege, channel_param};
use crate::irc::{IrcMessage, TagValue};

/// The bot's state in a channel.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UserState<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
    /// The channel login.
    pub channel: &'a str,
    /// `badges`.
    pub badges: Option<&'a str>,
    /// `badge-info`.
    pub badge_info: Option<&'a str>,
    /// `color`.
    pub color: Option<&'a str>,
    /// `display-name` (escaped).
    pub display_name: Option<TagValue<'a>>,
    /// `emote-sets`.
    pub emote_sets: Option<&'a str>,
    /// `mod=1`.
    pub moderator: bool,
    /// `id`: the id of the message the bot just sent, when this answers one.
    pub message_id: Option<&'a str>,
}

const NAME: &str = "USERSTATE";

impl<'a> TryFrom<IrcMessage<'a>> for UserState<'a> {
    type Error = CommandError;

    fn try_from(source: IrcMessage<'a>) -> Result<Self, CommandError> {
        let channel = channel_param(&source, NAME, 0)?;
        let mut state = UserState {
            source,
            channel,
            badges: None,
            badge_info: None,
            color: None,
            display_name: None,
            emote_sets: None,
            moderator: false,
            message_id: None,
        };
        for (key, value) in source.tags() {
            let raw = value.raw();
            match key {
                "badges" => state.badges = Some(raw),
                "badge-info" => state.badge_info = Some(raw),
                "color" => state.color = Some(raw),
                "display-name" => state.display_name = Some(value),
                "emote-sets" => state.emote_sets = Some(raw),
                "mod" => state.moderator = value.is_set(),
                "id" => state.message_id = value.non_empty(),
                _ => {}
            }
        }
        Ok(state)
    }
}

impl UserState<'_> {
    /// Whether the bot is moderator, VIP or broadcaster in this channel.
    pub fn is_privileged(&self) -> bool {
        self.moderator || self.badges.is_some_and(badges_grant_privilege)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> UserState<'_> {
        UserState::try_from(IrcMessage::parse(line).unwrap()).unwrap()
    }

    #[test]
    fn moderator() {
        // twitch-irc-rs userstate.rs
        let s = parse(
            "@badge-info=;badges=moderator/1;color=#8A2BE2;display-name=TESTUSER;emote-sets=0,75c09c7b-332a-43ec-8be8-1d4571706155;mod=1;subscriber=0;user-type=mod :tmi.twitch.tv USERSTATE #randers",
        );
        assert_eq!(s.channel, "randers");
        assert!(s.moderator);
        assert!(s.is_privileged());
    }

    #[test]
    fn ordinary_user_and_broadcaster() {
        let plain = parse(
            "@badge-info=;badges=;color=#FF0000;display-name=TESTUSER;emote-sets=0;mod=0;subscriber=0;user-type= :tmi.twitch.tv USERSTATE #randers",
        );
        assert!(!plain.is_privileged());
        let broadcaster = parse(
            "@badge-info=subscriber/6;badges=broadcaster/1,subscriber/0;color=#19E6E6;display-name=randers;emote-sets=0;mod=0;subscriber=1;user-type= :tmi.twitch.tv USERSTATE #randers",
        );
        assert!(broadcaster.is_privileged());
    }

    #[test]
    fn bare_userstate_without_tags() {
        // Twitch docs: the commands capability without tags.
        let s = parse(":tmi.twitch.tv USERSTATE #foo");
        assert_eq!(s.channel, "foo");
        assert!(!s.is_privileged());
    }
}
