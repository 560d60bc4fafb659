//! Session and fault tests against a real Socket.IO 4.5 server (`tests/peer/server.js`)
//! that behaves like CyTube 3.86. The peer is started per test on a free port and killed
//! (by pid) when the test ends. Real time is used, with short heartbeat and backoff
//! settings, because the peer runs on the wall clock.

use std::sync::Arc;
use std::time::Duration;

use botkit::action::{Action, ActionKind};
use botkit::backoff::BackoffPolicy;
use botkit::bus::{Bus, BusConfig, Subscriber, Subscription};
use botkit::event::{Event, Payload, Raw, Source};
use botkit::platform::{Platform, PlatformContext, PlatformError};
use botkit_cytube::{CytubeConfig, CytubeError, CytubePlatform, RoomConfig};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(10);

mod common;
use common::Peer;

struct Bot {
    platform: Arc<CytubePlatform>,
    events: Subscriber,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<Result<(), PlatformError>>>,
}

fn fast(config: CytubeConfig) -> CytubeConfig {
    config
        .reconnect(
            BackoffPolicy::default()
                .with_base(Duration::from_millis(100))
                .with_cap(Duration::from_millis(500)),
        )
        .timeout(Duration::from_secs(5))
}

impl Bot {
    fn start(config: CytubeConfig) -> Bot {
        let platform = Arc::new(CytubePlatform::new("test", fast(config)).expect("config"));
        let bus = Bus::new(BusConfig::default());
        let events = bus
            .subscribe(Subscription::to("platform.cytube.>").capacity(100_000))
            .expect("subscribe");
        let (stop, rx) = watch::channel(false);
        let ctx = PlatformContext::new(bus, "cytube", "test", rx);
        let p = platform.clone();
        let task = Some(tokio::spawn(async move { p.run(ctx).await }));
        Bot {
            platform,
            events,
            stop,
            task,
        }
    }

    async fn next(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Arc<Event> {
        let mut seen = Vec::new();
        let found = tokio::time::timeout(WAIT, async {
            while let Some(ev) = self.events.recv().await {
                if pred(&ev) {
                    return Some(ev);
                }
                seen.push(ev.topic.as_str().to_owned());
            }
            None
        })
        .await;
        match found {
            Ok(Some(ev)) => ev,
            _ => panic!(
                "timed out waiting for {what}; saw {seen:?}; platform health {:?}",
                self.platform.health()
            ),
        }
    }

    async fn joined(&mut self, channel: &str) {
        self.next("channel.joined", |e| {
            e.topic.as_str() == "platform.cytube.channel.joined" && e.channel() == Some(channel)
        })
        .await;
    }

    async fn act(&self, channel: &str, kind: ActionKind) -> Result<botkit::Outcome, CytubeError> {
        let action = Action::new(Source::new("cytube", "test", Some(channel)), kind);
        self.platform.perform(&action).await
    }

    async fn custom(
        &self,
        channel: &str,
        name: &str,
        args: Value,
    ) -> Result<botkit::Outcome, CytubeError> {
        self.act(
            channel,
            ActionKind::Custom {
                name: name.into(),
                args,
            },
        )
        .await
    }

    async fn finished(&mut self) -> Result<(), PlatformError> {
        let task = self.task.take().expect("running");
        tokio::time::timeout(WAIT, task)
            .await
            .expect("platform stopped in time")
            .expect("platform task did not panic")
    }

    async fn stop(mut self) {
        self.stop.send_replace(true);
        let result = self.finished().await;
        assert!(result.is_ok(), "{result:?}");
    }
}

fn is(topic: &'static str) -> impl Fn(&Event) -> bool {
    move |e: &Event| e.topic.as_str() == topic
}

#[tokio::test]
async fn guest_discovers_joins_reads_chat_and_answers() {
    let peer = Peer::start(&[]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.web())
            .room(RoomConfig::new("lab"))
            .user("botguest"),
    );
    bot.joined("lab").await;
    peer.control("join", &[("chan", "lab"), ("user", "alice"), ("rank", "0")])
        .await;
    peer.control(
        "chat",
        &[
            ("chan", "lab"),
            ("user", "alice"),
            ("msg", "!ping <b>x</b> http://a.example/b"),
        ],
    )
    .await;
    let ev = bot
        .next("alice's chat", is("platform.cytube.chat.message"))
        .await;
    let Payload::ChatMessage(msg) = &ev.payload else {
        panic!("{ev:?}")
    };
    assert_eq!(msg.text, "!ping <b>x</b> http://a.example/b");
    assert!(
        msg.original
            .as_deref()
            .is_some_and(|o| o.contains("&lt;b&gt;"))
    );
    assert!(!msg.is_history);
    assert_eq!(&*msg.user.id, "cytube:alice");
    assert!(matches!(ev.raw, Some(Raw::Json(_))));

    bot.act(
        "lab",
        ActionKind::Say {
            text: "pong".into(),
        },
    )
    .await
    .expect("say");
    bot.custom("lab", "me", json!({"text": "waves"}))
        .await
        .expect("/me");
    let own = bot
        .next("our own echo", is("platform.cytube.raw.chatMsg"))
        .await;
    assert!(matches!(&own.payload, Payload::Raw { name } if name == "chatMsg"));
    let log = peer.log().await;
    assert!(
        log.iter()
            .any(|(u, e, a)| u == "botguest" && e == "chatMsg" && a["msg"] == "pong")
    );

    let state = bot.platform.channel_state("lab").expect("state");
    assert_eq!(state.me.as_deref(), Some("botguest"));
    assert_eq!(state.my_rank, 0.0);
    assert!(state.user("ALICE").is_some() && state.user("botguest").is_some());
    assert!(state.unregistered);
    bot.stop().await;
}

#[tokio::test]
async fn history_replayed_on_join_is_not_live_chat() {
    let peer = Peer::start(&[]);
    peer.control(
        "chat",
        &[("chan", "lab"), ("user", "old"), ("msg", "from before")],
    )
    .await;
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("lab"))
            .user("reader"),
    );
    // channel.joined has a higher priority than chat, so the two may arrive in either order.
    let (mut backlog, mut joined) = (None, false);
    while backlog.is_none() || !joined {
        let ev = bot
            .next("the backlog and the join", |e| {
                let t = e.topic.as_str();
                t.ends_with("chat.message") || t.ends_with("channel.joined")
            })
            .await;
        match ev.payload.chat() {
            Some(msg) => backlog = Some(msg.clone()),
            None => joined = true,
        }
    }
    let msg = backlog.expect("backlog seen");
    assert_eq!(msg.text, "from before");
    assert!(msg.is_history);
    peer.control("chat", &[("chan", "lab"), ("user", "old"), ("msg", "now")])
        .await;
    let ev = bot
        .next("live chat", is("platform.cytube.chat.message"))
        .await;
    let Some(msg) = ev.payload.chat() else {
        panic!()
    };
    assert_eq!((msg.text.as_str(), msg.is_history), ("now", false));
    bot.stop().await;
}

#[tokio::test]
async fn registered_owner_manages_the_playlist() {
    let peer = Peer::start(&[]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("labchan"))
            .user("ownerbot")
            .password("hunter22"),
    );
    bot.joined("labchan").await;
    assert_eq!(
        bot.platform.channel_state("labchan").map(|s| s.my_rank),
        Some(5.0)
    );
    bot.custom(
        "labchan",
        "queue",
        json!({"link": "https://youtu.be/dQw4w9WgXcQ"}),
    )
    .await
    .expect("queue yt");
    let ev = bot
        .next("media.queued", is("platform.cytube.media.queued"))
        .await;
    assert!(
        matches!(&ev.payload, Payload::MediaQueued { media, .. } if media.id == "dQw4w9WgXcQ" && media.provider == "yt")
    );
    bot.next("media.changed", is("platform.cytube.media.changed"))
        .await;
    bot.custom(
        "labchan",
        "queue",
        json!({"link": "https://vimeo.com/76979871"}),
    )
    .await
    .expect("queue vi");
    bot.next("second media.queued", is("platform.cytube.media.queued"))
        .await;
    bot.custom("labchan", "move", json!({"uid": 1, "after": "prepend"}))
        .await
        .expect("move");
    let ev = bot
        .next("media.moved", is("platform.cytube.media.moved"))
        .await;
    assert!(matches!(&ev.payload, Payload::MediaMoved { uid, after: None } if uid == "1"));
    bot.custom("labchan", "jump", json!({"uid": 1}))
        .await
        .expect("jump");
    bot.next(
        "media.changed after jump",
        is("platform.cytube.media.changed"),
    )
    .await;
    bot.custom("labchan", "delete", json!({"uid": 0}))
        .await
        .expect("delete");
    bot.next("media.removed", is("platform.cytube.media.removed"))
        .await;
    bot.custom("labchan", "voteskip", Value::Null)
        .await
        .expect("voteskip");
    bot.next("voteskip tally", is("platform.cytube.raw.voteskip"))
        .await;
    let state = bot.platform.channel_state("labchan").expect("state");
    assert_eq!(state.playlist.len(), 1);
    assert_eq!(state.current_uid, Some(1));
    assert_eq!(state.motd, "<b>welcome</b>");
    assert_eq!(state.emotes.len(), 1);
    assert_eq!(state.permission("kick"), Some(1.5));
    bot.stop().await;
}

#[tokio::test]
async fn cookie_authentication() {
    let peer = Peer::start(&[]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("labchan"))
            .auth_cookie("s%3Aownerbot%3Atestcookie"),
    );
    bot.joined("labchan").await;
    let state = bot.platform.channel_state("labchan").expect("state");
    assert_eq!(
        (state.me.as_deref(), state.my_rank),
        (Some("ownerbot"), 5.0)
    );
    assert_eq!(
        peer.count("login").await,
        0,
        "the cookie needs no login frame"
    );
    bot.stop().await;
}

#[tokio::test]
async fn wrong_password_stops_with_an_auth_error() {
    let peer = Peer::start(&[]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("labchan"))
            .user("ownerbot")
            .password("wrong"),
    );
    let result = bot.finished().await;
    assert!(
        matches!(&result, Err(PlatformError::Auth(m)) if m.contains("Invalid username/password")),
        "{result:?}"
    );
    assert_eq!(
        peer.count("login").await,
        1,
        "no retry with a refused password"
    );
}

#[tokio::test]
async fn channel_passwords() {
    let peer = Peer::start(&[]);
    let mut ok = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("secret").with_password("sekrit"))
            .user("pwguest"),
    );
    ok.joined("secret").await;
    ok.stop().await;
    let mut missing = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("secret"))
            .user("nopw"),
    );
    let result = missing.finished().await;
    assert!(
        matches!(&result, Err(PlatformError::Auth(m)) if m.contains("needs a password")),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_kick_is_final_and_not_reconnected() {
    let peer = Peer::start(&[]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("lab"))
            .user("kickme"),
    );
    bot.joined("lab").await;
    peer.control("kick", &[("user", "kickme"), ("reason", "go away")])
        .await;
    let result = bot.finished().await;
    assert!(
        matches!(&result, Err(PlatformError::Refused(m)) if m.contains("go away")),
        "{result:?}"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        peer.count("joinChannel").await,
        1,
        "no blind reconnect after a kick"
    );
}

#[tokio::test]
async fn duplicate_login_kicks_the_older_session() {
    let peer = Peer::start(&[]);
    let config = || {
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("labchan"))
            .user("ownerbot")
            .password("hunter22")
    };
    let mut first = Bot::start(config());
    first.joined("labchan").await;
    let mut second = Bot::start(config());
    second.joined("labchan").await;
    let result = first.finished().await;
    assert!(
        matches!(&result, Err(PlatformError::Refused(m)) if m.contains("Duplicate login")),
        "{result:?}"
    );
    second.stop().await;
}

#[tokio::test]
async fn moderator_actions_are_refused_locally_without_the_rank() {
    let peer = Peer::start(&[]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("labchan"))
            .user("lowly"),
    );
    bot.joined("labchan").await;
    let err = bot
        .custom("labchan", "kick", json!({"user": "ownerbot"}))
        .await
        .unwrap_err();
    assert!(matches!(err, CytubeError::Refused(_)), "{err}");
    let err = bot
        .custom("labchan", "delete", json!({"uid": 0}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("playlistdelete"), "{err}");
    assert_eq!(peer.count("chatMsg").await, 0, "nothing reached the server");
    bot.stop().await;
}

#[tokio::test]
async fn chat_flood_rules_are_kept_so_the_server_never_cools_us_down() {
    let peer = Peer::start(&[]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("lab"))
            .user("chatty"),
    );
    bot.joined("lab").await;
    let start = std::time::Instant::now();
    for i in 0..26 {
        bot.act(
            "lab",
            ActionKind::Say {
                text: format!("m{i}"),
            },
        )
        .await
        .expect("say");
    }
    // 20 in a burst, then 10/s: the last 6 need at least 0.6 s.
    assert!(
        start.elapsed() >= Duration::from_millis(600),
        "{:?}",
        start.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(peer.count("chatMsg").await, 26);
    assert_eq!(peer.count("cooldown").await, 0);
    bot.stop().await;
}

#[tokio::test]
async fn the_bot_rejoins_after_the_server_drops_it() {
    let peer = Peer::start(&[]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("labchan"))
            .user("ownerbot")
            .password("hunter22"),
    );
    bot.joined("labchan").await;
    peer.control("kill", &[]).await;
    bot.next("connection.down", is("platform.cytube.connection.down"))
        .await;
    bot.joined("labchan").await;
    let log = peer.log().await;
    let script: Vec<&str> = log.iter().map(|(_, e, _)| e.as_str()).collect();
    assert_eq!(
        script,
        ["login", "joinChannel", "login", "joinChannel"],
        "desired state replayed in order"
    );
    assert_eq!(
        bot.platform.channel_state("labchan").map(|s| s.my_rank),
        Some(5.0)
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_silent_server_is_detected_as_a_dead_link() {
    let peer = Peer::start(&[("PEER_PING_INTERVAL", "300"), ("PEER_PING_TIMEOUT", "300")]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("lab"))
            .user("pinger"),
    );
    bot.joined("lab").await;
    peer.control("freeze", &[]).await;
    let down = bot
        .next("connection.down", is("platform.cytube.connection.down"))
        .await;
    assert!(
        matches!(&down.payload, Payload::ConnectionDown { reason } if reason.contains("heartbeat")),
        "{down:?}"
    );
    bot.joined("lab").await;
    bot.stop().await;
}

#[tokio::test]
async fn malformed_unknown_and_oversized_frames_are_survived() {
    let peer = Peer::start(&[]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("lab"))
            .user("sturdy"),
    );
    bot.joined("lab").await;
    for frame in [
        r#"42["chatMsg",{bad json"#,
        "9garbage",
        "",
        r#"42["rank","high"]"#,
        r#"42["noSuchEvent",{"a":1}]"#,
    ] {
        peer.control("send", &[("frame", frame)]).await;
    }
    let unknown = bot
        .next("raw unknown event", is("platform.cytube.raw.noSuchEvent"))
        .await;
    assert_eq!(
        unknown.raw,
        Some(Raw::Json(json!(["noSuchEvent", {"a": 1}])))
    );
    // Above the codec's 1 MiB bound but within the websocket limit: refused, link kept.
    peer.control("send", &[("big", "1500000")]).await;
    peer.control(
        "chat",
        &[("chan", "lab"), ("user", "alice"), ("msg", "still here")],
    )
    .await;
    let ev = bot
        .next(
            "chat after the bad frames",
            is("platform.cytube.chat.message"),
        )
        .await;
    assert_eq!(
        ev.payload.chat().map(|m| m.text.as_str()),
        Some("still here")
    );
    // Above the websocket limit: the connection is dropped and re-established.
    peer.control("send", &[("big", "5000000")]).await;
    bot.next("connection.down", is("platform.cytube.connection.down"))
        .await;
    bot.joined("lab").await;
    bot.stop().await;
}

#[tokio::test]
async fn a_refused_connect_is_retried_later() {
    let peer = Peer::start(&[("PEER_CONNECT_BURST", "0")]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("lab"))
            .user("early"),
    );
    let down = bot
        .next("connection.down", is("platform.cytube.connection.down"))
        .await;
    assert!(
        matches!(&down.payload, Payload::ConnectionDown { reason } if reason.contains("Rate limit exceeded")),
        "{down:?}"
    );
    // Health says it is down, why, and how often it tried.
    let health = bot.platform.health();
    assert!(
        matches!(&health, botkit::platform::Health::Down(why) if why.contains("Rate limit exceeded") && why.contains("refused 1")),
        "{health:?}"
    );
    bot.stop().await;
}

#[tokio::test]
async fn one_account_in_several_channels() {
    let peer = Peer::start(&[]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("labchan"))
            .room(RoomConfig::new("lab"))
            .user("ownerbot")
            .password("hunter22"),
    );
    let mut pending = vec!["labchan", "lab"];
    while !pending.is_empty() {
        let ev = bot
            .next("channel.joined", is("platform.cytube.channel.joined"))
            .await;
        pending.retain(|c| Some(*c) != ev.channel());
    }
    bot.act(
        "lab",
        ActionKind::Say {
            text: "in lab".into(),
        },
    )
    .await
    .expect("say in lab");
    bot.act(
        "labchan",
        ActionKind::Say {
            text: "in labchan".into(),
        },
    )
    .await
    .expect("say in labchan");
    let err = bot
        .act("elsewhere", ActionKind::Say { text: "x".into() })
        .await
        .unwrap_err();
    assert!(matches!(err, CytubeError::Unsupported(_)), "{err}");
    assert_eq!(
        bot.platform.channel_state("labchan").map(|s| s.my_rank),
        Some(5.0)
    );
    assert_eq!(
        bot.platform.channel_state("lab").map(|s| s.my_rank),
        Some(1.0)
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(peer.count("chatMsg").await, 2);
    bot.stop().await;
}

/// The `channel.state` snapshots in `events` seen within `window`.
async fn snapshots(bot: &mut Bot, window: Duration) -> Vec<Arc<Event>> {
    let mut seen = Vec::new();
    let _ = tokio::time::timeout(window, async {
        while let Some(ev) = bot.events.recv().await {
            if ev.topic.as_str() == "platform.cytube.channel.state" {
                seen.push(ev);
            }
        }
    })
    .await;
    seen
}

fn snapshot_json(ev: &Event) -> &Value {
    match &ev.payload {
        Payload::ChannelState(v) => v,
        other => panic!("channel.state carries {other:?}"),
    }
}

#[tokio::test]
async fn channel_state_snapshots_are_published_and_coalesced() {
    let peer = Peer::start(&[]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("lab"))
            .user("stater")
            .state_interval(Duration::from_millis(500)),
    );
    // The join's `playlist` frame is a playlist.snapshot, and a channel.state follows the
    // join (priorities may reorder the three).
    let (mut playlist, mut joined, mut first) = (None, false, None);
    while playlist.is_none() || !joined || first.is_none() {
        let ev = bot
            .next("the join's events", |e| {
                let t = e.topic.as_str();
                t.ends_with("playlist.snapshot")
                    || t.ends_with("channel.joined")
                    || t.ends_with("channel.state")
            })
            .await;
        match ev.topic.as_str() {
            "platform.cytube.playlist.snapshot" => playlist = Some(ev),
            "platform.cytube.channel.joined" => joined = true,
            _ => first = first.or(Some(ev)),
        }
    }
    let playlist = playlist.expect("seen");
    assert!(matches!(&playlist.payload, Payload::PlaylistSnapshot(items) if items.is_empty()));
    let first = first.expect("seen");
    let state = snapshot_json(&first);
    assert_eq!(state["me"], "stater");
    assert!(state["users"]["stater"].is_object(), "{state}");
    assert_eq!(state["options"]["chat_antiflood"], false);

    // 60 items queued at once (180 frames): a couple of snapshots, the last one complete.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let start = std::time::Instant::now();
    peer.control("queue", &[("chan", "lab"), ("n", "60")]).await;
    let mut burst = Vec::new();
    let complete = |ev: &Event| {
        snapshot_json(ev)["playlist"]
            .as_array()
            .is_some_and(|p| p.len() == 60)
    };
    while !burst.last().is_some_and(|e: &Arc<Event>| complete(e)) {
        let ev = bot
            .next(
                "snapshots of the burst",
                is("platform.cytube.channel.state"),
            )
            .await;
        burst.push(ev);
    }
    // Leading edge plus one per interval while frames kept coming (a loaded machine may
    // spread the burst); without coalescing this would be ~180.
    let intervals = (start.elapsed().as_millis() / 500) as usize;
    assert!(
        burst.len() <= 2 + intervals && burst.len() < 10,
        "{} snapshots for one burst over {:?}",
        burst.len(),
        start.elapsed()
    );
    let last = snapshot_json(burst.last().expect("a snapshot"));
    assert_eq!(last["current_uid"], 0);
    // Nothing more is published once the burst is over.
    assert!(
        snapshots(&mut bot, Duration::from_millis(700))
            .await
            .is_empty()
    );

    // A plugin that starts late asks for the state with the `state` action.
    bot.custom("lab", "state", Value::Null)
        .await
        .expect("state action");
    let asked = snapshots(&mut bot, Duration::from_millis(300)).await;
    assert_eq!(asked.len(), 1, "the snapshot answers at once");
    assert_eq!(
        snapshot_json(&asked[0])["playlist"]
            .as_array()
            .map(Vec::len),
        Some(60)
    );
    bot.stop().await;
}

#[tokio::test]
async fn discovery_prefers_the_secure_server_and_chats_over_wss() {
    let peer = Peer::start(&[("PEER_TLS", "1")]);
    // /socketconfig lists a plain entry first (which cannot connect) and a secure one.
    let mut bot = Bot::start(
        CytubeConfig::new(peer.web())
            .room(RoomConfig::new("labchan"))
            .user("ownerbot")
            .password("hunter22")
            .tls_root(common::ca_path()),
    );
    bot.joined("labchan").await;
    assert_eq!(
        bot.platform.channel_state("labchan").map(|s| s.my_rank),
        Some(5.0)
    );
    peer.control(
        "chat",
        &[("chan", "labchan"), ("user", "alice"), ("msg", "over tls")],
    )
    .await;
    let ev = bot
        .next("chat over wss", is("platform.cytube.chat.message"))
        .await;
    assert_eq!(ev.payload.chat().map(|m| m.text.as_str()), Some("over tls"));
    bot.act(
        "labchan",
        ActionKind::Say {
            text: "secure hello".into(),
        },
    )
    .await
    .expect("say over wss");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = peer.log().await;
    assert!(
        log.iter()
            .any(|(u, e, a)| u == "ownerbot" && e == "chatMsg" && a["msg"] == "secure hello")
    );
    bot.stop().await;
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_clear_connection_error() {
    let peer = Peer::start(&[("PEER_TLS", "1")]);
    // No tls_root: the peer's private CA is not trusted.
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("lab"))
            .user("nobody"),
    );
    let down = bot
        .next("connection.down", is("platform.cytube.connection.down"))
        .await;
    assert!(
        matches!(&down.payload, Payload::ConnectionDown { reason } if reason.to_lowercase().contains("certificate")),
        "{down:?}"
    );
    assert!(!bot.platform.is_joined("lab"));
    bot.stop().await;
}

#[tokio::test]
async fn polls_leader_and_playlist_refresh_against_the_peer() {
    let peer = Peer::start(&[]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("labchan"))
            .user("ownerbot")
            .password("hunter22"),
    );
    bot.joined("labchan").await;
    peer.control(
        "join",
        &[("chan", "labchan"), ("user", "alice"), ("rank", "0")],
    )
    .await;
    bot.next("alice", is("platform.cytube.user.joined")).await;

    // Polls: open, vote, close; the state follows the server's answers.
    bot.custom(
        "labchan",
        "poll",
        json!({"title": "snack?", "options": ["tea", "cake"]}),
    )
    .await
    .expect("poll opened");
    bot.next("newPoll", is("platform.cytube.raw.newPoll")).await;
    bot.custom("labchan", "vote", json!({"option": 1}))
        .await
        .expect("voted");
    bot.next("updatePoll", is("platform.cytube.raw.updatePoll"))
        .await;
    let poll = bot
        .platform
        .channel_state("labchan")
        .and_then(|s| s.poll)
        .expect("open poll");
    assert_eq!(poll.options, ["tea", "cake"]);
    assert_eq!(
        serde_json::to_value(&poll.counts).expect("json"),
        json!([0.0, 1.0])
    );
    bot.custom("labchan", "close_poll", Value::Null)
        .await
        .expect("closed");
    bot.next("closePoll", is("platform.cytube.raw.closePoll"))
        .await;
    assert!(
        bot.platform
            .channel_state("labchan")
            .is_some_and(|s| s.poll.is_none())
    );

    // Leader: assigned and removed.
    bot.custom("labchan", "leader", json!({"user": "alice"}))
        .await
        .expect("leader");
    bot.next("setLeader", |e| {
        e.topic.as_str() == "platform.cytube.channel.changed"
            && matches!(&e.payload, Payload::ChannelState(v) if v["data"] == "alice")
    })
    .await;
    assert_eq!(
        bot.platform.channel_state("labchan").and_then(|s| s.leader),
        Some("alice".to_owned())
    );
    bot.custom("labchan", "leader", json!(""))
        .await
        .expect("no leader");
    bot.next("leader removed", |e| {
        matches!(&e.payload, Payload::ChannelState(v) if v["event"] == "setLeader" && v["data"] == "")
    })
    .await;

    // Playlist refresh: once, then refused locally for 60 s (CyTube's throttle).
    bot.custom("labchan", "playlist", Value::Null)
        .await
        .expect("requestPlaylist");
    bot.next(
        "refreshed playlist",
        is("platform.cytube.playlist.snapshot"),
    )
    .await;
    let err = bot
        .custom("labchan", "playlist", Value::Null)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("60 s"), "{err}");
    assert_eq!(peer.count("requestPlaylist").await, 1);
    bot.stop().await;

    // A guest (rank 0) may vote but not run polls or assign a leader: refused before
    // anything is sent, since CyTube kicks for `assignLeader`.
    let mut guest = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("labchan"))
            .user("pollguest"),
    );
    guest.joined("labchan").await;
    let err = guest
        .custom("labchan", "leader", json!({"user": "alice"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("leaderctl"), "{err}");
    let err = guest
        .custom("labchan", "poll", json!({"title": "t", "options": ["x"]}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("pollctl"), "{err}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(peer.count("assignLeader").await, 2, "only the owner's two");
    assert_eq!(peer.count("newPoll").await, 1);
    assert!(guest.platform.is_joined("labchan"), "not kicked");
    guest.stop().await;
}

#[tokio::test]
async fn reconnects_and_drops_are_counted_by_cause() {
    let peer = Peer::start(&[("PEER_PING_INTERVAL", "300"), ("PEER_PING_TIMEOUT", "300")]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("lab"))
            .user("counter"),
    );
    bot.joined("lab").await;
    let first = bot.platform.metrics("lab").expect("metrics");
    assert_eq!((first.connects, first.reconnects, first.joins), (1, 0, 1));
    assert!(first.drops.is_empty());
    peer.control("kill", &[]).await;
    bot.next("connection.down", is("platform.cytube.connection.down"))
        .await;
    bot.joined("lab").await;
    peer.control("freeze", &[]).await;
    bot.next("connection.down", is("platform.cytube.connection.down"))
        .await;
    bot.joined("lab").await;
    let m = bot.platform.metrics("lab").expect("metrics");
    assert_eq!(
        (m.attempts, m.connects, m.reconnects, m.joins),
        (3, 3, 2, 3),
        "{m}"
    );
    assert_eq!(m.drops.get("dead_link"), Some(&1), "{m}");
    assert_eq!(m.drops.values().sum::<u64>(), 2, "{m}");
    assert_eq!(bot.platform.total_metrics(), m);
    bot.stop().await;
}

#[tokio::test]
async fn six_channels_keep_to_the_per_ip_connect_bucket() {
    // The peer's bucket is CyTube's: 5 connects at once, then one per 10 s.
    let peer = Peer::start(&[("PEER_CONNECT_BURST", "5")]);
    let channels = ["c1", "c2", "c3", "c4", "c5", "c6"];
    let mut config = CytubeConfig::new(peer.ws()).user("sixer");
    for c in channels {
        config = config.room(RoomConfig::new(c));
    }
    let start = std::time::Instant::now();
    let mut bot = Bot::start(config);
    let mut pending = channels.to_vec();
    while !pending.is_empty() {
        let ev = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let ev = bot.events.recv().await.expect("bus open");
                if ev.topic.as_str() == "platform.cytube.channel.joined" {
                    return ev;
                }
            }
        })
        .await
        .expect("every channel joined within 20 s");
        pending.retain(|c| Some(*c) != ev.channel());
    }
    // The sixth waited for a refilled token instead of drawing `44 Rate limit exceeded`.
    assert!(
        start.elapsed() >= Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(peer.count("connectRefused").await, 0);
    assert!(bot.platform.total_metrics().drops.is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn a_server_cooldown_pauses_chat_before_the_next_message() {
    let peer = Peer::start(&[]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("lab"))
            .user("cooled"),
    );
    bot.joined("lab").await;
    // As if another client on our IP had spent the limiter: the server says `cooldown`.
    peer.control("send", &[("frame", r#"42["cooldown",1000]"#)])
        .await;
    bot.next("cooldown", is("platform.cytube.raw.cooldown"))
        .await;
    let start = std::time::Instant::now();
    for text in ["after", "the", "pause"] {
        bot.act("lab", ActionKind::Say { text: text.into() })
            .await
            .expect("say");
    }
    let took = start.elapsed();
    // About 1 s of pause, then the sustained rate (10/s), not a fresh burst.
    assert!(took >= Duration::from_millis(1100), "{took:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(peer.count("chatMsg").await, 3);
    bot.stop().await;
}

#[tokio::test]
async fn a_clean_server_close_is_reconnected_with_the_desired_state() {
    let peer = Peer::start(&[]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("secret").with_password("sekrit"))
            .user("closer"),
    );
    bot.joined("secret").await;
    // Engine.IO close (`1`) and a websocket close frame: not a kick, so reconnect.
    peer.control("close", &[]).await;
    let down = bot
        .next("connection.down", is("platform.cytube.connection.down"))
        .await;
    assert!(
        matches!(&down.payload, Payload::ConnectionDown { reason } if reason.contains("closed")),
        "{down:?}"
    );
    bot.joined("secret").await;
    let joins: Vec<Value> = peer
        .log()
        .await
        .into_iter()
        .filter(|(_, e, _)| e == "joinChannel")
        .map(|(_, _, a)| a)
        .collect();
    assert_eq!(joins.len(), 2);
    assert!(
        joins.iter().all(|a| a["pw"] == "***"),
        "password replayed: {joins:?}"
    );
    let m = bot.platform.metrics("secret").expect("metrics");
    assert_eq!((m.reconnects, m.drops.get("closed")), (1, Some(&1)), "{m}");
    bot.stop().await;
}

#[tokio::test]
async fn the_channel_password_never_reaches_the_bus() {
    let peer = Peer::start(&[]);
    let mut bot = Bot::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("secret").with_password("sekrit"))
            .user("keeper"),
    );
    // CyTube's channelOpts carries `"password":"sekrit"`; collect everything up to the
    // first snapshot and look for it in payloads and raw frames.
    let mut seen = Vec::new();
    let snapshot = tokio::time::timeout(WAIT, async {
        loop {
            let ev = bot.events.recv().await.expect("bus open");
            seen.push(ev.clone());
            if ev.topic.as_str() == "platform.cytube.channel.state" {
                return ev;
            }
        }
    })
    .await
    .expect("a snapshot");
    assert!(
        seen.iter()
            .any(|e| matches!(&e.payload, Payload::ChannelState(v) if v["event"] == "channelOpts")),
        "channelOpts was published"
    );
    let opts = &snapshot_json(&snapshot)["options"];
    assert_eq!(opts["password"], true, "{opts}");
    for ev in &seen {
        let text = serde_json::to_string(&**ev).expect("events serialize");
        assert!(!text.contains("sekrit"), "{text}");
    }
    let state = bot.platform.channel_state("secret").expect("state");
    assert!(!format!("{state:?}").contains("sekrit"));
    bot.stop().await;
}
