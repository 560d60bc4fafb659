//! [`ConfigError`]: every way a config file can be wrong, each pointing at the spot.
//!
//! The people who read these messages are channel operators, not Rust developers, so every
//! variant carries a [`Location`] (file, line, column) and the dotted key path, and its
//! message ends with what to do about it. Messages are one line in the
//! `file:line:column: ...` shape that editors and terminals turn into links.

use std::fmt;
use std::path::PathBuf;

use crate::topic::TopicError;

/// Where in a config file something is: file name, 1-based line and column.
///
/// A line of `0` means the position is unknown (for sections built in code rather than
/// read from a file); it is then left out of the message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file name the config was read from (or the name given to `from_str_named`).
    pub file: String,
    /// 1-based line number, `0` when unknown.
    pub line: usize,
    /// 1-based column (in characters), `0` when unknown.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error(
        "{}: cannot read the config file: {message}; check that the path is right and the file is readable",
        path.display()
    )]
    Io {
        /// The path that was tried.
        path: PathBuf,
        /// The kind of I/O failure.
        kind: std::io::ErrorKind,
        /// The operating system's description.
        message: String,
    },
    /// The text is not valid TOML.
    #[error("{location}: TOML syntax error{}: {message}; fix the TOML syntax at this position", in_key(.key.as_deref()))]
    Syntax {
        /// Where the parser stopped.
        location: Location,
        /// Best guess of the key (or section) being written when the error happened.
        key: Option<String>,
        /// The parser's description.
        message: String,
    },
    /// A value has the wrong type or an unacceptable value.
    #[error("{location}: `{key}`: {message}; {hint}")]
    InvalidValue {
        /// Where the value is.
        location: Location,
        /// Dotted key path, e.g. `bot.name` or `platform[1].port`.
        key: String,
        /// What is wrong, e.g. ``invalid type: integer `5`, expected a string``.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// A key that this section does not know (often a typo).
    #[error("{location}: unknown key `{key}`{}; remove it or fix its spelling", expected_list(.expected.as_deref()))]
    UnknownKey {
        /// Where the key is written.
        location: Location,
        /// Dotted key path of the unknown key.
        key: String,
        /// The keys that are allowed here, already formatted (``one of `a`, `b` ``).
        expected: Option<String>,
    },
    /// A required key is absent.
    #[error("{location}: missing required key `{key}`; add `{}` to this section", leaf_assignment(.key))]
    MissingKey {
        /// The section that lacks the key.
        location: Location,
        /// Dotted key path of the missing key.
        key: String,
    },
    /// `${VAR}` names an environment variable that is not set and has no default.
    #[error(
        "{location}: `{key}`: environment variable `{var}` is not set; set it, or give a default with `${{{var}:-default}}`"
    )]
    MissingEnv {
        /// Where the `${VAR}` is written.
        location: Location,
        /// Dotted key path of the value.
        key: String,
        /// The variable's name.
        var: String,
    },
    /// A `${` that does not form a valid `${NAME}` or `${NAME:-default}`.
    #[error(
        "{location}: `{key}`: {message}; write `${{NAME}}` or `${{NAME:-default}}`, or `$${{` for a literal `${{`"
    )]
    Interpolation {
        /// Where the bad `${` is.
        location: Location,
        /// Dotted key path of the value.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// Two `[[platform]]` entries share an id.
    #[error(
        "{location}: `{key}`: platform id `{id}` is already used by `{first_key}` (line {first_line}); give each [[platform]] a unique `id`"
    )]
    DuplicatePlatformId {
        /// Where the second use is.
        location: Location,
        /// Key path of the second use, e.g. `platform[1].id`.
        key: String,
        /// The duplicated id.
        id: String,
        /// Key path of the first platform with that id, e.g. `platform[0]`.
        first_key: String,
        /// Line of the first platform with that id.
        first_line: usize,
    },
    /// A topic pattern that is not valid NATS-style syntax.
    #[error(
        "{location}: `{key}`: {reason}; a pattern is dot-separated tokens where `*` matches one token and a final `>` matches the rest, e.g. `platform.*.chat.message`"
    )]
    InvalidPattern {
        /// Where the pattern is.
        location: Location,
        /// Dotted key path of the pattern.
        key: String,
        /// Why [`crate::topic::Pattern`] refused it.
        reason: TopicError,
    },
}

fn in_key(key: Option<&str>) -> String {
    key.map(|k| format!(" in `{k}`")).unwrap_or_default()
}

fn expected_list(expected: Option<&str>) -> String {
    expected
        .map(|e| format!(" (expected {e})"))
        .unwrap_or_default()
}

/// `plugins.markov.order` → ``order = …``: what the user should type.
fn leaf_assignment(key: &str) -> String {
    let leaf = key.rsplit('.').next().unwrap_or(key);
    format!("{leaf} = …")
}

impl ConfigError {
    /// Where the problem is, when it is inside a file (everything but [`ConfigError::Io`]).
    pub fn location(&self) -> Option<&Location> {
        match self {
            Self::Io { .. } => None,
            Self::Syntax { location, .. }
            | Self::InvalidValue { location, .. }
            | Self::UnknownKey { location, .. }
            | Self::MissingKey { location, .. }
            | Self::MissingEnv { location, .. }
            | Self::Interpolation { location, .. }
            | Self::DuplicatePlatformId { location, .. }
            | Self::InvalidPattern { location, .. } => Some(location),
        }
    }

    /// The dotted key path the problem is about, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Io { .. } => None,
            Self::Syntax { key, .. } => key.as_deref(),
            Self::InvalidValue { key, .. }
            | Self::UnknownKey { key, .. }
            | Self::MissingKey { key, .. }
            | Self::MissingEnv { key, .. }
            | Self::Interpolation { key, .. }
            | Self::DuplicatePlatformId { key, .. }
            | Self::InvalidPattern { key, .. } => Some(key),
        }
    }

    /// Whether trying again unchanged might succeed. Only some I/O failures are; every
    /// other error needs the file (or the environment) fixed first.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Io { kind, .. } if matches!(
                kind,
                std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::TimedOut
            )
        )
    }
}
