//! Reading the file: TOML → owned values, with `${ENV}` resolved and every span kept.
//!
//! The file is parsed once into toml's spanned document (`DeTable`), then walked into an
//! owned [`toml::Value`] tree. The walk does two jobs at once: it resolves `${VAR}`
//! interpolation in every string, and it records, for every key path, where the key and
//! its value were written. Typed deserialization then runs on the owned tree (so platform
//! and plugin sections can be deserialized later, after the text is gone) and any serde
//! error is mapped back through its key path (tracked with `serde_path_to_error`) to a
//! line and column. Interpolation therefore never costs us positions: they come from the
//! original text, not from the substituted values.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};
use toml::{Spanned, Table, Value};

use super::error::{ConfigError, Location};
use super::redact::is_secret_key;

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A key in a table.
    Key(String),
    /// A position in an array.
    Index(usize),
}

impl Seg {
    pub(crate) fn key(k: &str) -> Self {
        Self::Key(k.to_owned())
    }
}

/// Formats a key path as users write it: `platform[1].token`, `plugins."my.plugin".x`.
pub(crate) fn path_string(segs: &[Seg]) -> String {
    let mut out = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                push_key(&mut out, k);
            }
            Seg::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

pub(crate) fn push_key(out: &mut String, key: &str) {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        out.push_str(key);
        return;
    }
    out.push('"');
    for c in key.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// What we remember about the text after parsing: positions and which values are secret.
#[derive(Debug, Default)]
pub(crate) struct SourceMap {
    file: String,
    text: String,
    line_starts: Vec<usize>,
    value_spans: BTreeMap<String, Range<usize>>,
    key_spans: BTreeMap<String, Range<usize>>,
    from_env: BTreeSet<String>,
}

impl SourceMap {
    /// A map for `text` read from `file`, with no spans recorded yet.
    pub(crate) fn new(file: &str, text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            file: file.to_owned(),
            text: text.to_owned(),
            line_starts,
            ..Self::default()
        }
    }

    /// The file name used in messages.
    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    /// Line and column of a byte offset into the text.
    pub(crate) fn location_at(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line_idx = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1);
        let start = self.line_starts.get(line_idx).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Location {
            file: self.file.clone(),
            line: line_idx + 1,
            column: column + 1,
        }
    }

    /// A location with no position (for things not written in the file).
    pub(crate) fn nowhere(&self) -> Location {
        Location {
            file: self.file.clone(),
            line: 0,
            column: 0,
        }
    }

    fn span_location(&self, span: Option<&Range<usize>>) -> Location {
        match span {
            Some(span) if !self.text.is_empty() => self.location_at(span.start),
            _ => self.nowhere(),
        }
    }

    /// Where the value at `segs` is written; falls back to the closest enclosing value
    /// (a key path that serde reports may be deeper than anything written, e.g. a missing
    /// field).
    pub(crate) fn value_location(&self, segs: &[Seg]) -> Location {
        for len in (1..=segs.len()).rev() {
            if let Some(span) = segs
                .get(..len)
                .and_then(|p| self.value_spans.get(&path_string(p)))
            {
                return self.span_location(Some(span));
            }
        }
        self.nowhere()
    }

    /// Where the key at `segs` is written, else where its value is.
    pub(crate) fn key_location(&self, segs: &[Seg]) -> Location {
        match self.key_spans.get(&path_string(segs)) {
            Some(span) => self.span_location(Some(span)),
            None => self.value_location(segs),
        }
    }

    /// Whether the value at `path` (formatted with [`path_string`]) came from the environment.
    pub(crate) fn is_from_env(&self, path: &str) -> bool {
        self.from_env.contains(path)
    }

    /// The raw text of the value at `segs`, for finding a `${` inside it.
    fn raw_value(&self, span: &Range<usize>) -> &str {
        self.text.get(span.clone()).unwrap_or("")
    }

    /// Best-effort guess of the section and key being written on `line` (1-based), for
    /// syntax errors, where no key path exists yet.
    fn guess_key(&self, line: usize) -> Option<String> {
        let mut section: Option<String> = None;
        let mut array_counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut key_on_line = None;
        for (i, raw) in self.text.lines().enumerate().take(line) {
            let trimmed = raw.trim();
            if let Some(inner) = trimmed.strip_prefix("[[") {
                let name = inner.split("]]").next().unwrap_or("").trim().to_owned();
                let count = array_counts.entry(name.clone()).or_insert(0);
                section = Some(format!("{name}[{count}]"));
                *count += 1;
            } else if let Some(inner) = trimmed.strip_prefix('[') {
                section = Some(inner.split(']').next().unwrap_or("").trim().to_owned());
            } else if i + 1 == line
                && let Some((key, _)) = trimmed.split_once('=')
            {
                let key = key.trim();
                if !key.is_empty() && !key.contains(char::is_whitespace) {
                    key_on_line = Some(key.to_owned());
                }
            }
        }
        match (section, key_on_line) {
            (Some(s), Some(k)) if !s.is_empty() => Some(format!("{s}.{k}")),
            (Some(s), None) if !s.is_empty() => Some(s),
            (_, k) => k,
        }
    }
}

/// The parsed file: the owned root table and what we know about positions.
pub(crate) struct Parsed {
    pub(crate) root: Table,
    pub(crate) map: SourceMap,
}

/// Parses `text`, resolving `${VAR}` with `env`.
pub(crate) fn parse(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Parsed, ConfigError> {
    let mut map = SourceMap::new(file, text);
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(err) => return Err(syntax_error(&map, &err)),
    };
    let mut walker = Walker { map: &mut map, env };
    let root = walker.table(doc.into_inner(), &mut Vec::new())?;
    Ok(Parsed { root, map })
}

fn syntax_error(map: &SourceMap, err: &toml::de::Error) -> ConfigError {
    let location = map.location_at(err.span().map_or(0, |s| s.start));
    let key = map.guess_key(location.line);
    ConfigError::Syntax {
        location,
        key,
        message: err.message().trim().replace('\n', "; "),
    }
}

struct Walker<'m, 'e> {
    map: &'m mut SourceMap,
    env: &'e dyn Fn(&str) -> Option<String>,
}

impl Walker<'_, '_> {
    fn table(&mut self, table: DeTable<'_>, path: &mut Vec<Seg>) -> Result<Table, ConfigError> {
        let mut out = Table::new();
        for (key, value) in table {
            let key_span = key.span();
            let key = key.into_inner().into_owned();
            path.push(Seg::Key(key.clone()));
            self.map.key_spans.insert(path_string(path), key_span);
            let value = self.value(value, path)?;
            path.pop();
            out.insert(key, value);
        }
        Ok(out)
    }

    fn value(
        &mut self,
        value: Spanned<DeValue<'_>>,
        path: &mut Vec<Seg>,
    ) -> Result<Value, ConfigError> {
        let span = value.span();
        let key = path_string(path);
        self.map.value_spans.insert(key.clone(), span.clone());
        let invalid = |map: &SourceMap, message: String| ConfigError::InvalidValue {
            location: map.location_at(span.start),
            key: key.clone(),
            message,
            hint: "write a smaller number".to_owned(),
        };
        Ok(match value.into_inner() {
            DeValue::String(s) => {
                let (resolved, used_env) = match interpolate(&s, self.env) {
                    Ok(ok) => ok,
                    Err(err) => return Err(self.interpolation_error(err, &span, &key)),
                };
                if used_env {
                    self.map.from_env.insert(key.clone());
                }
                Value::String(resolved)
            }
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Value::Integer(n),
                Err(_) => {
                    return Err(invalid(
                        self.map,
                        format!("integer `{i}` does not fit in a signed 64-bit number"),
                    ));
                }
            },
            DeValue::Float(f) => match f.as_str().parse::<f64>() {
                Ok(x) => Value::Float(x),
                Err(_) => {
                    return Err(invalid(
                        self.map,
                        format!("`{f}` is out of range for a float"),
                    ));
                }
            },
            DeValue::Boolean(b) => Value::Boolean(b),
            DeValue::Datetime(d) => Value::Datetime(d),
            DeValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    path.push(Seg::Index(i));
                    let v = self.value(item, path)?;
                    path.pop();
                    out.push(v);
                }
                Value::Array(out)
            }
            DeValue::Table(t) => Value::Table(self.table(t, path)?),
        })
    }

    fn interpolation_error(&self, err: InterpError, span: &Range<usize>, key: &str) -> ConfigError {
        // Point at the `${` itself when it can be found in the raw text (it can't if the
        // string spelled it with escapes); otherwise at the start of the value.
        let raw = self.map.raw_value(span);
        let needle = match &err {
            InterpError::Missing(name) | InterpError::BadName(name) => format!("${{{name}"),
            InterpError::Unterminated => "${".to_owned(),
        };
        let offset = span.start + raw.find(&needle).unwrap_or(0);
        let location = self.map.location_at(offset);
        let key = key.to_owned();
        match err {
            InterpError::Missing(var) => ConfigError::MissingEnv { location, key, var },
            InterpError::BadName(name) => ConfigError::Interpolation {
                location,
                key,
                message: format!(
                    "`${{{name}}}` is not a valid variable name (letters, digits and `_`, not starting with a digit)"
                ),
            },
            InterpError::Unterminated => ConfigError::Interpolation {
                location,
                key,
                message: "`${` is not closed with `}`".to_owned(),
            },
        }
    }
}

/// Why a string's `${…}` could not be resolved.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InterpError {
    /// `${NAME}` with `NAME` unset and no default.
    Missing(String),
    /// `${` without a closing `}`.
    Unterminated,
    /// `${…}` whose name is not an identifier.
    BadName(String),
}

/// Resolves `${NAME}`, `${NAME:-default}` and the `$${` escape in `s`. Returns the result
/// and whether any value came from the environment (so it can be redacted).
///
/// Like a shell, `:-` also applies when the variable is set but empty. The default runs
/// to the first `}` and is taken literally (no nesting).
pub(crate) fn interpolate(
    s: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, bool), InterpError> {
    if !s.contains('$') {
        return Ok((s.to_owned(), false));
    }
    let mut out = String::with_capacity(s.len());
    let mut used_env = false;
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let at = &rest[pos..];
        if let Some(after) = at.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(body_and_rest) = at.strip_prefix("${") {
            let Some(end) = body_and_rest.find('}') else {
                return Err(InterpError::Unterminated);
            };
            let body = &body_and_rest[..end];
            let (name, default) = match body.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (body, None),
            };
            if !is_var_name(name) {
                return Err(InterpError::BadName(name.to_owned()));
            }
            match (env(name), default) {
                (Some(v), Some(default)) if v.is_empty() => out.push_str(default),
                (Some(v), _) => {
                    out.push_str(&v);
                    used_env = true;
                }
                (None, Some(default)) => out.push_str(default),
                (None, None) => return Err(InterpError::Missing(name.to_owned())),
            }
            rest = &body_and_rest[end + 1..];
        } else {
            out.push('$');
            rest = &at[1..];
        }
    }
    out.push_str(rest);
    Ok((out, used_env))
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Deserializes `value` (found at `prefix` in the file) into `T`, mapping any error to
/// the key path and position it is about.
pub(crate) fn deserialize<T: DeserializeOwned>(
    value: Value,
    prefix: &[Seg],
    map: &SourceMap,
) -> Result<T, ConfigError> {
    let probe = value.clone();
    serde_path_to_error::deserialize(value)
        .map_err(|err| map_serde_error(&err, prefix, map, &probe))
}

fn map_serde_error(
    err: &serde_path_to_error::Error<toml::de::Error>,
    prefix: &[Seg],
    map: &SourceMap,
    probe: &Value,
) -> ConfigError {
    use serde_path_to_error::Segment;

    let mut segs = prefix.to_vec();
    for seg in err.path() {
        match seg {
            Segment::Seq { index } => segs.push(Seg::Index(*index)),
            Segment::Map { key } => segs.push(Seg::Key(key.clone())),
            Segment::Enum { variant } => segs.push(Seg::Key(variant.clone())),
            Segment::Unknown => {}
        }
    }
    let message = err.inner().message().trim().to_owned();

    if let Some(rest) = message.strip_prefix("unknown field ") {
        let expected = rest.split_once(", expected ").map(|(_, e)| e.to_owned());
        return ConfigError::UnknownKey {
            location: map.key_location(&segs),
            key: path_string(&segs),
            expected,
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let location = map.value_location(&segs);
        segs.push(Seg::Key(rest.trim_end_matches('`').to_owned()));
        return ConfigError::MissingKey {
            location,
            key: path_string(&segs),
        };
    }
    let key = path_string(&segs);
    // serde quotes the offending value ("invalid type: string \"hunter2\""): never let a
    // secret reach an error message.
    let secret =
        map.is_from_env(&key) || matches!(segs.last(), Some(Seg::Key(k)) if is_secret_key(k));
    let message = match (
        secret,
        lookup(probe, segs.get(prefix.len()..).unwrap_or(&[])),
    ) {
        (true, Some(Value::String(s))) if !s.is_empty() => message.replace(s.as_str(), "***"),
        _ => message,
    };
    ConfigError::InvalidValue {
        location: map.value_location(&segs),
        hint: format!("fix the value of `{key}`"),
        key,
        message,
    }
}

/// The value at a relative path inside `value`.
fn lookup<'v>(value: &'v Value, segs: &[Seg]) -> Option<&'v Value> {
    segs.iter().try_fold(value, |v, seg| match seg {
        Seg::Key(k) => v.as_table().and_then(|t| t.get(k)),
        Seg::Index(i) => v.as_array().and_then(|a| a.get(*i)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn interpolates_variables_defaults_and_escapes() {
        assert_eq!(interpolate("plain", &env), Ok(("plain".to_owned(), false)));
        assert_eq!(
            interpolate("oauth:${TOKEN}", &env),
            Ok(("oauth:s3cret".to_owned(), true))
        );
        assert_eq!(
            interpolate("${NOPE:-fallback}", &env),
            Ok(("fallback".to_owned(), false))
        );
        assert_eq!(
            interpolate("${EMPTY:-x}", &env),
            Ok(("x".to_owned(), false))
        );
        assert_eq!(interpolate("${NOPE:-}", &env), Ok((String::new(), false)));
        assert_eq!(
            interpolate("cost $5, literal $${TOKEN}", &env),
            Ok(("cost $5, literal ${TOKEN}".to_owned(), false))
        );
        assert_eq!(
            interpolate("$$ stays $$", &env),
            Ok(("$$ stays $$".to_owned(), false))
        );
    }

    #[test]
    fn interpolation_errors() {
        assert_eq!(
            interpolate("${NOPE}", &env),
            Err(InterpError::Missing("NOPE".to_owned()))
        );
        assert_eq!(interpolate("${TOKEN", &env), Err(InterpError::Unterminated));
        assert_eq!(
            interpolate("${1X}", &env),
            Err(InterpError::BadName("1X".to_owned()))
        );
        assert_eq!(
            interpolate("${}", &env),
            Err(InterpError::BadName(String::new()))
        );
    }

    #[test]
    fn paths_are_formatted_like_toml() {
        let segs = [Seg::key("platform"), Seg::Index(1), Seg::key("token")];
        assert_eq!(path_string(&segs), "platform[1].token");
        let segs = [Seg::key("plugins"), Seg::key("my.plugin"), Seg::key("x")];
        assert_eq!(path_string(&segs), "plugins.\"my.plugin\".x");
    }

    #[test]
    fn locations_count_lines_and_characters() {
        let map = SourceMap::new("f.toml", "a = 1\nné = \"x\"\n");
        let loc = map.location_at(10);
        assert_eq!((loc.line, loc.column), (2, 4));
        let loc = map.location_at(0);
        assert_eq!((loc.line, loc.column), (1, 1));
        // Past the end is clamped, never a panic.
        let loc = map.location_at(1000);
        assert_eq!(loc.line, 3);
    }
}
