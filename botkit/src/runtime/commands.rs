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
    CommandError, CommandRegistry, CommandSpec, Cooldowns, Prefixes, check_invocation,
    effective_roles, help_for, help_list, parse_command_line, split_args,
};
use crate::event::{CommandInvocation, Event, Payload, Priority, Role};
use crate::plugin::{CommandCall, CommandHandler, Context};
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
    Plugin { handler: CommandHandler, ctx: Context },
}

pub(crate) struct Router {
    registry: CommandRegistry<Target>,
    prefixes: Prefixes,
    cooldowns: Cooldowns,
    owners: Vec<String>,
    hook: ErrorHook,
    ctx: Context,
    bus: Bus,
}

pub(crate) fn help_spec() -> CommandSpec {
    CommandSpec::new("help")
        .alias("commands")
        .description("lists the commands, or explains one")
        .opt_arg::<String>("command", "the command to explain")
}

impl Router {
    pub(crate) fn new(
        prefixes: Prefixes,
        owners: Vec<String>,
        hook: ErrorHook,
        ctx: Context,
        bus: Bus,
    ) -> Self {
        let mut registry = CommandRegistry::new();
        // Registering into an empty registry cannot conflict.
        let _ = registry.register(help_spec(), Target::Help);
        Self {
            registry,
            prefixes,
            cooldowns: Cooldowns::new(),
            owners,
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
        // A plugin may replace the built-in help.
        if spec.name == "help" {
            self.registry = {
                let mut fresh = CommandRegistry::new();
                for (s, t) in self.registry.drain() {
                    if !matches!(t, Target::Help) {
                        fresh.register(s, t)?;
                    }
                }
                fresh
            };
        }
        self.registry
            .register(spec, Target::Plugin { handler, ctx })
    }

    pub(crate) fn subscribe(self, bus: &Bus) -> Result<SubscriptionHandle, BusError> {
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
        let prefix = self.prefixes.for_channel(event.channel());
        let Some(line) = parse_command_line(&msg.text, prefix) else {
            return;
        };
        let Some((spec, target)) = self.registry.resolve(&line.name) else {
            let suggestion = self.registry.suggest(&line.name);
            let error = CommandError::UnknownCommand {
                name: line.name.clone(),
                suggestion,
            };
            self.fail(error, &event, &self.ctx).await;
            return;
        };
        let ctx = match target {
            Target::Plugin { ctx, .. } => ctx,
            Target::Help => &self.ctx,
        };
        let raw_args = match split_args(&line.rest) {
            Ok(a) => a,
            Err(error) => {
                let error = CommandError::Parse {
                    command: spec.name.clone(),
                    error,
                };
                self.fail(error, &event, ctx).await;
                return;
            }
        };
        let roles = effective_roles(&msg.user, &self.owners);
        let bypass = roles.at_least(Role::Moderator);
        let args = match check_invocation(
            spec,
            roles,
            raw_args.clone(),
            &line.rest,
            &self.cooldowns,
            &msg.user.id,
            event.channel(),
            bypass,
            tokio::time::Instant::now(),
        ) {
            Ok(args) => args,
            Err(error) => {
                self.fail(error, &event, ctx).await;
                return;
            }
        };
        let invocation = CommandInvocation {
            name: spec.name.clone(),
            args: raw_args,
            rest: line.rest.clone(),
            message: msg.clone(),
        };
        if let Ok(topic) = Topic::new(format!("command.{}", spec.name)) {
            let mut published = Event::new(
                topic,
                event.source.clone(),
                Payload::Command(invocation.clone()),
            )
            .with_priority(Priority::High);
            published.correlation_id = Some(event.id);
            let _ = self.bus.publish(published);
        }
        match target {
            Target::Help => {
                let text = match args.opt::<String>("command") {
                    Ok(Some(name)) => {
                        match help_for(&self.registry, prefix, &name, roles) {
                            Ok(t) => t,
                            Err(error) => {
                                self.fail(error, &event, ctx).await;
                                return;
                            }
                        }
                    }
                    _ => help_list(&self.registry, prefix, roles),
                };
                if let Err(e) = ctx.reply(&event, text).await {
                    tracing::warn!(error = %e, "could not send help");
                }
            }
            Target::Plugin { handler, ctx } => {
                let call = CommandCall {
                    event: event.clone(),
                    invocation,
                    args,
                };
                let run = AssertUnwindSafe(handler(call, ctx.clone()))
                    .catch_unwind()
                    .await;
                let error = match run {
                    Ok(Ok(())) => return,
                    Ok(Err(e)) => e.to_string(),
                    Err(p) => format!("panicked: {}", crate::plugin::manager_panic_message(&p)),
                };
                tracing::warn!(command = %spec.name, %error, "command handler failed");
                let error = CommandError::HandlerFailed {
                    command: spec.name.clone(),
                    error,
                };
                self.fail(error, &event, ctx).await;
            }
        }
    }
}
