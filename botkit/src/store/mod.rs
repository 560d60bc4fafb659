//! The store: what a bot remembers between events and across restarts.
//!
//! One [`Store`] trait covers the five kinds of state a bot keeps: namespaced key-value
//! documents for plugins, an append-only chat log, an event log, analytics counters in hour
//! and day buckets, and a durable retry queue. Backends (the in-memory [`MemoryStore`] here,
//! SQLite and PostgreSQL in `botkit-sql`) implement the trait, and every backend runs the same
//! [`conformance`] suite in its tests, so a plugin behaves the same whichever one the operator
//! picks.
//!
//! Design choices:
//! - The trait is object-safe and used as `Arc<dyn Store>`: the runtime picks the backend
//!   from config, and plugins never name it.
//! - Methods take and return plain data ([`serde_json::Value`], strings, `i64` Unix
//!   milliseconds) rather than generics, so the trait stays object-safe and a SQL backend maps
//!   every argument to a column. Typed access lives in [`NamespacedStore`], the handle a
//!   plugin gets, which also confines the plugin to its own namespace.
//! - Time is always passed in (`now_ms`, `at_ms`, `older_than_ms`): the store has no clock,
//!   which keeps backends deterministic and lets tests drive time.
//! - Batch writes (`append_chat`, `append_events`, `incr_counters`) exist so write-behind
//!   backends can commit many rows in one transaction; [`Store::flush`] makes buffered writes
//!   durable.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::{Event, EventId, Payload};
use crate::topic::{Pattern, Topic};

pub mod conformance;
mod memory;
mod namespaced;

pub use memory::MemoryStore;
pub use namespaced::NamespacedStore;

/// Why a store operation failed.
///
/// Errors are cheap to clone (sources are held in an [`Arc`]) so one failure can be reported
/// to several waiters.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend cannot be reached right now (connection refused, pool exhausted, timeout,
    /// database locked). Retrying later may succeed.
    #[error("store `{backend}` is unavailable: {reason}; this is usually temporary, retry later")]
    Unavailable {
        /// The backend's name, e.g. `sqlite`.
        backend: String,
        /// What happened.
        reason: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
    /// A concurrent writer changed the data first (a lost compare-and-swap race, a
    /// serialization failure). Retrying the whole operation may succeed.
    #[error("concurrent update conflict on {what}; retry the operation")]
    Conflict {
        /// What was contended, e.g. ``key `count` in namespace `markov` ``.
        what: String,
    },
    /// Stored data could not be read back (bad JSON, an invalid topic, a broken row).
    #[error("stored data is corrupt: {what}; restore a backup or delete the affected rows")]
    Corrupt {
        /// What was found broken, and where.
        what: String,
    },
    /// The caller passed something the store refuses (an empty namespace, a zero limit).
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which argument.
        what: String,
        /// Why it was refused.
        reason: String,
    },
    /// The item addressed does not exist (an unknown or already acknowledged job).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// A typed value could not be converted to or from JSON.
    #[error(
        "could not convert key `{key}` to or from JSON: {reason}; check that the Rust type matches what was stored"
    )]
    Codec {
        /// The key whose value failed to convert.
        key: String,
        /// The serde error.
        reason: String,
    },
    /// The backend failed in a way that retrying will not fix (a constraint violation, a
    /// full disk, a schema mismatch).
    #[error("store `{backend}` failed: {message}")]
    Backend {
        /// The backend's name, e.g. `postgres`.
        backend: String,
        /// What happened.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
}

impl StoreError {
    /// Whether retrying the same operation later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Conflict { .. })
    }

    /// A transient "cannot reach the backend" error with no source.
    pub fn unavailable(backend: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Unavailable {
            backend: backend.into(),
            reason: reason.into(),
            source: None,
        }
    }

    /// A transient "cannot reach the backend" error caused by `err`.
    pub fn unavailable_from<E>(backend: impl Into<String>, err: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::Unavailable {
            backend: backend.into(),
            reason: err.to_string(),
            source: Some(Arc::new(err)),
        }
    }

    /// A permanent backend failure caused by `err`.
    pub fn backend_from<E>(backend: impl Into<String>, err: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::Backend {
            backend: backend.into(),
            message: err.to_string(),
            source: Some(Arc::new(err)),
        }
    }

    /// An invalid-argument error.
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// A not-found error.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// A corrupt-data error.
    pub fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt { what: what.into() }
    }
}

/// A channel on a platform: chat is logged and queried per channel, and the same channel
/// name on two platforms is two channels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChannelRef {
    /// Platform kind, e.g. `twitch`.
    pub platform: String,
    /// Channel name as the platform spells it, e.g. `#somechannel`.
    pub channel: String,
}

impl ChannelRef {
    /// A channel `channel` on `platform`.
    pub fn new(platform: impl Into<String>, channel: impl Into<String>) -> Self {
        Self {
            platform: platform.into(),
            channel: channel.into(),
        }
    }

    /// The channel an event belongs to, if it belongs to one.
    pub fn of_event(event: &Event) -> Option<Self> {
        let channel = event.source.channel.as_deref()?;
        Some(Self::new(&*event.source.platform, channel))
    }
}

impl fmt::Display for ChannelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.platform, self.channel)
    }
}

/// One logged chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatRecord {
    /// Platform kind, e.g. `cytube`.
    pub platform: String,
    /// The configured platform instance (account) that received it, when known.
    pub instance: Option<String>,
    /// Channel name.
    pub channel: String,
    /// The platform's message id, when it has one (needed to honour deletions).
    pub message_id: Option<String>,
    /// Platform-qualified user id, e.g. `twitch:141981764`.
    pub user_id: String,
    /// The name shown in chat.
    pub user_name: String,
    /// Plain text of the message.
    pub text: String,
    /// When it was sent, in Unix milliseconds.
    pub timestamp_ms: i64,
    /// The id of the bus event it came from, when it came from one.
    pub event_id: Option<EventId>,
}

impl ChatRecord {
    /// A record with no instance, message id or event id.
    pub fn new(
        channel: &ChannelRef,
        user_id: impl Into<String>,
        user_name: impl Into<String>,
        text: impl Into<String>,
        timestamp_ms: i64,
    ) -> Self {
        Self {
            platform: channel.platform.clone(),
            instance: None,
            channel: channel.channel.clone(),
            message_id: None,
            user_id: user_id.into(),
            user_name: user_name.into(),
            text: text.into(),
            timestamp_ms,
            event_id: None,
        }
    }

    /// The same record with the platform's message id.
    #[must_use]
    pub fn with_message_id(mut self, id: impl Into<String>) -> Self {
        self.message_id = Some(id.into());
        self
    }

    /// The same record with the platform instance that received it.
    #[must_use]
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// The same record with the id of the event it came from.
    #[must_use]
    pub fn with_event_id(mut self, id: EventId) -> Self {
        self.event_id = Some(id);
        self
    }

    /// The channel the record belongs to.
    pub fn channel_ref(&self) -> ChannelRef {
        ChannelRef::new(&self.platform, &self.channel)
    }

    /// Whether the record belongs to `channel`.
    pub fn is_in(&self, channel: &ChannelRef) -> bool {
        self.platform == channel.platform && self.channel == channel.channel
    }

    /// The record for a channel chat message event: `Some` only for a
    /// [`Payload::ChatMessage`] in a channel. Whispers and commands are not chat log entries
    /// (a command's message is logged through its own `chat.message` event). The user name is
    /// the display name, as people in the channel saw it.
    ///
    /// History replayed on join ([`ChatMessage::is_history`](crate::ChatMessage::is_history))
    /// is converted like live chat; a logger that must not log it twice checks the flag.
    pub fn from_event(event: &Event) -> Option<Self> {
        let Payload::ChatMessage(msg) = &event.payload else {
            return None;
        };
        let channel = event.source.channel.as_deref()?;
        Some(Self {
            platform: event.source.platform.to_string(),
            instance: Some(event.source.instance.to_string()),
            channel: channel.to_owned(),
            message_id: msg.id.clone(),
            user_id: msg.user.id.to_string(),
            user_name: msg.user.display_name.to_string(),
            text: msg.text.clone(),
            timestamp_ms: event.timestamp_ms,
            event_id: Some(event.id),
        })
    }
}

/// A position in one channel's chat log, for paging through it in time order with
/// [`Store::chat_range`].
///
/// Rows are ordered by `(timestamp_ms, seq)`, where `seq` is the backend's append sequence (a
/// row id; never `i64::MIN`). A page holds the rows strictly after the cursor, so paging by
/// cursor never skips or repeats rows that share a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChatCursor {
    timestamp_ms: i64,
    seq: i64,
}

impl ChatCursor {
    /// The start of the log.
    pub const START: ChatCursor = ChatCursor::since(i64::MIN);

    /// The first row at or after `timestamp_ms`.
    pub const fn since(timestamp_ms: i64) -> Self {
        Self {
            timestamp_ms,
            seq: i64::MIN,
        }
    }

    /// The position right after the row `(timestamp_ms, seq)`. Backends build the next
    /// cursor of a page with this.
    pub const fn after(timestamp_ms: i64, seq: i64) -> Self {
        Self { timestamp_ms, seq }
    }

    /// The timestamp part of the position.
    pub const fn timestamp_ms(self) -> i64 {
        self.timestamp_ms
    }

    /// The sequence part of the position (`i64::MIN` for a cursor built with
    /// [`since`](Self::since)).
    pub const fn seq(self) -> i64 {
        self.seq
    }
}

impl fmt::Display for ChatCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.timestamp_ms, self.seq)
    }
}

impl std::str::FromStr for ChatCursor {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || StoreError::invalid("chat cursor", format!("`{s}` is not `<ms>:<seq>`"));
        let (ts, seq) = s.split_once(':').ok_or_else(bad)?;
        Ok(Self {
            timestamp_ms: ts.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

/// One page of a channel's chat log, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChatPage {
    /// The records, in time order.
    pub records: Vec<ChatRecord>,
    /// Where the next page starts: `Some` when the page was full (the next page may still be
    /// empty), `None` when the log has no more rows.
    pub next: Option<ChatCursor>,
}

/// One logged bus event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The event's id; appending an id that is already stored is a no-op.
    pub event_id: EventId,
    /// The event's topic.
    pub topic: Topic,
    /// Platform kind of the event's source (`bot` for the bot's own events).
    pub platform: String,
    /// Channel of the event's source, if any.
    pub channel: Option<String>,
    /// When the event was made, in Unix milliseconds.
    pub timestamp_ms: i64,
    /// The whole event, serialized.
    pub json: Value,
}

impl EventRecord {
    /// The record of `event`.
    pub fn from_event(event: &Event) -> Result<Self, StoreError> {
        let json = serde_json::to_value(event).map_err(|e| StoreError::Codec {
            key: format!("event {}", event.id),
            reason: e.to_string(),
        })?;
        Ok(Self {
            event_id: event.id,
            topic: event.topic.clone(),
            platform: event.source.platform.to_string(),
            channel: event.source.channel.as_deref().map(str::to_owned),
            timestamp_ms: event.timestamp_ms,
            json,
        })
    }

    /// The event this record holds.
    pub fn to_event(&self) -> Result<Event, StoreError> {
        Event::deserialize(&self.json).map_err(|e| {
            StoreError::corrupt(format!(
                "logged event {} does not decode: {e}",
                self.event_id
            ))
        })
    }
}

/// The width of a counter bucket. Buckets start at whole UTC hours and days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    /// One hour, starting at a whole UTC hour.
    Hour,
    /// One day, starting at 00:00 UTC.
    Day,
}

impl Bucket {
    /// Both widths.
    pub const ALL: [Bucket; 2] = [Bucket::Hour, Bucket::Day];

    /// The width in milliseconds.
    pub const fn len_ms(self) -> i64 {
        match self {
            Bucket::Hour => 3_600_000,
            Bucket::Day => 86_400_000,
        }
    }

    /// The start of the bucket holding `at_ms` (floored, so times before 1970 land in the
    /// right bucket too).
    pub const fn start_of(self, at_ms: i64) -> i64 {
        at_ms - at_ms.rem_euclid(self.len_ms())
    }

    /// `hour` or `day`.
    pub const fn name(self) -> &'static str {
        match self {
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Bucket {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hour" => Ok(Bucket::Hour),
            "day" => Ok(Bucket::Day),
            _ => Err(StoreError::invalid(
                "bucket",
                format!("`{s}` is not `hour` or `day`"),
            )),
        }
    }
}

/// One counter increment, for [`Store::incr_counters`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterIncr {
    /// Counter name, e.g. `chat.messages`.
    pub name: String,
    /// Dimensions, e.g. a channel (`twitch:#chan`) or a user id; `""` for none.
    pub dims: String,
    /// When it happened, in Unix milliseconds.
    pub at_ms: i64,
    /// How much to add (may be negative).
    pub by: i64,
}

impl CounterIncr {
    /// An increment of `by` on `name`/`dims` at `at_ms`.
    pub fn new(name: impl Into<String>, dims: impl Into<String>, at_ms: i64, by: i64) -> Self {
        Self {
            name: name.into(),
            dims: dims.into(),
            at_ms,
            by,
        }
    }
}

/// The id of a job in the retry queue, assigned by the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(i64);

impl JobId {
    /// An id from its stored value.
    pub const fn from_i64(v: i64) -> Self {
        Self(v)
    }

    /// The stored value.
    pub const fn as_i64(self) -> i64 {
        self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {}", self.0)
    }
}

/// A job to put on a retry queue. Build it with [`NewJob::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewJob {
    /// What the worker needs to do the job.
    pub payload: Value,
    /// When it becomes due, in Unix milliseconds (default 0: at once).
    pub due_ms: i64,
    /// Higher priorities are claimed first (default 0).
    pub priority: i32,
    /// How many failures move the job to the dead letters (default
    /// [`NewJob::DEFAULT_MAX_ATTEMPTS`]; must be at least 1).
    pub max_attempts: u32,
}

impl NewJob {
    /// The default for [`max_attempts`](Self::max_attempts).
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

    /// A job due at once, priority 0, up to five attempts.
    pub fn new(payload: Value) -> Self {
        Self {
            payload,
            due_ms: 0,
            priority: 0,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// The same job, due at `due_ms`.
    #[must_use]
    pub fn with_due(mut self, due_ms: i64) -> Self {
        self.due_ms = due_ms;
        self
    }

    /// The same job with another priority.
    #[must_use]
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// The same job with another attempt limit.
    #[must_use]
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }
}

/// A job on a retry queue, as a claimer sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Its id, for [`Store::ack`] and [`Store::fail`].
    pub id: JobId,
    /// The queue it is on.
    pub queue: String,
    /// What the worker needs to do the job.
    pub payload: Value,
    /// Its priority.
    pub priority: i32,
    /// When it became due, in Unix milliseconds.
    pub due_ms: i64,
    /// How many times it has failed so far.
    pub attempts: u32,
    /// How many failures move it to the dead letters.
    pub max_attempts: u32,
    /// The error of the last failure, if any.
    pub last_error: Option<String>,
}

/// A job that failed [`max_attempts`](Job::max_attempts) times.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadJob {
    /// The id it had on the queue.
    pub id: JobId,
    /// The queue it was on.
    pub queue: String,
    /// Its payload.
    pub payload: Value,
    /// Its priority.
    pub priority: i32,
    /// How many times it failed.
    pub attempts: u32,
    /// Its attempt limit.
    pub max_attempts: u32,
    /// The error of the last failure.
    pub error: String,
}

/// What [`Store::fail`] did with a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobFate {
    /// It is back on the queue.
    Retrying {
        /// Failures so far.
        attempts: u32,
        /// When it is due again.
        due_ms: i64,
    },
    /// It reached its attempt limit and moved to the dead letters.
    Dead {
        /// Failures in all.
        attempts: u32,
    },
}

/// Row counts per area, for `botkit db stats` and health pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoreStats {
    /// Key-value entries, over all namespaces.
    pub kv_entries: u64,
    /// Chat log records.
    pub chat_records: u64,
    /// Event log records.
    pub events: u64,
    /// Counter buckets (each increment touches one hour and one day bucket).
    pub counter_buckets: u64,
    /// Jobs waiting or leased on retry queues.
    pub jobs: u64,
    /// Dead-lettered jobs.
    pub dead_jobs: u64,
}

/// The storage every bot uses: plugin key-value documents, the chat and event logs,
/// analytics counters and a durable retry queue.
///
/// Conventions every backend follows (the [`conformance`] suite checks them):
/// - times are Unix milliseconds; "older than `t`" means strictly before `t`;
/// - lists come back oldest first (chronological), and a `limit` picks the *newest* rows
///   for "recent" queries and the *oldest* rows for range scans; `limit == 0` returns
///   nothing;
/// - rows with equal timestamps keep the order they were appended in;
/// - key and name sorting is by bytes (Rust `str` order); prefixes are literal (`%` and
///   `_` are ordinary characters);
/// - text round trips exactly, including any Unicode;
/// - reads see every write accepted before them (a write-behind backend consults or
///   flushes its buffer); [`flush`](Store::flush) is about durability, not visibility.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The backend's name, e.g. `memory`, `sqlite`, `postgres`.
    fn backend(&self) -> &str;

    /// Creates or upgrades the schema. Idempotent; the runtime calls it once at start.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Makes every write accepted so far durable (write-behind backends commit their
    /// buffers). The runtime calls it at shutdown.
    async fn flush(&self) -> Result<(), StoreError>;

    /// Checks that the backend answers.
    async fn health(&self) -> Result<(), StoreError>;

    /// Row counts per area.
    async fn stats(&self) -> Result<StoreStats, StoreError>;

    // ---- plugin key-value documents ------------------------------------------------------

    /// The value of `key` in `namespace`, if set.
    async fn kv_get(&self, namespace: &str, key: &str) -> Result<Option<Value>, StoreError>;

    /// Sets `key` in `namespace` to `value`, replacing any previous value. `Value::Null` is a
    /// value like any other (distinct from "not set"). Namespace and key must not be empty.
    async fn kv_put(&self, namespace: &str, key: &str, value: Value) -> Result<(), StoreError>;

    /// Removes `key` from `namespace`; whether it was set.
    async fn kv_delete(&self, namespace: &str, key: &str) -> Result<bool, StoreError>;

    /// The keys of `namespace` that start with `prefix` (`""` for all), sorted.
    async fn kv_keys(&self, namespace: &str, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// The entries of `namespace` whose keys start with `prefix`, sorted by key.
    async fn kv_entries(
        &self,
        namespace: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Value)>, StoreError>;

    /// The namespaces holding at least one key, sorted.
    async fn kv_namespaces(&self) -> Result<Vec<String>, StoreError>;

    /// Atomically sets `key` to `new` (`None` deletes it) if its current value equals
    /// `expected` (`None`: not set). Whether the swap happened.
    async fn kv_compare_and_swap(
        &self,
        namespace: &str,
        key: &str,
        expected: Option<&Value>,
        new: Option<Value>,
    ) -> Result<bool, StoreError>;

    // ---- chat log ------------------------------------------------------------------------

    /// Appends chat records (in any time order; queries sort by time).
    async fn append_chat(&self, records: &[ChatRecord]) -> Result<(), StoreError>;

    /// The last `limit` records of `channel`, oldest first.
    async fn recent_chat(
        &self,
        channel: &ChannelRef,
        limit: usize,
    ) -> Result<Vec<ChatRecord>, StoreError>;

    /// The last `limit` records of `user_id`, in every channel or only in `channel`, oldest
    /// first.
    async fn chat_by_user(
        &self,
        user_id: &str,
        channel: Option<&ChannelRef>,
        limit: usize,
    ) -> Result<Vec<ChatRecord>, StoreError>;

    /// Up to `limit` records of `channel` after `from`, oldest first, and the cursor of the
    /// next page: the export scan. `limit` must be at least 1.
    async fn chat_range(
        &self,
        channel: &ChannelRef,
        from: ChatCursor,
        limit: usize,
    ) -> Result<ChatPage, StoreError>;

    /// The channels holding at least one record, sorted.
    async fn chat_channels(&self) -> Result<Vec<ChannelRef>, StoreError>;

    /// Deletes the records of `channel` with this message id; how many.
    async fn delete_chat_message(
        &self,
        channel: &ChannelRef,
        message_id: &str,
    ) -> Result<u64, StoreError>;

    /// Deletes every record of `user_id` in `channel`; how many.
    async fn delete_chat_by_user(
        &self,
        channel: &ChannelRef,
        user_id: &str,
    ) -> Result<u64, StoreError>;

    /// Deletes every record of `channel`; how many.
    async fn delete_chat_channel(&self, channel: &ChannelRef) -> Result<u64, StoreError>;

    /// Deletes every record older than `older_than_ms`, in every channel; how many.
    async fn prune_chat(&self, older_than_ms: i64) -> Result<u64, StoreError>;

    // ---- event log -----------------------------------------------------------------------

    /// Appends event records; a record whose event id is already stored is skipped (a
    /// redelivered event is logged once). How many were new.
    async fn append_events(&self, records: &[EventRecord]) -> Result<u64, StoreError>;

    /// The first `limit` records at or after `since_ms` whose topic matches `pattern`,
    /// ordered by time, then event id.
    async fn events_by_topic(
        &self,
        pattern: &Pattern,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<EventRecord>, StoreError>;

    /// The record of one event, if logged.
    async fn get_event(&self, id: EventId) -> Result<Option<EventRecord>, StoreError>;

    /// Deletes every record older than `older_than_ms`; how many.
    async fn prune_events(&self, older_than_ms: i64) -> Result<u64, StoreError>;

    // ---- counters ------------------------------------------------------------------------

    /// Adds `by` to counter `name`/`dims` in both the hour and the day bucket holding
    /// `at_ms`. The name must not be empty.
    async fn incr_counter(
        &self,
        name: &str,
        dims: &str,
        at_ms: i64,
        by: i64,
    ) -> Result<(), StoreError>;

    /// Applies many increments; backends override it to use one transaction.
    async fn incr_counters(&self, incrs: &[CounterIncr]) -> Result<(), StoreError> {
        for i in incrs {
            self.incr_counter(&i.name, &i.dims, i.at_ms, i.by).await?;
        }
        Ok(())
    }

    /// The `(bucket_start_ms, value)` pairs of counter `name`/`dims` whose buckets overlap
    /// `[from_ms, to_ms)`, oldest first. Buckets never incremented are absent.
    async fn counter_series(
        &self,
        name: &str,
        dims: &str,
        bucket: Bucket,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError>;

    /// The `limit` dims with the highest total of counter `name` over the buckets overlapping
    /// `[from_ms, to_ms)`, highest first, ties by dims: "top chatters this week".
    async fn counter_top(
        &self,
        name: &str,
        bucket: Bucket,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<(String, i64)>, StoreError>;

    /// Deletes the buckets of width `bucket` that end at or before `older_than_ms` (e.g.
    /// hour buckets older than 30 days, keeping the day buckets); how many.
    async fn prune_counters(&self, bucket: Bucket, older_than_ms: i64) -> Result<u64, StoreError>;

    // ---- retry queue ---------------------------------------------------------------------

    /// Puts a job on `queue` (not empty). `max_attempts` must be at least 1.
    async fn enqueue(&self, queue: &str, job: NewJob) -> Result<JobId, StoreError>;

    /// Leases up to `limit` jobs of `queue` that are due at `now_ms` and not leased (or whose
    /// lease has expired: a lease taken at `t` expires at `t + lease_ms`), highest priority
    /// first, then earliest due, then oldest. A leased job is invisible to other claimers.
    async fn claim_due(
        &self,
        queue: &str,
        now_ms: i64,
        limit: usize,
        lease_ms: u64,
    ) -> Result<Vec<Job>, StoreError>;

    /// Removes a finished job. [`StoreError::NotFound`] if it is not on a queue.
    async fn ack(&self, id: JobId) -> Result<(), StoreError>;

    /// Records a failure: the job's attempts go up by one; below its limit it is released and
    /// due again at `retry_at_ms`, at the limit it moves to the dead letters.
    /// [`StoreError::NotFound`] if it is not on a queue.
    async fn fail(&self, id: JobId, error: &str, retry_at_ms: i64) -> Result<JobFate, StoreError>;

    /// The first `limit` dead letters of `queue`, in the order they died.
    async fn dead_letters(&self, queue: &str, limit: usize) -> Result<Vec<DeadJob>, StoreError>;

    /// Puts a dead letter back on its queue with its attempts reset, due at `due_ms`; the id
    /// it now has. [`StoreError::NotFound`] if there is no such dead letter.
    async fn requeue_dead(&self, id: JobId, due_ms: i64) -> Result<JobId, StoreError>;

    /// Deletes every dead letter of `queue`; how many.
    async fn purge_dead(&self, queue: &str) -> Result<u64, StoreError>;

    /// Jobs on `queue`, leased or not (dead letters excluded).
    async fn queue_len(&self, queue: &str) -> Result<u64, StoreError>;
}

// ---- helpers for backends ---------------------------------------------------------------

/// Refuses an empty name. `what` names the argument in the error, e.g. `"namespace"`.
pub fn check_name(what: &str, value: &str) -> Result<(), StoreError> {
    if value.is_empty() {
        Err(StoreError::invalid(what, "must not be empty"))
    } else {
        Ok(())
    }
}

/// The literal start every topic matching `pattern` shares: the whole topic for a literal
/// pattern, else the tokens before the first wildcard with their trailing dot
/// (`platform.twitch.>` → `platform.twitch.`, `>` → ``). A SQL backend narrows its scan
/// with it, then filters with [`Pattern::matches`].
pub fn literal_prefix(pattern: &Pattern) -> String {
    if pattern.is_literal() {
        return pattern.as_str().to_owned();
    }
    let mut out = String::new();
    for token in pattern.tokens() {
        if token == "*" || token == ">" {
            break;
        }
        out.push_str(token);
        out.push('.');
    }
    out
}

/// A SQL `LIKE` pattern matching strings that start with `prefix`, escaping `%`, `_` and
/// `\`; use it with `ESCAPE '\'`.
pub fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ChatMessage, Roles, Source, User};

    fn chat_event(channel: Option<&str>) -> Event {
        let mut user = User::new("twitch", "alice", Roles::everyone());
        user.display_name = "Alice".into();
        let mut msg = ChatMessage::new(user, "hi 👋");
        msg.id = Some("m-1".into());
        let mut ev = Event::platform(
            Source::new("twitch", "main", channel),
            "chat.message",
            Payload::ChatMessage(msg),
        )
        .unwrap();
        ev.timestamp_ms = 1_700_000_000_123;
        ev
    }

    #[test]
    fn chat_record_from_chat_event() {
        let ev = chat_event(Some("#chan"));
        let rec = ChatRecord::from_event(&ev).unwrap();
        let expected = ChatRecord::new(
            &ChannelRef::new("twitch", "#chan"),
            "twitch:alice",
            "Alice",
            "hi 👋",
            1_700_000_000_123,
        )
        .with_instance("main")
        .with_message_id("m-1")
        .with_event_id(ev.id);
        assert_eq!(rec, expected);
        assert_eq!(rec.channel_ref(), ChannelRef::of_event(&ev).unwrap());
    }

    #[test]
    fn chat_record_needs_channel_chat() {
        assert_eq!(ChatRecord::from_event(&chat_event(None)), None);
        let ev = Event::platform(
            Source::new("twitch", "main", Some("#chan")),
            "user.joined",
            Payload::UserJoined(User::new("twitch", "bob", Roles::everyone())),
        )
        .unwrap();
        assert_eq!(ChatRecord::from_event(&ev), None);
        let user = User::new("twitch", "bob", Roles::everyone());
        let ev = Event::platform(
            Source::new("twitch", "main", Some("#chan")),
            "chat.whisper",
            Payload::Whisper(ChatMessage::new(user, "psst")),
        )
        .unwrap();
        assert_eq!(ChatRecord::from_event(&ev), None);
    }

    #[test]
    fn event_record_round_trips_the_event() {
        let ev = chat_event(Some("#chan"));
        let rec = EventRecord::from_event(&ev).unwrap();
        assert_eq!(rec.topic.as_str(), "platform.twitch.chat.message");
        assert_eq!(rec.channel.as_deref(), Some("#chan"));
        assert_eq!(rec.to_event().unwrap(), ev);
        let broken = EventRecord {
            json: serde_json::json!({"nope": 1}),
            ..rec
        };
        assert!(matches!(broken.to_event(), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn buckets_floor_at_utc_boundaries() {
        let midnight = 19_676 * 86_400_000_i64; // 2023-11-15T00:00:00Z
        assert_eq!(Bucket::Day.start_of(midnight), midnight);
        assert_eq!(Bucket::Day.start_of(midnight - 1), midnight - 86_400_000);
        assert_eq!(Bucket::Hour.start_of(midnight - 1), midnight - 3_600_000);
        assert_eq!(Bucket::Hour.start_of(midnight + 3_599_999), midnight);
        assert_eq!(Bucket::Hour.start_of(-1), -3_600_000);
        assert_eq!("day".parse::<Bucket>().unwrap(), Bucket::Day);
        assert!("week".parse::<Bucket>().is_err());
    }

    #[test]
    fn cursor_text_round_trips() {
        let c = ChatCursor::after(1_700_000_000_000, 42);
        assert_eq!(c.to_string().parse::<ChatCursor>().unwrap(), c);
        assert_eq!(
            ChatCursor::START.to_string().parse::<ChatCursor>().unwrap(),
            ChatCursor::START
        );
        assert!("12".parse::<ChatCursor>().is_err());
        assert!("a:1".parse::<ChatCursor>().is_err());
        assert!(ChatCursor::since(5) < ChatCursor::after(5, 0));
    }

    #[test]
    fn literal_prefixes() {
        let p = |s: &str| literal_prefix(&Pattern::new(s).unwrap());
        assert_eq!(
            p("platform.twitch.chat.message"),
            "platform.twitch.chat.message"
        );
        assert_eq!(p("platform.twitch.>"), "platform.twitch.");
        assert_eq!(p("platform.*.chat.message"), "platform.");
        assert_eq!(p(">"), "");
    }

    #[test]
    fn like_prefix_escapes_wildcards() {
        assert_eq!(like_prefix("a_b%c\\"), "a\\_b\\%c\\\\%");
        assert_eq!(like_prefix(""), "%");
    }

    #[test]
    fn transient_errors() {
        assert!(StoreError::unavailable("sqlite", "locked").is_transient());
        assert!(StoreError::Conflict { what: "k".into() }.is_transient());
        assert!(!StoreError::invalid("namespace", "empty").is_transient());
        assert!(!StoreError::corrupt("row 3").is_transient());
        let io = std::io::Error::other("disk full");
        let e = StoreError::backend_from("sqlite", io);
        assert!(!e.is_transient());
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(e.to_string(), "store `sqlite` failed: disk full");
    }
}
