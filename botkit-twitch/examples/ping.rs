//! A Twitch bot that joins a channel and answers `!ping`.
//! TWITCH_LOGIN=mybot TWITCH_TOKEN=... TWITCH_CHANNEL=somechannel cargo run -p botkit-twitch --example ping
//! (leave out TWITCH_LOGIN and TWITCH_TOKEN to read anonymously; it cannot answer then).
use botkit::{Bot, CommandSpec, Secret};
use botkit_twitch::{TwitchConfig, TwitchPlatform};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut config = TwitchConfig::default();
    config.login = std::env::var("TWITCH_LOGIN").ok();
    config.token = std::env::var("TWITCH_TOKEN").ok().map(Secret::new);
    config.channels = vec![std::env::var("TWITCH_CHANNEL")?];
    Bot::builder()
        .platform(TwitchPlatform::new("twitch", config)?)
        .command(CommandSpec::new("ping"), |call, ctx| async move {
            ctx.reply(&call.event, "pong").await?;
            Ok(())
        })
        .build()?
        .run()
        .await?;
    Ok(())
}
