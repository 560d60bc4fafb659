//! [`CommandError`]: every way a command can fail, for the bot's one error hook.
//!
//! As in poise's `FrameworkError`, one enum carries each failure with its context, so one
//! hook can answer in chat consistently (or stay quiet for, say, unknown commands). The
//! `Display` text is meant to be said in chat: short, naming the command with the prefix
//! the user typed, and saying what to do. No message starts with text the user typed, so
//! a reply can never be turned into a platform command (`/ban …`), and echoed input is
//! shortened.

use std::sync::Arc;
use std::time::Duration;

use crate::event::Role;

use super::args::format_duration;
use super::cooldown::CooldownScope;
use super::parse::ParseError;

/// How many characters of user input an error message repeats.
const ECHO_MAX_CHARS: usize = 32;

/// `s`, cut to [`ECHO_MAX_CHARS`] characters with `…` when longer.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(ECHO_MAX_CHARS) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or(s)),
        None => s.to_owned(),
    }
}

fn did_you_mean(suggestion: &Option<Arc<str>>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" — did you mean {s}?"))
        .unwrap_or_default()
}

/// A failure to run a command. `command` fields hold the command as typed with its prefix
/// (`!timeout`), so messages read right whatever prefix the channel uses. Text is held as
/// `Arc<str>` so the error stays small enough to return everywhere and cheap to clone
/// when it is fanned out to several hooks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// No command has this name or alias.
    #[error("unknown command {}{}", shorten(name), did_you_mean(suggestion))]
    UnknownCommand {
        /// What was typed, with the prefix.
        name: Arc<str>,
        /// The closest command the user may run, with the prefix, if one is close.
        suggestion: Option<Arc<str>>,
    },
    /// The user's highest role is below the command's.
    #[error("{command} needs {required}")]
    MissingRole {
        /// The command.
        command: Arc<str>,
        /// The lowest role that may run it.
        required: Role,
        /// The user's highest role.
        has: Role,
    },
    /// A cooldown is running.
    #[error("{command} is on cooldown for {}", format_duration(*remaining))]
    Cooldown {
        /// The command.
        command: Arc<str>,
        /// The scope with the longest wait.
        scope: CooldownScope,
        /// How long until it can be used.
        remaining: Duration,
    },
    /// An argument is not of the declared type.
    #[error("bad argument <{arg}> `{}`: {reason}. usage: {usage}", shorten(input))]
    BadArgument {
        /// The command.
        command: Arc<str>,
        /// The argument's name.
        arg: Arc<str>,
        /// What was typed for it.
        input: Arc<str>,
        /// The expected type's name (`duration`).
        expected: Arc<str>,
        /// Why it did not convert, as a phrase.
        reason: Arc<str>,
        /// The usage line.
        usage: Arc<str>,
    },
    /// Too few or too many arguments.
    #[error("usage: {usage}")]
    Usage {
        /// The command.
        command: Arc<str>,
        /// The usage line.
        usage: Arc<str>,
    },
    /// The arguments could not be split (an unclosed quote).
    #[error("{command}: {error}")]
    Parse {
        /// The command.
        command: Arc<str>,
        /// What is wrong with the quoting.
        error: ParseError,
    },
    /// The handler returned an error.
    #[error("{command} failed: {error}")]
    HandlerFailed {
        /// The command.
        command: Arc<str>,
        /// The handler's error, for logs.
        error: Arc<str>,
    },
    /// A name or alias is already registered (a programming or config error).
    #[error("command name `{name}` is already taken")]
    Conflict {
        /// The name registered twice, lowercase.
        name: Arc<str>,
    },
    /// A spec cannot work as declared (a programming or config error).
    #[error("invalid command `{command}`: {reason}")]
    InvalidSpec {
        /// The command's name.
        command: Arc<str>,
        /// What is wrong.
        reason: Arc<str>,
    },
}

impl CommandError {
    /// A [`CommandError::HandlerFailed`] for `command` from any error.
    pub fn handler_failed(command: impl Into<Arc<str>>, error: impl std::fmt::Display) -> Self {
        CommandError::HandlerFailed {
            command: command.into(),
            error: error.to_string().into(),
        }
    }

    /// What a bot should say in chat. The same as `Display`, except that a handler's
    /// internal error is not shown to chat (it belongs in the logs).
    pub fn user_message(&self) -> String {
        match self {
            CommandError::HandlerFailed { command, .. } => {
                format!("{command} failed, sorry; try again later")
            }
            other => other.to_string(),
        }
    }

    /// The command concerned, with its prefix, when the error is about one invocation.
    pub fn command(&self) -> Option<&str> {
        match self {
            CommandError::MissingRole { command, .. }
            | CommandError::Cooldown { command, .. }
            | CommandError::BadArgument { command, .. }
            | CommandError::Usage { command, .. }
            | CommandError::Parse { command, .. }
            | CommandError::HandlerFailed { command, .. } => Some(command),
            CommandError::UnknownCommand { .. }
            | CommandError::Conflict { .. }
            | CommandError::InvalidSpec { .. } => None,
        }
    }

    /// Whether the same invocation can succeed later without changes (a cooldown).
    pub fn is_transient(&self) -> bool {
        matches!(self, CommandError::Cooldown { .. })
    }

    /// How long to wait before the same invocation can succeed, for a cooldown.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CommandError::Cooldown { remaining, .. } => Some(*remaining),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_well_in_chat() {
        let errors = [
            CommandError::UnknownCommand {
                name: "!rol".into(),
                suggestion: Some("!roll".into()),
            },
            CommandError::UnknownCommand {
                name: format!("!{}", "a".repeat(100)).into(),
                suggestion: None,
            },
            CommandError::MissingRole {
                command: "!timeout".into(),
                required: Role::Moderator,
                has: Role::Subscriber,
            },
            CommandError::Cooldown {
                command: "!roll".into(),
                scope: CooldownScope::User,
                remaining: Duration::from_millis(11_300),
            },
            CommandError::BadArgument {
                command: "!timeout".into(),
                arg: "duration".into(),
                input: "abc".into(),
                expected: "duration".into(),
                reason: "expected a duration like 30s or 5m".into(),
                usage: "!timeout <user> <duration> [reason...]".into(),
            },
            CommandError::Usage {
                command: "!timeout".into(),
                usage: "!timeout <user> <duration> [reason...]".into(),
            },
            CommandError::Parse {
                command: "!echo".into(),
                error: ParseError::UnterminatedQuote {
                    quote: '"',
                    position: 6,
                },
            },
            CommandError::handler_failed("!weather", "connection refused"),
            CommandError::Conflict {
                name: "roll".into(),
            },
            CommandError::InvalidSpec {
                command: "x".into(),
                reason: "argument `a` is declared twice".into(),
            },
        ];
        let text: String = errors
            .iter()
            .map(|e| format!("{e}\n  chat: {}\n", e.user_message()))
            .collect();
        insta::assert_snapshot!(text);
    }

    #[test]
    fn transience_and_accessors() {
        let cd = CommandError::Cooldown {
            command: "!roll".into(),
            scope: CooldownScope::Global,
            remaining: Duration::from_secs(3),
        };
        assert!(cd.is_transient());
        assert_eq!(cd.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(cd.command(), Some("!roll"));
        let usage = CommandError::Usage {
            command: "!x".into(),
            usage: "!x".into(),
        };
        assert!(!usage.is_transient());
        assert_eq!(usage.retry_after(), None);
        assert_eq!(CommandError::Conflict { name: "x".into() }.command(), None);
    }

    #[test]
    fn shortens_long_input_on_char_boundaries() {
        assert_eq!(shorten("short"), "short");
        let long = "é".repeat(40);
        assert_eq!(shorten(&long), format!("{}…", "é".repeat(32)));
    }
}
