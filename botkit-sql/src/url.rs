//! Store URLs: which backend, and where.
//!
//! One string in the config (`[store] url = "sqlite://botkit.db"`) picks the backend, so
//! moving a bot from SQLite to PostgreSQL is a one-line change. Parsing is strict and every
//! refusal says what was expected, because a typo here would otherwise silently create a
//! database file somewhere unexpected. PostgreSQL URLs carry passwords, so nothing here
//! prints one: [`redact_url`] masks it and the `Debug` output uses it.

use std::fmt;
use std::path::PathBuf;

use botkit::store::StoreError;

/// A parsed store URL.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreUrl {
    /// `memory:` — the in-memory store.
    Memory,
    /// `sqlite://PATH` or `sqlite:PATH` — a SQLite database file.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…` — the whole URL, handed to the driver.
    Postgres(String),
}

const EXPECTED: &str = "expected `memory:`, `sqlite://PATH` or `postgres://USER@HOST/DB`";

impl StoreUrl {
    /// Parses a store URL; [`StoreError::Invalid`] naming the problem if it is malformed.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let bad = |why: &str| {
            StoreError::invalid(
                "store url",
                format!("`{}` {why}; {EXPECTED}", redact_url(url)),
            )
        };
        let url = url.trim();
        let Some((scheme, rest)) = url.split_once(':') else {
            return Err(bad("has no scheme"));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "memory" => {
                if rest.is_empty() || rest == "//" {
                    Ok(Self::Memory)
                } else {
                    Err(bad("has text after `memory:`"))
                }
            }
            "sqlite" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.contains('?') {
                    return Err(bad(
                        "has query parameters, which SQLite URLs do not take (set options in config)",
                    ));
                }
                if path.is_empty() {
                    return Err(bad("has no file path"));
                }
                if path == ":memory:" {
                    return Err(bad(
                        "names an in-memory SQLite database, which cannot be shared by the writer and readers (use `memory:`)",
                    ));
                }
                Ok(Self::Sqlite(PathBuf::from(path)))
            }
            "postgres" | "postgresql" => {
                let Some(after) = rest.strip_prefix("//") else {
                    return Err(bad("must start with `postgres://`"));
                };
                let host_part = after.rsplit_once('@').map_or(after, |(_, h)| h);
                let host = host_part.split(['/', '?']).next().unwrap_or_default();
                if host.is_empty() && !after.contains("host=") {
                    return Err(bad("has no host"));
                }
                if let Some((_, port)) = host.rsplit_once(':')
                    && !host.ends_with(']')
                    && port.parse::<u16>().is_err()
                {
                    return Err(bad(&format!("has a bad port `{port}`")));
                }
                Ok(Self::Postgres(url.to_owned()))
            }
            other => Err(bad(&format!("has the unknown scheme `{other}`"))),
        }
    }

    /// The scheme, as a feature name: `memory`, `sqlite` or `postgres`.
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// The URL with any password masked, for logs and messages.
    pub fn redacted(&self) -> String {
        match self {
            Self::Memory => "memory:".to_owned(),
            Self::Sqlite(p) => format!("sqlite://{}", p.display()),
            Self::Postgres(url) => redact_url(url),
        }
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({})", self.redacted())
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `url` with the password of its `user:password@` part (and any `password=` parameter)
/// replaced by `***`, for logs and error messages.
pub fn redact_url(url: &str) -> String {
    let mut out = match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, tail) = match rest.find(['/', '?']) {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
                    let masked = if userinfo.contains(':') { ":***" } else { "" };
                    format!("{scheme}://{user}{masked}@{host}{tail}")
                }
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    };
    if let Some(i) = out.find("password=") {
        let start = i + "password=".len();
        let end = out[start..].find('&').map_or(out.len(), |j| start + j);
        out.replace_range(start..end, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_scheme() {
        assert_eq!(StoreUrl::parse("memory:").unwrap(), StoreUrl::Memory);
        assert_eq!(
            StoreUrl::parse("sqlite://botkit.db").unwrap(),
            StoreUrl::Sqlite("botkit.db".into())
        );
        assert_eq!(
            StoreUrl::parse("sqlite:data/bot.db").unwrap(),
            StoreUrl::Sqlite("data/bot.db".into())
        );
        assert_eq!(
            StoreUrl::parse("sqlite:///var/lib/bot.db").unwrap(),
            StoreUrl::Sqlite("/var/lib/bot.db".into())
        );
        assert_eq!(
            StoreUrl::parse("postgres://u:p@127.0.0.1:5432/test").unwrap(),
            StoreUrl::Postgres("postgres://u:p@127.0.0.1:5432/test".into())
        );
    }

    #[test]
    fn malformed_urls_say_why() {
        for (url, why) in [
            ("botkit.db", "no scheme"),
            ("sqlite://", "no file path"),
            ("sqlite::memory:", "in-memory"),
            ("sqlite://a.db?mode=ro", "query parameters"),
            ("mysql://h/db", "unknown scheme `mysql`"),
            ("postgres:host/db", "must start with"),
            ("postgres:///db", "no host"),
            ("postgres://h:99999/db", "bad port `99999`"),
            ("memory:x", "after `memory:`"),
        ] {
            let e = StoreUrl::parse(url).unwrap_err();
            assert!(matches!(e, StoreError::Invalid { .. }), "{url}: {e:?}");
            assert!(e.to_string().contains(why), "{url}: {e}");
        }
    }

    #[test]
    fn passwords_never_show() {
        let url = "postgres://bot:s3cret@db:5432/bot?sslmode=require&password=s3cret";
        let parsed = StoreUrl::parse(url).unwrap();
        for shown in [
            redact_url(url),
            format!("{parsed:?}"),
            parsed.to_string(),
            StoreUrl::parse("postgres://bot:s3cret@db:notaport/x")
                .unwrap_err()
                .to_string(),
        ] {
            assert!(!shown.contains("s3cret"), "{shown}");
        }
        assert_eq!(
            redact_url("postgres://bot:pw@db/x"),
            "postgres://bot:***@db/x"
        );
        assert_eq!(redact_url("postgres://bot@db/x"), "postgres://bot@db/x");
    }
}
