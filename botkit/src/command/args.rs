//! Typed command arguments: the [`FromArg`] conversions, argument specs and [`Args`].
//!
//! A command declares its arguments with a Rust type ([`ArgSpec::new::<T>`]); the spec
//! keeps a plain `fn` that checks an input against that type, so every argument is
//! validated *before* the cooldown starts and before the handler runs: a typo costs the
//! user nothing and the handler never sees a malformed value. Handlers then read values
//! by name with [`Args::get`], which converts again (cheap, and it keeps [`Args`] free of
//! type parameters so it can be moved into any async handler). Failure reasons are full
//! phrases ("expected a duration like 30s or 5m") because they end up in chat.

use std::fmt;
use std::num::IntErrorKind;
use std::sync::Arc;
use std::time::Duration;

use crate::event::Role;

use super::error::CommandError;
use super::parse::Tokenizer;
use super::spec::CommandSpec;

/// A value that can be read from one command argument.
pub trait FromArg: Sized {
    /// Converts the argument, or says in a short phrase what was expected instead.
    fn from_arg(s: &str) -> Result<Self, String>;
    /// What kind of value this is, as shown to users (`duration`, `whole number`).
    fn type_name() -> &'static str;
}

impl FromArg for String {
    fn from_arg(s: &str) -> Result<Self, String> {
        Ok(s.to_owned())
    }
    fn type_name() -> &'static str {
        "text"
    }
}

macro_rules! int_from_arg {
    ($($t:ty),* $(,)?) => {$(
        impl FromArg for $t {
            fn from_arg(s: &str) -> Result<Self, String> {
                s.parse::<$t>().map_err(|e| match e.kind() {
                    IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => format!(
                        "expected a whole number from {} to {}",
                        <$t>::MIN,
                        <$t>::MAX
                    ),
                    // "-5" for an unsigned type is a number, just out of range.
                    _ if s.parse::<i128>().is_ok() => format!(
                        "expected a whole number from {} to {}",
                        <$t>::MIN,
                        <$t>::MAX
                    ),
                    _ => "expected a whole number".to_owned(),
                })
            }
            fn type_name() -> &'static str {
                "whole number"
            }
        }
    )*};
}

int_from_arg!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

impl FromArg for f64 {
    fn from_arg(s: &str) -> Result<Self, String> {
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err("expected a number like 2.5".to_owned()),
        }
    }
    fn type_name() -> &'static str {
        "number"
    }
}

impl FromArg for bool {
    fn from_arg(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" => Ok(true),
            "no" | "false" | "off" => Ok(false),
            _ => Err("expected yes or no (or on/off, true/false)".to_owned()),
        }
    }
    fn type_name() -> &'static str {
        "yes/no"
    }
}

impl FromArg for Duration {
    /// Accepts `30s`, `5m`, `1h30m`, `2d`, `1w`, `1.5h`, `500ms`, and a bare number of
    /// seconds (`600`, as Twitch's own `/timeout` takes).
    fn from_arg(s: &str) -> Result<Self, String> {
        parse_duration(s).ok_or_else(|| "expected a duration like 30s or 5m".to_owned())
    }
    fn type_name() -> &'static str {
        "duration"
    }
}

/// Seconds per unit name, or `None` for an unknown unit.
fn unit_seconds(unit: &str) -> Option<f64> {
    Some(match unit {
        "ms" => 0.001,
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "wk" | "week" | "weeks" => 604_800.0,
        _ => return None,
    })
}

/// Parses a duration with units (`30s`, `1h30m`, `2d`, `1.5h`, `500ms`) or a bare number of
/// seconds. Shared with the config's duration fields, which read bare numbers as ms.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim().to_ascii_lowercase();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u64>().ok().map(Duration::from_secs);
    }
    let mut total = 0.0_f64;
    let mut rest = s.as_str();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        let unit_len = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
            return None;
        }
        total += num.parse::<f64>().ok()? * unit_seconds(unit)?;
        rest = after;
    }
    Duration::try_from_secs_f64(total).ok()
}

/// Formats a duration the way [`Duration`]'s [`FromArg`] reads it: `45s`, `1m30s`,
/// `2d3h`. Sub-second remainders round *up*, so a cooldown never reads `0s`.
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if d.subsec_nanos() > 0 {
        secs = secs.saturating_add(1);
    }
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        let n = secs / size;
        secs %= size;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    out
}

impl FromArg for Role {
    fn from_arg(s: &str) -> Result<Self, String> {
        s.parse::<Role>().map_err(|_| {
            "expected a role: everyone, subscriber, vip, moderator, broadcaster or owner".to_owned()
        })
    }
    fn type_name() -> &'static str {
        "role"
    }
}

/// A user named in a command (`@alice` or `alice`): the name without the `@`, and
/// without the `,` or `:` people type after a mention.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mention(pub String);

impl Mention {
    /// The user's name as typed, without `@`.
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Mention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromArg for Mention {
    fn from_arg(s: &str) -> Result<Self, String> {
        let name = s.strip_prefix('@').unwrap_or(s);
        let name = name.trim_end_matches([',', ':']);
        if name.is_empty() || name.starts_with('@') || name.contains(char::is_whitespace) {
            return Err("expected a user name like @alice".to_owned());
        }
        Ok(Mention(name.to_owned()))
    }
    fn type_name() -> &'static str {
        "user"
    }
}

/// How an argument is matched against the words of a command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ArgKind {
    /// One word that must be there: `<name>`.
    Required,
    /// One word that may be left out: `[name]`. Only followed by other optional ones or a rest.
    Optional,
    /// Everything after the earlier arguments, as typed (may be empty): `[name...]`. Last.
    Rest,
    /// Like [`ArgKind::Rest`] but must not be empty: `<name...>`. Last.
    RequiredRest,
}

impl ArgKind {
    /// Whether this kind takes the remainder of the line.
    pub fn is_rest(self) -> bool {
        matches!(self, ArgKind::Rest | ArgKind::RequiredRest)
    }
}

/// One declared argument of a command.
#[derive(Debug, Clone)]
pub struct ArgSpec {
    /// Name, shown in usage (`<duration>`) and used by [`Args::get`].
    pub name: String,
    /// Required, optional or rest.
    pub kind: ArgKind,
    /// The expected type as users read it ([`FromArg::type_name`]).
    pub type_name: &'static str,
    /// One short phrase for help.
    pub description: String,
    check: fn(&str) -> Result<(), String>,
}

fn check_as<T: FromArg>(s: &str) -> Result<(), String> {
    T::from_arg(s).map(|_| ())
}

impl ArgSpec {
    /// An argument read as `T`.
    pub fn new<T: FromArg>(
        name: impl Into<String>,
        kind: ArgKind,
        description: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            kind,
            type_name: T::type_name(),
            description: description.into(),
            check: check_as::<T>,
        }
    }

    /// Checks `input` against the declared type; `Err` holds the reason.
    pub fn check(&self, input: &str) -> Result<(), String> {
        (self.check)(input)
    }

    /// The argument as shown in usage: `<name>`, `[name]`, `[name...]` or `<name...>`.
    pub fn usage(&self) -> String {
        match self.kind {
            ArgKind::Required => format!("<{}>", self.name),
            ArgKind::Optional => format!("[{}]", self.name),
            ArgKind::Rest => format!("[{}...]", self.name),
            ArgKind::RequiredRest => format!("<{}...>", self.name),
        }
    }
}

/// The arguments of one invocation, checked against the command's spec.
///
/// Made by [`Args::parse`] (usually through `check_invocation`); every value in it has
/// already passed its declared type's check, so [`Args::get`] with the declared type
/// only fails for an optional argument that was left out.
#[derive(Debug, Clone)]
pub struct Args {
    command: Arc<str>,
    usage: Arc<str>,
    specs: Vec<ArgSpec>,
    values: Vec<String>,
    rest: String,
    raw: String,
}

impl Args {
    /// Splits `rest` (the text after the command name) by `spec`'s arguments: counts them,
    /// checks each against its type, and keeps a rest argument's text as typed (a stray
    /// quote in it is fine). `prefix` is only used for messages.
    pub fn parse(spec: &CommandSpec, prefix: &str, rest: &str) -> Result<Self, CommandError> {
        let command: Arc<str> = format!("{prefix}{}", spec.name()).into();
        let usage: Arc<str> = spec.usage(prefix).into();
        let usage_error = || CommandError::Usage {
            command: command.clone(),
            usage: usage.clone(),
        };
        let positional: Vec<&ArgSpec> = spec.args().iter().filter(|a| !a.kind.is_rest()).collect();
        let rest_spec = spec.args().iter().find(|a| a.kind.is_rest());

        let mut tokens = Tokenizer::new(rest);
        let mut values = Vec::new();
        for _ in &positional {
            match tokens.next_token() {
                Some(Ok(token)) => values.push(token.value),
                Some(Err(error)) => return Err(CommandError::Parse { command, error }),
                None => break,
            }
        }
        let rest_text = match rest_spec {
            Some(r) => {
                let text = tokens.remainder().trim_end();
                if text.is_empty() && r.kind == ArgKind::RequiredRest {
                    return Err(usage_error());
                }
                text.to_owned()
            }
            None => match tokens.next_token() {
                Some(Ok(_)) => return Err(usage_error()),
                Some(Err(error)) => return Err(CommandError::Parse { command, error }),
                None => String::new(),
            },
        };
        let required = positional
            .iter()
            .filter(|a| a.kind == ArgKind::Required)
            .count();
        if values.len() < required {
            return Err(usage_error());
        }
        let bad = |arg: &ArgSpec, input: &str, reason: String| CommandError::BadArgument {
            command: command.clone(),
            arg: arg.name.as_str().into(),
            input: input.into(),
            expected: arg.type_name.into(),
            reason: reason.into(),
            usage: usage.clone(),
        };
        for (arg, value) in positional.iter().zip(&values) {
            arg.check(value).map_err(|reason| bad(arg, value, reason))?;
        }
        if let Some(r) = rest_spec.filter(|_| !rest_text.is_empty()) {
            r.check(&rest_text)
                .map_err(|reason| bad(r, &rest_text, reason))?;
        }
        Ok(Self {
            command,
            usage,
            specs: spec.args().to_vec(),
            values,
            rest: rest_text,
            raw: rest.to_owned(),
        })
    }

    /// The value of argument `name` as `T`.
    ///
    /// Fails with [`CommandError::Usage`] if an optional argument was left out, with
    /// [`CommandError::BadArgument`] if it is not a `T`, and with
    /// [`CommandError::HandlerFailed`] if the spec has no argument of that name.
    pub fn get<T: FromArg>(&self, name: &str) -> Result<T, CommandError> {
        self.opt(name)?.ok_or_else(|| CommandError::Usage {
            command: self.command.clone(),
            usage: self.usage.clone(),
        })
    }

    /// The value of argument `name` as `T`, or `None` if it was left out.
    pub fn opt<T: FromArg>(&self, name: &str) -> Result<Option<T>, CommandError> {
        let Some(spec) = self.specs.iter().find(|a| a.name == name) else {
            return Err(CommandError::HandlerFailed {
                command: self.command.clone(),
                error: format!("{} declares no argument named `{name}`", self.command).into(),
            });
        };
        let input = if spec.kind.is_rest() {
            Some(self.rest.as_str()).filter(|r| !r.is_empty())
        } else {
            let index = self
                .specs
                .iter()
                .filter(|a| !a.kind.is_rest())
                .position(|a| a.name == name);
            index.and_then(|i| self.values.get(i)).map(String::as_str)
        };
        let Some(input) = input else {
            return Ok(None);
        };
        T::from_arg(input)
            .map(Some)
            .map_err(|reason| CommandError::BadArgument {
                command: self.command.clone(),
                arg: spec.name.as_str().into(),
                input: input.into(),
                expected: T::type_name().into(),
                reason: reason.into(),
                usage: self.usage.clone(),
            })
    }

    /// The rest argument's text as typed (quotes kept), or `""` when there is none.
    pub fn rest(&self) -> &str {
        &self.rest
    }

    /// The positional (non-rest) arguments given, quotes and escapes resolved.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Everything after the command name, as typed.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The command as typed with its prefix, e.g. `!timeout`.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The command's usage line, e.g. `!timeout <user> <duration> [reason...]`.
    pub fn usage(&self) -> &str {
        &self.usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn timeout() -> CommandSpec {
        CommandSpec::new("timeout")
            .arg::<Mention>("user", "who")
            .arg::<Duration>("duration", "how long")
            .rest_arg("reason", "why")
    }

    #[test]
    fn durations() {
        let ok = [
            ("30s", 30),
            ("5m", 300),
            ("1h30m", 5400),
            ("2d", 172_800),
            ("1w", 604_800),
            ("600", 600),
            ("1H", 3600),
            ("90sec", 90),
            ("1.5h", 5400),
            ("0s", 0),
        ];
        for (s, secs) in ok {
            assert_eq!(Duration::from_arg(s), Ok(Duration::from_secs(secs)), "{s}");
        }
        assert_eq!(Duration::from_arg("500ms"), Ok(Duration::from_millis(500)));
        let bad = [
            "",
            "abc",
            "5x",
            "m",
            "1h30",
            "-5m",
            "1..5m",
            ".5m",
            "5 m",
            "1e5s",
            "9999999999999999999999w",
        ];
        for s in bad {
            assert_eq!(
                Duration::from_arg(s),
                Err("expected a duration like 30s or 5m".to_owned()),
                "{s:?}"
            );
        }
    }

    #[test]
    fn formats_durations() {
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(45)), "45s");
        assert_eq!(format_duration(Duration::from_millis(11_200)), "12s");
        assert_eq!(format_duration(Duration::from_millis(1)), "1s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_secs(90_061)), "1d1h1m1s");
    }

    #[test]
    fn numbers_and_bools() {
        assert_eq!(i64::from_arg("-42"), Ok(-42));
        assert_eq!(u8::from_arg("255"), Ok(255));
        assert_eq!(
            u8::from_arg("256"),
            Err("expected a whole number from 0 to 255".to_owned())
        );
        assert_eq!(
            u32::from_arg("-1"),
            Err("expected a whole number from 0 to 4294967295".to_owned())
        );
        assert_eq!(
            i32::from_arg("two"),
            Err("expected a whole number".to_owned())
        );
        assert_eq!(f64::from_arg("2.5"), Ok(2.5));
        assert!(f64::from_arg("nan").is_err());
        assert!(f64::from_arg("inf").is_err());
        for (s, v) in [
            ("yes", true),
            ("ON", true),
            ("true", true),
            ("no", false),
            ("off", false),
            ("False", false),
        ] {
            assert_eq!(bool::from_arg(s), Ok(v), "{s}");
        }
        assert!(bool::from_arg("maybe").is_err());
    }

    #[test]
    fn roles_and_mentions() {
        assert_eq!(Role::from_arg("mod"), Ok(Role::Moderator));
        assert_eq!(Role::from_arg("VIP"), Ok(Role::Vip));
        assert!(Role::from_arg("king").is_err());
        assert_eq!(Mention::from_arg("@Alice"), Ok(Mention("Alice".into())));
        assert_eq!(Mention::from_arg("bob,"), Ok(Mention("bob".into())));
        assert_eq!(Mention::from_arg("@carol:").unwrap().name(), "carol");
        for s in ["@", "", "@@x", "a b"] {
            assert!(Mention::from_arg(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn parses_against_a_spec() {
        let args = Args::parse(&timeout(), "!", r#"@bob 10m being "very" rude "#).unwrap();
        assert_eq!(args.get::<Mention>("user").unwrap().name(), "bob");
        assert_eq!(
            args.get::<Duration>("duration").unwrap(),
            Duration::from_secs(600)
        );
        assert_eq!(args.rest(), r#"being "very" rude"#);
        assert_eq!(args.get::<String>("reason").unwrap(), args.rest());
        assert_eq!(args.values(), ["@bob", "10m"]);
        assert_eq!(args.command(), "!timeout");

        let args = Args::parse(&timeout(), "!", "bob 10m").unwrap();
        assert_eq!(args.rest(), "");
        assert_eq!(args.opt::<String>("reason").unwrap(), None);
        assert!(matches!(
            args.get::<String>("reason"),
            Err(CommandError::Usage { .. })
        ));
    }

    #[test]
    fn a_stray_quote_in_the_rest_is_fine() {
        let args = Args::parse(&timeout(), "!", "bob 5m 'sup spam").unwrap();
        assert_eq!(args.rest(), "'sup spam");
    }

    #[test]
    fn wrong_counts_are_usage_errors() {
        let usage = CommandError::Usage {
            command: "!timeout".into(),
            usage: "!timeout <user> <duration> [reason...]".into(),
        };
        assert_eq!(Args::parse(&timeout(), "!", "bob").unwrap_err(), usage);
        assert_eq!(Args::parse(&timeout(), "!", "").unwrap_err(), usage);
        let roll = CommandSpec::new("roll").opt_arg::<u32>("sides", "dice sides");
        assert!(Args::parse(&roll, "!", "").is_ok());
        assert!(Args::parse(&roll, "!", "6").is_ok());
        assert_eq!(
            Args::parse(&roll, "?", "6 7").unwrap_err(),
            CommandError::Usage {
                command: "?roll".into(),
                usage: "?roll [sides]".into()
            }
        );
        let say = CommandSpec::new("say").required_rest_arg("text", "what to say");
        assert!(matches!(
            Args::parse(&say, "!", "  ").unwrap_err(),
            CommandError::Usage { .. }
        ));
        assert_eq!(
            Args::parse(&say, "!", "hi 'there").unwrap().rest(),
            "hi 'there"
        );
    }

    #[test]
    fn bad_types_name_the_argument() {
        let err = Args::parse(&timeout(), "!", "bob abc").unwrap_err();
        assert_eq!(
            err,
            CommandError::BadArgument {
                command: "!timeout".into(),
                arg: "duration".into(),
                input: "abc".into(),
                expected: "duration".into(),
                reason: "expected a duration like 30s or 5m".into(),
                usage: "!timeout <user> <duration> [reason...]".into(),
            }
        );
    }

    #[test]
    fn unclosed_quotes_in_positional_args_are_parse_errors() {
        let err = Args::parse(&timeout(), "!", r#""bob 5m"#).unwrap_err();
        assert!(matches!(err, CommandError::Parse { .. }), "{err:?}");
        let roll = CommandSpec::new("roll").opt_arg::<u32>("sides", "");
        let err = Args::parse(&roll, "!", r#"6 "x"#).unwrap_err();
        assert!(matches!(err, CommandError::Parse { .. }), "{err:?}");
    }

    #[test]
    fn get_with_an_unknown_name_or_other_type() {
        let args = Args::parse(&timeout(), "!", "bob 10m").unwrap();
        assert!(matches!(
            args.get::<String>("nope"),
            Err(CommandError::HandlerFailed { .. })
        ));
        assert!(matches!(
            args.get::<u32>("user"),
            Err(CommandError::BadArgument { .. })
        ));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in any::<String>()) {
            let _ = Duration::from_arg(&s);
            let _ = Mention::from_arg(&s);
            let _ = i64::from_arg(&s);
            let _ = Args::parse(&timeout(), "!", &s);
        }

        #[test]
        fn durations_round_trip(secs in 0u64..10_000_000) {
            let d = Duration::from_secs(secs);
            prop_assert_eq!(Duration::from_arg(&format_duration(d)), Ok(d));
        }
    }
}
