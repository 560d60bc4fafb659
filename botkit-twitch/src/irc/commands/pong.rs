//! `PONG`: the server's answer to the client's own `PING`.
//!
//! `:tmi.twitch.tv PONG tmi.twitch.tv :<argument>`. The session pings with a nonce and
//! treats a missing answer as a dead link.

use crate::irc::IrcMessage;

/// The answer to a keepalive.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Pong<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
    /// The echoed argument (the last parameter), if any.
    pub argument: Option<&'a str>,
}

impl<'a> From<IrcMessage<'a>> for Pong<'a> {
    fn from(source: IrcMessage<'a>) -> Self {
        Pong {
            source,
            argument: source.last_param(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_argument() {
        // pajbot/tmi-rate-limits README, twitch-irc-rs pong.rs
        let p =
            Pong::from(IrcMessage::parse(":tmi.twitch.tv PONG tmi.twitch.tv :test1234").unwrap());
        assert_eq!(p.argument, Some("test1234"));
        let p = Pong::from(IrcMessage::parse(":tmi.twitch.tv PONG").unwrap());
        assert_eq!(p.argument, None);
    }
}
