//! botkit's [`Store`] on SQL databases: SQLite, the embedded default, and PostgreSQL.
//!
//! A bot's first run persists to a SQLite file with no setup; a bot that outgrows one file
//! moves to PostgreSQL by changing one URL. Both backends implement the whole
//! [`Store`] trait and pass botkit's conformance suite, so plugins behave the same on
//! either.
//!
//! ```no_run
//! # async fn demo() -> Result<(), botkit::store::StoreError> {
//! use botkit::store::{ChannelRef, ChatRecord};
//!
//! let store = botkit_sql::open("sqlite://botkit.db").await?; // migrated, ready
//! let chan = ChannelRef::new("twitch", "#somechannel");
//! store
//!     .append_chat(&[ChatRecord::new(&chan, "twitch:1", "alice", "hi", 1_700_000_000_000)])
//!     .await?; // returns once the row is committed
//! let context = store.recent_chat(&chan, 200).await?;
//! # Ok(()) }
//! ```
//!
//! How writes are made safe and fast:
//! - **Acknowledged means committed.** Every write method returns only after its
//!   transaction has committed, so a crash never loses a write the caller saw succeed.
//! - **Write-behind for logs.** Chat, event and counter writes go through a bounded queue to
//!   one log writer, which commits everything that queued up while the previous commit ran
//!   in one transaction (group commit), up to [`WriteBehind::max_batch`] rows, optionally
//!   waiting [`WriteBehind::linger`] for more. Many concurrent appenders therefore cost one
//!   commit, not one each. A batch that fails with a transient error (database locked,
//!   PostgreSQL gone) stays in memory and is retried with [`botkit::backoff`] until it
//!   commits; its callers wait for that.
//! - **SQLite**: WAL mode, one writer task owning the only write connection (every write is
//!   serialized through it, so there are no lock fights inside the process), and a pool of
//!   read-only connections that read concurrently with it. The writer keeps a large page
//!   cache and checkpoints rarely during bursts and as soon as it goes idle
//!   ([`SqliteOptions::cache_mib`], [`SqliteOptions::checkpoint_pages`]). The chat indexes
//!   by user and by message id are kept off the insert path: new rows wait in a small
//!   pending table that the writer merges into them in bulk, sorted, and lookups read both.
//! - **PostgreSQL**: a connection pool; logs are inserted with `UNNEST` arrays, one
//!   statement per table per batch.
//!
//! The bot config's `[store]` section tunes all of this (`synchronous`, `batch_size`,
//! `pool_size`, …): [`open_config`] opens the store it describes, [`config`] maps the keys.
//!
//! Errors are [`StoreError`]s that name the cause: a corrupt file is
//! [`StoreError::Corrupt`], a locked database or an unreachable server is the transient
//! [`StoreError::Unavailable`], a full disk is [`StoreError::Backend`] saying so. None of them
//! panics or stops the store: the next write tries again.

#![cfg_attr(docsrs, feature(doc_cfg))]
// Built with neither backend, only `memory:` opens; the shared SQL layer then has no user.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres")),
    allow(dead_code, unused_imports, unused_macros)
)]

use std::sync::Arc;

use botkit::store::{Store, StoreError};

mod batch;
pub mod config;
mod error;
mod rows;
mod schema;
mod shared;
mod url;

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use batch::WriteBehind;
pub use config::open_config;
#[cfg(feature = "postgres")]
pub use postgres::{PgOptions, PgStore};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};
pub use url::{StoreUrl, redact_url};

/// Opens the store a URL names, creating and migrating its schema, ready to use, with
/// every setting at its default ([`open_config`] takes the bot config's `[store]` keys).
///
/// - `memory:` — botkit's in-memory store (nothing persists);
/// - `sqlite://botkit.db`, `sqlite:botkit.db`, `sqlite:///var/lib/bot/bot.db` — a SQLite
///   file, created if missing (feature `sqlite`, on by default);
/// - `postgres://user:pass@host:5432/db` (or `postgresql://`) — a PostgreSQL database
///   (feature `postgres`).
///
/// A malformed URL or a backend this build lacks is [`StoreError::Invalid`]; a database
/// that cannot be opened is the error of the backend's own `open`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_config(&botkit::config::StoreSection::new(url)).await
}
