//! End to end through the real runtime: a `botkit::Bot` with a `CytubePlatform` and a small
//! command plugin, against the CyTube-like Socket.IO peer. A peer-side user chats, the
//! plugin answers through the bus, the runtime's outgoing path and the platform, and the
//! tests read what the peer received: answers, long answers split to CyTube's 320 limit,
//! and bursts that must never trip the server's flood `cooldown`.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use botkit::action::{Action, ActionKind};
use botkit::bus::{Subscriber, Subscription};
use botkit::event::{Event, Payload, Source};
use botkit::runtime::{Bot, BotHandle};
use botkit::{Command, CommandSpec, Plugin};
use botkit_cytube::{CytubeConfig, CytubePlatform, RoomConfig};
use tokio::task::JoinHandle;

mod common;
use common::Peer;

const WAIT: Duration = Duration::from_secs(15);

/// The long answer: 120 words, some of them outside the BMP (CyTube counts UTF-16 units).
fn long_answer() -> String {
    (0..120)
        .map(|i| {
            if i % 7 == 3 {
                "😀😀😀😀😀😀".to_owned()
            } else {
                format!("word{i:03}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

struct Answers;

#[async_trait]
impl Plugin for Answers {
    fn name(&self) -> &str {
        "answers"
    }

    fn commands(&self) -> Vec<Command> {
        vec![
            Command::new(CommandSpec::new("ping"), |call, ctx| async move {
                ctx.reply(&call.event, "pong").await?;
                Ok(())
            }),
            Command::new(CommandSpec::new("long"), |call, ctx| async move {
                ctx.reply(&call.event, long_answer()).await?;
                Ok(())
            }),
            Command::new(
                CommandSpec::new("n").arg::<u32>("i", "a number to echo"),
                |call, ctx| async move {
                    let i: u32 = call.arg("i")?;
                    ctx.say(&call.event.source, format!("n{i}")).await?;
                    Ok(())
                },
            ),
        ]
    }
}

struct Running {
    handle: BotHandle,
    task: JoinHandle<Result<(), botkit::runtime::BotError>>,
}

impl Running {
    async fn start(config: CytubeConfig, channel: &str) -> Running {
        let platform =
            CytubePlatform::new("main", config.timeout(Duration::from_secs(5))).expect("config");
        let bot = Bot::builder()
            .platform(platform)
            .plugin(Answers)
            .handle_signals(false)
            .build()
            .expect("bot builds");
        let handle = bot.handle();
        let mut joined = handle
            .bus()
            .subscribe(Subscription::to("platform.cytube.channel.joined"))
            .expect("subscribe");
        let task = tokio::spawn(bot.run());
        wait_for(&mut joined, channel).await;
        Running { handle, task }
    }

    async fn stop(self) {
        self.handle.shutdown();
        let result = tokio::time::timeout(WAIT, self.task)
            .await
            .expect("bot stops in time")
            .expect("bot task did not panic");
        assert!(result.is_ok(), "{result:?}");
    }
}

async fn wait_for(sub: &mut Subscriber, channel: &str) {
    tokio::time::timeout(WAIT, async {
        while let Some(ev) = sub.recv().await {
            if ev.channel() == Some(channel) {
                return;
            }
        }
    })
    .await
    .expect("the bot joined the channel");
}

/// What `user` sent as chat, in the order the peer received it, once `n` messages are in.
async fn said(peer: &Peer, user: &str, n: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        let msgs: Vec<String> = peer
            .log()
            .await
            .into_iter()
            .filter(|(u, e, _)| u == user && e == "chatMsg")
            .filter_map(|(_, _, a)| a["msg"].as_str().map(str::to_owned))
            .collect();
        if msgs.len() >= n || start.elapsed() > WAIT {
            return msgs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn chat(peer: &Peer, chan: &str, user: &str, msg: &str) {
    peer.control("chat", &[("chan", chan), ("user", user), ("msg", msg)])
        .await;
}

/// CyTube truncates at 320 JavaScript string units (UTF-16).
fn cytube_len(s: &str) -> usize {
    s.encode_utf16().count()
}

#[tokio::test]
async fn the_bot_answers_through_the_runtime_and_splits_long_answers() {
    let peer = Peer::start(&[]);
    let bot = Running::start(
        CytubeConfig::new(peer.web())
            .room(RoomConfig::new("lab"))
            .user("rtbot"),
        "lab",
    )
    .await;
    peer.control("join", &[("chan", "lab"), ("user", "alice"), ("rank", "0")])
        .await;
    chat(&peer, "lab", "alice", "!ping").await;
    assert_eq!(said(&peer, "rtbot", 1).await, ["alice: pong"]);

    chat(&peer, "lab", "alice", "!long").await;
    let expected = format!("alice: {}", long_answer());
    let mut parts = Vec::new();
    let start = Instant::now();
    while parts.join(" ") != expected && start.elapsed() < WAIT {
        parts = said(&peer, "rtbot", 2).await.split_off(1);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(parts.join(" "), expected, "every word arrives, in order");
    assert!(parts.len() >= 3, "{} parts", parts.len());
    for part in &parts {
        assert!(
            cytube_len(part) <= 320,
            "{} units: {part}",
            cytube_len(part)
        );
        assert!(!part.starts_with(' ') && !part.ends_with(' '), "{part:?}");
    }
    // Nothing beyond the answer was sent (no echo loop on our own messages).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(said(&peer, "rtbot", 0).await.len(), 1 + parts.len());
    assert_eq!(peer.count("cooldown").await, 0);
    bot.stop().await;
}

#[tokio::test]
async fn a_plugin_gets_the_channel_state_through_the_bus() {
    let peer = Peer::start(&[]);
    let bot = Running::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("lab"))
            .user("statebot")
            .state_interval(Duration::from_secs(60)),
        "lab",
    )
    .await;
    let bus = bot.handle.bus().clone();
    let mut states = bus
        .subscribe(Subscription::to("platform.cytube.channel.state"))
        .expect("subscribe");
    peer.control("join", &[("chan", "lab"), ("user", "alice"), ("rank", "0")])
        .await;
    // What `Context::act` does: a request on action.cytube.state, answered with an outcome.
    let action = Action::new(
        Source::new("cytube", "main", Some("lab")),
        ActionKind::Custom {
            name: "state".into(),
            args: serde_json::Value::Null,
        },
    );
    let request = Event::new(
        action.topic().expect("topic"),
        action.target.clone(),
        Payload::Action(action),
    );
    let reply = bus.request(request, WAIT).await.expect("an answer");
    assert!(
        matches!(&reply.payload, Payload::Outcome(o) if o.is_done()),
        "{reply:?}"
    );
    // The join's snapshot is older than alice; the requested one (within the 60 s interval)
    // has her.
    let fresh = tokio::time::timeout(WAIT, async {
        loop {
            let ev = states.recv().await.expect("bus open");
            if let Payload::ChannelState(state) = &ev.payload
                && state["users"]["alice"].is_object()
            {
                return state.clone();
            }
        }
    })
    .await
    .expect("a snapshot with alice");
    assert_eq!(fresh["me"], "statebot");
    bot.stop().await;
}

#[tokio::test]
async fn a_burst_of_answers_is_paced_not_cooled_down() {
    let peer = Peer::start(&[]);
    let bot = Running::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("lab"))
            .user("burstbot"),
        "lab",
    )
    .await;
    peer.control("join", &[("chan", "lab"), ("user", "alice"), ("rank", "0")])
        .await;
    let start = Instant::now();
    for i in 0..30 {
        chat(&peer, "lab", "alice", &format!("!n {i}")).await;
    }
    let mut got = said(&peer, "burstbot", 30).await;
    // 20 in a burst, then 10/s: the last 10 need about a second.
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
    got.sort();
    let mut want: Vec<String> = (0..30).map(|i| format!("n{i}")).collect();
    want.sort();
    assert_eq!(got, want, "none lost");
    assert_eq!(
        peer.count("cooldown").await,
        0,
        "the server never cooled us down"
    );
    bot.stop().await;
}

#[tokio::test]
async fn the_channel_antiflood_is_kept_below_moderator_rank() {
    let peer = Peer::start(&[]);
    let bot = Running::start(
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("lab"))
            .user("slowbot"),
        "lab",
    )
    .await;
    // burst 3, then 2/s; cooldown 1.5 s.
    peer.control(
        "opts",
        &[
            ("chan", "lab"),
            (
                "set",
                r#"{"chat_antiflood":true,"chat_antiflood_params":{"burst":3,"sustained":2,"cooldown":1.5}}"#,
            ),
        ],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    for i in 0..7 {
        chat(&peer, "lab", "alice", &format!("!n {i}")).await;
    }
    let got = said(&peer, "slowbot", 7).await;
    assert_eq!(got.len(), 7, "{got:?}");
    // 3 at once, then 4 more at 2/s: at least 2 s.
    assert!(
        start.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        peer.count("cooldown").await,
        0,
        "the channel antiflood was respected"
    );
    bot.stop().await;
}

#[tokio::test]
async fn two_accounts_in_one_bot_answer_from_the_right_account() {
    let peer = Peer::start(&[]);
    let owner = CytubePlatform::new(
        "owner",
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("labchan"))
            .user("ownerbot")
            .password("hunter22"),
    )
    .expect("config");
    let guest = CytubePlatform::new(
        "guest",
        CytubeConfig::new(peer.ws())
            .room(RoomConfig::new("lab"))
            .user("guestbot"),
    )
    .expect("config");
    let bot = Bot::builder()
        .platform(owner)
        .platform(guest)
        .plugin(Answers)
        .handle_signals(false)
        .build()
        .expect("bot builds");
    let handle = bot.handle();
    let mut joined = handle
        .bus()
        .subscribe(Subscription::to("platform.cytube.channel.joined"))
        .expect("subscribe");
    let task = tokio::spawn(bot.run());
    let mut pending = vec!["labchan", "lab"];
    tokio::time::timeout(WAIT, async {
        while !pending.is_empty() {
            let ev = joined.recv().await.expect("bus open");
            pending.retain(|c| Some(*c) != ev.channel());
        }
    })
    .await
    .expect("both accounts joined");
    chat(&peer, "labchan", "alice", "!ping").await;
    chat(&peer, "lab", "bob", "!ping").await;
    assert_eq!(said(&peer, "ownerbot", 1).await, ["alice: pong"]);
    assert_eq!(said(&peer, "guestbot", 1).await, ["bob: pong"]);
    let running = Running { handle, task };
    running.stop().await;
}
