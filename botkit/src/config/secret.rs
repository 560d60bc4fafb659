//! [`Secret`]: a string that never prints itself.
//!
//! Tokens and passwords travel through config structs that get logged, debug-printed and
//! dumped by `botkit check`. Rather than trusting every caller to remember which field is
//! sensitive, the value is wrapped: `Debug` and `Display` print `***`, serializing writes
//! [`Secret::REDACTED`], and the only way to read it is the explicit [`Secret::expose`],
//! which is easy to grep for in review.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret string (token, password, API key) that is redacted everywhere it could be shown.
///
/// Platform and plugin config structs use it for credentials:
///
/// ```
/// use botkit::config::Secret;
///
/// #[derive(serde::Deserialize)]
/// struct TwitchConfig {
///     login: String,
///     token: Secret,
/// }
///
/// let cfg: TwitchConfig = toml::from_str("login = \"bot\"\ntoken = \"oauth:abc\"").unwrap();
/// assert_eq!(cfg.token.expose(), "oauth:abc");
/// assert_eq!(format!("{:?}", cfg.token), "***");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// What a secret serializes to, and what `Config::redacted_toml` prints in place of one.
    pub const REDACTED: &'static str = "***redacted***";

    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself. Call this only where the value is handed to the service
    /// that needs it, never to build a log line.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string (usually a configuration mistake).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(Self::REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:?}", Some(&s)), "Some(***)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn serializes_redacted_and_deserializes_from_a_string() {
        #[derive(Serialize, Deserialize)]
        struct Creds {
            token: Secret,
        }
        let creds: Creds = toml::from_str("token = \"hunter2\"").unwrap();
        assert_eq!(creds.token.expose(), "hunter2");
        let out = toml::to_string(&creds).unwrap();
        assert!(!out.contains("hunter2"));
        assert!(out.contains(Secret::REDACTED));
    }

    #[test]
    fn refuses_non_strings() {
        #[derive(Deserialize)]
        struct Creds {
            #[allow(dead_code)]
            token: Secret,
        }
        assert!(toml::from_str::<Creds>("token = 5").is_err());
    }
}
