//! A shell chat bot that keeps a log: chat and moderation go to SQLite (`./logger.db`), where
//! `botkit db export` reads them back. Run it with `cargo run -p logger`.

use botkit::builtin::Echo;
use botkit::config::LogRule;
use botkit::runtime::Bot;
use botkit::shell::ShellPlatform;
use botkit::topic::Pattern;
use botkit_plugins::{Logger, LoggerConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Keep chat and moderation; anything no rule matches (joins, connection churn) is not kept.
    let mut logging = LoggerConfig::default();
    logging.rules = vec![
        LogRule {
            pattern: Pattern::new("platform.*.chat.>")?,
            store: true,
        },
        LogRule {
            pattern: Pattern::new("platform.*.mod.>")?,
            store: true,
        },
    ];
    // Embedded SQLite: one file, created and migrated on first use.
    let store = botkit_sql::open("sqlite://logger.db").await?;
    let bot = Bot::builder()
        .platform(ShellPlatform::stdio("loggerbot"))
        .shared_store(store)
        .plugin(Logger::with_config(logging))
        .plugin(Echo)
        .build()?;
    bot.run().await?;
    Ok(())
}
