//! Bad input and bad days: a corrupt file, a path that cannot be opened, malformed URLs, a
//! full database, and a PostgreSQL that goes away and comes back. Each must give a clear
//! error naming the cause — never a panic — and the store must keep working afterwards.

// Built with neither backend, only the URL checks run.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(unused))]

#[cfg(feature = "postgres")]
use std::sync::atomic::Ordering;

use botkit::store::{ChannelRef, ChatRecord, Store, StoreError};
#[cfg(feature = "sqlite")]
use botkit_e2e::Scratch;

fn chan() -> ChannelRef {
    ChannelRef::new("twitch", "#bad")
}

#[tokio::test]
async fn malformed_urls_are_invalid_and_say_why() {
    for (url, why) in [
        ("", "no scheme"),
        ("botkit.db", "no scheme"),
        ("sqlite://", "no file path"),
        ("redis://127.0.0.1/0", "unknown scheme `redis`"),
        ("postgres://bot:hunter2@127.0.0.1:notaport/db", "bad port"),
    ] {
        let e = botkit_sql::open(url).await.err().unwrap();
        assert!(matches!(e, StoreError::Invalid { .. }), "{url}: {e:?}");
        let msg = e.to_string();
        assert!(msg.contains(why), "{url}: {msg}");
        assert!(!msg.contains("hunter2"), "the password leaked: {msg}");
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use botkit_sql::{SqliteOptions, SqliteStore};

    #[tokio::test]
    async fn a_file_that_is_not_a_database_is_corrupt_and_named() {
        let dir = Scratch::new("botkit-sql-bad", "corrupt");
        let path = dir.0.join("bot.db");
        std::fs::write(&path, "this is a text file, not a database\n".repeat(200)).unwrap();
        let e = SqliteStore::open(&path, SqliteOptions::default())
            .await
            .err()
            .unwrap();
        assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("bot.db"), "names the file: {msg}");
        assert!(msg.contains("not a SQLite database"), "{msg}");
        assert!(!e.is_transient());
        // Through the URL too.
        let e = botkit_sql::open(&format!("sqlite://{}", path.display()))
            .await
            .err()
            .unwrap();
        assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
    }

    #[tokio::test]
    async fn a_damaged_page_is_found_by_the_integrity_check() {
        let dir = Scratch::new("botkit-sql-bad", "damaged");
        let live = dir.0.join("live.db");
        let path = dir.0.join("bot.db");
        {
            let store = SqliteStore::open(&live, SqliteOptions::default())
                .await
                .unwrap();
            let recs: Vec<ChatRecord> = (0..2000)
                .map(|i| ChatRecord::new(&chan(), "u", "u", format!("message {i}"), i))
                .collect();
            store.append_chat(&recs).await.unwrap();
            store.integrity_check().await.unwrap();
            // The online backup is one self-contained file: damage the copy.
            store.backup_to(&path).await.unwrap();
        }
        let copy = SqliteStore::open(&path, SqliteOptions::default())
            .await
            .unwrap();
        copy.integrity_check().await.unwrap();
        assert_eq!(copy.stats().await.unwrap().chat_records, 2000);
        drop(copy);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let mut bytes = std::fs::read(&path).unwrap();
        let len = bytes.len();
        for b in bytes.iter_mut().skip(len / 2).take(8192) {
            *b = 0x5a;
        }
        std::fs::write(&path, bytes).unwrap();
        match SqliteStore::open(&path, SqliteOptions::default()).await {
            Err(e) => assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}"),
            Ok(store) => {
                let e = store.integrity_check().await.err().unwrap();
                assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
                assert!(e.to_string().contains("bot.db"), "{e}");
            }
        }
    }

    #[tokio::test]
    async fn a_path_that_cannot_be_opened_is_named() {
        let dir = Scratch::new("botkit-sql-bad", "unopenable");
        // A directory where the file should be: unreadable as a database even for root.
        let as_dir = dir.0.join("bot.db");
        std::fs::create_dir(&as_dir).unwrap();
        let missing_parent = dir.0.join("no/such/dir/bot.db");
        for path in [as_dir, missing_parent] {
            let e = SqliteStore::open(&path, SqliteOptions::default())
                .await
                .err()
                .unwrap();
            assert!(matches!(e, StoreError::Backend { .. }), "{e:?}");
            let msg = e.to_string();
            assert!(msg.contains(&path.display().to_string()), "{msg}");
            assert!(msg.contains("cannot open"), "{msg}");
        }
    }

    #[tokio::test]
    async fn a_full_database_fails_writes_clearly_and_recovers() {
        let dir = Scratch::new("botkit-sql-bad", "full");
        let path = dir.0.join("bot.db");
        // 64 pages of 4 KiB: the schema fits, a few hundred KiB of chat does not.
        let store = SqliteStore::open(&path, SqliteOptions::default().with_max_pages(64))
            .await
            .unwrap();
        let big = "x".repeat(4000);
        let mut err = None;
        for i in 0..200 {
            let rec = ChatRecord::new(&chan(), "u", "u", &big, i);
            if let Err(e) = store.append_chat(&[rec]).await {
                err = Some(e);
                break;
            }
        }
        let e = err.expect("the database must fill up");
        assert!(matches!(e, StoreError::Backend { .. }), "{e:?}");
        assert!(e.to_string().contains("disk is full"), "{e}");
        // The store keeps running: reads work, and once space is freed writes work again.
        let before = store.stats().await.unwrap().chat_records;
        assert!(before > 0);
        // The writer's idle merge of the chat indexes may fail on the full file too; merged
        // or still pending, every stored row is found by user.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let by_user = store.chat_by_user("u", None, 1000).await.unwrap();
        assert_eq!(by_user.len() as u64, before);
        let freed = store.prune_chat(i64::MAX).await.unwrap();
        assert_eq!(freed, before);
        store
            .append_chat(&[ChatRecord::new(&chan(), "u", "u", "after", 1)])
            .await
            .unwrap();
        store.kv_put("p", "k", serde_json::json!(1)).await.unwrap();
        assert_eq!(store.recent_chat(&chan(), 5).await.unwrap().len(), 1);
        assert_eq!(store.chat_by_user("u", None, 5).await.unwrap().len(), 1);
        store.integrity_check().await.unwrap();
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use super::*;
    use botkit::backoff::BackoffPolicy;
    use botkit_sql::{PgOptions, PgStore, WriteBehind};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::task::JoinSet;

    /// A TCP proxy in front of PostgreSQL that can be "unplugged": while down it closes
    /// every open connection and refuses new ones.
    struct Proxy {
        addr: std::net::SocketAddr,
        up: Arc<AtomicBool>,
        conns: Arc<tokio::sync::Mutex<JoinSet<()>>>,
        accept: tokio::task::JoinHandle<()>,
    }

    impl Proxy {
        async fn start(target: String) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let up = Arc::new(AtomicBool::new(true));
            let conns = Arc::new(tokio::sync::Mutex::new(JoinSet::new()));
            let (up2, conns2) = (up.clone(), conns.clone());
            let accept = tokio::spawn(async move {
                loop {
                    let Ok((mut inbound, _)) = listener.accept().await else {
                        continue;
                    };
                    if !up2.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let target = target.clone();
                    conns2.lock().await.spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(&target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                }
            });
            Self {
                addr,
                up,
                conns,
                accept,
            }
        }

        async fn down(&self) {
            self.up.store(false, Ordering::SeqCst);
            self.conns.lock().await.abort_all();
        }

        fn up(&self) {
            self.up.store(true, Ordering::SeqCst);
        }
    }

    impl Drop for Proxy {
        fn drop(&mut self) {
            self.accept.abort();
        }
    }

    /// `postgres://user@host:port/db…` split into the URL with `{}` for the address, and
    /// the address.
    fn split_url(url: &str) -> (String, String) {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (user, rest) = rest.rsplit_once('@').map_or(("", rest), |(u, r)| (u, r));
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (host, tail) = rest.split_at(end);
        let at = if user.is_empty() { "" } else { "@" };
        (format!("{scheme}://{user}{at}{{}}{tail}"), host.to_owned())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_going_away_and_coming_back() {
        let Ok(url) = std::env::var("BOTKIT_TEST_POSTGRES_URL") else {
            println!("skipped: BOTKIT_TEST_POSTGRES_URL not set");
            return;
        };
        let (template, target) = split_url(&url);
        let proxy = Proxy::start(target).await;
        let via_proxy = template.replace("{}", &proxy.addr.to_string());
        let schema = format!("botkit_test_outage_{}", std::process::id());
        let opts = PgOptions::default()
            .with_schema(&schema)
            .with_acquire_timeout(Duration::from_millis(500))
            .with_write_behind(
                WriteBehind::default().with_retry(
                    BackoffPolicy::default()
                        .with_base(Duration::from_millis(50))
                        .with_cap(Duration::from_millis(200))
                        .unlimited(),
                ),
            );
        let store = Arc::new(PgStore::connect(&via_proxy, opts).await.unwrap());
        let outcome = tokio::spawn({
            let store = store.clone();
            async move {
                store
                    .append_chat(&[ChatRecord::new(&chan(), "u", "u", "before", 1)])
                    .await
                    .unwrap();
            }
        })
        .await;
        outcome.unwrap();
        proxy.down().await;

        let e = store
            .kv_put("p", "k", serde_json::json!(1))
            .await
            .err()
            .unwrap();
        assert!(e.is_transient(), "an outage is transient: {e:?}");
        assert!(matches!(e, StoreError::Unavailable { .. }), "{e:?}");
        // A log write during the outage is held and retried, not lost.
        let pending = tokio::spawn({
            let store = store.clone();
            async move {
                store
                    .append_chat(&[ChatRecord::new(&chan(), "u", "u", "during", 2)])
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(!pending.is_finished(), "the write waits for the server");
        proxy.up();
        tokio::time::timeout(Duration::from_secs(20), pending)
            .await
            .expect("the held write commits once the server is back")
            .unwrap()
            .unwrap();
        store.kv_put("p", "k", serde_json::json!(1)).await.unwrap();
        let texts: Vec<String> = store
            .recent_chat(&chan(), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.text)
            .collect();
        let pool = store.pool().clone();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA \"{schema}\" CASCADE"
        )))
        .execute(&pool)
        .await
        .unwrap();
        store.close().await;
        assert_eq!(texts, vec!["before", "during"]);
    }
}
