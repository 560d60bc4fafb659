//! Store settings from the bot config's `[store]` section.
//!
//! botkit's core parses and validates `[store]` (it has no database dependency, so it
//! knows the keys only as plain values); this module turns them into `SqliteOptions` and
//! `PgOptions`. A key left out keeps the backend's default, so the defaults live in one
//! place: the options' `Default` impls.

use std::sync::Arc;

use botkit::config::StoreSection;
use botkit::store::{MemoryStore, Store, StoreError};

use crate::{StoreUrl, WriteBehind};

/// The write-behind settings `[store]` asks for (`batch_size`, `linger`, `queue_capacity`).
pub fn write_behind(section: &StoreSection) -> WriteBehind {
    let mut wb = WriteBehind::default();
    if let Some(rows) = section.batch_size {
        wb = wb.with_max_batch(rows);
    }
    if let Some(linger) = section.linger {
        wb = wb.with_linger(linger);
    }
    if let Some(queue) = section.queue_capacity {
        wb = wb.with_queue(queue);
    }
    wb
}

/// The SQLite settings `[store]` asks for (`synchronous`, `busy_timeout`, `readers`,
/// `max_pages`, `cache_mib`, `checkpoint_pages` and the write-behind keys).
#[cfg(feature = "sqlite")]
pub fn sqlite_options(section: &StoreSection) -> crate::SqliteOptions {
    use crate::Synchronous;
    use botkit::config::Synchronous as Configured;

    let mut opts = crate::SqliteOptions::default().with_write_behind(write_behind(section));
    if let Some(sync) = section.synchronous {
        opts = opts.with_synchronous(match sync {
            Configured::Normal => Synchronous::Normal,
            // `Configured` is non-exhaustive: anything it grows later keeps full durability.
            _ => Synchronous::Full,
        });
    }
    if let Some(timeout) = section.busy_timeout {
        opts = opts.with_busy_timeout(timeout);
    }
    if let Some(readers) = section.readers {
        opts = opts.with_readers(readers);
    }
    if let Some(pages) = section.max_pages {
        opts = opts.with_max_pages(pages);
    }
    if let Some(mib) = section.cache_mib {
        opts = opts.with_cache_mib(mib);
    }
    if let Some(pages) = section.checkpoint_pages {
        opts = opts.with_checkpoint_pages(pages);
    }
    opts
}

/// The PostgreSQL settings `[store]` asks for (`pool_size`, `acquire_timeout`, `schema`
/// and the write-behind keys).
#[cfg(feature = "postgres")]
pub fn pg_options(section: &StoreSection) -> crate::PgOptions {
    let mut opts = crate::PgOptions::default().with_write_behind(write_behind(section));
    if let Some(n) = section.pool_size {
        opts = opts.with_max_connections(n);
    }
    if let Some(timeout) = section.acquire_timeout {
        opts = opts.with_acquire_timeout(timeout);
    }
    if let Some(schema) = &section.schema {
        opts = opts.with_schema(schema.clone());
    }
    opts
}

/// Opens the store `[store]` describes: its URL (see [`crate::open`]) with its tuning keys.
pub async fn open_config(section: &StoreSection) -> Result<Arc<dyn Store>, StoreError> {
    match StoreUrl::parse(&section.url)? {
        StoreUrl::Memory => Ok(Arc::new(MemoryStore::new())),
        #[cfg(feature = "sqlite")]
        StoreUrl::Sqlite(path) => Ok(Arc::new(
            crate::SqliteStore::open(&path, sqlite_options(section)).await?,
        )),
        #[cfg(feature = "postgres")]
        StoreUrl::Postgres(url) => Ok(Arc::new(
            crate::PgStore::connect(&url, pg_options(section)).await?,
        )),
        #[allow(unreachable_patterns)]
        other => Err(StoreError::invalid(
            "store url",
            format!(
                "`{}` needs the `{}` feature of botkit-sql, which this build lacks",
                other.redacted(),
                other.scheme()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use botkit::config::Config;

    use super::*;

    #[cfg(feature = "sqlite")]
    #[test]
    fn every_key_reaches_the_options() {
        let cfg = Config::from_str_named(
            "[store]\nurl = \"sqlite://x.db\"\nsynchronous = \"normal\"\nbusy_timeout = \"2s\"\n\
             readers = 2\nmax_pages = 100\ncache_mib = 8\ncheckpoint_pages = 500\nbatch_size = 64\nlinger = \"5ms\"\nqueue_capacity = 8\n",
            "bot.toml",
        )
        .unwrap();
        let o = sqlite_options(&cfg.store);
        assert_eq!(o.synchronous, crate::Synchronous::Normal);
        assert_eq!(o.busy_timeout, Duration::from_secs(2));
        assert_eq!(o.readers, 2);
        assert_eq!(o.max_pages, Some(100));
        assert_eq!(o.cache_mib, 8);
        assert_eq!(o.checkpoint_pages, 500);
        assert_eq!(o.write_behind.max_batch, 64);
        assert_eq!(o.write_behind.linger, Duration::from_millis(5));
        assert_eq!(o.write_behind.queue, 8);
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn absent_keys_keep_the_defaults() {
        let o = sqlite_options(&StoreSection::new("sqlite://x.db"));
        assert_eq!(o, crate::SqliteOptions::default());
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_keys_reach_the_options() {
        let cfg = Config::from_str_named(
            "[store]\nurl = \"postgres://u@127.0.0.1/db\"\npool_size = 3\n\
             acquire_timeout = \"250ms\"\nschema = \"bot\"\nbatch_size = 10\n",
            "bot.toml",
        )
        .unwrap();
        let o = pg_options(&cfg.store);
        assert_eq!(o.max_connections, 3);
        assert_eq!(o.acquire_timeout, Duration::from_millis(250));
        assert_eq!(o.schema.as_deref(), Some("bot"));
        assert_eq!(o.write_behind.max_batch, 10);
    }
}
