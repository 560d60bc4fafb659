//! The chat session against a local fake IRC server on 127.0.0.1 (plain TCP).
//!
//! Each test scripts the server side line by line — what Twitch sends at login, a PING,
//! a RECONNECT, an auth failure, a rate-limit NOTICE — and checks what the platform
//! writes back and publishes. Time is paused, so keepalive and dead-link timers run
//! instantly and exactly.

use std::sync::Arc;
use std::time::Duration;

use botkit::bus::{Bus, Subscription};
use botkit::event::{Event, Source};
use botkit::ratelimit::Limit;
use botkit::{Action, Outcome, Platform, PlatformContext, PlatformError};
use botkit_twitch::platform::{DEFAULT_LIMIT, LIMIT_WINDOW, PRIVILEGED_LIMIT};
use botkit_twitch::{TwitchConfig, TwitchPlatform};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(120);

struct FakeServer {
    listener: TcpListener,
}

impl FakeServer {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        Self { listener }
    }

    fn url(&self) -> String {
        format!("irc://{}", self.listener.local_addr().expect("addr"))
    }

    async fn accept(&self) -> FakeConn {
        let (stream, _) = tokio::time::timeout(WAIT, self.listener.accept())
            .await
            .expect("the platform connects")
            .expect("accept");
        FakeConn::new(stream)
    }

    /// Whether the platform connects again within `within`.
    async fn connects_within(&self, within: Duration) -> bool {
        tokio::time::timeout(within, self.listener.accept())
            .await
            .is_ok()
    }
}

struct FakeConn {
    reader: tokio::io::Lines<BufReader<OwnedReadHalf>>,
    writer: OwnedWriteHalf,
}

impl FakeConn {
    fn new(stream: TcpStream) -> Self {
        let (r, w) = stream.into_split();
        Self {
            reader: BufReader::new(r).lines(),
            writer: w,
        }
    }

    /// The next line, answering (and skipping) the client's own keepalive PINGs: with
    /// paused time the clock jumps to the next timer whenever both sides wait on I/O,
    /// so those pings can arrive between any two lines.
    async fn line(&mut self) -> String {
        loop {
            let line = self.raw_line().await;
            if line == "PING :botkit" {
                self.send(":tmi.twitch.tv PONG tmi.twitch.tv :botkit").await;
                continue;
            }
            return line;
        }
    }

    /// Whether the client closes the connection (reading past any lines it still sends).
    async fn closed(&mut self) -> bool {
        loop {
            match tokio::time::timeout(WAIT, self.reader.next_line()).await {
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None) | Err(_)) => return true,
                Err(_) => return false,
            }
        }
    }

    /// The next line, whatever it is.
    async fn raw_line(&mut self) -> String {
        tokio::time::timeout(WAIT, self.reader.next_line())
            .await
            .expect("the platform writes a line")
            .expect("read")
            .expect("the platform keeps the connection open")
    }

    async fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .expect("write");
    }

    /// Reads CAP/PASS/NICK and answers like Twitch; returns the three lines read.
    async fn login(&mut self, nick: &str) -> Vec<String> {
        let mut got = Vec::new();
        loop {
            let line = self.line().await;
            let done = line.starts_with("NICK ");
            got.push(line);
            if done {
                break;
            }
        }
        self.send(":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands")
            .await;
        self.send(&format!(":tmi.twitch.tv 001 {nick} :Welcome, GLHF!"))
            .await;
        self.send(&format!(
            "@badge-info=;badges=;color=;display-name={nick};emote-sets=0;user-id=553170741;user-type= :tmi.twitch.tv GLOBALUSERSTATE"
        ))
        .await;
        got
    }
}

struct Running {
    platform: Arc<TwitchPlatform>,
    bus: Bus,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), PlatformError>>,
}

fn config(url: &str, login: Option<&str>) -> TwitchConfig {
    let mut config = TwitchConfig::default();
    config.url = url.to_owned();
    config.login = login.map(str::to_owned);
    config.token = login.map(|_| botkit::Secret::new("oauth:sekrit-token"));
    config.channels = vec!["#Pajlada".to_owned()];
    config
}

fn start(config: TwitchConfig) -> Running {
    let platform = Arc::new(TwitchPlatform::new("main", config).expect("valid config"));
    let bus = Bus::default();
    let (stop, stop_rx) = watch::channel(false);
    let ctx = PlatformContext::new(bus.clone(), "twitch", "main", stop_rx);
    let task = tokio::spawn({
        let platform = Arc::clone(&platform);
        async move { platform.run(ctx).await }
    });
    Running {
        platform,
        bus,
        stop,
        task,
    }
}

async fn next_on(sub: &mut botkit::bus::Subscriber, topic: &str) -> Arc<Event> {
    next_in(sub, topic, None).await
}

async fn next_in(
    sub: &mut botkit::bus::Subscriber,
    topic: &str,
    channel: Option<&str>,
) -> Arc<Event> {
    loop {
        let event = tokio::time::timeout(WAIT, sub.recv())
            .await
            .expect("an event arrives")
            .expect("the bus is open");
        if event.topic.as_str() == topic && (channel.is_none() || event.channel() == channel) {
            return event;
        }
    }
}

fn say(channel: &str, text: &str) -> Action {
    Action::say(Source::new("twitch", "main", Some(channel)), text)
}

#[tokio::test(start_paused = true)]
async fn logs_in_joins_and_talks() {
    let server = FakeServer::start().await;
    let bot = start(config(&server.url(), Some("MyBot")));
    let mut events = bot
        .bus
        .subscribe(Subscription::to("platform.twitch.>"))
        .unwrap();

    let mut conn = server.accept().await;
    let login = conn.login("mybot").await;
    assert_eq!(
        login,
        [
            "CAP REQ :twitch.tv/tags twitch.tv/commands",
            "PASS oauth:sekrit-token",
            "NICK mybot"
        ]
    );
    next_on(&mut events, "platform.twitch.connection.up").await;
    assert_eq!(conn.line().await, "JOIN #pajlada");
    conn.send(":mybot!mybot@mybot.tmi.twitch.tv JOIN #pajlada")
        .await;
    let joined = next_on(&mut events, "platform.twitch.channel.joined").await;
    assert_eq!(joined.channel(), Some("pajlada"));

    conn.send("@badge-info=;badges=moderator/1,subscriber/12;color=#19E6E6;display-name=randers;emotes=;id=6e2c;mod=1;room-id=11148817;tmi-sent-ts=1577040814959;user-id=40286300 :randers!randers@randers.tmi.twitch.tv PRIVMSG #pajlada :!ping").await;
    let chat = next_on(&mut events, "platform.twitch.chat.message").await;
    let message = chat.payload.chat().expect("a chat message");
    assert_eq!(message.text, "!ping");
    assert_eq!(&*message.user.id, "twitch:40286300");

    // One PRIVMSG per execute; the same text again gets the duplicate-rule suffix.
    assert_eq!(
        bot.platform.execute(&say("pajlada", "pong")).await.unwrap(),
        Outcome::Done { message_id: None }
    );
    assert_eq!(conn.line().await, "PRIVMSG #pajlada :pong");
    bot.platform.execute(&say("pajlada", "pong")).await.unwrap();
    assert_eq!(conn.line().await, "PRIVMSG #pajlada :pong \u{E0000}");

    let mut reply = say("pajlada", "hi");
    reply.kind = botkit::ActionKind::Reply {
        text: "hi".to_owned(),
        parent_id: Some("6e2c".to_owned()),
        to: None,
    };
    bot.platform.execute(&reply).await.unwrap();
    assert_eq!(
        conn.line().await,
        "@reply-parent-msg-id=6e2c PRIVMSG #pajlada :hi"
    );

    bot.stop.send(true).unwrap();
    assert!(bot.task.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn anonymous_login_reads_only() {
    let server = FakeServer::start().await;
    let bot = start(config(&server.url(), None));
    let mut conn = server.accept().await;
    let login = conn.login("justinfan12345").await;
    assert_eq!(login.len(), 2, "no PASS: {login:?}");
    assert!(login[1].starts_with("NICK justinfan"), "{login:?}");
    assert_eq!(conn.line().await, "JOIN #pajlada");
    let refused = bot.platform.execute(&say("pajlada", "hi")).await;
    assert!(
        matches!(refused, Err(PlatformError::Refused(_))),
        "{refused:?}"
    );
    bot.stop.send(true).unwrap();
    assert!(bot.task.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn cap_nak_is_fatal() {
    let server = FakeServer::start().await;
    let bot = start(config(&server.url(), Some("mybot")));
    let mut conn = server.accept().await;
    for _ in 0..3 {
        conn.line().await;
    }
    conn.send(":tmi.twitch.tv CAP * NAK :twitch.tv/tags twitch.tv/commands")
        .await;
    let result = tokio::time::timeout(WAIT, bot.task).await.unwrap().unwrap();
    assert!(
        matches!(result, Err(PlatformError::Protocol(_))),
        "{result:?}"
    );
    assert!(!server.connects_within(Duration::from_secs(600)).await);
}

#[tokio::test(start_paused = true)]
async fn auth_failure_stops_without_reconnecting() {
    let server = FakeServer::start().await;
    let bot = start(config(&server.url(), Some("mybot")));
    let mut conn = server.accept().await;
    for _ in 0..3 {
        conn.line().await;
    }
    conn.send(":tmi.twitch.tv NOTICE * :Login authentication failed")
        .await;
    drop(conn);
    let result = tokio::time::timeout(WAIT, bot.task).await.unwrap().unwrap();
    match result {
        Err(PlatformError::Auth(why)) => assert!(!why.contains("sekrit"), "{why}"),
        other => panic!("expected an auth error, got {other:?}"),
    }
    assert!(!server.connects_within(Duration::from_secs(600)).await);
    assert!(matches!(
        bot.platform.health(),
        botkit::platform::Health::Down(_)
    ));
}

#[tokio::test(start_paused = true)]
async fn answers_pings_and_replaces_a_dead_link() {
    let server = FakeServer::start().await;
    let mut config = config(&server.url(), Some("mybot"));
    config.ping_interval_secs = 30;
    config.pong_timeout_secs = 5;
    let bot = start(config);
    let mut conn = server.accept().await;
    conn.login("mybot").await;
    assert_eq!(conn.line().await, "JOIN #pajlada");

    conn.send("PING :tmi.twitch.tv").await;
    assert_eq!(conn.line().await, "PONG :tmi.twitch.tv");

    // The client pings on its own; an answered ping keeps the link.
    assert_eq!(conn.raw_line().await, "PING :botkit");
    conn.send(":tmi.twitch.tv PONG tmi.twitch.tv :botkit").await;
    // The next ping goes unanswered: the link is dead, a new one is opened and the
    // channels are joined again.
    assert_eq!(conn.raw_line().await, "PING :botkit");
    let mut second = server.accept().await;
    second.login("mybot").await;
    assert_eq!(second.line().await, "JOIN #pajlada");
    bot.stop.send(true).unwrap();
    assert!(bot.task.await.unwrap().is_ok());
}

/// RECONNECT opens and logs in the new connection while the old one is still served,
/// then closes the old one and replays the channels on the new. On the real clock: with
/// a paused clock, the moment both sides wait on the sockets lets time jump to the new
/// connection's login deadline.
#[tokio::test]
async fn reconnect_replays_desired_channels() {
    let server = FakeServer::start().await;
    let bot = start(config(&server.url(), Some("mybot")));
    let mut conn = server.accept().await;
    conn.login("mybot").await;
    assert_eq!(conn.line().await, "JOIN #pajlada");
    bot.platform.join("#Forsen");
    assert_eq!(conn.line().await, "JOIN #forsen");

    conn.send(":tmi.twitch.tv RECONNECT").await;
    let mut second = server.accept().await;
    // The new connection is opened first; the old one is still served meanwhile…
    conn.send("PING :old-still-here").await;
    assert_eq!(conn.line().await, "PONG :old-still-here");
    second.login("mybot").await;
    // …and closed once the new one is logged in.
    assert!(conn.closed().await, "the old connection is closed");
    let mut joins = vec![second.line().await, second.line().await];
    joins.sort();
    assert_eq!(joins, ["JOIN #forsen", "JOIN #pajlada"]);

    bot.platform.part("pajlada");
    assert_eq!(second.line().await, "PART #pajlada");
    assert_eq!(bot.platform.channels(), ["forsen"]);
    bot.stop.send(true).unwrap();
    assert!(bot.task.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn rate_limit_notices_are_published_and_the_session_goes_on() {
    let server = FakeServer::start().await;
    let bot = start(config(&server.url(), Some("mybot")));
    let mut events = bot
        .bus
        .subscribe(Subscription::to("platform.twitch.>"))
        .unwrap();
    let mut conn = server.accept().await;
    conn.login("mybot").await;
    assert_eq!(conn.line().await, "JOIN #pajlada");
    conn.send("@msg-id=msg_ratelimit :tmi.twitch.tv NOTICE #pajlada :Your message was not sent because you are sending messages too quickly.").await;
    let notice = next_on(&mut events, "platform.twitch.chat.notice").await;
    match &notice.payload {
        botkit::Payload::StreamNotice { notice, .. } => assert_eq!(notice, "msg_ratelimit"),
        other => panic!("unexpected payload {other:?}"),
    }
    conn.send("PING :still-here").await;
    assert_eq!(conn.line().await, "PONG :still-here");
    bot.stop.send(true).unwrap();
    assert!(bot.task.await.unwrap().is_ok());
}

#[tokio::test]
async fn userstate_badges_lift_the_limits_per_channel() {
    let server = FakeServer::start().await;
    let mut config = config(&server.url(), Some("mybot"));
    config.channels = vec!["a".into(), "b".into()];
    let bot = start(config);
    let mut events = bot
        .bus
        .subscribe(Subscription::to("platform.twitch.>"))
        .unwrap();
    let mut conn = server.accept().await;
    conn.login("mybot").await;
    conn.line().await;
    conn.line().await;
    let limiter = bot.platform.limiter();
    let limit = |n| Some(Limit::new(n, LIMIT_WINDOW));
    assert_eq!(limiter.instance_limit(), limit(PRIVILEGED_LIMIT));
    assert_eq!(limiter.unprivileged_limit(), limit(DEFAULT_LIMIT));
    assert!(!limiter.is_exempt("a") && !limiter.is_exempt("b"));

    conn.send("@badges=moderator/1;mod=1 :tmi.twitch.tv USERSTATE #a")
        .await;
    next_in(&mut events, "platform.twitch.user.updated", Some("a")).await;
    assert!(limiter.is_exempt("a"), "moderator in #a");
    // In #a messages no longer wait a second each; #b keeps the minimum.
    assert!(limiter.try_acquire(Some("a")).is_ok());
    assert!(limiter.try_acquire(Some("a")).is_ok());
    assert!(limiter.try_acquire(Some("b")).is_ok());
    assert!(limiter.try_acquire(Some("b")).is_err());

    // An ordinary user in #b: the privilege of #a is not extended to it.
    conn.send("@badges=;mod=0 :tmi.twitch.tv USERSTATE #b")
        .await;
    next_in(&mut events, "platform.twitch.user.updated", Some("b")).await;
    assert!(limiter.is_exempt("a") && !limiter.is_exempt("b"));

    conn.send("@badges=vip/1;mod=0 :tmi.twitch.tv USERSTATE #b")
        .await;
    next_in(&mut events, "platform.twitch.user.updated", Some("b")).await;
    assert!(limiter.is_exempt("b"), "VIP in #b");

    // Losing moderator status puts #a back under every limit.
    conn.send("@badges=;mod=0 :tmi.twitch.tv USERSTATE #a")
        .await;
    next_in(&mut events, "platform.twitch.user.updated", Some("a")).await;
    assert!(!limiter.is_exempt("a"));
    bot.stop.send(true).unwrap();
    assert!(bot.task.await.unwrap().is_ok());
}

/// The same login over a `ws://` server, with several lines in one frame as Twitch's
/// WebSocket endpoint sends them. Nothing here depends on time, and the WebSocket
/// handshake's several round trips let a paused clock jump to the login deadline, so
/// this test runs on the real clock.
#[tokio::test]
async fn websocket_transport() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let bot = start(config(&url, Some("mybot")));
    let mut events = bot
        .bus
        .subscribe(Subscription::to("platform.twitch.>"))
        .unwrap();
    let (tcp, _) = listener.accept().await.unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    let mut lines = Vec::new();
    while lines.len() < 4 {
        match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Text(t))) => {
                lines.extend(t.split("\r\n").filter(|l| !l.is_empty()).map(str::to_owned));
                if lines.iter().any(|l| l.starts_with("NICK")) && lines.len() == 3 {
                    ws.send(Message::text(
                        ":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands\r\n:tmi.twitch.tv 001 mybot :Welcome, GLHF!\r\n",
                    ))
                    .await
                    .unwrap();
                }
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }
    assert_eq!(
        lines[..3],
        [
            "CAP REQ :twitch.tv/tags twitch.tv/commands",
            "PASS oauth:sekrit-token",
            "NICK mybot"
        ]
    );
    assert_eq!(lines[3], "JOIN #pajlada");
    ws.send(Message::text(
        ":a!a@a.tmi.twitch.tv PRIVMSG #pajlada :one\r\n:b!b@b.tmi.twitch.tv PRIVMSG #pajlada :two\r\n",
    ))
    .await
    .unwrap();
    let first = next_on(&mut events, "platform.twitch.chat.message").await;
    let second = next_on(&mut events, "platform.twitch.chat.message").await;
    assert_eq!(first.payload.chat().unwrap().text, "one");
    assert_eq!(second.payload.chat().unwrap().text, "two");
    bot.stop.send(true).unwrap();
    assert!(bot.task.await.unwrap().is_ok());
}
