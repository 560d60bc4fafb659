#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! - [`irc`]: the zero-copy IRCv3 parser, one module per command;
//! - [`normalize`]: each command as a botkit event;
//! - [`platform`]: [`TwitchPlatform`], the chat session;
//! - [`eventsub`]: the EventSub WebSocket session beside it (opt-in);
//! - [`transport`], [`outgoing`], [`credentials`], [`config`], [`error`]: its parts.

pub mod config;
pub mod credentials;
pub mod error;
pub mod eventsub;
pub mod irc;
pub mod normalize;
pub mod outgoing;
pub mod platform;
pub mod transport;

pub use config::TwitchConfig;
pub use credentials::{Credentials, CredentialsProvider, StaticCredentials};
pub use error::TwitchError;
pub use irc::commands::{ParseError, ServerMessage};
pub use irc::{IrcMessage, IrcParseError};
pub use normalize::Normalizer;
pub use platform::TwitchPlatform;

#[cfg(test)]
mod tests {
    /// The README's bot is the example file, verbatim, so the snippet always compiles.
    #[test]
    fn readme_shows_the_example() {
        let readme = include_str!("../README.md");
        let example = include_str!("../examples/ping.rs");
        assert!(readme.contains(example));
    }
}
