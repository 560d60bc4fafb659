//! The [`Plugin`] trait and the [`Context`] a plugin is handed.
//!
//! A plugin is a small type: it names itself, says which topics it listens to and which
//! commands it offers, and reacts in `handle`. It never reaches a connection, a database
//! pool or another plugin directly: everything goes through its [`Context`] (bus, its own
//! store namespace, the LLM, its typed config, reply helpers). That is what makes a plugin
//! testable with `botkit::testing` and movable to another process behind the NATS bridge.

mod manager;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;

pub use manager::{PluginManager, PluginState, PluginStatus, RestartPolicy};
pub(crate) use manager::{StatusHandle, panic_message as manager_panic_message};

use crate::action::{Action, ActionKind, Outcome};
use crate::bus::{Bus, BusError, Subscription};
use crate::command::{Args, CommandError, CommandSpec};
use crate::config::{ConfigError, PluginSection};
use crate::event::{CommandInvocation, Event, Payload, Source, User};
use crate::llm::{LlmBackend, LlmError};
use crate::store::{NamespacedStore, Store, StoreError};
use crate::topic::Topic;

/// Why a plugin operation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// The plugin's own failure, in its words.
    #[error("{0}")]
    Failed(String),
    /// The plugin's config section is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The LLM failed.
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The bus refused (closed, no responders, timeout).
    #[error(transparent)]
    Bus(#[from] BusError),
    /// An action was not carried out.
    #[error("action `{verb}` was not carried out: {reason}")]
    Action {
        /// The action's verb.
        verb: String,
        /// Why.
        reason: String,
    },
    /// A dependency is missing, disabled or circular.
    #[error("{0}")]
    Dependency(String),
    /// The handler panicked.
    #[error("panicked: {0}")]
    Panicked(String),
    /// A command handler found an argument it cannot use; the command framework answers
    /// it like any other command failure.
    #[error(transparent)]
    Command(#[from] CommandError),
}

impl PluginError {
    /// A plugin failure with a message.
    pub fn msg(message: impl fmt::Display) -> Self {
        PluginError::Failed(message.to_string())
    }

    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            PluginError::Store(e) => e.is_transient(),
            PluginError::Llm(e) => e.is_transient(),
            PluginError::Bus(e) => e.is_transient(),
            _ => false,
        }
    }
}

impl From<String> for PluginError {
    fn from(s: String) -> Self {
        PluginError::Failed(s)
    }
}

impl From<&str> for PluginError {
    fn from(s: &str) -> Self {
        PluginError::Failed(s.to_owned())
    }
}

/// Result of plugin operations.
pub type Result<T, E = PluginError> = std::result::Result<T, E>;

/// Facts about the bot that plugins may need.
#[derive(Debug, Clone, Default)]
pub struct BotInfo {
    /// The bot's name.
    pub name: String,
    /// Platform-qualified owner ids (`twitch:alice`).
    pub owners: Vec<String>,
}

/// What a plugin is handed: everything it may touch.
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
}

struct ContextInner {
    plugin: String,
    bus: Bus,
    store: Arc<dyn Store>,
    llm: Option<Arc<dyn LlmBackend>>,
    config: Option<PluginSection>,
    bot: BotInfo,
    action_timeout: Duration,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("plugin", &self.inner.plugin)
            .field("store", &self.inner.store.backend())
            .field("llm", &self.inner.llm.as_ref().map(|l| l.name().to_owned()))
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context for `plugin`. The runtime builds these; tests can too.
    pub fn new(
        plugin: &str,
        bus: Bus,
        store: Arc<dyn Store>,
        llm: Option<Arc<dyn LlmBackend>>,
        config: Option<PluginSection>,
        bot: BotInfo,
    ) -> Self {
        Self {
            inner: Arc::new(ContextInner {
                plugin: plugin.to_owned(),
                bus,
                store,
                llm,
                config,
                bot,
                action_timeout: Duration::from_secs(60),
            }),
        }
    }

    /// The plugin's name.
    pub fn plugin_name(&self) -> &str {
        &self.inner.plugin
    }

    /// The bus, for publishing custom events or subscribing at run time.
    pub fn bus(&self) -> &Bus {
        &self.inner.bus
    }

    /// The plugin's own store namespace.
    pub fn store(&self) -> NamespacedStore {
        NamespacedStore::new(self.inner.store.clone(), &self.inner.plugin)
    }

    /// The whole store (chat log, counters, retry queue).
    pub fn shared_store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The LLM backend, or an error saying none is configured.
    pub fn llm(&self) -> Result<&Arc<dyn LlmBackend>> {
        self.inner.llm.as_ref().ok_or_else(|| {
            PluginError::Llm(LlmError::Unavailable(
                "no [llm] section in the config".to_owned(),
            ))
        })
    }

    /// Facts about the bot.
    pub fn bot(&self) -> &BotInfo {
        &self.inner.bot
    }

    /// Whether `user` is one of the bot's owners.
    pub fn is_owner(&self, user: &User) -> bool {
        crate::command::is_owner(user, &self.inner.bot.owners)
    }

    /// The plugin's config section (`[plugins.<name>]`) as `T`. With no section, `T` is
    /// read from an empty table, so `#[serde(default)]` fields take their defaults and a
    /// required field gives an error naming it.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T> {
        match &self.inner.config {
            Some(section) => Ok(section.deserialize_into()?),
            None => toml::Value::Table(toml::Table::new())
                .try_into()
                .map_err(|e| {
                    PluginError::Failed(format!(
                        "plugin `{}` needs a [plugins.{}] section: {e}",
                        self.inner.plugin, self.inner.plugin
                    ))
                }),
        }
    }

    /// Publishes an event.
    pub fn publish(&self, event: Event) -> Result<usize> {
        Ok(self.inner.bus.publish(event)?)
    }

    /// Publishes a custom event on `plugin.<name>.<kind>`.
    pub fn emit(&self, kind: &str, data: serde_json::Value) -> Result<usize> {
        let topic = Topic::new(format!("plugin.{}.{kind}", self.inner.plugin))
            .map_err(|e| PluginError::msg(e.to_string()))?;
        self.publish(Event::new(
            topic,
            Source::bot(),
            Payload::Custom {
                kind: kind.to_owned(),
                data,
            },
        ))
    }

    /// Sends an action to its platform over the bus and waits for the outcome.
    pub async fn act(&self, action: Action) -> Result<Outcome> {
        let topic = action
            .topic()
            .map_err(|e| PluginError::msg(format!("bad action target: {e}")))?;
        let priority = action.priority;
        let source = action.target.clone();
        let event = Event::new(topic, source, Payload::Action(action)).with_priority(priority);
        let reply = self
            .inner
            .bus
            .request(event, self.inner.action_timeout)
            .await?;
        match &reply.payload {
            Payload::Outcome(outcome) => Ok(outcome.clone()),
            other => Err(PluginError::msg(format!(
                "platform answered an action with {other:?} instead of an outcome"
            ))),
        }
    }

    /// Like [`Context::act`], but an outcome other than done is an error.
    pub async fn act_ok(&self, action: Action) -> Result<Outcome> {
        let verb = action.kind.verb().to_owned();
        match self.act(action).await? {
            done @ Outcome::Done { .. } => Ok(done),
            other => Err(PluginError::Action {
                verb,
                reason: format!("{other:?}"),
            }),
        }
    }

    /// Says `text` in the channel of `target`.
    pub async fn say(&self, target: &Source, text: impl Into<String>) -> Result<Outcome> {
        self.act(Action::say(target.clone(), text)).await
    }

    /// Answers `event` in its channel: a native reply to the message when the event is a
    /// chat message with an id and the platform supports replies, plain text otherwise.
    pub async fn reply(&self, event: &Event, text: impl Into<String>) -> Result<Outcome> {
        let kind = match event.payload.chat() {
            Some(msg) => ActionKind::Reply {
                text: text.into(),
                parent_id: msg.id.clone(),
                to: Some(msg.user.display_name.to_string()),
            },
            None => ActionKind::Say { text: text.into() },
        };
        let mut action = Action::new(event.source.clone(), kind);
        // Whispers are answered with whispers.
        if let (Payload::Whisper(msg), Some(text)) = (&event.payload, action.kind.text()) {
            action.kind = ActionKind::Whisper {
                to: msg.user.name.to_string(),
                text: text.to_owned(),
            };
        }
        self.act(action).await
    }

    /// Whispers `text` to the user `event` is about.
    pub async fn whisper(&self, event: &Event, text: impl Into<String>) -> Result<Outcome> {
        let user = event
            .user()
            .ok_or_else(|| PluginError::msg("event has no user to whisper to"))?;
        let action = Action::new(
            event.source.clone(),
            ActionKind::Whisper {
                to: user.name.to_string(),
                text: text.into(),
            },
        );
        self.act(action).await
    }
}

/// A command offered by a plugin: its spec (name, arguments, roles, cooldowns) and the
/// handler that runs once the framework has parsed and checked an invocation.
#[derive(Clone)]
pub struct Command {
    /// Name, arguments, roles, cooldowns, help text.
    pub spec: CommandSpec,
    /// What runs.
    pub handler: CommandHandler,
}

/// A command handler, type-erased.
pub type CommandHandler =
    Arc<dyn Fn(CommandCall, Context) -> BoxFuture<'static, Result<()>> + Send + Sync>;

impl Command {
    /// A command from its spec and an async handler.
    pub fn new<F, Fut>(spec: CommandSpec, handler: F) -> Self
    where
        F: Fn(CommandCall, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        Self {
            spec,
            handler: Arc::new(move |call, ctx| Box::pin(handler(call, ctx))),
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

/// One checked command invocation, as a handler receives it.
#[derive(Debug, Clone)]
pub struct CommandCall {
    /// The chat event that carried the command.
    pub event: Arc<Event>,
    /// Name, raw arguments and the message.
    pub invocation: CommandInvocation,
    /// The arguments, validated against the spec and ready to be read as types.
    pub args: Args,
}

impl CommandCall {
    /// Reads argument `name` as `T`.
    pub fn arg<T: crate::command::FromArg>(
        &self,
        name: &str,
    ) -> std::result::Result<T, CommandError> {
        self.args.get(name)
    }

    /// Reads optional argument `name` as `T`.
    pub fn opt<T: crate::command::FromArg>(
        &self,
        name: &str,
    ) -> std::result::Result<Option<T>, CommandError> {
        self.args.opt(name)
    }

    /// The user who invoked the command.
    pub fn user(&self) -> &User {
        &self.invocation.message.user
    }
}

/// A unit of bot behaviour.
#[async_trait]
pub trait Plugin: Send + Sync + 'static {
    /// Unique name; also the config section (`[plugins.<name>]`) and store namespace.
    fn name(&self) -> &str;

    /// Plugins that must be initialized before this one.
    fn dependencies(&self) -> Vec<String> {
        Vec::new()
    }

    /// Topics the plugin listens to, with priority, ordering and overflow options.
    fn subscriptions(&self) -> Vec<Subscription> {
        Vec::new()
    }

    /// Chat commands the plugin offers.
    fn commands(&self) -> Vec<Command> {
        Vec::new()
    }

    /// Called once before any event, in dependency order, and again on restart.
    async fn init(&self, _ctx: &Context) -> Result<()> {
        Ok(())
    }

    /// Called for each event matching a subscription.
    async fn handle(&self, _event: &Event, _ctx: &Context) -> Result<()> {
        Ok(())
    }

    /// Called at shutdown (in reverse dependency order) and before a restart.
    async fn stop(&self, _ctx: &Context) -> Result<()> {
        Ok(())
    }

    /// A one-line status for `status()` and `/health`, if the plugin has something to say.
    fn status(&self) -> Option<String> {
        None
    }
}

/// A shared, type-erased plugin.
pub type SharedPlugin = Arc<dyn Plugin>;
