//! [`SqliteStore`]: the store in one SQLite file, the default for a bot's first run.
//!
//! SQLite allows one writer at a time, and lock fights between connections of one process
//! show up as `SQLITE_BUSY` errors and stalls. So this store never has two writers: one
//! writer task owns the only read-write connection, and every write — key-value puts, queue
//! claims, deletions, and the batched log writes — is a message to it, run in the order
//! sent. Reads go to a small pool of read-only connections; in WAL mode they read a
//! consistent snapshot while the writer commits, so reads never wait for writes.
//!
//! Log writes (chat, events, counters) are batched by the writer as described in
//! [`crate::WriteBehind`]: everything queued while a commit runs is committed together, and
//! each caller is answered once its rows are committed. Other writes run in their own
//! `BEGIN IMMEDIATE` transaction, so they also never hit a stale-snapshot conflict with
//! another process (say `botkit db prune`) writing the same file.
//!
//! The chat indexes by user and by message id are not maintained row by row (see the
//! migration `0002_deferred_chat_indexes.sql`): new rows wait in `chat_pending`, and the
//! writer merges them into `chat_user` and `chat_message` in bulk every 32,768 rows and
//! when it goes idle.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use botkit::backoff::Backoff;
use botkit::event::EventId;
use botkit::store::{
    Bucket, ChannelRef, ChatCursor, ChatPage, ChatRecord, CounterIncr, DeadJob, EventRecord, Job,
    JobFate, JobId, NewJob, Store, StoreError, StoreStats, check_name,
};
use botkit::topic::Pattern;
use futures_util::future::BoxFuture;
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Connection, QueryBuilder, Sqlite};
use tokio::sync::{mpsc, oneshot};

use crate::batch::{LogItem, LogWrite, Msg, WriteBehind, deliver_err, deliver_ok};
use crate::error::{on, writer_gone};
use crate::rows::{CHAT_COLS, JOB_COLS, event_id_text, limit, to_json};
use crate::shared::{self, SqlBackend, Stmt};

const B: &str = "sqlite";

crate::rows::decoders!(SqliteRow, "sqlite");

/// The schema steps, compiled in.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "deferred chat indexes",
        include_str!("../../migrations/sqlite/0002_deferred_chat_indexes.sql"),
    ),
];

/// Rows per multi-row `INSERT` (SQLite allows 32766 bound values per statement).
const CHUNK: usize = 500;

/// How hard SQLite makes a commit durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// Every commit is on disk before it is acknowledged, also across a power cut (the
    /// default).
    #[default]
    Full,
    /// A commit survives a crash of the process, but the last commits may be lost if the
    /// machine loses power. Faster on slow disks.
    Normal,
}

/// Settings of a [`SqliteStore`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// How long a connection waits for another process's lock before the operation fails
    /// as [`StoreError::Unavailable`] (default 5 s).
    pub busy_timeout: Duration,
    /// Commit durability (default [`Synchronous::Full`]).
    pub synchronous: Synchronous,
    /// Read-only connections for concurrent reads (default 4, at least 1).
    pub readers: u32,
    /// How log writes are batched.
    pub write_behind: WriteBehind,
    /// Largest size of the database in pages (`PRAGMA max_page_count`); a write that would
    /// grow it further fails like a full disk. `None` (default): no limit but the disk.
    pub max_pages: Option<u64>,
    /// Page cache of the write connection in MiB (default 64). Merges of the chat indexes
    /// by user and by message id touch pages all over them (users write in no order, and
    /// Twitch's message ids are random); with SQLite's default 2 MiB cache those pages are
    /// read again and spilled on every merge.
    pub cache_mib: u32,
    /// WAL size in pages (4 KiB) at which a commit checkpoints it into the database file
    /// (`PRAGMA wal_autocheckpoint`, default 10000, about 40 MiB; SQLite's own default is
    /// 1000). Every batch dirties the same hot index pages again; a checkpoint writes each
    /// of them once however often it changed since the last one, so rarer checkpoints
    /// write far less. The WAL file is truncated back to 64 MiB after a checkpoint.
    pub checkpoint_pages: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            synchronous: Synchronous::Full,
            readers: 4,
            write_behind: WriteBehind::default(),
            max_pages: None,
            cache_mib: 64,
            checkpoint_pages: 10_000,
        }
    }
}

impl SqliteOptions {
    /// The same settings with another durability level.
    #[must_use]
    pub fn with_synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// The same settings with another lock wait.
    #[must_use]
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The same settings with another number of readers.
    #[must_use]
    pub fn with_readers(mut self, readers: u32) -> Self {
        self.readers = readers.max(1);
        self
    }

    /// The same settings with other write-behind settings.
    #[must_use]
    pub fn with_write_behind(mut self, write_behind: WriteBehind) -> Self {
        self.write_behind = write_behind;
        self
    }

    /// The same settings with a size limit in pages (4 KiB each by default).
    #[must_use]
    pub fn with_max_pages(mut self, pages: u64) -> Self {
        self.max_pages = Some(pages);
        self
    }

    /// The same settings with another write-connection page cache, in MiB.
    #[must_use]
    pub fn with_cache_mib(mut self, mib: u32) -> Self {
        self.cache_mib = mib;
        self
    }

    /// The same settings with another WAL checkpoint threshold, in pages (at least 1).
    #[must_use]
    pub fn with_checkpoint_pages(mut self, pages: u32) -> Self {
        self.checkpoint_pages = pages.max(1);
        self
    }
}

/// A write run by the writer task on the write connection.
type ExecFn = Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, ()> + Send>;

enum Op {
    Exec(ExecFn),
    Flush(oneshot::Sender<()>),
}

/// The [`Store`] in a SQLite file: WAL mode, one writer task, concurrent readers.
///
/// Dropping the last handle lets the writer finish what is queued and close the file.
pub struct SqliteStore {
    path: PathBuf,
    tx: mpsc::Sender<Msg<Op>>,
    reader: SqlitePool,
    write_opts: SqliteConnectOptions,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Rewrites an error from opening `path` so it names the file.
fn at_path(path: &Path, err: StoreError) -> StoreError {
    let p = path.display();
    match err {
        StoreError::Unavailable {
            backend,
            reason,
            source,
        } => StoreError::Unavailable {
            backend,
            reason: format!("`{p}`: {reason}"),
            source,
        },
        StoreError::Corrupt { what } => StoreError::corrupt(format!("`{p}`: {what}")),
        StoreError::Backend {
            backend,
            message,
            source,
        } => StoreError::Backend {
            backend,
            message: format!("`{p}`: {message}"),
            source,
        },
        other => other,
    }
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `path`, switches it to WAL mode,
    /// applies the schema migrations and starts the writer task. Must be called inside a
    /// tokio runtime.
    ///
    /// A file that is not a SQLite database is [`StoreError::Corrupt`]; a path that cannot
    /// be opened (a directory, a missing parent, no permission) is [`StoreError::Backend`];
    /// both name the path.
    pub async fn open(path: impl AsRef<Path>, opts: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let fail = |e: StoreError| at_path(&path, e);
        let base = SqliteConnectOptions::new()
            .filename(&path)
            .busy_timeout(opts.busy_timeout)
            .synchronous(match opts.synchronous {
                Synchronous::Full => SqliteSynchronous::Full,
                Synchronous::Normal => SqliteSynchronous::Normal,
            });
        let mut write_opts = base
            .clone()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        if let Some(pages) = opts.max_pages {
            write_opts = write_opts.pragma("max_page_count", pages.to_string());
        }
        // Negative cache_size is KiB. These settings are per connection: only the writer
        // needs the large cache; readers touch few pages per query.
        write_opts = write_opts
            .pragma(
                "cache_size",
                format!("-{}", u64::from(opts.cache_mib) * 1024),
            )
            .pragma(
                "wal_autocheckpoint",
                opts.checkpoint_pages.max(1).to_string(),
            )
            .pragma("journal_size_limit", (64u64 << 20).to_string());
        // Several processes opening one new database at once can meet SQLITE_BUSY where the
        // busy handler does not apply (switching to WAL, recovering the WAL index): that is
        // "locked, retry later", so retry with backoff for a while before giving up.
        let policy = botkit::backoff::BackoffPolicy::default()
            .with_base(Duration::from_millis(20))
            .with_cap(Duration::from_millis(500))
            .with_max_attempts(12);
        let conn = botkit::backoff::retry(&policy, StoreError::is_transient, || {
            open_writer(&write_opts)
        })
        .await
        .map_err(fail)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(opts.readers.max(1))
            .min_connections(0)
            .acquire_timeout(opts.busy_timeout.max(Duration::from_secs(1)))
            .connect_with(base.read_only(true))
            .await
            .map_err(|e| fail(crate::error::map(B, e)))?;
        let (tx, rx) = mpsc::channel(opts.write_behind.queue.max(1));
        tokio::spawn(run_writer(conn, write_opts.clone(), rx, opts.write_behind));
        tracing::debug!(path = %path.display(), "sqlite store open");
        Ok(Self {
            path,
            tx,
            reader,
            write_opts,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `PRAGMA integrity_check`: `Ok(())` if SQLite finds the file sound, else
    /// [`StoreError::Corrupt`] listing what it found.
    pub async fn integrity_check(&self) -> Result<(), StoreError> {
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&self.reader)
            .await
            .map_err(|e| at_path(&self.path, crate::error::map(B, e)))?;
        if rows.len() == 1 && rows.first().is_some_and(|r| r == "ok") {
            Ok(())
        } else {
            Err(StoreError::corrupt(format!(
                "`{}` fails the integrity check: {}",
                self.path.display(),
                rows.join("; ")
            )))
        }
    }

    /// The value of `PRAGMA <name>` on the write connection, where the durability and
    /// cache settings live (they are per connection): e.g. `synchronous` is `"2"` for
    /// [`Synchronous::Full`] and `"1"` for [`Synchronous::Normal`]. `name` must be a plain
    /// pragma name (letters and `_`), else [`StoreError::Invalid`].
    pub async fn pragma(&self, name: &str) -> Result<String, StoreError> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphabetic() || c == '_') {
            return Err(StoreError::invalid(
                "pragma",
                format!("`{name}` is not a pragma name; use letters and `_` only"),
            ));
        }
        let sql = format!("PRAGMA {name}");
        self.write(move |c| {
            Box::pin(async move {
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_optional(c)
                    .await
                    .map_err(on(B))?;
                let Some(row) = row else {
                    return Ok(String::new());
                };
                use sqlx::{Row as _, ValueRef as _};
                let raw = row.try_get_raw(0).map_err(on(B))?;
                if raw.is_null() {
                    return Ok(String::new());
                }
                match row.try_get::<i64, _>(0) {
                    Ok(n) => Ok(n.to_string()),
                    Err(_) => row.try_get::<String, _>(0).map_err(on(B)),
                }
            })
        })
        .await
    }

    /// Writes a consistent copy of the database to `dest` (`VACUUM INTO`) while the store
    /// keeps running: the online backup. `dest` must not exist yet.
    pub async fn backup_to(&self, dest: impl AsRef<Path>) -> Result<(), StoreError> {
        let dest = dest.as_ref().to_string_lossy().into_owned();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query("VACUUM INTO $1")
                    .bind(dest)
                    .execute(c)
                    .await
                    .map_err(on(B))?;
                Ok(())
            })
        })
        .await
    }

    /// Runs `f` on the write connection, in order with every other write.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        let (done, rx) = oneshot::channel();
        let job: ExecFn = Box::new(move |c| {
            Box::pin(async move {
                let _ = done.send(f(c).await);
            })
        });
        self.tx
            .send(Msg::Other(Op::Exec(job)))
            .await
            .map_err(|_| writer_gone(B))?;
        rx.await.map_err(|_| writer_gone(B))?
    }
}

shared::impl_reads!(SqliteStore, Sqlite, reader);

/// Runs a chat statement (`CHAT_COLS`) with its rows aggregated into one JSON array.
///
/// sqlx hands each row of a result from its SQLite worker thread to the caller through a
/// channel, and at a few hundred rows those hand-overs (thread wake-ups) cost more than the
/// query: `recent_chat(channel, 200)` over a million rows took 0.92 ms row by row and
/// 0.45 ms as one JSON value decoded here. The array's order is not guaranteed; the callers
/// sort.
async fn fetch_chat(pool: &SqlitePool, stmt: Stmt) -> Result<Vec<(ChatRecord, i64)>, StoreError> {
    let wrapped = Stmt {
        sql: format!(
            "SELECT json_group_array(json_array({CHAT_COLS})) FROM ({})",
            stmt.sql
        ),
        args: stmt.args,
    };
    let json: String = wrapped
        .query::<Sqlite>()
        .fetch_one(pool)
        .await
        .map_err(on(B))
        .and_then(|row| col(&row, 0))?;
    crate::rows::chat_rows_from_json(&json)
}

#[async_trait]
impl SqlBackend for SqliteStore {
    const CHAT_INDEXES: shared::ChatIndexes = shared::ChatIndexes::Deferred;

    async fn exec(&self, stmt: Stmt) -> Result<u64, StoreError> {
        self.write(move |c| {
            Box::pin(async move {
                let r = stmt.query::<Sqlite>().execute(c).await.map_err(on(B))?;
                Ok(r.rows_affected())
            })
        })
        .await
    }

    async fn exec_returning(&self, stmt: Stmt) -> Result<i64, StoreError> {
        self.write(move |c| {
            Box::pin(async move {
                let row = stmt.query::<Sqlite>().fetch_one(c).await.map_err(on(B))?;
                col(&row, 0)
            })
        })
        .await
    }

    async fn log(&self, write: LogWrite) -> Result<u64, StoreError> {
        crate::batch::submit(&self.tx, write, B).await
    }
}

async fn run_writer(
    mut conn: SqliteConnection,
    opts: SqliteConnectOptions,
    mut rx: mpsc::Receiver<Msg<Op>>,
    cfg: WriteBehind,
) {
    let mut held: Option<Msg<Op>> = None;
    // Whether anything was written since the last checkpoint.
    let mut wrote = false;
    // Chat rows appended since the last merge of the index tables (an upper bound:
    // deletions also take rows out of the pending table), and the count at which the next
    // merge runs. A failed merge (a full disk) is retried after another MERGE_ROWS rows, or
    // once idle again after the next write, not on every batch or idle tick.
    let mut pending = pending_rows(&mut conn).await;
    let mut merge_at = MERGE_ROWS;
    let mut idle_merge = pending > 0;
    loop {
        let next = match held.take() {
            Some(m) => Some(m),
            None if wrote || idle_merge => {
                match tokio::time::timeout(IDLE_CHECKPOINT, rx.recv()).await {
                    Ok(m) => m,
                    Err(_) => {
                        if idle_merge {
                            idle_merge = false;
                            if merge_indexes(&mut conn, &opts).await {
                                pending = 0;
                                merge_at = MERGE_ROWS;
                            }
                        }
                        idle_checkpoint(&mut conn).await;
                        wrote = false;
                        continue;
                    }
                }
            }
            None => rx.recv().await,
        };
        let Some(msg) = next else { break };
        match msg {
            Msg::Other(Op::Exec(f)) => {
                f(&mut conn).await;
                recover(&mut conn, &opts).await;
                wrote = true;
            }
            Msg::Other(Op::Flush(done)) => {
                let _ = done.send(());
            }
            Msg::Log(first) => {
                let batch = crate::batch::gather(&mut rx, first, &cfg, &mut held).await;
                let rows = commit_logs(&mut conn, &opts, batch, &cfg).await;
                pending += rows;
                idle_merge |= rows > 0;
                wrote = true;
                if pending >= merge_at {
                    if merge_indexes(&mut conn, &opts).await {
                        pending = 0;
                        merge_at = MERGE_ROWS;
                        idle_merge = false;
                    } else {
                        merge_at = pending + MERGE_ROWS;
                    }
                }
            }
        }
    }
    if pending > 0 {
        merge_indexes(&mut conn, &opts).await;
    }
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "closing the sqlite write connection failed");
    }
}

/// Pending chat rows at which the writer merges them into the index tables.
///
/// A merge rewrites each index page it touches once, so the larger, the fewer page writes
/// per row; but lookups by user or message id also scan the pending rows (they are not
/// indexed), which at this size takes about a millisecond. Sustained appends of 1000-row
/// batches from 500 users: user index merged every 8,000 rows 120,000/s, every 32,000
/// 147,000/s, on the chat table itself 73,000/s; with random (UUID) message ids, 35,000-
/// 49,000/s with their index on the chat table, 124,000-137,000/s merged.
const MERGE_ROWS: u64 = 32_768;

/// Rows waiting in `chat_pending` (0 if that cannot be read: the next merge still takes
/// them all).
async fn pending_rows(conn: &mut SqliteConnection) -> u64 {
    match sqlx::query_scalar::<_, i64>("SELECT count(*) FROM chat_pending")
        .fetch_one(&mut *conn)
        .await
    {
        Ok(n) => u64::try_from(n).unwrap_or(0),
        Err(e) => {
            tracing::debug!(error = %e, "counting pending chat index rows failed");
            0
        }
    }
}

/// Moves the pending chat rows into the index tables, sorted, in one transaction; whether
/// it committed. A failure loses nothing: the rows stay pending (lookups read them there)
/// and the next merge takes them.
async fn merge_indexes(conn: &mut SqliteConnection, opts: &SqliteConnectOptions) -> bool {
    async fn merge(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT OR IGNORE INTO chat_user (user_id, ts, seq) \
             SELECT user_id, ts, seq FROM chat_pending ORDER BY user_id, ts, seq",
        )
        .execute(&mut *tx)
        .await?;
        // The generation (seq >> 16) must match the migration's and the delete trigger's.
        sqlx::query(
            "INSERT OR IGNORE INTO chat_message (gen, platform, channel, message_id, seq) \
             SELECT seq >> 16, platform, channel, message_id, seq FROM chat_pending \
             WHERE message_id IS NOT NULL ORDER BY 1, 2, 3, 4, 5",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM chat_pending")
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
    match merge(conn).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "merging the sqlite chat indexes failed; the rows stay pending");
            recover(conn, opts).await;
            false
        }
    }
}

/// How long the writer waits with nothing to do before it checkpoints the WAL.
///
/// Checkpoints during a burst of writes are kept rare (`checkpoint_pages`), because each
/// one rewrites the hot index pages; but every read looks pages up in the WAL first, so a
/// long WAL slows reads (`recent_chat` over a million rows: 1.2-1.5 ms with a 40 MiB WAL,
/// 0.9 ms without). The writer therefore checkpoints as soon as the burst is over.
const IDLE_CHECKPOINT: Duration = Duration::from_millis(250);

/// Copies the WAL into the database file without waiting for anyone (`PASSIVE`: frames a
/// reader still needs stay for the next checkpoint). A failure only costs read speed.
async fn idle_checkpoint(conn: &mut SqliteConnection) {
    if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .execute(&mut *conn)
        .await
    {
        tracing::debug!(error = %e, "sqlite idle checkpoint failed; the next one retries");
    }
}

/// Commits a batch, retrying transient failures with backoff; answers its callers. Returns
/// how many chat rows it committed.
async fn commit_logs(
    conn: &mut SqliteConnection,
    opts: &SqliteConnectOptions,
    batch: Vec<LogItem>,
    cfg: &WriteBehind,
) -> u64 {
    let mut backoff = Backoff::new(cfg.retry.clone());
    loop {
        let result = write_logs(conn, &batch).await;
        if result.is_err() {
            recover(conn, opts).await;
        }
        match result {
            Ok(inserted) => {
                let chat = batch
                    .iter()
                    .map(|item| match &item.write {
                        LogWrite::Chat(rows) => rows.len() as u64,
                        _ => 0,
                    })
                    .sum();
                deliver_ok(batch, inserted);
                return chat;
            }
            Err(e) if e.is_transient() => match backoff.next_delay() {
                Some(delay) => {
                    tracing::warn!(error = %e, ?delay, rows = batch.len(), "sqlite log batch failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                None => {
                    deliver_err(batch, &e);
                    return 0;
                }
            },
            Err(e) => {
                tracing::error!(error = %e, "sqlite log batch failed");
                deliver_err(batch, &e);
                return 0;
            }
        }
    }
}

/// Makes sure the write connection is usable after a failed operation.
///
/// Some errors (a full disk, an I/O error) make SQLite roll the transaction back by itself;
/// the driver then still counts it as open and refuses the next `BEGIN`. A connection left
/// in that state is replaced by a fresh one, so one bad moment never wedges the writer.
async fn recover(conn: &mut SqliteConnection, opts: &SqliteConnectOptions) {
    if !conn.is_in_transaction() {
        return;
    }
    // A rollback queued by a dropped transaction may still be on its way: let it land.
    let _ = sqlx::query("SELECT 1").execute(&mut *conn).await;
    if !conn.is_in_transaction() {
        return;
    }
    match SqliteConnection::connect_with(opts).await {
        Ok(fresh) => {
            tracing::warn!(
                "sqlite write connection was left inside a failed transaction; reopened it"
            );
            let stale = std::mem::replace(conn, fresh);
            let _ = stale.close().await;
        }
        Err(e) => tracing::error!(error = %e, "reopening the sqlite write connection failed"),
    }
}

/// One transaction for the whole batch; the event ids that were new.
async fn write_logs(
    conn: &mut SqliteConnection,
    batch: &[LogItem],
) -> Result<HashSet<String>, StoreError> {
    let s = crate::batch::split(batch);
    let event_rows: Vec<(String, String)> = s
        .events
        .iter()
        .map(|r| {
            let id = event_id_text(r.event_id);
            let json = to_json(&format!("event {id}"), &r.json)?;
            Ok((id, json))
        })
        .collect::<Result<_, StoreError>>()?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(on(B))?;
    for chunk in s.chat.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO chat (platform, instance, channel, message_id, user_id, user_name, text, ts, event_id) ",
        );
        qb.push_values(chunk, |mut b, r| {
            b.push_bind(r.platform.as_str())
                .push_bind(r.instance.as_deref())
                .push_bind(r.channel.as_str())
                .push_bind(r.message_id.as_deref())
                .push_bind(r.user_id.as_str())
                .push_bind(r.user_name.as_str())
                .push_bind(r.text.as_str())
                .push_bind(r.timestamp_ms)
                .push_bind(r.event_id.map(event_id_text));
        });
        qb.build().execute(&mut *tx).await.map_err(on(B))?;
    }
    let mut inserted = HashSet::new();
    for (chunk, encoded) in s.events.chunks(CHUNK).zip(event_rows.chunks(CHUNK)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (event_id, topic, platform, channel, ts, json) ",
        );
        qb.push_values(chunk.iter().zip(encoded), |mut b, (r, (id, json))| {
            b.push_bind(id.as_str())
                .push_bind(r.topic.as_str())
                .push_bind(r.platform.as_str())
                .push_bind(r.channel.as_deref())
                .push_bind(r.timestamp_ms)
                .push_bind(json.as_str());
        });
        qb.push(" ON CONFLICT (event_id) DO NOTHING RETURNING event_id");
        let ids: Vec<String> = qb
            .build_query_scalar()
            .fetch_all(&mut *tx)
            .await
            .map_err(on(B))?;
        inserted.extend(ids);
    }
    for chunk in s.counters.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO counters (name, dims, bucket, start_ms, value) ",
        );
        qb.push_values(chunk, |mut b, c| {
            b.push_bind(c.name.as_str())
                .push_bind(c.dims.as_str())
                .push_bind(c.bucket.name())
                .push_bind(c.start_ms)
                .push_bind(c.by);
        });
        qb.push(
            " ON CONFLICT (name, dims, bucket, start_ms) DO UPDATE SET value = counters.value + excluded.value",
        );
        qb.build().execute(&mut *tx).await.map_err(on(B))?;
    }
    tx.commit().await.map_err(on(B))?;
    Ok(inserted)
}

/// Connects the read-write connection, checks the file is a database, and migrates.
async fn open_writer(opts: &SqliteConnectOptions) -> Result<SqliteConnection, StoreError> {
    let mut conn = SqliteConnection::connect_with(opts)
        .await
        .map_err(|e| crate::error::map(B, e))?;
    // Reading the schema catches a file that is not a database before anything else.
    sqlx::query("SELECT count(*) FROM sqlite_schema")
        .execute(&mut conn)
        .await
        .map_err(|e| crate::error::map(B, e))?;
    migrate_on(&mut conn)
        .await
        .map_err(|e| crate::schema::map_err(B, e))?;
    Ok(conn)
}

/// Applies the migrations on `conn`. sqlx takes no lock on SQLite, so two processes opening
/// a new database at once both try to create the schema, and the later one fails with
/// "already exists" once the first commits. Each migration is one transaction, so the loser
/// rolled back cleanly; running again sees the schema applied and does nothing.
async fn migrate_on(conn: &mut SqliteConnection) -> Result<(), sqlx::migrate::MigrateError> {
    let mut attempt = 0;
    loop {
        // `run_direct` is sqlx's entry for a plain connection; `run` trips the compiler
        // ("Acquire is not general enough") inside async-trait futures.
        match crate::schema::migrator(MIGRATIONS)
            .run_direct(None, conn, false)
            .await
        {
            Err(e) if attempt < 3 && e.to_string().contains("already exists") => {
                attempt += 1;
                tracing::debug!(error = %e, attempt, "schema created concurrently; migrating again");
            }
            other => return other,
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &str {
        B
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        // A connection of its own, so a migration never waits behind queued log writes; the
        // busy timeout orders it with the writer.
        let mut conn = SqliteConnection::connect_with(&self.write_opts)
            .await
            .map_err(|e| at_path(&self.path, crate::error::map(B, e)))?;
        let r = migrate_on(&mut conn)
            .await
            .map_err(|e| at_path(&self.path, crate::schema::map_err(B, e)));
        let _ = conn.close().await;
        r
    }

    async fn flush(&self) -> Result<(), StoreError> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Msg::Other(Op::Flush(done)))
            .await
            .map_err(|_| writer_gone(B))?;
        rx.await.map_err(|_| writer_gone(B))
    }

    async fn health(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(on(B))?;
        self.write(|c| {
            Box::pin(async move {
                sqlx::query("SELECT 1").execute(c).await.map_err(on(B))?;
                Ok(())
            })
        })
        .await
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        shared::stats(self).await
    }

    // ---- key-value ----

    async fn kv_get(&self, namespace: &str, key: &str) -> Result<Option<Value>, StoreError> {
        shared::kv_get(self, namespace, key).await
    }

    async fn kv_put(&self, namespace: &str, key: &str, value: Value) -> Result<(), StoreError> {
        shared::kv_put(self, namespace, key, &value).await
    }

    async fn kv_delete(&self, namespace: &str, key: &str) -> Result<bool, StoreError> {
        shared::kv_delete(self, namespace, key).await
    }

    async fn kv_keys(&self, namespace: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT key FROM kv WHERE namespace = $1 AND key >= $2 \
             AND substr(key, 1, length($2)) = $2 ORDER BY key",
        )
        .bind(namespace)
        .bind(prefix)
        .fetch_all(&self.reader)
        .await
        .map_err(on(B))
    }

    async fn kv_entries(
        &self,
        namespace: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT key, value FROM kv WHERE namespace = $1 AND key >= $2 \
             AND substr(key, 1, length($2)) = $2 ORDER BY key",
        )
        .bind(namespace)
        .bind(prefix)
        .fetch_all(&self.reader)
        .await
        .map_err(on(B))?;
        rows.into_iter()
            .map(|(k, v)| {
                let value =
                    crate::rows::from_json(&format!("key `{k}` in namespace `{namespace}`"), &v)?;
                Ok((k, value))
            })
            .collect()
    }

    async fn kv_namespaces(&self) -> Result<Vec<String>, StoreError> {
        shared::kv_namespaces(self).await
    }

    async fn kv_compare_and_swap(
        &self,
        namespace: &str,
        key: &str,
        expected: Option<&Value>,
        new: Option<Value>,
    ) -> Result<bool, StoreError> {
        check_name("namespace", namespace)?;
        check_name("key", key)?;
        let new_json = new.as_ref().map(|v| to_json(key, v)).transpose()?;
        let expected = expected.cloned();
        let (ns, key) = (namespace.to_owned(), key.to_owned());
        self.write(move |c| {
            Box::pin(async move {
                let mut tx = c.begin_with("BEGIN IMMEDIATE").await.map_err(on(B))?;
                let current: Option<String> =
                    sqlx::query_scalar("SELECT value FROM kv WHERE namespace = $1 AND key = $2")
                        .bind(&ns)
                        .bind(&key)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(on(B))?;
                let current = current
                    .map(|s| {
                        crate::rows::from_json(&format!("key `{key}` in namespace `{ns}`"), &s)
                    })
                    .transpose()?;
                if current != expected {
                    return Ok(false);
                }
                match new_json {
                    Some(json) => sqlx::query(
                        "INSERT INTO kv (namespace, key, value) VALUES ($1, $2, $3) \
                         ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
                    )
                    .bind(&ns)
                    .bind(&key)
                    .bind(json)
                    .execute(&mut *tx)
                    .await
                    .map_err(on(B))?,
                    None => sqlx::query("DELETE FROM kv WHERE namespace = $1 AND key = $2")
                        .bind(&ns)
                        .bind(&key)
                        .execute(&mut *tx)
                        .await
                        .map_err(on(B))?,
                };
                tx.commit().await.map_err(on(B))?;
                Ok(true)
            })
        })
        .await
    }

    // ---- chat log ----

    async fn append_chat(&self, records: &[ChatRecord]) -> Result<(), StoreError> {
        shared::append_chat(self, records).await
    }

    async fn recent_chat(
        &self,
        channel: &ChannelRef,
        limit_n: usize,
    ) -> Result<Vec<ChatRecord>, StoreError> {
        shared::recent_chat(self, channel, limit_n).await
    }

    async fn chat_by_user(
        &self,
        user_id: &str,
        channel: Option<&ChannelRef>,
        limit_n: usize,
    ) -> Result<Vec<ChatRecord>, StoreError> {
        shared::chat_by_user(self, user_id, channel, limit_n).await
    }

    async fn chat_range(
        &self,
        channel: &ChannelRef,
        from: ChatCursor,
        limit_n: usize,
    ) -> Result<ChatPage, StoreError> {
        shared::chat_range(self, channel, from, limit_n).await
    }

    async fn chat_channels(&self) -> Result<Vec<ChannelRef>, StoreError> {
        shared::chat_channels(self).await
    }

    async fn delete_chat_message(
        &self,
        channel: &ChannelRef,
        message_id: &str,
    ) -> Result<u64, StoreError> {
        shared::delete_chat_message(self, channel, message_id).await
    }

    async fn delete_chat_by_user(
        &self,
        channel: &ChannelRef,
        user_id: &str,
    ) -> Result<u64, StoreError> {
        shared::delete_chat_by_user(self, channel, user_id).await
    }

    async fn delete_chat_channel(&self, channel: &ChannelRef) -> Result<u64, StoreError> {
        shared::delete_chat_channel(self, channel).await
    }

    async fn prune_chat(&self, older_than_ms: i64) -> Result<u64, StoreError> {
        shared::prune_chat(self, older_than_ms).await
    }

    // ---- event log ----

    async fn append_events(&self, records: &[EventRecord]) -> Result<u64, StoreError> {
        shared::append_events(self, records).await
    }

    async fn events_by_topic(
        &self,
        pattern: &Pattern,
        since_ms: i64,
        limit_n: usize,
    ) -> Result<Vec<EventRecord>, StoreError> {
        shared::events_by_topic(self, "(ts > $1 OR (ts = $1 AND event_id > $2)) AND topic >= $3 AND substr(topic, 1, length($3)) = $3", pattern, since_ms, limit_n).await
    }

    async fn get_event(&self, id: EventId) -> Result<Option<EventRecord>, StoreError> {
        shared::get_event(self, id).await
    }

    async fn prune_events(&self, older_than_ms: i64) -> Result<u64, StoreError> {
        shared::prune_events(self, older_than_ms).await
    }

    // ---- counters ----

    async fn incr_counter(
        &self,
        name: &str,
        dims: &str,
        at_ms: i64,
        by: i64,
    ) -> Result<(), StoreError> {
        shared::incr_counters(self, &[CounterIncr::new(name, dims, at_ms, by)]).await
    }

    async fn incr_counters(&self, incrs: &[CounterIncr]) -> Result<(), StoreError> {
        shared::incr_counters(self, incrs).await
    }

    async fn counter_series(
        &self,
        name: &str,
        dims: &str,
        bucket: Bucket,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        shared::counter_series(self, name, dims, bucket, from_ms, to_ms).await
    }

    async fn counter_top(
        &self,
        name: &str,
        bucket: Bucket,
        from_ms: i64,
        to_ms: i64,
        limit_n: usize,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        shared::counter_top(self, "SUM(value)", name, bucket, (from_ms, to_ms), limit_n).await
    }

    async fn prune_counters(&self, bucket: Bucket, older_than_ms: i64) -> Result<u64, StoreError> {
        shared::prune_counters(self, bucket, older_than_ms).await
    }

    // ---- retry queue ----

    async fn enqueue(&self, queue: &str, job: NewJob) -> Result<JobId, StoreError> {
        shared::enqueue(self, queue, job).await
    }

    async fn claim_due(
        &self,
        queue: &str,
        now_ms: i64,
        limit_n: usize,
        lease_ms: u64,
    ) -> Result<Vec<Job>, StoreError> {
        if limit_n == 0 {
            return Ok(Vec::new());
        }
        let until = now_ms.saturating_add(i64::try_from(lease_ms).unwrap_or(i64::MAX));
        let queue = queue.to_owned();
        let mut jobs = self
            .write(move |conn| {
                Box::pin(async move {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE jobs SET leased_until = $1 WHERE id IN (\
                           SELECT id FROM jobs WHERE queue = $2 AND due_ms <= $3 \
                           AND (leased_until IS NULL OR leased_until <= $3) \
                           ORDER BY priority DESC, due_ms, id LIMIT $4) \
                         RETURNING {JOB_COLS}"
                    )))
                    .bind(until)
                    .bind(queue)
                    .bind(now_ms)
                    .bind(limit(limit_n))
                    .fetch_all(conn)
                    .await
                    .map_err(on(B))?;
                    rows.iter().map(job_row).collect::<Result<Vec<_>, _>>()
                })
            })
            .await?;
        jobs.sort_by_key(|j| (std::cmp::Reverse(j.priority), j.due_ms, j.id));
        Ok(jobs)
    }

    async fn ack(&self, id: JobId) -> Result<(), StoreError> {
        shared::ack(self, id).await
    }

    async fn fail(&self, id: JobId, error: &str, retry_at_ms: i64) -> Result<JobFate, StoreError> {
        let error = error.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(on(B))?;
                let row: Option<(i64, i64)> =
                    sqlx::query_as("SELECT attempts, max_attempts FROM jobs WHERE id = $1")
                        .bind(id.as_i64())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(on(B))?;
                let Some((attempts, max)) = row else {
                    return Err(shared::job_not_found(id));
                };
                let attempts = attempts.saturating_add(1);
                let fate = if attempts >= max {
                    sqlx::query(
                        "INSERT INTO dead_jobs (id, queue, payload, priority, attempts, max_attempts, error) \
                         SELECT id, queue, payload, priority, $2, max_attempts, $3 FROM jobs WHERE id = $1",
                    )
                    .bind(id.as_i64())
                    .bind(attempts)
                    .bind(&error)
                    .execute(&mut *tx)
                    .await
                    .map_err(on(B))?;
                    sqlx::query("DELETE FROM jobs WHERE id = $1")
                        .bind(id.as_i64())
                        .execute(&mut *tx)
                        .await
                        .map_err(on(B))?;
                    JobFate::Dead {
                        attempts: crate::rows::attempts(&format!("{id}"), attempts)?,
                    }
                } else {
                    sqlx::query(
                        "UPDATE jobs SET attempts = $2, last_error = $3, due_ms = $4, \
                         leased_until = NULL WHERE id = $1",
                    )
                    .bind(id.as_i64())
                    .bind(attempts)
                    .bind(&error)
                    .bind(retry_at_ms)
                    .execute(&mut *tx)
                    .await
                    .map_err(on(B))?;
                    JobFate::Retrying {
                        attempts: crate::rows::attempts(&format!("{id}"), attempts)?,
                        due_ms: retry_at_ms,
                    }
                };
                tx.commit().await.map_err(on(B))?;
                Ok(fate)
            })
        })
        .await
    }

    async fn dead_letters(&self, queue: &str, limit_n: usize) -> Result<Vec<DeadJob>, StoreError> {
        shared::dead_letters(self, queue, limit_n).await
    }

    async fn requeue_dead(&self, id: JobId, due_ms: i64) -> Result<JobId, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(on(B))?;
                let new_id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO jobs (queue, payload, priority, due_ms, max_attempts) \
                     SELECT queue, payload, priority, $2, max_attempts FROM dead_jobs WHERE id = $1 \
                     RETURNING id",
                )
                .bind(id.as_i64())
                .bind(due_ms)
                .fetch_optional(&mut *tx)
                .await
                .map_err(on(B))?;
                let Some(new_id) = new_id else {
                    return Err(StoreError::not_found(format!("dead letter {}", id.as_i64())));
                };
                sqlx::query("DELETE FROM dead_jobs WHERE id = $1")
                    .bind(id.as_i64())
                    .execute(&mut *tx)
                    .await
                    .map_err(on(B))?;
                tx.commit().await.map_err(on(B))?;
                Ok(JobId::from_i64(new_id))
            })
        })
        .await
    }

    async fn purge_dead(&self, queue: &str) -> Result<u64, StoreError> {
        shared::purge_dead(self, queue).await
    }

    async fn queue_len(&self, queue: &str) -> Result<u64, StoreError> {
        shared::queue_len(self, queue).await
    }
}

#[cfg(test)]
mod tests;
