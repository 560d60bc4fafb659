//! The EventSub session against a local fake EventSub WebSocket server on 127.0.0.1.
//!
//! The server sends the example frames from `tests/data/eventsub/` (patching only session
//! ids, keepalive seconds and reconnect URLs), and a fake Helix records every
//! subscription request and answers like the twitch-cli mock: the 202 body of
//! `create_subscription_websocket.twitch-cli.json`, or the 400 of
//! `create_subscription_channel.chat.message_rejected.twitch-cli.json`.
//!
//! These run on the real clock: a paused clock jumps to the next timer whenever every
//! task waits on socket I/O, which would fire the welcome and keepalive deadlines in the
//! middle of a loopback handshake. Timeouts are configured down to a second instead.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod support;

use async_trait::async_trait;
use botkit::backoff::BackoffPolicy;
use botkit::bus::{Bus, Subscriber, Subscription};
use botkit::event::{Event, Payload};
use botkit::{Platform, PlatformContext, PlatformError};
use botkit_twitch::eventsub::{
    CreatedSubscription, EventSubApi, EventSubConfig, EventSubError, EventSubSession,
    SubscriptionRequest,
};
use botkit_twitch::{TwitchConfig, TwitchError, TwitchPlatform};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

const WAIT: Duration = Duration::from_secs(10);
const BROADCASTER: &str = "1971641";
const BOT: &str = "2914196";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/data/eventsub/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fake Helix that records subscription requests.
#[derive(Default)]
struct FakeHelix {
    requests: Mutex<Vec<SubscriptionRequest>>,
    refuse: Mutex<HashSet<String>>,
    delay: Mutex<Duration>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// The users the fake knows, login to id.
    users: Mutex<HashMap<String, String>>,
    /// Every user id lookup, as the logins asked for.
    lookups: Mutex<Vec<Vec<String>>>,
    /// How many lookups fail as if Helix were unreachable before one succeeds.
    lookup_failures: AtomicUsize,
}

impl FakeHelix {
    fn refusing(kinds: &[&str]) -> Self {
        let helix = Self::default();
        helix
            .refuse
            .lock()
            .unwrap()
            .extend(kinds.iter().map(|k| (*k).to_owned()));
        helix
    }

    fn knowing(users: &[(&str, &str)]) -> Self {
        let helix = Self::default();
        helix.users.lock().unwrap().extend(
            users
                .iter()
                .map(|(login, id)| ((*login).to_owned(), (*id).to_owned())),
        );
        helix
    }

    fn lookups(&self) -> Vec<Vec<String>> {
        self.lookups.lock().unwrap().clone()
    }

    fn requests(&self) -> Vec<SubscriptionRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until `n` requests were made in all.
    async fn wait_requests(&self, n: usize) -> Vec<SubscriptionRequest> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} subscription requests arrived",
                requests.len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

#[async_trait]
impl EventSubApi for FakeHelix {
    async fn create_subscription(
        &self,
        request: &SubscriptionRequest,
    ) -> Result<CreatedSubscription, TwitchError> {
        let n = {
            let mut requests = self.requests.lock().unwrap();
            requests.push(request.clone());
            requests.len()
        };
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let delay = *self.delay.lock().unwrap();
        tokio::time::sleep(delay).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.refuse.lock().unwrap().contains(&request.kind) {
            let exchange =
                fixture("create_subscription_channel.chat.message_rejected.twitch-cli.json");
            let body = &exchange["response"];
            return Err(TwitchError::Protocol(format!(
                "Helix answered {} {}: {}",
                exchange["status"],
                body["error"].as_str().unwrap_or(""),
                body["message"].as_str().unwrap_or("")
            )));
        }
        let exchange = fixture("create_subscription_websocket.twitch-cli.json");
        let mut created: CreatedSubscription =
            serde_json::from_value(exchange["response"]["data"][0].clone()).unwrap();
        created.id = format!("{}-{n}", created.id);
        created.kind = request.kind.clone();
        created.version = request.version.clone();
        Ok(created)
    }

    async fn delete_subscription(&self, _id: &str) -> Result<(), TwitchError> {
        Ok(())
    }

    async fn user_ids(&self, logins: &[String]) -> Result<HashMap<String, String>, TwitchError> {
        self.lookups.lock().unwrap().push(logins.to_vec());
        let fail = self
            .lookup_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(TwitchError::Connect {
                url: "http://127.0.0.1:9/helix/users".to_owned(),
                reason: "connection refused".to_owned(),
            });
        }
        let users = self.users.lock().unwrap();
        Ok(logins
            .iter()
            .filter_map(|login| Some((login.clone(), users.get(login)?.clone())))
            .collect())
    }
}

/// An `EventSubApi` that only creates subscriptions, as written before user id lookups
/// existed: it keeps the trait's default `user_ids`.
struct NoLookup;

#[async_trait]
impl EventSubApi for NoLookup {
    async fn create_subscription(
        &self,
        _request: &SubscriptionRequest,
    ) -> Result<CreatedSubscription, TwitchError> {
        Err(TwitchError::Protocol("not used".to_owned()))
    }

    async fn delete_subscription(&self, _id: &str) -> Result<(), TwitchError> {
        Ok(())
    }
}

/// The fake EventSub server.
struct FakeEventSub {
    listener: TcpListener,
}

impl FakeEventSub {
    async fn start() -> Self {
        Self {
            listener: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        }
    }

    fn url(&self) -> String {
        format!("ws://{}/ws", self.listener.local_addr().unwrap())
    }

    async fn accept(&self) -> FakeConn {
        let (tcp, _) = tokio::time::timeout(WAIT, self.listener.accept())
            .await
            .expect("the session connects")
            .unwrap();
        FakeConn {
            ws: tokio_tungstenite::accept_async(tcp).await.unwrap(),
        }
    }

    async fn connects_within(&self, within: Duration) -> bool {
        tokio::time::timeout(within, self.listener.accept())
            .await
            .is_ok()
    }
}

struct FakeConn {
    ws: WebSocketStream<TcpStream>,
}

impl FakeConn {
    async fn send(&mut self, frame: &Value) {
        self.send_text(&frame.to_string()).await;
    }

    async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// `session_welcome.json` with session `id` and keepalive `keepalive` seconds.
    async fn welcome(&mut self, id: &str, keepalive: u64) {
        let mut frame = fixture("session_welcome.json");
        frame["payload"]["session"]["id"] = json!(id);
        frame["payload"]["session"]["keepalive_timeout_seconds"] = json!(keepalive);
        self.send(&frame).await;
    }

    async fn close(&mut self, code: u16, reason: &str) {
        let _ = self
            .ws
            .close(Some(CloseFrame {
                code: code.into(),
                reason: reason.into(),
            }))
            .await;
    }

    /// Reads until the client closes the socket; panics on any text frame, which an
    /// EventSub client must never send.
    async fn closed_by_client(&mut self) {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("the client closes the socket")
            {
                None | Some(Ok(Message::Close(_))) | Some(Err(_)) => return,
                Some(Ok(Message::Text(t))) => panic!("the client sent a text frame: {t}"),
                Some(Ok(_)) => {}
            }
        }
    }

    /// Whether the socket is still open `after` a while (no close from the client).
    async fn still_open_after(&mut self, after: Duration) -> bool {
        match tokio::time::timeout(after, self.ws.next()).await {
            Err(_) => true,
            Ok(Some(Ok(Message::Text(t)))) => panic!("the client sent a text frame: {t}"),
            Ok(_) => false,
        }
    }
}

fn config(url: &str) -> EventSubConfig {
    let mut config = EventSubConfig::enabled(&[BROADCASTER], BOT);
    config.url = url.to_owned();
    config.keepalive_margin_secs = 0;
    config.subscribe_timeout_secs = 5;
    config.welcome_timeout_secs = 5;
    config.handover_timeout_secs = 5;
    config.reconnect = BackoffPolicy::new()
        .with_base(Duration::from_millis(20))
        .with_cap(Duration::from_millis(100))
        .with_jitter(0.0);
    config
}

struct Running {
    session: Arc<EventSubSession>,
    helix: Arc<FakeHelix>,
    events: Subscriber,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), EventSubError>>,
}

fn start(config: EventSubConfig, helix: FakeHelix) -> Running {
    start_with(config, helix, |session| session)
}

/// `start`, with `setup` applied to the session first (e.g. the logins to look up).
fn start_with(
    config: EventSubConfig,
    helix: FakeHelix,
    setup: impl FnOnce(EventSubSession) -> EventSubSession,
) -> Running {
    let helix = Arc::new(helix);
    let session = Arc::new(setup(
        EventSubSession::new("main", config, Arc::clone(&helix) as Arc<dyn EventSubApi>).unwrap(),
    ));
    let bus = Bus::default();
    let events = bus
        .subscribe(Subscription::to("platform.twitch.>"))
        .unwrap();
    let (stop, stop_rx) = watch::channel(false);
    let ctx = PlatformContext::new(bus, "twitch", "main", stop_rx);
    let task = tokio::spawn({
        let session = Arc::clone(&session);
        async move { session.run(&ctx).await }
    });
    Running {
        session,
        helix,
        events,
        stop,
        task,
    }
}

impl Running {
    async fn next_on(&mut self, topic: &str) -> Arc<Event> {
        loop {
            let event = tokio::time::timeout(WAIT, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no {topic} event"))
                .expect("the bus is open");
            if event.topic.as_str() == topic {
                return event;
            }
        }
    }

    /// The next event that is not a session status event.
    async fn next_data(&mut self) -> Arc<Event> {
        loop {
            let event = tokio::time::timeout(WAIT, self.events.recv())
                .await
                .expect("an event")
                .expect("the bus is open");
            if !event
                .topic
                .as_str()
                .starts_with("platform.twitch.eventsub.")
            {
                return event;
            }
        }
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        let result = tokio::time::timeout(WAIT, self.task)
            .await
            .unwrap()
            .unwrap();
        assert!(result.is_ok(), "{result:?}");
    }
}

/// The session's count of active subscriptions once it reaches `n` (or `WAIT` passes): the
/// last answer is recorded a moment after the fake Helix saw its request.
async fn active_after_answers(session: &EventSubSession, n: usize) -> usize {
    let deadline = tokio::time::Instant::now() + WAIT;
    while session.active_count() < n && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    session.active_count()
}

fn chat_message() -> Value {
    fixture("notification_channel.chat.message.json")
}

fn with_message_id(mut frame: Value, id: &str) -> Value {
    frame["metadata"]["message_id"] = json!(id);
    frame
}

#[tokio::test]
async fn welcome_creates_the_subscriptions_then_events_flow() {
    let server = FakeEventSub::start().await;
    let mut bot = start(config(&server.url()), FakeHelix::default());
    let mut conn = server.accept().await;
    conn.welcome("AQoQILE98gtqShGmLD7AM6yJThAB", 10).await;
    bot.next_on("platform.twitch.eventsub.connected").await;

    let requests = bot
        .helix
        .wait_requests(botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len())
        .await;
    assert!(
        bot.helix.lookups().is_empty(),
        "ids in the config are used as they are, with no lookup"
    );
    let kinds: Vec<&str> = requests.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS);
    assert!(
        requests
            .iter()
            .all(|r| r.session_id == "AQoQILE98gtqShGmLD7AM6yJThAB")
    );
    // The chat subscription is the request the docs show, field for field.
    let documented = fixture("create_subscription_request_channel.chat.message.json");
    let body = &documented["body"];
    assert_eq!(requests[0].kind, body["type"]);
    assert_eq!(requests[0].version, body["version"]);
    assert_eq!(requests[0].condition, body["condition"]);
    assert_eq!(requests[0].session_id, body["transport"]["session_id"]);
    assert_eq!(
        requests[4].condition,
        json!({ "broadcaster_user_id": BROADCASTER })
    );

    conn.send(&chat_message()).await;
    let chat = bot.next_data().await;
    assert_eq!(chat.topic.as_str(), "platform.twitch.chat.message");
    let message = chat.payload.chat().unwrap();
    assert_eq!(message.text, "Hi chat cheer100 @streamer Kappa");
    assert_eq!(&*message.user.id, "twitch:4145994");
    assert_eq!(chat.channel(), Some("streamer"));
    assert_eq!(
        active_after_answers(&bot.session, requests.len()).await,
        requests.len()
    );
    assert_eq!(
        bot.session.session_id().as_deref(),
        Some("AQoQILE98gtqShGmLD7AM6yJThAB")
    );
    bot.stop().await;
    conn.closed_by_client().await;
}

#[tokio::test]
async fn a_redelivered_notification_is_published_once() {
    let server = FakeEventSub::start().await;
    let mut bot = start(config(&server.url()), FakeHelix::default());
    let mut conn = server.accept().await;
    conn.welcome("s1", 10).await;
    conn.send(&chat_message()).await;
    conn.send(&chat_message()).await;
    conn.send(&fixture("notification_channel.cheer.twitch-cli.json"))
        .await;
    let first = bot.next_data().await;
    assert_eq!(first.topic.as_str(), "platform.twitch.chat.message");
    let second = bot.next_data().await;
    assert_eq!(
        second.topic.as_str(),
        "platform.twitch.stream.notice",
        "the repeat was dropped"
    );
    bot.stop().await;
}

#[tokio::test]
async fn missing_keepalives_mean_a_new_connection_and_new_subscriptions() {
    let server = FakeEventSub::start().await;
    let mut bot = start(config(&server.url()), FakeHelix::default());
    let n = botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len();
    let mut first = server.accept().await;
    first.welcome("s1", 1).await;
    bot.helix.wait_requests(n).await;
    // One keepalive in time keeps the link…
    tokio::time::sleep(Duration::from_millis(600)).await;
    first
        .send(&fixture("session_keepalive.twitch-cli.json"))
        .await;
    assert!(!server.connects_within(Duration::from_millis(700)).await);
    // …then silence: the session gives up on it and starts afresh.
    let down = bot.next_on("platform.twitch.eventsub.disconnected").await;
    match &down.payload {
        Payload::ConnectionDown { reason } => assert!(reason.contains("keepalive"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let mut second = server.accept().await;
    second.welcome("s2", 10).await;
    let requests = bot.helix.wait_requests(2 * n).await;
    assert!(requests[n..].iter().all(|r| r.session_id == "s2"));
    assert_eq!(bot.session.desired().len(), n, "desired state kept");
    bot.stop().await;
}

#[tokio::test]
async fn session_reconnect_hands_over_without_resubscribing_or_losing_events() {
    let server = FakeEventSub::start().await;
    let mut bot = start(config(&server.url()), FakeHelix::default());
    let n = botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len();
    let mut old = server.accept().await;
    old.welcome("81a4063f_5a9a0ab2", 10).await;
    bot.helix.wait_requests(n).await;

    let mut reconnect = fixture("session_reconnect.twitch-cli.json");
    reconnect["payload"]["session"]["reconnect_url"] = json!(format!(
        "{}?reconnect_id=ODFhNDA2M2ZfNWE5YTBhYjI",
        server.url()
    ));
    old.send(&reconnect).await;
    let mut new = server.accept().await;

    // Until the new welcome, the old socket stays open and its events still count.
    assert!(old.still_open_after(Duration::from_millis(200)).await);
    old.send(&with_message_id(chat_message(), "before-switch"))
        .await;
    let before = bot.next_data().await;
    assert_eq!(before.topic.as_str(), "platform.twitch.chat.message");

    new.welcome("81a4063f_new", 10).await;
    old.closed_by_client().await;
    assert_eq!(bot.session.session_id().as_deref(), Some("81a4063f_new"));
    // The same notification again on the new socket (Twitch is unsure it arrived) is
    // not published twice; the next one is.
    new.send(&with_message_id(chat_message(), "before-switch"))
        .await;
    new.send(&fixture("notification_channel.ban.twitch-cli.json"))
        .await;
    let after = bot.next_data().await;
    assert_eq!(after.topic.as_str(), "platform.twitch.mod.user_banned");

    assert!(new.still_open_after(Duration::from_millis(300)).await);
    assert_eq!(
        bot.helix.requests().len(),
        n,
        "no subscription created again"
    );
    bot.stop().await;
}

#[tokio::test]
async fn the_old_socket_closing_early_does_not_break_the_handover() {
    let server = FakeEventSub::start().await;
    let mut bot = start(config(&server.url()), FakeHelix::default());
    let n = botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len();
    let mut old = server.accept().await;
    old.welcome("s1", 10).await;
    bot.helix.wait_requests(n).await;
    let mut reconnect = fixture("session_reconnect.json");
    reconnect["payload"]["session"]["reconnect_url"] = json!(server.url());
    old.send(&reconnect).await;
    let mut new = server.accept().await;
    old.close(4004, "client reconnect grace time expired").await;
    assert!(new.still_open_after(Duration::from_millis(200)).await);
    new.welcome("s2", 10).await;
    new.send(&chat_message()).await;
    assert_eq!(
        bot.next_data().await.topic.as_str(),
        "platform.twitch.chat.message"
    );
    assert_eq!(bot.session.session_id().as_deref(), Some("s2"));
    assert_eq!(
        bot.helix.requests().len(),
        n,
        "no subscription created again"
    );
    bot.stop().await;
}

#[tokio::test]
async fn revocation_drops_the_subscription_from_desired_state() {
    let server = FakeEventSub::start().await;
    let mut bot = start(config(&server.url()), FakeHelix::default());
    let n = botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len();
    let mut first = server.accept().await;
    first.welcome("s1", 10).await;
    bot.helix.wait_requests(n).await;

    // The real frame shape (revocation.json), aimed at our channel.ban subscription.
    let mut revocation = fixture("revocation.json");
    revocation["metadata"]["subscription_type"] = json!("channel.ban");
    revocation["payload"]["subscription"]["type"] = json!("channel.ban");
    revocation["payload"]["subscription"]["condition"] =
        json!({ "broadcaster_user_id": BROADCASTER });
    first.send(&revocation).await;
    let revoked = bot.next_on("platform.twitch.eventsub.revoked").await;
    match &revoked.payload {
        Payload::Custom { data, .. } => {
            assert_eq!(data["type"], "channel.ban");
            assert_eq!(data["status"], "authorization_revoked");
        }
        other => panic!("{other:?}"),
    }
    // The twitch-cli mock's form: a notification with a revoked status and no event.
    let mut mock = fixture("revoked_subscription_as_sent_by_twitch-cli.json");
    mock["payload"]["subscription"]["condition"] = json!({ "broadcaster_user_id": BROADCASTER });
    mock["payload"]["subscription"]["type"] = json!("channel.unban");
    first.send(&mock).await;
    bot.next_on("platform.twitch.eventsub.revoked").await;
    let desired: Vec<String> = bot.session.desired().into_iter().map(|s| s.kind).collect();
    assert!(!desired.contains(&"channel.ban".to_owned()), "{desired:?}");
    assert!(
        !desired.contains(&"channel.unban".to_owned()),
        "{desired:?}"
    );

    // A fresh session creates only what is still desired.
    first.close(4006, "network error").await;
    let mut second = server.accept().await;
    second.welcome("s2", 10).await;
    let requests = bot.helix.wait_requests(n + n - 2).await;
    let again: Vec<&str> = requests[n..].iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(again.len(), n - 2);
    assert!(!again.contains(&"channel.ban") && !again.contains(&"channel.unban"));
    bot.stop().await;
}

#[tokio::test]
async fn each_close_code_is_its_own_error_and_the_session_comes_back() {
    let server = FakeEventSub::start().await;
    let mut bot = start(config(&server.url()), FakeHelix::default());
    let n = botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len();
    let closes = fixture("close_frames.twitch-cli.json");
    let reason_of = |code: u16| {
        closes
            .as_array()
            .and_then(|all| all.iter().find(|c| c["code"] == code))
            .and_then(|c| c["reason"].as_str())
            .unwrap_or("closed")
            .to_owned()
    };
    let expected = [
        (4000, "internal server error"),
        (4001, "bug in botkit-twitch"),
        (4002, "ping"),
        (4003, "no subscription was created"),
        (4004, "did not move to the session_reconnect URL"),
        (4005, "network timeout"),
        (4006, "network error"),
        (4007, "reconnect URL was stale"),
    ];
    let mut total = 0;
    for (i, (code, says)) in expected.into_iter().enumerate() {
        let mut conn = server.accept().await;
        conn.welcome(&format!("s{i}"), 10).await;
        total += n;
        bot.helix.wait_requests(total).await;
        conn.close(code, &reason_of(code)).await;
        let down = bot.next_on("platform.twitch.eventsub.disconnected").await;
        match &down.payload {
            Payload::ConnectionDown { reason } => {
                assert!(reason.contains(&format!("code {code}")), "{reason}");
                assert!(reason.contains(says), "{code}: {reason}");
            }
            other => panic!("{other:?}"),
        }
    }
    let mut last = server.accept().await;
    last.welcome("last", 10).await;
    bot.helix.wait_requests(total + n).await;
    bot.stop().await;
}

#[tokio::test]
async fn after_4003_the_subscriptions_are_created_all_at_once() {
    let server = FakeEventSub::start().await;
    let helix = FakeHelix::default();
    *helix.delay.lock().unwrap() = Duration::from_millis(20);
    let bot = start(config(&server.url()), helix);
    let n = botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len();
    let mut first = server.accept().await;
    first.welcome("s1", 10).await;
    bot.helix.wait_requests(n).await;
    assert_eq!(bot.helix.max_in_flight.load(Ordering::SeqCst), 1);
    first.close(4003, "connection unused").await;
    let mut second = server.accept().await;
    second.welcome("s2", 10).await;
    bot.helix.wait_requests(2 * n).await;
    assert!(bot.helix.max_in_flight.load(Ordering::SeqCst) > 1);
    bot.stop().await;
}

#[tokio::test]
async fn malformed_and_unknown_frames_are_skipped() {
    let server = FakeEventSub::start().await;
    let mut bot = start(config(&server.url()), FakeHelix::default());
    let mut conn = server.accept().await;
    conn.welcome("s1", 10).await;
    for junk in [
        "{",
        "[]",
        "null",
        "\u{0}\u{1}binary-ish",
        r#"{"metadata":{"message_id":"x","message_type":"notification","message_timestamp":"x"},"payload":{}}"#,
        r#"{"metadata":{"message_id":"y","message_type":"session_party","message_timestamp":"x"},"payload":{}}"#,
        r#"{"metadata":{"message_type":"notification"}}"#,
    ] {
        conn.send_text(junk).await;
    }
    // A known type with an event of the wrong shape is published raw, not dropped.
    let mut odd = chat_message();
    odd["payload"]["event"] = json!({ "message_id": 7 });
    odd["metadata"]["message_id"] = json!("odd");
    conn.send(&odd).await;
    let raw = bot.next_data().await;
    assert_eq!(
        raw.topic.as_str(),
        "platform.twitch.raw.eventsub.channel.chat.message"
    );
    conn.send(&chat_message()).await;
    let chat = bot.next_data().await;
    assert_eq!(chat.topic.as_str(), "platform.twitch.chat.message");
    assert_eq!(
        bot.session.session_id().as_deref(),
        Some("s1"),
        "same session"
    );
    assert!(!server.connects_within(Duration::from_millis(100)).await);
    bot.stop().await;
}

#[tokio::test]
async fn an_oversized_frame_ends_the_connection_not_the_process() {
    let server = FakeEventSub::start().await;
    let mut bot = start(config(&server.url()), FakeHelix::default());
    let mut first = server.accept().await;
    first.welcome("s1", 10).await;
    first.send_text(&"x".repeat(2 << 20)).await;
    let down = bot.next_on("platform.twitch.eventsub.disconnected").await;
    match &down.payload {
        Payload::ConnectionDown { reason } => assert!(reason.contains("too long"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let mut second = server.accept().await;
    second.welcome("s2", 10).await;
    second.send(&chat_message()).await;
    assert_eq!(
        bot.next_data().await.topic.as_str(),
        "platform.twitch.chat.message"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_refused_subscription_is_reported_and_the_rest_carry_on() {
    let server = FakeEventSub::start().await;
    let mut bot = start(
        config(&server.url()),
        FakeHelix::refusing(&["channel.chat.message"]),
    );
    let mut conn = server.accept().await;
    conn.welcome("81a4063f_5a9a0ab2", 10).await;
    let failed = bot
        .next_on("platform.twitch.eventsub.subscription_failed")
        .await;
    match &failed.payload {
        Payload::Custom { data, .. } => {
            assert_eq!(data["type"], "channel.chat.message");
            let error = data["error"].as_str().unwrap();
            assert!(
                error.contains(
                    "The combination of values in the type and version fields is not valid"
                ),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }
    let n = botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len();
    bot.helix.wait_requests(n).await;
    conn.send(&fixture("notification_channel.ban.twitch-cli.json"))
        .await;
    assert_eq!(
        bot.next_data().await.topic.as_str(),
        "platform.twitch.mod.user_banned"
    );
    assert_eq!(active_after_answers(&bot.session, n - 1).await, n - 1);
    bot.stop().await;
}

#[tokio::test]
async fn every_subscription_refused_stops_with_a_clear_error() {
    let server = FakeEventSub::start().await;
    let mut config = config(&server.url());
    config.subscriptions = vec!["channel.chat.message".to_owned()];
    let bot = start(config, FakeHelix::refusing(&["channel.chat.message"]));
    let mut conn = server.accept().await;
    conn.welcome("s1", 10).await;
    let result = tokio::time::timeout(WAIT, bot.task).await.unwrap().unwrap();
    match result {
        Err(e @ EventSubError::SubscriptionsRefused(_)) => {
            let text = e.to_string();
            assert!(text.contains("user:read:chat"), "{text}");
            assert!(text.contains("not valid"), "{text}");
        }
        other => panic!("expected SubscriptionsRefused, got {other:?}"),
    }
    conn.closed_by_client().await;
    assert!(!server.connects_within(Duration::from_millis(300)).await);
}

// ---- IRC and EventSub side by side -------------------------------------------------

/// Runs `platform` on `bus` until the returned sender says stop.
fn run_platform(
    platform: &Arc<TwitchPlatform>,
    bus: Bus,
) -> (watch::Sender<bool>, JoinHandle<Result<(), PlatformError>>) {
    let (stop, stop_rx) = watch::channel(false);
    let ctx = PlatformContext::new(bus, "twitch", "main", stop_rx);
    let platform = Arc::clone(platform);
    (stop, tokio::spawn(async move { platform.run(ctx).await }))
}

/// The subscription requests the fake Helix server got, once there are `n` (or `WAIT` passed).
async fn subscription_requests(helix: &support::Fake, n: usize) -> Vec<support::Recorded> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let requests = helix.requests_to("POST /helix/eventsub/subscriptions");
        if requests.len() >= n || tokio::time::Instant::now() > deadline {
            return requests;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A minimal IRC server: answers the login and lets the test send lines.
async fn irc_login(
    listener: &TcpListener,
) -> (
    tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    tokio::net::tcp::OwnedWriteHalf,
) {
    let (stream, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .unwrap()
        .unwrap();
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.starts_with("NICK ") {
            break;
        }
    }
    w.write_all(b":tmi.twitch.tv 001 mybot :Welcome, GLHF!\r\n")
        .await
        .unwrap();
    (lines, w)
}

#[tokio::test]
async fn chat_over_irc_and_eventsub_is_published_once() {
    let irc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let eventsub = FakeEventSub::start().await;
    let mut twitch = TwitchConfig::default();
    twitch.url = format!("irc://{}", irc.local_addr().unwrap());
    twitch.login = Some("mybot".to_owned());
    twitch.token = Some(botkit::Secret::new("oauth:sekrit"));
    twitch.channels = vec!["streamer".to_owned()];
    twitch.eventsub = config(&eventsub.url());
    let helix = Arc::new(FakeHelix::default());
    let platform = Arc::new(
        TwitchPlatform::new("main", twitch)
            .unwrap()
            .with_eventsub(Arc::clone(&helix) as Arc<dyn EventSubApi>),
    );
    let bus = Bus::default();
    let mut events = bus
        .subscribe(Subscription::to("platform.twitch.chat.message"))
        .unwrap();
    let (stop, task) = run_platform(&platform, bus);
    let (_lines, mut irc_out) = irc_login(&irc).await;
    let mut es = eventsub.accept().await;
    es.welcome("s1", 10).await;
    helix
        .wait_requests(botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len())
        .await;

    // IRC first, then EventSub: one event. The IRC `id` tag is EventSub's `message_id`.
    let privmsg = |id: &str, text: &str| {
        format!(
            "@badges=;display-name=viewer32;id={id};room-id={BROADCASTER};user-id=4145994 :viewer32!viewer32@viewer32.tmi.twitch.tv PRIVMSG #streamer :{text}\r\n"
        )
    };
    irc_out
        .write_all(
            privmsg(
                "cc106a89-1814-919d-454c-f4f2f970aae7",
                "Hi chat cheer100 @streamer Kappa",
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let first = tokio::time::timeout(WAIT, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(first.raw, Some(botkit::event::Raw::Text(_))),
        "came over IRC"
    );
    es.send(&chat_message()).await;

    // EventSub first, then IRC: one event again.
    let mut second = chat_message();
    second["metadata"]["message_id"] = json!("frame-2");
    second["payload"]["event"]["message_id"] = json!("msg-2");
    second["payload"]["event"]["message"]["text"] = json!("second");
    es.send(&second).await;
    let got = tokio::time::timeout(WAIT, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.payload.chat().unwrap().text, "second");
    assert!(
        matches!(got.raw, Some(botkit::event::Raw::Json(_))),
        "came over EventSub"
    );
    irc_out
        .write_all(privmsg("msg-2", "second").as_bytes())
        .await
        .unwrap();
    irc_out
        .write_all(privmsg("msg-3", "third").as_bytes())
        .await
        .unwrap();
    let third = tokio::time::timeout(WAIT, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        third.payload.chat().unwrap().text,
        "third",
        "neither duplicate was published"
    );
    stop.send(true).unwrap();
    assert!(
        tokio::time::timeout(WAIT, task)
            .await
            .unwrap()
            .unwrap()
            .is_ok()
    );
}

#[tokio::test]
async fn eventsub_without_an_api_is_a_config_error() {
    let mut twitch = TwitchConfig::default();
    twitch.eventsub = EventSubConfig::enabled(&[BROADCASTER], BOT);
    let platform = TwitchPlatform::new("main", twitch).unwrap();
    let (_stop, stop_rx) = watch::channel(false);
    let ctx = PlatformContext::new(Bus::default(), "twitch", "main", stop_rx);
    match platform.run(ctx).await {
        Err(PlatformError::Protocol(why)) => assert!(why.contains("with_eventsub"), "{why}"),
        other => panic!("{other:?}"),
    }
    let mut twitch = TwitchConfig::default();
    twitch.eventsub = EventSubConfig::enabled(&[], BOT);
    let err = TwitchPlatform::new("main", twitch).unwrap_err();
    assert!(err.to_string().contains("broadcaster_user_ids"), "{err}");
}

/// With a `client_id`, the platform's own Helix client creates the subscriptions: one
/// authenticated `POST /eventsub/subscriptions` per type, for the session Twitch welcomed.
#[tokio::test]
async fn the_platforms_helix_client_creates_the_subscriptions() {
    let helix = support::Fake::start(|r| match r.route().as_str() {
        "POST /helix/eventsub/subscriptions" => support::Reply::json(
            202,
            &support::example("create_subscription_websocket.twitch-cli.json")["response"],
        ),
        _ => support::Reply::empty(404),
    });
    let irc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let eventsub = FakeEventSub::start().await;
    let section = botkit::config::PlatformSection::new("twitch", "main")
        .with_field("url", format!("irc://{}", irc.local_addr().unwrap()))
        .with_field("login", "mybot")
        .with_field("token", "oauth:sekrit")
        .with_field("client_id", "the-client-id")
        .with_field("helix_url", helix.url("/helix"));
    let mut twitch = TwitchConfig::from_section(&section).unwrap();
    twitch.channels = vec!["streamer".to_owned()];
    twitch.eventsub = config(&eventsub.url());
    let platform = Arc::new(TwitchPlatform::new("main", twitch).unwrap());
    assert!(
        platform.eventsub().is_some(),
        "EventSub uses the Helix client"
    );
    let (stop, task) = run_platform(&platform, Bus::default());
    let _irc = irc_login(&irc).await;
    let mut es = eventsub.accept().await;
    es.welcome("welcomed-session", 10).await;
    let wanted = botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len();
    let requests = subscription_requests(&helix, wanted).await;
    assert_eq!(requests.len(), wanted, "one request per subscription type");
    let mut types = HashSet::new();
    for request in &requests {
        assert_eq!(request.header("client-id"), Some("the-client-id"));
        assert_eq!(request.header("authorization"), Some("Bearer sekrit"));
        let body = request.json();
        assert_eq!(body["transport"]["method"], "websocket");
        assert_eq!(body["transport"]["session_id"], "welcomed-session");
        types.insert(body["type"].as_str().unwrap().to_owned());
    }
    assert!(types.contains("channel.chat.message"), "{types:?}");
    assert!(
        helix.requests_to("GET /helix/users").is_empty(),
        "ids in the config need no lookup"
    );
    let _ = stop.send(true);
    let result = tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
    assert!(result.is_ok(), "{result:?}");
}

// ---- User ids looked up from logins --------------------------------------------------

/// `config`, without ids: they are looked up from the channels and the bot's login.
fn lookup_config(url: &str) -> EventSubConfig {
    let mut config = config(url);
    config.broadcaster_user_ids.clear();
    config.bot_user_id = None;
    config
}

fn logins(all: &[&str]) -> Vec<String> {
    all.iter().map(|l| (*l).to_owned()).collect()
}

#[tokio::test]
async fn logins_are_looked_up_before_subscribing_and_again_after_a_reconnect() {
    let server = FakeEventSub::start().await;
    let n = botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len();
    let helix = FakeHelix::knowing(&[
        ("streamer", BROADCASTER),
        ("mybot", BOT),
        ("newchannel", "5550001"),
    ]);
    let bot = start_with(lookup_config(&server.url()), helix, |session| {
        session
            .with_channel_logins(&logins(&["#Streamer", "other", "streamer"]))
            .with_bot_login("MyBot")
    });
    let mut conn = server.accept().await;
    conn.welcome("s1", 10).await;
    let requests = bot.helix.wait_requests(n).await;
    assert_eq!(
        bot.helix.lookups(),
        vec![logins(&["streamer", "other", "mybot"])],
        "each login once; `other` is unknown"
    );
    assert_eq!(requests[0].kind, "channel.chat.message");
    assert_eq!(
        requests[0].condition,
        json!({"broadcaster_user_id": BROADCASTER, "user_id": BOT})
    );
    assert!(
        requests
            .iter()
            .all(|r| r.condition["broadcaster_user_id"] == BROADCASTER)
    );

    // A channel joined since: the next fresh session looks it up and subscribes for it.
    bot.session
        .set_channel_logins(&logins(&["streamer", "newchannel"]));
    conn.close(4000, "internal server error").await;
    let mut conn = server.accept().await;
    conn.welcome("s2", 10).await;
    let requests = bot.helix.wait_requests(3 * n).await;
    let lookups = bot.helix.lookups();
    assert_eq!(lookups.len(), 2, "{lookups:?}");
    assert_eq!(lookups[1], logins(&["streamer", "newchannel", "mybot"]));
    let second: Vec<&SubscriptionRequest> =
        requests.iter().filter(|r| r.session_id == "s2").collect();
    assert_eq!(second.len(), 2 * n);
    assert!(second.iter().any(|r| r.kind == "channel.chat.message"
        && r.condition == json!({"broadcaster_user_id": "5550001", "user_id": BOT})));
    bot.stop().await;
}

#[tokio::test]
async fn the_looked_up_bot_id_marks_the_bots_own_messages() {
    // The fixture's chatter (4145994) is the bot here, so its message is not published.
    let server = FakeEventSub::start().await;
    let helix = FakeHelix::knowing(&[("streamer", BROADCASTER), ("mybot", "4145994")]);
    let mut bot = start_with(lookup_config(&server.url()), helix, |session| {
        session
            .with_channel_logins(&logins(&["streamer"]))
            .with_bot_login("mybot")
    });
    let mut conn = server.accept().await;
    conn.welcome("s1", 10).await;
    bot.helix
        .wait_requests(botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len())
        .await;
    conn.send(&chat_message()).await;
    let mut other = with_message_id(chat_message(), "frame-2");
    other["payload"]["event"]["chatter_user_id"] = json!("999");
    other["payload"]["event"]["message"]["text"] = json!("from someone else");
    conn.send(&other).await;
    let next = bot.next_data().await;
    assert_eq!(next.payload.chat().unwrap().text, "from someone else");
    bot.stop().await;
}

#[tokio::test]
async fn an_unknown_login_is_reported_and_the_other_channels_carry_on() {
    let server = FakeEventSub::start().await;
    let n = botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len();
    let helix = FakeHelix::knowing(&[("streamer", BROADCASTER), ("mybot", BOT)]);
    let mut bot = start_with(lookup_config(&server.url()), helix, |session| {
        session
            .with_channel_logins(&logins(&["streamer", "nosuchchannel"]))
            .with_bot_login("mybot")
    });
    let unknown = bot.next_on("platform.twitch.eventsub.unknown_login").await;
    match &unknown.payload {
        Payload::Custom { data, .. } => {
            assert_eq!(data["login"], "nosuchchannel");
            let error = data["error"].as_str().unwrap();
            assert!(
                error.contains("nosuchchannel") && error.contains("spelling"),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }
    let mut conn = server.accept().await;
    conn.welcome("s1", 10).await;
    bot.helix.wait_requests(n).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let requests = bot.helix.requests();
    assert_eq!(requests.len(), n, "only the known channel is subscribed");
    assert!(
        requests
            .iter()
            .all(|r| r.condition["broadcaster_user_id"] == BROADCASTER)
    );
    bot.stop().await;
}

#[tokio::test]
async fn an_unreachable_helix_is_retried_with_the_backoff() {
    let server = FakeEventSub::start().await;
    let helix = FakeHelix::knowing(&[("streamer", BROADCASTER), ("mybot", BOT)]);
    helix.lookup_failures.store(2, Ordering::SeqCst);
    let mut bot = start_with(lookup_config(&server.url()), helix, |session| {
        session
            .with_channel_logins(&logins(&["streamer"]))
            .with_bot_login("mybot")
    });
    let down = bot.next_on("platform.twitch.eventsub.disconnected").await;
    match &down.payload {
        Payload::ConnectionDown { reason } => {
            assert!(
                reason.contains("looking up the user ids") && reason.contains("streamer"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    let mut conn = server.accept().await;
    conn.welcome("s1", 10).await;
    let requests = bot
        .helix
        .wait_requests(botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len())
        .await;
    assert_eq!(
        requests[0].condition,
        json!({"broadcaster_user_id": BROADCASTER, "user_id": BOT})
    );
    assert_eq!(
        bot.helix.lookups().len(),
        3,
        "two failures, then the lookup"
    );
    bot.stop().await;
}

#[tokio::test]
async fn an_api_without_lookups_stops_with_a_clear_error() {
    let server = FakeEventSub::start().await;
    let session = EventSubSession::new("main", lookup_config(&server.url()), Arc::new(NoLookup))
        .unwrap()
        .with_channel_logins(&logins(&["streamer"]))
        .with_bot_login("mybot");
    let (_stop, stop_rx) = watch::channel(false);
    let ctx = PlatformContext::new(Bus::default(), "twitch", "main", stop_rx);
    let err = tokio::time::timeout(WAIT, session.run(&ctx))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot look up user ids; set broadcaster_user_ids and bot_user_id"),
        "{err}"
    );
    assert!(
        !server.connects_within(Duration::from_millis(200)).await,
        "nothing to subscribe with, so no connection"
    );
}

#[test]
fn the_platform_rejects_only_an_eventsub_config_that_can_never_work() {
    let config = |channels: &[&str], login: Option<&str>| {
        let section =
            botkit::config::PlatformSection::new("twitch", "main").with_field("eventsub", true);
        let mut twitch = TwitchConfig::from_section(&section).unwrap();
        twitch.channels = logins(channels);
        twitch.login = login.map(str::to_owned);
        twitch.token = login.map(|_| botkit::Secret::new("oauth:sekrit"));
        twitch
    };
    let err = TwitchPlatform::new("main", config(&[], Some("mybot")))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no channel") && err.contains("broadcaster_user_ids"),
        "{err}"
    );
    let err = TwitchPlatform::new("main", config(&["streamer"], None))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`login`") && err.contains("bot_user_id"),
        "{err}"
    );
    assert!(
        TwitchPlatform::new("main", config(&["streamer"], Some("mybot"))).is_ok(),
        "channels and a login are enough"
    );
}

/// `eventsub = true` with channels and a login, nothing else: the platform's Helix
/// client looks the ids up (`GET /helix/users?login=…`) and the subscriptions carry them.
#[tokio::test]
async fn eventsub_true_alone_looks_the_ids_up_through_helix() {
    let helix = support::Fake::start(|r| match r.route().as_str() {
        "GET /helix/users" => {
            let known = [("streamer", BROADCASTER), ("mybot", BOT)];
            let data: Vec<Value> = r
                .query
                .split('&')
                .filter_map(|pair| pair.strip_prefix("login="))
                .filter_map(|login| known.iter().find(|(k, _)| *k == login))
                .map(|(login, id)| json!({"id": id, "login": login, "display_name": login}))
                .collect();
            support::Reply::json(200, &json!({ "data": data }))
        }
        "POST /helix/eventsub/subscriptions" => support::Reply::json(
            202,
            &support::example("create_subscription_websocket.twitch-cli.json")["response"],
        ),
        _ => support::Reply::empty(404),
    });
    let irc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let eventsub = FakeEventSub::start().await;
    let section = botkit::config::PlatformSection::new("twitch", "main")
        .with_field("url", format!("irc://{}", irc.local_addr().unwrap()))
        .with_field("login", "MyBot")
        .with_field("token", "oauth:sekrit")
        .with_field("client_id", "the-client-id")
        .with_field("channels", vec!["streamer"])
        .with_field("eventsub", true)
        .with_field("helix_url", helix.url("/helix"));
    let mut twitch = TwitchConfig::from_section(&section).unwrap();
    assert!(
        twitch.eventsub.broadcaster_user_ids.is_empty() && twitch.eventsub.bot_user_id.is_none()
    );
    twitch.eventsub.url = eventsub.url();
    let platform = Arc::new(TwitchPlatform::new("main", twitch).unwrap());
    let (stop, task) = run_platform(&platform, Bus::default());
    let _irc = irc_login(&irc).await;
    let mut es = eventsub.accept().await;
    es.welcome("welcomed-session", 10).await;
    let wanted = botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len();
    let requests = subscription_requests(&helix, wanted).await;
    assert_eq!(requests.len(), wanted, "one request per subscription type");
    let lookups = helix.requests_to("GET /helix/users");
    assert_eq!(lookups.len(), 1, "one request for both logins");
    assert_eq!(lookups[0].header("client-id"), Some("the-client-id"));
    assert!(
        lookups[0].query.contains("login=streamer") && lookups[0].query.contains("login=mybot"),
        "{}",
        lookups[0].query
    );
    for request in &requests {
        let body = request.json();
        assert_eq!(
            body["condition"]["broadcaster_user_id"], BROADCASTER,
            "{body}"
        );
        if body["type"] == "channel.chat.message" {
            assert_eq!(body["condition"]["user_id"], BOT, "{body}");
        }
    }
    let _ = stop.send(true);
    let result = tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_revocation_holds_when_the_ids_are_looked_up_again() {
    let server = FakeEventSub::start().await;
    let n = botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len();
    let helix = FakeHelix::knowing(&[("streamer", BROADCASTER), ("mybot", BOT)]);
    let mut bot = start_with(lookup_config(&server.url()), helix, |session| {
        session
            .with_channel_logins(&logins(&["streamer"]))
            .with_bot_login("mybot")
    });
    let mut first = server.accept().await;
    first.welcome("s1", 10).await;
    bot.helix.wait_requests(n).await;
    let mut revocation = fixture("revocation.json");
    revocation["metadata"]["subscription_type"] = json!("channel.ban");
    revocation["payload"]["subscription"]["type"] = json!("channel.ban");
    revocation["payload"]["subscription"]["condition"] =
        json!({ "broadcaster_user_id": BROADCASTER });
    first.send(&revocation).await;
    bot.next_on("platform.twitch.eventsub.revoked").await;

    first.close(4006, "network error").await;
    let mut second = server.accept().await;
    second.welcome("s2", 10).await;
    bot.helix.wait_requests(n + n - 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let requests = bot.helix.requests();
    assert_eq!(bot.helix.lookups().len(), 2, "looked up again");
    let again: Vec<&str> = requests[n..].iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(again.len(), n - 1);
    assert!(!again.contains(&"channel.ban"), "{again:?}");
    bot.stop().await;
}

#[tokio::test]
async fn with_no_known_channel_the_session_waits_for_one_to_be_joined() {
    let server = FakeEventSub::start().await;
    let helix = FakeHelix::knowing(&[("streamer", BROADCASTER), ("mybot", BOT)]);
    let mut bot = start_with(lookup_config(&server.url()), helix, |session| {
        session
            .with_channel_logins(&logins(&["nosuchchannel"]))
            .with_bot_login("mybot")
    });
    bot.next_on("platform.twitch.eventsub.unknown_login").await;
    assert!(
        !server.connects_within(Duration::from_millis(300)).await,
        "nothing to subscribe for yet"
    );
    assert!(
        !bot.task.is_finished(),
        "the session waits, it does not stop"
    );

    bot.session
        .set_channel_logins(&logins(&["nosuchchannel", "streamer"]));
    let mut conn = server.accept().await;
    conn.welcome("s1", 10).await;
    let requests = bot
        .helix
        .wait_requests(botkit_twitch::eventsub::DEFAULT_SUBSCRIPTIONS.len())
        .await;
    assert!(
        requests
            .iter()
            .all(|r| r.condition["broadcaster_user_id"] == BROADCASTER)
    );
    bot.stop().await;
}

#[test]
fn the_platforms_join_and_part_reach_eventsub() {
    let section =
        botkit::config::PlatformSection::new("twitch", "main").with_field("eventsub", true);
    let mut twitch = TwitchConfig::from_section(&section).unwrap();
    twitch.login = Some("mybot".to_owned());
    twitch.token = Some(botkit::Secret::new("oauth:sekrit"));
    twitch.channels = logins(&["#Streamer"]);
    let platform = TwitchPlatform::new("main", twitch)
        .unwrap()
        .with_eventsub(Arc::new(FakeHelix::default()));
    let eventsub = Arc::clone(platform.eventsub().expect("EventSub is on"));
    assert_eq!(eventsub.channel_logins(), logins(&["streamer"]));
    platform.join("#NewChannel");
    assert_eq!(
        eventsub.channel_logins(),
        logins(&["newchannel", "streamer"])
    );
    platform.part("streamer");
    assert_eq!(eventsub.channel_logins(), logins(&["newchannel"]));
}
