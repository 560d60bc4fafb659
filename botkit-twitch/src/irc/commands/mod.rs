//! One module per Twitch IRC command, in the style of twitch-irc-rs.
//!
//! Each module holds the typed struct for its command, its `try_from` over an
//! [`IrcMessage`], and inline tests built from real captured lines. The structs borrow
//! from the line like the parser does: strings are slices, tag values stay escaped
//! [`TagValue`]s until read, and the tags are read in **one pass** (a `match` on the key),
//! so typing a message costs no more than walking its tags once.
//!
//! Structure is checked strictly (a PRIVMSG needs `#channel`, text and a sender), tags
//! leniently (absent tags are `None`). [`ServerMessage::try_from`] falls back to
//! [`ServerMessage::Generic`] only for commands without a module; a known command whose
//! structure is wrong is an error, which the session logs and publishes raw.

pub mod cap;
pub mod clearchat;
pub mod clearmsg;
pub mod globaluserstate;
pub mod hosttarget;
pub mod join;
pub mod notice;
pub mod part;
pub mod ping;
pub mod pong;
pub mod privmsg;
pub mod reconnect;
pub mod roomstate;
pub mod usernotice;
pub mod userstate;
pub mod whisper;

pub use cap::Cap;
pub use clearchat::{ClearChat, ClearChatAction};
pub use clearmsg::ClearMsg;
pub use globaluserstate::GlobalUserState;
pub use hosttarget::HostTarget;
pub use join::Join;
pub use notice::{Notice, NoticeKind};
pub use part::Part;
pub use ping::Ping;
pub use pong::Pong;
pub use privmsg::{Privmsg, ReplyParent};
pub use reconnect::Reconnect;
pub use roomstate::{FollowersOnly, RoomState};
pub use usernotice::{UserNotice, UserNoticeKind};
pub use userstate::UserState;
pub use whisper::Whisper;

use super::{Command, IrcMessage, IrcParseError, TagValue};

/// Why a well-formed IRC line is not a valid instance of its command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// A parameter the command needs is missing.
    #[error("{command} needs parameter {index}")]
    MissingParam {
        /// The command.
        command: &'static str,
        /// The 0-based index of the missing parameter.
        index: usize,
    },
    /// The channel parameter is not `#` followed by a login.
    #[error("{command}: malformed channel parameter {found:?}")]
    MalformedChannel {
        /// The command.
        command: &'static str,
        /// The parameter as sent.
        found: String,
    },
    /// The command needs a `nick!user@host` prefix and has none.
    #[error("{command} has no sender nick in its prefix")]
    MissingNick {
        /// The command.
        command: &'static str,
    },
    /// A tag's value cannot be read.
    #[error("{command}: malformed `{key}` tag {value:?}")]
    MalformedTag {
        /// The command.
        command: &'static str,
        /// The tag key.
        key: &'static str,
        /// The raw value.
        value: String,
    },
}

/// A line that did not parse, at either layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Not a valid IRC line.
    #[error(transparent)]
    Irc(#[from] IrcParseError),
    /// A valid IRC line, but not a valid Twitch command.
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// A server message, typed by command.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerMessage<'a> {
    /// A chat message.
    Privmsg(Privmsg<'a>),
    /// A whisper received.
    Whisper(Whisper<'a>),
    /// Chat cleared, or a user timed out or banned.
    ClearChat(ClearChat<'a>),
    /// One message deleted.
    ClearMsg(ClearMsg<'a>),
    /// Subs, raids, announcements and other channel events.
    UserNotice(UserNotice<'a>),
    /// Channel modes.
    RoomState(RoomState<'a>),
    /// The bot's state in a channel.
    UserState(UserState<'a>),
    /// The bot's global state.
    GlobalUserState(GlobalUserState<'a>),
    /// A server notice.
    Notice(Notice<'a>),
    /// The server will drop the connection soon.
    Reconnect(Reconnect<'a>),
    /// A keepalive from the server.
    Ping(Ping<'a>),
    /// The answer to our keepalive.
    Pong(Pong<'a>),
    /// Someone joined a channel.
    Join(Join<'a>),
    /// Someone left a channel.
    Part(Part<'a>),
    /// Capability negotiation.
    Cap(Cap<'a>),
    /// A (retired) host-mode change.
    HostTarget(HostTarget<'a>),
    /// Anything else (numerics, unknown commands), untyped.
    Generic(IrcMessage<'a>),
}

impl<'a> ServerMessage<'a> {
    /// Parses a line through both layers.
    pub fn parse(line: &'a str) -> Result<Self, ParseError> {
        let msg = IrcMessage::parse(line)?;
        Ok(Self::try_from(msg)?)
    }

    /// The IRC message this was typed from.
    pub fn source(&self) -> &IrcMessage<'a> {
        match self {
            ServerMessage::Privmsg(m) => &m.source,
            ServerMessage::Whisper(m) => &m.source,
            ServerMessage::ClearChat(m) => &m.source,
            ServerMessage::ClearMsg(m) => &m.source,
            ServerMessage::UserNotice(m) => &m.source,
            ServerMessage::RoomState(m) => &m.source,
            ServerMessage::UserState(m) => &m.source,
            ServerMessage::GlobalUserState(m) => &m.source,
            ServerMessage::Notice(m) => &m.source,
            ServerMessage::Reconnect(m) => &m.source,
            ServerMessage::Ping(m) => &m.source,
            ServerMessage::Pong(m) => &m.source,
            ServerMessage::Join(m) => &m.source,
            ServerMessage::Part(m) => &m.source,
            ServerMessage::Cap(m) => &m.source,
            ServerMessage::HostTarget(m) => &m.source,
            ServerMessage::Generic(m) => m,
        }
    }
}

impl<'a> TryFrom<IrcMessage<'a>> for ServerMessage<'a> {
    type Error = CommandError;

    fn try_from(msg: IrcMessage<'a>) -> Result<Self, CommandError> {
        Ok(match msg.command() {
            Command::Privmsg => ServerMessage::Privmsg(Privmsg::try_from(msg)?),
            Command::Whisper => ServerMessage::Whisper(Whisper::try_from(msg)?),
            Command::ClearChat => ServerMessage::ClearChat(ClearChat::try_from(msg)?),
            Command::ClearMsg => ServerMessage::ClearMsg(ClearMsg::try_from(msg)?),
            Command::UserNotice => ServerMessage::UserNotice(UserNotice::try_from(msg)?),
            Command::RoomState => ServerMessage::RoomState(RoomState::try_from(msg)?),
            Command::UserState => ServerMessage::UserState(UserState::try_from(msg)?),
            Command::GlobalUserState => {
                ServerMessage::GlobalUserState(GlobalUserState::try_from(msg)?)
            }
            Command::Notice => ServerMessage::Notice(Notice::try_from(msg)?),
            Command::Reconnect => ServerMessage::Reconnect(Reconnect::from(msg)),
            Command::Ping => ServerMessage::Ping(Ping::from(msg)),
            Command::Pong => ServerMessage::Pong(Pong::from(msg)),
            Command::Join => ServerMessage::Join(Join::try_from(msg)?),
            Command::Part => ServerMessage::Part(Part::try_from(msg)?),
            Command::Cap => ServerMessage::Cap(Cap::from(msg)),
            Command::HostTarget => ServerMessage::HostTarget(HostTarget::from(msg)),
            Command::Numeric(_) | Command::Other(_) => ServerMessage::Generic(msg),
        })
    }
}

/// The `#channel` parameter at `index`, as a login without `#`.
pub(crate) fn channel_param<'a>(
    msg: &IrcMessage<'a>,
    command: &'static str,
    index: usize,
) -> Result<&'a str, CommandError> {
    let param = msg
        .param(index)
        .ok_or(CommandError::MissingParam { command, index })?;
    param
        .strip_prefix('#')
        .filter(|login| !login.is_empty())
        .ok_or_else(|| CommandError::MalformedChannel {
            command,
            found: param.to_owned(),
        })
}

/// The parameter at `index`, which must be present.
pub(crate) fn required_param<'a>(
    msg: &IrcMessage<'a>,
    command: &'static str,
    index: usize,
) -> Result<&'a str, CommandError> {
    msg.param(index)
        .ok_or(CommandError::MissingParam { command, index })
}

/// The prefix nick, which must be present.
pub(crate) fn required_nick<'a>(
    msg: &IrcMessage<'a>,
    command: &'static str,
) -> Result<&'a str, CommandError> {
    msg.prefix()
        .and_then(|p| p.nick())
        .ok_or(CommandError::MissingNick { command })
}

/// A numeric tag: absent or empty is `None`, anything but a number is an error.
pub(crate) fn number<T: std::str::FromStr>(
    value: TagValue<'_>,
    command: &'static str,
    key: &'static str,
) -> Result<Option<T>, CommandError> {
    if value.is_empty() {
        return Ok(None);
    }
    value
        .raw()
        .parse()
        .map(Some)
        .map_err(|_| CommandError::MalformedTag {
            command,
            key,
            value: value.raw().to_owned(),
        })
}

/// The badges of a `badges` tag as `(name, version)` pairs, skipping malformed entries.
pub fn badges(tag: &str) -> impl Iterator<Item = (&str, &str)> {
    tag.split(',')
        .filter(|b| !b.is_empty())
        .map(|b| b.split_once('/').unwrap_or((b, "")))
}

/// Whether a `badges` tag grants the higher outgoing limits (moderator, VIP, broadcaster).
pub fn badges_grant_privilege(tag: &str) -> bool {
    badges(tag)
        .any(|(name, _)| matches!(name, "moderator" | "lead_moderator" | "vip" | "broadcaster"))
}
