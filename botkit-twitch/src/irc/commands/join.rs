//! `JOIN`: a user (or the bot itself) joined a channel.
//!
//! `:login!login@login.tmi.twitch.tv JOIN #channel`, sent only with the
//! `twitch.tv/membership` capability, in batches and late, and not at all for large
//! chats. The bot's own JOIN confirms that it is in the channel.

use super::{CommandError, channel_param, required_nick};
use crate::irc::IrcMessage;

/// A join.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Join<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
    /// The channel login.
    pub channel: &'a str,
    /// Who joined.
    pub login: &'a str,
}

const NAME: &str = "JOIN";

impl<'a> TryFrom<IrcMessage<'a>> for Join<'a> {
    type Error = CommandError;

    fn try_from(source: IrcMessage<'a>) -> Result<Self, CommandError> {
        Ok(Join {
            source,
            channel: channel_param(&source, NAME, 0)?,
            login: required_nick(&source, NAME)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join() {
        // twitch-irc-rs join.rs
        let line = ":randers811!randers811@randers811.tmi.twitch.tv JOIN #pajlada";
        let j = Join::try_from(IrcMessage::parse(line).unwrap()).unwrap();
        assert_eq!((j.channel, j.login), ("pajlada", "randers811"));
    }

    #[test]
    fn trailing_channel_is_the_same() {
        let j =
            Join::try_from(IrcMessage::parse(":a!a@a.tmi.twitch.tv JOIN :#chan").unwrap()).unwrap();
        assert_eq!(j.channel, "chan");
    }

    #[test]
    fn needs_a_sender_and_a_channel() {
        // dank-twitch-irc: a server JOIN without prefix has no nickname.
        for line in ["JOIN #pajlada", "JOIN #", ":src JOIN #chan"] {
            assert!(
                Join::try_from(IrcMessage::parse(line).unwrap()).is_err(),
                "{line}"
            );
        }
    }
}
