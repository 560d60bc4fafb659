//! Twitch for botkit.
//!
//! This crate reads and writes Twitch chat for a botkit bot:
//!
//! - [`irc`]: a zero-copy IRCv3 parser with one module per command;
//! - [`normalize`]: each command as a botkit [`Event`](botkit::Event) on
//!   `platform.twitch.<kind>`;
//! - [`TwitchPlatform`]: the chat session over secure WebSocket or TLS TCP, with login
//!   (token or anonymous), keepalive, reconnects that replay the desired channels, and
//!   Twitch's outgoing rules.

pub mod config;
pub mod credentials;
pub mod error;
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
