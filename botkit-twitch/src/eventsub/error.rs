//! What can end an EventSub connection, and how the session reacts to each cause.
//!
//! Twitch closes an EventSub socket with a code from 4000 to 4007, each with its own
//! cause. [`CloseCause`] maps the code to that cause, a message that says what to do, and
//! a [`Reaction`]: most causes only need a new connection (at once when waiting cannot
//! help, after a backoff delay when the server or network is in trouble). 4003, "connection
//! unused", means the subscriptions came too late, so the next session creates them all
//! at once instead of one by one. 4001 means this crate sent something on the socket,
//! which the protocol forbids: a bug, logged as one, after which a new connection works.

use std::time::Duration;

/// How the session reacts to a lost connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// Open a fresh connection at once (and create the subscriptions again).
    ReconnectNow,
    /// Open a fresh connection after the backoff delay.
    ReconnectWithBackoff,
    /// Stop: retrying cannot help until the configuration or token changes.
    Stop,
}

/// The cause behind an EventSub close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseCause {
    /// 4000: internal server error.
    InternalServerError,
    /// 4001: the client sent inbound traffic (it must never send anything).
    ClientSentInboundTraffic,
    /// 4002: the client failed the WebSocket ping-pong.
    ClientFailedPingPong,
    /// 4003: no subscription was created within the welcome's keepalive window.
    ConnectionUnused,
    /// 4004: the client did not move to `reconnect_url` within the grace time.
    ReconnectGraceTimeExpired,
    /// 4005: network timeout.
    NetworkTimeout,
    /// 4006: network error.
    NetworkError,
    /// 4007: the client reconnected to a stale or wrong `reconnect_url`.
    InvalidReconnect,
    /// A code outside 4000–4007 (or none), e.g. 1000 or 1006.
    Other(u16),
}

impl CloseCause {
    /// The cause of close code `code`.
    pub fn from_code(code: u16) -> Self {
        match code {
            4000 => Self::InternalServerError,
            4001 => Self::ClientSentInboundTraffic,
            4002 => Self::ClientFailedPingPong,
            4003 => Self::ConnectionUnused,
            4004 => Self::ReconnectGraceTimeExpired,
            4005 => Self::NetworkTimeout,
            4006 => Self::NetworkError,
            4007 => Self::InvalidReconnect,
            other => Self::Other(other),
        }
    }

    /// The close code.
    pub fn code(self) -> u16 {
        match self {
            Self::InternalServerError => 4000,
            Self::ClientSentInboundTraffic => 4001,
            Self::ClientFailedPingPong => 4002,
            Self::ConnectionUnused => 4003,
            Self::ReconnectGraceTimeExpired => 4004,
            Self::NetworkTimeout => 4005,
            Self::NetworkError => 4006,
            Self::InvalidReconnect => 4007,
            Self::Other(code) => code,
        }
    }

    /// What the code means and what happens next, for logs and errors.
    pub fn explain(self) -> &'static str {
        match self {
            Self::InternalServerError => {
                "Twitch had an internal server error; reconnecting after a delay"
            }
            Self::ClientSentInboundTraffic => {
                "the client sent a frame on the socket, which EventSub forbids; this is a bug in botkit-twitch, please report it (reconnecting)"
            }
            Self::ClientFailedPingPong => {
                "the client did not answer Twitch's WebSocket ping in time (a slow or stalled link); reconnecting"
            }
            Self::ConnectionUnused => {
                "no subscription was created within the welcome's keepalive window; reconnecting and creating all subscriptions at once (check that the Helix client answers quickly)"
            }
            Self::ReconnectGraceTimeExpired => {
                "the client did not move to the session_reconnect URL in time; starting a fresh session"
            }
            Self::NetworkTimeout => "Twitch saw a network timeout; reconnecting after a delay",
            Self::NetworkError => "Twitch saw a network error; reconnecting after a delay",
            Self::InvalidReconnect => {
                "the reconnect URL was stale or wrong; starting a fresh session at the configured URL"
            }
            Self::Other(_) => "the connection closed; reconnecting after a delay",
        }
    }

    /// What the session does about it.
    pub fn reaction(self) -> Reaction {
        match self {
            Self::ClientFailedPingPong
            | Self::ConnectionUnused
            | Self::ReconnectGraceTimeExpired
            | Self::InvalidReconnect => Reaction::ReconnectNow,
            Self::InternalServerError
            | Self::ClientSentInboundTraffic
            | Self::NetworkTimeout
            | Self::NetworkError
            | Self::Other(_) => Reaction::ReconnectWithBackoff,
        }
    }
}

/// Why an EventSub connection or session ended.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum EventSubError {
    /// The socket could not be opened or broke without a close frame.
    #[error("EventSub connection to {url} failed: {reason}")]
    Connect {
        /// Where we connected.
        url: String,
        /// What happened.
        reason: String,
    },
    /// Twitch closed the socket with a close frame.
    #[error("Twitch closed the EventSub socket with code {} (`{reason}`): {}", cause.code(), cause.explain())]
    Closed {
        /// The cause behind the code.
        cause: CloseCause,
        /// The reason text Twitch sent.
        reason: String,
    },
    /// No welcome arrived after connecting.
    #[error("no EventSub session_welcome within {0:?} of connecting; reconnecting")]
    NoWelcome(Duration),
    /// No frame at all within the keepalive window (plus margin).
    #[error(
        "no EventSub message for {0:?} (keepalive timeout): the connection is dead; reconnecting"
    )]
    KeepaliveTimeout(Duration),
    /// The hand-over to `reconnect_url` did not complete.
    #[error(
        "moving the EventSub session to its reconnect URL failed: {0}; starting a fresh session"
    )]
    HandoverFailed(String),
    /// The subscriptions were not all answered before the deadline.
    #[error(
        "creating EventSub subscriptions took longer than {0:?}; Twitch would close the unused socket, so reconnecting"
    )]
    SubscribeTimeout(Duration),
    /// No subscription could be created, but some failures may pass (Helix unreachable,
    /// rate limited).
    #[error("no EventSub subscription could be created ({0}); reconnecting after a delay")]
    SubscriptionsFailed(String),
    /// Every subscription was refused and retrying will not change that.
    #[error(
        "Twitch refused every EventSub subscription ({0}); check the token's scopes (user:read:chat, channel:moderate, bits:read) and the user ids under [platform.eventsub]"
    )]
    SubscriptionsRefused(String),
    /// Looking up user ids through Helix failed for a reason that may pass (Helix
    /// unreachable, rate-limited, a 5xx); retried after the backoff delay.
    #[error(
        "looking up the user ids for EventSub through Helix failed: {0}; retrying after a delay"
    )]
    Lookup(String),
    /// The EventSub configuration is unusable.
    #[error("invalid EventSub configuration: {0}")]
    Config(String),
}

impl EventSubError {
    /// What the session does after this error.
    pub fn reaction(&self) -> Reaction {
        match self {
            Self::Closed { cause, .. } => cause.reaction(),
            Self::KeepaliveTimeout(_) | Self::HandoverFailed(_) => Reaction::ReconnectNow,
            Self::Connect { .. }
            | Self::NoWelcome(_)
            | Self::SubscribeTimeout(_)
            | Self::SubscriptionsFailed(_)
            | Self::Lookup(_) => Reaction::ReconnectWithBackoff,
            Self::SubscriptionsRefused(_) | Self::Config(_) => Reaction::Stop,
        }
    }

    /// Whether a new connection may succeed.
    pub fn is_transient(&self) -> bool {
        self.reaction() != Reaction::Stop
    }

    /// The close code behind the error, if Twitch sent one.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            Self::Closed { cause, .. } => Some(cause.code()),
            _ => None,
        }
    }
}

impl From<EventSubError> for botkit::PlatformError {
    fn from(e: EventSubError) -> Self {
        match e {
            EventSubError::Connect { url, reason } => botkit::PlatformError::Connect {
                service: url,
                reason,
            },
            EventSubError::SubscriptionsRefused(why) => {
                botkit::PlatformError::Auth(format!("EventSub subscriptions refused: {why}"))
            }
            other => botkit::PlatformError::Protocol(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_explains_itself() {
        for code in 4000..=4007 {
            let cause = CloseCause::from_code(code);
            assert_eq!(cause.code(), code);
            assert!(!matches!(cause, CloseCause::Other(_)));
            let err = EventSubError::Closed {
                cause,
                reason: "x".into(),
            };
            assert!(err.to_string().contains(&code.to_string()));
            assert!(err.is_transient());
        }
        assert_eq!(CloseCause::from_code(1000), CloseCause::Other(1000));
        assert_eq!(
            CloseCause::ConnectionUnused.reaction(),
            Reaction::ReconnectNow
        );
        assert!(
            CloseCause::ClientSentInboundTraffic
                .explain()
                .contains("bug")
        );
        assert!(!EventSubError::SubscriptionsRefused("x".into()).is_transient());
    }
}
