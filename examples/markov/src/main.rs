//! A shell chat bot that learns how its chat talks and talks back: `!markov [start words]`,
//! and a line of its own every ten messages. What it learns is kept in SQLite
//! (`./markov.db`) and reloaded at start. Run it with `cargo run -p markov`.

use std::time::Duration;

use botkit::runtime::Bot;
use botkit::shell::ShellPlatform;
use botkit_plugins::{Logger, Markov, MarkovConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut markov = MarkovConfig::default();
    markov.order = 2; // words of context: 1 babbles, 3 quotes
    markov.speak_every = 10;
    markov.cooldown = Duration::from_secs(30);
    // Embedded SQLite: one file, created and migrated on first use.
    let store = botkit_sql::open("sqlite://markov.db").await?;
    let bot = Bot::builder()
        .platform(ShellPlatform::stdio("markovbot"))
        .shared_store(store)
        // The logger keeps the chat itself, so `botkit markov train` can relearn it later,
        // e.g. with another order.
        .plugin(Logger::new())
        .plugin(Markov::with_config(markov))
        .build()?;
    bot.run().await?;
    Ok(())
}
