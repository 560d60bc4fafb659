//! Generated help: one line listing what a user may run, one line explaining a command.
//!
//! Both answers are built from the specs, so help can never drift from what the parser
//! and the checks actually do. They are single lines because chat is read in passing;
//! the platform splits a line that exceeds its length limit. The list is personal (it
//! leaves out commands the asker may not run) but explaining a named command is not, so
//! a viewer can learn that `!timeout` needs a moderator.

use crate::event::{Role, Roles};

use super::args::{Args, format_duration};
use super::error::CommandError;
use super::registry::CommandRegistry;
use super::spec::CommandSpec;

/// The spec of a `help` command (alias `commands`) taking an optional command name,
/// answered by [`help_reply`].
pub fn help_spec() -> CommandSpec {
    CommandSpec::new("help")
        .alias("commands")
        .description("lists commands, or explains one")
        .opt_arg::<String>("command", "the command to explain")
}

/// One line naming the visible commands a user with `roles` may run, alphabetically:
/// `commands: !echo, !help, !roll — say !help <command> for more`. The hint is added
/// only when a `help` command is registered and the user may run it.
pub fn help_list<H>(registry: &CommandRegistry<H>, prefix: &str, roles: Roles) -> String {
    let mut names: Vec<&str> = registry
        .iter()
        .filter(|(spec, _)| !spec.is_hidden() && roles.at_least(spec.min_role()))
        .map(|(spec, _)| spec.name())
        .collect();
    if names.is_empty() {
        return "no commands available".to_owned();
    }
    names.sort_unstable();
    let list = names
        .iter()
        .map(|n| format!("{prefix}{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let hint = registry
        .resolve("help")
        .filter(|(spec, _)| roles.at_least(spec.min_role()))
        .map(|(spec, _)| format!(" — say {prefix}{} <command> for more", spec.name()))
        .unwrap_or_default();
    format!("commands: {list}{hint}")
}

/// One line explaining the command `name` (with or without the prefix): usage,
/// description, aliases, the role it needs and its cooldowns. An unknown name gives
/// [`CommandError::UnknownCommand`] with a suggestion. Hidden commands are explained
/// when asked for by name: hiding keeps lists short, it is not access control.
pub fn help_for<H>(
    registry: &CommandRegistry<H>,
    prefix: &str,
    name: &str,
) -> Result<String, CommandError> {
    let name = name.trim();
    let bare = name.strip_prefix(prefix).unwrap_or(name);
    let Some((spec, _)) = registry.resolve(bare) else {
        return Err(registry.unknown(prefix, bare, Roles::everyone().with(Role::Owner)));
    };
    let mut first = spec.usage(prefix);
    let description = spec.get_description().trim();
    if !description.is_empty() {
        first.push_str(" — ");
        first.push_str(description);
    }
    let mut parts = vec![first];
    if !spec.aliases().is_empty() {
        let aliases: Vec<String> = spec
            .aliases()
            .iter()
            .map(|a| format!("{prefix}{a}"))
            .collect();
        parts.push(format!("aliases: {}", aliases.join(", ")));
    }
    if spec.min_role() > Role::Everyone {
        parts.push(format!("needs {}", spec.min_role()));
    }
    let cooldowns: Vec<String> = spec
        .cooldowns()
        .iter()
        .map(|(scope, d)| format!("{} {}", format_duration(d), scope.describe()))
        .collect();
    if !cooldowns.is_empty() {
        parts.push(format!("cooldown: {}", cooldowns.join(", ")));
    }
    Ok(parts.join(" · "))
}

/// The answer of the [`help_spec`] command: [`help_for`] the named command, or
/// [`help_list`] when none is named.
pub fn help_reply<H>(
    registry: &CommandRegistry<H>,
    prefix: &str,
    roles: Roles,
    args: &Args,
) -> Result<String, CommandError> {
    match args.opt::<String>("command")? {
        Some(name) => help_for(registry, prefix, &name),
        None => Ok(help_list(registry, prefix, roles)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::command::Mention;

    fn registry() -> CommandRegistry<()> {
        let mut r = CommandRegistry::new();
        r.register(help_spec(), ()).unwrap();
        r.register(
            CommandSpec::new("roll")
                .alias("dice")
                .description("rolls a die")
                .opt_arg::<u32>("sides", "how many sides")
                .cooldown_user(Duration::from_secs(30))
                .cooldown_channel(Duration::from_secs(5)),
            (),
        )
        .unwrap();
        r.register(
            CommandSpec::new("echo")
                .description("says it back")
                .required_rest_arg("text", "what to say"),
            (),
        )
        .unwrap();
        r.register(
            CommandSpec::new("timeout")
                .alias("to")
                .description("times a user out")
                .arg::<Mention>("user", "who")
                .arg::<Duration>("duration", "how long")
                .rest_arg("reason", "why")
                .role(Role::Moderator)
                .cooldown_global(Duration::from_secs(90)),
            (),
        )
        .unwrap();
        r.register(CommandSpec::new("debug").hidden().role(Role::Owner), ())
            .unwrap();
        r
    }

    #[test]
    fn lists_what_the_user_may_run() {
        let r = registry();
        let everyone = help_list(&r, "!", Roles::everyone());
        let moderator = help_list(&r, "?", Roles::of(&[Role::Moderator]));
        let owner = help_list(&r, "!", Roles::of(&[Role::Owner]));
        insta::assert_snapshot!(format!(
            "everyone: {everyone}\nmoderator: {moderator}\nowner: {owner}"
        ));
        assert!(!everyone.contains("timeout"));
        assert!(!owner.contains("debug"));
    }

    #[test]
    fn list_without_help_or_commands() {
        let mut r = CommandRegistry::new();
        assert_eq!(
            help_list(&r, "!", Roles::everyone()),
            "no commands available"
        );
        r.register(CommandSpec::new("ping"), ()).unwrap();
        assert_eq!(help_list(&r, "!", Roles::everyone()), "commands: !ping");
    }

    #[test]
    fn explains_one_command() {
        let r = registry();
        let text = ["roll", "!dice", "TIMEOUT", "echo", "help", "debug"]
            .iter()
            .map(|n| format!("{n}: {}", help_for(&r, "!", n).unwrap()))
            .collect::<Vec<_>>()
            .join("\n");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn unknown_command_help_suggests() {
        let r = registry();
        assert_eq!(
            help_for(&r, "!", "rol").unwrap_err(),
            CommandError::UnknownCommand {
                name: "!rol".into(),
                suggestion: Some("!roll".into())
            }
        );
        assert_eq!(
            help_for(&r, "!", "tmeout").unwrap_err().to_string(),
            "unknown command !tmeout — did you mean !timeout?"
        );
    }

    #[test]
    fn help_command_answers_both_ways() {
        let r = registry();
        let spec = help_spec();
        let list = Args::parse(&spec, "!", "").unwrap();
        assert_eq!(
            help_reply(&r, "!", Roles::everyone(), &list).unwrap(),
            help_list(&r, "!", Roles::everyone())
        );
        let one = Args::parse(&spec, "!", "roll").unwrap();
        assert_eq!(
            help_reply(&r, "!", Roles::everyone(), &one).unwrap(),
            help_for(&r, "!", "roll").unwrap()
        );
    }
}
