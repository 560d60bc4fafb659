//! A CyTube bot that joins a channel and answers `!ping`. Configure it with
//! CYTUBE_SERVER, CYTUBE_CHANNEL, CYTUBE_USER and (optionally) CYTUBE_PASSWORD.
use botkit::{Bot, CommandSpec};
use botkit_cytube::{CytubeConfig, CytubePlatform, RoomConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = |key: &str, default: &str| std::env::var(key).unwrap_or_else(|_| default.into());
    let mut config = CytubeConfig::new(env("CYTUBE_SERVER", "https://cytu.be"))
        .room(RoomConfig::new(env("CYTUBE_CHANNEL", "botkit-test")))
        .user(env("CYTUBE_USER", "botkit_ping"));
    if let Ok(password) = std::env::var("CYTUBE_PASSWORD") {
        config = config.password(password);
    }
    Bot::builder()
        .platform(CytubePlatform::new("cytube", config)?)
        .command(CommandSpec::new("ping"), |call, ctx| async move {
            ctx.reply(&call.event, "pong").await?;
            Ok(())
        })
        .build()?
        .run()
        .await?;
    Ok(())
}
