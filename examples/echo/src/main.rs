//! The smallest botkit bot: a shell chat that answers `!echo <text>`.
//! Run it with `cargo run -p echo`, type `!echo hello`, or pipe lines into it.

use async_trait::async_trait;
use botkit::command::CommandSpec;
use botkit::plugin::{Command, Plugin};
use botkit::runtime::Bot;
use botkit::shell::ShellPlatform;

/// Says back whatever follows `!echo`.
struct EchoPlugin;

#[async_trait]
impl Plugin for EchoPlugin {
    fn name(&self) -> &str {
        "echo"
    }

    fn commands(&self) -> Vec<Command> {
        let spec = CommandSpec::new("echo").required_rest_arg("text", "what to say back");
        vec![Command::new(spec, |call, ctx| async move {
            ctx.reply(&call.event, call.args.rest()).await?;
            Ok(())
        })]
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bot = Bot::builder()
        .platform(ShellPlatform::stdio("echobot"))
        .plugin(EchoPlugin)
        .build()?;
    bot.run().await?;
    Ok(())
}
