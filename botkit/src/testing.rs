//! Test a plugin or a whole bot in a few lines, with no network.
//!
//! [`TestBot`] runs a real [`Bot`] (real bus, plugin manager, command
//! router, outgoing path) against a [`MockPlatform`] that records every action instead of
//! sending it. Inject chat as any user with any roles in any channel, then await what the
//! bot does. Everything runs on tokio's clock, so `#[tokio::test(start_paused = true)]`
//! makes cooldowns, backoff and rate limits instant and deterministic.
//!
//! ```
//! use botkit::testing::TestBot;
//! # use botkit::plugin::{Plugin, Context, Command, Result};
//! # use botkit::command::CommandSpec;
//! # struct Ping;
//! # #[async_trait::async_trait]
//! # impl Plugin for Ping {
//! #     fn name(&self) -> &str { "ping" }
//! #     fn commands(&self) -> Vec<Command> {
//! #         vec![Command::new(CommandSpec::new("ping"), |call, ctx| async move {
//! #             ctx.reply(&call.event, "pong").await?; Ok(())
//! #         })]
//! #     }
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut bot = TestBot::new().plugin(Ping).start().await;
//! bot.say("alice", "!ping").await;
//! assert_eq!(bot.next_said().await, "pong");
//! bot.stop().await;
//! # }
//! ```
//!
//! The helpers panic with a clear message when an expectation fails: they are for tests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::action::{Action, ActionKind, Outcome};
use crate::bus::{Bus, Subscription};
use crate::config::Config;
use crate::event::{ChatMessage, Event, Payload, Role, Roles, Source, User};
use crate::llm::{LlmBackend, LlmError, LlmRequest, LlmResponse, ModelInfo};
use crate::platform::{Capabilities, Platform, PlatformContext, PlatformError};
use crate::plugin::{Plugin, PluginStatus, RestartPolicy};
use crate::runtime::{Bot, BotBuilder, BotError, BotHandle, CommandFailure};

/// The platform kind of the mock platform.
pub const MOCK_PLATFORM: &str = "mock";
/// The channel test messages go to unless told otherwise.
pub const DEFAULT_CHANNEL: &str = "#test";

/// How long the `next_*` helpers wait before failing the test. Under paused time this
/// passes instantly once nothing else can run.
pub const WAIT: Duration = Duration::from_secs(10);

/// A platform that records actions instead of sending them.
#[derive(Debug)]
pub struct MockPlatform {
    caps: Capabilities,
    actions: mpsc::UnboundedSender<Action>,
    failures: Mutex<VecDeque<PlatformError>>,
    sent: std::sync::atomic::AtomicU64,
}

impl MockPlatform {
    /// A mock platform with `caps` and the receiver of its recorded actions.
    pub fn new(caps: Capabilities) -> (Self, mpsc::UnboundedReceiver<Action>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Self {
                caps,
                actions: tx,
                failures: Mutex::new(VecDeque::new()),
                sent: std::sync::atomic::AtomicU64::new(0),
            },
            rx,
        )
    }

    /// Makes the next `execute` calls fail with these errors, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = PlatformError>) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(errors);
    }
}

#[async_trait]
impl Platform for MockPlatform {
    fn kind(&self) -> &str {
        MOCK_PLATFORM
    }

    fn id(&self) -> &str {
        MOCK_PLATFORM
    }

    fn capabilities(&self) -> Capabilities {
        self.caps.clone()
    }

    async fn run(&self, ctx: PlatformContext) -> Result<(), PlatformError> {
        ctx.connection(true, "mock connected")?;
        ctx.shutdown_requested().await;
        Ok(())
    }

    async fn execute(&self, action: &Action) -> Result<Outcome, PlatformError> {
        if let Some(e) = self
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
        {
            return Err(e);
        }
        let n = self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The test may have dropped its receiver; the action still counts as sent.
        let _ = self.actions.send(action.clone());
        Ok(Outcome::Done {
            message_id: Some(format!("mock-{n}")),
        })
    }
}

/// A chat message to inject, built fluently.
#[derive(Debug, Clone)]
pub struct TestMessage {
    user: String,
    roles: Vec<Role>,
    channel: String,
    text: String,
    whisper: bool,
}

impl TestMessage {
    /// `text` from `user` (no roles) in the default channel.
    pub fn new(user: &str, text: &str) -> Self {
        Self {
            user: user.to_owned(),
            roles: Vec::new(),
            channel: DEFAULT_CHANNEL.to_owned(),
            text: text.to_owned(),
            whisper: false,
        }
    }

    /// The user holds `roles`.
    #[must_use]
    pub fn roles(mut self, roles: &[Role]) -> Self {
        self.roles = roles.to_vec();
        self
    }

    /// In `channel`.
    #[must_use]
    pub fn channel(mut self, channel: &str) -> Self {
        self.channel = channel.to_owned();
        self
    }

    /// As a whisper to the bot.
    #[must_use]
    pub fn whisper(mut self) -> Self {
        self.whisper = true;
        self
    }
}

/// A user of the mock platform.
pub fn mock_user(name: &str, roles: &[Role]) -> User {
    User::new(MOCK_PLATFORM, name, Roles::of(roles))
}

/// The source of the mock platform in `channel`.
pub fn mock_source(channel: &str) -> Source {
    Source::new(MOCK_PLATFORM, MOCK_PLATFORM, Some(channel))
}

/// Builds a test bot.
#[must_use]
pub struct TestBot {
    builder: BotBuilder,
    caps: Capabilities,
}

impl Default for TestBot {
    fn default() -> Self {
        Self::new()
    }
}

impl TestBot {
    /// A bot with the default config, an in-memory store, and a mock platform that accepts
    /// 500-character messages with no rate limit.
    pub fn new() -> Self {
        Self {
            builder: Bot::builder().handle_signals(false),
            caps: Capabilities::new(500),
        }
    }

    /// Adds a plugin.
    pub fn plugin(mut self, plugin: impl Plugin) -> Self {
        self.builder = self.builder.plugin(plugin);
        self
    }

    /// Adds a plugin with a restart policy.
    pub fn plugin_with_policy(mut self, plugin: impl Plugin, policy: RestartPolicy) -> Self {
        self.builder = self.builder.plugin_with_policy(plugin, policy);
        self
    }

    /// Adds a command without a plugin, as [`BotBuilder::command`](crate::runtime::BotBuilder::command) does.
    pub fn command<F, Fut>(mut self, spec: crate::command::CommandSpec, handler: F) -> Self
    where
        F: Fn(crate::plugin::CommandCall, crate::plugin::Context) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), crate::plugin::PluginError>> + Send + 'static,
    {
        self.builder = self.builder.command(spec, handler);
        self
    }

    /// Uses an LLM backend (e.g. [`ScriptedLlm`]).
    pub fn llm(mut self, llm: impl LlmBackend) -> Self {
        self.builder = self.builder.llm(llm);
        self
    }

    /// Uses `store` instead of a fresh in-memory one, so a test can read what the bot
    /// wrote, or start a second bot on the first one's data.
    pub fn store(mut self, store: Arc<dyn crate::store::Store>) -> Self {
        self.builder = self.builder.shared_store(store);
        self
    }

    /// Uses a config.
    pub fn config(mut self, config: Config) -> Self {
        self.builder = self.builder.config(config);
        self
    }

    /// Uses a config given as TOML text. Panics on an invalid config (it is a test).
    pub fn config_toml(self, toml: &str) -> Self {
        let config = Config::from_str_named(toml, "test.toml")
            .unwrap_or_else(|e| panic!("test config is invalid: {e}"));
        self.config(config)
    }

    /// The mock platform's capabilities (max length, rate limits).
    pub fn capabilities(mut self, caps: Capabilities) -> Self {
        self.caps = caps;
        self
    }

    /// Sets the command error hook.
    pub fn on_command_error<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(CommandFailure) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.builder = self.builder.on_command_error(hook);
        self
    }

    /// Starts the bot and waits until its plugins are running.
    pub async fn start(self) -> RunningBot {
        let (platform, actions) = MockPlatform::new(self.caps);
        let platform = Arc::new(platform);
        let bot = self
            .builder
            .shared_platform(platform.clone())
            .build()
            .unwrap_or_else(|e| panic!("test bot did not build: {e}"));
        let handle = bot.handle();
        let mut started = handle
            .bus()
            .subscribe(Subscription::to("bot.started"))
            .unwrap_or_else(|e| panic!("cannot subscribe: {e}"));
        let task = tokio::spawn(bot.run());
        match tokio::time::timeout(WAIT, started.recv()).await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the bus closed before the bot started"),
            Err(_) => panic!("the test bot did not start within {WAIT:?}"),
        }
        RunningBot {
            handle,
            platform,
            actions,
            task: Some(task),
        }
    }
}

/// A running test bot.
pub struct RunningBot {
    handle: BotHandle,
    platform: Arc<MockPlatform>,
    actions: mpsc::UnboundedReceiver<Action>,
    task: Option<tokio::task::JoinHandle<Result<(), BotError>>>,
}

impl std::fmt::Debug for RunningBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningBot").finish_non_exhaustive()
    }
}

impl RunningBot {
    /// The bot's bus.
    pub fn bus(&self) -> &Bus {
        self.handle.bus()
    }

    /// The bot's handle.
    pub fn handle(&self) -> &BotHandle {
        &self.handle
    }

    /// The mock platform (to script failures).
    pub fn platform(&self) -> &MockPlatform {
        &self.platform
    }

    /// Every plugin's status.
    pub fn plugin_status(&self) -> Vec<PluginStatus> {
        self.handle.plugin_status()
    }

    /// The status of plugin `name`. Panics if there is none.
    pub fn status_of(&self, name: &str) -> PluginStatus {
        self.plugin_status()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no plugin named `{name}`"))
    }

    /// Publishes an event as if the mock platform received it.
    pub fn inject(&self, channel: &str, kind: &str, payload: Payload) -> Arc<Event> {
        let event = Event::platform(mock_source(channel), kind, payload)
            .unwrap_or_else(|e| panic!("bad event kind `{kind}`: {e}"));
        let event = Arc::new(event);
        self.bus()
            .publish(event.clone())
            .unwrap_or_else(|e| panic!("cannot publish: {e}"));
        event
    }

    /// Injects a chat message.
    pub async fn send(&self, msg: TestMessage) -> Arc<Event> {
        let mut chat = ChatMessage::new(mock_user(&msg.user, &msg.roles), msg.text);
        chat.id = Some(crate::event::EventId::new().to_string());
        let (kind, payload) = if msg.whisper {
            ("chat.whisper", Payload::Whisper(chat))
        } else {
            ("chat.message", Payload::ChatMessage(chat))
        };
        let ev = self.inject(&msg.channel, kind, payload);
        tokio::task::yield_now().await;
        ev
    }

    /// `user` (no roles) says `text` in the default channel.
    pub async fn say(&self, user: &str, text: &str) -> Arc<Event> {
        self.send(TestMessage::new(user, text)).await
    }

    /// `user` with `roles` says `text` in the default channel.
    pub async fn say_as(&self, user: &str, roles: &[Role], text: &str) -> Arc<Event> {
        self.send(TestMessage::new(user, text).roles(roles)).await
    }

    /// `user` joins the default channel.
    pub async fn join(&self, user: &str) -> Arc<Event> {
        let ev = self.inject(
            DEFAULT_CHANNEL,
            "user.joined",
            Payload::UserJoined(mock_user(user, &[])),
        );
        tokio::task::yield_now().await;
        ev
    }

    /// The next action the bot sends, or `None` within `within`.
    pub async fn try_next_action(&mut self, within: Duration) -> Option<Action> {
        tokio::time::timeout(within, self.actions.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next action the bot sends. Panics after [`WAIT`].
    pub async fn next_action(&mut self) -> Action {
        self.try_next_action(WAIT)
            .await
            .unwrap_or_else(|| panic!("the bot sent no action within {WAIT:?}"))
    }

    /// The text of the next chat message (say, reply or whisper) the bot sends, skipping
    /// other actions. Panics after [`WAIT`].
    pub async fn next_said(&mut self) -> String {
        loop {
            let action = self.next_action().await;
            if let Some(text) = action.kind.text() {
                return text.to_owned();
            }
        }
    }

    /// Panics if the bot sends anything within `within`.
    pub async fn expect_silence(&mut self, within: Duration) {
        if let Some(action) = self.try_next_action(within).await {
            panic!("expected silence, but the bot sent {action:?}");
        }
    }

    /// Waits until every event so far has been handled.
    pub async fn settle(&self) {
        self.bus().drain(WAIT).await;
    }

    /// Shuts the bot down gracefully and returns what `run` returned.
    pub async fn stop(mut self) -> Result<(), BotError> {
        self.handle.shutdown();
        match self.task.take() {
            Some(task) => task
                .await
                .unwrap_or_else(|e| panic!("the bot task panicked: {e}")),
            None => Ok(()),
        }
    }
}

impl Drop for RunningBot {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// Whether `action` is a chat text (say, reply, whisper) equal to `text`.
pub fn is_text(action: &Action, text: &str) -> bool {
    matches!(&action.kind, ActionKind::Say { text: t } | ActionKind::Reply { text: t, .. } | ActionKind::Whisper { text: t, .. } if t == text)
}

type Script = Box<dyn FnMut(&LlmRequest) -> Result<LlmResponse, LlmError> + Send>;

/// An LLM backend that answers from a script and records every request.
pub struct ScriptedLlm {
    script: Mutex<Script>,
    requests: Arc<Mutex<Vec<LlmRequest>>>,
    models: Vec<String>,
    delay: Option<Duration>,
}

impl std::fmt::Debug for ScriptedLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedLlm")
            .field("models", &self.models)
            .finish_non_exhaustive()
    }
}

impl ScriptedLlm {
    /// Answers with `answers` in order, then fails with [`LlmError::Unavailable`].
    pub fn new<I, S>(answers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let queue: VecDeque<Result<String, LlmError>> =
            answers.into_iter().map(|a| Ok(a.into())).collect();
        Self::from_results(queue)
    }

    /// Answers with these results (texts or errors) in order.
    pub fn from_results(results: impl IntoIterator<Item = Result<String, LlmError>>) -> Self {
        let mut queue: VecDeque<_> = results.into_iter().collect();
        Self::from_fn(move |_| match queue.pop_front() {
            Some(Ok(text)) => Ok(LlmResponse::new(text, "scripted")),
            Some(Err(e)) => Err(e),
            None => Err(LlmError::Unavailable(
                "the script has no more answers".into(),
            )),
        })
    }

    /// Answers by calling `f` with each request.
    pub fn from_fn(
        f: impl FnMut(&LlmRequest) -> Result<LlmResponse, LlmError> + Send + 'static,
    ) -> Self {
        Self {
            script: Mutex::new(Box::new(f)),
            requests: Arc::new(Mutex::new(Vec::new())),
            models: vec!["scripted".to_owned()],
            delay: None,
        }
    }

    /// Each answer takes `delay` (on tokio's clock).
    #[must_use]
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// The models `models()` reports.
    #[must_use]
    pub fn with_models(mut self, models: &[&str]) -> Self {
        self.models = models.iter().map(|m| (*m).to_owned()).collect();
        self
    }

    /// A shared view of the requests received so far.
    pub fn requests(&self) -> Arc<Mutex<Vec<LlmRequest>>> {
        self.requests.clone()
    }
}

#[async_trait]
impl LlmBackend for ScriptedLlm {
    fn name(&self) -> &str {
        "scripted"
    }

    async fn generate(&self, request: LlmRequest) -> Result<LlmResponse, LlmError> {
        if let Some(d) = self.delay {
            tokio::time::sleep(d).await;
        }
        let result = (self.script.lock().unwrap_or_else(|p| p.into_inner()))(&request);
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request);
        result
    }

    async fn models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        Ok(self.models.iter().map(ModelInfo::new).collect())
    }

    async fn health(&self) -> Result<(), LlmError> {
        Ok(())
    }
}
