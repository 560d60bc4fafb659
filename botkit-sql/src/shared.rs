//! The store logic both SQL backends share, written once.
//!
//! The SQLite and PostgreSQL stores differ in how they reach their database (one writer
//! task and a reader pool against one connection pool) and, for some operations, in
//! dialect. Where the SQL is the same in both dialects — the chat reads, the deletions and
//! prunes, acks — the statement, its validation and what is done with the rows live here,
//! and a backend only runs statements through [`SqlBackend`]. SQL that truly differs (log
//! batch inserts, queue claims, compare-and-swap) stays in each backend.

use async_trait::async_trait;
use botkit::store::{
    Bucket, ChannelRef, ChatCursor, ChatPage, ChatRecord, CounterIncr, EventRecord, JobId,
    StoreError, check_name,
};
use sqlx::{Database, Encode, Type};

use crate::batch::LogWrite;
use crate::rows::{CHAT_COLS, limit};

/// A value bound to a statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

/// A statement with its bound values, in `$1, $2, …` order (both dialects read `$N`).
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
    {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for arg in self.args {
            q = match arg {
                Arg::Text(s) => q.bind(s),
                Arg::Int(i) => q.bind(i),
            };
        }
        q
    }
}

fn text(s: &str) -> Arg {
    Arg::Text(s.to_owned())
}

/// What a backend provides for the shared operations.
#[async_trait]
pub(crate) trait SqlBackend: Send + Sync {
    /// Runs a data-changing statement in order with the other writes; rows affected.
    async fn exec(&self, stmt: Stmt) -> Result<u64, StoreError>;
    /// Runs a query returning chat rows (`CHAT_COLS`) with their sequence numbers.
    async fn chat_rows(&self, stmt: Stmt) -> Result<Vec<(ChatRecord, i64)>, StoreError>;
    /// Queues a log write and waits until it is committed (events: how many were new).
    async fn log(&self, write: LogWrite) -> Result<u64, StoreError>;
}

// ---- key-value ----

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

/// The newest `n` rows a query returns newest first, put oldest first.
fn oldest_first(mut rows: Vec<(ChatRecord, i64)>) -> Vec<ChatRecord> {
    rows.reverse();
    rows.into_iter().map(|(r, _)| r).collect()
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
    Ok(oldest_first(b.chat_rows(stmt).await?))
}

pub(crate) async fn chat_by_user(
    b: &impl SqlBackend,
    user_id: &str,
    channel: Option<&ChannelRef>,
    limit_n: usize,
) -> Result<Vec<ChatRecord>, StoreError> {
    if limit_n == 0 {
        return Ok(Vec::new());
    }
    let stmt = match channel {
        Some(ch) => Stmt::new(
            format!(
                "SELECT {CHAT_COLS} FROM chat WHERE user_id = $1 AND platform = $2 \
                 AND channel = $3 ORDER BY ts DESC, seq DESC LIMIT $4"
            ),
            vec![
                text(user_id),
                text(&ch.platform),
                text(&ch.channel),
                Arg::Int(limit(limit_n)),
            ],
        ),
        None => Stmt::new(
            format!(
                "SELECT {CHAT_COLS} FROM chat WHERE user_id = $1 \
                 ORDER BY ts DESC, seq DESC LIMIT $2"
            ),
            vec![text(user_id), Arg::Int(limit(limit_n))],
        ),
    };
    Ok(oldest_first(b.chat_rows(stmt).await?))
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
    let rows = b.chat_rows(stmt).await?;
    let next = match rows.last() {
        Some((r, seq)) if rows.len() == limit_n => Some(ChatCursor::after(r.timestamp_ms, *seq)),
        _ => None,
    };
    Ok(ChatPage {
        records: rows.into_iter().map(|(r, _)| r).collect(),
        next,
    })
}

pub(crate) async fn delete_chat_message(
    b: &impl SqlBackend,
    channel: &ChannelRef,
    message_id: &str,
) -> Result<u64, StoreError> {
    b.exec(Stmt::new(
        "DELETE FROM chat WHERE platform = $1 AND channel = $2 AND message_id = $3",
        vec![
            text(&channel.platform),
            text(&channel.channel),
            text(message_id),
        ],
    ))
    .await
}

pub(crate) async fn delete_chat_by_user(
    b: &impl SqlBackend,
    channel: &ChannelRef,
    user_id: &str,
) -> Result<u64, StoreError> {
    b.exec(Stmt::new(
        "DELETE FROM chat WHERE platform = $1 AND channel = $2 AND user_id = $3",
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
