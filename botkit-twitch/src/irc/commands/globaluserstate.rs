//! `GLOBALUSERSTATE`: the bot's account, sent once after a successful login.
//!
//! It is the login's confirmation and the cheapest way to learn the bot's own user id,
//! which the normalized events use for `twitch:<user-id>`.

use super::CommandError;
use crate::irc::{IrcMessage, TagValue};

/// The bot's global state.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GlobalUserState<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
    /// `user-id`: the bot's user id.
    pub user_id: Option<&'a str>,
    /// `badges`.
    pub badges: Option<&'a str>,
    /// `color`.
    pub color: Option<&'a str>,
    /// `display-name` (escaped).
    pub display_name: Option<TagValue<'a>>,
    /// `emote-sets`.
    pub emote_sets: Option<&'a str>,
}

impl<'a> TryFrom<IrcMessage<'a>> for GlobalUserState<'a> {
    type Error = CommandError;

    fn try_from(source: IrcMessage<'a>) -> Result<Self, CommandError> {
        let mut state = GlobalUserState {
            source,
            user_id: None,
            badges: None,
            color: None,
            display_name: None,
            emote_sets: None,
        };
        for (key, value) in source.tags() {
            let raw = value.raw();
            match key {
                "user-id" => state.user_id = value.non_empty(),
                "badges" => state.badges = Some(raw),
                "color" => state.color = Some(raw),
                "display-name" => state.display_name = Some(value),
                "emote-sets" => state.emote_sets = Some(raw),
                _ => {}
            }
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_login() {
        // twitch-irc-rs globaluserstate.rs
        let line = "@badge-info=;badges=premium/1;color=;display-name=randers;emote-sets=;user-id=40286300;user-type= :tmi.twitch.tv GLOBALUSERSTATE";
        let s = GlobalUserState::try_from(IrcMessage::parse(line).unwrap()).unwrap();
        assert_eq!(s.user_id, Some("40286300"));
        assert_eq!(s.badges, Some("premium/1"));
        assert_eq!(s.color, Some(""));
        assert_eq!(s.display_name.unwrap().unescape(), "randers");
    }

    #[test]
    fn escaped_display_name() {
        // dank-twitch-irc: a display name with a trailing escaped space.
        let line = "@badge-info=;badges=;color=;display-name=receivertest3\\s;emote-sets=0;user-id=422021310;user-type= :tmi.twitch.tv GLOBALUSERSTATE";
        let s = GlobalUserState::try_from(IrcMessage::parse(line).unwrap()).unwrap();
        assert_eq!(s.display_name.unwrap().unescape(), "receivertest3 ");
    }
}
