//! Cooldowns per user, per channel and global.
//!
//! [`Cooldowns`] stores, for each (scope, command, key) that was started, the instant it
//! ends. A use is checked against all three scopes at once and starts them only when all
//! pass, so a use refused by the global cooldown does not also reset the user's own.
//! Time is `tokio::time::Instant` passed in by the caller, so tests with paused time are
//! exact and the type itself never reads a clock. Expired entries are purged whenever the
//! map has doubled since the last purge or a minute has passed, which keeps memory
//! proportional to the cooldowns still running however many users come and go.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::error::CommandError;
use super::spec::CommandSpec;

/// Which cooldown refused a use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CooldownScope {
    /// The user's own cooldown for the command.
    User,
    /// The channel's cooldown for the command.
    Channel,
    /// The command's cooldown everywhere.
    Global,
}

impl CooldownScope {
    /// The scope as help shows it: `per user`, `per channel`, `global`.
    pub const fn describe(self) -> &'static str {
        match self {
            CooldownScope::User => "per user",
            CooldownScope::Channel => "per channel",
            CooldownScope::Global => "global",
        }
    }
}

impl fmt::Display for CooldownScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CooldownScope::User => "user",
            CooldownScope::Channel => "channel",
            CooldownScope::Global => "global",
        })
    }
}

/// The cooldowns a command declares; `None` or zero means no cooldown in that scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CooldownSpec {
    /// Between two uses by one user.
    pub user: Option<Duration>,
    /// Between two uses in one channel.
    pub channel: Option<Duration>,
    /// Between two uses anywhere.
    pub global: Option<Duration>,
}

impl CooldownSpec {
    /// The scopes that have a non-zero cooldown, user first.
    pub fn iter(&self) -> impl Iterator<Item = (CooldownScope, Duration)> {
        [
            (CooldownScope::User, self.user),
            (CooldownScope::Channel, self.channel),
            (CooldownScope::Global, self.global),
        ]
        .into_iter()
        .filter_map(|(scope, d)| d.filter(|d| !d.is_zero()).map(|d| (scope, d)))
    }

    /// Whether no scope has a cooldown.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User { command: String, user: String },
    Channel { command: String, channel: String },
    Global { command: String },
}

/// Purge at least this often, even when the map is not growing.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);
/// Never purge for growth below this many entries.
const MIN_PURGE_LEN: usize = 64;

#[derive(Debug)]
struct Inner {
    until: HashMap<Key, Instant>,
    purge_at_len: usize,
    next_purge: Option<Instant>,
}

impl Inner {
    fn purge(&mut self, now: Instant) {
        self.until.retain(|_, until| *until > now);
        self.purge_at_len = MIN_PURGE_LEN.max(self.until.len().saturating_mul(2));
        self.next_purge = Some(now + PURGE_INTERVAL);
    }
}

/// Running cooldowns of all commands. Shared by reference (it locks inside).
#[derive(Debug)]
pub struct Cooldowns {
    inner: Mutex<Inner>,
}

impl Default for Cooldowns {
    fn default() -> Self {
        Self::new()
    }
}

impl Cooldowns {
    /// No cooldown running.
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(Inner {
                until: HashMap::new(),
                purge_at_len: MIN_PURGE_LEN,
                next_purge: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map is consistent after every statement, so a panic elsewhere while holding
        // the lock leaves nothing half-done: keep going with the data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks `spec`'s cooldowns for a use by `user_id` in `channel` at `now`, and starts
    /// all of them if none is running.
    ///
    /// When several are running, the error names the one with the longest wait. The
    /// channel scope applies only when there is a channel (not to whispers). `bypass`
    /// (the caller passes it for moderators and up) skips the check and starts nothing,
    /// so a moderator's use never makes viewers wait. `command` is the name shown in the
    /// error (with its prefix, e.g. `!roll`); entries are keyed by `spec`'s name.
    pub fn check_and_start(
        &self,
        spec: &CommandSpec,
        command: &str,
        user_id: &str,
        channel: Option<&str>,
        bypass: bool,
        now: Instant,
    ) -> Result<(), CommandError> {
        let cooldowns = spec.cooldowns();
        if bypass || cooldowns.is_empty() {
            return Ok(());
        }
        let name = spec.name();
        let keys: Vec<(CooldownScope, Key, Duration)> = cooldowns
            .iter()
            .filter_map(|(scope, d)| {
                let key = match scope {
                    CooldownScope::User => Key::User {
                        command: name.to_owned(),
                        user: user_id.to_owned(),
                    },
                    CooldownScope::Channel => Key::Channel {
                        command: name.to_owned(),
                        channel: channel?.to_owned(),
                    },
                    CooldownScope::Global => Key::Global {
                        command: name.to_owned(),
                    },
                };
                Some((scope, key, d))
            })
            .collect();

        let mut inner = self.lock();
        if inner.until.len() >= inner.purge_at_len || inner.next_purge.is_none_or(|t| now >= t) {
            inner.purge(now);
        }
        let longest = keys
            .iter()
            .filter_map(|(scope, key, _)| {
                let until = *inner.until.get(key)?;
                (until > now).then(|| (*scope, until - now))
            })
            .max_by_key(|(_, remaining)| *remaining);
        if let Some((scope, remaining)) = longest {
            return Err(CommandError::Cooldown {
                command: command.into(),
                scope,
                remaining,
            });
        }
        for (_, key, d) in keys {
            inner.until.insert(key, now + d);
        }
        Ok(())
    }

    /// Drops every cooldown that has ended by `now`.
    pub fn purge(&self, now: Instant) {
        self.lock().purge(now);
    }

    /// How many cooldown entries are stored, including ended ones not yet purged.
    pub fn len(&self) -> usize {
        self.lock().until.len()
    }

    /// Whether no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ends every cooldown of command `name` (e.g. after an operator changed its config).
    pub fn reset_command(&self, name: &str) {
        self.lock().until.retain(|key, _| match key {
            Key::User { command, .. } | Key::Channel { command, .. } | Key::Global { command } => {
                command != name
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    const S: Duration = Duration::from_secs(1);

    fn check(
        cd: &Cooldowns,
        spec: &CommandSpec,
        user: &str,
        channel: Option<&str>,
    ) -> Result<(), CommandError> {
        cd.check_and_start(spec, "!roll", user, channel, false, Instant::now())
    }

    fn remaining(r: Result<(), CommandError>) -> (CooldownScope, Duration) {
        match r {
            Err(CommandError::Cooldown {
                scope, remaining, ..
            }) => (scope, remaining),
            other => panic!("expected a cooldown, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn per_user() {
        let cd = Cooldowns::new();
        let spec = CommandSpec::new("roll").cooldown_user(10 * S);
        check(&cd, &spec, "twitch:a", Some("#c")).unwrap();
        advance(3 * S).await;
        assert_eq!(
            remaining(check(&cd, &spec, "twitch:a", Some("#c"))),
            (CooldownScope::User, 7 * S)
        );
        // Another user is not affected; the user's own cooldown follows them to every
        // channel.
        check(&cd, &spec, "twitch:b", Some("#c")).unwrap();
        assert!(check(&cd, &spec, "twitch:a", Some("#other")).is_err());
        advance(7 * S).await;
        check(&cd, &spec, "twitch:a", Some("#c")).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn per_channel_and_global() {
        let cd = Cooldowns::new();
        let spec = CommandSpec::new("roll").cooldown_channel(5 * S);
        check(&cd, &spec, "a", Some("#one")).unwrap();
        assert_eq!(
            remaining(check(&cd, &spec, "b", Some("#one"))),
            (CooldownScope::Channel, 5 * S)
        );
        check(&cd, &spec, "b", Some("#two")).unwrap();
        // Whispers have no channel scope.
        check(&cd, &spec, "b", None).unwrap();

        let spec = CommandSpec::new("quote").cooldown_global(20 * S);
        check(&cd, &spec, "a", Some("#one")).unwrap();
        advance(S).await;
        assert_eq!(
            remaining(check(&cd, &spec, "b", Some("#two"))),
            (CooldownScope::Global, 19 * S)
        );
        advance(19 * S).await;
        check(&cd, &spec, "b", Some("#two")).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn reports_the_longest_and_starts_nothing_when_refused() {
        let cd = Cooldowns::new();
        let spec = CommandSpec::new("roll")
            .cooldown_user(30 * S)
            .cooldown_channel(10 * S)
            .cooldown_global(5 * S);
        check(&cd, &spec, "a", Some("#c")).unwrap();
        assert_eq!(
            remaining(check(&cd, &spec, "a", Some("#c"))),
            (CooldownScope::User, 30 * S)
        );
        // b is refused by the channel scope; that must not start b's user cooldown.
        assert_eq!(
            remaining(check(&cd, &spec, "b", Some("#c"))),
            (CooldownScope::Channel, 10 * S)
        );
        advance(10 * S).await;
        check(&cd, &spec, "b", Some("#c")).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn bypass_neither_checks_nor_starts() {
        let cd = Cooldowns::new();
        let spec = CommandSpec::new("roll").cooldown_channel(10 * S);
        let now = Instant::now();
        cd.check_and_start(&spec, "!roll", "mod", Some("#c"), true, now)
            .unwrap();
        check(&cd, &spec, "viewer", Some("#c")).unwrap();
        cd.check_and_start(&spec, "!roll", "mod", Some("#c"), true, now)
            .unwrap();
        assert!(check(&cd, &spec, "viewer2", Some("#c")).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn commands_have_separate_cooldowns() {
        let cd = Cooldowns::new();
        let roll = CommandSpec::new("roll").cooldown_global(10 * S);
        let quote = CommandSpec::new("quote").cooldown_global(10 * S);
        check(&cd, &roll, "a", None).unwrap();
        check(&cd, &quote, "a", None).unwrap();
        assert!(check(&cd, &roll, "a", None).is_err());
        cd.reset_command("roll");
        check(&cd, &roll, "a", None).unwrap();
        assert!(check(&cd, &quote, "a", None).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn expired_entries_are_purged() {
        let cd = Cooldowns::new();
        let spec = CommandSpec::new("roll").cooldown_user(S);
        let mut largest = 0;
        for i in 0..5_000 {
            check(&cd, &spec, &format!("user{i}"), Some("#c")).unwrap();
            largest = largest.max(cd.len());
            advance(S).await;
        }
        // Each entry lives one second, so at most one is live at a time: growth-triggered
        // purges keep the map near the floor instead of 5000 entries.
        assert!(largest <= MIN_PURGE_LEN, "{largest}");

        // Time-triggered purge: a burst, then one use a minute later.
        for i in 0..40 {
            check(&cd, &spec, &format!("burst{i}"), Some("#c")).unwrap();
        }
        assert!(cd.len() >= 40);
        advance(PURGE_INTERVAL).await;
        check(&cd, &spec, "late", Some("#c")).unwrap();
        assert_eq!(cd.len(), 1);
        advance(2 * S).await;
        cd.purge(Instant::now());
        assert!(cd.is_empty());
    }

    #[test]
    fn zero_cooldowns_are_none() {
        let spec = CommandSpec::new("x").cooldown_user(Duration::ZERO);
        assert!(spec.cooldowns().is_empty());
        let cd = Cooldowns::new();
        let now = Instant::now();
        for _ in 0..3 {
            cd.check_and_start(&spec, "!x", "a", None, false, now)
                .unwrap();
        }
        assert!(cd.is_empty());
    }
}
