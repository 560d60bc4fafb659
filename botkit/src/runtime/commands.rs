//! The command router: chat messages in, checked command invocations out.
//!
//! It listens to `platform.*.chat.message`, finds the channel's prefix, parses the line,
//! resolves aliases, checks role, arguments and cooldowns (in that order, so neither a
//! user without the role nor a typo burns a cooldown), publishes `command.<name>` for
//! remote listeners, and runs the handler of the plugin that offers the command. Every
//! failure goes to one error hook, so a bot answers them consistently.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::bus::{Bus, BusError, Key, Subscription, SubscriptionHandle};
use crate::command::{
    Caller, CommandError, CommandRegistry, CommandSpec, Cooldowns, help_reply, help_spec,
    parse_command_line,
};
use crate::config::BotSection;
use crate::event::{CommandInvocation, Event, Payload, Priority};
use crate::plugin::{CommandCall, CommandHandler, Context, PluginError};
use crate::topic::Topic;

/// What the error hook is handed: the failure, the chat event, and a context to answer
/// with.
#[derive(Debug, Clone)]
pub struct CommandFailure {
    /// What went wrong.
    pub error: CommandError,
    /// The chat message that carried the command.
    pub event: Arc<Event>,
    /// A context for answering (the failing plugin's, or the router's).
    pub ctx: Context,
}

/// The one hook that receives every command failure.
pub type ErrorHook = Arc<dyn Fn(CommandFailure) -> BoxFuture<'static, ()> + Send + Sync>;

/// The default hook: answer in chat with the error's message, stay silent on unknown
/// commands (other bots in the channel may own them).
pub fn default_error_hook() -> ErrorHook {
    Arc::new(|failure: CommandFailure| {
        Box::pin(async move {
            if matches!(failure.error, CommandError::UnknownCommand { .. }) {
                return;
            }
            let text = failure.error.user_message();
            if let Err(e) = failure.ctx.reply(&failure.event, text).await {
                tracing::warn!(error = %e, "could not answer a command failure");
            }
        })
    })
}

pub(crate) enum Target {
    Help,
    Plugin {
        handler: CommandHandler,
        ctx: Context,
    },
}

pub(crate) struct Router {
    registry: CommandRegistry<Target>,
    bot: BotSection,
    cooldowns: Cooldowns,
    hook: ErrorHook,
    ctx: Context,
    bus: Bus,
}

impl Router {
    pub(crate) fn new(bot: BotSection, hook: ErrorHook, ctx: Context, bus: Bus) -> Self {
        Self {
            registry: CommandRegistry::new(),
            bot,
            cooldowns: Cooldowns::new(),
            hook,
            ctx,
            bus,
        }
    }

    /// Adds a plugin's command; a name or alias taken twice is an error at startup.
    pub(crate) fn add(
        &mut self,
        spec: CommandSpec,
        handler: CommandHandler,
        ctx: Context,
    ) -> Result<(), CommandError> {
        self.registry
            .register(spec, Target::Plugin { handler, ctx })
    }

    /// Adds the built-in help (unless a plugin offers its own) and starts listening.
    pub(crate) fn subscribe(mut self, bus: &Bus) -> Result<SubscriptionHandle, BusError> {
        if self.registry.resolve("help").is_none()
            && let Err(e) = self.registry.register(help_spec(), Target::Help)
        {
            tracing::warn!(error = %e, "built-in help not registered");
        }
        let router = Arc::new(self);
        bus.subscribe_with(
            Subscription::to("platform.*.chat.message")
                .named("commands")
                .ordered_by(Key::User),
            move |event| {
                let router = router.clone();
                async move { router.handle(event).await }
            },
        )
    }

    async fn fail(&self, error: CommandError, event: &Arc<Event>, ctx: &Context) {
        let hook = self.hook.clone();
        let failure = CommandFailure {
            error,
            event: event.clone(),
            ctx: ctx.clone(),
        };
        if let Err(p) = AssertUnwindSafe(hook(failure)).catch_unwind().await {
            tracing::error!(
                panic = %crate::plugin::manager_panic_message(&p),
                "the command error hook panicked"
            );
        }
    }

    async fn handle(&self, event: Arc<Event>) {
        let Payload::ChatMessage(msg) = &event.payload else {
            return;
        };
        if msg.is_history {
            return;
        }
        let prefix = match event.channel() {
            Some(channel) => self.bot.prefix_for(&event.source.platform, channel),
            None => &self.bot.prefix,
        };
        let Some(line) = parse_command_line(&msg.text, prefix) else {
            return;
        };
        let caller = Caller::new(&msg.user, &self.bot.owners, event.channel());
        let prepared = match self.registry.prepare(
            &line,
            prefix,
            &caller,
            &self.cooldowns,
            tokio::time::Instant::now(),
        ) {
            Ok(p) => p,
            Err(error) => {
                let ctx = match self.registry.resolve(&line.name) {
                    Some((_, Target::Plugin { ctx, .. })) => ctx,
                    _ => &self.ctx,
                };
                self.fail(error, &event, ctx).await;
                return;
            }
        };
        let name = prepared.spec.name().to_owned();
        let invocation = CommandInvocation {
            name: name.clone(),
            args: prepared.args.values().to_vec(),
            rest: prepared.args.raw().to_owned(),
            message: msg.clone(),
        };
        if let Ok(topic) = Topic::new(format!("command.{name}")) {
            let mut published = Event::new(
                topic,
                event.source.clone(),
                Payload::Command(invocation.clone()),
            )
            .with_priority(Priority::High);
            published.correlation_id = Some(event.id);
            // Closed only at shutdown; the local handler still runs.
            let _ = self.bus.publish(published);
        }
        match prepared.handler {
            Target::Help => {
                match help_reply(&self.registry, prefix, caller.roles, &prepared.args) {
                    Ok(text) => {
                        if let Err(e) = self.ctx.reply(&event, text).await {
                            tracing::warn!(error = %e, "could not send help");
                        }
                    }
                    Err(error) => self.fail(error, &event, &self.ctx).await,
                }
            }
            Target::Plugin { handler, ctx } => {
                let command = prepared.args.command().to_owned();
                let call = CommandCall {
                    event: event.clone(),
                    invocation,
                    args: prepared.args,
                };
                let run = AssertUnwindSafe(handler(call, ctx.clone()))
                    .catch_unwind()
                    .await;
                let error = match run {
                    Ok(Ok(())) => return,
                    Ok(Err(PluginError::Command(error))) => {
                        self.fail(error, &event, ctx).await;
                        return;
                    }
                    Ok(Err(e)) => e.to_string(),
                    Err(p) => format!("panicked: {}", crate::plugin::manager_panic_message(&p)),
                };
                tracing::warn!(command = %name, %error, "command handler failed");
                let error = CommandError::handler_failed(command, error);
                self.fail(error, &event, ctx).await;
            }
        }
    }
}
