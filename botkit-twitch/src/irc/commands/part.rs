//! `PART`: a user (or the bot itself) left a channel.
//!
//! `:login!login@login.tmi.twitch.tv PART #channel`, with the same caveats as `JOIN`.

use super::{CommandError, channel_param, required_nick};
use crate::irc::IrcMessage;

/// A part.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Part<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
    /// The channel login.
    pub channel: &'a str,
    /// Who left.
    pub login: &'a str,
}

const NAME: &str = "PART";

impl<'a> TryFrom<IrcMessage<'a>> for Part<'a> {
    type Error = CommandError;

    fn try_from(source: IrcMessage<'a>) -> Result<Self, CommandError> {
        Ok(Part {
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
    fn part() {
        // tmi.js events.js
        let line = ":schmoopiie!schmoopiie@schmoopiie.tmi.twitch.tv PART #schmoopiie";
        let p = Part::try_from(IrcMessage::parse(line).unwrap()).unwrap();
        assert_eq!((p.channel, p.login), ("schmoopiie", "schmoopiie"));
    }
}
