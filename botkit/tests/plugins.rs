//! Plugin manager behaviour a bot author relies on: init order from dependencies, config
//! sections (typed, enabled/disabled), the LLM through the context, setup errors.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use botkit::command::CommandSpec;
use botkit::config::Config;
use botkit::event::Payload;
use botkit::llm::{LlmError, LlmRequest};
use botkit::plugin::{Command, Context, Plugin, PluginError, PluginState};
use botkit::runtime::{Bot, BotError};
use botkit::testing::{ScriptedLlm, TestBot};
use serde::Deserialize;

/// Records its name into a shared log when initialized and stopped.
struct Recorder {
    name: &'static str,
    deps: Vec<String>,
    log: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Plugin for Recorder {
    fn name(&self) -> &str {
        self.name
    }
    fn dependencies(&self) -> Vec<String> {
        self.deps.clone()
    }
    async fn init(&self, _ctx: &Context) -> Result<(), PluginError> {
        self.log.lock().unwrap().push(format!("init {}", self.name));
        Ok(())
    }
    async fn stop(&self, _ctx: &Context) -> Result<(), PluginError> {
        self.log.lock().unwrap().push(format!("stop {}", self.name));
        Ok(())
    }
}

fn rec(name: &'static str, deps: &[&str], log: &Arc<Mutex<Vec<String>>>) -> Recorder {
    Recorder {
        name,
        deps: deps.iter().map(|d| (*d).to_owned()).collect(),
        log: log.clone(),
    }
}

#[tokio::test(start_paused = true)]
async fn dependencies_decide_init_order_and_stop_goes_in_reverse() {
    let log = Arc::new(Mutex::new(Vec::new()));
    // Registered in the "wrong" order on purpose.
    let bot = TestBot::new()
        .plugin(rec("markov", &["store-tools", "filters"], &log))
        .plugin(rec("filters", &["store-tools"], &log))
        .plugin(rec("store-tools", &[], &log))
        .start()
        .await;
    bot.stop().await.unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        [
            "init store-tools",
            "init filters",
            "init markov",
            "stop markov",
            "stop filters",
            "stop store-tools"
        ]
    );
}

async fn run_expecting_setup_error(builder: botkit::runtime::BotBuilder) -> String {
    let bot = builder.handle_signals(false).build().unwrap();
    match tokio::time::timeout(Duration::from_secs(5), bot.run()).await {
        Ok(Err(e)) => e.to_string(),
        other => panic!("expected a setup error, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn missing_and_circular_dependencies_are_clear_startup_errors() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let err = run_expecting_setup_error(Bot::builder().plugin(rec("a", &["ghost"], &log))).await;
    assert!(
        err.contains("`a` depends on `ghost`, which is not registered"),
        "{err}"
    );

    let err = run_expecting_setup_error(Bot::builder().plugin(rec("a", &["b"], &log)).plugin(rec(
        "b",
        &["a"],
        &log,
    )))
    .await;
    assert!(
        err.contains("cycle") && err.contains('a') && err.contains('b'),
        "{err}"
    );
    assert!(log.lock().unwrap().is_empty(), "nothing was initialized");

    let config = Config::from_str_named("[plugins.b]\nenabled = false\n", "bot.toml").unwrap();
    let err = run_expecting_setup_error(
        Bot::builder()
            .config(config)
            .plugin(rec("a", &["b"], &log))
            .plugin(rec("b", &[], &log)),
    )
    .await;
    assert!(
        err.contains("`b`, which is disabled in the config"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_plugin_disabled_in_config_never_runs_and_shows_as_disabled() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let bot = TestBot::new()
        .config_toml("[plugins.quiet]\nenabled = false\n")
        .plugin(rec("quiet", &[], &log))
        .plugin(rec("loud", &[], &log))
        .start()
        .await;
    assert_eq!(bot.status_of("quiet").state, PluginState::Disabled);
    assert_eq!(bot.status_of("loud").state, PluginState::Running);
    bot.stop().await.unwrap();
    assert_eq!(*log.lock().unwrap(), ["init loud", "stop loud"]);
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct GreetConfig {
    #[serde(default = "default_greeting")]
    greeting: String,
    times: u32,
}

fn default_greeting() -> String {
    "hi".to_owned()
}

/// Reads its typed config in `init` and answers `!greet` with it.
struct Configured {
    seen: Arc<Mutex<Option<Result<GreetConfig, String>>>>,
}

#[async_trait]
impl Plugin for Configured {
    fn name(&self) -> &str {
        "greet"
    }
    async fn init(&self, ctx: &Context) -> Result<(), PluginError> {
        let cfg = ctx.config::<GreetConfig>().map_err(|e| e.to_string());
        *self.seen.lock().unwrap() = Some(cfg);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn typed_plugin_config_is_read_with_defaults_and_errors_name_the_key() {
    let seen = Arc::new(Mutex::new(None));
    let bot = TestBot::new()
        .config_toml("[plugins.greet]\ntimes = 3\n")
        .plugin(Configured { seen: seen.clone() })
        .start()
        .await;
    bot.stop().await.unwrap();
    assert_eq!(
        seen.lock().unwrap().take().unwrap().unwrap(),
        GreetConfig {
            greeting: "hi".into(),
            times: 3
        }
    );

    let bot = TestBot::new()
        .config_toml("[bot]\nname = \"x\"\n\n[plugins.greet]\ntimes = \"three\"\n")
        .plugin(Configured { seen: seen.clone() })
        .start()
        .await;
    bot.stop().await.unwrap();
    let err = seen.lock().unwrap().take().unwrap().unwrap_err();
    assert!(err.contains("plugins.greet.times"), "{err}");
    assert!(err.contains("test.toml:5"), "names file and line: {err}");

    // No section at all: a required field is named.
    let bot = TestBot::new()
        .plugin(Configured { seen: seen.clone() })
        .start()
        .await;
    bot.stop().await.unwrap();
    let err = seen.lock().unwrap().take().unwrap().unwrap_err();
    assert!(err.contains("times"), "{err}");
}

/// `!ask <question>` answers through the LLM; LLM failures become a polite answer.
struct Ask;

#[async_trait]
impl Plugin for Ask {
    fn name(&self) -> &str {
        "ask"
    }
    fn commands(&self) -> Vec<Command> {
        vec![Command::new(
            CommandSpec::new("ask").required_rest_arg("question", "what to ask"),
            |call, ctx| async move {
                let request = LlmRequest::prompt(call.args.rest()).with_system("be brief");
                let text = match ctx.llm()?.generate(request).await {
                    Ok(answer) => answer.text,
                    Err(e) if e.is_transient() => "the model is busy, try again".to_owned(),
                    Err(e) => return Err(e.into()),
                };
                ctx.reply(&call.event, text).await?;
                Ok(())
            },
        )]
    }
}

#[tokio::test(start_paused = true)]
async fn plugins_reach_the_llm_through_the_context() {
    let llm = ScriptedLlm::from_results([
        Ok("forty-two".to_owned()),
        Err(LlmError::Timeout(Duration::from_secs(30))),
    ])
    .with_delay(Duration::from_secs(2));
    let requests = llm.requests();
    let mut bot = TestBot::new().llm(llm).plugin(Ask).start().await;
    bot.say("alice", "!ask what is the answer").await;
    assert_eq!(bot.next_said().await, "forty-two");
    bot.say("alice", "!ask again").await;
    assert_eq!(bot.next_said().await, "the model is busy, try again");
    {
        let requests = requests.lock().unwrap();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].system.as_deref(), Some("be brief"));
        assert_eq!(requests[0].turns[0].content, "what is the answer");
    }
    bot.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_bot_without_llm_says_so_instead_of_crashing() {
    let mut bot = TestBot::new().plugin(Ask).start().await;
    bot.say("alice", "!ask anything").await;
    let said = bot.next_said().await;
    assert!(said.contains("failed"), "{said}");
    bot.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn duplicate_command_names_are_a_setup_error() {
    struct Twin(&'static str);
    #[async_trait]
    impl Plugin for Twin {
        fn name(&self) -> &str {
            self.0
        }
        fn commands(&self) -> Vec<Command> {
            vec![Command::new(CommandSpec::new("roll"), |_c, _x| async {
                Ok(())
            })]
        }
    }
    let err = run_expecting_setup_error(Bot::builder().plugin(Twin("a")).plugin(Twin("b"))).await;
    assert!(err.contains("roll"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn two_platforms_with_one_id_are_refused_at_build() {
    let (a, _ra) = botkit::testing::MockPlatform::new(botkit::platform::Capabilities::new(10));
    let (b, _rb) = botkit::testing::MockPlatform::new(botkit::platform::Capabilities::new(10));
    let err = Bot::builder().platform(a).platform(b).build().unwrap_err();
    assert!(matches!(err, BotError::Setup(_)));
    assert!(err.to_string().contains("mock"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn plugin_custom_events_reach_other_plugins() {
    let bot = TestBot::new().start().await;
    let mut sub = bot
        .bus()
        .subscribe(botkit::bus::Subscription::to("plugin.*.scored"))
        .unwrap();
    let ctx = Context::new(
        "quiz",
        bot.bus().clone(),
        Arc::new(botkit::store::MemoryStore::new()),
        None,
        None,
        Default::default(),
    );
    ctx.emit("scored", serde_json::json!({"user": "alice", "points": 3}))
        .unwrap();
    let ev = sub.recv().await.unwrap();
    assert_eq!(ev.topic.as_str(), "plugin.quiz.scored");
    assert!(matches!(&ev.payload, Payload::Custom { kind, .. } if kind == "scored"));
    bot.stop().await.unwrap();
}
