//! Whole-bot behaviour through `botkit::testing`: commands, errors, plugin isolation,
//! shutdown, rate limits — what a bot author would notice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use botkit::action::{Action, ActionKind, Delivery, Outcome};
use botkit::bus::Subscription;
use botkit::command::{CommandError, CommandSpec};
use botkit::event::{Event, Payload, Role};
use botkit::platform::Capabilities;
use botkit::plugin::{Command, Context, Plugin, PluginError, PluginState, RestartPolicy};
use botkit::ratelimit::Limit;
use botkit::testing::{TestBot, TestMessage, mock_source};
use tokio::sync::Mutex;
use tokio::time::Instant;

struct Greeter;

#[async_trait]
impl Plugin for Greeter {
    fn name(&self) -> &str {
        "greeter"
    }
    fn subscriptions(&self) -> Vec<Subscription> {
        vec![Subscription::to("platform.*.user.joined")]
    }
    async fn handle(&self, event: &Event, ctx: &Context) -> Result<(), PluginError> {
        if let Payload::UserJoined(user) = &event.payload {
            ctx.reply(event, format!("welcome, {}!", user.display_name))
                .await?;
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn greets_newcomers() {
    let mut bot = TestBot::new().plugin(Greeter).start().await;
    bot.join("alice").await;
    assert_eq!(bot.next_said().await, "welcome, alice!");
    bot.stop().await.unwrap();
}

/// A plugin with a moderator command, a cooldown command and a failing command.
struct Mod;

#[async_trait]
impl Plugin for Mod {
    fn name(&self) -> &str {
        "mod"
    }
    fn commands(&self) -> Vec<Command> {
        vec![
            Command::new(
                CommandSpec::new("timeout")
                    .description("times a user out")
                    .role(Role::Moderator)
                    .arg::<String>("user", "who")
                    .arg::<Duration>("duration", "how long"),
                |call, ctx| async move {
                    let user: String = call.arg("user")?;
                    let duration: Duration = call.arg("duration")?;
                    let action = Action::new(
                        call.event.source.clone(),
                        ActionKind::Timeout {
                            user,
                            duration_secs: duration.as_secs(),
                            reason: None,
                        },
                    );
                    ctx.act_ok(action).await?;
                    Ok(())
                },
            ),
            Command::new(
                CommandSpec::new("roll")
                    .alias("dice")
                    .cooldown_user(Duration::from_secs(30)),
                |call, ctx| async move {
                    ctx.reply(&call.event, "4").await?;
                    Ok(())
                },
            ),
            Command::new(CommandSpec::new("broken"), |_call, _ctx| async move {
                Err(PluginError::msg("the database is on fire"))
            }),
        ]
    }
}

#[tokio::test(start_paused = true)]
async fn moderator_command_checks_role_and_parses_typed_args() {
    let mut bot = TestBot::new().plugin(Mod).start().await;
    bot.say("pleb", "!timeout bob 10m").await;
    let said = bot.next_said().await;
    assert!(said.contains("moderator"), "{said}");

    bot.say_as("mo", &[Role::Moderator], "!timeout bob 10m")
        .await;
    let action = bot.next_action().await;
    assert_eq!(
        action.kind,
        ActionKind::Timeout {
            user: "bob".into(),
            duration_secs: 600,
            reason: None
        }
    );

    bot.say_as("mo", &[Role::Moderator], "!timeout bob soon")
        .await;
    let said = bot.next_said().await;
    assert!(
        said.contains("soon"),
        "bad argument names the input: {said}"
    );
    bot.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn cooldown_per_user_with_paused_time() {
    let mut bot = TestBot::new().plugin(Mod).start().await;
    bot.say("alice", "!roll").await;
    assert_eq!(bot.next_said().await, "4");
    bot.say("alice", "!dice").await;
    let said = bot.next_said().await;
    assert!(said.contains("cooldown"), "{said}");
    // Another user is not affected.
    bot.say("bob", "!roll").await;
    assert_eq!(bot.next_said().await, "4");
    tokio::time::advance(Duration::from_secs(31)).await;
    bot.say("alice", "!roll").await;
    assert_eq!(bot.next_said().await, "4");
    bot.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn every_failure_reaches_the_one_error_hook() {
    let seen: Arc<Mutex<Vec<CommandError>>> = Arc::default();
    let sink = seen.clone();
    let mut bot = TestBot::new()
        .plugin(Mod)
        .on_command_error(move |f| {
            let sink = sink.clone();
            async move { sink.lock().await.push(f.error) }
        })
        .start()
        .await;
    bot.say("a", "!nosuch").await;
    bot.say("a", "!timeout x 1m").await;
    bot.say("a", "!roll").await;
    bot.say("a", "!roll").await;
    bot.say("a", "!broken").await;
    bot.say_as("m", &[Role::Moderator], "!timeout x").await;
    bot.say_as("m", &[Role::Moderator], "!timeout \"x").await;
    bot.settle().await;
    let seen = seen.lock().await;
    let kinds: Vec<&str> = seen
        .iter()
        .map(|e| match e {
            CommandError::UnknownCommand { .. } => "unknown",
            CommandError::MissingRole { .. } => "role",
            CommandError::Cooldown { .. } => "cooldown",
            CommandError::HandlerFailed { .. } => "handler",
            CommandError::Usage { .. } | CommandError::BadArgument { .. } => "argument",
            CommandError::Parse { .. } => "parse",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "unknown", "role", "cooldown", "handler", "argument", "parse"
        ]
    );
    // The roll that passed was answered; nothing else was said (the hook replaced replies).
    assert_eq!(bot.next_said().await, "4");
    bot.expect_silence(Duration::from_secs(1)).await;
    drop(seen);
    bot.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn generated_help_lists_and_explains() {
    let mut bot = TestBot::new().plugin(Mod).start().await;
    bot.say("a", "!help").await;
    let list = bot.next_said().await;
    assert!(list.contains("!roll"), "{list}");
    assert!(
        !list.contains("!timeout"),
        "a user sees only what they may run: {list}"
    );
    bot.say("a", "!help roll").await;
    let one = bot.next_said().await;
    assert!(one.contains("dice") && one.contains("30s"), "{one}");
    bot.stop().await.unwrap();
}

/// Fails on `boom`, panics on `panic`, counts everything else.
struct Fragile {
    inits: Arc<AtomicU32>,
    seen: Arc<AtomicU32>,
}

#[async_trait]
impl Plugin for Fragile {
    fn name(&self) -> &str {
        "fragile"
    }
    fn subscriptions(&self) -> Vec<Subscription> {
        vec![Subscription::to("platform.*.chat.message")]
    }
    async fn init(&self, _ctx: &Context) -> Result<(), PluginError> {
        self.inits.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn handle(&self, event: &Event, _ctx: &Context) -> Result<(), PluginError> {
        match event.payload.chat().map(|m| m.text.as_str()) {
            Some("panic") => panic!("fragile plugin panicked on purpose"),
            Some("boom") => Err(PluginError::msg("boom")),
            _ => {
                self.seen.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn panicking_plugin_is_isolated_reported_and_restarted() {
    let inits = Arc::new(AtomicU32::new(0));
    let seen = Arc::new(AtomicU32::new(0));
    let mut bot = TestBot::new()
        .plugin(Fragile {
            inits: inits.clone(),
            seen: seen.clone(),
        })
        .plugin(Greeter)
        .start()
        .await;
    let mut failures = bot
        .bus()
        .subscribe(Subscription::to("plugin.*.failed"))
        .unwrap();
    bot.say("a", "panic").await;
    let failed = failures.recv().await.unwrap();
    match &failed.payload {
        Payload::PluginFailed { plugin, error, .. } => {
            assert_eq!(plugin, "fragile");
            assert!(error.contains("on purpose"), "{error}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(bot.status_of("fragile").state, PluginState::Restarting);
    // The other plugin carries on meanwhile.
    bot.join("carol").await;
    assert_eq!(bot.next_said().await, "welcome, carol!");
    // After the backoff (2 s ± 25 %) it is running again and handles events.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(bot.status_of("fragile").state, PluginState::Running);
    assert_eq!(inits.load(Ordering::SeqCst), 2);
    bot.say("a", "hello").await;
    bot.settle().await;
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    let status = bot.status_of("fragile");
    assert_eq!((status.failures, status.restarts), (1, 1));
    bot.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_plugin_out_of_restarts_stays_failed() {
    let inits = Arc::new(AtomicU32::new(0));
    let bot = TestBot::new()
        .plugin_with_policy(
            Fragile {
                inits: inits.clone(),
                seen: Arc::default(),
            },
            RestartPolicy::never(),
        )
        .start()
        .await;
    bot.say("a", "boom").await;
    bot.settle().await;
    tokio::time::sleep(Duration::from_secs(600)).await;
    let status = bot.status_of("fragile");
    assert_eq!(status.state, PluginState::Failed);
    assert_eq!(status.last_error.as_deref(), Some("boom"));
    bot.say("a", "ignored").await;
    bot.settle().await;
    assert_eq!(bot.status_of("fragile").skipped, 1);
    assert_eq!(inits.load(Ordering::SeqCst), 1);
    bot.stop().await.unwrap();
}

/// Takes a while per message, then answers.
struct Slow;

#[async_trait]
impl Plugin for Slow {
    fn name(&self) -> &str {
        "slow"
    }
    fn subscriptions(&self) -> Vec<Subscription> {
        vec![Subscription::to("platform.*.chat.message")]
    }
    async fn handle(&self, event: &Event, ctx: &Context) -> Result<(), PluginError> {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let text = event
            .payload
            .chat()
            .map(|m| m.text.clone())
            .unwrap_or_default();
        ctx.reply(event, format!("done {text}")).await?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_drains_queued_events_before_stopping() {
    let mut bot = TestBot::new().plugin(Slow).start().await;
    for i in 0..3 {
        bot.say("a", &i.to_string()).await;
    }
    let handle = bot.handle().clone();
    handle.shutdown();
    // Every queued event still gets its answer.
    for i in 0..3 {
        assert_eq!(bot.next_said().await, format!("done {i}"));
    }
    bot.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn outgoing_rate_limit_per_channel_and_long_text_split() {
    let caps = Capabilities::new(20).with_limits(None, Some(Limit::new(1, Duration::from_secs(1))));
    let mut bot = TestBot::new().capabilities(caps).start().await;
    let ctx_bus = bot.bus().clone();
    let start = Instant::now();
    let text = "one two three four five six seven eight nine ten eleven";
    let req = Event::new(
        Action::say(mock_source("#test"), text).topic().unwrap(),
        mock_source("#test"),
        Payload::Action(Action::say(mock_source("#test"), text)),
    );
    let reply = ctx_bus.request(req, Duration::from_secs(30)).await.unwrap();
    assert!(matches!(
        reply.payload,
        Payload::Outcome(Outcome::Done { .. })
    ));
    let mut parts = Vec::new();
    while let Some(a) = bot.try_next_action(Duration::from_millis(1)).await {
        parts.push(a.kind.text().unwrap().to_owned());
    }
    assert!(parts.len() >= 3, "{parts:?}");
    assert!(parts.iter().all(|p| p.chars().count() <= 20), "{parts:?}");
    assert_eq!(parts.join(" "), text);
    // One message per second per channel: the parts took (n-1) seconds at least.
    assert!(start.elapsed() >= Duration::from_secs(parts.len() as u64 - 1));
    bot.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn drop_delivery_is_dropped_when_rate_limited() {
    let caps =
        Capabilities::new(100).with_limits(Some(Limit::new(1, Duration::from_secs(30))), None);
    let mut bot = TestBot::new().capabilities(caps).start().await;
    let bus = bot.bus().clone();
    let ask = |text: &str| {
        let action = Action::say(mock_source("#test"), text).with_delivery(Delivery::Drop);
        Event::new(
            action.topic().unwrap(),
            mock_source("#test"),
            Payload::Action(action),
        )
    };
    let first = bus.request(ask("a"), Duration::from_secs(5)).await.unwrap();
    let second = bus.request(ask("b"), Duration::from_secs(5)).await.unwrap();
    assert!(matches!(
        first.payload,
        Payload::Outcome(Outcome::Done { .. })
    ));
    assert!(
        matches!(second.payload, Payload::Outcome(Outcome::Dropped { .. })),
        "{:?}",
        second.payload
    );
    assert_eq!(bot.next_said().await, "a");
    bot.expect_silence(Duration::from_secs(1)).await;
    bot.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn actions_for_unknown_instances_fail_clearly() {
    let bot = TestBot::new().start().await;
    let action = Action::say(
        botkit::event::Source::new("mock", "other", Some("#x")),
        "hi",
    );
    let req = Event::new(
        action.topic().unwrap(),
        botkit::event::Source::bot(),
        Payload::Action(action),
    );
    let reply = bot
        .bus()
        .request(req, Duration::from_secs(5))
        .await
        .unwrap();
    match &reply.payload {
        Payload::Outcome(Outcome::Failed { error, transient }) => {
            assert!(error.contains("other"), "{error}");
            assert!(!transient);
        }
        other => panic!("unexpected {other:?}"),
    }
    bot.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn commands_come_from_channel_chat_not_whispers() {
    let mut bot = TestBot::new().plugin(botkit::builtin::Echo).start().await;
    bot.send(TestMessage::new("dora", "!echo psst").whisper())
        .await;
    // The command router listens to channel chat only.
    bot.expect_silence(Duration::from_secs(1)).await;
    bot.say("dora", "!echo hello there").await;
    assert_eq!(bot.next_said().await, "hello there");
    bot.stop().await.unwrap();
}

/// A bot too small for a plugin type: commands straight on the builder, with their specs
/// checked and answered like any plugin's, and help listing them.
#[tokio::test(start_paused = true)]
async fn commands_on_the_builder_need_no_plugin() {
    let mut bot = TestBot::new()
        .command(
            CommandSpec::new("ping").description("answers pong"),
            |call, ctx| async move {
                ctx.reply(&call.event, "pong").await?;
                Ok(())
            },
        )
        .command(
            CommandSpec::new("add")
                .arg::<i64>("a", "first")
                .arg::<i64>("b", "second"),
            |call, ctx| async move {
                let sum = call.arg::<i64>("a")? + call.arg::<i64>("b")?;
                ctx.reply(&call.event, sum.to_string()).await?;
                Ok(())
            },
        )
        .start()
        .await;
    bot.say("alice", "!ping").await;
    assert_eq!(bot.next_said().await, "pong");
    bot.say("alice", "!add 2 40").await;
    assert_eq!(bot.next_said().await, "42");
    bot.say("alice", "!add 2 x").await;
    let said = bot.next_said().await;
    assert!(said.contains("`x`"), "a bad argument is answered: {said}");
    assert!(bot.plugin_status().iter().any(|s| s.name == "commands"));
}
