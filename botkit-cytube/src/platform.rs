//! [`CytubePlatform`]: botkit's `Platform` for CyTube.
//!
//! One instance is one account; each configured channel gets its own [`Session`] (CyTube
//! allows one channel per socket), all run concurrently by [`Platform::run`]. Actions are
//! routed to the session of their target channel, checked against our rank
//! ([`crate::actions`]), held back by the exact CyTube flood model ([`crate::flood`]) when
//! they are chat, and written to that session's socket. The runtime's outgoing path splits
//! text to 320 characters and applies the coarse GCRA limits from
//! [`Platform::capabilities`] before `execute` is called; [`crate::actions`] splits again
//! where CyTube would still truncate (UTF-16 units, a reply's `name: ` prefix).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use botkit::action::{Action, ActionKind, Outcome};
use botkit::config::PlatformSection;
use botkit::platform::{Capabilities, Health, Platform, PlatformContext, PlatformError};
use botkit::ratelimit::Limit;
use botkit::text::Measure;
use futures_util::future::join_all;

use crate::actions;
use crate::config::CytubeConfig;
use crate::error::CytubeError;
use crate::normalize::PLATFORM;
use crate::session::{Session, Settings};
use crate::state::ChannelState;
use crate::tls::ExtraRoots;

/// CyTube's chat length limit (`max-chat-message-length`, default 320); longer messages
/// are truncated by the server, so the runtime splits them.
pub const MAX_MESSAGE_LEN: usize = 320;

/// CyTube's `REQ_PLAYLIST_THROTTLE`: one `requestPlaylist` per 60 s.
const PLAYLIST_REQUEST_EVERY: Duration = Duration::from_secs(60);

/// One channel session's connection counters, for health and dashboards.
///
/// Counted from the start of [`Platform::run`]: a flapping link shows as `reconnects`
/// climbing and `drops` naming why (`closed`, `dead_link`, `transport`, `refused`,
/// `handshake`, `kicked`, `login_failed`… see [`CytubeError::cause`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ConnectionMetrics {
    /// Connection attempts (discovery, websocket, handshake), successful or not.
    pub attempts: u64,
    /// Socket.IO connects that succeeded.
    pub connects: u64,
    /// Successful connects after the first one.
    pub reconnects: u64,
    /// Times the channel was joined (one per successful session).
    pub joins: u64,
    /// Connections that ended with an error, by cause.
    pub drops: BTreeMap<String, u64>,
}

impl ConnectionMetrics {
    /// Every counter added up over several sessions.
    pub fn merge(&mut self, other: &ConnectionMetrics) {
        self.attempts += other.attempts;
        self.connects += other.connects;
        self.reconnects += other.reconnects;
        self.joins += other.joins;
        for (cause, n) in &other.drops {
            *self.drops.entry(cause.clone()).or_default() += n;
        }
    }
}

impl std::fmt::Display for ConnectionMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "attempts {}, connects {}, reconnects {}, joins {}",
            self.attempts, self.connects, self.reconnects, self.joins
        )?;
        if !self.drops.is_empty() {
            let drops: Vec<String> = self.drops.iter().map(|(c, n)| format!("{c} {n}")).collect();
            write!(f, ", drops: {}", drops.join(", "))?;
        }
        Ok(())
    }
}

/// A CyTube account in one or more channels.
pub struct CytubePlatform {
    id: String,
    settings: Arc<Settings>,
    sessions: BTreeMap<String, Arc<Session>>,
    first: String,
}

impl std::fmt::Debug for CytubePlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CytubePlatform")
            .field("id", &self.id)
            .field("server", &self.settings.config.server)
            .field("channels", &self.sessions.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl CytubePlatform {
    /// A platform with instance id `id` from `config`.
    pub fn new(id: impl Into<String>, config: CytubeConfig) -> Result<Self, CytubeError> {
        let rooms = config.rooms()?;
        let first = rooms
            .first()
            .map(|r| r.name.to_lowercase())
            .unwrap_or_default();
        let sessions = rooms
            .into_iter()
            .map(|room| {
                let name = room.name.to_lowercase();
                (name.clone(), Arc::new(Session::new(name, room.password)))
            })
            .collect();
        let roots = ExtraRoots::load(&config.tls_roots)?;
        let tls = roots.rustls_config()?;
        let http = roots
            .http_client(
                reqwest::Client::builder()
                    .user_agent(concat!("botkit-cytube/", env!("CARGO_PKG_VERSION"))),
            )?
            .build()
            .map_err(|e| CytubeError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            id: id.into(),
            settings: Arc::new(Settings { config, http, tls }),
            sessions,
            first,
        })
    }

    /// A platform from a `[[platform]]` section with `kind = "cytube"`.
    pub fn from_section(section: &PlatformSection) -> Result<Self, PlatformError> {
        let config: CytubeConfig = section
            .deserialize_into()
            .map_err(|e| PlatformError::Protocol(e.to_string()))?;
        Self::new(section.id.clone(), config).map_err(PlatformError::from)
    }

    /// A snapshot of `channel`'s state (users, playlist, playback, MOTD, options…).
    pub fn channel_state(&self, channel: &str) -> Option<ChannelState> {
        self.sessions
            .get(&channel.to_lowercase())
            .map(|s| s.snapshot())
    }

    /// The connection counters of `channel`'s session.
    pub fn metrics(&self, channel: &str) -> Option<ConnectionMetrics> {
        self.sessions
            .get(&channel.to_lowercase())
            .map(|s| s.metrics())
    }

    /// The connection counters of every session added up.
    pub fn total_metrics(&self) -> ConnectionMetrics {
        let mut total = ConnectionMetrics::default();
        for session in self.sessions.values() {
            total.merge(&session.metrics());
        }
        total
    }

    /// The configured channels.
    pub fn channels(&self) -> impl Iterator<Item = &str> {
        self.sessions.keys().map(String::as_str)
    }

    /// Whether the bot is in `channel` right now.
    pub fn is_joined(&self, channel: &str) -> bool {
        self.sessions
            .get(&channel.to_lowercase())
            .is_some_and(|s| s.is_joined())
    }

    fn session_for(&self, action: &Action) -> Result<&Arc<Session>, CytubeError> {
        let channel = action.target.channel.as_deref().map_or_else(
            || self.first.clone(),
            |c| c.trim_start_matches('#').to_lowercase(),
        );
        self.sessions.get(&channel).ok_or_else(|| {
            CytubeError::Unsupported(format!(
                "instance `{}` is not configured for channel `{channel}`",
                self.id
            ))
        })
    }

    /// Carries out `action` and says what happened, with a CyTube-specific error.
    pub async fn perform(&self, action: &Action) -> Result<Outcome, CytubeError> {
        let session = self.session_for(action)?;
        if let ActionKind::Custom { name, .. } = &action.kind
            && name == "state"
        {
            // Not a CyTube frame: the session publishes its snapshot on the bus now.
            if !session.is_joined() {
                return Err(CytubeError::NotConnected(session.channel.clone()));
            }
            session.request_state();
            return Ok(Outcome::Done { message_id: None });
        }
        let parts = session.with_state(|state| actions::build(action, state))?;
        if !session.is_joined() {
            return Err(CytubeError::NotConnected(session.channel.clone()));
        }
        if matches!(&action.kind, ActionKind::Custom { name, .. } if name == "playlist") {
            // CyTube answers a second request within 60 s with an error; say so here.
            let mut last = session
                .playlist_requested
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let now = tokio::time::Instant::now();
            if let Some(at) = *last
                && now < at + PLAYLIST_REQUEST_EVERY
            {
                let left = (at + PLAYLIST_REQUEST_EVERY).saturating_duration_since(now);
                return Err(CytubeError::Refused(format!(
                    "CyTube allows one playlist request per 60 s; try again in {} s (the state's playlist is kept current anyway)",
                    left.as_secs() + 1
                )));
            }
            *last = Some(now);
        }
        // One flood-guard lock for all parts: another action's parts never interleave.
        let mut flood = session.flood.lock().await;
        for outgoing in &parts {
            if outgoing.counts_as_chat {
                // The server said `cooldown`: wait it out, then go at the sustained rate.
                if let Some(until) = session.take_cooldown() {
                    tokio::time::sleep_until(until).await;
                    flood.saturate(tokio::time::Instant::now());
                }
                // Read per part: a rank or option change mid-way applies at once.
                let antiflood = session.antiflood();
                flood.acquire(antiflood.as_ref()).await;
            }
            session.send(&outgoing.frame)?;
        }
        Ok(Outcome::Done { message_id: None })
    }
}

#[async_trait]
impl Platform for CytubePlatform {
    fn kind(&self) -> &str {
        PLATFORM
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::new(MAX_MESSAGE_LEN);
        caps.measure = Measure::Chars;
        caps.whispers = true;
        caps.media = true;
        caps.moderation = true;
        // Per channel = per socket = one CyTube chat limiter: burst 20, then 10/s. This
        // GCRA is the coarse first layer; `execute` applies the exact model (quiet-spell
        // resets and the channel antiflood) on top.
        let floor = Limit::new(29, Duration::from_secs(1)).with_burst(20);
        caps.with_limits(None, Some(floor))
    }

    async fn run(&self, ctx: PlatformContext) -> Result<(), PlatformError> {
        // Sessions start together; `connect_limit` spaces their connects (and every
        // reconnect) to CyTube's per-IP bucket.
        let runs = self.sessions.values().map(|session| {
            let session = session.clone();
            let settings = self.settings.clone();
            session.run(settings, ctx.clone())
        });
        let results = join_all(runs).await;
        match results.into_iter().find_map(Result::err) {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }

    async fn execute(&self, action: &Action) -> Result<Outcome, PlatformError> {
        match self.perform(action).await {
            Ok(outcome) => Ok(outcome),
            Err(CytubeError::Unsupported(what)) => {
                tracing::debug!(%what, "unsupported CyTube action");
                Ok(Outcome::Unsupported {
                    verb: action.kind.verb().to_owned(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    fn health(&self) -> Health {
        let down: Vec<String> = self
            .sessions
            .values()
            .filter(|s| !s.is_joined())
            .map(|s| format!("#{}: {} ({})", s.channel, s.status(), s.metrics()))
            .collect();
        match (down.len(), self.sessions.len()) {
            (0, _) => Health::Up,
            (d, n) if d == n => Health::Down(down.join("; ")),
            _ => Health::Degraded(down.join("; ")),
        }
    }
}
