//! [`CommandSpec`]: what a command is called, what it takes, who may run it and how often.
//!
//! A spec is plain data built with a builder, separate from the handler, so the same
//! description drives parsing, permission and cooldown checks, usage lines and help, and
//! can be built from config as easily as from code. Invalid combinations (a required
//! argument after an optional one, a name that can never be typed) are reported when the
//! spec is registered, not by panicking in the builder.

use std::time::Duration;

use crate::event::Role;

use super::args::{ArgKind, ArgSpec, FromArg};
use super::cooldown::CooldownSpec;
use super::error::CommandError;

/// The declaration of one command.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    name: String,
    aliases: Vec<String>,
    description: String,
    args: Vec<ArgSpec>,
    role: Role,
    cooldowns: CooldownSpec,
    hidden: bool,
    category: Option<String>,
}

impl CommandSpec {
    /// A command called `name` (case-insensitive: stored lowercased), runnable by
    /// everyone, with no arguments and no cooldowns.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into().trim().to_lowercase(),
            aliases: Vec::new(),
            description: String::new(),
            args: Vec::new(),
            role: Role::Everyone,
            cooldowns: CooldownSpec::default(),
            hidden: false,
            category: None,
        }
    }

    /// Another name that runs this command.
    #[must_use]
    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        self.aliases.push(alias.into().trim().to_lowercase());
        self
    }

    /// One short sentence for help.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// A required argument read as `T`: `<name>`.
    #[must_use]
    pub fn arg<T: FromArg>(self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.with_arg(ArgSpec::new::<T>(name, ArgKind::Required, description))
    }

    /// An optional argument read as `T`: `[name]`.
    #[must_use]
    pub fn opt_arg<T: FromArg>(
        self,
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.with_arg(ArgSpec::new::<T>(name, ArgKind::Optional, description))
    }

    /// The rest of the line as typed, possibly empty: `[name...]`.
    #[must_use]
    pub fn rest_arg(self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.with_arg(ArgSpec::new::<String>(name, ArgKind::Rest, description))
    }

    /// The rest of the line as typed, which must not be empty: `<name...>`.
    #[must_use]
    pub fn required_rest_arg(
        self,
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.with_arg(ArgSpec::new::<String>(
            name,
            ArgKind::RequiredRest,
            description,
        ))
    }

    /// Any argument spec, e.g. one built from config.
    #[must_use]
    pub fn with_arg(mut self, arg: ArgSpec) -> Self {
        self.args.push(arg);
        self
    }

    /// The lowest role that may run the command (default [`Role::Everyone`]).
    #[must_use]
    pub fn role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    /// How long one user waits between two uses.
    #[must_use]
    pub fn cooldown_user(mut self, d: Duration) -> Self {
        self.cooldowns.user = Some(d);
        self
    }

    /// How long a channel waits between two uses, whoever runs it.
    #[must_use]
    pub fn cooldown_channel(mut self, d: Duration) -> Self {
        self.cooldowns.channel = Some(d);
        self
    }

    /// How long everyone everywhere waits between two uses.
    #[must_use]
    pub fn cooldown_global(mut self, d: Duration) -> Self {
        self.cooldowns.global = Some(d);
        self
    }

    /// Leaves the command out of help lists and suggestions (it still runs).
    #[must_use]
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// A group name for help and documentation (e.g. `fun`, `moderation`).
    #[must_use]
    pub fn category(mut self, category: impl Into<String>) -> Self {
        self.category = Some(category.into());
        self
    }

    /// The canonical name, lowercase.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Other names, lowercase.
    pub fn aliases(&self) -> &[String] {
        &self.aliases
    }

    /// The name and then the aliases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    /// The help sentence (may be empty).
    pub fn get_description(&self) -> &str {
        &self.description
    }

    /// The declared arguments, in order.
    pub fn args(&self) -> &[ArgSpec] {
        &self.args
    }

    /// The lowest role that may run the command.
    pub fn min_role(&self) -> Role {
        self.role
    }

    /// The cooldowns per scope.
    pub fn cooldowns(&self) -> CooldownSpec {
        self.cooldowns
    }

    /// Whether help lists leave the command out.
    pub fn is_hidden(&self) -> bool {
        self.hidden
    }

    /// The help group, if any.
    pub fn get_category(&self) -> Option<&str> {
        self.category.as_deref()
    }

    /// The usage line, e.g. `!timeout <user> <duration> [reason...]`.
    pub fn usage(&self, prefix: &str) -> String {
        let mut out = format!("{prefix}{}", self.name);
        for arg in &self.args {
            out.push(' ');
            out.push_str(&arg.usage());
        }
        out
    }

    /// Checks that the spec can work: every name can be typed after a prefix, argument
    /// names are unique, no required argument follows an optional one, and a rest
    /// argument comes last.
    pub fn validate(&self) -> Result<(), CommandError> {
        let invalid = |reason: String| CommandError::InvalidSpec {
            command: self.name.as_str().into(),
            reason: reason.into(),
        };
        for name in self.names() {
            let typeable = name.chars().next().is_some_and(char::is_alphanumeric)
                && !name.contains(char::is_whitespace);
            if !typeable {
                return Err(invalid(format!(
                    "`{name}` must start with a letter or digit and have no spaces"
                )));
            }
        }
        let mut seen_optional = false;
        for (i, arg) in self.args.iter().enumerate() {
            if arg.name.is_empty() || arg.name.contains(char::is_whitespace) {
                return Err(invalid(format!(
                    "argument name `{}` is not a word",
                    arg.name
                )));
            }
            if self.args[..i].iter().any(|a| a.name == arg.name) {
                return Err(invalid(format!(
                    "argument `{}` is declared twice",
                    arg.name
                )));
            }
            if arg.kind.is_rest() && i + 1 != self.args.len() {
                return Err(invalid(format!(
                    "rest argument `{}` must be last",
                    arg.name
                )));
            }
            match arg.kind {
                ArgKind::Required if seen_optional => {
                    return Err(invalid(format!(
                        "required argument `{}` follows an optional one",
                        arg.name
                    )));
                }
                ArgKind::Optional => seen_optional = true,
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Mention;

    #[test]
    fn usage_lines() {
        let spec = CommandSpec::new("Timeout")
            .arg::<Mention>("user", "who")
            .arg::<Duration>("duration", "how long")
            .rest_arg("reason", "why");
        assert_eq!(spec.name(), "timeout");
        assert_eq!(spec.usage("!"), "!timeout <user> <duration> [reason...]");
        assert_eq!(CommandSpec::new("ping").usage("?"), "?ping");
        let say = CommandSpec::new("say")
            .opt_arg::<String>("channel", "")
            .required_rest_arg("text", "");
        assert_eq!(say.usage("!"), "!say [channel] <text...>");
    }

    #[test]
    fn builder_sets_everything() {
        let spec = CommandSpec::new("roll")
            .alias("Dice")
            .description("roll a die")
            .role(Role::Vip)
            .cooldown_user(Duration::from_secs(30))
            .cooldown_global(Duration::from_secs(2))
            .hidden()
            .category("fun");
        assert_eq!(spec.aliases(), ["dice"]);
        assert_eq!(spec.names().collect::<Vec<_>>(), ["roll", "dice"]);
        assert_eq!(spec.get_description(), "roll a die");
        assert_eq!(spec.min_role(), Role::Vip);
        assert_eq!(spec.cooldowns().user, Some(Duration::from_secs(30)));
        assert_eq!(spec.cooldowns().channel, None);
        assert!(spec.is_hidden());
        assert_eq!(spec.get_category(), Some("fun"));
    }

    #[test]
    fn validation() {
        assert!(
            CommandSpec::new("ok")
                .arg::<u8>("a", "")
                .opt_arg::<u8>("b", "")
                .rest_arg("c", "")
                .validate()
                .is_ok()
        );
        let bad = [
            CommandSpec::new(""),
            CommandSpec::new("two words"),
            CommandSpec::new("!bang"),
            CommandSpec::new("ok").alias("no way"),
            CommandSpec::new("ok")
                .opt_arg::<u8>("a", "")
                .arg::<u8>("b", ""),
            CommandSpec::new("ok").rest_arg("a", "").arg::<u8>("b", ""),
            CommandSpec::new("ok").arg::<u8>("a", "").arg::<u8>("a", ""),
            CommandSpec::new("ok").arg::<u8>("", ""),
        ];
        for spec in bad {
            assert!(
                matches!(spec.validate(), Err(CommandError::InvalidSpec { .. })),
                "{spec:?}"
            );
        }
    }
}
