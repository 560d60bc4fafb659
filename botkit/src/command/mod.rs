//! The command framework's pure core: recognizing, checking and describing chat commands.
//!
//! Everything here is plain data and functions with no I/O and no clock of its own, so
//! the runtime glue that subscribes to chat, calls handlers and sends replies is a thin
//! loop, and every rule can be tested without a bot. The flow for one chat line:
//!
//! 1. [`Prefixes::for_channel`] picks the prefix, [`parse_command_line`] recognizes the
//!    command name;
//! 2. [`CommandRegistry::prepare`] resolves it (aliases, case) and runs
//!    [`check_invocation`]: role, then arguments, then cooldowns, so neither a user
//!    without the role nor a typo burns a cooldown;
//! 3. the handler reads typed values from [`Args`];
//! 4. any failure is one [`CommandError`] whose `Display` can be said in chat.
//!
//! Roles come from each platform through the shared mappings in [`roles_from_twitch_badges`]
//! and [`roles_from_cytube_rank`]; bot owners are added by [`effective_roles`]. Help is
//! generated from the specs ([`help_list`], [`help_for`]).
//!
//! ```
//! use std::time::Duration;
//! use botkit::command::{
//!     parse_command_line, Caller, CommandRegistry, CommandSpec, Cooldowns, Mention, Prefixes,
//! };
//! use botkit::{Role, Roles, User};
//!
//! let mut commands = CommandRegistry::new();
//! commands
//!     .register(
//!         CommandSpec::new("timeout")
//!             .arg::<Mention>("user", "who")
//!             .arg::<Duration>("duration", "how long")
//!             .rest_arg("reason", "why")
//!             .role(Role::Moderator),
//!         "timeout handler",
//!     )
//!     .unwrap();
//! let cooldowns = Cooldowns::new();
//! let prefixes = Prefixes::default();
//!
//! let mod_user = User::new("twitch", "alice", Roles::of(&[Role::Moderator]));
//! let prefix = prefixes.for_channel(Some("#chan"));
//! let line = parse_command_line("!timeout @bob 10m spam", prefix).unwrap();
//! let caller = Caller::new(&mod_user, &[], Some("#chan"));
//! let now = tokio::time::Instant::now();
//! let ready = commands.prepare(&line, prefix, &caller, &cooldowns, now).unwrap();
//! assert_eq!(ready.args.get::<Duration>("duration").unwrap(), Duration::from_secs(600));
//! assert_eq!(ready.args.rest(), "spam");
//!
//! let viewer = User::new("twitch", "carol", Roles::everyone());
//! let caller = Caller::new(&viewer, &[], Some("#chan"));
//! let err = commands.prepare(&line, prefix, &caller, &cooldowns, now).unwrap_err();
//! assert_eq!(err.to_string(), "!timeout needs moderator");
//! ```

pub(crate) mod args;
mod cooldown;
mod error;
mod help;
mod parse;
mod registry;
mod roles;
mod spec;

use tokio::time::Instant;

use crate::event::{Role, Roles, User};

pub use args::{ArgKind, ArgSpec, Args, FromArg, Mention, format_duration};
pub use cooldown::{CooldownScope, CooldownSpec, Cooldowns};
pub use error::CommandError;
pub use help::{help_for, help_list, help_reply, help_spec};
pub use parse::{DEFAULT_PREFIX, ParseError, ParsedLine, Prefixes, parse_command_line, split_args};
pub use registry::{CommandRegistry, Prepared};
pub use roles::{effective_roles, is_owner, roles_from_cytube_rank, roles_from_twitch_badges};
pub use spec::CommandSpec;

/// Who is running a command, as the checks need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller<'a> {
    /// The user's platform-qualified id (keys the per-user cooldown).
    pub user_id: &'a str,
    /// The user's roles, owners included.
    pub roles: Roles,
    /// The channel the command was typed in (`None` for a whisper).
    pub channel: Option<&'a str>,
    /// Whether cooldowns are skipped (and not started) for this caller.
    pub bypass_cooldowns: bool,
}

impl<'a> Caller<'a> {
    /// The caller for `user` in `channel`: roles with [`Role::Owner`] added for the bot's
    /// `owners`, and cooldowns bypassed for moderators and up.
    pub fn new(user: &'a User, owners: &[String], channel: Option<&'a str>) -> Self {
        let roles = effective_roles(user, owners);
        Self {
            user_id: &user.id,
            roles,
            channel,
            bypass_cooldowns: roles.at_least(Role::Moderator),
        }
    }
}

/// Checks one invocation of `spec` by `caller` with argument text `rest`: the role, then
/// the arguments (count and types), then the cooldowns, which are started only when
/// everything passed. `prefix` is the one the user typed, for messages.
///
/// The order matters to users: someone without the role, or who mistyped an argument,
/// gets an answer that says so and keeps their cooldown unspent.
pub fn check_invocation(
    spec: &CommandSpec,
    caller: &Caller<'_>,
    prefix: &str,
    rest: &str,
    cooldowns: &Cooldowns,
    now: Instant,
) -> Result<Args, CommandError> {
    let command = format!("{prefix}{}", spec.name());
    if !caller.roles.at_least(spec.min_role()) {
        return Err(CommandError::MissingRole {
            command: command.into(),
            required: spec.min_role(),
            has: caller.roles.highest(),
        });
    }
    let args = Args::parse(spec, prefix, rest)?;
    cooldowns.check_and_start(
        spec,
        &command,
        caller.user_id,
        caller.channel,
        caller.bypass_cooldowns,
        now,
    )?;
    Ok(args)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn timeout() -> CommandSpec {
        CommandSpec::new("timeout")
            .arg::<Mention>("user", "who")
            .arg::<Duration>("duration", "how long")
            .rest_arg("reason", "why")
            .role(Role::Vip)
            .cooldown_user(Duration::from_secs(60))
    }

    fn caller(user: &User) -> Caller<'_> {
        Caller::new(user, &[], Some("#c"))
    }

    #[tokio::test(start_paused = true)]
    async fn role_is_checked_before_args_and_cooldown() {
        let cd = Cooldowns::new();
        let spec = timeout();
        let viewer = User::new("twitch", "v", Roles::everyone());
        let now = Instant::now();
        // Bad args, no role: the role error wins and nothing is started.
        let err = check_invocation(&spec, &caller(&viewer), "!", "x y", &cd, now).unwrap_err();
        assert_eq!(
            err,
            CommandError::MissingRole {
                command: "!timeout".into(),
                required: Role::Vip,
                has: Role::Everyone
            }
        );
        assert!(cd.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_typo_does_not_burn_the_cooldown() {
        let cd = Cooldowns::new();
        let spec = timeout();
        let vip = User::new("twitch", "v", Roles::of(&[Role::Vip]));
        let now = Instant::now();
        let err = check_invocation(&spec, &caller(&vip), "!", "bob 10", &cd, now);
        assert!(err.is_ok());
        let vip2 = User::new("twitch", "w", Roles::of(&[Role::Vip]));
        let err = check_invocation(&spec, &caller(&vip2), "!", "bob ten", &cd, now).unwrap_err();
        assert!(matches!(err, CommandError::BadArgument { .. }));
        let err = check_invocation(&spec, &caller(&vip2), "!", "bob", &cd, now).unwrap_err();
        assert!(matches!(err, CommandError::Usage { .. }));
        check_invocation(&spec, &caller(&vip2), "!", "bob 10m", &cd, now).unwrap();
        let err = check_invocation(&spec, &caller(&vip2), "!", "bob 10m", &cd, now).unwrap_err();
        assert_eq!(err.to_string(), "!timeout is on cooldown for 1m");
    }

    #[tokio::test(start_paused = true)]
    async fn moderators_and_owners_bypass_cooldowns() {
        let cd = Cooldowns::new();
        let spec = timeout();
        let now = Instant::now();
        let moderator = User::new("twitch", "m", Roles::of(&[Role::Moderator]));
        let owner = User::new("cytube", "o", Roles::everyone());
        let owners = vec!["cytube:o".to_owned()];
        for _ in 0..3 {
            check_invocation(&spec, &caller(&moderator), "!", "a 1s", &cd, now).unwrap();
            let c = Caller::new(&owner, &owners, None);
            assert_eq!(c.roles.highest(), Role::Owner);
            check_invocation(&spec, &c, "!", "a 1s", &cd, now).unwrap();
        }
        assert!(cd.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn prepare_resolves_then_checks() {
        let mut registry = CommandRegistry::new();
        registry.register(timeout().alias("to"), 7).unwrap();
        let cd = Cooldowns::new();
        let vip = User::new("twitch", "v", Roles::of(&[Role::Vip]));
        let now = Instant::now();
        let line = parse_command_line("?TO @bob 5m \"being rude\"", "?").unwrap();
        let ready = registry
            .prepare(&line, "?", &caller(&vip), &cd, now)
            .unwrap();
        assert_eq!((ready.spec.name(), *ready.handler), ("timeout", 7));
        assert_eq!(ready.args.rest(), "\"being rude\"");
        assert_eq!(ready.args.command(), "?timeout");

        let line = parse_command_line("?timeuot bob 5m", "?").unwrap();
        let err = registry
            .prepare(&line, "?", &caller(&vip), &cd, now)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown command ?timeuot — did you mean ?timeout?"
        );
    }
}
