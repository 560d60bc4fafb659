//! Topics and subscription patterns in NATS subject syntax.
//!
//! A [`Topic`] is a concrete address such as `platform.twitch.chat.message`: tokens
//! separated by `.`, none empty, no whitespace, no wildcard. A [`Pattern`] is what a
//! subscriber listens to: the same syntax plus `*` (exactly one token) and `>` (one or
//! more remaining tokens, last position only). Using NATS syntax means the NATS bridge maps
//! topics to subjects one to one.
//!
//! Both types validate on construction and are cheap to clone (`Arc<str>` inside), because
//! a topic travels with every event and is hashed on every publish.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a topic or pattern string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// The string was empty.
    #[error("topic is empty")]
    Empty,
    /// Two dots in a row, or a leading or trailing dot.
    #[error("topic `{0}` has an empty token (check for `..` or a leading/trailing `.`)")]
    EmptyToken(String),
    /// Whitespace is not allowed anywhere in a topic.
    #[error("topic `{0}` contains whitespace")]
    Whitespace(String),
    /// A wildcard appeared where only a concrete topic is allowed.
    #[error(
        "topic `{0}` contains a wildcard (`*` or `>`); wildcards belong in subscription patterns"
    )]
    Wildcard(String),
    /// `>` was not the last token, or a wildcard was glued to other characters.
    #[error(
        "pattern `{0}` misuses a wildcard: `*` and `>` must be whole tokens and `>` must be last"
    )]
    BadWildcard(String),
}

fn check_tokens(s: &str, allow_wildcards: bool) -> Result<(), TopicError> {
    if s.is_empty() {
        return Err(TopicError::Empty);
    }
    if s.chars().any(char::is_whitespace) {
        return Err(TopicError::Whitespace(s.to_owned()));
    }
    let count = s.split('.').count();
    for (i, token) in s.split('.').enumerate() {
        if token.is_empty() {
            return Err(TopicError::EmptyToken(s.to_owned()));
        }
        let has_wild = token.contains('*') || token.contains('>');
        if !has_wild {
            continue;
        }
        if !allow_wildcards {
            return Err(TopicError::Wildcard(s.to_owned()));
        }
        let whole = token == "*" || token == ">";
        if !whole || (token == ">" && i + 1 != count) {
            return Err(TopicError::BadWildcard(s.to_owned()));
        }
    }
    Ok(())
}

/// A concrete, validated topic such as `platform.cytube.media.changed`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Topic(Arc<str>);

impl Topic {
    /// Validates `s` as a concrete topic (no wildcards).
    pub fn new(s: impl AsRef<str>) -> Result<Self, TopicError> {
        let s = s.as_ref();
        check_tokens(s, false)?;
        Ok(Self(Arc::from(s)))
    }

    /// Builds `platform.<platform>.<kind>`, the topic of an inbound normalized event.
    pub fn platform(platform: &str, kind: &str) -> Result<Self, TopicError> {
        Self::new(format!("platform.{platform}.{kind}"))
    }

    /// The topic as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `.`-separated tokens of the topic.
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }

    /// The n-th token (0-based), if there is one.
    pub fn token(&self, n: usize) -> Option<&str> {
        self.tokens().nth(n)
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Topic({})", self.0)
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Topic {
    type Err = TopicError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Topic {
    type Error = TopicError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<String> for Topic {
    type Error = TopicError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl Serialize for Topic {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Topic::new(s).map_err(serde::de::Error::custom)
    }
}

/// A subscription pattern: a topic that may contain `*` (one token) and a final `>`
/// (one or more tokens).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pattern(Arc<str>);

impl Pattern {
    /// Validates `s` as a pattern.
    pub fn new(s: impl AsRef<str>) -> Result<Self, TopicError> {
        let s = s.as_ref();
        check_tokens(s, true)?;
        Ok(Self(Arc::from(s)))
    }

    /// The pattern as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `.`-separated tokens of the pattern.
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }

    /// Whether the pattern contains no wildcard (so it matches exactly one topic).
    pub fn is_literal(&self) -> bool {
        !self.0.split('.').any(|t| t == "*" || t == ">")
    }

    /// Whether `topic` matches this pattern. This is the reference implementation; the bus
    /// uses an index that gives the same answers without scanning every pattern.
    pub fn matches(&self, topic: &str) -> bool {
        let mut pat = self.0.split('.');
        let mut top = topic.split('.');
        loop {
            match (pat.next(), top.next()) {
                (Some(">"), Some(_)) => return true,
                (Some("*"), Some(_)) => {}
                (Some(p), Some(t)) if p == t => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({})", self.0)
    }
}

impl From<Topic> for Pattern {
    fn from(t: Topic) -> Self {
        Pattern(t.0)
    }
}

impl std::str::FromStr for Pattern {
    type Err = TopicError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Pattern {
    type Error = TopicError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Pattern::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_validate() {
        assert!(Topic::new("platform.twitch.chat.message").is_ok());
        assert_eq!(Topic::new(""), Err(TopicError::Empty));
        assert!(matches!(Topic::new("a..b"), Err(TopicError::EmptyToken(_))));
        assert!(matches!(Topic::new(".a"), Err(TopicError::EmptyToken(_))));
        assert!(matches!(Topic::new("a b"), Err(TopicError::Whitespace(_))));
        assert!(matches!(Topic::new("a.*"), Err(TopicError::Wildcard(_))));
    }

    #[test]
    fn patterns_validate() {
        assert!(Pattern::new("platform.*.chat.>").is_ok());
        assert!(matches!(
            Pattern::new("a.>.b"),
            Err(TopicError::BadWildcard(_))
        ));
        assert!(matches!(
            Pattern::new("a.b*"),
            Err(TopicError::BadWildcard(_))
        ));
        assert!(Pattern::new(">").is_ok());
    }

    #[test]
    fn matching() {
        let p = Pattern::new("platform.*.chat.message").unwrap();
        assert!(p.matches("platform.twitch.chat.message"));
        assert!(!p.matches("platform.twitch.chat.whisper"));
        assert!(!p.matches("platform.twitch.chat.message.extra"));
        let p = Pattern::new("platform.>").unwrap();
        assert!(p.matches("platform.twitch"));
        assert!(p.matches("platform.twitch.chat.message"));
        assert!(!p.matches("platform"));
        assert!(Pattern::new(">").unwrap().matches("anything.at.all"));
    }
}
