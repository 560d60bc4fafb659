//! Plugins that ship with botkit itself, so `botkit run` with no config has a bot to talk to.

use async_trait::async_trait;

use crate::command::CommandSpec;
use crate::plugin::{Command, Plugin};

/// `!echo <text>`: says the text back. The smallest useful plugin, and the one the no-config
/// shell bot runs.
#[derive(Debug, Default, Clone, Copy)]
pub struct Echo;

#[async_trait]
impl Plugin for Echo {
    fn name(&self) -> &str {
        "echo"
    }

    fn commands(&self) -> Vec<Command> {
        let spec = CommandSpec::new("echo")
            .alias("say")
            .description("says your text back")
            .required_rest_arg("text", "what to say");
        vec![Command::new(spec, |call, ctx| async move {
            let text = call.args.rest().to_owned();
            ctx.reply(&call.event, text).await?;
            Ok(())
        })]
    }
}

/// A plugin that is only a list of commands, for bots too small to need a plugin type:
/// [`BotBuilder::command`](crate::runtime::BotBuilder::command) collects commands into one.
#[derive(Debug, Clone)]
pub struct Commands {
    name: String,
    commands: Vec<Command>,
}

impl Commands {
    /// An empty command list that runs as the plugin `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            commands: Vec::new(),
        }
    }

    /// Adds a command.
    #[must_use]
    pub fn command(mut self, command: Command) -> Self {
        self.commands.push(command);
        self
    }

    /// Whether no command was added.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }
}

#[async_trait]
impl Plugin for Commands {
    fn name(&self) -> &str {
        &self.name
    }

    fn commands(&self) -> Vec<Command> {
        self.commands.clone()
    }
}
