//! [`CommandRegistry`]: the commands a bot knows, with their handlers.
//!
//! The registry is generic over the handler type `H`, so this module knows nothing about
//! how handlers are called (async closures, plugin methods, a channel to another
//! process): the glue picks `H`, and the registry only resolves names. Names and aliases
//! share one case-insensitive namespace and a clash is an error at registration, never a
//! silent override. An unknown name gets a "did you mean" from the commands the caller
//! may actually run.

use std::collections::HashMap;
use std::fmt;

use tokio::time::Instant;

use crate::event::Roles;

use super::args::Args;
use super::cooldown::Cooldowns;
use super::error::CommandError;
use super::parse::ParsedLine;
use super::spec::CommandSpec;
use super::{Caller, check_invocation};

/// Longest typed name for which a suggestion is searched (longer is not a typo).
const SUGGEST_MAX_CHARS: usize = 40;

/// Commands by name and alias, each with its handler.
pub struct CommandRegistry<H> {
    entries: Vec<(CommandSpec, H)>,
    by_name: HashMap<String, usize>,
}

impl<H> Default for CommandRegistry<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H> fmt::Debug for CommandRegistry<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(spec, _)| spec.name()))
            .finish()
    }
}

/// A resolved, checked invocation, ready for its handler.
#[derive(Debug)]
pub struct Prepared<'r, H> {
    /// The command's spec.
    pub spec: &'r CommandSpec,
    /// Its handler.
    pub handler: &'r H,
    /// The checked arguments.
    pub args: Args,
}

impl<H> CommandRegistry<H> {
    /// An empty registry.
    pub fn new() -> Self {
        Self {
            entries: Vec::new(),
            by_name: HashMap::new(),
        }
    }

    /// Adds a command. Fails with [`CommandError::InvalidSpec`] if the spec cannot work
    /// and with [`CommandError::Conflict`] if its name or an alias is taken (by another
    /// command or twice in this one); nothing is added then.
    pub fn register(&mut self, spec: CommandSpec, handler: H) -> Result<(), CommandError> {
        spec.validate()?;
        let mut names: Vec<&str> = Vec::new();
        for name in spec.names() {
            if self.by_name.contains_key(name) || names.contains(&name) {
                return Err(CommandError::Conflict { name: name.into() });
            }
            names.push(name);
        }
        let index = self.entries.len();
        for name in names {
            self.by_name.insert(name.to_owned(), index);
        }
        self.entries.push((spec, handler));
        Ok(())
    }

    /// The command called `name` (any case; an alias resolves to its command).
    pub fn resolve(&self, name: &str) -> Option<(&CommandSpec, &H)> {
        let index = match self.by_name.get(name) {
            Some(i) => *i,
            None => *self.by_name.get(&name.to_lowercase())?,
        };
        self.entries.get(index).map(|(spec, h)| (spec, h))
    }

    /// All commands in registration order.
    pub fn iter(&self) -> impl Iterator<Item = (&CommandSpec, &H)> {
        self.entries.iter().map(|(spec, h)| (spec, h))
    }

    /// How many commands (not counting aliases).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no command is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The canonical name of the visible command closest to `name` that a caller with
    /// `roles` may run, if one is within a typo's distance (names and aliases count;
    /// adjacent swaps count as one edit). Ties go to the alphabetically first.
    pub fn suggest(&self, name: &str, roles: Roles) -> Option<&str> {
        let name = name.to_lowercase();
        let len = name.chars().count();
        if len == 0 || len > SUGGEST_MAX_CHARS {
            return None;
        }
        let max = (len / 3).clamp(1, 2);
        self.entries
            .iter()
            .filter(|(spec, _)| !spec.is_hidden() && roles.at_least(spec.min_role()))
            .filter_map(|(spec, _)| {
                let best = spec.names().map(|n| edit_distance(&name, n)).min()?;
                (best <= max).then_some((best, spec.name()))
            })
            .min()
            .map(|(_, n)| n)
    }

    /// The [`CommandError::UnknownCommand`] for `name`, with a suggestion for a caller
    /// with `roles`.
    pub fn unknown(&self, prefix: &str, name: &str, roles: Roles) -> CommandError {
        CommandError::UnknownCommand {
            name: format!("{prefix}{name}").into(),
            suggestion: self
                .suggest(name, roles)
                .map(|s| format!("{prefix}{s}").into()),
        }
    }

    /// Resolves `line` and runs [`check_invocation`] on it: the one call the glue makes
    /// between recognizing a command line and calling its handler.
    pub fn prepare(
        &self,
        line: &ParsedLine,
        prefix: &str,
        caller: &Caller<'_>,
        cooldowns: &Cooldowns,
        now: Instant,
    ) -> Result<Prepared<'_, H>, CommandError> {
        let Some((spec, handler)) = self.resolve(&line.name) else {
            return Err(self.unknown(prefix, &line.name, caller.roles));
        };
        let args = check_invocation(spec, caller, prefix, &line.rest, cooldowns, now)?;
        Ok(Prepared {
            spec,
            handler,
            args,
        })
    }
}

/// Optimal string alignment distance over characters: insertions, deletions,
/// substitutions and swaps of two adjacent characters each cost one.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, cell) in d.iter_mut().step_by(width).enumerate() {
        *cell = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Role;

    fn registry() -> CommandRegistry<&'static str> {
        let mut r = CommandRegistry::new();
        r.register(CommandSpec::new("roll").alias("dice"), "roll")
            .unwrap();
        r.register(
            CommandSpec::new("timeout")
                .alias("to")
                .role(Role::Moderator),
            "timeout",
        )
        .unwrap();
        r.register(CommandSpec::new("secret").hidden(), "secret")
            .unwrap();
        r
    }

    #[test]
    fn aliases_resolve_to_the_canonical_command() {
        let r = registry();
        let (spec, handler) = r.resolve("DICE").unwrap();
        assert_eq!((spec.name(), *handler), ("roll", "roll"));
        assert_eq!(r.resolve("roll").unwrap().1, &"roll");
        assert!(r.resolve("nope").is_none());
        assert_eq!(r.len(), 3);
        assert_eq!(
            r.iter().map(|(s, _)| s.name()).collect::<Vec<_>>(),
            ["roll", "timeout", "secret"]
        );
    }

    #[test]
    fn conflicts_are_rejected_case_insensitively() {
        let mut r = registry();
        let err = r.register(CommandSpec::new("Dice"), "x").unwrap_err();
        assert_eq!(
            err,
            CommandError::Conflict {
                name: "dice".into()
            }
        );
        let err = r
            .register(CommandSpec::new("new").alias("ROLL"), "x")
            .unwrap_err();
        assert_eq!(
            err,
            CommandError::Conflict {
                name: "roll".into()
            }
        );
        let err = r
            .register(CommandSpec::new("twice").alias("twice"), "x")
            .unwrap_err();
        assert_eq!(
            err,
            CommandError::Conflict {
                name: "twice".into()
            }
        );
        // A failed registration adds nothing, not even its other names.
        assert!(r.resolve("new").is_none());
        assert!(r.resolve("twice").is_none());
        assert!(matches!(
            r.register(CommandSpec::new("bad name"), "x"),
            Err(CommandError::InvalidSpec { .. })
        ));
    }

    #[test]
    fn suggestions_for_typos() {
        let r = registry();
        let everyone = Roles::everyone();
        let mods = Roles::of(&[Role::Moderator]);
        assert_eq!(r.suggest("rol", everyone), Some("roll"));
        assert_eq!(r.suggest("rlol", everyone), Some("roll"));
        assert_eq!(r.suggest("dcie", everyone), Some("roll"));
        assert_eq!(r.suggest("tiemout", mods), Some("timeout"));
        // Only commands the caller may run, and never hidden ones.
        assert_eq!(r.suggest("tiemout", everyone), None);
        assert_eq!(r.suggest("secrt", Roles::of(&[Role::Owner])), None);
        assert_eq!(r.suggest("weather", everyone), None);
        assert_eq!(r.suggest("", everyone), None);
        assert_eq!(
            r.unknown("?", "rol", everyone).to_string(),
            "unknown command ?rol — did you mean ?roll?"
        );
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("roll", "roll"), 0);
        assert_eq!(edit_distance("rlol", "roll"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ça", "ca"), 1);
    }
}
