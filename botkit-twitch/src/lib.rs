#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! - [`irc`]: the zero-copy IRCv3 parser, one module per command;
//! - [`normalize`]: each command as a botkit event;
//! - [`platform`]: [`TwitchPlatform`], the chat session;
//! - [`helix`]: [`helix::HelixClient`], the Helix API (users, chat color, chat messages,
//!   moderation, EventSub subscriptions) with rate-limit and 401 handling;
//! - [`oauth`]: the device code login, refresh and validation, the encrypted
//!   [`oauth::TokenStore`] and [`oauth::OAuthCredentials`], which keeps a stored token fresh;
//! - [`eventsub`]: the EventSub WebSocket session beside the chat session (opt-in), and its
//!   Helix seam;
//! - [`transport`], [`outgoing`], [`credentials`], [`config`], [`error`]: its parts.

pub mod config;
pub mod credentials;
pub mod error;
pub mod eventsub;
pub mod helix;
pub mod irc;
pub mod normalize;
pub mod oauth;
pub mod outgoing;
pub mod platform;
pub mod transport;

pub use config::TwitchConfig;
pub use credentials::{Credentials, CredentialsProvider, StaticCredentials};
pub use error::TwitchError;
pub use helix::HelixClient;
pub use irc::commands::{ParseError, ServerMessage};
pub use irc::{IrcMessage, IrcParseError};
pub use normalize::Normalizer;
pub use oauth::{OAuthClient, OAuthCredentials, TokenStore};
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
