//! A shell chat bot with the logger and markov plugins: type a few lines, then `!markov`.
//! Run it with `cargo run -p botkit-plugins --example markov_shell`.

use botkit::runtime::Bot;
use botkit::shell::ShellPlatform;
use botkit::store::MemoryStore;
use botkit_plugins::{Logger, Markov};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bot = Bot::builder()
        .platform(ShellPlatform::stdio("markovbot"))
        .store(MemoryStore::new())
        .plugin(Logger::new())
        .plugin(Markov::new())
        .build()?;
    bot.run().await?;
    Ok(())
}
