//! The core conformance suite on SQLite (a fresh temporary file per check), plus reopening
//! the file to check that flushed writes survive a restart.

#![cfg(feature = "sqlite")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use botkit::store::conformance;
use botkit_e2e::Scratch;
use botkit_sql::{SqliteOptions, SqliteStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_on_sqlite() {
    let dir = Scratch::new("botkit-sql", "conf");
    let n = AtomicU32::new(0);
    conformance::run_all(|| {
        let path = dir
            .0
            .join(format!("s{}.db", n.fetch_add(1, Ordering::Relaxed)));
        async move {
            Arc::new(
                SqliteStore::open(&path, SqliteOptions::default())
                    .await
                    .unwrap(),
            )
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushed_writes_survive_reopen() {
    let dir = Scratch::new("botkit-sql", "reopen");
    let path = dir.0.join("bot.db");
    {
        let store = SqliteStore::open(&path, SqliteOptions::default())
            .await
            .unwrap();
        conformance::persistence_write(&store).await;
    }
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    conformance::persistence_verify(&store).await;
    store.integrity_check().await.unwrap();
    let store2 = botkit_sql::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    conformance::persistence_verify(&*store2).await;
}
