//! The crate's error type.
//!
//! One enum for everything that can go wrong talking to CyTube, split by what the caller
//! should do next: transient errors (a dropped link, a refused connect, the guest-login
//! delay) are retried with backoff by the session; permanent ones (a wrong password, a
//! kick, a channel password we do not have, a rank too low for an action) stop and say
//! why, because retrying them blindly gets a bot banned or locks it out.

use std::time::Duration;

use botkit::PlatformError;

use crate::codec::FrameError;

/// What went wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CytubeError {
    /// The config is unusable.
    #[error("bad CyTube config: {0}")]
    Config(String),
    /// `/socketconfig/<channel>.json` failed or listed no server.
    #[error("socket server discovery failed: {0}")]
    Discovery(String),
    /// The websocket could not be opened or broke.
    #[error("websocket transport error: {0}")]
    Transport(String),
    /// The server closed the websocket (1006 = no close frame, e.g. a restart).
    #[error("the server closed the connection (code {code})")]
    Closed {
        /// The websocket close code.
        code: u16,
    },
    /// No ping from the server for `pingInterval + pingTimeout`: the link is dead.
    #[error("no heartbeat from the server for {0:?}; the link is dead")]
    DeadLink(Duration),
    /// The Engine.IO / Socket.IO handshake went wrong.
    #[error("handshake failed: {0}")]
    Handshake(String),
    /// The server refused the Socket.IO connection (`44`), e.g. `Rate limit exceeded`.
    #[error("the server refused the connection: {0}")]
    ConnectRefused(String),
    /// The login was refused.
    #[error("login failed: {0}")]
    LoginFailed(String),
    /// The channel wants a password that was not configured or is wrong.
    #[error(
        "channel `{channel}` needs a password{}; set `password` for it in the config",
        if *.wrong { " and the configured one is wrong" } else { "" }
    )]
    NeedPassword {
        /// The channel.
        channel: String,
        /// Whether a password was given and refused.
        wrong: bool,
    },
    /// The server kicked us. Not retried: a kick means a moderator, a ban, or another
    /// instance of the bot (`Duplicate login`) wants us gone.
    #[error("kicked from the channel: {0}")]
    Kicked(String),
    /// An action was refused locally (rank too low, bad argument) or by the server.
    #[error("refused: {0}")]
    Refused(String),
    /// The action or channel is not known to this platform.
    #[error("{0}")]
    Unsupported(String),
    /// A frame could not be decoded.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// Not connected to the channel right now.
    #[error("not connected to channel `{0}` right now")]
    NotConnected(String),
}

impl CytubeError {
    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            CytubeError::Discovery(_)
            | CytubeError::Transport(_)
            | CytubeError::Closed { .. }
            | CytubeError::DeadLink(_)
            | CytubeError::Handshake(_)
            | CytubeError::ConnectRefused(_)
            | CytubeError::NotConnected(_)
            | CytubeError::Frame(_) => true,
            CytubeError::LoginFailed(reason) => is_guest_delay(reason),
            _ => false,
        }
    }

    /// A short label for the kind of failure, used as the key of the drop counters in
    /// [`crate::platform::ConnectionMetrics`].
    pub fn cause(&self) -> &'static str {
        match self {
            CytubeError::Config(_) => "config",
            CytubeError::Discovery(_) => "discovery",
            CytubeError::Transport(_) => "transport",
            CytubeError::Closed { .. } => "closed",
            CytubeError::DeadLink(_) => "dead_link",
            CytubeError::Handshake(_) => "handshake",
            CytubeError::ConnectRefused(_) => "refused",
            CytubeError::LoginFailed(_) => "login_failed",
            CytubeError::NeedPassword { .. } => "need_password",
            CytubeError::Kicked(_) => "kicked",
            CytubeError::Refused(_) => "action_refused",
            CytubeError::Unsupported(_) => "unsupported",
            CytubeError::Frame(_) => "frame",
            CytubeError::NotConnected(_) => "not_connected",
        }
    }

    /// The least time to wait before retrying, when CyTube's rules say so: a guest login
    /// is allowed once per IP per 60 s, and a connect refused by the per-IP bucket refills
    /// one token per 10 s.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CytubeError::LoginFailed(reason) if is_guest_delay(reason) => {
                Some(Duration::from_secs(60))
            }
            CytubeError::ConnectRefused(reason) if reason.contains("Rate limit") => {
                Some(Duration::from_secs(10))
            }
            _ => None,
        }
    }
}

fn is_guest_delay(reason: &str) -> bool {
    reason.starts_with("Guest logins are restricted")
}

impl From<CytubeError> for PlatformError {
    fn from(e: CytubeError) -> Self {
        match e {
            CytubeError::LoginFailed(_) | CytubeError::NeedPassword { .. } if !e.is_transient() => {
                PlatformError::Auth(e.to_string())
            }
            CytubeError::Refused(reason) => PlatformError::Refused(reason),
            CytubeError::Unsupported(what) => PlatformError::Unsupported(what),
            CytubeError::Frame(f) => PlatformError::Protocol(f.to_string()),
            other if other.is_transient() => PlatformError::Connect {
                service: "cytube".to_owned(),
                reason: other.to_string(),
            },
            other => PlatformError::Refused(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transience_follows_cytube_rules() {
        let guest = CytubeError::LoginFailed(
            "Guest logins are restricted to one per IP address per 60 seconds.".into(),
        );
        assert!(guest.is_transient());
        assert_eq!(guest.retry_after(), Some(Duration::from_secs(60)));
        let bad = CytubeError::LoginFailed("Invalid username/password combination".into());
        assert!(!bad.is_transient());
        assert!(matches!(PlatformError::from(bad), PlatformError::Auth(_)));
        assert!(!CytubeError::Kicked("Duplicate login".into()).is_transient());
        assert!(CytubeError::Closed { code: 1006 }.is_transient());
        assert_eq!(
            CytubeError::ConnectRefused("Rate limit exceeded".into()).retry_after(),
            Some(Duration::from_secs(10))
        );
        let pw = CytubeError::NeedPassword {
            channel: "secret".into(),
            wrong: true,
        };
        assert!(pw.to_string().contains("configured one is wrong"));
    }
}
