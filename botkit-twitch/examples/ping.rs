//! A Twitch bot that joins a channel and answers `!ping`.
//! TWITCH_LOGIN=mybot TWITCH_TOKEN=... TWITCH_CHANNEL=somechannel cargo run -p botkit-twitch --example ping
//! (leave out TWITCH_LOGIN and TWITCH_TOKEN to read anonymously; it cannot answer then).
use async_trait::async_trait;
use botkit::{Bot, Command, CommandSpec, Plugin, Secret};
use botkit_twitch::{TwitchConfig, TwitchPlatform};

struct Ping;

#[async_trait]
impl Plugin for Ping {
    fn name(&self) -> &str {
        "ping"
    }
    fn commands(&self) -> Vec<Command> {
        let ping = CommandSpec::new("ping");
        vec![Command::new(ping, |call, ctx| async move {
            ctx.reply(&call.event, "pong").await?;
            Ok(())
        })]
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut config = TwitchConfig::default();
    config.login = std::env::var("TWITCH_LOGIN").ok();
    config.token = std::env::var("TWITCH_TOKEN").ok().map(Secret::new);
    config.channels = vec![std::env::var("TWITCH_CHANNEL")?];
    let twitch = TwitchPlatform::new("twitch", config)?;
    let bot = Bot::builder().platform(twitch).plugin(Ping).build()?;
    bot.run().await?;
    Ok(())
}
