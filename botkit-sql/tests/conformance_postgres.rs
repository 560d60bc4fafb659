//! The core conformance suite on PostgreSQL (`BOTKIT_TEST_POSTGRES_URL`). Every check gets
//! a fresh schema named after this run; all of them are dropped at the end, also when a
//! check fails.

#![cfg(feature = "postgres")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use botkit::store::conformance;
use botkit_sql::{PgOptions, PgStore};

fn url() -> Option<String> {
    let url = std::env::var("BOTKIT_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        println!("skipped: BOTKIT_TEST_POSTGRES_URL not set");
    }
    url
}

/// A schema-name prefix unique to this test run.
fn run_prefix(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("botkit_test_{tag}_{}_{nanos}", std::process::id())
}

/// Runs `body`, then drops every schema starting with `prefix`, then re-raises a failure.
async fn with_schemas<F>(url: &str, prefix: &str, body: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(body).await;
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname::text, $1)",
    )
    .bind(prefix)
    .fetch_all(&pool)
    .await
    .unwrap();
    for name in names {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA \"{name}\" CASCADE"
        )))
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_on_postgres() {
    let Some(url) = url() else { return };
    let prefix = run_prefix("conf");
    let (u, p) = (url.clone(), prefix.clone());
    with_schemas(&url, &prefix, async move {
        let n = AtomicU32::new(0);
        conformance::run_all(|| {
            let schema = format!("{p}_{}", n.fetch_add(1, Ordering::Relaxed));
            let u = u.clone();
            async move {
                Arc::new(
                    PgStore::connect(&u, PgOptions::default().with_schema(schema))
                        .await
                        .unwrap(),
                )
            }
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushed_writes_survive_reconnect() {
    let Some(url) = url() else { return };
    let prefix = run_prefix("reopen");
    let (u, p) = (url.clone(), prefix.clone());
    with_schemas(&url, &prefix, async move {
        let opts = PgOptions::default().with_schema(p);
        {
            let store = PgStore::connect(&u, opts.clone()).await.unwrap();
            conformance::persistence_write(&store).await;
            store.close().await;
        }
        let store = PgStore::connect(&u, opts).await.unwrap();
        conformance::persistence_verify(&store).await;
        store.close().await;
    })
    .await;
}
