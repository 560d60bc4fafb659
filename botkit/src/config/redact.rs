//! Which config values are secret, and how to hide them.
//!
//! Two rules, applied in every section including platform and plugin tables whose shape the
//! core does not know:
//!
//! 1. a value that came from an environment interpolation (`${VAR}`) is secret: moving a
//!    value into the environment is how an operator says "this is sensitive";
//! 2. a key whose name (lower-cased, `-` read as `_`) is or ends with `token`, `password`,
//!    `passwd`, `secret` (so `client_secret`), `api_key`, `apikey` or `cookie` is secret.
//!    Suffixes, not substrings, so `keep_alive`, `key_prefix` and `max_tokens` stay visible.
//!
//! Besides, the password part of a URL (`postgres://user:pass@host`) is masked in any
//! string that is printed.

use toml::Value;

use super::secret::Secret;
use super::source::{Seg, SourceMap, path_string};

const SECRET_SUFFIXES: &[&str] = &[
    "token", "password", "passwd", "secret", "api_key", "apikey", "cookie",
];

/// Whether a key with this name holds a secret, by name alone.
pub(crate) fn is_secret_key(name: &str) -> bool {
    let name = name.to_ascii_lowercase().replace('-', "_");
    SECRET_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Replaces every secret inside `value` (which sits at `path` in the file) with
/// [`Secret::REDACTED`].
pub(crate) fn redact(value: &mut Value, path: &mut Vec<Seg>, map: &SourceMap) {
    if map.is_from_env(&path_string(path))
        || matches!(path.last(), Some(Seg::Key(k)) if is_secret_key(k))
    {
        *value = Value::String(Secret::REDACTED.to_owned());
        return;
    }
    match value {
        Value::String(s) => {
            if let Some(masked) = mask_url_password(s) {
                *s = masked;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(Seg::Index(i));
                redact(item, path, map);
                path.pop();
            }
        }
        Value::Table(table) => {
            for (key, item) in table.iter_mut() {
                path.push(Seg::Key(key.clone()));
                redact(item, path, map);
                path.pop();
            }
        }
        Value::Integer(_) | Value::Float(_) | Value::Boolean(_) | Value::Datetime(_) => {}
    }
}

/// Debug-formats a TOML value as an inline TOML value (`{ name = "x", ids = [1, 2] }`):
/// shorter than `Value`'s derived `Debug`, and readable by the operators who see it.
pub(crate) struct Inline<'a>(pub(crate) &'a Value);

impl std::fmt::Debug for Inline<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Value::String(s) => write!(f, "{s:?}"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Datetime(d) => write!(f, "{d}"),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{:?}", Inline(item))?;
                }
                f.write_str("]")
            }
            Value::Table(table) => {
                if table.is_empty() {
                    return f.write_str("{}");
                }
                f.write_str("{ ")?;
                for (i, (key, item)) in table.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    let mut quoted = String::new();
                    super::source::push_key(&mut quoted, key);
                    write!(f, "{quoted} = {:?}", Inline(item))?;
                }
                f.write_str(" }")
            }
        }
    }
}

/// `scheme://user:pass@host/…` → `scheme://user:***@host/…`; `None` when there is no
/// password to hide.
pub(crate) fn mask_url_password(s: &str) -> Option<String> {
    let scheme_end = s.find("://")? + 3;
    let rest = s.get(scheme_end..)?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_end)?;
    let at = authority.rfind('@')?;
    let userinfo = authority.get(..at)?;
    let colon = userinfo.find(':')?;
    Some(format!(
        "{}{}:***{}",
        s.get(..scheme_end)?,
        userinfo.get(..colon)?,
        rest.get(at..)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_key_names() {
        for name in [
            "token",
            "oauth_token",
            "refresh-token",
            "password",
            "db_password",
            "client_secret",
            "secret",
            "api_key",
            "openai-api-key",
            "session_cookie",
            "TOKEN",
        ] {
            assert!(is_secret_key(name), "{name} should be secret");
        }
        for name in [
            "keep_alive",
            "key",
            "key_prefix",
            "max_tokens",
            "login",
            "url",
            "tokens_per_minute",
        ] {
            assert!(!is_secret_key(name), "{name} should be visible");
        }
    }

    #[test]
    fn masks_url_passwords() {
        assert_eq!(
            mask_url_password("postgres://bot:hunter2@db:5432/botkit").as_deref(),
            Some("postgres://bot:***@db:5432/botkit")
        );
        assert_eq!(mask_url_password("postgres://bot@db/botkit"), None);
        assert_eq!(mask_url_password("https://cytu.be"), None);
        assert_eq!(mask_url_password("memory:"), None);
        assert_eq!(mask_url_password("https://x/a:b@c"), None);
    }
}
