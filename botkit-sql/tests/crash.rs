//! Crash safety: a child process appends chat messages from several tasks and prints the id
//! of each one as soon as its append is acknowledged; the parent kills it with SIGKILL in
//! the middle of the stream, reopens the database, and checks that every acknowledged
//! message is there — read by channel, by user and by message id — and that
//! `PRAGMA integrity_check` says ok. The writers pause together now and then, so the
//! writer's idle merges of the chat indexes run during the stream and the kill can land in
//! one.
//!
//! The child is this same test binary started again with `BOTKIT_SQL_CRASH_CHILD` set
//! (the target has `harness = false`, so `main` decides which side it is). It runs once
//! with `synchronous = FULL` (the default) and once with `NORMAL`, which only gives up the
//! last commits on power loss and so must also survive a killed process.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use botkit::store::{ChannelRef, ChatCursor, ChatRecord, Store};
use botkit_e2e::Scratch;
use botkit_sql::{SqliteOptions, SqliteStore, Synchronous};

const CHILD_ENV: &str = "BOTKIT_SQL_CRASH_CHILD";
/// `normal` makes the child write with `synchronous = NORMAL`.
const SYNC_ENV: &str = "BOTKIT_SQL_CRASH_SYNC";
const WRITERS: usize = 8;
/// Acknowledgements to see before the kill.
const KILL_AFTER: usize = 2_000;
/// Each writer pauses after this many of its messages, long enough for the store's writer
/// to go idle and merge its user index.
const PAUSE_EVERY: u64 = 60;

fn channel() -> ChannelRef {
    ChannelRef::new("twitch", "#crash")
}

/// The user writer `w` writes as.
fn user(w: usize) -> String {
    format!("twitch:u{w}")
}

fn main() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        let sync = match std::env::var(SYNC_ENV).as_deref() {
            Ok("normal") => Synchronous::Normal,
            _ => Synchronous::Full,
        };
        child(Path::new(&path), sync);
        return;
    }
    for sync in ["full", "normal"] {
        print!("test crash_safety_under_sigkill (synchronous = {sync}) ... ");
        parent(sync);
        println!("ok");
    }
}

/// Writes forever from `WRITERS` tasks, printing each acknowledged id.
fn child(path: &Path, sync: Synchronous) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("child runtime");
    rt.block_on(async {
        let store = std::sync::Arc::new(
            SqliteStore::open(path, SqliteOptions::default().with_synchronous(sync))
                .await
                .expect("child opens the store"),
        );
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut i = 0u64;
                loop {
                    let id = format!("w{w}-{i}");
                    let rec = ChatRecord::new(&channel(), user(w), "u", &id, i as i64)
                        .with_message_id(&id);
                    store.append_chat(&[rec]).await.expect("append");
                    // Acknowledged: committed. Only now may the parent count on it.
                    println!("{id}");
                    i += 1;
                    if i.is_multiple_of(PAUSE_EVERY) {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
}

fn parent(sync: &str) {
    let dir = Scratch::new("botkit-sql", "crash");
    let path = dir.0.join("crash.db");
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD_ENV, &path)
        .env(SYNC_ENV, sync)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut acked = HashSet::new();
    let started = Instant::now();
    while acked.len() < KILL_AFTER {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "child acknowledged only {} messages in 120 s",
            acked.len()
        );
        match lines.next() {
            Some(Ok(id)) => {
                acked.insert(id);
            }
            other => panic!("child stopped early: {other:?}"),
        }
    }
    child.kill().expect("SIGKILL the child"); // std sends SIGKILL on Unix
    // Acknowledgements printed before the kill are still in the pipe: they count too.
    for id in lines.map_while(Result::ok) {
        acked.insert(id);
    }
    let status = child.wait().expect("reap child");
    assert!(!status.success(), "the child must have been killed");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = SqliteStore::open(&path, SqliteOptions::default())
            .await
            .expect("reopen after SIGKILL");
        store.integrity_check().await.expect("integrity_check ok");
        let mut stored = HashSet::new();
        let mut cursor = ChatCursor::START;
        loop {
            let page = store
                .chat_range(&channel(), cursor, 10_000)
                .await
                .expect("read back");
            stored.extend(page.records.into_iter().map(|r| r.text));
            match page.next {
                Some(next) => cursor = next,
                None => break,
            }
        }
        let missing: Vec<&String> = acked.difference(&stored).take(10).collect();
        assert!(
            missing.is_empty(),
            "{} acknowledged messages are missing after the crash, e.g. {missing:?}",
            acked.difference(&stored).count()
        );
        // The same messages found by user: the user index (merged or pending) lost none.
        let mut by_user = HashSet::new();
        for w in 0..WRITERS {
            let rows = store
                .chat_by_user(&user(w), Some(&channel()), stored.len() + 1)
                .await
                .expect("read by user");
            by_user.extend(rows.into_iter().map(|r| r.text));
        }
        assert_eq!(by_user, stored, "reading by user finds exactly the stored messages");
        let merged = merged_rows(&path).await;
        // And by message id: every tenth acknowledged message is found and deleted.
        for id in acked.iter().step_by(10) {
            let n = store
                .delete_chat_message(&channel(), id)
                .await
                .expect("delete by id");
            assert_eq!(n, 1, "message {id} is found by its id");
        }
        print!(
            "({} acknowledged, {} stored, {merged} of them merged into the indexes before the kill) ",
            acked.len(),
            stored.len()
        );
    });
}

/// Rows in the merged index by user, read on a connection of its own.
async fn merged_rows(path: &Path) -> i64 {
    use sqlx::Connection;
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&opts)
        .await
        .expect("open read-only");
    let n = sqlx::query_scalar("SELECT count(*) FROM chat_user")
        .fetch_one(&mut conn)
        .await
        .expect("count merged rows");
    let _ = conn.close().await;
    n
}
