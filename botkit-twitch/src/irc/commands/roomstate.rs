//! `ROOMSTATE`: a channel's chat modes.
//!
//! Sent in full on JOIN and then with only the keys that changed, so every field is an
//! `Option`: `None` means "unchanged", not "off". `followers-only` is `-1` (off), `0`
//! (any follower) or a number of minutes; `slow` is seconds between messages.

use super::{CommandError, channel_param, number};
use crate::irc::IrcMessage;

/// The followers-only mode of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FollowersOnly {
    /// Anyone may chat.
    Off,
    /// Followers may chat once they have followed for this many minutes (0: at once).
    Minutes(u64),
}

/// A channel's modes (or the part of them that changed).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RoomState<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
    /// The channel login.
    pub channel: &'a str,
    /// `room-id`.
    pub room_id: Option<&'a str>,
    /// `emote-only`.
    pub emote_only: Option<bool>,
    /// `followers-only`.
    pub followers_only: Option<FollowersOnly>,
    /// `r9k` (unique-chat mode).
    pub r9k: Option<bool>,
    /// `slow`: seconds a user must wait between messages (0: off).
    pub slow_secs: Option<u64>,
    /// `subs-only`.
    pub subs_only: Option<bool>,
}

const NAME: &str = "ROOMSTATE";

impl<'a> TryFrom<IrcMessage<'a>> for RoomState<'a> {
    type Error = CommandError;

    fn try_from(source: IrcMessage<'a>) -> Result<Self, CommandError> {
        let channel = channel_param(&source, NAME, 0)?;
        let mut state = RoomState {
            source,
            channel,
            room_id: None,
            emote_only: None,
            followers_only: None,
            r9k: None,
            slow_secs: None,
            subs_only: None,
        };
        for (key, value) in source.tags() {
            match key {
                "room-id" => state.room_id = value.non_empty(),
                "emote-only" => state.emote_only = Some(value.is_set()),
                "r9k" => state.r9k = Some(value.is_set()),
                "subs-only" => state.subs_only = Some(value.is_set()),
                "slow" => state.slow_secs = number(value, NAME, "slow")?,
                "followers-only" => {
                    state.followers_only = number::<i64>(value, NAME, "followers-only")?.map(|m| {
                        u64::try_from(m).map_or(FollowersOnly::Off, FollowersOnly::Minutes)
                    });
                }
                _ => {}
            }
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> RoomState<'_> {
        RoomState::try_from(IrcMessage::parse(line).unwrap()).unwrap()
    }

    #[test]
    fn full_state() {
        // twitch-irc-rs roomstate.rs
        let s = parse(
            "@emote-only=1;followers-only=10;r9k=1;rituals=0;room-id=40286300;slow=5;subs-only=1 :tmi.twitch.tv ROOMSTATE #randers",
        );
        assert_eq!(s.channel, "randers");
        assert_eq!(s.emote_only, Some(true));
        assert_eq!(s.followers_only, Some(FollowersOnly::Minutes(10)));
        assert_eq!(s.slow_secs, Some(5));
        assert_eq!(s.subs_only, Some(true));
        assert_eq!(s.room_id, Some("40286300"));
    }

    #[test]
    fn all_off() {
        let s = parse(
            "@emote-only=0;followers-only=-1;r9k=0;rituals=0;room-id=40286300;slow=0;subs-only=0 :tmi.twitch.tv ROOMSTATE #randers",
        );
        assert_eq!(s.followers_only, Some(FollowersOnly::Off));
        assert_eq!(s.r9k, Some(false));
    }

    #[test]
    fn partial_update_leaves_the_rest_unknown() {
        let s = parse("@room-id=40286300;slow=10 :tmi.twitch.tv ROOMSTATE #randers");
        assert_eq!(s.slow_secs, Some(10));
        assert_eq!(s.emote_only, None);
        assert_eq!(s.followers_only, None);
    }
}
