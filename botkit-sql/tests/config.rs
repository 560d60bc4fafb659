//! The bot config's `[store]` keys reach the store they open: what a user writes in
//! `bot.toml` is what the database connection does.
#![cfg(feature = "sqlite")]

use botkit::config::{Config, StoreSection};
use botkit::store::{ChannelRef, ChatRecord, Store};
use botkit_sql::SqliteStore;
use botkit_sql::config::{open_config, sqlite_options};

fn temp_db(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("botkit-sql-config-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("bot.db")
}

fn config(path: &std::path::Path, keys: &str) -> Config {
    let text = format!("[store]\nurl = \"sqlite://{}\"\n{keys}", path.display());
    Config::from_str_named(&text, "bot.toml").expect("valid config")
}

#[tokio::test]
async fn synchronous_normal_in_the_config_is_what_the_database_does() {
    let path = temp_db("normal");
    let cfg = config(
        &path,
        "synchronous = \"normal\"\ncache_mib = 8\ncheckpoint_pages = 2000\n",
    );
    let store = SqliteStore::open(&path, sqlite_options(&cfg.store))
        .await
        .expect("open");
    assert_eq!(store.pragma("synchronous").await.unwrap(), "1", "NORMAL");
    assert_eq!(store.pragma("cache_size").await.unwrap(), "-8192", "8 MiB");
    assert_eq!(store.pragma("wal_autocheckpoint").await.unwrap(), "2000");
    assert_eq!(store.pragma("journal_mode").await.unwrap(), "wal");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn without_keys_commits_are_fully_durable() {
    let path = temp_db("default");
    let cfg = config(&path, "");
    let store = SqliteStore::open(&path, sqlite_options(&cfg.store))
        .await
        .expect("open");
    assert_eq!(store.pragma("synchronous").await.unwrap(), "2", "FULL");
    assert_eq!(store.pragma("cache_size").await.unwrap(), "-65536");
    assert_eq!(store.pragma("wal_autocheckpoint").await.unwrap(), "10000");
    assert!(store.pragma("synchronous; DROP TABLE chat").await.is_err());
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn open_config_opens_a_working_store_with_the_write_behind_keys() {
    let path = temp_db("open");
    let cfg = config(
        &path,
        "batch_size = 2\nlinger = \"1ms\"\nqueue_capacity = 1\nsynchronous = \"normal\"\n",
    );
    let store = open_config(&cfg.store).await.expect("open");
    let ch = ChannelRef::new("twitch", "#c");
    let lines: Vec<ChatRecord> = (0..5)
        .map(|i| ChatRecord::new(&ch, "twitch:1", "a", format!("line {i}"), i))
        .collect();
    store.append_chat(&lines).await.expect("append");
    let got = store.recent_chat(&ch, 10).await.expect("recent");
    assert_eq!(got.len(), 5);
    assert_eq!(got[4].text, "line 4");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn an_idle_writer_checkpoints_the_wal_into_the_database_file() {
    let path = temp_db("idle");
    let store = SqliteStore::open(&path, sqlite_options(&StoreSection::new("sqlite://x")))
        .await
        .expect("open");
    let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let empty = size();
    let ch = ChannelRef::new("twitch", "#c");
    let lines: Vec<ChatRecord> = (0..2000)
        .map(|i| {
            ChatRecord::new(
                &ch,
                "twitch:1",
                "a",
                format!("line {i} {}", "x".repeat(80)),
                i,
            )
        })
        .collect();
    store.append_chat(&lines).await.expect("append");
    // Far below `checkpoint_pages`: the rows are in the WAL only, until the writer idles
    // (in WAL mode nothing else writes to the database file).
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(
        size() > empty + 100_000,
        "the idle writer copied the WAL into the file: {} -> {}",
        empty,
        size()
    );
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}
