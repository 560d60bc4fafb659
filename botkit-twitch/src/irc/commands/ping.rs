//! `PING`: the server checks that the client is alive.
//!
//! `PING :tmi.twitch.tv` must be answered with `PONG :tmi.twitch.tv`, echoing the
//! argument (the last parameter); Twitch closes connections that stay silent.

use crate::irc::IrcMessage;

/// A keepalive from the server.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Ping<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
    /// The argument to echo back, if any.
    pub argument: Option<&'a str>,
}

impl<'a> From<IrcMessage<'a>> for Ping<'a> {
    fn from(source: IrcMessage<'a>) -> Self {
        Ping {
            source,
            argument: source.last_param(),
        }
    }
}

impl Ping<'_> {
    /// The line that answers this ping (without CRLF).
    pub fn pong(&self) -> String {
        match self.argument {
            Some(arg) => format!("PONG :{arg}"),
            None => "PONG".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Ping<'_> {
        Ping::from(IrcMessage::parse(line).unwrap())
    }

    #[test]
    fn echoes_the_argument() {
        // twitch-irc-rs ping.rs, go-twitch-irc client_test.go
        assert_eq!(parse("PING :tmi.twitch.tv").pong(), "PONG :tmi.twitch.tv");
        assert_eq!(parse(":tmi.twitch.tv PING").pong(), "PONG");
        assert_eq!(parse(":tmi.twitch.tv PING :nonce").argument, Some("nonce"));
        assert_eq!(
            parse("PING :message anything after the first space should be ignored").pong(),
            "PONG :message anything after the first space should be ignored"
        );
    }
}
