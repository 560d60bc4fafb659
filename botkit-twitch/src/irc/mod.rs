//! Twitch IRC (TMI): the zero-copy IRCv3 parser and the typed commands built on it.
//!
//! Parsing happens in two layers, as in twitch-irc-rs:
//!
//! 1. [`IrcMessage::parse`] splits a line into tags, prefix, command and parameters. It
//!    allocates nothing: every part is a slice of the input, the middle parameters are kept
//!    as one slice and split on demand, and tag values stay escaped until read (see
//!    [`tags`]). It still rejects every malformed line the reference parsers reject, so
//!    later layers never see garbage: CR/LF inside the line, `@`/`:` with nothing after,
//!    a command that is neither letters nor exactly three digits, doubled spaces between
//!    parameters, a prefix with an empty nick, user or host part.
//! 2. [`commands::ServerMessage::try_from`] turns a message into one struct per command
//!    (one module per command under [`commands`]), checking the structure each needs
//!    (a `#channel`, a sender) and reading its tags in one pass. Missing tags are `None`
//!    rather than errors: old fixtures and third-party servers omit them, and a bot is
//!    better served by a message with fewer details than by none.

pub mod commands;
pub mod emotes;
pub mod tags;

use std::borrow::Cow;
use std::fmt;

pub use tags::{TagValue, Tags};

/// Why a line is not a valid IRC message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IrcParseError {
    /// The line contains CR or LF (lines must be split before parsing).
    #[error("newlines are not permitted inside an IRC line")]
    Newline,
    /// The line is empty or has no command.
    #[error("the line has no command")]
    MissingCommand,
    /// `@` with no tags after it.
    #[error("`@` is not followed by tags")]
    EmptyTags,
    /// Tags that are not followed by a space and a command.
    #[error("no space after the tags")]
    NoSpaceAfterTags,
    /// `:` with no prefix after it.
    #[error("`:` is not followed by a prefix")]
    EmptyPrefix,
    /// A prefix that is not followed by a space and a command.
    #[error("no space after the prefix")]
    NoSpaceAfterPrefix,
    /// A prefix with an empty nick, user or host part (`:a!@b`).
    #[error("the prefix has an empty nick, user or host part")]
    MalformedPrefix,
    /// A command that is neither all letters nor exactly three digits.
    #[error("the command must be letters only or a three-digit number")]
    MalformedCommand,
    /// Two spaces in a row, or a trailing space, among the middle parameters.
    #[error("only single spaces may separate the parameters")]
    EmptyParam,
}

/// The source of a message: `nick!user@host` or a bare server name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Prefix<'a> {
    raw: &'a str,
    nick: Option<&'a str>,
    user: Option<&'a str>,
    host: Option<&'a str>,
}

impl<'a> Prefix<'a> {
    fn parse(raw: &'a str) -> Result<Self, IrcParseError> {
        let bang = memchr::memchr(b'!', raw.as_bytes());
        let at = memchr::memchr(b'@', raw.as_bytes());
        let prefix = match (bang, at) {
            (None, None) => Prefix {
                raw,
                nick: None,
                user: None,
                host: Some(raw),
            },
            (Some(b), Some(a)) if b < a => Prefix {
                raw,
                nick: Some(&raw[..b]),
                user: Some(&raw[b + 1..a]),
                host: Some(&raw[a + 1..]),
            },
            (Some(b), None) => Prefix {
                raw,
                nick: Some(&raw[..b]),
                user: Some(&raw[b + 1..]),
                host: None,
            },
            (None, Some(a)) => Prefix {
                raw,
                nick: Some(&raw[..a]),
                user: None,
                host: Some(&raw[a + 1..]),
            },
            // `@` before `!`: the `!` belongs to the host, which IRC forbids.
            (Some(_), Some(_)) => return Err(IrcParseError::MalformedPrefix),
        };
        let empty = |part: Option<&str>| part.is_some_and(str::is_empty);
        if empty(prefix.nick) || empty(prefix.user) || empty(prefix.host) {
            return Err(IrcParseError::MalformedPrefix);
        }
        Ok(prefix)
    }

    /// The prefix as sent, without the `:`.
    pub const fn raw(&self) -> &'a str {
        self.raw
    }

    /// The nick (`randers` in `randers!randers@randers.tmi.twitch.tv`); `None` for a
    /// server prefix such as `tmi.twitch.tv`.
    pub const fn nick(&self) -> Option<&'a str> {
        self.nick
    }

    /// The user part, if any.
    pub const fn user(&self) -> Option<&'a str> {
        self.user
    }

    /// The host part (the whole prefix when it is a server name).
    pub const fn host(&self) -> Option<&'a str> {
        self.host
    }
}

impl fmt::Debug for Prefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw)
    }
}

/// An IRC command, case-folded. Known Twitch commands have their own variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Command<'a> {
    /// `PRIVMSG`: a chat message.
    Privmsg,
    /// `WHISPER`: a private message.
    Whisper,
    /// `CLEARCHAT`: chat cleared, or a user timed out or banned.
    ClearChat,
    /// `CLEARMSG`: one message deleted.
    ClearMsg,
    /// `USERNOTICE`: subs, raids, announcements…
    UserNotice,
    /// `ROOMSTATE`: channel modes.
    RoomState,
    /// `USERSTATE`: the bot's state in a channel.
    UserState,
    /// `GLOBALUSERSTATE`: the bot's global state, after login.
    GlobalUserState,
    /// `NOTICE`: a server notice.
    Notice,
    /// `RECONNECT`: the server is about to drop the connection.
    Reconnect,
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
    /// `JOIN`.
    Join,
    /// `PART`.
    Part,
    /// `CAP`: capability negotiation.
    Cap,
    /// `HOSTTARGET` (retired by Twitch in 2022).
    HostTarget,
    /// A three-digit numeric reply such as `001` or `353`.
    Numeric(&'a str),
    /// Any other command, as sent (compare with [`Command::name`] for the upper-case form).
    Other(&'a str),
}

impl<'a> Command<'a> {
    fn parse(raw: &'a str) -> Result<Self, IrcParseError> {
        let bytes = raw.as_bytes();
        if bytes.is_empty() {
            return Err(IrcParseError::MalformedCommand);
        }
        if bytes.iter().all(u8::is_ascii_digit) {
            return if bytes.len() == 3 {
                Ok(Command::Numeric(raw))
            } else {
                Err(IrcParseError::MalformedCommand)
            };
        }
        if !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(IrcParseError::MalformedCommand);
        }
        // Twitch sends upper case; the case-insensitive compare only runs on the rare
        // lower-case line.
        let known = |name: &str| raw == name || raw.eq_ignore_ascii_case(name);
        Ok(match bytes.len() {
            4 if known("PING") => Command::Ping,
            4 if known("PONG") => Command::Pong,
            4 if known("JOIN") => Command::Join,
            4 if known("PART") => Command::Part,
            3 if known("CAP") => Command::Cap,
            6 if known("NOTICE") => Command::Notice,
            7 if known("PRIVMSG") => Command::Privmsg,
            7 if known("WHISPER") => Command::Whisper,
            8 if known("CLEARMSG") => Command::ClearMsg,
            9 if known("CLEARCHAT") => Command::ClearChat,
            9 if known("ROOMSTATE") => Command::RoomState,
            9 if known("USERSTATE") => Command::UserState,
            9 if known("RECONNECT") => Command::Reconnect,
            10 if known("USERNOTICE") => Command::UserNotice,
            10 if known("HOSTTARGET") => Command::HostTarget,
            15 if known("GLOBALUSERSTATE") => Command::GlobalUserState,
            _ => Command::Other(raw),
        })
    }

    /// The command in upper case (`PRIVMSG`, `001`, `FOO`); borrows unless an unknown
    /// command arrived in lower case.
    pub fn name(&self) -> Cow<'a, str> {
        Cow::Borrowed(match self {
            Command::Privmsg => "PRIVMSG",
            Command::Whisper => "WHISPER",
            Command::ClearChat => "CLEARCHAT",
            Command::ClearMsg => "CLEARMSG",
            Command::UserNotice => "USERNOTICE",
            Command::RoomState => "ROOMSTATE",
            Command::UserState => "USERSTATE",
            Command::GlobalUserState => "GLOBALUSERSTATE",
            Command::Notice => "NOTICE",
            Command::Reconnect => "RECONNECT",
            Command::Ping => "PING",
            Command::Pong => "PONG",
            Command::Join => "JOIN",
            Command::Part => "PART",
            Command::Cap => "CAP",
            Command::HostTarget => "HOSTTARGET",
            Command::Numeric(n) => n,
            Command::Other(raw) => {
                if raw.bytes().any(|b| b.is_ascii_lowercase()) {
                    return Cow::Owned(raw.to_ascii_uppercase());
                }
                raw
            }
        })
    }

    /// Whether the command is one that addresses a `#channel` in its first parameter.
    fn addresses_channel(&self) -> bool {
        matches!(
            self,
            Command::Privmsg
                | Command::Join
                | Command::Part
                | Command::UserState
                | Command::Notice
                | Command::UserNotice
                | Command::ClearChat
                | Command::ClearMsg
                | Command::RoomState
                | Command::HostTarget
        )
    }
}

/// One parsed IRC line, borrowing every part from the input.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IrcMessage<'a> {
    raw: &'a str,
    tags: Tags<'a>,
    prefix: Option<Prefix<'a>>,
    command: Command<'a>,
    /// The middle parameters, separated by single spaces ("" when there are none).
    middle: &'a str,
    /// The trailing parameter (after ` :`), if any.
    trailing: Option<&'a str>,
}

impl<'a> IrcMessage<'a> {
    /// Parses one line (without its CRLF).
    pub fn parse(line: &'a str) -> Result<Self, IrcParseError> {
        let bytes = line.as_bytes();
        if memchr::memchr2(b'\r', b'\n', bytes).is_some() {
            return Err(IrcParseError::Newline);
        }
        let mut rest = line;
        let mut tags = Tags::default();
        if let Some(after) = rest.strip_prefix('@') {
            let space =
                memchr::memchr(b' ', after.as_bytes()).ok_or(IrcParseError::NoSpaceAfterTags)?;
            if space == 0 {
                return Err(IrcParseError::EmptyTags);
            }
            tags = Tags::from_raw(&after[..space]);
            rest = &after[space + 1..];
        }
        let mut prefix = None;
        if let Some(after) = rest.strip_prefix(':') {
            let space =
                memchr::memchr(b' ', after.as_bytes()).ok_or(IrcParseError::NoSpaceAfterPrefix)?;
            if space == 0 {
                return Err(IrcParseError::EmptyPrefix);
            }
            prefix = Some(Prefix::parse(&after[..space])?);
            rest = &after[space + 1..];
        }
        let (command, params) = match memchr::memchr(b' ', rest.as_bytes()) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        if command.is_empty() && params.is_none() && prefix.is_none() && tags.is_empty() {
            return Err(IrcParseError::MissingCommand);
        }
        let command = Command::parse(command)?;
        let (middle, trailing) = match params {
            None => ("", None),
            Some(params) => split_params(params)?,
        };
        Ok(Self {
            raw: line,
            tags,
            prefix,
            command,
            middle,
            trailing,
        })
    }

    /// The whole line as parsed.
    pub const fn raw(&self) -> &'a str {
        self.raw
    }

    /// The tags (empty when the line had none).
    pub const fn tags(&self) -> Tags<'a> {
        self.tags
    }

    /// The value of one tag, still escaped; see [`Tags::get`].
    pub fn tag(&self, key: &str) -> Option<TagValue<'a>> {
        self.tags.get(key)
    }

    /// The prefix, if the line had one.
    pub const fn prefix(&self) -> Option<Prefix<'a>> {
        self.prefix
    }

    /// The command.
    pub const fn command(&self) -> Command<'a> {
        self.command
    }

    /// The parameters in order, the trailing one last.
    pub fn params(&self) -> Params<'a> {
        Params {
            middle: (!self.middle.is_empty()).then_some(self.middle),
            trailing: self.trailing,
        }
    }

    /// The `n`-th parameter (0-based).
    pub fn param(&self, n: usize) -> Option<&'a str> {
        self.params().nth(n)
    }

    /// How many parameters the line has.
    pub fn param_count(&self) -> usize {
        self.params().count()
    }

    /// The last parameter, trailing or not.
    pub fn last_param(&self) -> Option<&'a str> {
        self.trailing
            .or_else(|| self.middle.rsplit(' ').next().filter(|p| !p.is_empty()))
    }

    /// The trailing parameter (after ` :`), if the line had one.
    pub const fn trailing(&self) -> Option<&'a str> {
        self.trailing
    }

    /// The first parameter when it names a channel (`#login` with something after `#`),
    /// for the commands that address a channel. Returns the login without `#`.
    pub fn channel_login(&self) -> Option<&'a str> {
        if !self.command.addresses_channel() {
            return None;
        }
        self.param(0)
            .and_then(|p| p.strip_prefix('#'))
            .filter(|c| !c.is_empty())
    }

    /// The login of the user the message is from: the prefix nick for `PRIVMSG`,
    /// `WHISPER`, `JOIN` and `PART`, the `login` tag for `USERNOTICE` and `CLEARMSG`.
    pub fn sender_login(&self) -> Option<&'a str> {
        match self.command {
            Command::Privmsg | Command::Whisper | Command::Join | Command::Part => {
                self.prefix.and_then(|p| p.nick)
            }
            Command::UserNotice | Command::ClearMsg => self.tag("login").map(|v| v.raw()),
            _ => None,
        }
    }

    /// The message text and whether it was a `/me` action. The text is the last
    /// parameter when there are at least two, or a trailing one; `CLEARCHAT`, `JOIN` and
    /// `PART` have none. `\x01ACTION …\x01` is unwrapped for `PRIVMSG` and `CLEARMSG`.
    pub fn text(&self) -> Option<(&'a str, bool)> {
        if matches!(
            self.command,
            Command::ClearChat | Command::Join | Command::Part
        ) {
            return None;
        }
        let has_text = self.trailing.is_some() || self.middle.contains(' ');
        if !has_text {
            return None;
        }
        let text = self.last_param()?;
        if matches!(self.command, Command::Privmsg | Command::ClearMsg) {
            Some(strip_action(text))
        } else {
            Some((text, false))
        }
    }
}

impl fmt::Debug for IrcMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IrcMessage")
            .field("tags", &self.tags)
            .field("prefix", &self.prefix)
            .field("command", &self.command.name())
            .field("params", &self.params().collect::<Vec<_>>())
            .finish()
    }
}

impl fmt::Display for IrcMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw)
    }
}

/// Splits `params` (after the command's space) into the middle span and the trailing
/// parameter, rejecting empty middle parameters.
#[inline]
fn split_params(params: &str) -> Result<(&str, Option<&str>), IrcParseError> {
    let bytes = params.as_bytes();
    let mut start = 0;
    loop {
        let rest = &bytes[start..];
        match rest.first() {
            None | Some(b' ') => return Err(IrcParseError::EmptyParam),
            Some(b':') => {
                let middle = if start == 0 { "" } else { &params[..start - 1] };
                return Ok((middle, Some(&params[start + 1..])));
            }
            Some(_) => match memchr::memchr(b' ', rest) {
                Some(i) => start += i + 1,
                None => return Ok((params, None)),
            },
        }
    }
}

/// Unwraps `\x01ACTION text\x01` (the form `/me` takes); anything else is plain text.
pub fn strip_action(text: &str) -> (&str, bool) {
    match text
        .strip_prefix("\u{1}ACTION ")
        .and_then(|t| t.strip_suffix('\u{1}'))
    {
        Some(inner) => (inner, true),
        None => (text, false),
    }
}

/// Iterator over a message's parameters; see [`IrcMessage::params`].
#[derive(Clone, Debug)]
pub struct Params<'a> {
    middle: Option<&'a str>,
    trailing: Option<&'a str>,
}

impl<'a> Iterator for Params<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        match self.middle {
            Some(middle) => match memchr::memchr(b' ', middle.as_bytes()) {
                Some(i) => {
                    self.middle = Some(&middle[i + 1..]);
                    Some(&middle[..i])
                }
                None => {
                    self.middle = None;
                    Some(middle)
                }
            },
            None => self.trailing.take(),
        }
    }
}

/// Parses one line; shorthand for [`IrcMessage::parse`].
pub fn parse(line: &str) -> Result<IrcMessage<'_>, IrcParseError> {
    IrcMessage::parse(line)
}

/// Splits a chunk of input (a WebSocket frame, or bytes read from TCP) into lines,
/// dropping the CR/LF and empty fragments.
pub fn lines(chunk: &str) -> impl Iterator<Item = &str> {
    chunk.split(['\r', '\n']).filter(|line| !line.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_full_line() {
        let line = "@badge-info=;badges=;color=#19E6E6;display-name=randers :randers!randers@randers.tmi.twitch.tv PRIVMSG #pajlada :Pajapains";
        let msg = IrcMessage::parse(line).unwrap();
        assert_eq!(msg.command(), Command::Privmsg);
        assert_eq!(msg.prefix().and_then(|p| p.nick()), Some("randers"));
        assert_eq!(msg.params().collect::<Vec<_>>(), ["#pajlada", "Pajapains"]);
        assert_eq!(msg.channel_login(), Some("pajlada"));
        assert_eq!(msg.text(), Some(("Pajapains", false)));
        assert_eq!(msg.tag("color").map(|v| v.raw()), Some("#19E6E6"));
    }

    #[test]
    fn middle_and_trailing_params() {
        let msg = IrcMessage::parse(":coolguy foo bar baz :  asdf quux ").unwrap();
        assert_eq!(msg.command().name(), "FOO");
        assert_eq!(
            msg.params().collect::<Vec<_>>(),
            ["bar", "baz", "  asdf quux "]
        );
        let msg = IrcMessage::parse("PONG a:b b: :cd").unwrap();
        assert_eq!(msg.params().collect::<Vec<_>>(), ["a:b", "b:", "cd"]);
        let msg = IrcMessage::parse("PING asd def :").unwrap();
        assert_eq!(msg.params().collect::<Vec<_>>(), ["asd", "def", ""]);
        assert_eq!(msg.last_param(), Some(""));
    }

    #[test]
    fn lower_case_commands_fold() {
        assert_eq!(IrcMessage::parse("ping").unwrap().command(), Command::Ping);
        assert_eq!(
            IrcMessage::parse("foo bar").unwrap().command().name(),
            "FOO"
        );
    }

    #[test]
    fn rejects_what_the_reference_parsers_reject() {
        let cases = [
            ("", IrcParseError::MissingCommand),
            ("@key=value", IrcParseError::NoSpaceAfterTags),
            ("@ PING", IrcParseError::EmptyTags),
            ("@key=value : TEST", IrcParseError::EmptyPrefix),
            (
                "@key=value :tmi.twitch.tv",
                IrcParseError::NoSpaceAfterPrefix,
            ),
            (
                "@key=value :tmi.twitch.tv P!NG",
                IrcParseError::MalformedCommand,
            ),
            ("@key=value :tmi.twitch.tv PING ", IrcParseError::EmptyParam),
            ("PING asd  def", IrcParseError::EmptyParam),
            (":a!@b PING xD", IrcParseError::MalformedPrefix),
            ("01", IrcParseError::MalformedCommand),
            ("abc\ndef", IrcParseError::Newline),
        ];
        for (line, error) in cases {
            assert_eq!(IrcMessage::parse(line), Err(error), "{line:?}");
        }
    }

    #[test]
    fn splits_frames_into_lines() {
        let frame = "PING :tmi.twitch.tv\r\n:tmi.twitch.tv RECONNECT\r\n\r\n";
        assert_eq!(
            lines(frame).collect::<Vec<_>>(),
            ["PING :tmi.twitch.tv", ":tmi.twitch.tv RECONNECT"]
        );
    }
}
