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

/// `[store]`: where state and logs live. What gets logged is the logger plugin's business
/// (`[plugins.logger] rules`), so the rules have one home.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct StoreSection {
    /// Store URL: `sqlite://botkit.db` (the default: a file in the working directory),
    /// `postgres://…`, or `memory:` (nothing persists).
    pub url: String,
}

impl Default for StoreSection {
    /// `sqlite://botkit.db`.
    fn default() -> Self {
        Self {
            url: "sqlite://botkit.db".to_owned(),
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
