//! The core conformance suite on SQLite (a fresh temporary file per check), plus reopening
//! the file to check that flushed writes survive a restart.

#![cfg(feature = "sqlite")]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use botkit::store::conformance;
use botkit_sql::{SqliteOptions, SqliteStore};

/// A fresh directory under the system temp dir, removed by the caller's guard.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "botkit-sql-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_on_sqlite() {
    let dir = TempDir::new("conf");
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
    let dir = TempDir::new("reopen");
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
