//! [`TwitchPlatform`]: the IRC chat session as a botkit [`Platform`].
//!
//! The connection loop in [`Platform::run`] is built around two rules from the field:
//!
//! - **Desired state is data.** The channels the bot should be in live in the platform,
//!   apart from any connection; every (re)connect replays them (JOINs paced at 20 per
//!   10 s), so a dropped link never leaves the bot silently out of a channel.
//! - **Auth failures stop, network failures retry.** Credentials are fetched from the
//!   [`CredentialsProvider`] on every connect (never a stale token). A login refused by
//!   Twitch ends `run` with [`PlatformError::Auth`] (after one retry if the provider has
//!   fresh credentials); a lost connection, a dead link (no PONG in time) or a server
//!   `RECONNECT` leads to a new connection, after a capped, jittered [`Backoff`] for
//!   failures and at once for a requested reconnect. On `RECONNECT` the new connection
//!   is opened and logged in while the old one is still read; the old one is closed only
//!   then (should the new one fail, the usual reconnect follows).
//!
//! Outgoing limits are [`Capabilities`], applied by botkit's outgoing path before
//! [`Platform::execute`] through a limiter the platform shares: Twitch's two budgets,
//! 100 messages per 30 s in all and, of those, at most 20 per 30 s and one per second per
//! channel in channels where `USERSTATE` does not show the bot as moderator, VIP or
//! broadcaster (pajbot's tmi-rate-limits model). `execute` then sends exactly one
//! PRIVMSG, altered by the duplicate rule where needed.
//!
//! Whispers, message deletion, bans, timeouts and the chat color are not IRC commands any
//! more: they go through Helix when the platform has a [`HelixClient`] (a `client_id` in
//! the config, or [`TwitchPlatform::with_helix`]) and stay [`Outcome::Unsupported`]
//! without one. Channel and user logins are turned into Helix ids through the client's
//! cache. With `chat_via_helix`, chat messages go through Helix too, so each one comes
//! back with its id or as [`Outcome::Dropped`] with Twitch's reason.
//!
//! **EventSub** (opt-in, `eventsub` in the config, an [`EventSubApi`] handed in with
//! [`TwitchPlatform::with_eventsub`]) runs as a second connection beside IRC inside
//! `run`. Both publish the same normalized events; an event both deliver (a chat message,
//! a deletion, a ban, a clear) is published once, whichever arrives first, by pairing
//! them in a shared [`CrossSource`]. If EventSub stops for good (every subscription
//! refused), `run` ends with that error rather than carry on half-configured. EventSub
//! conditions take user ids; when the config gives none, the session looks up the ids of
//! the platform's desired channels and of its `login` through Helix, and [`join`] /
//! [`part`] hand it the new channel list for its next fresh session.
//!
//! [`join`]: TwitchPlatform::join
//! [`part`]: TwitchPlatform::part

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use botkit::backoff::Backoff;
use botkit::platform::Health;
use botkit::ratelimit::{Limit, OutgoingLimiter, RateLimiter};
use botkit::{Action, ActionKind, Capabilities, Outcome, Platform, PlatformContext, PlatformError};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until};

use crate::config::TwitchConfig;
use crate::credentials::{Credentials, CredentialsProvider, StaticCredentials};
use crate::error::TwitchError;
use crate::eventsub::dedupe::{CrossSource, Origin};
use crate::eventsub::{EventSubApi, EventSubSession};
use crate::helix::{BanRequest, HelixClient, StaticToken};
use crate::irc::commands::{NoticeKind, ServerMessage};
use crate::irc::{Command, IrcMessage};
use crate::normalize::{Normalizer, PLATFORM};
use crate::oauth::{OAuthClient, OAuthCredentials, TokenStore};
use crate::outgoing::{DuplicateGuard, MAX_MESSAGE_CHARS, privmsg};
use crate::transport::{self, Endpoint, Link};

/// Messages per 30 s for an ordinary account.
pub const DEFAULT_LIMIT: u32 = 20;
/// Messages per 30 s where the bot is moderator, VIP or broadcaster.
pub const PRIVILEGED_LIMIT: u32 = 100;
/// The window of both limits.
pub const LIMIT_WINDOW: Duration = Duration::from_secs(30);
/// JOINs allowed per 10 s.
pub const JOIN_LIMIT: u32 = 20;

fn instance_limit(count: u32) -> Limit {
    Limit::new(count, LIMIT_WINDOW)
}

enum Control {
    Join(String),
    Part(String),
}

#[derive(Default)]
struct Shared {
    /// The logged-in connection's writer, `None` while disconnected.
    writer: Option<mpsc::Sender<String>>,
    /// Join/part requests for the running session.
    control: Option<mpsc::UnboundedSender<Control>>,
    /// Channels the bot should be in.
    channels: BTreeSet<String>,
    /// Whether the bot is privileged, per channel it has a USERSTATE for.
    privileged: HashMap<String, bool>,
    anonymous: bool,
    health: Option<Health>,
}

/// One Twitch chat account.
pub struct TwitchPlatform {
    id: String,
    config: TwitchConfig,
    endpoint: Endpoint,
    credentials: Arc<dyn CredentialsProvider>,
    helix: Option<Arc<HelixClient>>,
    limiter: Arc<OutgoingLimiter>,
    join_limiter: RateLimiter,
    duplicates: DuplicateGuard,
    shared: Mutex<Shared>,
    /// The EventSub session and the pairing it shares with IRC, when EventSub is on.
    eventsub: Option<(Arc<EventSubSession>, Arc<CrossSource>)>,
}

impl std::fmt::Debug for TwitchPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwitchPlatform")
            .field("id", &self.id)
            .field("endpoint", &self.endpoint)
            .field("channels", &self.channels())
            .finish_non_exhaustive()
    }
}

enum End {
    Shutdown,
    Reconnect,
    /// Twitch asked for a reconnect and the new connection is already logged in.
    Handover(Link, Normalizer, Credentials),
}

/// A logged-in connection taking over from the current one.
type Replacement<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<Option<(Link, Normalizer, Credentials)>, TwitchError>,
            > + Send
            + 'a,
    >,
>;

fn channel_name(channel: &str) -> String {
    channel.trim().trim_start_matches('#').to_ascii_lowercase()
}

impl TwitchPlatform {
    /// A platform instance `id` from its config, using the config's login and token (and
    /// Helix when the config has a `client_id`). A config that uses the stored OAuth token
    /// needs the store: see [`TwitchPlatform::with_store`].
    pub fn new(id: &str, config: TwitchConfig) -> Result<Self, TwitchError> {
        Self::build(id, config, None)
    }

    /// A platform instance `id` whose OAuth token (when the config has a `client_id` and
    /// no `token`) is read from `store`, where `botkit twitch login` saved it, encrypted
    /// with `BOTKIT_SECRET_KEY` when that is set.
    pub fn with_store(
        id: &str,
        config: TwitchConfig,
        store: Arc<dyn botkit::store::Store>,
    ) -> Result<Self, TwitchError> {
        Self::build(id, config, Some(store))
    }

    fn build(
        id: &str,
        config: TwitchConfig,
        store: Option<Arc<dyn botkit::store::Store>>,
    ) -> Result<Self, TwitchError> {
        let (credentials, helix): (Arc<dyn CredentialsProvider>, Option<HelixClient>) = match (
            config.client_id(),
            config.login.as_deref(),
        ) {
            (Some(client_id), Some(login)) if config.uses_stored_token() => {
                let Some(store) = store else {
                    return Err(TwitchError::Config(
                            "`client_id` without `token` uses the token `botkit twitch login` stored, which needs the bot's store; build the platform with `TwitchPlatform::with_store`"
                                .to_owned(),
                        ));
                };
                let oauth = OAuthClient::new(client_id)
                    .with_base_url(&config.oauth_url)
                    .with_client_secret(config.client_secret.clone());
                let provider = Arc::new(OAuthCredentials::new(
                    oauth,
                    TokenStore::from_env(store)?,
                    login,
                ));
                let helix = HelixClient::new(client_id, provider.clone());
                (provider, Some(helix))
            }
            (client_id, _) => {
                let credentials = config.credentials()?;
                let helix = match (client_id, &credentials.token) {
                    (Some(client_id), Some(token)) => Some(HelixClient::new(
                        client_id,
                        Arc::new(StaticToken::new(token)),
                    )),
                    _ => None,
                };
                (Arc::new(StaticCredentials::new(credentials)), helix)
            }
        };
        let helix = helix.map(|h| Arc::new(h.with_base_url(&config.helix_url)));
        if config.chat_via_helix && helix.is_none() {
            return Err(TwitchError::Config(
                "`chat_via_helix` needs a `client_id` (and a token: `token`, or the one `botkit twitch login` stored)"
                    .to_owned(),
            ));
        }
        if config.eventsub.enabled {
            // Fail at build time, not at the first connect, on what can never work: a bad
            // URL or type, or an id that is neither in the config nor can be looked up.
            let eventsub = &config.eventsub;
            eventsub
                .validate()
                .map_err(|e| TwitchError::Config(e.to_string()))?;
            if eventsub.broadcaster_user_ids.is_empty()
                && config.channels.iter().all(|c| channel_name(c).is_empty())
            {
                return Err(TwitchError::Config(
                    "EventSub has no channel to watch: list `channels` (their user ids are looked up through Helix) or set `broadcaster_user_ids` under [platform.eventsub]".to_owned(),
                ));
            }
            if eventsub.bot_user_id.is_none()
                && eventsub.needs_bot_user_id()
                && config.login.as_deref().is_none_or(|l| l.trim().is_empty())
            {
                return Err(TwitchError::Config(
                    "EventSub chat subscriptions need the bot's user id: set `login` (its id is looked up through Helix) or `bot_user_id` under [platform.eventsub]".to_owned(),
                ));
            }
        }
        let endpoint = Endpoint::parse(&config.url)?;
        // Twitch's two budgets: 100 per 30 s in all, of which at most 20 per 30 s (and one
        // per second per channel) where the bot is not moderator, VIP or broadcaster.
        let limiter = OutgoingLimiter::new(
            instance_limit(PRIVILEGED_LIMIT),
            Some(Limit::new(1, Duration::from_secs(1))),
        )
        .with_unprivileged_limit(instance_limit(DEFAULT_LIMIT));
        let channels = config
            .channels
            .iter()
            .map(|c| channel_name(c))
            .filter(|c| !c.is_empty())
            .collect();
        let platform = Self {
            id: id.to_owned(),
            config,
            endpoint,
            credentials,
            helix,
            limiter: Arc::new(limiter),
            join_limiter: RateLimiter::new(Limit::new(JOIN_LIMIT, Duration::from_secs(10))),
            duplicates: DuplicateGuard::new(),
            shared: Mutex::new(Shared {
                channels,
                ..Shared::default()
            }),
            eventsub: None,
        };
        // EventSub's subscriptions go through the platform's own Helix client, which shares
        // the chat login's token (and its refresh on 401); `with_eventsub` can replace it.
        match platform.helix.clone() {
            Some(helix) if platform.config.eventsub.enabled => Ok(platform.with_eventsub(helix)),
            _ => Ok(platform),
        }
    }

    /// From a `[[platform]]` section of the bot's config.
    pub fn from_section(section: &botkit::config::PlatformSection) -> Result<Self, TwitchError> {
        let config =
            TwitchConfig::from_section(section).map_err(|e| TwitchError::Config(e.to_string()))?;
        Self::new(&section.id, config)
    }

    /// From a `[[platform]]` section, with the bot's store for a stored OAuth token.
    pub fn from_section_with_store(
        section: &botkit::config::PlatformSection,
        store: Arc<dyn botkit::store::Store>,
    ) -> Result<Self, TwitchError> {
        let config =
            TwitchConfig::from_section(section).map_err(|e| TwitchError::Config(e.to_string()))?;
        Self::with_store(&section.id, config, store)
    }

    /// The same platform, asking `provider` for credentials on every connect (e.g. an
    /// OAuth token store that refreshes tokens).
    #[must_use]
    pub fn with_credentials(mut self, provider: impl CredentialsProvider) -> Self {
        self.credentials = Arc::new(provider);
        self
    }

    /// The same platform, carrying out whispers, deletions, bans, timeouts and color
    /// changes through `helix`.
    #[must_use]
    pub fn with_helix(mut self, helix: Arc<HelixClient>) -> Self {
        self.helix = Some(helix);
        self
    }

    /// The Helix client, when the platform has one.
    pub fn helix(&self) -> Option<&Arc<HelixClient>> {
        self.helix.as_ref()
    }

    /// The same platform with the Helix side EventSub needs (e.g. the Helix client), used
    /// when the config turns EventSub on (`eventsub = true`); without this, `run` refuses
    /// an EventSub config with an error saying so. Ids the config leaves out are looked
    /// up through `api` from the platform's channels and `login`.
    #[must_use]
    pub fn with_eventsub(mut self, api: Arc<dyn EventSubApi>) -> Self {
        if !self.config.eventsub.enabled {
            tracing::debug!(platform = %self.id, "an EventSub API was handed in but `eventsub` is off in the config");
            return self;
        }
        match EventSubSession::new(&self.id, self.config.eventsub.clone(), api) {
            Ok(session) => {
                let cross = Arc::new(CrossSource::new());
                let mut session = session
                    .with_cross_source(Arc::clone(&cross))
                    .with_channel_logins(&self.channels());
                if let Some(login) = &self.config.login {
                    session = session.with_bot_login(login);
                }
                self.eventsub = Some((Arc::new(session), cross));
            }
            // `new` already checked the config, so this only logs what cannot happen.
            Err(e) => tracing::error!(platform = %self.id, error = %e, "EventSub not started"),
        }
        self
    }

    /// The EventSub session, when EventSub is on.
    pub fn eventsub(&self) -> Option<&Arc<EventSubSession>> {
        self.eventsub.as_ref().map(|(session, _)| session)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The channels the bot should be in.
    pub fn channels(&self) -> Vec<String> {
        self.lock().channels.iter().cloned().collect()
    }

    /// Adds a channel to the desired state and joins it now if connected.
    pub fn join(&self, channel: &str) {
        let channel = channel_name(channel);
        if channel.is_empty() {
            return;
        }
        {
            let mut shared = self.lock();
            if !shared.channels.insert(channel.clone()) {
                return;
            }
            if let Some(control) = &shared.control {
                let _ = control.send(Control::Join(channel));
            }
        }
        self.eventsub_follows_channels();
    }

    /// Hands the desired channels to EventSub, which looks up their ids (when the config
    /// has no `broadcaster_user_ids`) and subscribes for them on its next fresh session.
    fn eventsub_follows_channels(&self) {
        if let Some(eventsub) = self.eventsub() {
            eventsub.set_channel_logins(&self.channels());
        }
    }

    /// Removes a channel from the desired state and leaves it now if connected.
    pub fn part(&self, channel: &str) {
        let channel = channel_name(channel);
        {
            let mut shared = self.lock();
            if !shared.channels.remove(&channel) {
                return;
            }
            shared.privileged.remove(&channel);
            self.limiter.set_channel_exempt(&channel, false);
            if let Some(control) = &shared.control {
                let _ = control.send(Control::Part(channel));
            }
        }
        self.eventsub_follows_channels();
    }

    /// The outgoing limiter shared with botkit's outgoing path.
    pub fn limiter(&self) -> &Arc<OutgoingLimiter> {
        &self.limiter
    }

    fn set_health(&self, health: Health) {
        self.lock().health = Some(health);
    }

    /// Records whether the bot is privileged in `channel`: its messages there skip the
    /// 20-per-30-s budget and the one-second minimum.
    fn set_privileged(&self, channel: &str, privileged: bool) {
        self.lock()
            .privileged
            .insert(channel.to_owned(), privileged);
        self.limiter.set_channel_exempt(channel, privileged);
    }

    /// Forgets the bot's privilege in `channel` (it left).
    fn forget_privileged(&self, channel: &str) {
        self.lock().privileged.remove(channel);
        self.limiter.set_channel_exempt(channel, false);
    }

    /// One connection: connect, log in, replay channels, then read until it ends.
    async fn session(
        &self,
        ctx: &PlatformContext,
        creds: &Credentials,
        logged_in: &mut bool,
    ) -> Result<End, TwitchError> {
        let Some((link, normalizer)) = self.login(ctx, creds).await? else {
            return Ok(End::Shutdown);
        };
        *logged_in = true;
        self.serve(ctx, creds, link, normalizer, false).await
    }

    /// Connects and logs in; `None` on shutdown.
    async fn login(
        &self,
        ctx: &PlatformContext,
        creds: &Credentials,
    ) -> Result<Option<(Link, Normalizer)>, TwitchError> {
        let connect_err = |reason: String| TwitchError::Connect {
            url: self.config.url.clone(),
            reason,
        };
        let login_timeout = Duration::from_secs(self.config.login_timeout_secs.max(1));
        let mut link = tokio::select! {
            link = tokio::time::timeout(login_timeout, transport::connect(&self.endpoint)) => {
                link.map_err(|_| connect_err(format!("no connection within {login_timeout:?}")))??
            }
            _ = ctx.shutdown_requested() => return Ok(None),
        };
        let normalizer = Normalizer::new(&self.id, &creds.login);

        let mut caps = String::from("twitch.tv/tags twitch.tv/commands");
        if self.config.membership {
            caps.push_str(" twitch.tv/membership");
        }
        link.send(format!("CAP REQ :{caps}"))
            .await
            .map_err(connect_err)?;
        if let Some(token) = &creds.token {
            // PASS must come before NICK, or Twitch answers "Improperly formatted auth".
            link.send(format!("PASS oauth:{}", token.expose()))
                .await
                .map_err(connect_err)?;
        }
        link.send(format!("NICK {}", creds.login))
            .await
            .map_err(connect_err)?;

        let deadline = Instant::now() + login_timeout;
        loop {
            let line = tokio::select! {
                line = link.recv() => line.map_err(connect_err)?,
                _ = sleep_until(deadline) => {
                    return Err(connect_err(format!("login not confirmed within {login_timeout:?}")));
                }
                _ = ctx.shutdown_requested() => return Ok(None),
            };
            let Ok(msg) = IrcMessage::parse(&line) else {
                tracing::debug!(platform = %self.id, "unparsable line during login");
                continue;
            };
            let welcome = msg.command() == Command::Numeric("001");
            if let Ok(typed) = ServerMessage::try_from(msg) {
                match &typed {
                    ServerMessage::Cap(cap) if cap.is_nak() => {
                        return Err(TwitchError::CapabilitiesRefused(
                            cap.capabilities.to_owned(),
                        ));
                    }
                    ServerMessage::Notice(n) if n.kind() == NoticeKind::AuthFailed => {
                        return Err(TwitchError::Auth(n.text.to_owned()));
                    }
                    ServerMessage::Ping(ping) => {
                        link.send(ping.pong()).await.map_err(connect_err)?;
                    }
                    _ => {}
                }
            }
            self.publish(ctx, &normalizer, &line);
            if welcome {
                break;
            }
        }

        Ok(Some((link, normalizer)))
    }

    /// Serves a logged-in connection: replays the channels, then reads until it ends.
    /// `moved` marks a connection that took over from another (no new `connection.up`).
    async fn serve(
        &self,
        ctx: &PlatformContext,
        creds: &Credentials,
        mut link: Link,
        mut normalizer: Normalizer,
        moved: bool,
    ) -> Result<End, TwitchError> {
        let connect_err = |reason: String| TwitchError::Connect {
            url: self.config.url.clone(),
            reason,
        };
        let (control_tx, mut control_rx) = mpsc::unbounded_channel();
        let mut pending: VecDeque<String> = {
            let mut shared = self.lock();
            shared.writer = Some(link.sender());
            shared.control = Some(control_tx);
            shared.anonymous = creds.is_anonymous();
            shared.privileged.clear();
            shared.channels.iter().cloned().collect()
        };
        // Until USERSTATE says otherwise, the bot is an ordinary user everywhere.
        self.limiter.clear_exemptions();
        self.set_health(Health::Up);
        if !moved {
            let _ = ctx.connection(true, "");
        }
        tracing::info!(platform = %self.id, login = %creds.login, channels = pending.len(), "logged in to Twitch chat");

        let ping_every = Duration::from_secs(self.config.ping_interval_secs.max(1));
        let pong_within = Duration::from_secs(self.config.pong_timeout_secs.max(1));
        let mut next_ping = Instant::now() + ping_every;
        let mut pong_deadline: Option<Instant> = None;
        // On RECONNECT the new connection logs in while this one is still read; once it
        // is ready it takes over. Should this one die first, the new one is awaited.
        let mut replacing: Option<Replacement<'_>> = None;
        let mut old_dead = false;
        loop {
            tokio::select! {
                _ = ctx.shutdown_requested() => return Ok(End::Shutdown),
                line = link.recv(), if !old_dead => {
                    let line = match line {
                        Ok(line) => line,
                        Err(e) if replacing.is_some() => {
                            tracing::info!(platform = %self.id, reason = %e, "old connection closed during the reconnect; waiting for the new one");
                            old_dead = true;
                            continue;
                        }
                        Err(e) => return Err(connect_err(e)),
                    };
                    match self
                        .handle(ctx, &mut normalizer, &link, &line, &mut pong_deadline)
                        .await?
                    {
                        Some(End::Reconnect) if replacing.is_none() => {
                            tracing::info!(platform = %self.id, "Twitch asked for a reconnect; opening the new connection before closing this one");
                            replacing = Some(Box::pin(async move {
                                let creds = self.credentials.credentials().await.map_err(|e| {
                                    TwitchError::Connect { url: self.config.url.clone(), reason: e.to_string() }
                                })?;
                                let opened = self.login(ctx, &creds).await?;
                                Ok(opened.map(|(link, normalizer)| (link, normalizer, creds)))
                            }));
                        }
                        Some(End::Reconnect) => {}
                        Some(end) => return Ok(end),
                        None => {}
                    }
                }
                opened = async { match replacing.as_mut() { Some(f) => f.await, None => std::future::pending().await } }, if replacing.is_some() => {
                    return Ok(match opened {
                        Ok(Some((link, normalizer, creds))) => End::Handover(link, normalizer, creds),
                        Ok(None) => End::Shutdown,
                        Err(e) => {
                            tracing::warn!(platform = %self.id, error = %e, "the new connection failed; reconnecting the usual way");
                            End::Reconnect
                        }
                    });
                }
                Some(control) = control_rx.recv(), if !old_dead => match control {
                    Control::Join(channel) => pending.push_back(channel),
                    Control::Part(channel) => {
                        pending.retain(|c| *c != channel);
                        link.send(format!("PART #{channel}")).await.map_err(connect_err)?;
                    }
                },
                _ = self.join_limiter.until_ready(), if !pending.is_empty() && !old_dead => {
                    if let Some(channel) = pending.pop_front() {
                        link.send(format!("JOIN #{channel}")).await.map_err(connect_err)?;
                    }
                }
                _ = sleep_until(next_ping), if !old_dead => {
                    link.send("PING :botkit".to_owned()).await.map_err(connect_err)?;
                    let now = Instant::now();
                    pong_deadline.get_or_insert(now + pong_within);
                    next_ping = now + ping_every;
                }
                _ = sleep_until(pong_deadline.unwrap_or(next_ping)), if pong_deadline.is_some() && !old_dead => {
                    return Err(connect_err(format!("no PONG within {pong_within:?}: the link is dead")));
                }
            }
        }
    }

    /// Handles one line of a logged-in session; `Some` ends the session.
    async fn handle(
        &self,
        ctx: &PlatformContext,
        normalizer: &mut Normalizer,
        link: &Link,
        line: &str,
        pong_deadline: &mut Option<Instant>,
    ) -> Result<Option<End>, TwitchError> {
        let connect_err = |reason: String| TwitchError::Connect {
            url: self.config.url.clone(),
            reason,
        };
        let Ok(msg) = IrcMessage::parse(line) else {
            tracing::debug!(platform = %self.id, len = line.len(), "skipped a line that is not IRC");
            return Ok(None);
        };
        let mut end = None;
        if let Ok(typed) = ServerMessage::try_from(msg) {
            match &typed {
                ServerMessage::Ping(ping) => link.send(ping.pong()).await.map_err(connect_err)?,
                ServerMessage::Pong(_) => *pong_deadline = None,
                ServerMessage::Reconnect(_) => end = Some(End::Reconnect),
                ServerMessage::Notice(n) => match n.kind() {
                    NoticeKind::AuthFailed => return Err(TwitchError::Auth(n.text.to_owned())),
                    NoticeKind::RateLimited | NoticeKind::Duplicate | NoticeKind::SlowMode => {
                        tracing::warn!(platform = %self.id, channel = ?n.channel, msg_id = ?n.msg_id, "Twitch dropped a message: {}", n.text);
                    }
                    _ => {}
                },
                ServerMessage::UserState(state) => {
                    self.set_privileged(state.channel, state.is_privileged());
                }
                ServerMessage::GlobalUserState(state) => {
                    if let Some(id) = state.user_id {
                        normalizer.set_bot_user_id(id);
                    }
                }
                ServerMessage::Part(part) if part.login == normalizer.bot_login() => {
                    self.forget_privileged(part.channel);
                }
                _ => {}
            }
        }
        self.publish(ctx, normalizer, line);
        Ok(end)
    }

    fn publish(&self, ctx: &PlatformContext, normalizer: &Normalizer, line: &str) {
        let received = botkit::event::now_millis();
        match normalizer.line(line, received) {
            Some(Ok(event)) => {
                if let Some((_, cross)) = &self.eventsub
                    && !cross.admit(Origin::Irc, &event)
                {
                    tracing::trace!(platform = %self.id, "already published from EventSub");
                    return;
                }
                if let Err(e) = ctx.publish(event) {
                    tracing::debug!(platform = %self.id, error = %e, "event not published");
                }
            }
            Some(Err(e)) => tracing::warn!(platform = %self.id, error = %e, "no topic for a line"),
            None => {}
        }
    }

    async fn send_chat(
        &self,
        action: &Action,
        text: &str,
        reply_to: Option<&str>,
    ) -> Result<Outcome, PlatformError> {
        let Some(channel) = action.target.channel.as_deref().map(channel_name) else {
            return Err(PlatformError::Refused(
                "a Twitch chat message needs a channel".to_owned(),
            ));
        };
        let (writer, anonymous, privileged) = {
            let shared = self.lock();
            (
                shared.writer.clone(),
                shared.anonymous,
                shared.privileged.get(&channel).copied().unwrap_or(false),
            )
        };
        if self.config.chat_via_helix
            && let Some(helix) = &self.helix
        {
            let text = if privileged {
                text.to_owned()
            } else {
                self.duplicates.prepare(&channel, text)
            };
            return self.send_chat_helix(helix, &channel, &text, reply_to).await;
        }
        if anonymous {
            return Err(PlatformError::Refused(
                "the anonymous Twitch login is read-only; set `login` and `token` to send"
                    .to_owned(),
            ));
        }
        let Some(writer) = writer else {
            return Err(PlatformError::Connect {
                service: PLATFORM.to_owned(),
                reason: "not connected to Twitch chat".to_owned(),
            });
        };
        // Moderators, VIPs and the broadcaster are exempt from the duplicate rule.
        let text = if privileged {
            text.to_owned()
        } else {
            self.duplicates.prepare(&channel, text)
        };
        writer
            .send(privmsg(&channel, &text, reply_to))
            .await
            .map_err(|_| PlatformError::Connect {
                service: PLATFORM.to_owned(),
                reason: "the connection closed while sending".to_owned(),
            })?;
        // Twitch does not echo PRIVMSG; USERSTATE follows, but carries no reliable id.
        Ok(Outcome::Done { message_id: None })
    }
}

impl TwitchPlatform {
    /// The channel an action targets, as a Helix user.
    async fn broadcaster(
        &self,
        helix: &HelixClient,
        action: &Action,
    ) -> Result<crate::helix::User, TwitchError> {
        let Some(channel) = action.target.channel.as_deref().map(channel_name) else {
            return Err(TwitchError::InvalidArgument(format!(
                "`{}` on Twitch needs a channel",
                action.kind.verb()
            )));
        };
        helix.user_by_login(&channel).await
    }

    /// Sends a chat message through Helix: the message id comes back, and a message
    /// Twitch drops is [`Outcome::Dropped`] with Twitch's reason.
    async fn send_chat_helix(
        &self,
        helix: &HelixClient,
        channel: &str,
        text: &str,
        reply_to: Option<&str>,
    ) -> Result<Outcome, PlatformError> {
        let sent = async {
            let me = helix.me().await?;
            let broadcaster = helix.user_by_login(channel).await?;
            helix
                .send_chat_message(&broadcaster.id, &me.id, text, reply_to)
                .await
        }
        .await;
        match sent {
            Ok(sent) => Ok(Outcome::Done {
                message_id: Some(sent.message_id).filter(|id| !id.is_empty()),
            }),
            Err(TwitchError::MessageDropped { code, message }) => {
                tracing::info!(platform = %self.id, %channel, %code, %message, "Twitch dropped a chat message");
                Ok(Outcome::Dropped {
                    reason: format!("{code}: {message}"),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Carries out an action that Twitch only offers through Helix.
    async fn execute_helix(&self, helix: &HelixClient, action: &Action) -> Result<(), TwitchError> {
        let me = helix.me().await?;
        let ban = |broadcaster: String,
                   user: String,
                   duration: Option<u64>,
                   reason: &Option<String>| BanRequest {
            broadcaster_id: broadcaster,
            moderator_id: me.id.clone(),
            user_id: user,
            duration_secs: duration,
            reason: reason.clone(),
        };
        match &action.kind {
            ActionKind::Whisper { to, text } => {
                let to = helix.user_by_login(to).await?;
                helix.whisper(&me.id, &to.id, text).await
            }
            ActionKind::DeleteMessage { message_id } => {
                let broadcaster = self.broadcaster(helix, action).await?;
                helix
                    .delete_chat_message(&broadcaster.id, &me.id, message_id)
                    .await
            }
            ActionKind::Timeout {
                user,
                duration_secs,
                reason,
            } => {
                let broadcaster = self.broadcaster(helix, action).await?;
                let user = helix.user_by_login(user).await?;
                helix
                    .ban(&ban(broadcaster.id, user.id, Some(*duration_secs), reason))
                    .await
            }
            ActionKind::Ban { user, reason } => {
                let broadcaster = self.broadcaster(helix, action).await?;
                let user = helix.user_by_login(user).await?;
                helix.ban(&ban(broadcaster.id, user.id, None, reason)).await
            }
            ActionKind::SetColor { color } => {
                let change = helix.set_chat_color(&me.id, color).await?;
                tracing::info!(platform = %self.id, ?change, "chat color changed");
                Ok(())
            }
            other => Err(TwitchError::InvalidArgument(format!(
                "`{}` does not go through Helix",
                other.verb()
            ))),
        }
    }
}

#[async_trait]
impl Platform for TwitchPlatform {
    fn kind(&self) -> &str {
        PLATFORM
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps =
            Capabilities::new(MAX_MESSAGE_CHARS).with_shared_limiter(Arc::clone(&self.limiter));
        caps.replies = true;
        let helix = self.helix.is_some();
        caps.whispers = helix;
        caps.colors = helix;
        caps.moderation = helix;
        caps
    }

    async fn run(&self, ctx: PlatformContext) -> Result<(), PlatformError> {
        if self.config.eventsub.enabled && self.eventsub.is_none() {
            return Err(TwitchError::Config(
                "`eventsub` is on but the platform has no Helix client to create the subscriptions with: set `client_id` in the config, or build the platform with `.with_eventsub(api)`".to_owned(),
            )
            .into());
        }
        let Some((eventsub, _)) = &self.eventsub else {
            return self.run_irc(&ctx).await;
        };
        let irc = self.run_irc(&ctx);
        tokio::pin!(irc);
        tokio::select! {
            result = &mut irc => result,
            result = eventsub.run(&ctx) => match result {
                // Shutdown, or nothing left to subscribe: IRC carries on alone.
                Ok(()) => irc.await,
                Err(e) => {
                    {
                        let mut shared = self.lock();
                        shared.writer = None;
                        shared.control = None;
                        shared.health = Some(Health::Down(e.to_string()));
                    }
                    let _ = ctx.connection(false, &e.to_string());
                    Err(e.into())
                }
            },
        }
    }

    async fn execute(&self, action: &Action) -> Result<Outcome, PlatformError> {
        match &action.kind {
            ActionKind::Say { text } => self.send_chat(action, text, None).await,
            ActionKind::Reply {
                text, parent_id, ..
            } => self.send_chat(action, text, parent_id.as_deref()).await,
            ActionKind::Whisper { .. }
            | ActionKind::DeleteMessage { .. }
            | ActionKind::Timeout { .. }
            | ActionKind::Ban { .. }
            | ActionKind::SetColor { .. } => match &self.helix {
                Some(helix) => self
                    .execute_helix(helix, action)
                    .await
                    .map(|()| Outcome::Done { message_id: None })
                    .map_err(PlatformError::from),
                None => Ok(Outcome::Unsupported {
                    verb: action.kind.verb().to_owned(),
                }),
            },
            other => Ok(Outcome::Unsupported {
                verb: other.verb().to_owned(),
            }),
        }
    }

    fn health(&self) -> Health {
        let irc = self.lock().health.clone().unwrap_or(Health::Starting);
        match (irc, self.eventsub().map(|e| e.health())) {
            (Health::Up, Some(Health::Degraded(why) | Health::Down(why))) => {
                Health::Degraded(format!("EventSub: {why}"))
            }
            (irc, _) => irc,
        }
    }
}

impl TwitchPlatform {
    /// The IRC connection loop: connect, log in, read, reconnect with backoff.
    async fn run_irc(&self, ctx: &PlatformContext) -> Result<(), PlatformError> {
        let mut backoff = Backoff::new(self.config.reconnect.clone());
        let mut auth_retried = false;
        let mut handover: Option<(Link, Normalizer, Credentials)> = None;
        loop {
            if ctx.is_shutting_down() {
                return Ok(());
            }
            let mut logged_in = false;
            // The provider's watch (hourly token validation for OAuth) ends the session
            // when the credentials become unusable.
            let (creds, result) = match handover.take() {
                Some((link, normalizer, creds)) => {
                    logged_in = true;
                    let result = tokio::select! {
                        result = self.serve(ctx, &creds, link, normalizer, true) => result,
                        e = self.credentials.watch() => Err(e),
                    };
                    (creds, result)
                }
                None => {
                    // Getting credentials can fail like a connection does (the OAuth server
                    // is unreachable): back off and try again; anything else stops the
                    // platform.
                    let creds = match self.credentials.credentials().await {
                        Ok(creds) => creds,
                        Err(e) if e.is_transient() => {
                            self.set_health(Health::Degraded(e.to_string()));
                            let Some(delay) = backoff.next_delay() else {
                                self.set_health(Health::Down(e.to_string()));
                                return Err(e.into());
                            };
                            tracing::warn!(platform = %self.id, error = %e, ?delay, "cannot get Twitch credentials; trying again");
                            tokio::select! {
                                _ = sleep(delay) => {}
                                _ = ctx.shutdown_requested() => return Ok(()),
                            }
                            continue;
                        }
                        Err(e) => {
                            tracing::error!(platform = %self.id, error = %e, "no usable Twitch credentials");
                            self.set_health(Health::Down(e.to_string()));
                            return Err(e.into());
                        }
                    };
                    let result = tokio::select! {
                        result = self.session(ctx, &creds, &mut logged_in) => result,
                        e = self.credentials.watch() => Err(e),
                    };
                    (creds, result)
                }
            };
            {
                let mut shared = self.lock();
                shared.writer = None;
                shared.control = None;
            }
            if logged_in {
                backoff.reset();
                auth_retried = false;
            }
            let reason = match &result {
                Ok(End::Shutdown) => "shutting down".to_owned(),
                Ok(End::Reconnect) => "Twitch asked for a reconnect".to_owned(),
                Ok(End::Handover(..)) => String::new(),
                Err(e) => e.to_string(),
            };
            if logged_in && !matches!(result, Ok(End::Handover(..))) {
                let _ = ctx.connection(false, &reason);
            }
            match result {
                Ok(End::Shutdown) => {
                    self.set_health(Health::Down("stopped".to_owned()));
                    return Ok(());
                }
                Ok(End::Reconnect) => {
                    tracing::info!(platform = %self.id, "Twitch asked for a reconnect");
                    self.set_health(Health::Degraded("reconnecting".to_owned()));
                }
                Ok(End::Handover(link, normalizer, creds)) => {
                    // The old connection is dropped here, after the new one logged in.
                    tracing::info!(platform = %self.id, "moved to the new Twitch chat connection");
                    handover = Some((link, normalizer, creds));
                }
                Err(TwitchError::Auth(why)) => {
                    if !auth_retried && self.credentials.refused(&creds).await {
                        auth_retried = true;
                        tracing::warn!(platform = %self.id, "login refused; retrying once with fresh credentials");
                        continue;
                    }
                    tracing::error!(platform = %self.id, reason = %why, "Twitch refused the login; not retrying");
                    self.set_health(Health::Down(format!("login refused: {why}")));
                    return Err(TwitchError::Auth(why).into());
                }
                Err(e) if !e.is_transient() => {
                    tracing::error!(platform = %self.id, error = %e, "Twitch session failed permanently");
                    self.set_health(Health::Down(e.to_string()));
                    return Err(e.into());
                }
                Err(e) => {
                    self.set_health(Health::Degraded(e.to_string()));
                    let Some(delay) = backoff.next_delay() else {
                        self.set_health(Health::Down(e.to_string()));
                        return Err(e.into());
                    };
                    tracing::warn!(platform = %self.id, error = %e, ?delay, "Twitch connection lost; reconnecting");
                    tokio::select! {
                        _ = sleep(delay) => {}
                        _ = ctx.shutdown_requested() => return Ok(()),
                    }
                }
            }
        }
    }
}
