//! Where the session gets its login from, on every (re)connect.
//!
//! The most common Twitch bot failure across ecosystems is a stale token replayed after
//! a reconnect until the login fails in a loop (tmi.js #244, TwitchIO #438, twurple
//! #161). So the session never stores a token: it asks a [`CredentialsProvider`] each
//! time it connects. [`StaticCredentials`] serves a fixed token or the anonymous
//! read-only login; [`crate::oauth::OAuthCredentials`] serves a stored OAuth token that
//! it refreshes ahead of expiry and after a refused login, and validates hourly through
//! [`CredentialsProvider::watch`].

use std::fmt;

use async_trait::async_trait;
use botkit::config::Secret;

use crate::error::TwitchError;

/// A login for one connection.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The account login (lower case).
    pub login: String,
    /// The user access token, without `oauth:`; `None` for an anonymous login.
    pub token: Option<Secret>,
}

impl Credentials {
    /// Credentials for `login` with `token` (an `oauth:` prefix is removed).
    pub fn new(login: &str, token: Secret) -> Self {
        let bare = token.expose().trim();
        let bare = bare.strip_prefix("oauth:").unwrap_or(bare);
        Self {
            login: login.trim().to_ascii_lowercase(),
            token: Some(Secret::new(bare)),
        }
    }

    /// The anonymous, read-only login (`justinfan` + digits, no token).
    pub fn anonymous() -> Self {
        Self {
            login: format!("justinfan{}", fastrand::u32(10_000..100_000)),
            token: None,
        }
    }

    /// Whether this is the anonymous login, which cannot send messages.
    pub fn is_anonymous(&self) -> bool {
        self.token.is_none()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("login", &self.login)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Hands out credentials for each connection attempt.
#[async_trait]
pub trait CredentialsProvider: Send + Sync + 'static {
    /// The login to use for the connection about to be made.
    async fn credentials(&self) -> Result<Credentials, TwitchError>;

    /// Called when Twitch refused `credentials`. Return `true` if fresh credentials may
    /// now be available (e.g. a token was refreshed), so one more attempt is worth it.
    async fn refused(&self, credentials: &Credentials) -> bool {
        let _ = credentials;
        false
    }

    /// Runs alongside each connected session and returns only when the credentials have
    /// become unusable (e.g. the hourly validation found the token revoked and it cannot
    /// be refreshed); the session then ends with that error. The default never returns.
    async fn watch(&self) -> TwitchError {
        std::future::pending().await
    }
}

/// Fixed credentials from the config.
#[derive(Debug, Clone)]
pub struct StaticCredentials(Credentials);

impl StaticCredentials {
    /// Always hands out `credentials`.
    pub fn new(credentials: Credentials) -> Self {
        Self(credentials)
    }
}

#[async_trait]
impl CredentialsProvider for StaticCredentials {
    async fn credentials(&self) -> Result<Credentials, TwitchError> {
        Ok(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_print() {
        let c = Credentials::new("MyBot", Secret::new("oauth:abcdef123"));
        assert_eq!(c.login, "mybot");
        assert_eq!(c.token.as_ref().map(Secret::expose), Some("abcdef123"));
        let shown = format!("{c:?}");
        assert!(!shown.contains("abcdef123"), "{shown}");
    }

    #[test]
    fn anonymous_is_justinfan() {
        let c = Credentials::anonymous();
        assert!(c.login.starts_with("justinfan"));
        assert!(c.is_anonymous());
    }
}
