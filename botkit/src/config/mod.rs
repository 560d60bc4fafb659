//! One TOML file configures a whole bot; this module reads it.
//!
//! ```toml
//! [bot]                      # name, owners, prefix, prefixes, shutdown_timeout_ms
//! [store]                    # url; synchronous, busy_timeout, readers, max_pages,
//!                            # cache_mib, checkpoint_pages (SQLite);
//!                            # pool_size, acquire_timeout, schema (PostgreSQL);
//!                            # batch_size, linger, queue_capacity (log write-behind)
//! [bus]                      # default_capacity, [[bus.buffer]] { pattern, capacity }
//! [http]                     # optional: listen
//! [llm]                      # optional: backend, url, model, backend options
//! [[platform]]               # kind, id (default: kind), platform keys
//! [plugins.<name>]           # enabled (default true), plugin keys
//! ```
//!
//! Design: the people who edit this file are operators, so every error names the file,
//! the dotted key path (`platform[1].token`) and the line, and says what to do
//! ([`ConfigError`]). Secrets stay out of the file: any string may use `${VAR}`,
//! `${VAR:-default}` (and `$${` for a literal `${`), and everything that came from the
//! environment, plus keys named like credentials, is redacted from [`Config::redacted_toml`]
//! and from `Debug`. Sections the core cannot know (platforms, plugins, the LLM backend)
//! stay as TOML tables with their positions, so their own crates deserialize them later
//! with the same quality of errors (`deserialize_into`).

mod error;
mod redact;
mod secret;
mod sections;
mod source;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use toml::{Table, Value};

pub use crate::backoff::duration_serde as duration;
pub use error::{ConfigError, Location};
pub use secret::Secret;
pub use sections::{
    BotSection, BufferRule, BusSection, HttpSection, LlmSection, LogRule, PlatformSection,
    PluginSection, StoreBackend, StoreSection, Synchronous,
};

use redact::{Inline, redact};
use sections::Origin;
use source::{Seg, SourceMap, deserialize, path_string};

use crate::topic::Pattern;

/// The top-level sections, in the order [`Config::redacted_toml`] prints them.
const SECTIONS: &[&str] = &["bot", "store", "bus", "http", "llm", "platform", "plugins"];

/// A loaded, validated bot configuration.
///
/// `Debug` prints the resolved config with secrets redacted.
#[derive(Clone)]
pub struct Config {
    /// `[bot]`.
    pub bot: BotSection,
    /// `[store]`.
    pub store: StoreSection,
    /// `[bus]`.
    pub bus: BusSection,
    /// `[http]`, when the health server is wanted.
    pub http: Option<HttpSection>,
    /// `[llm]`, when the bot has a language model.
    pub llm: Option<LlmSection>,
    platforms: Vec<PlatformSection>,
    plugins: BTreeMap<String, PluginSection>,
    map: Arc<SourceMap>,
}

impl Default for Config {
    /// The config of a bot started without a file: default `[bot]`, in-memory store,
    /// default bus, no HTTP server, no LLM, no platforms and no plugin sections (the CLI
    /// adds the shell platform). Equal to loading an empty file.
    fn default() -> Self {
        Self {
            bot: BotSection::default(),
            store: StoreSection::default(),
            bus: BusSection::default(),
            http: None,
            llm: None,
            platforms: Vec::new(),
            plugins: BTreeMap::new(),
            map: Arc::new(SourceMap::new("<default>", "")),
        }
    }
}

impl Config {
    /// Reads and validates the config file at `path`, resolving `${VAR}` from the process
    /// environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Io {
            path: path.to_path_buf(),
            kind: err.kind(),
            message: err.to_string(),
        })?;
        Self::from_str_named(&text, &path.display().to_string())
    }

    /// Parses config `text`; `name` is the file name used in error messages. `${VAR}` is
    /// resolved from the process environment.
    pub fn from_str_named(text: &str, name: &str) -> Result<Self, ConfigError> {
        Self::from_str_with_env(text, name, &|var| std::env::var(var).ok())
    }

    /// Like [`Config::from_str_named`], with `env` answering `${VAR}` lookups (so tests need
    /// not touch the process environment).
    pub fn from_str_with_env(
        text: &str,
        name: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let source::Parsed { mut root, map } = source::parse(text, name, env)?;
        let map = Arc::new(map);

        if let Some(unknown) = root.keys().find(|k| !SECTIONS.contains(&k.as_str())) {
            let segs = [Seg::Key(unknown.clone())];
            return Err(ConfigError::UnknownKey {
                location: map.key_location(&segs),
                key: path_string(&segs),
                expected: Some(format!("one of {}", backticked(SECTIONS))),
            });
        }

        let bot: BotSection = section(&mut root, "bot", &map)?.unwrap_or_default();
        validate_bot(&bot, &map)?;

        check_patterns(&root, "store", "log", &map)?;
        let store: StoreSection = section(&mut root, "store", &map)?.unwrap_or_default();
        validate_store(&store, &map)?;

        check_patterns(&root, "bus", "buffer", &map)?;
        let bus: BusSection = section(&mut root, "bus", &map)?.unwrap_or_default();
        validate_bus(&bus, &map)?;

        let http: Option<HttpSection> = section(&mut root, "http", &map)?;
        if let Some(http) = &http {
            validate_listen(&http.listen, &map)?;
        }

        let llm = match root.remove("llm") {
            Some(value) => Some(llm_section(value, &map)?),
            None => None,
        };
        let platforms = platforms(root.remove("platform"), &map)?;
        let plugins = plugins(root.remove("plugins"), &map)?;

        Ok(Self {
            bot,
            store,
            bus,
            http,
            llm,
            platforms,
            plugins,
            map,
        })
    }

    /// The file name this config was read from (`<default>` for [`Config::default`]).
    pub fn source_name(&self) -> &str {
        self.map.file()
    }

    /// The `[[platform]]` sections, in file order.
    pub fn platforms(&self) -> &[PlatformSection] {
        &self.platforms
    }

    /// The platform with instance id `id`.
    pub fn platform(&self, id: &str) -> Option<&PlatformSection> {
        self.platforms.iter().find(|p| p.id == id)
    }

    /// The `[plugins.<name>]` section, enabled or not; `None` when the file has none.
    pub fn plugin(&self, name: &str) -> Option<&PluginSection> {
        self.plugins.get(name)
    }

    /// Every plugin section by name.
    pub fn plugins(&self) -> impl Iterator<Item = (&str, &PluginSection)> {
        self.plugins.iter().map(|(name, p)| (name.as_str(), p))
    }

    /// Adds a platform built in code, replacing one with the same id.
    #[must_use]
    pub fn with_platform(mut self, mut platform: PlatformSection) -> Self {
        let index = self
            .platforms
            .iter()
            .position(|p| p.id == platform.id)
            .unwrap_or(self.platforms.len());
        platform.origin.path = vec![Seg::key("platform"), Seg::Index(index)];
        if index == self.platforms.len() {
            self.platforms.push(platform);
        } else if let Some(slot) = self.platforms.get_mut(index) {
            *slot = platform;
        }
        self
    }

    /// Adds (or replaces) the section of plugin `name`, built in code.
    #[must_use]
    pub fn with_plugin(mut self, name: impl Into<String>, mut plugin: PluginSection) -> Self {
        let name = name.into();
        plugin.origin.path = vec![Seg::key("plugins"), Seg::Key(name.clone())];
        self.plugins.insert(name, plugin);
        self
    }

    /// The whole resolved config as TOML (defaults filled in, `${VAR}` resolved), with every
    /// secret replaced by [`Secret::REDACTED`]: values that came from the environment, and
    /// keys named like credentials (`token`, `*_password`, `client_secret`, `api_key`,
    /// `*_cookie`, …) in every section. This is what `botkit check` prints.
    pub fn redacted_toml(&self) -> String {
        let mut out = format!(
            "# resolved configuration from {}; secrets are redacted\n",
            self.map.file()
        );
        for (name, value) in self.redacted_sections() {
            let mut single = Table::new();
            single.insert(name.to_owned(), value);
            let text = toml::to_string(&single)
                .unwrap_or_else(|err| format!("# section `{name}` could not be printed: {err}\n"));
            out.push('\n');
            out.push_str(&text);
        }
        out
    }

    /// Each present section as a TOML value, secrets redacted, in [`SECTIONS`] order.
    fn redacted_sections(&self) -> Vec<(&'static str, Value)> {
        let mut sections = vec![
            ("bot", to_value(&self.bot)),
            ("store", to_value(&self.store)),
            ("bus", to_value(&self.bus)),
        ];
        if let Some(http) = &self.http {
            sections.push(("http", to_value(http)));
        }
        if let Some(llm) = &self.llm {
            sections.push(("llm", Value::Table(llm.to_table())));
        }
        if !self.platforms.is_empty() {
            let items = self
                .platforms
                .iter()
                .map(|p| {
                    let mut table = Table::new();
                    table.insert("kind".to_owned(), Value::String(p.kind.clone()));
                    table.insert("id".to_owned(), Value::String(p.id.clone()));
                    table.extend(p.fields.clone());
                    Value::Table(table)
                })
                .collect();
            sections.push(("platform", Value::Array(items)));
        }
        if !self.plugins.is_empty() {
            let table = self
                .plugins
                .iter()
                .map(|(name, p)| {
                    let mut table = Table::new();
                    table.insert("enabled".to_owned(), Value::Boolean(p.enabled));
                    table.extend(p.fields.clone());
                    (name.clone(), Value::Table(table))
                })
                .collect();
            sections.push(("plugins", Value::Table(table)));
        }
        for (name, value) in &mut sections {
            redact(value, &mut vec![Seg::key(name)], &self.map);
        }
        sections
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Config");
        s.field("file", &self.map.file());
        for (name, value) in self.redacted_sections() {
            s.field(name, &Inline(&value));
        }
        s.finish()
    }
}

fn to_value<T: Serialize>(value: &T) -> Value {
    Value::try_from(value).unwrap_or_else(|err| Value::String(format!("<unprintable: {err}>")))
}

fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn invalid(
    map: &SourceMap,
    segs: &[Seg],
    message: impl Into<String>,
    hint: impl Into<String>,
) -> ConfigError {
    ConfigError::InvalidValue {
        location: map.value_location(segs),
        key: path_string(segs),
        message: message.into(),
        hint: hint.into(),
    }
}

/// Removes and deserializes a top-level section.
fn section<T: serde::de::DeserializeOwned>(
    root: &mut Table,
    name: &str,
    map: &SourceMap,
) -> Result<Option<T>, ConfigError> {
    root.remove(name)
        .map(|value| deserialize(value, &[Seg::key(name)], map))
        .transpose()
}

/// Validates `<section>.<list>[i].pattern` with [`Pattern`] before typed deserialization,
/// so a bad pattern is reported as such, with its own position.
fn check_patterns(
    root: &Table,
    section: &str,
    list: &str,
    map: &SourceMap,
) -> Result<(), ConfigError> {
    let Some(Value::Array(rules)) = root.get(section).and_then(|s| s.get(list)) else {
        return Ok(());
    };
    for (i, rule) in rules.iter().enumerate() {
        if let Some(Value::String(pattern)) = rule.get("pattern")
            && let Err(reason) = Pattern::new(pattern)
        {
            let segs = [
                Seg::key(section),
                Seg::key(list),
                Seg::Index(i),
                Seg::key("pattern"),
            ];
            return Err(ConfigError::InvalidPattern {
                location: map.value_location(&segs),
                key: path_string(&segs),
                reason,
            });
        }
    }
    Ok(())
}

fn validate_bot(bot: &BotSection, map: &SourceMap) -> Result<(), ConfigError> {
    if bot.name.trim().is_empty() {
        return Err(invalid(
            map,
            &[Seg::key("bot"), Seg::key("name")],
            "the bot name is empty",
            "give the bot a name",
        ));
    }
    for (i, owner) in bot.owners.iter().enumerate() {
        let ok = owner.split_once(':').is_some_and(|(p, u)| {
            !p.is_empty() && !u.is_empty() && !owner.contains(char::is_whitespace)
        });
        if !ok {
            return Err(invalid(
                map,
                &[Seg::key("bot"), Seg::key("owners"), Seg::Index(i)],
                format!("owner `{owner}` is not platform-qualified"),
                "write it as `platform:user`, e.g. `twitch:alice`",
            ));
        }
    }
    let bad_prefix = |p: &str| p.is_empty() || p.contains(char::is_whitespace);
    if bad_prefix(&bot.prefix) {
        return Err(invalid(
            map,
            &[Seg::key("bot"), Seg::key("prefix")],
            "a command prefix must be non-empty and contain no spaces",
            "use e.g. `!`",
        ));
    }
    for (channel, prefix) in &bot.prefixes {
        if bad_prefix(prefix) {
            return Err(invalid(
                map,
                &[
                    Seg::key("bot"),
                    Seg::key("prefixes"),
                    Seg::Key(channel.clone()),
                ],
                "a command prefix must be non-empty and contain no spaces",
                "use e.g. `!`",
            ));
        }
    }
    Ok(())
}

fn validate_bus(bus: &BusSection, map: &SourceMap) -> Result<(), ConfigError> {
    if bus.default_capacity == 0 {
        return Err(invalid(
            map,
            &[Seg::key("bus"), Seg::key("default_capacity")],
            "a queue capacity must be at least 1",
            "use e.g. `1024`",
        ));
    }
    for (i, rule) in bus.buffer.iter().enumerate() {
        if rule.capacity == 0 {
            return Err(invalid(
                map,
                &[
                    Seg::key("bus"),
                    Seg::key("buffer"),
                    Seg::Index(i),
                    Seg::key("capacity"),
                ],
                "a queue capacity must be at least 1",
                "use e.g. `1024`",
            ));
        }
    }
    Ok(())
}

fn validate_store(store: &StoreSection, map: &SourceMap) -> Result<(), ConfigError> {
    let key = |k: &str| [Seg::key("store"), Seg::key(k)];
    if store.url.trim().is_empty() {
        return Err(invalid(
            map,
            &key("url"),
            "the store URL is empty",
            "use `memory:`, `sqlite://botkit.db` or `postgres://…`",
        ));
    }
    let counts = [
        ("readers", store.readers.map(u64::from)),
        ("max_pages", store.max_pages),
        ("cache_mib", store.cache_mib.map(u64::from)),
        ("checkpoint_pages", store.checkpoint_pages.map(u64::from)),
        ("pool_size", store.pool_size.map(u64::from)),
        ("batch_size", store.batch_size.map(|n| n as u64)),
        ("queue_capacity", store.queue_capacity.map(|n| n as u64)),
    ];
    for (name, value) in counts {
        if value == Some(0) {
            return Err(invalid(
                map,
                &key(name),
                format!("`{name}` must be at least 1"),
                "leave the key out for the default",
            ));
        }
    }
    if let Some(schema) = &store.schema
        && !is_ident(schema)
    {
        return Err(invalid(
            map,
            &key("schema"),
            format!("`{schema}` is not a schema name botkit accepts"),
            "use only letters, digits, `_` and `-`",
        ));
    }
    if let Some(backend) = store.backend() {
        for (name, applies) in store.set_keys() {
            if !applies.contains(&backend) {
                let wanted: Vec<&str> = applies.iter().map(|b| b.name()).collect();
                return Err(invalid(
                    map,
                    &key(name),
                    format!(
                        "`{name}` applies to {} only, and the store URL names {}",
                        wanted.join(" and "),
                        backend.name()
                    ),
                    "remove the key, or change `store.url`",
                ));
            }
        }
    }
    Ok(())
}

fn validate_listen(listen: &str, map: &SourceMap) -> Result<(), ConfigError> {
    let ok = listen
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if ok {
        Ok(())
    } else {
        Err(invalid(
            map,
            &[Seg::key("http"), Seg::key("listen")],
            format!("`{listen}` is not a `host:port` address"),
            "use e.g. `127.0.0.1:9090`",
        ))
    }
}

/// Takes a required string key out of a section table.
fn take_string(
    table: &mut Table,
    segs: &[Seg],
    key: &str,
    map: &SourceMap,
) -> Result<Option<String>, ConfigError> {
    let mut path = segs.to_vec();
    path.push(Seg::key(key));
    match table.remove(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(
            map,
            &path,
            format!("invalid type: {}, expected a string", other.type_str()),
            "put the value in double quotes",
        )),
    }
}

fn required_string(
    table: &mut Table,
    segs: &[Seg],
    key: &str,
    map: &SourceMap,
) -> Result<String, ConfigError> {
    take_string(table, segs, key, map)?.ok_or_else(|| {
        let mut path = segs.to_vec();
        path.push(Seg::key(key));
        ConfigError::MissingKey {
            location: map.value_location(segs),
            key: path_string(&path),
        }
    })
}

fn llm_section(value: Value, map: &Arc<SourceMap>) -> Result<LlmSection, ConfigError> {
    let segs = vec![Seg::key("llm")];
    let Value::Table(mut options) = value else {
        return Err(invalid(
            map,
            &segs,
            "`llm` must be a table",
            "write it as an `[llm]` section",
        ));
    };
    let backend = required_string(&mut options, &segs, "backend", map)?;
    let url = required_string(&mut options, &segs, "url", map)?;
    let model = required_string(&mut options, &segs, "model", map)?;
    if backend.trim().is_empty() {
        return Err(invalid(
            map,
            &[Seg::key("llm"), Seg::key("backend")],
            "the backend name is empty",
            "use e.g. `ollama` or `openai`",
        ));
    }
    Ok(LlmSection {
        backend,
        url,
        model,
        options,
        origin: Origin {
            map: Arc::clone(map),
            path: segs,
        },
    })
}

/// Whether `s` can name a platform kind or instance: letters, digits, `_` and `-`.
fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn platforms(
    value: Option<Value>,
    map: &Arc<SourceMap>,
) -> Result<Vec<PlatformSection>, ConfigError> {
    let items = match value {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(invalid(
                map,
                &[Seg::key("platform")],
                "`platform` must be a list of tables",
                "write each platform as a `[[platform]]` section (two brackets)",
            ));
        }
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let segs = vec![Seg::key("platform"), Seg::Index(i)];
        let Value::Table(mut fields) = item else {
            return Err(invalid(
                map,
                &segs,
                "each platform must be a table",
                "write it as a `[[platform]]` section",
            ));
        };
        let kind = required_string(&mut fields, &segs, "kind", map)?;
        let id = take_string(&mut fields, &segs, "id", map)?;
        let id_given = id.is_some();
        let id = id.unwrap_or_else(|| kind.clone());
        for (key, value) in [("kind", &kind), ("id", &id)] {
            if !is_ident(value) {
                let mut path = segs.clone();
                path.push(Seg::key(key));
                return Err(invalid(
                    map,
                    &path,
                    format!("`{value}` is not a valid {key}"),
                    "use only letters, digits, `_` and `-`",
                ));
            }
        }
        if let Some(&first) = seen.get(&id) {
            let mut path = segs.clone();
            path.push(Seg::key(if id_given { "id" } else { "kind" }));
            return Err(ConfigError::DuplicatePlatformId {
                location: map.value_location(&path),
                key: path_string(&[Seg::key("platform"), Seg::Index(i), Seg::key("id")]),
                id,
                first_key: path_string(&[Seg::key("platform"), Seg::Index(first)]),
                first_line: map
                    .value_location(&[Seg::key("platform"), Seg::Index(first)])
                    .line,
            });
        }
        seen.insert(id.clone(), i);
        out.push(PlatformSection {
            kind,
            id,
            fields,
            origin: Origin {
                map: Arc::clone(map),
                path: segs,
            },
        });
    }
    Ok(out)
}

fn plugins(
    value: Option<Value>,
    map: &Arc<SourceMap>,
) -> Result<BTreeMap<String, PluginSection>, ConfigError> {
    let table = match value {
        None => return Ok(BTreeMap::new()),
        Some(Value::Table(table)) => table,
        Some(_) => {
            return Err(invalid(
                map,
                &[Seg::key("plugins")],
                "`plugins` must be a table of plugin sections",
                "write `[plugins.<name>]`",
            ));
        }
    };
    let mut out = BTreeMap::new();
    for (name, value) in table {
        let segs = vec![Seg::key("plugins"), Seg::Key(name.clone())];
        let Value::Table(mut fields) = value else {
            return Err(invalid(
                map,
                &segs,
                "a plugin's config must be a table",
                format!("write it as a `[{}]` section", path_string(&segs)),
            ));
        };
        let enabled = match fields.remove("enabled") {
            None => true,
            Some(Value::Boolean(b)) => b,
            Some(other) => {
                let mut path = segs.clone();
                path.push(Seg::key("enabled"));
                return Err(invalid(
                    map,
                    &path,
                    format!("invalid type: {}, expected a boolean", other.type_str()),
                    "write `enabled = true` or `enabled = false`",
                ));
            }
        };
        out.insert(
            name,
            PluginSection {
                enabled,
                fields,
                origin: Origin {
                    map: Arc::clone(map),
                    path: segs,
                },
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
