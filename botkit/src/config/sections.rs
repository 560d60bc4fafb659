//! The typed sections of the config file.
//!
//! Core sections (`[bot]`, `[store]`, `[bus]`, `[http]`) are plain serde structs with
//! `deny_unknown_fields`, so a typo is an error instead of a silently ignored knob. The
//! sections the core cannot know the shape of (`[llm]`, `[[platform]]`, `[plugins.<name>]`)
//! keep their keys as a [`toml::Table`] together with where they came from, so the crate
//! that owns them can deserialize its own struct later with `deserialize_into` and still
//! get errors that name the file, the key path and the line.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use super::error::ConfigError;
use super::redact::{Inline, redact};
use super::source::{Seg, SourceMap, deserialize};
use crate::topic::Pattern;

/// `[bot]`: who the bot is and how commands are recognised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BotSection {
    /// The bot's name, used in logs and lifecycle events.
    pub name: String,
    /// Platform-qualified ids of the bot's owners, e.g. `twitch:alice`.
    pub owners: Vec<String>,
    /// The default command prefix.
    pub prefix: String,
    /// Per-channel prefix overrides; keys are `channel` or `platform:channel`.
    pub prefixes: BTreeMap<String, String>,
    /// How long shutdown may spend draining queues and flushing, in milliseconds.
    pub shutdown_timeout_ms: u64,
}

impl Default for BotSection {
    fn default() -> Self {
        Self {
            name: "botkit".to_owned(),
            owners: Vec::new(),
            prefix: "!".to_owned(),
            prefixes: BTreeMap::new(),
            shutdown_timeout_ms: 5000,
        }
    }
}

impl BotSection {
    /// The shutdown budget as a [`Duration`].
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_millis(self.shutdown_timeout_ms)
    }

    /// The command prefix in `channel` on `platform`: a `platform:channel` override, else a
    /// `channel` override, else the default prefix.
    pub fn prefix_for(&self, platform: &str, channel: &str) -> &str {
        self.prefixes
            .get(&format!("{platform}:{channel}"))
            .or_else(|| self.prefixes.get(channel))
            .unwrap_or(&self.prefix)
    }
}

/// One logging rule (the logger plugin's `rules`): whether events on matching topics are
/// stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogRule {
    /// The topics this rule covers.
    pub pattern: Pattern,
    /// Whether matching events are stored.
    pub store: bool,
}

impl LogRule {
    /// Whether an event on `topic` is stored under `rules`: the first rule whose pattern
    /// matches decides; no match means no.
    pub fn decide(rules: &[LogRule], topic: &str) -> bool {
        rules
            .iter()
            .find(|rule| rule.pattern.matches(topic))
            .is_some_and(|rule| rule.store)
    }
}

/// `[store]`: where state and logs live, and how the store writes. What gets logged is the
/// logger plugin's business (`[plugins.logger] rules`), so the rules have one home.
///
/// Every tuning key is optional: absent means the backend's default. Keys that only one
/// backend has (`synchronous` for SQLite, `pool_size` for PostgreSQL, …) are an error with
/// a URL of the other backend, so a setting never silently does nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct StoreSection {
    /// Store URL: `sqlite://botkit.db` (the default: a file in the working directory),
    /// `postgres://…`, or `memory:` (nothing persists).
    pub url: String,
    /// SQLite: how hard a commit is made durable, `"full"` (default: on disk before it is
    /// acknowledged, also across a power cut) or `"normal"` (survives a crash of the bot,
    /// may lose the last commits on power loss; faster).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synchronous: Option<Synchronous>,
    /// SQLite: how long to wait for another process's lock (default `"5s"`).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_duration::serialize",
        deserialize_with = "opt_duration::deserialize"
    )]
    pub busy_timeout: Option<Duration>,
    /// SQLite: read-only connections that read while the writer writes (default 4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readers: Option<u32>,
    /// SQLite: largest database size in pages (`PRAGMA max_page_count`, 4 KiB pages); a
    /// write past it fails like a full disk. Default: no limit but the disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_pages: Option<u64>,
    /// SQLite: page cache of the write connection in MiB (default 64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_mib: Option<u32>,
    /// SQLite: WAL size in 4 KiB pages at which it is checkpointed into the database file
    /// (default 10000, about 40 MiB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_pages: Option<u32>,
    /// PostgreSQL: most pooled connections (default 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_size: Option<u32>,
    /// PostgreSQL: how long an operation waits for a pooled connection (default `"5s"`).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_duration::serialize",
        deserialize_with = "opt_duration::deserialize"
    )]
    pub acquire_timeout: Option<Duration>,
    /// PostgreSQL: the schema to keep the tables in (created if missing). Default: the
    /// connection's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Log write-behind: most rows (chat lines, events, counter steps) committed in one
    /// transaction (default 4096).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// Log write-behind: how long a batch waits for more rows after its first one before
    /// it commits (default `"0ms"`: commit as soon as the writer is free).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_duration::serialize",
        deserialize_with = "opt_duration::deserialize"
    )]
    pub linger: Option<Duration>,
    /// Log write-behind: write requests that may wait for the writer before callers are
    /// held back (default 1024).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_capacity: Option<usize>,
}

impl Default for StoreSection {
    /// `sqlite://botkit.db`, every tuning key at the backend's default.
    fn default() -> Self {
        Self::new("sqlite://botkit.db")
    }
}

impl StoreSection {
    /// A section with `url` and every tuning key at the backend's default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            synchronous: None,
            busy_timeout: None,
            readers: None,
            max_pages: None,
            cache_mib: None,
            checkpoint_pages: None,
            pool_size: None,
            acquire_timeout: None,
            schema: None,
            batch_size: None,
            linger: None,
            queue_capacity: None,
        }
    }

    /// The backend the URL names, judged by its scheme; `None` for a URL that is not one
    /// of the known forms (the store reports that when it opens).
    pub fn backend(&self) -> Option<StoreBackend> {
        let url = self.url.trim().to_ascii_lowercase();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(StoreBackend::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(StoreBackend::Sqlite)
        } else if url == "memory:" {
            Some(StoreBackend::Memory)
        } else {
            None
        }
    }

    /// The tuning keys that are set, each with the backends it applies to.
    pub(crate) fn set_keys(&self) -> Vec<(&'static str, &'static [StoreBackend])> {
        use StoreBackend::{Postgres, Sqlite};
        const SQLITE: &[StoreBackend] = &[Sqlite];
        const PG: &[StoreBackend] = &[Postgres];
        const BOTH: &[StoreBackend] = &[Sqlite, Postgres];
        [
            ("synchronous", self.synchronous.is_some(), SQLITE),
            ("busy_timeout", self.busy_timeout.is_some(), SQLITE),
            ("readers", self.readers.is_some(), SQLITE),
            ("max_pages", self.max_pages.is_some(), SQLITE),
            ("cache_mib", self.cache_mib.is_some(), SQLITE),
            ("checkpoint_pages", self.checkpoint_pages.is_some(), SQLITE),
            ("pool_size", self.pool_size.is_some(), PG),
            ("acquire_timeout", self.acquire_timeout.is_some(), PG),
            ("schema", self.schema.is_some(), PG),
            ("batch_size", self.batch_size.is_some(), BOTH),
            ("linger", self.linger.is_some(), BOTH),
            ("queue_capacity", self.queue_capacity.is_some(), BOTH),
        ]
        .into_iter()
        .filter(|(_, set, _)| *set)
        .map(|(key, _, backends)| (key, backends))
        .collect()
    }
}

/// The kind of store a `[store] url` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreBackend {
    /// `sqlite:` — a SQLite file.
    Sqlite,
    /// `postgres://` or `postgresql://` — a PostgreSQL database.
    Postgres,
    /// `memory:` — nothing persists.
    Memory,
}

impl StoreBackend {
    /// How config errors name the backend.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
            Self::Memory => "the in-memory store",
        }
    }
}

/// `[store] synchronous`: SQLite's commit durability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Synchronous {
    /// Every commit is on disk before it is acknowledged, also across a power cut.
    Full,
    /// A commit survives a crash of the bot; the last commits may be lost on power loss.
    Normal,
}

/// `Option<Duration>` as `"250ms"`, `"5s"` or a number of milliseconds.
mod opt_duration {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        crate::backoff::duration_serde::deserialize(d).map(Some)
    }

    pub(super) fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) if d.subsec_millis() == 0 && d.as_secs() > 0 => {
                s.serialize_str(&format!("{}s", d.as_secs()))
            }
            Some(d) => s.serialize_str(&format!("{}ms", d.as_millis())),
            None => s.serialize_none(),
        }
    }
}

/// One `[[bus.buffer]]` entry: the queue capacity for subscriptions a pattern covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BufferRule {
    /// The topics (or subscription patterns) this capacity applies to.
    pub pattern: Pattern,
    /// Queue capacity in events; must be at least 1.
    pub capacity: usize,
}

/// `[bus]`: queue sizes.
///
/// Per-topic capacities are an ordered list of `[[bus.buffer]]` tables (`pattern`,
/// `capacity`) rather than a map, because patterns overlap and the first match must win
/// predictably, like the logger's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BusSection {
    /// Queue capacity of a subscription no buffer rule covers.
    pub default_capacity: usize,
    /// Capacity overrides, first match wins.
    pub buffer: Vec<BufferRule>,
}

impl Default for BusSection {
    fn default() -> Self {
        Self {
            default_capacity: 1024,
            buffer: Vec::new(),
        }
    }
}

impl BusSection {
    /// The queue capacity for a subscription to `pattern` (or for a single topic): the
    /// first rule whose pattern matches it, else `default_capacity`. A rule matches a
    /// wildcard subscription when it covers it, e.g. rule `platform.>` covers
    /// `platform.*.chat.message`.
    pub fn capacity_for(&self, pattern: &str) -> usize {
        self.buffer
            .iter()
            .find(|rule| rule.pattern.as_str() == pattern || rule.pattern.matches(pattern))
            .map_or(self.default_capacity, |rule| rule.capacity)
    }
}

/// `[http]`: the health and metrics server; absent means no server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpSection {
    /// Address to listen on, `host:port`.
    pub listen: String,
}

impl Default for HttpSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9090".to_owned(),
        }
    }
}

/// Where a section came from: the file's positions and the section's own key path.
#[derive(Clone)]
pub(crate) struct Origin {
    pub(crate) map: Arc<SourceMap>,
    pub(crate) path: Vec<Seg>,
}

impl Origin {
    /// An origin for a section built in code: no file, no positions.
    pub(crate) fn in_code(path: Vec<Seg>) -> Self {
        Self {
            map: Arc::new(SourceMap::new("<built in code>", "")),
            path,
        }
    }

    fn deserialize<T: DeserializeOwned>(&self, table: Table) -> Result<T, ConfigError> {
        deserialize(Value::Table(table), &self.path, &self.map)
    }

    /// `table` with secrets replaced, for `Debug`.
    fn redacted(&self, table: &Table) -> Value {
        let mut value = Value::Table(table.clone());
        let mut path = self.path.clone();
        redact(&mut value, &mut path, &self.map);
        value
    }
}

/// `[llm]`: the language model backend; absent means the bot has none.
#[derive(Clone)]
pub struct LlmSection {
    /// Backend name, e.g. `ollama` or `openai`.
    pub backend: String,
    /// Server URL.
    pub url: String,
    /// Model name.
    pub model: String,
    /// Every other key, for the backend crate.
    pub options: Table,
    pub(crate) origin: Origin,
}

impl LlmSection {
    /// A section built in code.
    pub fn new(
        backend: impl Into<String>,
        url: impl Into<String>,
        model: impl Into<String>,
    ) -> Self {
        Self {
            backend: backend.into(),
            url: url.into(),
            model: model.into(),
            options: Table::new(),
            origin: Origin::in_code(vec![Seg::key("llm")]),
        }
    }

    /// Adds a backend option.
    #[must_use]
    pub fn with_option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }

    /// The whole section (`backend`, `url`, `model` and the options) as a table.
    pub fn to_table(&self) -> Table {
        let mut table = self.options.clone();
        table.insert("backend".to_owned(), Value::String(self.backend.clone()));
        table.insert("url".to_owned(), Value::String(self.url.clone()));
        table.insert("model".to_owned(), Value::String(self.model.clone()));
        table
    }

    /// Deserializes the whole section into the backend's own config type. Errors name
    /// the file, `llm.<key>` and the line.
    pub fn deserialize_into<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.origin.deserialize(self.to_table())
    }
}

impl fmt::Debug for LlmSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = self.origin.redacted(&self.to_table());
        let field = |k: &str| {
            redacted
                .get(k)
                .cloned()
                .unwrap_or(Value::String(String::new()))
        };
        let options = Value::Table(
            redacted
                .as_table()
                .into_iter()
                .flatten()
                .filter(|(k, _)| !matches!(k.as_str(), "backend" | "url" | "model"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        f.debug_struct("LlmSection")
            .field("backend", &Inline(&field("backend")))
            .field("url", &Inline(&field("url")))
            .field("model", &Inline(&field("model")))
            .field("options", &Inline(&options))
            .finish()
    }
}

/// One `[[platform]]`: a connected account on one service.
#[derive(Clone)]
pub struct PlatformSection {
    /// Platform kind, e.g. `twitch`, `cytube`, `shell`.
    pub kind: String,
    /// Instance id, unique in the file; defaults to `kind`.
    pub id: String,
    /// Every other key, for the platform crate.
    pub fields: Table,
    pub(crate) origin: Origin,
}

impl PlatformSection {
    /// A section built in code.
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            id: id.into(),
            fields: Table::new(),
            origin: Origin::in_code(vec![Seg::key("platform")]),
        }
    }

    /// Adds a platform-specific key.
    #[must_use]
    pub fn with_field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.insert(key.into(), value.into());
        self
    }

    /// Deserializes [`PlatformSection::fields`] (everything but `kind` and `id`) into the
    /// platform's own config type. Errors name the file, `platform[i].<key>` and the line.
    pub fn deserialize_into<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.origin.deserialize(self.fields.clone())
    }
}

impl fmt::Debug for PlatformSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformSection")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("fields", &Inline(&self.origin.redacted(&self.fields)))
            .finish()
    }
}

/// One `[plugins.<name>]` table.
#[derive(Clone)]
pub struct PluginSection {
    /// Whether the plugin runs (reserved key `enabled`, default true).
    pub enabled: bool,
    /// Every other key: the plugin's own config.
    pub fields: Table,
    pub(crate) origin: Origin,
}

impl Default for PluginSection {
    fn default() -> Self {
        Self {
            enabled: true,
            fields: Table::new(),
            origin: Origin::in_code(vec![Seg::key("plugins")]),
        }
    }
}

impl PluginSection {
    /// An enabled section with no keys, built in code.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a plugin config key.
    #[must_use]
    pub fn with_field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.insert(key.into(), value.into());
        self
    }

    /// Sets `enabled`.
    #[must_use]
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Deserializes [`PluginSection::fields`] (everything but `enabled`) into the plugin's
    /// config type. Errors name the file, `plugins.<name>.<key>` and the line.
    ///
    /// ```
    /// use botkit::config::Config;
    ///
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Markov { order: usize }
    ///
    /// let cfg = Config::from_str_named("[plugins.markov]\norder = \"two\"\n", "bot.toml").unwrap();
    /// let err = cfg.plugin("markov").unwrap().deserialize_into::<Markov>().unwrap_err();
    /// assert!(err.to_string().starts_with("bot.toml:2:9: `plugins.markov.order`"));
    /// ```
    pub fn deserialize_into<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.origin.deserialize(self.fields.clone())
    }
}

impl fmt::Debug for PluginSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginSection")
            .field("enabled", &self.enabled)
            .field("fields", &Inline(&self.origin.redacted(&self.fields)))
            .finish()
    }
}
