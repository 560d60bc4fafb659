//! Log chat to a store, read it back as LLM context, count it, and prune it.
//!
//! ```text
//! cargo run -p botkit-sql --example chat_log                       # ./chat_log.db
//! cargo run -p botkit-sql --example chat_log -- sqlite:///tmp/x.db
//! cargo run -p botkit-sql --features postgres --example chat_log -- postgres://postgres@127.0.0.1/test
//! ```

use botkit::event::now_millis;
use botkit::store::{Bucket, ChannelRef, ChatRecord, CounterIncr};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite://chat_log.db".to_owned());
    // Opens the database (creating the file for SQLite) and applies the migrations.
    let store = botkit_sql::open(&url).await?;

    let chan = ChannelRef::new("twitch", "#example");
    let now = now_millis();
    let lines = ["hi all", "what are we watching?", "the cat video again"];
    let records: Vec<ChatRecord> = lines
        .iter()
        .enumerate()
        .map(|(i, text)| {
            ChatRecord::new(&chan, "twitch:42", "alice", *text, now + i as i64)
                .with_message_id(format!("msg-{now}-{i}"))
        })
        .collect();
    // Returns once the rows are committed: a crash from here on cannot lose them.
    store.append_chat(&records).await?;
    store
        .incr_counters(&[CounterIncr::new("chat.messages", chan.to_string(), now, 3)])
        .await?;

    println!("last messages in {chan}:");
    for r in store.recent_chat(&chan, 200).await? {
        println!("  <{}> {}", r.user_name, r.text);
    }
    let today = store
        .counter_series(
            "chat.messages",
            &chan.to_string(),
            Bucket::Day,
            now,
            now + 1,
        )
        .await?;
    println!("messages today: {today:?}");

    // Retention: forget chat older than 30 days.
    let pruned = store.prune_chat(now - 30 * 86_400_000).await?;
    println!(
        "pruned {pruned} old messages; store holds {:?}",
        store.stats().await?
    );
    store.flush().await?;
    Ok(())
}
