//! [`PgStore`]: the store in PostgreSQL, for bots that outgrow one file.
//!
//! PostgreSQL has real row locks, so unlike SQLite there is no single writer: every
//! operation takes a connection from a pool, and the contended ones lock just what they
//! touch (`SELECT … FOR UPDATE` for compare-and-swap and job failures, `FOR UPDATE SKIP
//! LOCKED` so concurrent claimers never take the same job). Log writes still go through one
//! write-behind task (see [`crate::WriteBehind`]) that commits whatever queued up in one
//! transaction with one `INSERT … SELECT FROM UNNEST(…)` per table: a handful of array
//! parameters whatever the batch size.
//!
//! When the server goes away, pooled connections fail with I/O errors that map to the
//! transient [`StoreError::Unavailable`]; the pool opens fresh connections once it is back,
//! and log batches caught in between are retried with backoff rather than dropped.

use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use botkit::backoff::Backoff;
use botkit::event::EventId;
use botkit::store::{
    Bucket, ChannelRef, ChatCursor, ChatPage, ChatRecord, CounterIncr, DeadJob, EventRecord, Job,
    JobFate, JobId, NewJob, Store, StoreError, StoreStats, check_name,
};
use botkit::topic::Pattern;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use tokio::sync::{mpsc, oneshot};

use crate::batch::{LogItem, LogWrite, Msg, WriteBehind, deliver_err, deliver_ok};
use crate::error::{on, writer_gone};
use crate::rows::{JOB_COLS, event_id_text, limit, to_json};
use crate::shared::{self, SqlBackend, Stmt};
use crate::url::redact_url;

const B: &str = "postgres";

crate::rows::decoders!(PgRow, "postgres");

/// The schema steps, compiled in.
const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "init",
    include_str!("../../migrations/postgres/0001_init.sql"),
)];

/// Settings of a [`PgStore`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PgOptions {
    /// Most pooled connections (default 10).
    pub max_connections: u32,
    /// How long an operation waits for a connection before failing as
    /// [`StoreError::Unavailable`] (default 5 s).
    pub acquire_timeout: Duration,
    /// How log writes are batched.
    pub write_behind: WriteBehind,
    /// A schema to keep the tables in (created if missing, then first on the
    /// `search_path`); `None` (default): the connection's default schema.
    pub schema: Option<String>,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            write_behind: WriteBehind::default(),
            schema: None,
        }
    }
}

impl PgOptions {
    /// The same settings with the tables in `schema`.
    #[must_use]
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// The same settings with another pool size (at least 1).
    #[must_use]
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// The same settings with another connection wait.
    #[must_use]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// The same settings with other write-behind settings.
    #[must_use]
    pub fn with_write_behind(mut self, write_behind: WriteBehind) -> Self {
        self.write_behind = write_behind;
        self
    }
}

/// The [`Store`] in a PostgreSQL database: a connection pool and a write-behind log task.
pub struct PgStore {
    pool: PgPool,
    tx: mpsc::Sender<Msg<oneshot::Sender<()>>>,
    url: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// `name` as a quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl PgStore {
    /// Connects to the database at `url`, creates the schema if one is configured, applies
    /// the migrations and starts the log writer. Must be called inside a tokio runtime.
    ///
    /// A malformed URL is [`StoreError::Invalid`]; a server that cannot be reached is
    /// [`StoreError::Unavailable`]; a refused login or a missing database is
    /// [`StoreError::Backend`] saying which. Messages never contain the password.
    pub async fn connect(url: &str, opts: PgOptions) -> Result<Self, StoreError> {
        let shown = redact_url(url);
        let mut conn_opts = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::invalid(
                "store url",
                format!(
                    "`{shown}` is not a PostgreSQL URL: {}",
                    redact_url(&e.to_string())
                ),
            )
        })?;
        if let Some(schema) = &opts.schema {
            check_name("schema", schema)?;
            conn_opts = conn_opts.options([("search_path", quote_ident(schema))]);
        }
        let named = |e: StoreError| prefix(&shown, e);
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .min_connections(0)
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(conn_opts)
            .await
            .map_err(|e| named(crate::error::map(B, e)))?;
        if let Some(schema) = &opts.schema {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                quote_ident(schema)
            )))
            .execute(&pool)
            .await
            .map_err(|e| named(crate::error::map(B, e)))?;
        }
        let store = {
            let (tx, rx) = mpsc::channel(opts.write_behind.queue.max(1));
            tokio::spawn(run_log_writer(pool.clone(), rx, opts.write_behind));
            Self {
                pool,
                tx,
                url: shown.clone(),
            }
        };
        store.migrate().await.map_err(named)?;
        tracing::debug!(url = %store.url, "postgres store open");
        Ok(store)
    }

    /// The pool, for maintenance queries of the application's own.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool after the log writer has committed what is queued.
    pub async fn close(&self) {
        let _ = self.flush().await;
        self.pool.close().await;
    }
}

shared::impl_reads!(PgStore, sqlx::Postgres, pool);

/// A chat row (`CHAT_COLS`) and its sequence number.
fn chat_row(row: &PgRow) -> Result<(botkit::store::ChatRecord, i64), botkit::store::StoreError> {
    let seq: i64 = col(row, 0)?;
    let event_id: Option<String> = col(row, 9)?;
    let record = botkit::store::ChatRecord {
        platform: col(row, 1)?,
        instance: col(row, 2)?,
        channel: col(row, 3)?,
        message_id: col(row, 4)?,
        user_id: col(row, 5)?,
        user_name: col(row, 6)?,
        text: col(row, 7)?,
        timestamp_ms: col(row, 8)?,
        event_id: event_id
            .as_deref()
            .map(crate::rows::parse_event_id)
            .transpose()?,
    };
    Ok((record, seq))
}

/// Runs a chat statement (`CHAT_COLS`) and decodes its rows.
async fn fetch_chat(pool: &PgPool, stmt: Stmt) -> Result<Vec<(ChatRecord, i64)>, StoreError> {
    let rows = stmt
        .query::<sqlx::Postgres>()
        .fetch_all(pool)
        .await
        .map_err(on(B))?;
    rows.iter().map(chat_row).collect()
}

#[async_trait]
impl SqlBackend for PgStore {
    const CHAT_INDEXES: shared::ChatIndexes = shared::ChatIndexes::OnChat;

    async fn exec(&self, stmt: Stmt) -> Result<u64, StoreError> {
        let r = stmt
            .query::<sqlx::Postgres>()
            .execute(&self.pool)
            .await
            .map_err(on(B))?;
        Ok(r.rows_affected())
    }

    async fn exec_returning(&self, stmt: Stmt) -> Result<i64, StoreError> {
        let row = stmt
            .query::<sqlx::Postgres>()
            .fetch_one(&self.pool)
            .await
            .map_err(on(B))?;
        col(&row, 0)
    }

    async fn log(&self, write: LogWrite) -> Result<u64, StoreError> {
        crate::batch::submit(&self.tx, write, B).await
    }
}

/// Names the database in an error from connecting to it.
fn prefix(shown: &str, err: StoreError) -> StoreError {
    match err {
        StoreError::Unavailable {
            backend,
            reason,
            source,
        } => StoreError::Unavailable {
            backend,
            reason: format!("`{shown}`: {reason}"),
            source,
        },
        StoreError::Backend {
            backend,
            message,
            source,
        } => StoreError::Backend {
            backend,
            message: format!("`{shown}`: {message}"),
            source,
        },
        other => other,
    }
}

async fn run_log_writer(
    pool: PgPool,
    mut rx: mpsc::Receiver<Msg<oneshot::Sender<()>>>,
    cfg: WriteBehind,
) {
    let mut held = None;
    loop {
        let msg = match held.take() {
            Some(m) => m,
            None => match rx.recv().await {
                Some(m) => m,
                None => break,
            },
        };
        match msg {
            Msg::Other(done) => {
                let _ = done.send(());
            }
            Msg::Log(first) => {
                let batch = crate::batch::gather(&mut rx, first, &cfg, &mut held).await;
                let mut backoff = Backoff::new(cfg.retry.clone());
                loop {
                    match write_logs(&pool, &batch).await {
                        Ok(inserted) => {
                            deliver_ok(batch, inserted);
                            break;
                        }
                        Err(e) if e.is_transient() => match backoff.next_delay() {
                            Some(delay) => {
                                tracing::warn!(error = %e, ?delay, "postgres log batch failed; retrying");
                                tokio::time::sleep(delay).await;
                            }
                            None => {
                                deliver_err(batch, &e);
                                break;
                            }
                        },
                        Err(e) => {
                            tracing::error!(error = %e, "postgres log batch failed");
                            deliver_err(batch, &e);
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// One transaction for the whole batch; the event ids that were new.
async fn write_logs(pool: &PgPool, batch: &[LogItem]) -> Result<HashSet<String>, StoreError> {
    let s = crate::batch::split(batch);
    let mut tx = pool.begin().await.map_err(on(B))?;
    if !s.chat.is_empty() {
        let c = &s.chat;
        let text =
            |f: fn(&ChatRecord) -> &str| c.iter().map(|r| f(r).to_owned()).collect::<Vec<String>>();
        let opt = |f: fn(&ChatRecord) -> Option<String>| {
            c.iter().map(|r| f(r)).collect::<Vec<Option<String>>>()
        };
        sqlx::query(
            "INSERT INTO chat (platform, instance, channel, message_id, user_id, user_name, text, ts, event_id) \
             SELECT p, i, c, m, u, n, t, ts, e FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], \
             $5::text[], $6::text[], $7::text[], $8::int8[], $9::text[]) WITH ORDINALITY \
             AS x(p, i, c, m, u, n, t, ts, e, ord) ORDER BY ord",
        )
        .bind(text(|r| &r.platform))
        .bind(opt(|r| r.instance.clone()))
        .bind(text(|r| &r.channel))
        .bind(opt(|r| r.message_id.clone()))
        .bind(text(|r| &r.user_id))
        .bind(text(|r| &r.user_name))
        .bind(text(|r| &r.text))
        .bind(c.iter().map(|r| r.timestamp_ms).collect::<Vec<i64>>())
        .bind(opt(|r| r.event_id.map(event_id_text)))
        .execute(&mut *tx)
        .await
        .map_err(on(B))?;
    }
    let mut inserted = HashSet::new();
    if !s.events.is_empty() {
        let e = &s.events;
        let mut json = Vec::with_capacity(e.len());
        for r in e {
            json.push(to_json(&format!("event {}", r.event_id), &r.json)?);
        }
        let ids: Vec<String> = sqlx::query_scalar(
            "INSERT INTO events (event_id, topic, platform, channel, ts, json) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[]) \
             ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        )
        .bind(e.iter().map(|r| event_id_text(r.event_id)).collect::<Vec<_>>())
        .bind(e.iter().map(|r| r.topic.as_str().to_owned()).collect::<Vec<_>>())
        .bind(e.iter().map(|r| r.platform.clone()).collect::<Vec<_>>())
        .bind(e.iter().map(|r| r.channel.clone()).collect::<Vec<_>>())
        .bind(e.iter().map(|r| r.timestamp_ms).collect::<Vec<_>>())
        .bind(json)
        .fetch_all(&mut *tx)
        .await
        .map_err(on(B))?;
        inserted.extend(ids);
    }
    if !s.counters.is_empty() {
        let k = &s.counters;
        sqlx::query(
            "INSERT INTO counters (name, dims, bucket, start_ms, value) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[]) \
             ON CONFLICT (name, dims, bucket, start_ms) DO UPDATE SET value = counters.value + EXCLUDED.value",
        )
        .bind(k.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
        .bind(k.iter().map(|c| c.dims.clone()).collect::<Vec<_>>())
        .bind(k.iter().map(|c| c.bucket.name().to_owned()).collect::<Vec<_>>())
        .bind(k.iter().map(|c| c.start_ms).collect::<Vec<_>>())
        .bind(k.iter().map(|c| c.by).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(on(B))?;
    }
    tx.commit().await.map_err(on(B))?;
    Ok(inserted)
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &str {
        B
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(on(B))?;
        // `run_direct` is sqlx's entry for a plain connection; `run` trips the compiler
        // ("Acquire is not general enough") inside async-trait futures. It takes an
        // advisory lock, so bots starting together migrate once.
        crate::schema::migrator(MIGRATIONS)
            .run_direct(None, &mut *conn, false)
            .await
            .map_err(|e| crate::schema::map_err(B, e))
    }

    async fn flush(&self) -> Result<(), StoreError> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Msg::Other(done))
            .await
            .map_err(|_| writer_gone(B))?;
        rx.await.map_err(|_| writer_gone(B))
    }

    async fn health(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(on(B))?;
        Ok(())
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        shared::stats(self).await
    }

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
            "SELECT key FROM kv WHERE namespace = $1 AND key >= $2::text \
             AND substr(key, 1, length($2::text)) = $2::text ORDER BY key",
        )
        .bind(namespace)
        .bind(prefix)
        .fetch_all(&self.pool)
        .await
        .map_err(on(B))
    }

    async fn kv_entries(
        &self,
        namespace: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT key, value FROM kv WHERE namespace = $1 AND key >= $2::text \
             AND substr(key, 1, length($2::text)) = $2::text ORDER BY key",
        )
        .bind(namespace)
        .bind(prefix)
        .fetch_all(&self.pool)
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
        if expected.is_none() {
            // Absent rows cannot be locked: let the unique key arbitrate instead.
            return match new_json {
                Some(json) => sqlx::query(
                    "INSERT INTO kv (namespace, key, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (namespace, key) DO NOTHING",
                )
                .bind(namespace)
                .bind(key)
                .bind(json)
                .execute(&self.pool)
                .await
                .map(|r| r.rows_affected() == 1)
                .map_err(on(B)),
                None => Ok(self.kv_get(namespace, key).await?.is_none()),
            };
        }
        let mut tx = self.pool.begin().await.map_err(on(B))?;
        let current: Option<String> =
            sqlx::query_scalar("SELECT value FROM kv WHERE namespace = $1 AND key = $2 FOR UPDATE")
                .bind(namespace)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(on(B))?;
        let current = current
            .map(|s| crate::rows::from_json(&format!("key `{key}` in namespace `{namespace}`"), &s))
            .transpose()?;
        if current.as_ref() != expected {
            return Ok(false);
        }
        match new_json {
            Some(json) => sqlx::query("UPDATE kv SET value = $3 WHERE namespace = $1 AND key = $2")
                .bind(namespace)
                .bind(key)
                .bind(json)
                .execute(&mut *tx)
                .await
                .map_err(on(B))?,
            None => sqlx::query("DELETE FROM kv WHERE namespace = $1 AND key = $2")
                .bind(namespace)
                .bind(key)
                .execute(&mut *tx)
                .await
                .map_err(on(B))?,
        };
        tx.commit().await.map_err(on(B))?;
        Ok(true)
    }

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

    async fn append_events(&self, records: &[EventRecord]) -> Result<u64, StoreError> {
        shared::append_events(self, records).await
    }

    async fn events_by_topic(
        &self,
        pattern: &Pattern,
        since_ms: i64,
        limit_n: usize,
    ) -> Result<Vec<EventRecord>, StoreError> {
        shared::events_by_topic(self, "(ts > $1 OR (ts = $1 AND event_id > $2::text)) AND topic >= $3::text AND substr(topic, 1, length($3::text)) = $3::text", pattern, since_ms, limit_n).await
    }

    async fn get_event(&self, id: EventId) -> Result<Option<EventRecord>, StoreError> {
        shared::get_event(self, id).await
    }

    async fn prune_events(&self, older_than_ms: i64) -> Result<u64, StoreError> {
        shared::prune_events(self, older_than_ms).await
    }

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
        shared::counter_top(
            self,
            "SUM(value)::BIGINT",
            name,
            bucket,
            (from_ms, to_ms),
            limit_n,
        )
        .await
    }

    async fn prune_counters(&self, bucket: Bucket, older_than_ms: i64) -> Result<u64, StoreError> {
        shared::prune_counters(self, bucket, older_than_ms).await
    }

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
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET leased_until = $1 WHERE id IN (\
               SELECT id FROM jobs WHERE queue = $2 AND due_ms <= $3 \
               AND (leased_until IS NULL OR leased_until <= $3) \
               ORDER BY priority DESC, due_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING {JOB_COLS}"
        )))
        .bind(until)
        .bind(queue)
        .bind(now_ms)
        .bind(limit(limit_n))
        .fetch_all(&self.pool)
        .await
        .map_err(on(B))?;
        let mut jobs = rows.iter().map(job_row).collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|j| (std::cmp::Reverse(j.priority), j.due_ms, j.id));
        Ok(jobs)
    }

    async fn ack(&self, id: JobId) -> Result<(), StoreError> {
        shared::ack(self, id).await
    }

    async fn fail(&self, id: JobId, error: &str, retry_at_ms: i64) -> Result<JobFate, StoreError> {
        let mut tx = self.pool.begin().await.map_err(on(B))?;
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT attempts, max_attempts FROM jobs WHERE id = $1 FOR UPDATE")
                .bind(id.as_i64())
                .fetch_optional(&mut *tx)
                .await
                .map_err(on(B))?;
        let Some((attempts, max)) = row else {
            return Err(shared::job_not_found(id));
        };
        let attempts = attempts.saturating_add(1);
        let what = format!("{id}");
        let fate = if attempts >= max {
            sqlx::query(
                "WITH gone AS (DELETE FROM jobs WHERE id = $1 \
                   RETURNING id, queue, payload, priority, max_attempts) \
                 INSERT INTO dead_jobs (id, queue, payload, priority, attempts, max_attempts, error) \
                 SELECT id, queue, payload, priority, $2, max_attempts, $3 FROM gone",
            )
            .bind(id.as_i64())
            .bind(attempts)
            .bind(error)
            .execute(&mut *tx)
            .await
            .map_err(on(B))?;
            JobFate::Dead {
                attempts: crate::rows::attempts(&what, attempts)?,
            }
        } else {
            sqlx::query(
                "UPDATE jobs SET attempts = $2, last_error = $3, due_ms = $4, leased_until = NULL \
                 WHERE id = $1",
            )
            .bind(id.as_i64())
            .bind(attempts)
            .bind(error)
            .bind(retry_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(on(B))?;
            JobFate::Retrying {
                attempts: crate::rows::attempts(&what, attempts)?,
                due_ms: retry_at_ms,
            }
        };
        tx.commit().await.map_err(on(B))?;
        Ok(fate)
    }

    async fn dead_letters(&self, queue: &str, limit_n: usize) -> Result<Vec<DeadJob>, StoreError> {
        shared::dead_letters(self, queue, limit_n).await
    }

    async fn requeue_dead(&self, id: JobId, due_ms: i64) -> Result<JobId, StoreError> {
        let new_id: Option<i64> = sqlx::query_scalar(
            "WITH back AS (DELETE FROM dead_jobs WHERE id = $1 \
               RETURNING queue, payload, priority, max_attempts) \
             INSERT INTO jobs (queue, payload, priority, due_ms, max_attempts) \
             SELECT queue, payload, priority, $2, max_attempts FROM back RETURNING id",
        )
        .bind(id.as_i64())
        .bind(due_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(on(B))?;
        new_id
            .map(JobId::from_i64)
            .ok_or_else(|| StoreError::not_found(format!("dead letter {}", id.as_i64())))
    }

    async fn purge_dead(&self, queue: &str) -> Result<u64, StoreError> {
        shared::purge_dead(self, queue).await
    }

    async fn queue_len(&self, queue: &str) -> Result<u64, StoreError> {
        shared::queue_len(self, queue).await
    }
}
