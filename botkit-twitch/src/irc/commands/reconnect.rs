//! `RECONNECT`: the server will drop this connection soon.
//!
//! `:tmi.twitch.tv RECONNECT`. The session opens a new connection, joins the desired
//! channels there, and only then lets the old one go.

use crate::irc::IrcMessage;

/// The server asks the client to reconnect.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Reconnect<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
}

impl<'a> From<IrcMessage<'a>> for Reconnect<'a> {
    fn from(source: IrcMessage<'a>) -> Self {
        Reconnect { source }
    }
}

#[cfg(test)]
mod tests {
    use crate::irc::commands::ServerMessage;

    #[test]
    fn reconnect() {
        // twitch-irc-rs reconnect.rs
        let msg = ServerMessage::parse(":tmi.twitch.tv RECONNECT").unwrap();
        assert!(matches!(msg, ServerMessage::Reconnect(_)));
    }
}
