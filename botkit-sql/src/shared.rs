//! The store logic both SQL backends share, written once.
//!
//! The SQLite and PostgreSQL stores differ in how they reach their database (one writer
//! task and a reader pool against one connection pool) and, for some operations, in
//! dialect. Where the SQL is the same in both dialects — the chat reads, the deletions and
//! prunes, acks — the statement, its validation and what is done with the rows live here,
//! and a backend only runs statements through [`SqlBackend`]. SQL that truly differs (log
//! batch inserts, queue claims, compare-and-swap) stays in each backend.

use async_trait::async_trait;
use botkit::event::EventId;
use botkit::store::{
    Bucket, ChannelRef, ChatCursor, ChatPage, ChatRecord, CounterIncr, DeadJob, EventRecord, JobId,
    NewJob, StoreError, StoreStats, check_name, literal_prefix,
};
use botkit::topic::Pattern;
use sqlx::{Database, Encode, Type};

use crate::batch::LogWrite;
use crate::rows::{CHAT_COLS, DEAD_COLS, EVENT_COLS, limit};

/// A value bound to a statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
    Int4(i32),
}

/// A statement with its bound values, in `$1, $2, …` order (both dialects read `$N`).
///
/// `sql` is only ever assembled from this crate's constants (column lists, a backend's
/// dialect fragment); every value from a caller travels in `args`, bound, never in the text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stmt {
    pub(crate) sql: String,
    pub(crate) args: Vec<Arg>,
}

impl Stmt {
    fn new(sql: impl Into<String>, args: Vec<Arg>) -> Self {
        Self {
            sql: sql.into(),
            args,
        }
    }

    /// The statement as a sqlx query of either driver, values bound.
    pub(crate) fn query<'q, DB>(self) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments>
    where
        DB: Database,
        String: for<'t> Encode<'t, DB> + Type<DB>,
        i64: for<'t> Encode<'t, DB> + Type<DB>,
        i32: for<'t> Encode<'t, DB> + Type<DB>,
    {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for arg in self.args {
            q = match arg {
                Arg::Text(s) => q.bind(s),
                Arg::Int(i) => q.bind(i),
                Arg::Int4(i) => q.bind(i),
            };
        }
        q
    }
}

fn text(s: &str) -> Arg {
    Arg::Text(s.to_owned())
}

/// How a backend reads: run a statement on its read connections and decode the rows.
/// Both backends implement it with [`impl_reads!`], which differs only in the driver and
/// the pool.
#[async_trait]
pub(crate) trait SqlReads: Send + Sync {
    /// Chat rows (`CHAT_COLS`) with their sequence numbers.
    async fn chat_rows(&self, stmt: Stmt) -> Result<Vec<(ChatRecord, i64)>, StoreError>;
    /// Rows whose columns are all text; one `Vec` per row.
    async fn text_rows(&self, stmt: Stmt) -> Result<Vec<Vec<String>>, StoreError>;
    /// One integer (`count(*)`).
    async fn int(&self, stmt: Stmt) -> Result<i64, StoreError>;
    /// Event rows (`EVENT_COLS`).
    async fn event_rows(&self, stmt: Stmt) -> Result<Vec<EventRecord>, StoreError>;
    /// Dead letter rows (`DEAD_COLS`).
    async fn dead_rows(&self, stmt: Stmt) -> Result<Vec<DeadJob>, StoreError>;
    /// `(integer, integer)` rows.
    async fn int_pairs(&self, stmt: Stmt) -> Result<Vec<(i64, i64)>, StoreError>;
    /// `(text, integer)` rows.
    async fn text_int_pairs(&self, stmt: Stmt) -> Result<Vec<(String, i64)>, StoreError>;
}

/// Implements [`SqlReads`] for `$store`, reading with driver `$db` from `self.$pool`. The
/// calling module provides `B`, `on`, `col`, the row decoders (`rows::decoders!`) and
/// `fetch_chat(pool, stmt)`, which runs a statement selecting `CHAT_COLS` (rows in any
/// order: the callers sort them).
macro_rules! impl_reads {
    ($store:ty, $db:ty, $pool:ident) => {
        impl $store {
            /// Runs a read on the read connections; all its rows.
            async fn fetch_rows(
                &self,
                stmt: crate::shared::Stmt,
            ) -> Result<Vec<<$db as sqlx::Database>::Row>, botkit::store::StoreError> {
                stmt.query::<$db>()
                    .fetch_all(&self.$pool)
                    .await
                    .map_err(on(B))
            }
        }

        #[async_trait::async_trait]
        impl crate::shared::SqlReads for $store {
            async fn chat_rows(
                &self,
                stmt: crate::shared::Stmt,
            ) -> Result<Vec<(botkit::store::ChatRecord, i64)>, botkit::store::StoreError> {
                fetch_chat(&self.$pool, stmt).await
            }

            async fn text_rows(
                &self,
                stmt: crate::shared::Stmt,
            ) -> Result<Vec<Vec<String>>, botkit::store::StoreError> {
                self.fetch_rows(stmt).await?.iter().map(text_row).collect()
            }

            async fn int(
                &self,
                stmt: crate::shared::Stmt,
            ) -> Result<i64, botkit::store::StoreError> {
                let row = stmt
                    .query::<$db>()
                    .fetch_one(&self.$pool)
                    .await
                    .map_err(on(B))?;
                col(&row, 0)
            }

            async fn event_rows(
                &self,
                stmt: crate::shared::Stmt,
            ) -> Result<Vec<botkit::store::EventRecord>, botkit::store::StoreError> {
                self.fetch_rows(stmt).await?.iter().map(event_row).collect()
            }

            async fn dead_rows(
                &self,
                stmt: crate::shared::Stmt,
            ) -> Result<Vec<botkit::store::DeadJob>, botkit::store::StoreError> {
                self.fetch_rows(stmt).await?.iter().map(dead_row).collect()
            }

            async fn int_pairs(
                &self,
                stmt: crate::shared::Stmt,
            ) -> Result<Vec<(i64, i64)>, botkit::store::StoreError> {
                self.fetch_rows(stmt)
                    .await?
                    .iter()
                    .map(|r| Ok((col(r, 0)?, col(r, 1)?)))
                    .collect()
            }

            async fn text_int_pairs(
                &self,
                stmt: crate::shared::Stmt,
            ) -> Result<Vec<(String, i64)>, botkit::store::StoreError> {
                self.fetch_rows(stmt)
                    .await?
                    .iter()
                    .map(|r| Ok((col(r, 0)?, col(r, 1)?)))
                    .collect()
            }
        }
    };
}
pub(crate) use impl_reads;

/// Where a backend finds a user's chat rows and a message by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChatIndexes {
    /// Indexes on the chat table: `(user_id, ts, seq)` and `(platform, channel, message_id)`.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    OnChat,
    /// The index tables `chat_user` and `chat_message` (merged in bulk) and `chat_pending`
    /// (rows not merged yet); see the SQLite migration `0002_deferred_chat_indexes.sql`.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Deferred,
}

/// What a backend provides for the shared operations: its reads, and how it writes.
#[async_trait]
pub(crate) trait SqlBackend: SqlReads {
    /// Where this backend's schema keeps the chat rows by user and by message id.
    const CHAT_INDEXES: ChatIndexes;
    /// Runs a data-changing statement in order with the other writes; rows affected.
    async fn exec(&self, stmt: Stmt) -> Result<u64, StoreError>;
    /// Runs a data-changing statement that returns one integer (`RETURNING id`).
    async fn exec_returning(&self, stmt: Stmt) -> Result<i64, StoreError>;
    /// Queues a log write and waits until it is committed (events: how many were new).
    async fn log(&self, write: LogWrite) -> Result<u64, StoreError>;
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(crate) async fn stats(b: &impl SqlBackend) -> Result<StoreStats, StoreError> {
    let n = |table: &str| b.int(Stmt::new(format!("SELECT count(*) FROM {table}"), vec![]));
    let mut s = StoreStats::default();
    s.kv_entries = count(n("kv").await?);
    s.chat_records = count(n("chat").await?);
    s.events = count(n("events").await?);
    s.counter_buckets = count(n("counters").await?);
    s.jobs = count(n("jobs").await?);
    s.dead_jobs = count(n("dead_jobs").await?);
    Ok(s)
}

// ---- key-value ----

pub(crate) async fn kv_get(
    b: &impl SqlBackend,
    namespace: &str,
    key: &str,
) -> Result<Option<serde_json::Value>, StoreError> {
    let rows = b
        .text_rows(Stmt::new(
            "SELECT value FROM kv WHERE namespace = $1 AND key = $2",
            vec![text(namespace), text(key)],
        ))
        .await?;
    rows.into_iter()
        .next()
        .and_then(|row| row.into_iter().next())
        .map(|s| crate::rows::from_json(&format!("key `{key}` in namespace `{namespace}`"), &s))
        .transpose()
}

pub(crate) async fn kv_namespaces(b: &impl SqlBackend) -> Result<Vec<String>, StoreError> {
    let rows = b
        .text_rows(Stmt::new(
            "SELECT DISTINCT namespace FROM kv ORDER BY namespace",
            vec![],
        ))
        .await?;
    Ok(rows.into_iter().flatten().collect())
}

pub(crate) async fn kv_put(
    b: &impl SqlBackend,
    namespace: &str,
    key: &str,
    value: &serde_json::Value,
) -> Result<(), StoreError> {
    check_name("namespace", namespace)?;
    check_name("key", key)?;
    let json = crate::rows::to_json(key, value)?;
    b.exec(Stmt::new(
        "INSERT INTO kv (namespace, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
        vec![text(namespace), text(key), Arg::Text(json)],
    ))
    .await
    .map(|_| ())
}

pub(crate) async fn kv_delete(
    b: &impl SqlBackend,
    namespace: &str,
    key: &str,
) -> Result<bool, StoreError> {
    b.exec(Stmt::new(
        "DELETE FROM kv WHERE namespace = $1 AND key = $2",
        vec![text(namespace), text(key)],
    ))
    .await
    .map(|n| n > 0)
}

// ---- chat log ----

pub(crate) async fn append_chat(
    b: &impl SqlBackend,
    records: &[ChatRecord],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    b.log(LogWrite::Chat(records.to_vec())).await.map(|_| ())
}

/// Chat rows oldest first, by time and then sequence number. Backends may return a query's
/// rows in any order (SQLite's returns them aggregated), so every chat read sorts here.
fn oldest_first(mut rows: Vec<(ChatRecord, i64)>) -> Vec<(ChatRecord, i64)> {
    rows.sort_unstable_by_key(|(r, seq)| (r.timestamp_ms, *seq));
    rows
}

/// The records of [`oldest_first`] rows.
fn records(rows: Vec<(ChatRecord, i64)>) -> Vec<ChatRecord> {
    oldest_first(rows).into_iter().map(|(r, _)| r).collect()
}

pub(crate) async fn recent_chat(
    b: &impl SqlBackend,
    channel: &ChannelRef,
    limit_n: usize,
) -> Result<Vec<ChatRecord>, StoreError> {
    if limit_n == 0 {
        return Ok(Vec::new());
    }
    let stmt = Stmt::new(
        format!(
            "SELECT {CHAT_COLS} FROM chat WHERE platform = $1 AND channel = $2 \
             ORDER BY ts DESC, seq DESC LIMIT $3"
        ),
        vec![
            text(&channel.platform),
            text(&channel.channel),
            Arg::Int(limit(limit_n)),
        ],
    );
    Ok(records(b.chat_rows(stmt).await?))
}

pub(crate) async fn chat_by_user<S: SqlBackend>(
    b: &S,
    user_id: &str,
    channel: Option<&ChannelRef>,
    limit_n: usize,
) -> Result<Vec<ChatRecord>, StoreError> {
    if limit_n == 0 {
        return Ok(Vec::new());
    }
    let mut args = vec![text(user_id)];
    let in_channel = match channel {
        Some(ch) => {
            args.push(text(&ch.platform));
            args.push(text(&ch.channel));
            " AND c.platform = $2 AND c.channel = $3"
        }
        None => "",
    };
    let n = args.len() + 1;
    args.push(Arg::Int(limit(limit_n)));
    let sql = match S::CHAT_INDEXES {
        ChatIndexes::OnChat => format!(
            "SELECT {CHAT_COLS} FROM chat c WHERE user_id = $1{in_channel} \
             ORDER BY ts DESC, seq DESC LIMIT ${n}"
        ),
        // The newest `n` of each index table, then the newest `n` of those: at most 2n row
        // lookups, however much the user wrote. CROSS JOIN makes SQLite walk the index
        // table first; left to itself it may scan the whole channel instead.
        ChatIndexes::Deferred => {
            let newest = |table: &str| {
                format!(
                    "SELECT seq FROM (SELECT u.seq AS seq FROM {table} u CROSS JOIN chat c ON c.seq = u.seq \
                     WHERE u.user_id = $1{in_channel} ORDER BY u.ts DESC, u.seq DESC LIMIT ${n})"
                )
            };
            format!(
                "SELECT {CHAT_COLS} FROM chat WHERE seq IN ({} UNION ALL {}) \
                 ORDER BY ts DESC, seq DESC LIMIT ${n}",
                newest("chat_user"),
                newest("chat_pending")
            )
        }
    };
    Ok(records(b.chat_rows(Stmt::new(sql, args)).await?))
}

pub(crate) async fn chat_range(
    b: &impl SqlBackend,
    channel: &ChannelRef,
    from: ChatCursor,
    limit_n: usize,
) -> Result<ChatPage, StoreError> {
    if limit_n == 0 {
        return Err(StoreError::invalid(
            "limit",
            "a page needs a limit of at least 1",
        ));
    }
    let stmt = Stmt::new(
        format!(
            "SELECT {CHAT_COLS} FROM chat WHERE platform = $1 AND channel = $2 \
             AND (ts > $3 OR (ts = $3 AND seq > $4)) ORDER BY ts, seq LIMIT $5"
        ),
        vec![
            text(&channel.platform),
            text(&channel.channel),
            Arg::Int(from.timestamp_ms()),
            Arg::Int(from.seq()),
            Arg::Int(limit(limit_n)),
        ],
    );
    let rows = oldest_first(b.chat_rows(stmt).await?);
    let next = match rows.last() {
        Some((r, seq)) if rows.len() == limit_n => Some(ChatCursor::after(r.timestamp_ms, *seq)),
        _ => None,
    };
    Ok(ChatPage {
        records: rows.into_iter().map(|(r, _)| r).collect(),
        next,
    })
}

pub(crate) async fn chat_channels(b: &impl SqlBackend) -> Result<Vec<ChannelRef>, StoreError> {
    let rows = b
        .text_rows(Stmt::new(
            "SELECT DISTINCT platform, channel FROM chat ORDER BY platform, channel",
            vec![],
        ))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match <[String; 2]>::try_from(row) {
            Ok([p, c]) => Some(ChannelRef::new(p, c)),
            Err(_) => None,
        })
        .collect())
}

pub(crate) async fn delete_chat_message<S: SqlBackend>(
    b: &S,
    channel: &ChannelRef,
    message_id: &str,
) -> Result<u64, StoreError> {
    let sql = match S::CHAT_INDEXES {
        ChatIndexes::OnChat => {
            "DELETE FROM chat WHERE platform = $1 AND channel = $2 AND message_id = $3"
        }
        // One probe per generation of `chat_message`, newest first (each step of `gens`
        // seeks the next older one), and a scan of the pending rows.
        ChatIndexes::Deferred => {
            "DELETE FROM chat WHERE seq IN (\
             WITH RECURSIVE gens(g) AS (SELECT max(gen) FROM chat_message \
             UNION ALL SELECT (SELECT max(gen) FROM chat_message WHERE gen < g) FROM gens \
             WHERE g IS NOT NULL) \
             SELECT m.seq FROM gens CROSS JOIN chat_message m ON m.gen = gens.g \
             AND m.platform = $1 AND m.channel = $2 AND m.message_id = $3 \
             UNION ALL SELECT seq FROM chat_pending \
             WHERE platform = $1 AND channel = $2 AND message_id = $3)"
        }
    };
    b.exec(Stmt::new(
        sql,
        vec![
            text(&channel.platform),
            text(&channel.channel),
            text(message_id),
        ],
    ))
    .await
}

pub(crate) async fn delete_chat_by_user<S: SqlBackend>(
    b: &S,
    channel: &ChannelRef,
    user_id: &str,
) -> Result<u64, StoreError> {
    let sql = match S::CHAT_INDEXES {
        ChatIndexes::OnChat => {
            "DELETE FROM chat WHERE platform = $1 AND channel = $2 AND user_id = $3"
        }
        // The user's rows found through the index tables, checked for the channel there:
        // otherwise SQLite may walk the whole channel.
        ChatIndexes::Deferred => {
            "DELETE FROM chat WHERE seq IN (\
             SELECT u.seq FROM chat_user u CROSS JOIN chat c ON c.seq = u.seq \
             WHERE u.user_id = $3 AND c.platform = $1 AND c.channel = $2 \
             UNION ALL SELECT u.seq FROM chat_pending u CROSS JOIN chat c ON c.seq = u.seq \
             WHERE u.user_id = $3 AND c.platform = $1 AND c.channel = $2)"
        }
    };
    b.exec(Stmt::new(
        sql,
        vec![
            text(&channel.platform),
            text(&channel.channel),
            text(user_id),
        ],
    ))
    .await
}

pub(crate) async fn delete_chat_channel(
    b: &impl SqlBackend,
    channel: &ChannelRef,
) -> Result<u64, StoreError> {
    b.exec(Stmt::new(
        "DELETE FROM chat WHERE platform = $1 AND channel = $2",
        vec![text(&channel.platform), text(&channel.channel)],
    ))
    .await
}

pub(crate) async fn prune_chat(b: &impl SqlBackend, older_than_ms: i64) -> Result<u64, StoreError> {
    b.exec(Stmt::new(
        "DELETE FROM chat WHERE ts < $1",
        vec![Arg::Int(older_than_ms)],
    ))
    .await
}

// ---- event log ----

pub(crate) async fn append_events(
    b: &impl SqlBackend,
    records: &[EventRecord],
) -> Result<u64, StoreError> {
    if records.is_empty() {
        return Ok(0);
    }
    b.log(LogWrite::Events(records.to_vec())).await
}

/// Rows fetched per step of an event scan that filters by pattern.
const EVENT_SCAN: usize = 512;

/// Events on topics `pattern` matches, oldest first, from `since_ms` on. The index narrows
/// the scan to the pattern's literal prefix; the pattern itself is matched here, in steps
/// of [`EVENT_SCAN`] rows, so a sparse pattern never loads the whole log at once.
/// `filter_sql` is the backend's `WHERE` for `$1` ts, `$2` last event id, `$3` prefix.
pub(crate) async fn events_by_topic(
    b: &impl SqlBackend,
    filter_sql: &str,
    pattern: &Pattern,
    since_ms: i64,
    limit_n: usize,
) -> Result<Vec<EventRecord>, StoreError> {
    let prefix = literal_prefix(pattern);
    let mut out = Vec::new();
    let (mut ts, mut last_id) = (since_ms, String::new());
    while out.len() < limit_n {
        let rows = b
            .event_rows(Stmt::new(
                format!(
                    "SELECT {EVENT_COLS} FROM events WHERE {filter_sql} \
                     ORDER BY ts, event_id LIMIT $4"
                ),
                vec![
                    Arg::Int(ts),
                    Arg::Text(last_id.clone()),
                    Arg::Text(prefix.clone()),
                    Arg::Int(limit(EVENT_SCAN)),
                ],
            ))
            .await?;
        let full = rows.len() == EVENT_SCAN;
        for rec in rows {
            ts = rec.timestamp_ms;
            last_id = crate::rows::event_id_text(rec.event_id);
            if pattern.matches(rec.topic.as_str()) && out.len() < limit_n {
                out.push(rec);
            }
        }
        if !full {
            break;
        }
    }
    Ok(out)
}

pub(crate) async fn get_event(
    b: &impl SqlBackend,
    id: EventId,
) -> Result<Option<EventRecord>, StoreError> {
    let rows = b
        .event_rows(Stmt::new(
            format!("SELECT {EVENT_COLS} FROM events WHERE event_id = $1"),
            vec![Arg::Text(crate::rows::event_id_text(id))],
        ))
        .await?;
    Ok(rows.into_iter().next())
}

pub(crate) async fn prune_events(
    b: &impl SqlBackend,
    older_than_ms: i64,
) -> Result<u64, StoreError> {
    b.exec(Stmt::new(
        "DELETE FROM events WHERE ts < $1",
        vec![Arg::Int(older_than_ms)],
    ))
    .await
}

// ---- counters ----

pub(crate) async fn incr_counters(
    b: &impl SqlBackend,
    incrs: &[CounterIncr],
) -> Result<(), StoreError> {
    for i in incrs {
        check_name("counter name", &i.name)?;
    }
    if incrs.is_empty() {
        return Ok(());
    }
    b.log(LogWrite::Counters(incrs.to_vec())).await.map(|_| ())
}

pub(crate) async fn counter_series(
    b: &impl SqlBackend,
    name: &str,
    dims: &str,
    bucket: Bucket,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<(i64, i64)>, StoreError> {
    b.int_pairs(Stmt::new(
        "SELECT start_ms, value FROM counters WHERE name = $1 AND dims = $2 AND bucket = $3 \
         AND start_ms >= $4 AND start_ms < $5 ORDER BY start_ms",
        vec![
            text(name),
            text(dims),
            text(bucket.name()),
            Arg::Int(crate::batch::bucket_start(bucket, from_ms)),
            Arg::Int(to_ms),
        ],
    ))
    .await
}

/// The dims with the largest totals. `sum_sql` is the backend's `SUM(value)` as a 64-bit
/// integer (PostgreSQL's `SUM` of `BIGINT` is `NUMERIC`).
pub(crate) async fn counter_top(
    b: &impl SqlBackend,
    sum_sql: &str,
    name: &str,
    bucket: Bucket,
    (from_ms, to_ms): (i64, i64),
    limit_n: usize,
) -> Result<Vec<(String, i64)>, StoreError> {
    if limit_n == 0 {
        return Ok(Vec::new());
    }
    b.text_int_pairs(Stmt::new(
        format!(
            "SELECT dims, {sum_sql} AS total FROM counters WHERE name = $1 AND bucket = $2 \
             AND start_ms >= $3 AND start_ms < $4 GROUP BY dims ORDER BY total DESC, dims LIMIT $5"
        ),
        vec![
            text(name),
            text(bucket.name()),
            Arg::Int(crate::batch::bucket_start(bucket, from_ms)),
            Arg::Int(to_ms),
            Arg::Int(limit(limit_n)),
        ],
    ))
    .await
}

pub(crate) async fn prune_counters(
    b: &impl SqlBackend,
    bucket: Bucket,
    older_than_ms: i64,
) -> Result<u64, StoreError> {
    // A bucket goes once all of it is older than the cutoff: it starts a bucket length
    // or more before it.
    b.exec(Stmt::new(
        "DELETE FROM counters WHERE bucket = $1 AND start_ms <= $2",
        vec![
            text(bucket.name()),
            Arg::Int(older_than_ms.saturating_sub(bucket.len_ms())),
        ],
    ))
    .await
}

// ---- retry queue ----

pub(crate) fn job_not_found(id: JobId) -> StoreError {
    StoreError::not_found(format!("{id}"))
}

pub(crate) async fn enqueue(
    b: &impl SqlBackend,
    queue: &str,
    job: NewJob,
) -> Result<JobId, StoreError> {
    check_name("queue", queue)?;
    if job.max_attempts == 0 {
        return Err(StoreError::invalid(
            "max_attempts",
            "a job needs at least 1 attempt",
        ));
    }
    let payload = crate::rows::to_json("job payload", &job.payload)?;
    let id = b
        .exec_returning(Stmt::new(
            "INSERT INTO jobs (queue, payload, priority, due_ms, max_attempts) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            vec![
                text(queue),
                Arg::Text(payload),
                Arg::Int4(job.priority),
                Arg::Int(job.due_ms),
                Arg::Int(i64::from(job.max_attempts)),
            ],
        ))
        .await?;
    Ok(JobId::from_i64(id))
}

pub(crate) async fn queue_len(b: &impl SqlBackend, queue: &str) -> Result<u64, StoreError> {
    let n = b
        .int(Stmt::new(
            "SELECT count(*) FROM jobs WHERE queue = $1",
            vec![text(queue)],
        ))
        .await?;
    Ok(count(n))
}

pub(crate) async fn dead_letters(
    b: &impl SqlBackend,
    queue: &str,
    limit_n: usize,
) -> Result<Vec<DeadJob>, StoreError> {
    if limit_n == 0 {
        return Ok(Vec::new());
    }
    b.dead_rows(Stmt::new(
        format!("SELECT {DEAD_COLS} FROM dead_jobs WHERE queue = $1 ORDER BY seq LIMIT $2"),
        vec![text(queue), Arg::Int(limit(limit_n))],
    ))
    .await
}

pub(crate) async fn ack(b: &impl SqlBackend, id: JobId) -> Result<(), StoreError> {
    let n = b
        .exec(Stmt::new(
            "DELETE FROM jobs WHERE id = $1",
            vec![Arg::Int(id.as_i64())],
        ))
        .await?;
    if n == 0 {
        Err(job_not_found(id))
    } else {
        Ok(())
    }
}

pub(crate) async fn purge_dead(b: &impl SqlBackend, queue: &str) -> Result<u64, StoreError> {
    b.exec(Stmt::new(
        "DELETE FROM dead_jobs WHERE queue = $1",
        vec![text(queue)],
    ))
    .await
}
