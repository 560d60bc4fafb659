//! The runtime: [`Bot::builder()`] wires platforms, plugins, a store and an LLM together and
//! [`Bot::run`] drives them.
//!
//! Startup goes in a fixed order: bus → store (migrations) → plugins (dependency order) →
//! command router and outgoing path → platforms. Shutdown (SIGINT, SIGTERM,
//! [`BotHandle::shutdown`], or every platform's ingest ending, as the shell does at EOF) goes
//! back: stop ingest, drain the bus and the outgoing queues for a bounded time, stop
//! plugins, flush the store, close the bus. The order matters: a reply to the last line of
//! piped input must still go out after ingest has stopped.

mod commands;
mod outbox;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

pub use commands::{CommandFailure, ErrorHook, default_error_hook};

use crate::builtin::Commands;
use crate::bus::{Bus, BusConfig, Subscription};
use crate::command::CommandSpec;
use crate::config::{Config, ConfigError};
use crate::event::{Event, Payload, Priority, Source};
use crate::llm::LlmBackend;
use crate::platform::{Platform, PlatformContext, PlatformError, SharedPlatform};
use crate::plugin::{
    BotInfo, Command, CommandCall, Context, Plugin, PluginError, PluginManager, PluginStatus,
    RestartPolicy, SharedPlugin, StatusHandle,
};
use crate::store::{MemoryStore, Store, StoreError};
use crate::topic::Topic;
use outbox::{DEFAULT_OUTBOX_CAPACITY, Outbox};

/// The plugin name of the commands added with [`BotBuilder::command`].
const COMMANDS_PLUGIN: &str = "commands";

/// Why a bot could not start or ended badly.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BotError {
    /// The config is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be opened or migrated.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A plugin could not be set up (dependencies, duplicate commands).
    #[error("plugin setup: {0}")]
    Plugin(#[from] PluginError),
    /// A platform ended with a permanent error.
    #[error("platform `{id}`: {error}")]
    Platform {
        /// The platform instance.
        id: String,
        /// What went wrong.
        error: PlatformError,
    },
    /// The bot was built wrongly (e.g. two platforms with one id).
    #[error("{0}")]
    Setup(String),
}

/// Builds a [`Bot`].
#[must_use]
pub struct BotBuilder {
    config: Config,
    store: Option<Arc<dyn Store>>,
    llm: Option<Arc<dyn LlmBackend>>,
    platforms: Vec<SharedPlatform>,
    plugins: Vec<(SharedPlugin, RestartPolicy)>,
    commands: Commands,
    hook: Option<ErrorHook>,
    signals: bool,
}

impl BotBuilder {
    /// Uses `config` for the bot, bus, prefixes and plugin sections.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Uses `store` (default: in memory).
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Uses an already shared store.
    pub fn shared_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Uses `llm` as the bot's language model.
    pub fn llm(mut self, llm: impl LlmBackend) -> Self {
        self.llm = Some(Arc::new(llm));
        self
    }

    /// Uses an already shared LLM backend.
    pub fn shared_llm(mut self, llm: Arc<dyn LlmBackend>) -> Self {
        self.llm = Some(llm);
        self
    }

    /// Adds a platform instance.
    pub fn platform(mut self, platform: impl Platform) -> Self {
        self.platforms.push(Arc::new(platform));
        self
    }

    /// Adds an already shared platform instance.
    pub fn shared_platform(mut self, platform: SharedPlatform) -> Self {
        self.platforms.push(platform);
        self
    }

    /// Adds a plugin with the default restart policy.
    pub fn plugin(self, plugin: impl Plugin) -> Self {
        self.plugin_with_policy(plugin, RestartPolicy::default())
    }

    /// Adds an already shared plugin.
    pub fn shared_plugin(mut self, plugin: SharedPlugin) -> Self {
        self.plugins.push((plugin, RestartPolicy::default()));
        self
    }

    /// Adds a plugin with its own restart policy.
    pub fn plugin_with_policy(mut self, plugin: impl Plugin, policy: RestartPolicy) -> Self {
        self.plugins.push((Arc::new(plugin), policy));
        self
    }

    /// Adds a command without writing a plugin: the spec (name, arguments, roles,
    /// cooldowns) and an async handler, exactly as a plugin's
    /// [`commands`](Plugin::commands) would offer it. Commands added this way run as one
    /// plugin named `commands`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use botkit::{Bot, CommandSpec};
    /// use botkit::shell::ShellPlatform;
    ///
    /// Bot::builder()
    ///     .platform(ShellPlatform::stdio("pingbot"))
    ///     .command(CommandSpec::new("ping"), |call, ctx| async move {
    ///         ctx.reply(&call.event, "pong").await?;
    ///         Ok(())
    ///     })
    ///     .build()?
    ///     .run()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn command<F, Fut>(mut self, spec: CommandSpec, handler: F) -> Self
    where
        F: Fn(CommandCall, Context) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), PluginError>> + Send + 'static,
    {
        self.commands = self.commands.command(Command::new(spec, handler));
        self
    }

    /// Sets the one hook that receives every command failure.
    pub fn on_command_error<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(CommandFailure) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.hook = Some(Arc::new(move |f| Box::pin(hook(f))));
        self
    }

    /// Whether `run` listens for SIGINT/SIGTERM (default true; tests turn it off).
    pub fn handle_signals(mut self, yes: bool) -> Self {
        self.signals = yes;
        self
    }

    /// Checks the setup and builds the bot. Nothing connects until [`Bot::run`].
    pub fn build(mut self) -> Result<Bot, BotError> {
        if !self.commands.is_empty() {
            let commands = std::mem::replace(&mut self.commands, Commands::new(COMMANDS_PLUGIN));
            self.plugins
                .push((Arc::new(commands) as SharedPlugin, RestartPolicy::default()));
        }
        let mut seen = HashMap::new();
        for p in &self.platforms {
            if seen.insert(p.id().to_owned(), ()).is_some() {
                return Err(BotError::Setup(format!(
                    "two platforms have the id `{}`; give each [[platform]] a unique id",
                    p.id()
                )));
            }
        }
        let bus_config = BusConfig {
            default_capacity: self.config.bus.default_capacity,
            capacities: self
                .config
                .bus
                .buffer
                .iter()
                .map(|rule| (rule.pattern.clone(), rule.capacity))
                .collect(),
            ..BusConfig::default()
        };
        let bus = Bus::new(bus_config);
        let (shutdown_tx, _) = watch::channel(false);
        let handle = BotHandle {
            bus: bus.clone(),
            shutdown: Arc::new(shutdown_tx),
            status: Arc::new(OnceLock::new()),
        };
        Ok(Bot {
            store: self
                .store
                .unwrap_or_else(|| Arc::new(MemoryStore::new()) as Arc<dyn Store>),
            config: self.config,
            llm: self.llm,
            platforms: self.platforms,
            plugins: self.plugins,
            hook: self.hook.unwrap_or_else(default_error_hook),
            signals: self.signals,
            handle,
        })
    }
}

/// A bot ready to run.
pub struct Bot {
    config: Config,
    store: Arc<dyn Store>,
    llm: Option<Arc<dyn LlmBackend>>,
    platforms: Vec<SharedPlatform>,
    plugins: Vec<(SharedPlugin, RestartPolicy)>,
    hook: ErrorHook,
    signals: bool,
    handle: BotHandle,
}

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot")
            .field("name", &self.config.bot.name)
            .field(
                "platforms",
                &self
                    .platforms
                    .iter()
                    .map(|p| p.id().to_owned())
                    .collect::<Vec<_>>(),
            )
            .field(
                "plugins",
                &self
                    .plugins
                    .iter()
                    .map(|(p, _)| p.name().to_owned())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Controls a running bot from outside: shutdown, bus, status.
#[derive(Clone)]
pub struct BotHandle {
    bus: Bus,
    shutdown: Arc<watch::Sender<bool>>,
    status: Arc<OnceLock<StatusHandle>>,
}

impl std::fmt::Debug for BotHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotHandle")
            .field("shutting_down", &*self.shutdown.borrow())
            .finish_non_exhaustive()
    }
}

impl BotHandle {
    /// Asks the bot to shut down gracefully.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// The bot's bus.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Every plugin's status (empty until the plugins have started).
    pub fn plugin_status(&self) -> Vec<PluginStatus> {
        self.status.get().map(|s| s.status()).unwrap_or_default()
    }
}

impl Bot {
    /// Starts building a bot.
    pub fn builder() -> BotBuilder {
        BotBuilder {
            config: Config::default(),
            store: None,
            llm: None,
            platforms: Vec::new(),
            plugins: Vec::new(),
            commands: Commands::new(COMMANDS_PLUGIN),
            hook: None,
            signals: true,
        }
    }

    /// A handle to stop the bot or read its status while it runs.
    pub fn handle(&self) -> BotHandle {
        self.handle.clone()
    }

    /// Runs the bot until a signal, [`BotHandle::shutdown`], or the end of every
    /// platform's ingest; then shuts down gracefully. Returns an error if setup failed or a
    /// platform ended with a permanent error.
    pub async fn run(self) -> Result<(), BotError> {
        let Bot {
            config,
            store,
            llm,
            platforms,
            plugins,
            hook,
            signals,
            handle,
        } = self;
        let bus = handle.bus.clone();
        let drain_timeout = config.bot.shutdown_timeout();

        // Store.
        store.migrate().await?;

        // Plugins, in dependency order.
        let bot_info = BotInfo {
            name: config.bot.name.clone(),
            owners: config.bot.owners.clone(),
        };
        let mut disabled = Vec::new();
        let mut entries = Vec::new();
        for (plugin, policy) in plugins {
            let section = config.plugin(plugin.name()).cloned();
            if section.as_ref().is_some_and(|s| !s.enabled) {
                disabled.push(plugin.name().to_owned());
                continue;
            }
            let ctx = Context::new(
                plugin.name(),
                bus.clone(),
                store.clone(),
                llm.clone(),
                section,
                bot_info.clone(),
            );
            entries.push((plugin, ctx, policy));
        }
        let mut manager = PluginManager::new(bus.clone(), entries, disabled)?;
        manager.start().await?;
        let _ = handle.status.set(manager.status_handle());

        // Commands.
        let router_ctx = Context::new(
            "commands",
            bus.clone(),
            store.clone(),
            llm.clone(),
            None,
            bot_info,
        );
        let mut router = commands::Router::new(config.bot.clone(), hook, router_ctx, bus.clone());
        for managed in manager.managed() {
            for command in managed.plugin.commands() {
                router
                    .add(command.spec, command.handler, managed.ctx.clone())
                    .map_err(|e| {
                        PluginError::Dependency(format!(
                            "plugin `{}` offers a command that clashes: {e}",
                            managed.plugin.name()
                        ))
                    })?;
            }
        }
        let router_handle = router
            .subscribe(&bus)
            .map_err(|e| BotError::Setup(e.to_string()))?;

        // Outgoing path: one outbox per platform instance, one router for all actions.
        let outboxes: Vec<Arc<Outbox>> = platforms
            .iter()
            .map(|p| Outbox::new(p.clone(), bus.clone(), DEFAULT_OUTBOX_CAPACITY))
            .collect();
        let mut workers = JoinSet::new();
        for ob in &outboxes {
            workers.spawn(ob.clone().run());
        }
        let routing = outboxes.clone();
        let reply_bus = bus.clone();
        let action_handle = bus
            .subscribe_with(
                Subscription::to("action.>")
                    .named("outgoing")
                    .unordered(1024)
                    .capacity(4096),
                move |event| {
                    route_action(&reply_bus, &routing, event);
                    std::future::ready(())
                },
            )
            .map_err(|e| BotError::Setup(e.to_string()))?;

        publish_lifecycle(&bus, "bot.started", "started");
        tracing::info!(
            name = %config.bot.name,
            platforms = platforms.len(),
            store = store.backend(),
            "bot started"
        );

        // Platforms.
        let mut ingest = JoinSet::new();
        for p in &platforms {
            let ctx =
                PlatformContext::new(bus.clone(), p.kind(), p.id(), handle.shutdown.subscribe());
            let p = p.clone();
            ingest.spawn(async move {
                let id = p.id().to_owned();
                (id, p.run(ctx).await)
            });
        }

        // Wait for a reason to stop.
        let mut failure = None;
        let mut stop_rx = handle.shutdown.subscribe();
        let has_platforms = !ingest.is_empty();
        loop {
            tokio::select! {
                _ = stop_rx.wait_for(|s| *s) => break,
                _ = shutdown_signal(), if signals => {
                    tracing::info!("signal received, shutting down");
                    break;
                }
                joined = ingest.join_next(), if has_platforms => {
                    match joined {
                        Some(Ok((id, Ok(())))) => tracing::info!(platform = %id, "platform ingest ended"),
                        Some(Ok((id, Err(error)))) => {
                            tracing::error!(platform = %id, %error, "platform stopped");
                            failure = Some(BotError::Platform { id, error });
                        }
                        Some(Err(join)) => tracing::error!(error = %join, "platform task panicked"),
                        None => {}
                    }
                    if ingest.is_empty() {
                        break;
                    }
                }
            }
        }

        // Shutdown: stop ingest, drain, stop plugins, flush, close.
        publish_lifecycle(&bus, "bot.stopping", "stopping");
        handle.shutdown.send_replace(true);
        let _ = tokio::time::timeout(drain_timeout, async {
            while ingest.join_next().await.is_some() {}
        })
        .await;
        ingest.abort_all();
        let deadline = tokio::time::Instant::now() + drain_timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let bus_idle = bus.drain(left.min(Duration::from_millis(50))).await;
            if bus_idle && outboxes.iter().all(|o| o.is_idle()) {
                break;
            }
            if left.is_zero() {
                tracing::warn!(
                    ?drain_timeout,
                    "shutdown drain timed out; some events were not handled"
                );
                break;
            }
            if bus_idle {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        router_handle.unsubscribe();
        manager.stop(drain_timeout).await;
        if let Err(e) = store.flush().await {
            tracing::error!(error = %e, "store flush failed at shutdown");
        }
        action_handle.unsubscribe();
        for ob in &outboxes {
            ob.close();
        }
        let _ = tokio::time::timeout(drain_timeout, async {
            while workers.join_next().await.is_some() {}
        })
        .await;
        bus.close();
        tracing::info!("bot stopped");
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn route_action(bus: &Bus, outboxes: &[Arc<Outbox>], event: Arc<Event>) {
    let Payload::Action(action) = &event.payload else {
        return;
    };
    let target = &action.target;
    let exact = outboxes
        .iter()
        .find(|o| o.kind() == &*target.platform && o.id() == &*target.instance);
    // An empty or `*` instance means "any instance of this platform".
    let any = || {
        (target.instance.is_empty() || &*target.instance == "*")
            .then(|| outboxes.iter().find(|o| o.kind() == &*target.platform))
            .flatten()
    };
    match exact.or_else(any) {
        Some(outbox) => outbox.submit(action.clone(), Some(event.clone())),
        None if event.reply_to.is_some() => {
            let outcome = crate::action::Outcome::Failed {
                error: format!(
                    "no platform instance `{}` of kind `{}` in this bot",
                    target.instance, target.platform
                ),
                transient: false,
            };
            let _ = bus.reply(&event, Payload::Outcome(outcome));
        }
        None => {
            tracing::warn!(platform = %target.platform, instance = %target.instance, "action for an unknown platform instance dropped")
        }
    }
}

fn publish_lifecycle(bus: &Bus, topic: &str, what: &str) {
    if let Ok(topic) = Topic::new(topic) {
        let event = Event::new(topic, Source::bot(), Payload::Lifecycle(what.to_owned()))
            .with_priority(Priority::Critical);
        let _ = bus.publish(event);
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
