//! [`EventSubSession`]: the EventSub WebSocket connection loop.
//!
//! The loop follows the protocol's lifecycle and the mistakes other clients made with it:
//!
//! - **Welcome, then subscribe within the deadline.** After `session_welcome` every
//!   desired subscription is created through the [`EventSubApi`] while the socket keeps
//!   being read, all within `subscribe_timeout_secs`; a socket nobody subscribed on is
//!   closed by Twitch (4003), so after a 4003 the next session creates them all at once.
//! - **Desired state is data.** The subscription list lives in the session, apart from
//!   any connection, and is replayed after every fresh connection. A revocation removes
//!   its subscription from the list for good.
//! - **Ids from logins.** When the config leaves out `broadcaster_user_ids` or
//!   `bot_user_id`, the ids of the platform's channels and bot login are looked up through
//!   [`EventSubApi::user_ids`] before every fresh connection (so channels joined since are
//!   covered), and the list is rebuilt from them. A login Twitch does not know is
//!   reported (`eventsub.unknown_login`) and left out; a failed lookup is retried with the
//!   reconnect backoff like a lost connection. With no channel whose id is known, the
//!   session waits for the platform to join one rather than stop.
//! - **`session_reconnect` is a hand-over, not a reconnect.** The new socket is opened
//!   at `reconnect_url` while the old one is still read; once the new welcome arrives the
//!   old one is closed and nothing is subscribed again (subscriptions move with the
//!   session, and re-creating them is what earns 4007).
//! - **Silence is death.** Any frame resets the keepalive timer; none within the
//!   welcome's `keepalive_timeout_seconds` plus a margin means a fresh connection.
//! - **At least once becomes exactly once.** Notifications are deduplicated by
//!   `message_id` in a bounded ring, which also covers the overlap of two sockets.
//!
//! Errors say which close code or timeout ended the connection ([`EventSubError`]); the
//! loop reconnects with botkit's [`Backoff`] (the first retry of a "reconnect now" cause
//! is immediate) and stops only when every subscription is refused for good.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use botkit::PlatformContext;
use botkit::backoff::Backoff;
use botkit::event::{Event, Payload, Priority, Raw, Source};
use botkit::platform::Health;
use serde_json::json;
use tokio::time::{Instant, sleep, sleep_until};

use super::api::{CreatedSubscription, EventSubApi};
use super::config::{EventSubConfig, SubscriptionSpec};
use super::dedupe::{CrossSource, Origin, RecentIds};
use super::error::{EventSubError, Reaction};
use super::message::{self, Frame, Message, Session};
use super::normalize::EventSubNormalizer;
use super::socket::{Incoming, Socket};
use crate::error::TwitchError;
use crate::normalize::PLATFORM;

struct State {
    desired: Vec<SubscriptionSpec>,
    /// Subscriptions Twitch revoked, kept out of every rebuilt list.
    revoked: Vec<SubscriptionSpec>,
    /// Channel logins whose ids are looked up when the config has no broadcaster ids.
    channel_logins: Vec<String>,
    /// Logins already reported as unknown (reported once, not on every reconnect).
    unknown: HashSet<String>,
    active: HashMap<String, SubscriptionSpec>,
    session_id: Option<String>,
    seen: RecentIds,
    health: Health,
}

/// One EventSub WebSocket session of a Twitch account, with its desired subscriptions.
pub struct EventSubSession {
    instance: String,
    config: EventSubConfig,
    api: Arc<dyn EventSubApi>,
    normalizer: Mutex<EventSubNormalizer>,
    /// Woken when the platform's channels change, for a session waiting for a channel.
    channels_changed: tokio::sync::Notify,
    /// The bot's login, whose id is looked up when the config has no `bot_user_id`.
    bot_login: Option<String>,
    cross: Option<Arc<CrossSource>>,
    state: Mutex<State>,
}

impl std::fmt::Debug for EventSubSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSubSession")
            .field("instance", &self.instance)
            .field("url", &self.config.url)
            .field("session_id", &self.session_id())
            .finish_non_exhaustive()
    }
}

/// Subscription creation of one session, as it went.
#[derive(Default)]
struct Report {
    created: usize,
    /// Failures as `type: error`, and whether each may pass.
    failures: Vec<(String, bool)>,
}

type Pending<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a frame asks the connection loop to do.
enum Control {
    Welcome(Session),
    Reconnect(String),
}

fn login_name(login: &str) -> String {
    login
        .trim()
        .trim_start_matches(['#', '@'])
        .to_ascii_lowercase()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n.max(1))
}

impl EventSubSession {
    /// A session for platform instance `instance`, creating subscriptions through `api`.
    /// Fails when the config is invalid (bad URL, unknown types). Ids the config leaves
    /// out are looked up through `api` from [`EventSubSession::with_channel_logins`] and
    /// [`EventSubSession::with_bot_login`] when the session runs.
    pub fn new(
        instance: &str,
        config: EventSubConfig,
        api: Arc<dyn EventSubApi>,
    ) -> Result<Self, EventSubError> {
        let desired = if config.needs_lookup() {
            config.validate()?;
            Vec::new()
        } else {
            config.desired()?
        };
        let normalizer = EventSubNormalizer::new(instance, config.bot_user_id.as_deref());
        let seen = RecentIds::new(config.dedupe_capacity);
        Ok(Self {
            instance: instance.to_owned(),
            config,
            api,
            normalizer: Mutex::new(normalizer),
            channels_changed: tokio::sync::Notify::new(),
            bot_login: None,
            cross: None,
            state: Mutex::new(State {
                desired,
                revoked: Vec::new(),
                channel_logins: Vec::new(),
                unknown: HashSet::new(),
                active: HashMap::new(),
                session_id: None,
                seen,
                health: Health::Starting,
            }),
        })
    }

    /// The same session, pairing its events with another source's (IRC) through
    /// `cross`, so an event both deliver is published once.
    #[must_use]
    pub fn with_cross_source(mut self, cross: Arc<CrossSource>) -> Self {
        self.cross = Some(cross);
        self
    }

    /// The same session, watching these channels (logins) when the config has no
    /// `broadcaster_user_ids`.
    #[must_use]
    pub fn with_channel_logins(self, logins: &[String]) -> Self {
        self.set_channel_logins(logins);
        self
    }

    /// The same session, looking up the id of the bot's `login` when the config has no
    /// `bot_user_id`.
    #[must_use]
    pub fn with_bot_login(mut self, login: &str) -> Self {
        let login = login_name(login);
        self.bot_login = (!login.is_empty()).then_some(login);
        self
    }

    /// Replaces the channels watched when the config has no `broadcaster_user_ids` (the
    /// platform's desired channels); the next fresh connection subscribes for them.
    pub fn set_channel_logins(&self, logins: &[String]) {
        let mut logins: Vec<String> = logins.iter().map(|l| login_name(l)).collect();
        let mut seen = HashSet::new();
        logins.retain(|l| !l.is_empty() && seen.insert(l.clone()));
        self.lock().channel_logins = logins;
        self.channels_changed.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The subscriptions the session holds on to (desired state). With ids to look up,
    /// empty until the first lookup, then rebuilt before every fresh connection.
    pub fn desired(&self) -> Vec<SubscriptionSpec> {
        self.lock().desired.clone()
    }

    /// The channel logins whose ids are looked up when the config has no
    /// `broadcaster_user_ids` (lower case, without `#`).
    pub fn channel_logins(&self) -> Vec<String> {
        self.lock().channel_logins.clone()
    }

    /// How many subscriptions Twitch accepted for the current session.
    pub fn active_count(&self) -> usize {
        self.lock().active.len()
    }

    /// The current session id, while connected.
    pub fn session_id(&self) -> Option<String> {
        self.lock().session_id.clone()
    }

    /// The session's health.
    pub fn health(&self) -> Health {
        self.lock().health.clone()
    }

    fn set_health(&self, health: Health) {
        self.lock().health = health;
    }

    fn emit(&self, ctx: &PlatformContext, kind: &str, payload: Payload, raw: Option<Raw>) {
        let event = match Event::platform(
            Source::new(PLATFORM, &self.instance, None),
            kind,
            payload,
        ) {
            Ok(event) => event.with_priority(Priority::High),
            Err(e) => {
                tracing::warn!(platform = %self.instance, error = %e, "no topic for an EventSub status event");
                return;
            }
        };
        let event = match raw {
            Some(raw) => event.with_raw(raw),
            None => event,
        };
        if let Err(e) = ctx.publish(event) {
            tracing::debug!(platform = %self.instance, error = %e, "EventSub event not published");
        }
    }

    /// Runs the session until shutdown, reconnecting as each cause requires. Returns an
    /// error only when retrying cannot help (every subscription refused for good).
    pub async fn run(&self, ctx: &PlatformContext) -> Result<(), EventSubError> {
        let mut backoff = Backoff::new(self.config.reconnect.clone());
        let mut fast = false;
        loop {
            if ctx.is_shutting_down() {
                self.set_health(Health::Down("stopped".to_owned()));
                return Ok(());
            }
            let resolved = if self.config.needs_lookup() {
                tokio::select! {
                    resolved = self.resolve(ctx) => resolved,
                    _ = ctx.shutdown_requested() => {
                        self.set_health(Health::Down("stopped".to_owned()));
                        return Ok(());
                    }
                }
            } else {
                Ok(true)
            };
            if let Ok(false) = resolved {
                // No channel with a known id (none left, or all unknown): nothing to
                // subscribe for until the platform joins one, so wait for that.
                let why =
                    "no channel whose user id is known; EventSub waits for a channel to be joined";
                tracing::warn!(platform = %self.instance, "{why}");
                self.set_health(Health::Degraded(why.to_owned()));
                tokio::select! {
                    _ = self.channels_changed.notified() => continue,
                    _ = ctx.shutdown_requested() => {
                        self.set_health(Health::Down("stopped".to_owned()));
                        return Ok(());
                    }
                }
            }
            if resolved.is_ok() && self.lock().desired.is_empty() {
                tracing::warn!(platform = %self.instance, "no EventSub subscription left to hold (all revoked, or no channel whose id is known); the EventSub session stops");
                self.set_health(Health::Down("no subscriptions left".to_owned()));
                return Ok(());
            }
            let mut healthy = false;
            let result = match resolved {
                Ok(_) => self.connection(ctx, fast, &mut healthy).await,
                Err(e) => Err(e),
            };
            {
                let mut state = self.lock();
                state.session_id = None;
                state.active.clear();
            }
            let error = match result {
                Ok(()) => {
                    self.set_health(Health::Down("stopped".to_owned()));
                    return Ok(());
                }
                Err(e) => e,
            };
            self.emit(
                ctx,
                "eventsub.disconnected",
                Payload::ConnectionDown {
                    reason: error.to_string(),
                },
                None,
            );
            if healthy {
                backoff.reset();
            }
            fast = matches!(
                &error,
                EventSubError::SubscribeTimeout(_)
                    | EventSubError::Closed {
                        cause: super::error::CloseCause::ConnectionUnused,
                        ..
                    }
            );
            let reaction = error.reaction();
            if reaction == Reaction::Stop {
                tracing::error!(platform = %self.instance, error = %error, "EventSub session stops");
                self.set_health(Health::Down(error.to_string()));
                return Err(error);
            }
            if matches!(
                &error,
                EventSubError::Closed {
                    cause: super::error::CloseCause::ClientSentInboundTraffic,
                    ..
                }
            ) {
                tracing::error!(platform = %self.instance, error = %error, "bug: EventSub traffic was sent by the client");
            }
            self.set_health(Health::Degraded(error.to_string()));
            let Some(delay) = backoff.next_delay() else {
                self.set_health(Health::Down(error.to_string()));
                return Err(error);
            };
            // "Reconnect now" causes skip the first delay; a cause that repeats without a
            // healthy connection in between still backs off, so nothing storms.
            let delay = if reaction == Reaction::ReconnectNow && backoff.attempts() == 1 {
                Duration::ZERO
            } else {
                delay
            };
            tracing::warn!(platform = %self.instance, error = %error, ?delay, "EventSub connection lost; reconnecting");
            tokio::select! {
                _ = sleep(delay) => {}
                _ = ctx.shutdown_requested() => {
                    self.set_health(Health::Down("stopped".to_owned()));
                    return Ok(());
                }
            }
        }
    }

    /// Looks up the ids the config leaves out and rebuilds the desired subscriptions from
    /// them. Unknown logins are reported and left out; a lookup that may pass later is a
    /// [`EventSubError::Lookup`], one that cannot (e.g. an API without lookups) a
    /// [`EventSubError::Config`].
    ///
    /// `Ok(false)` when no channel has a known id (nothing to subscribe for yet).
    async fn resolve(&self, ctx: &PlatformContext) -> Result<bool, EventSubError> {
        let channels = if self.config.broadcaster_user_ids.is_empty() {
            self.lock().channel_logins.clone()
        } else {
            Vec::new()
        };
        let bot_login = match &self.config.bot_user_id {
            None if self.config.needs_bot_user_id() => self.bot_login.clone(),
            _ => None,
        };
        let mut logins = channels.clone();
        if let Some(bot) = &bot_login
            && !logins.contains(bot)
        {
            logins.push(bot.clone());
        }
        let ids = if logins.is_empty() {
            HashMap::new()
        } else {
            match self.api.user_ids(&logins).await {
                Ok(ids) => ids,
                Err(e) if e.is_transient() => {
                    return Err(EventSubError::Lookup(format!(
                        "{} ({e})",
                        logins.join(", ")
                    )));
                }
                Err(e) => {
                    return Err(EventSubError::Config(format!(
                        "looking up the user ids of {} failed: {e}",
                        logins.join(", ")
                    )));
                }
            }
        };
        for login in &logins {
            if !ids.contains_key(login) && self.lock().unknown.insert(login.clone()) {
                let role = if bot_login.as_ref() == Some(login) {
                    "the bot's `login`"
                } else {
                    "a channel"
                };
                let error = format!(
                    "Twitch knows no user `{login}` ({role}); its EventSub subscriptions are left out: check the spelling, or set the numeric ids under [platform.eventsub]"
                );
                tracing::error!(platform = %self.instance, %login, "{error}");
                self.emit(
                    ctx,
                    "eventsub.unknown_login",
                    Payload::Custom {
                        kind: "eventsub.unknown_login".to_owned(),
                        data: json!({ "login": login, "error": error }),
                    },
                    None,
                );
            }
        }
        let broadcasters: Vec<String> = if self.config.broadcaster_user_ids.is_empty() {
            channels
                .iter()
                .filter_map(|login| ids.get(login).cloned())
                .collect()
        } else {
            self.config.broadcaster_user_ids.clone()
        };
        let bot = match &self.config.bot_user_id {
            Some(id) => Some(id.clone()),
            None => bot_login.as_ref().and_then(|login| ids.get(login).cloned()),
        };
        if let Some(bot) = &bot {
            self.normalizer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .set_bot_user_id(bot);
        }
        let mut specs = self.config.specs_for(&broadcasters, bot.as_deref())?;
        let mut state = self.lock();
        specs.retain(|spec| !state.revoked.contains(spec));
        tracing::debug!(platform = %self.instance, channels = broadcasters.len(), subscriptions = specs.len(), "EventSub ids looked up");
        state.desired = specs;
        Ok(!broadcasters.is_empty())
    }

    /// Waits for the welcome on a fresh socket; other frames before it are skipped.
    async fn welcome(
        &self,
        socket: &mut Socket,
        within: Duration,
    ) -> Result<Session, EventSubError> {
        let deadline = Instant::now() + within;
        loop {
            let incoming = tokio::select! {
                incoming = socket.next() => incoming,
                _ = sleep_until(deadline) => return Err(EventSubError::NoWelcome(within)),
            };
            match incoming {
                Incoming::Ended(e) => return Err(e),
                Incoming::Text(text) => match message::decode(&text) {
                    Ok(Frame {
                        message: Message::Welcome(session),
                        ..
                    }) => return Ok(session),
                    Ok(frame) => {
                        tracing::debug!(platform = %self.instance, message_type = %frame.metadata.message_type, "EventSub frame before the welcome; skipped");
                    }
                    Err(e) => {
                        tracing::warn!(platform = %self.instance, error = %e, "skipping a malformed EventSub frame");
                    }
                },
            }
        }
    }

    fn keepalive_window(&self, session: &Session) -> Duration {
        let interval = session
            .keepalive_timeout_seconds
            .or(self.config.keepalive_timeout_secs)
            .unwrap_or(10);
        secs(interval) + Duration::from_secs(self.config.keepalive_margin_secs)
    }

    fn welcomed(&self, ctx: &PlatformContext, session: &Session, moved: bool) {
        self.lock().session_id = Some(session.id.clone());
        self.set_health(Health::Up);
        tracing::info!(platform = %self.instance, session = %session.id, moved, "EventSub session welcomed");
        self.emit(ctx, "eventsub.connected", Payload::ConnectionUp, None);
    }

    /// One fresh connection, including any `session_reconnect` hand-overs, until it
    /// ends. `Ok` means shutdown. `healthy` is set once the session held a subscription.
    async fn connection(
        &self,
        ctx: &PlatformContext,
        fast: bool,
        healthy: &mut bool,
    ) -> Result<(), EventSubError> {
        let url = self.config.connect_url();
        let welcome_within = secs(self.config.welcome_timeout_secs);
        let mut current = tokio::select! {
            socket = tokio::time::timeout(welcome_within, Socket::connect(&url)) => {
                socket.map_err(|_| EventSubError::Connect {
                    url: url.clone(),
                    reason: format!("no connection within {welcome_within:?}"),
                })??
            }
            _ = ctx.shutdown_requested() => return Ok(()),
        };
        let session = tokio::select! {
            session = self.welcome(&mut current, welcome_within) => session?,
            _ = ctx.shutdown_requested() => return Ok(()),
        };
        self.welcomed(ctx, &session, false);
        let mut keepalive = self.keepalive_window(&session);
        let mut deadline = Instant::now() + keepalive;

        let subscribe_within = secs(self.config.subscribe_timeout_secs);
        let specs = self.lock().desired.clone();
        let session_id = session.id.clone();
        let mut subscribing: Option<Pending<'_, Result<Report, tokio::time::error::Elapsed>>> =
            Some(Box::pin(tokio::time::timeout(
                subscribe_within,
                self.subscribe(ctx, session_id, specs, fast),
            )));

        // A hand-over in progress: the new socket being opened, then read until its welcome.
        let mut connecting: Option<Pending<'static, Result<Socket, EventSubError>>> = None;
        let mut next: Option<Socket> = None;
        let mut handover_deadline: Option<Instant> = None;
        let handover_within = secs(self.config.handover_timeout_secs);
        // Twitch may close the old socket before the new one's welcome arrives; the
        // hand-over then simply waits for the welcome (within its own deadline).
        let mut old_gone = false;

        loop {
            tokio::select! {
                _ = ctx.shutdown_requested() => {
                    current.close_in_background();
                    return Ok(());
                }
                incoming = current.next(), if !old_gone => match incoming {
                    Incoming::Ended(e) if handover_deadline.is_some() => {
                        tracing::info!(platform = %self.instance, reason = %e, "the old EventSub socket closed during the hand-over; waiting for the new welcome");
                        old_gone = true;
                    }
                    Incoming::Ended(e) => return Err(e),
                    Incoming::Text(text) => {
                        deadline = Instant::now() + keepalive;
                        match self.handle(ctx, &text) {
                            Some(Control::Reconnect(to)) if handover_deadline.is_none() => {
                                tracing::info!(platform = %self.instance, "Twitch asked for an EventSub reconnect; opening the new socket first");
                                handover_deadline = Some(Instant::now() + handover_within);
                                connecting = Some(Box::pin(async move { Socket::connect(&to).await }));
                            }
                            Some(Control::Reconnect(_)) => {}
                            Some(Control::Welcome(_)) => {
                                tracing::warn!(platform = %self.instance, "a second session_welcome on one socket; ignored");
                            }
                            None => {}
                        }
                    }
                },
                opened = async { match connecting.as_mut() { Some(f) => f.await, None => std::future::pending().await } }, if connecting.is_some() => {
                    connecting = None;
                    next = Some(opened.map_err(|e| EventSubError::HandoverFailed(e.to_string()))?);
                }
                incoming = async { match next.as_mut() { Some(s) => s.next().await, None => std::future::pending().await } }, if next.is_some() => match incoming {
                    Incoming::Ended(e) => return Err(EventSubError::HandoverFailed(e.to_string())),
                    Incoming::Text(text) => {
                        if let Some(Control::Welcome(session)) = self.handle(ctx, &text)
                            && let Some(new) = next.take()
                        {
                            // The new socket holds the session now: close the old one and
                            // subscribe nothing, the subscriptions moved with it.
                            std::mem::replace(&mut current, new).close_in_background();
                            handover_deadline = None;
                            old_gone = false;
                            self.welcomed(ctx, &session, true);
                            keepalive = self.keepalive_window(&session);
                            deadline = Instant::now() + keepalive;
                        }
                    }
                },
                report = async { match subscribing.as_mut() { Some(f) => f.await, None => std::future::pending().await } }, if subscribing.is_some() => {
                    subscribing = None;
                    let report = report.map_err(|_| EventSubError::SubscribeTimeout(subscribe_within))?;
                    if report.created == 0 && !report.failures.is_empty() {
                        let summary = report.failures.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>().join("; ");
                        return Err(if report.failures.iter().any(|(_, transient)| *transient) {
                            EventSubError::SubscriptionsFailed(summary)
                        } else {
                            EventSubError::SubscriptionsRefused(summary)
                        });
                    }
                    *healthy = true;
                }
                _ = sleep_until(handover_deadline.unwrap_or(deadline)) => {
                    return Err(match handover_deadline {
                        Some(_) => EventSubError::HandoverFailed(format!("no welcome on the reconnect URL within {handover_within:?}")),
                        None => EventSubError::KeepaliveTimeout(keepalive),
                    });
                }
            }
        }
    }

    /// Creates `specs` for `session_id`: one by one, or all at once when `fast`.
    async fn subscribe(
        &self,
        ctx: &PlatformContext,
        session_id: String,
        specs: Vec<SubscriptionSpec>,
        fast: bool,
    ) -> Report {
        let mut report = Report::default();
        if fast {
            let all = specs.iter().map(|spec| {
                let request = spec.request(&session_id);
                async move { self.api.create_subscription(&request).await }
            });
            let results = futures_util::future::join_all(all).await;
            for (spec, result) in specs.into_iter().zip(results) {
                self.record(ctx, spec, result, &mut report);
            }
        } else {
            for spec in specs {
                let result = self
                    .api
                    .create_subscription(&spec.request(&session_id))
                    .await;
                self.record(ctx, spec, result, &mut report);
            }
        }
        report
    }

    fn record(
        &self,
        ctx: &PlatformContext,
        spec: SubscriptionSpec,
        result: Result<CreatedSubscription, TwitchError>,
        report: &mut Report,
    ) {
        match result {
            Ok(created) => {
                tracing::debug!(platform = %self.instance, subscription_type = %spec.kind, id = %created.id, "EventSub subscription created");
                report.created += 1;
                self.lock().active.insert(created.id, spec);
            }
            Err(error) => {
                tracing::warn!(platform = %self.instance, subscription_type = %spec.kind, condition = %spec.condition, %error, "EventSub subscription refused");
                report
                    .failures
                    .push((format!("{}: {error}", spec.kind), error.is_transient()));
                let data = json!({
                    "type": spec.kind,
                    "version": spec.version,
                    "condition": spec.condition,
                    "error": error.to_string(),
                    "transient": error.is_transient(),
                });
                self.emit(
                    ctx,
                    "eventsub.subscription_failed",
                    Payload::Custom {
                        kind: "eventsub.subscription_failed".to_owned(),
                        data,
                    },
                    None,
                );
            }
        }
    }

    /// Handles one text frame; never fails (a bad frame is logged and skipped).
    fn handle(&self, ctx: &PlatformContext, text: &str) -> Option<Control> {
        let frame = match message::decode(text) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!(platform = %self.instance, error = %e, "skipping a malformed EventSub frame");
                return None;
            }
        };
        match frame.message {
            Message::Welcome(session) => return Some(Control::Welcome(session)),
            Message::Reconnect(session) => return session.reconnect_url.map(Control::Reconnect),
            Message::Keepalive => {}
            Message::Notification {
                ref subscription,
                ref event,
            } => {
                if !self.lock().seen.first_time(&frame.metadata.message_id) {
                    tracing::debug!(platform = %self.instance, message_id = %frame.metadata.message_id, "EventSub redelivery dropped");
                    return None;
                }
                let received = botkit::event::now_millis();
                let normalized = self
                    .normalizer
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .notification(&frame.metadata, subscription, event, &frame.raw, received);
                match normalized {
                    Ok(event) => {
                        let admitted = self
                            .cross
                            .as_ref()
                            .is_none_or(|cross| cross.admit(Origin::EventSub, &event));
                        if admitted && let Err(e) = ctx.publish(event) {
                            tracing::debug!(platform = %self.instance, error = %e, "event not published");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(platform = %self.instance, error = %e, "no topic for an EventSub notification");
                    }
                }
            }
            Message::Revocation(ref subscription) => {
                if self.lock().seen.first_time(&frame.metadata.message_id) {
                    self.revoke(ctx, subscription, &frame);
                }
            }
            Message::Unknown(ref kind) => {
                tracing::warn!(platform = %self.instance, message_type = %kind, "unknown EventSub message type; skipped");
            }
        }
        None
    }

    fn revoke(
        &self,
        ctx: &PlatformContext,
        subscription: &message::SubscriptionInfo,
        frame: &Frame,
    ) {
        {
            let mut state = self.lock();
            state.active.remove(&subscription.id);
            state.desired.retain(|spec| {
                !(spec.kind == subscription.kind
                    && spec.version == subscription.version
                    && spec.condition == subscription.condition)
            });
            state.revoked.push(SubscriptionSpec {
                kind: subscription.kind.clone(),
                version: subscription.version.clone(),
                condition: subscription.condition.clone(),
            });
        }
        tracing::warn!(platform = %self.instance, subscription_type = %subscription.kind, status = %subscription.status, "Twitch revoked an EventSub subscription; it will not be created again");
        let data = json!({
            "id": subscription.id,
            "type": subscription.kind,
            "version": subscription.version,
            "status": subscription.status,
            "condition": subscription.condition,
        });
        self.emit(
            ctx,
            "eventsub.revoked",
            Payload::Custom {
                kind: "eventsub.revoked".to_owned(),
                data,
            },
            Some(Raw::Json(frame.raw.clone())),
        );
    }
}
