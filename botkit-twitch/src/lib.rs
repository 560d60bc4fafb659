//! Twitch for botkit.
//!
//! This crate reads and writes Twitch chat for a botkit bot. Its core is a zero-copy
//! IRCv3 parser ([`irc`]) with one module per command, and a [`normalize`] step that
//! turns each command into a botkit [`Event`](botkit::Event) on
//! `platform.twitch.<kind>`.

pub mod irc;
pub mod normalize;

pub use irc::commands::{ParseError, ServerMessage};
pub use irc::{IrcMessage, IrcParseError};
pub use normalize::Normalizer;
