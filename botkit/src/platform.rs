//! The [`Platform`] trait: one connected account on one chat service.
//!
//! A platform runs its own connection loop (connect, authenticate, join, decode, publish,
//! reconnect with backoff) in [`Platform::run`], and carries out [`Action`]s in
//! [`Platform::execute`]. It never talks to plugins directly: inbound traffic goes to the bus
//! through the [`PlatformContext`], outbound actions come from the runtime's outgoing path,
//! which has already applied the platform's rate limits
//! ([`Capabilities::instance_limit`], [`Capabilities::channel_limit`]) and split long text
//! to [`Capabilities::max_message_len`]. Keeping those two halves apart is what lets one
//! platform serve local and remote plugins alike.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::action::{Action, Outcome};
use crate::bus::{Bus, BusError};
use crate::event::{Event, Payload, Priority, Source};
use crate::ratelimit::{Limit, OutgoingLimiter};
use crate::text::Measure;

/// Why a platform operation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// The connection could not be made or was lost; retrying later may work.
    #[error("connection to {service} failed: {reason}")]
    Connect {
        /// The service (host or platform name).
        service: String,
        /// What went wrong.
        reason: String,
    },
    /// Credentials were refused. Retrying with the same credentials will not help.
    #[error("authentication failed: {0}; check the account name and token in the config")]
    Auth(String),
    /// The peer sent something the platform could not understand.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The platform has no such action.
    #[error("`{0}` is not supported by this platform")]
    Unsupported(String),
    /// The action was refused locally or remotely (missing rank, bad argument…).
    #[error("refused: {0}")]
    Refused(String),
    /// The platform asked us to slow down.
    #[error("rate limited; retry in {retry_after:?}")]
    RateLimited {
        /// When to retry.
        retry_after: Duration,
    },
    /// The platform is shut down.
    #[error("platform is shut down")]
    Closed,
    /// Publishing to the bus failed.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// Reading or writing local I/O (the shell's terminal) failed.
    #[error("i/o error: {0}")]
    Io(String),
}

impl PlatformError {
    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PlatformError::Connect { .. }
                | PlatformError::RateLimited { .. }
                | PlatformError::Io(_)
        )
    }

    /// How long to wait before retrying, when the platform said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PlatformError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

/// What a platform can do and the limits of its outgoing path.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Capabilities {
    /// Longest chat message the platform accepts; longer text is split.
    pub max_message_len: usize,
    /// How the platform counts message length.
    pub measure: Measure,
    /// Private messages are supported.
    pub whispers: bool,
    /// Native replies to a message are supported.
    pub replies: bool,
    /// The bot can change its chat color.
    pub colors: bool,
    /// The channel has a media playlist.
    pub media: bool,
    /// Moderation actions (delete, timeout, ban) are supported.
    pub moderation: bool,
    /// Outgoing rate limit for the whole instance (one account).
    pub instance_limit: Option<Limit>,
    /// Outgoing rate limit per channel.
    pub channel_limit: Option<Limit>,
    /// A limiter the platform keeps a handle to, for limits that change at runtime
    /// (Twitch allows 100 messages per 30 s instead of 20 once the bot moderates). When
    /// set, the outgoing path uses it instead of building one from the two limits above.
    pub shared_limiter: Option<Arc<OutgoingLimiter>>,
}

impl Capabilities {
    /// Capabilities with the given max message length and nothing else.
    pub fn new(max_message_len: usize) -> Self {
        Self {
            max_message_len,
            measure: Measure::Chars,
            whispers: false,
            replies: false,
            colors: false,
            media: false,
            moderation: false,
            instance_limit: None,
            channel_limit: None,
            shared_limiter: None,
        }
    }

    /// The same capabilities with rate limits.
    #[must_use]
    pub fn with_limits(mut self, instance: Option<Limit>, channel: Option<Limit>) -> Self {
        self.instance_limit = instance;
        self.channel_limit = channel;
        self
    }

    /// The same capabilities with a limiter the platform shares with the outgoing path,
    /// so it can change its limits later ([`OutgoingLimiter::set_instance_limit`]).
    /// `instance_limit` and `channel_limit` are taken from the limiter.
    #[must_use]
    pub fn with_shared_limiter(mut self, limiter: Arc<OutgoingLimiter>) -> Self {
        self.instance_limit = limiter.instance_limit();
        self.channel_limit = limiter.channel_limit();
        self.shared_limiter = Some(limiter);
        self
    }
}

/// How a platform is doing, for `/health` and `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Health {
    /// Not connected yet.
    Starting,
    /// Connected and working.
    Up,
    /// Working with trouble (reconnecting, rate limited).
    Degraded(String),
    /// Not working.
    Down(String),
}

/// What a platform's connection loop is handed: the bus to publish on, its source, and the
/// shutdown signal.
#[derive(Debug, Clone)]
pub struct PlatformContext {
    bus: Bus,
    source: Source,
    shutdown: watch::Receiver<bool>,
}

impl PlatformContext {
    /// A context for the platform `kind`/`instance`, publishing on `bus`.
    pub fn new(bus: Bus, kind: &str, instance: &str, shutdown: watch::Receiver<bool>) -> Self {
        Self {
            bus,
            source: Source::new(kind, instance, None),
            shutdown,
        }
    }

    /// The platform's source in `channel` (or with no channel).
    pub fn source(&self, channel: Option<&str>) -> Source {
        match channel {
            Some(c) => self.source.with_channel(c),
            None => self.source.clone(),
        }
    }

    /// The bus.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Publishes an event. Never waits for subscribers.
    pub fn publish(&self, event: Event) -> Result<usize, PlatformError> {
        Ok(self.bus.publish(event)?)
    }

    /// Publishes `platform.<kind>.<kind_suffix>` with `payload` from `channel`.
    pub fn emit(
        &self,
        channel: Option<&str>,
        kind: &str,
        payload: Payload,
    ) -> Result<usize, PlatformError> {
        let event = Event::platform(self.source(channel), kind, payload)
            .map_err(|e| PlatformError::Protocol(e.to_string()))?;
        self.publish(event)
    }

    /// Publishes `connection.up` or `connection.down` at critical priority.
    pub fn connection(&self, up: bool, reason: &str) -> Result<usize, PlatformError> {
        let (kind, payload) = if up {
            ("connection.up", Payload::ConnectionUp)
        } else {
            (
                "connection.down",
                Payload::ConnectionDown {
                    reason: reason.to_owned(),
                },
            )
        };
        let event = Event::platform(self.source(None), kind, payload)
            .map_err(|e| PlatformError::Protocol(e.to_string()))?
            .with_priority(Priority::Critical);
        self.publish(event)
    }

    /// Whether the runtime asked the platform to stop ingesting.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves when the runtime asks the platform to stop. Use it in `select!` beside
    /// the connection's reads.
    pub async fn shutdown_requested(&self) {
        let mut rx = self.shutdown.clone();
        // An error means the runtime is gone, which is a shutdown too.
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// Waits until the bus has delivered everything published so far and no handler is
    /// running (or `timeout` passes). The shell uses it so piped input gets its replies
    /// in order.
    pub async fn settle(&self, timeout: Duration) -> bool {
        self.bus.drain(timeout).await
    }
}

/// One connected account on one chat service.
#[async_trait]
pub trait Platform: Send + Sync + 'static {
    /// The platform kind: `twitch`, `cytube`, `shell`…
    fn kind(&self) -> &str;

    /// The configured instance id (unique within the bot).
    fn id(&self) -> &str;

    /// What the platform supports and its outgoing limits.
    fn capabilities(&self) -> Capabilities;

    /// Runs the connection loop until [`PlatformContext::shutdown_requested`] resolves or a
    /// permanent error occurs. Returning `Ok` means ingest is over (the shell at EOF).
    async fn run(&self, ctx: PlatformContext) -> Result<(), PlatformError>;

    /// Carries out one action. Rate limits and splitting are already applied.
    async fn execute(&self, action: &Action) -> Result<Outcome, PlatformError>;

    /// Current health.
    fn health(&self) -> Health {
        Health::Up
    }
}

/// A shared, type-erased platform.
pub type SharedPlatform = Arc<dyn Platform>;

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_object_safe(_: &dyn Platform) {}
    #[allow(dead_code)]
    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn trait_objects_are_send_sync() {
        assert_send_sync::<Arc<dyn Platform>>();
        let _ = assert_object_safe;
    }

    #[test]
    fn transient_errors() {
        assert!(
            PlatformError::Connect {
                service: "x".into(),
                reason: "y".into()
            }
            .is_transient()
        );
        assert!(!PlatformError::Auth("bad token".into()).is_transient());
        assert_eq!(
            PlatformError::RateLimited {
                retry_after: Duration::from_secs(3)
            }
            .retry_after(),
            Some(Duration::from_secs(3))
        );
    }
}
