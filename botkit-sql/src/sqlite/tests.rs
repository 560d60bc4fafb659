//! The deferred chat indexes (migration 2): lookups by user and by message id read merged and
//! pending rows alike, deletions reach both, and a database written by the first schema is
//! carried over.

use std::path::{Path, PathBuf};
use std::time::Duration;

use botkit::store::{ChannelRef, ChatRecord, Store};
use botkit_e2e::Scratch;
use sqlx::{Connection, SqliteConnection};

use super::{MIGRATIONS, SqliteOptions, SqliteStore};

/// A store on a new file in a scratch directory (removed when the first value drops).
async fn fresh(tag: &str) -> (Scratch, PathBuf, SqliteStore) {
    let dir = Scratch::new("botkit-sql-unit", tag);
    let path = dir.0.join("bot.db");
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    (dir, path, store)
}

async fn raw(path: &Path) -> SqliteConnection {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .busy_timeout(Duration::from_secs(5));
    SqliteConnection::connect_with(&opts).await.unwrap()
}

async fn count(path: &Path, table: &str) -> i64 {
    count_where(path, table, "1").await
}

async fn count_where(path: &Path, table: &str, cond: &str) -> i64 {
    let mut c = raw(path).await;
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {table} WHERE {cond}"
    )))
    .fetch_one(&mut c)
    .await
    .unwrap();
    c.close().await.unwrap();
    n
}

/// Waits until the writer's idle merge has emptied the pending table.
async fn merged(path: &Path) {
    for _ in 0..200 {
        if count(path, "chat_pending").await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the idle writer never merged the pending chat index rows");
}

fn line(ch: &ChannelRef, user: &str, ts: i64) -> ChatRecord {
    ChatRecord::new(ch, user, user, format!("{user} at {ts}"), ts).with_message_id(format!("m{ts}"))
}

fn texts(rows: &[ChatRecord]) -> Vec<String> {
    rows.iter().map(|r| r.text.clone()).collect()
}

/// Every chat row is indexed exactly once, merged or pending.
async fn index_matches(path: &Path) {
    let chat = count(path, "chat").await;
    let indexed = count(path, "chat_user").await + count(path, "chat_pending").await;
    let with_id = count_where(path, "chat", "message_id IS NOT NULL").await;
    let by_id = count(path, "chat_message").await
        + count_where(path, "chat_pending", "message_id IS NOT NULL").await;
    assert_eq!(by_id, with_id, "every message id is indexed exactly once");
    assert_eq!(
        indexed, chat,
        "every chat row is in exactly one of chat_user and chat_pending"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_by_user_read_merged_and_pending_rows() {
    let (_dir, path, store) = fresh("merge").await;
    let a = ChannelRef::new("twitch", "#a");
    let b = ChannelRef::new("twitch", "#b");
    let first: Vec<_> = (0..6)
        .map(|ts| {
            line(
                if ts % 2 == 0 { &a } else { &b },
                if ts < 4 { "ann" } else { "bob" },
                ts,
            )
        })
        .collect();
    store.append_chat(&first).await.unwrap();
    // Pending only.
    assert_eq!(
        texts(&store.chat_by_user("ann", None, 10).await.unwrap()),
        ["ann at 0", "ann at 1", "ann at 2", "ann at 3"]
    );
    merged(&path).await;
    assert!(count(&path, "chat_user").await >= 6);
    // Merged rows and new pending rows together, newest first across both, then limited.
    let more: Vec<_> = (6..10)
        .map(|ts| line(if ts % 2 == 0 { &a } else { &b }, "ann", ts))
        .collect();
    store.append_chat(&more).await.unwrap();
    assert_eq!(
        texts(&store.chat_by_user("ann", None, 5).await.unwrap()),
        ["ann at 3", "ann at 6", "ann at 7", "ann at 8", "ann at 9"]
    );
    assert_eq!(
        texts(&store.chat_by_user("ann", Some(&a), 3).await.unwrap()),
        ["ann at 2", "ann at 6", "ann at 8"]
    );
    assert_eq!(
        texts(&store.chat_by_user("ann", Some(&b), 10).await.unwrap()),
        ["ann at 1", "ann at 3", "ann at 7", "ann at 9"]
    );
    // A purge in one channel reaches merged and pending rows, and only that channel.
    assert_eq!(store.delete_chat_by_user(&a, "ann").await.unwrap(), 4);
    assert_eq!(
        texts(&store.chat_by_user("ann", None, 10).await.unwrap()),
        ["ann at 1", "ann at 3", "ann at 7", "ann at 9"]
    );
    assert_eq!(store.delete_chat_message(&b, "m9").await.unwrap(), 1);
    assert_eq!(store.prune_chat(2).await.unwrap(), 1, "ann at 1");
    index_matches(&path).await;
    assert_eq!(
        texts(&store.chat_by_user("ann", None, 10).await.unwrap()),
        ["ann at 3", "ann at 7"]
    );
    assert_eq!(
        texts(&store.chat_by_user("bob", Some(&b), 10).await.unwrap()),
        ["bob at 5"]
    );
    drop(store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_row_number_is_found_by_user() {
    // SQLite gives the next row max(seq) + 1: after the newest rows are deleted, a new row
    // gets the number of a row that was already merged.
    let (_dir, path, store) = fresh("reuse").await;
    let ch = ChannelRef::new("cytube", "room");
    store
        .append_chat(&[line(&ch, "ann", 1), line(&ch, "bob", 2)])
        .await
        .unwrap();
    merged(&path).await;
    assert_eq!(store.delete_chat_message(&ch, "m2").await.unwrap(), 1);
    store.append_chat(&[line(&ch, "cid", 3)]).await.unwrap();
    assert_eq!(
        texts(&store.chat_by_user("cid", None, 10).await.unwrap()),
        ["cid at 3"]
    );
    assert!(
        store
            .chat_by_user("bob", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    merged(&path).await;
    assert_eq!(
        texts(&store.chat_by_user("cid", Some(&ch), 10).await.unwrap()),
        ["cid at 3"]
    );
    index_matches(&path).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_schema_database_is_carried_over() {
    let dir = Scratch::new("botkit-sql-unit", "upgrade");
    let path = dir.0.join("old.db");
    {
        let mut c = raw(&path).await;
        crate::schema::migrator(&MIGRATIONS[..1])
            .run_direct(None, &mut c, false)
            .await
            .unwrap();
        for i in 0..300i64 {
            sqlx::query(
                "INSERT INTO chat (platform, channel, message_id, user_id, user_name, text, ts) \
                 VALUES ('twitch', '#old', $1, $2, $2, $3, $4)",
            )
            .bind(format!("m{i}"))
            .bind(format!("u{}", i % 7))
            .bind(format!("line {i}"))
            .bind(i)
            .execute(&mut c)
            .await
            .unwrap();
        }
        c.close().await.unwrap();
    }
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    assert_eq!(
        count(&path, "chat_user").await,
        300,
        "the old rows are merged"
    );
    assert_eq!(count(&path, "chat_pending").await, 0);
    let mut c = raw(&path).await;
    let old_indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE name IN ('chat_by_user', 'chat_by_message')",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    c.close().await.unwrap();
    assert!(
        old_indexes.is_empty(),
        "the indexes on the chat table are gone"
    );
    assert_eq!(count(&path, "chat_message").await, 300);
    let ch = ChannelRef::new("twitch", "#old");
    assert_eq!(
        texts(&store.chat_by_user("u3", Some(&ch), 3).await.unwrap()),
        ["line 283", "line 290", "line 297"]
    );
    store.append_chat(&[line(&ch, "u3", 1000)]).await.unwrap();
    assert_eq!(
        texts(&store.chat_by_user("u3", None, 2).await.unwrap()),
        ["line 297", "u3 at 1000"]
    );
    assert_eq!(store.delete_chat_message(&ch, "m17").await.unwrap(), 1);
    store.integrity_check().await.unwrap();
    index_matches(&path).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_deleted_by_id_in_every_generation_and_pending() {
    // `chat_message` keys ids by generation (seq >> 16); rows written with far-apart row
    // numbers (as after a long history) land in different generations.
    let (_dir, path, store) = fresh("byid").await;
    let ch = ChannelRef::new("twitch", "#c");
    let other = ChannelRef::new("twitch", "#other");
    {
        let mut c = raw(&path).await;
        for (seq, id, channel) in [
            (5i64, "a", "#c"),
            (6, "d", "#c"),
            (70_000, "b", "#c"),
            (200_000, "c", "#c"),
            (200_001, "c", "#other"),
        ] {
            sqlx::query(
                "INSERT INTO chat (seq, platform, channel, message_id, user_id, user_name, text, ts) \
                 VALUES ($1, 'twitch', $2, $3, 'u', 'u', $3, $1)",
            )
            .bind(seq)
            .bind(channel)
            .bind(id)
            .execute(&mut c)
            .await
            .unwrap();
        }
        c.close().await.unwrap();
    }
    // The writer merges once it has written itself (or at its next start): rows another
    // program wrote wait until then, and are read from the pending table meanwhile.
    assert_eq!(store.delete_chat_message(&ch, "d").await.unwrap(), 1);
    store.append_chat(&[line(&ch, "u", 1)]).await.unwrap();
    merged(&path).await;
    let mut c = raw(&path).await;
    let gens: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT gen FROM chat_message ORDER BY gen")
        .fetch_all(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    assert_eq!(
        gens,
        [0, 1, 3],
        "a, b, both c rows and m1 in three generations"
    );
    // Pending: the store's own append, not merged yet.
    store.append_chat(&[line(&ch, "u", 300_000)]).await.unwrap();
    assert_eq!(store.delete_chat_message(&ch, "m300000").await.unwrap(), 1);
    assert_eq!(store.delete_chat_message(&ch, "m1").await.unwrap(), 1);
    assert_eq!(store.delete_chat_message(&ch, "a").await.unwrap(), 1);
    assert_eq!(store.delete_chat_message(&ch, "b").await.unwrap(), 1);
    assert_eq!(
        store.delete_chat_message(&ch, "c").await.unwrap(),
        1,
        "only #c's"
    );
    assert_eq!(
        store.delete_chat_message(&ch, "c").await.unwrap(),
        0,
        "gone"
    );
    assert_eq!(store.delete_chat_message(&ch, "zzz").await.unwrap(), 0);
    assert_eq!(texts(&store.recent_chat(&other, 10).await.unwrap()), ["c"]);
    assert!(store.recent_chat(&ch, 10).await.unwrap().is_empty());
    index_matches(&path).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_text_comes_back_byte_for_byte() {
    // Chat rows are read as one JSON array (see `fetch_chat`): every character must survive
    // SQLite's JSON encoding and serde's decoding.
    let (_dir, _, store) = fresh("json").await;
    let ch = ChannelRef::new("twitch", "#\"quoted\"\\chan");
    let texts = [
        "plain",
        "quote \" backslash \\ slash /",
        "lines\nand\ttabs\r\n",
        "nul \u{0} inside",
        "control \u{1} \u{1f} \u{7f}",
        "emoji 🦀👩‍👩‍👧 and ünïcödé",
        "separators \u{2028} \u{2029}",
        "json-looking [1,{\"a\":null}]",
        "",
    ];
    let id = botkit::event::EventId::from_u128(u128::MAX);
    let records: Vec<ChatRecord> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let ts = if i == 0 { i64::MIN } else { i as i64 };
            let mut r = ChatRecord::new(&ch, format!("u\"{i}"), "näme \\", *t, ts);
            if i % 2 == 0 {
                r = r.with_message_id(format!("m\n{i}")).with_event_id(id);
            }
            r
        })
        .chain(std::iter::once(ChatRecord::new(
            &ch,
            "last",
            "last",
            "max",
            i64::MAX,
        )))
        .collect();
    store.append_chat(&records).await.unwrap();
    assert_eq!(store.recent_chat(&ch, 100).await.unwrap(), records);
    assert_eq!(
        store.chat_by_user("u\"3", Some(&ch), 5).await.unwrap(),
        vec![records[3].clone()]
    );
}

/// Runs the writer's merge now, in order with the other writes.
async fn merge_now(store: &SqliteStore) {
    let opts = store.write_opts.clone();
    let merged = store
        .write(move |c| Box::pin(async move { Ok(super::merge_indexes(c, &opts).await) }))
        .await
        .unwrap();
    assert!(merged, "the merge commits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_appends_deletions_and_merges_agree_with_the_memory_store() {
    // The in-memory store is the reference (it passes the same conformance suite); every
    // lookup by user and every deletion must give the same answer, whether the rows are
    // pending, merged, or some of each.
    let (_dir, path, store) = fresh("model").await;
    let model = botkit::store::MemoryStore::new();
    let channels = [
        ChannelRef::new("twitch", "#a"),
        ChannelRef::new("twitch", "#b"),
    ];
    let users = ["ann", "bob", "cid", "dee"];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut ts = 0i64;
    for step in 0..400 {
        match next(10) {
            0..=4 => {
                let rows: Vec<ChatRecord> = (0..1 + next(20))
                    .map(|_| {
                        ts += next(3) as i64; // equal timestamps too
                        let ch = &channels[next(2) as usize];
                        let user = users[next(4) as usize];
                        let r = ChatRecord::new(ch, user, user, format!("{user} {ts}"), ts);
                        match next(3) {
                            0 => r,
                            _ => r.with_message_id(format!("id{}", next(60))),
                        }
                    })
                    .collect();
                store.append_chat(&rows).await.unwrap();
                model.append_chat(&rows).await.unwrap();
            }
            5 => {
                let (ch, id) = (&channels[next(2) as usize], format!("id{}", next(60)));
                assert_eq!(
                    store.delete_chat_message(ch, &id).await.unwrap(),
                    model.delete_chat_message(ch, &id).await.unwrap(),
                    "step {step}: delete {id}"
                );
            }
            6 => {
                let (ch, user) = (&channels[next(2) as usize], users[next(4) as usize]);
                assert_eq!(
                    store.delete_chat_by_user(ch, user).await.unwrap(),
                    model.delete_chat_by_user(ch, user).await.unwrap(),
                    "step {step}: purge {user}"
                );
            }
            7 => {
                let cutoff = ts - 30;
                assert_eq!(
                    store.prune_chat(cutoff).await.unwrap(),
                    model.prune_chat(cutoff).await.unwrap(),
                    "step {step}: prune"
                );
            }
            _ => merge_now(&store).await,
        }
        if step % 100 == 99 {
            index_matches(&path).await;
        }
        for user in users {
            let limit = 1 + next(8) as usize;
            assert_eq!(
                store.chat_by_user(user, None, limit).await.unwrap(),
                model.chat_by_user(user, None, limit).await.unwrap(),
                "step {step}: {user}"
            );
            for ch in &channels {
                assert_eq!(
                    store.chat_by_user(user, Some(ch), limit).await.unwrap(),
                    model.chat_by_user(user, Some(ch), limit).await.unwrap(),
                    "step {step}: {user} in {}",
                    ch.channel
                );
            }
        }
    }
    index_matches(&path).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_botkit_refuses_a_newer_schema_clearly() {
    // A botkit that knows only migration 1 meets a file with migration 2 applied.
    let (_dir, path, store) = fresh("newer").await;
    drop(store);
    let mut c = raw(&path).await;
    let err = crate::schema::migrator(&MIGRATIONS[..1])
        .run_direct(None, &mut c, false)
        .await
        .expect_err("an unknown applied migration is an error");
    c.close().await.unwrap();
    let err = crate::schema::map_err("sqlite", err).to_string();
    assert!(err.contains("schema migration 2"), "{err}");
    assert!(
        err.contains("written by a newer botkit; upgrade botkit"),
        "{err}"
    );
}
