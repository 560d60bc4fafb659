//! One CyTube session: one socket, one login, one channel, reconnected until told to stop.
//!
//! A CyTube socket can join exactly one channel, once, and `login` works once per socket,
//! so the unit of connection is the session. Its *desired* state (server, account,
//! channel, channel password) is configuration; its *connection* state (rank, users,
//! playlist…) lives in a [`Normalizer`] that is reset on every reconnect, because
//! socket.io 4.5 has no connection-state recovery: a reconnect is a brand-new session and
//! the desired state is replayed in the order the protocol reference recommends: `login`,
//! wait for its answer, then `joinChannel` (with `pw`). That order also takes over a ghost
//! of the bot's own previous connection instead of failing with "name already in use".
//!
//! Liveness: in Engine.IO v4 the *server* pings every `pingInterval`; no frame for
//! `pingInterval + pingTimeout` means the link is dead (what socket.io-client does), and
//! the session reconnects. Reconnects use `botkit::backoff` with CyTube's own floors: 60 s
//! after the guest-login delay, 10 s after a `44 Rate limit exceeded`. A kick is final: a
//! moderator, a ban or another instance of the bot (`Duplicate login`) wants us gone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use botkit::backoff::Backoff;
use botkit::config::Secret;
use botkit::event::{Event, Raw};
use botkit::platform::PlatformContext;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::codec::{Frame, MAX_FRAME_LEN, OpenInfo, SocketPacket};
use crate::config::CytubeConfig;
use crate::discovery::{discover, websocket_url};
use crate::error::CytubeError;
use crate::events::ServerEvent;
use crate::flood::{FloodGuard, Params};
use crate::normalize::{Normalized, Normalizer, changes_state, snapshot_payload};
use crate::platform::ConnectionMetrics;
use crate::state::ChannelState;

/// Messages above this size make tungstenite drop the connection; between
/// [`MAX_FRAME_LEN`] and this, the codec refuses the frame and the session carries on.
const WS_MAX_MESSAGE: usize = 4 * MAX_FRAME_LEN;

/// Settings shared by the sessions of one instance.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) config: CytubeConfig,
    pub(crate) http: reqwest::Client,
    /// TLS for `wss://`: public roots plus the configured extra roots.
    pub(crate) tls: Arc<tokio_rustls::rustls::ClientConfig>,
}

/// One channel's session, shared between its connection task and `execute`.
pub(crate) struct Session {
    pub(crate) channel: String,
    password: Option<Secret>,
    normalizer: Mutex<Normalizer>,
    joined: AtomicBool,
    out: Mutex<Option<mpsc::UnboundedSender<String>>>,
    pub(crate) flood: tokio::sync::Mutex<FloodGuard>,
    status: Mutex<String>,
    /// Asks the connection task for a `channel.state` snapshot now (the `state` action).
    state_now: tokio::sync::Notify,
    /// When `requestPlaylist` was last sent (CyTube allows one per 60 s).
    pub(crate) playlist_requested: Mutex<Option<Instant>>,
    metrics: Mutex<ConnectionMetrics>,
    /// Set when the server answered `cooldown`: no chat before this instant.
    cooldown_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("channel", &self.channel)
            .field("joined", &self.is_joined())
            .finish_non_exhaustive()
    }
}

/// How a connection ended without an error.
enum End {
    Shutdown,
}

impl Session {
    pub(crate) fn new(channel: String, password: Option<Secret>) -> Self {
        Self {
            channel,
            password,
            normalizer: Mutex::new(Normalizer::new()),
            joined: AtomicBool::new(false),
            out: Mutex::new(None),
            flood: tokio::sync::Mutex::new(FloodGuard::new()),
            status: Mutex::new("starting".to_owned()),
            state_now: tokio::sync::Notify::new(),
            playlist_requested: Mutex::new(None),
            metrics: Mutex::new(ConnectionMetrics::default()),
            cooldown_until: Mutex::new(None),
        }
    }

    /// Has the connection publish a `channel.state` snapshot at once, outside the
    /// coalescing interval.
    pub(crate) fn request_state(&self) {
        self.state_now.notify_one();
    }

    fn lock_normalizer(&self) -> std::sync::MutexGuard<'_, Normalizer> {
        self.normalizer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of the channel state.
    pub(crate) fn snapshot(&self) -> ChannelState {
        self.lock_normalizer().state().clone()
    }

    /// Runs `f` on the channel state without copying it.
    pub(crate) fn with_state<T>(&self, f: impl FnOnce(&ChannelState) -> T) -> T {
        f(self.lock_normalizer().state())
    }

    /// The channel antiflood parameters when they apply to us (rank < 2).
    pub(crate) fn antiflood(&self) -> Option<Params> {
        self.with_state(|s| {
            (s.options.chat_antiflood && s.my_rank < 2.0)
                .then(|| Params::from_channel(&s.options.chat_antiflood_params))
        })
    }

    /// Takes the pending server cooldown, if any: the instant before which no chat may go.
    pub(crate) fn take_cooldown(&self) -> Option<Instant> {
        self.cooldown_until.lock().ok().and_then(|mut c| c.take())
    }

    /// The connection counters so far.
    pub(crate) fn metrics(&self) -> ConnectionMetrics {
        self.metrics.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn count(&self, f: impl FnOnce(&mut ConnectionMetrics)) {
        if let Ok(mut m) = self.metrics.lock() {
            f(&mut m);
        }
    }

    /// Whether the session is in its channel now.
    pub(crate) fn is_joined(&self) -> bool {
        self.joined.load(Ordering::Acquire)
    }

    /// What the session is doing, for health.
    pub(crate) fn status(&self) -> String {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn set_status(&self, status: impl Into<String>) {
        if let Ok(mut s) = self.status.lock() {
            *s = status.into();
        }
    }

    /// Queues a frame on the live connection.
    pub(crate) fn send(&self, frame: &Frame) -> Result<(), CytubeError> {
        let out = self.out.lock().map_err(|_| self.not_connected())?;
        match out.as_ref() {
            Some(tx) if self.is_joined() => {
                tx.send(frame.encode()).map_err(|_| self.not_connected())
            }
            _ => Err(self.not_connected()),
        }
    }

    fn not_connected(&self) -> CytubeError {
        CytubeError::NotConnected(self.channel.clone())
    }

    fn detach(&self) {
        self.joined.store(false, Ordering::Release);
        if let Ok(mut out) = self.out.lock() {
            *out = None;
        }
    }

    /// Connects, runs and reconnects until shutdown or a permanent error.
    pub(crate) async fn run(
        self: Arc<Self>,
        settings: Arc<Settings>,
        ctx: PlatformContext,
    ) -> Result<(), CytubeError> {
        let mut backoff = Backoff::new(settings.config.reconnect.clone());
        loop {
            if ctx.is_shutting_down() {
                return Ok(());
            }
            self.count(|m| m.attempts += 1);
            let result = self.connect_once(&settings, &ctx).await;
            let reached_channel = self.is_joined();
            self.detach();
            let error = match result {
                Ok(End::Shutdown) => {
                    self.set_status("stopped");
                    return Ok(());
                }
                Err(e) => e,
            };
            self.count(|m| *m.drops.entry(error.cause().to_owned()).or_default() += 1);
            let reason = format!("#{}: {error}", self.channel);
            if let Err(e) = ctx.connection(false, &reason) {
                tracing::debug!(error = %e, "could not publish connection.down");
            }
            if !error.is_transient() {
                tracing::error!(channel = %self.channel, %error, "CyTube session stopped; not reconnecting");
                self.set_status(format!("stopped: {error}"));
                return Err(error);
            }
            if reached_channel {
                // The last connection worked: start the backoff over.
                backoff.reset();
            }
            let Some(delay) = backoff.next_delay() else {
                self.set_status(format!("gave up: {error}"));
                return Err(error);
            };
            let delay = delay.max(error.retry_after().unwrap_or_default());
            tracing::warn!(channel = %self.channel, %error, delay_ms = delay.as_millis() as u64, "CyTube connection lost; reconnecting");
            self.set_status(format!("reconnecting: {error}"));
            tokio::select! {
                _ = sleep(delay) => {}
                _ = ctx.shutdown_requested() => return Ok(()),
            }
        }
    }

    async fn url(&self, settings: &Settings) -> Result<String, CytubeError> {
        let server = settings.config.server.trim();
        if server.starts_with("ws://") || server.starts_with("wss://") {
            websocket_url(server)
        } else {
            discover(
                &settings.http,
                server,
                &self.channel,
                settings.config.timeout_duration(),
            )
            .await
        }
    }

    async fn connect_once(
        &self,
        settings: &Settings,
        ctx: &PlatformContext,
    ) -> Result<End, CytubeError> {
        let limit = settings.config.timeout_duration();
        self.set_status("connecting");
        let url = tokio::select! {
            url = self.url(settings) => url?,
            _ = ctx.shutdown_requested() => return Ok(End::Shutdown),
        };
        // CyTube's per-IP connect bucket, shared by every session in this process.
        let wait = crate::connect_limit::reserve(&url);
        if !wait.is_zero() {
            self.set_status(format!("waiting {}s for a connect slot", wait.as_secs()));
            tracing::info!(channel = %self.channel, wait_ms = wait.as_millis() as u64, "holding the connect back for CyTube's per-IP limit");
            tokio::select! {
                _ = sleep(wait) => {}
                _ = ctx.shutdown_requested() => return Ok(End::Shutdown),
            }
            self.set_status("connecting");
        }
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| CytubeError::Config(format!("{url}: {e}")))?;
        if let Some(cookie) = &settings.config.auth_cookie {
            let value = HeaderValue::from_str(&format!("auth={}", cookie.expose()))
                .map_err(|_| CytubeError::Config("the auth cookie is not a valid header".into()))?;
            request.headers_mut().insert("Cookie", value);
        }
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(WS_MAX_MESSAGE))
            .max_frame_size(Some(WS_MAX_MESSAGE));
        let connector = tokio_tungstenite::Connector::Rustls(settings.tls.clone());
        let connect = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(ws_config),
            true,
            Some(connector),
        );
        let (ws, _) = tokio::select! {
            r = timeout(limit, connect) => r
                .map_err(|_| CytubeError::Transport(format!("connecting to {url} timed out")))?
                .map_err(|e| CytubeError::Transport(format!("{url}: {e}")))?,
            _ = ctx.shutdown_requested() => return Ok(End::Shutdown),
        };
        let (mut sink, mut stream) = ws.split();
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let mut conn = Conn::new(self, settings, ctx);
        let mut deadline = Instant::now() + limit;

        loop {
            let mut out = std::mem::take(&mut conn.outgoing);
            for text in out.drain(..) {
                sink.send(Message::Text(text.into()))
                    .await
                    .map_err(ws_error)?;
            }
            if let Some(end) = conn.finished.take() {
                let _ = sink.send(Message::Close(None)).await;
                return end;
            }
            if conn.connected && !conn.attached {
                conn.attached = true;
                if let Ok(mut slot) = self.out.lock() {
                    *slot = Some(tx.clone());
                }
            }
            tokio::select! {
                msg = stream.next() => {
                    match msg {
                        None => return Err(CytubeError::Closed { code: 1006 }),
                        Some(Err(e)) => return Err(ws_error(e)),
                        Some(Ok(Message::Text(text))) => {
                            conn.on_text(text.as_str());
                            if let Some(open) = &conn.open {
                                deadline = Instant::now() + open.dead_after();
                            }
                        }
                        Some(Ok(Message::Close(frame))) => {
                            let code = frame.map_or(1005, |f| u16::from(f.code));
                            return Err(CytubeError::Closed { code });
                        }
                        Some(Ok(Message::Binary(data))) => {
                            tracing::warn!(channel = %self.channel, len = data.len(), "binary frame ignored; CyTube sends text only");
                        }
                        Some(Ok(_)) => {}
                    }
                }
                Some(text) = rx.recv() => {
                    sink.send(Message::Text(text.into())).await.map_err(ws_error)?;
                }
                _ = sleep_until(conn.state_due.unwrap_or(deadline)), if conn.state_due.is_some() => {
                    conn.publish_state();
                }
                _ = self.state_now.notified(), if conn.phase == Phase::Joined => {
                    conn.publish_state();
                }
                _ = sleep_until(deadline) => {
                    return Err(match &conn.open {
                        Some(open) if conn.connected => CytubeError::DeadLink(open.dead_after()),
                        _ => CytubeError::Handshake(format!("no answer within {limit:?} during {}", conn.phase)),
                    });
                }
                _ = ctx.shutdown_requested() => {
                    let _ = sink.send(Message::Close(None)).await;
                    return Ok(End::Shutdown);
                }
            }
            if let Some(login_deadline) = conn.login_deadline
                && Instant::now() >= login_deadline
            {
                return Err(CytubeError::Handshake(format!(
                    "no login answer within {limit:?}"
                )));
            }
        }
    }
}

/// Replaces a non-empty `password` in a `channelOpts` object with `true` ("the channel has
/// a password"), keeping `false`/`""` as they are.
fn redact_channel_password(opts: &mut Value) {
    if let Some(pw) = opts.get_mut("password")
        && pw.as_str().is_some_and(|p| !p.is_empty())
    {
        *pw = Value::Bool(true);
    }
}

fn ws_error(e: WsError) -> CytubeError {
    match e {
        WsError::ConnectionClosed | WsError::AlreadyClosed => CytubeError::Closed { code: 1005 },
        other => CytubeError::Transport(other.to_string()),
    }
}

trait DeadAfter {
    fn dead_after(&self) -> Duration;
}

impl DeadAfter for OpenInfo {
    fn dead_after(&self) -> Duration {
        Duration::from_millis(self.ping_interval.saturating_add(self.ping_timeout))
    }
}

/// Where a connection is in the session's script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    Connecting,
    LoggingIn,
    Joining,
    Joined,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Handshake => "the Engine.IO handshake",
            Phase::Connecting => "the Socket.IO connect",
            Phase::LoggingIn => "login",
            Phase::Joining => "joining the channel",
            Phase::Joined => "the session",
        })
    }
}

/// One connection's protocol state machine; pure apart from publishing.
struct Conn<'a> {
    session: &'a Session,
    settings: &'a Settings,
    ctx: &'a PlatformContext,
    phase: Phase,
    open: Option<OpenInfo>,
    connected: bool,
    attached: bool,
    kicked: Option<String>,
    outgoing: Vec<String>,
    finished: Option<Result<End, CytubeError>>,
    login_deadline: Option<Instant>,
    /// When the last `channel.state` snapshot went out.
    last_state: Option<Instant>,
    /// When the next (coalesced) snapshot is due, if the state changed since the last.
    state_due: Option<Instant>,
}

impl<'a> Conn<'a> {
    fn new(session: &'a Session, settings: &'a Settings, ctx: &'a PlatformContext) -> Self {
        session.lock_normalizer().reset();
        Self {
            session,
            settings,
            ctx,
            phase: Phase::Handshake,
            open: None,
            connected: false,
            attached: false,
            kicked: None,
            outgoing: Vec::new(),
            finished: None,
            login_deadline: None,
            last_state: None,
            state_due: None,
        }
    }

    /// Publishes the whole channel state on `channel.state`.
    fn publish_state(&mut self) {
        self.state_due = None;
        self.last_state = Some(Instant::now());
        let payload = snapshot_payload(self.session.lock_normalizer().state());
        let source = self.ctx.source(Some(&self.session.channel));
        match Event::platform(source, "channel.state", payload) {
            Ok(event) => {
                if let Err(error) = self.ctx.publish(event) {
                    tracing::debug!(%error, "publish failed");
                }
            }
            Err(error) => tracing::warn!(%error, "channel.state not published"),
        }
    }

    /// The state changed: publish a snapshot now if none went out within the interval
    /// (leading edge), else once the interval has passed (trailing edge), so a burst of
    /// playlist changes costs at most one snapshot per interval.
    fn state_changed(&mut self) {
        if self.state_due.is_some() {
            return;
        }
        let now = Instant::now();
        let interval = self.settings.config.state_interval_duration();
        match self.last_state {
            Some(last) if now < last + interval => self.state_due = Some(last + interval),
            _ => self.publish_state(),
        }
    }

    fn send(&mut self, frame: Frame) {
        self.outgoing.push(frame.encode());
    }

    fn fail(&mut self, error: CytubeError) {
        if self.finished.is_none() {
            self.finished = Some(Err(error));
        }
    }

    fn on_text(&mut self, text: &str) {
        let frame = match Frame::decode(text) {
            Ok(frame) => frame,
            Err(error) => {
                let shown: String = text.chars().take(120).collect();
                tracing::warn!(channel = %self.session.channel, %error, frame = %shown, "undecodable frame ignored");
                return;
            }
        };
        match frame {
            Frame::Open(info) => {
                if self.phase == Phase::Handshake {
                    self.open = Some(info);
                    self.phase = Phase::Connecting;
                    self.send(Frame::connect());
                }
            }
            Frame::Ping(data) => self.send(Frame::Pong(data)),
            Frame::Close => self.fail(CytubeError::Closed { code: 1000 }),
            Frame::Message(packet) => self.on_packet(packet),
            Frame::Pong(_) | Frame::Upgrade | Frame::Noop => {}
        }
    }

    fn on_packet(&mut self, packet: SocketPacket) {
        match packet {
            SocketPacket::Connect { namespace, .. } if namespace == "/" => {
                if self.phase == Phase::Connecting {
                    self.connected = true;
                    self.session.count(|m| {
                        if m.connects > 0 {
                            m.reconnects += 1;
                        }
                        m.connects += 1;
                    });
                    self.session.set_status("logging in");
                    if let Err(e) = self.ctx.connection(true, "connected") {
                        tracing::debug!(error = %e, "could not publish connection.up");
                    }
                    self.start_session();
                }
            }
            SocketPacket::ConnectError { message, .. } => {
                self.fail(CytubeError::ConnectRefused(message));
            }
            SocketPacket::Disconnect { .. } => {
                let error = match self.kicked.take() {
                    Some(reason) => CytubeError::Kicked(reason),
                    None => CytubeError::Transport("the server disconnected the socket".into()),
                };
                self.fail(error);
            }
            SocketPacket::Event {
                namespace,
                name,
                args,
                ..
            } if namespace == "/" => self.on_event(&name, args),
            other => tracing::debug!(?other, "socket packet ignored"),
        }
    }

    /// Replays the desired state: login first (and wait for its answer), then join.
    fn start_session(&mut self) {
        let config = &self.settings.config;
        match (&config.user, &config.password, &config.auth_cookie) {
            (Some(user), Some(pw), _) => {
                self.send(Frame::event(
                    "login",
                    Some(json!({ "name": user, "pw": pw.expose() })),
                ));
                self.await_login();
            }
            // With the cookie the server sends `login` on its own.
            (_, None, Some(_)) => self.await_login(),
            (Some(user), None, None) => {
                self.send(Frame::event("login", Some(json!({ "name": user }))));
                self.await_login();
            }
            (None, _, _) => self.join(),
        }
    }

    fn await_login(&mut self) {
        self.phase = Phase::LoggingIn;
        self.login_deadline = Some(Instant::now() + self.settings.config.timeout_duration());
    }

    fn join(&mut self) {
        self.phase = Phase::Joining;
        self.login_deadline = None;
        self.session.set_status("joining");
        let mut arg = json!({ "name": self.session.channel });
        if let Some(pw) = &self.session.password {
            arg["pw"] = Value::String(pw.expose().to_owned());
        }
        self.send(Frame::event("joinChannel", Some(arg)));
        self.session.lock_normalizer().join_started();
    }

    fn on_event(&mut self, name: &str, mut args: Vec<Value>) {
        if name == "channelOpts" {
            // CyTube broadcasts the channel password in clear; it is a secret of our
            // config, so it stops here, before the state, the bus and any log.
            for arg in &mut args {
                redact_channel_password(arg);
            }
        }
        let event = match ServerEvent::decode(name, &args) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(channel = %self.session.channel, %error, "malformed event published raw");
                let raw = Normalized {
                    kind: format!("raw.{}", crate::normalize::topic_token(name)),
                    payload: botkit::Payload::Raw {
                        name: name.to_owned(),
                    },
                    priority: botkit::Priority::Normal,
                };
                self.publish(raw, name, args);
                return;
            }
        };
        self.session_rules(&event);
        let normalized = self.session.lock_normalizer().handle(&event);
        let mut state_changed = self.phase == Phase::Joined && changes_state(&event);
        if self.phase == Phase::Joining && matches!(event, ServerEvent::UserList(_)) {
            self.phase = Phase::Joined;
            self.session.joined.store(true, Ordering::Release);
            self.session.set_status("joined");
            self.session.count(|m| m.joins += 1);
            tracing::info!(channel = %self.session.channel, "joined the CyTube channel");
            // The first snapshot, right after `channel.joined`.
            state_changed = true;
        }
        let mut args = Some(args);
        let count = normalized.len();
        for (i, n) in normalized.into_iter().enumerate() {
            let args = if i + 1 == count {
                args.take().unwrap_or_default()
            } else {
                args.clone().unwrap_or_default()
            };
            self.publish(n, name, args);
        }
        if state_changed {
            self.state_changed();
        }
    }

    /// What the session itself does about an event, beyond publishing it.
    fn session_rules(&mut self, event: &ServerEvent) {
        let channel = &self.session.channel;
        match event {
            ServerEvent::Login(reply) if self.phase == Phase::LoggingIn => {
                if reply.success {
                    self.join();
                } else {
                    let error = reply
                        .error
                        .clone()
                        .unwrap_or_else(|| "no reason given".into());
                    self.fail(CytubeError::LoginFailed(error));
                }
            }
            ServerEvent::Rank(rank)
                if self.phase == Phase::LoggingIn
                    && *rank < 0.0
                    && self.settings.config.password.is_none()
                    && self.settings.config.auth_cookie.is_some() =>
            {
                self.fail(CytubeError::LoginFailed(
                    "the auth cookie was not accepted (expired, or the password changed); log in again to get a new one".into(),
                ));
            }
            ServerEvent::NeedPassword(_) => self.fail(CytubeError::NeedPassword {
                channel: channel.clone(),
                wrong: self.session.password.is_some(),
            }),
            ServerEvent::Kick(kick) => {
                tracing::warn!(%channel, reason = %kick.reason, "kicked by the server");
                self.kicked = Some(kick.reason.clone());
            }
            ServerEvent::Cooldown(ms) => {
                tracing::warn!(%channel, ms, "the server dropped a chat message (cooldown); pausing chat and pacing at the sustained rate");
                let pause = Duration::try_from_secs_f64(ms.max(0.0) / 1000.0)
                    .unwrap_or(Duration::from_secs(1))
                    .min(Duration::from_secs(60));
                if let Ok(mut until) = self.session.cooldown_until.lock() {
                    *until = Some(Instant::now() + pause);
                }
            }
            ServerEvent::ErrorMsg(e) => {
                tracing::warn!(%channel, msg = %e.msg, "errorMsg from CyTube")
            }
            ServerEvent::Noflood(n) => {
                tracing::warn!(%channel, msg = %n.msg, "noflood from CyTube")
            }
            ServerEvent::QueueFail(q) => {
                tracing::info!(%channel, msg = %q.msg, "queueFail from CyTube")
            }
            _ => {}
        }
    }

    fn publish(&self, n: Normalized, name: &str, args: Vec<Value>) {
        let mut frame = Vec::with_capacity(args.len() + 1);
        frame.push(Value::String(name.to_owned()));
        frame.extend(args);
        let source = self.ctx.source(Some(&self.session.channel));
        let event = match Event::platform(source, &n.kind, n.payload) {
            Ok(event) => event
                .with_priority(n.priority)
                .with_raw(Raw::Json(Value::Array(frame))),
            Err(error) => {
                tracing::warn!(%error, kind = %n.kind, "event not published");
                return;
            }
        };
        if let Err(error) = self.ctx.publish(event) {
            tracing::debug!(%error, "publish failed");
        }
    }
}
