//! The crate's error type, and how it maps onto botkit's [`PlatformError`].
//!
//! The session's retry logic needs one distinction above all: a refused login is
//! permanent (retrying with the same token only earns a lock-out), a dropped connection
//! is transient. [`TwitchError::is_transient`] draws that line, and the reconnect loop
//! stops on the first permanent error instead of reconnecting in a storm.

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
}

impl TwitchError {
    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, TwitchError::Connect { .. })
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
            other => PlatformError::Protocol(other.to_string()),
        }
    }
}
