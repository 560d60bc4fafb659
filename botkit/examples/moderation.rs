//! A shell bot with a moderator-only command, a cooldown and one error hook.
//!
//! ```sh
//! cargo run -p botkit --example moderation
//! # then type:  !roll   !roll   !timeout bob 10m   /role moderator   !timeout bob 10m
//! ```

use std::time::Duration;

use async_trait::async_trait;
use botkit::action::{Action, ActionKind};
use botkit::command::{CommandError, CommandSpec, Mention};
use botkit::event::Role;
use botkit::plugin::{Command, Plugin};
use botkit::runtime::Bot;
use botkit::shell::ShellPlatform;

struct Moderation;

#[async_trait]
impl Plugin for Moderation {
    fn name(&self) -> &str {
        "moderation"
    }

    fn commands(&self) -> Vec<Command> {
        let timeout = CommandSpec::new("timeout")
            .description("times a user out")
            .role(Role::Moderator)
            .arg::<Mention>("user", "who")
            .arg::<Duration>("duration", "for how long, like 30s or 10m")
            .rest_arg("reason", "why");
        let roll = CommandSpec::new("roll")
            .alias("dice")
            .description("rolls a six-sided die")
            .cooldown_user(Duration::from_secs(10));
        vec![
            Command::new(timeout, |call, ctx| async move {
                let Mention(user) = call.arg("user")?;
                let duration: Duration = call.arg("duration")?;
                let reason = Some(call.args.rest().to_owned()).filter(|r| !r.is_empty());
                let kind = ActionKind::Timeout {
                    user,
                    duration_secs: duration.as_secs(),
                    reason,
                };
                ctx.act_ok(Action::new(call.event.source.clone(), kind))
                    .await?;
                Ok(())
            }),
            Command::new(roll, |call, ctx| async move {
                let n = fastrand::u8(1..=6);
                ctx.reply(&call.event, format!("🎲 {n}")).await?;
                Ok(())
            }),
        ]
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bot = Bot::builder()
        .platform(ShellPlatform::stdio("modbot"))
        .plugin(Moderation)
        .on_command_error(|failure| async move {
            let text = match &failure.error {
                CommandError::UnknownCommand { .. } => return,
                CommandError::MissingRole { required, .. } => {
                    format!("sorry, only a {required} can do that")
                }
                other => other.user_message(),
            };
            let _ = failure.ctx.reply(&failure.event, text).await;
        })
        .build()?;
    bot.run().await?;
    Ok(())
}
