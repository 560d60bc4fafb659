//! The crate's error type, and how it maps onto botkit's [`PlatformError`].
//!
//! The session's retry logic needs one distinction above all: a refused login is
//! permanent (retrying with the same token only earns a lock-out), a dropped connection
//! is transient. [`TwitchError::is_transient`] draws that line, and the reconnect loop
//! stops on the first permanent error instead of reconnecting in a storm. Helix and OAuth
//! failures get their own variants, so a caller can tell a refused request (fix the
//! request) from a rate limit (wait [`TwitchError::retry_after`]) from an auth failure
//! (log in again).

use std::time::Duration;

use botkit::PlatformError;

/// What went wrong talking to Twitch.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TwitchError {
    /// The connection could not be opened or was lost (including a dead link).
    #[error("connection to {url} failed: {reason}")]
    Connect {
        /// Where we connected.
        url: String,
        /// What happened.
        reason: String,
    },
    /// Twitch refused the login (bad or expired token, malformed PASS/NICK).
    #[error("Twitch refused the login: {0}; check `login` and the token (it may have expired)")]
    Auth(String),
    /// Twitch refused the capabilities the session needs.
    #[error("Twitch refused capabilities `{0}`; the bot cannot work without them")]
    CapabilitiesRefused(String),
    /// The configuration is unusable.
    #[error("invalid Twitch configuration: {0}")]
    Config(String),
    /// The server sent something the session cannot work with.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Helix or the OAuth server answered a request with an error status.
    #[error("Twitch API {endpoint} answered {status}: {message}")]
    Api {
        /// The request, as `METHOD /path` (no query, so no ids or tokens).
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// Twitch's `message` (or the body's start when it has none).
        message: String,
    },
    /// Helix kept answering 429 after the bounded retries.
    #[error("Twitch API rate limit hit on {endpoint}; retry in {retry_after:?}")]
    RateLimited {
        /// The request, as `METHOD /path`.
        endpoint: String,
        /// Until the `Ratelimit-Reset` time.
        retry_after: Duration,
    },
    /// Twitch accepted the chat message request but did not deliver the message.
    #[error("Twitch dropped the chat message ({code}): {message}")]
    MessageDropped {
        /// Twitch's `drop_reason.code`, e.g. `msg_duplicate`.
        code: String,
        /// Twitch's `drop_reason.message`.
        message: String,
    },
    /// An action's argument Twitch would refuse (unknown color, timeout too long…),
    /// caught before any request.
    #[error("{0}")]
    InvalidArgument(String),
    /// A user login or id that Twitch does not know.
    #[error("no Twitch user `{0}`; check the spelling of the login")]
    UnknownUser(String),
    /// The OAuth device login did not complete (expired code or the user said no).
    #[error("Twitch login not completed: {0}")]
    Login(String),
    /// Reading, writing, encrypting or decrypting the stored token failed.
    #[error("stored Twitch token: {0}")]
    TokenStore(String),
}

impl TwitchError {
    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TwitchError::Connect { .. } | TwitchError::RateLimited { .. }
        ) || matches!(self, TwitchError::Api { status, .. } if *status >= 500)
    }

    /// How long to wait before retrying, when Twitch said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TwitchError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The error for a failed HTTP exchange (connection refused, timeout, bad body).
    pub(crate) fn http(endpoint: &str, e: reqwest::Error) -> Self {
        // reqwest's Display can include the URL, whose query holds ids but never tokens
        // (tokens travel in headers and form bodies); strip it anyway to keep lines short,
        // and add the causes, since "error sending request" alone says nothing.
        let e = e.without_url();
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            reason.push_str(": ");
            reason.push_str(&cause.to_string());
            source = cause.source();
        }
        TwitchError::Connect {
            url: endpoint.to_owned(),
            reason,
        }
    }
}

impl From<TwitchError> for PlatformError {
    fn from(e: TwitchError) -> Self {
        match e {
            TwitchError::Connect { url, reason } => PlatformError::Connect {
                service: url,
                reason,
            },
            TwitchError::Auth(reason) => PlatformError::Auth(reason),
            TwitchError::RateLimited { retry_after, .. } => {
                PlatformError::RateLimited { retry_after }
            }
            // A server error is Twitch's trouble, not the request's: worth a retry later.
            e @ TwitchError::Api { status: 500.., .. } => PlatformError::Connect {
                service: "Twitch API".to_owned(),
                reason: e.to_string(),
            },
            e @ (TwitchError::Api { .. }
            | TwitchError::MessageDropped { .. }
            | TwitchError::InvalidArgument(_)
            | TwitchError::UnknownUser(_)) => PlatformError::Refused(e.to_string()),
            other => PlatformError::Protocol(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_map_by_status() {
        let api = |status| TwitchError::Api {
            endpoint: "GET /users".to_owned(),
            status,
            message: "x".to_owned(),
        };
        assert!(api(503).is_transient());
        assert!(PlatformError::from(api(503)).is_transient());
        assert!(!api(400).is_transient());
        assert!(matches!(
            PlatformError::from(api(400)),
            PlatformError::Refused(_)
        ));
        let limited = TwitchError::RateLimited {
            endpoint: "GET /users".to_owned(),
            retry_after: Duration::from_secs(3),
        };
        assert_eq!(
            PlatformError::from(limited).retry_after(),
            Some(Duration::from_secs(3))
        );
    }
}
