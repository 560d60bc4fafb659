//! `CAP`: capability negotiation at login.
//!
//! The client requests `twitch.tv/tags twitch.tv/commands [twitch.tv/membership]`; the
//! server answers `CAP * ACK :<caps>` or `CAP * NAK :<caps>`. A NAK is fatal for the
//! session (dank-twitch-irc treats it the same): without tags the bot cannot tell
//! moderators from anyone else.

use crate::irc::IrcMessage;

/// A capability reply.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Cap<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
    /// The subcommand: `ACK`, `NAK`, `LS`… (empty on a bare `CAP`).
    pub subcommand: &'a str,
    /// The capabilities, space-separated.
    pub capabilities: &'a str,
}

impl<'a> From<IrcMessage<'a>> for Cap<'a> {
    fn from(source: IrcMessage<'a>) -> Self {
        Cap {
            source,
            subcommand: source.param(1).unwrap_or(""),
            capabilities: source.param(2).unwrap_or(""),
        }
    }
}

impl<'a> Cap<'a> {
    /// Whether the server acknowledged the request.
    pub fn is_ack(&self) -> bool {
        self.subcommand.eq_ignore_ascii_case("ACK")
    }

    /// Whether the server refused the request.
    pub fn is_nak(&self) -> bool {
        self.subcommand.eq_ignore_ascii_case("NAK")
    }

    /// The capabilities one by one.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.capabilities.split(' ').filter(|c| !c.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Cap<'_> {
        Cap::from(IrcMessage::parse(line).unwrap())
    }

    #[test]
    fn ack() {
        // dank-twitch-irc cap.spec.ts
        let c = parse(
            ":tmi.twitch.tv CAP * ACK :twitch.tv/commands twitch.tv/tags twitch.tv/membership",
        );
        assert!(c.is_ack());
        assert_eq!(
            c.iter().collect::<Vec<_>>(),
            [
                "twitch.tv/commands",
                "twitch.tv/tags",
                "twitch.tv/membership"
            ]
        );
    }

    #[test]
    fn nak() {
        let c = parse(":tmi.twitch.tv CAP * NAK :twitch.tv/tags");
        assert!(c.is_nak());
        assert_eq!(c.capabilities, "twitch.tv/tags");
    }
}
