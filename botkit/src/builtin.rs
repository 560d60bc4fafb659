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
