//! The logger plugin: writes the events its rules name to the store's event log, and chat
//! messages to the chat log, for every platform.
//!
//! Rules are [`LogRule`]s: an ordered list of topic
//! patterns, each saying `store = true` or `false`, first match wins. The plugin subscribes
//! once per storing pattern; because two patterns can both match one topic, it remembers the
//! ids of the last events it logged so an event delivered twice is written once. Chat replayed
//! on join (`is_history`) is skipped: it was logged when it was live.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use botkit::Subscription;
use botkit::config::LogRule;
use botkit::event::{Event, EventId, Payload};
use botkit::plugin::{Context, Plugin, Result};
use botkit::store::{ChatRecord, EventRecord};
use botkit::topic::Pattern;
use serde::Deserialize;

/// How many recent event ids the logger remembers to drop duplicate deliveries.
const SEEN_CAPACITY: usize = 4096;

/// `[plugins.logger]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LoggerConfig {
    /// Which topics are logged: first matching rule wins, no match means not logged.
    pub rules: Vec<LogRule>,
    /// Whether chat messages on logged topics also go to the chat log (searchable by
    /// channel and user, exported by `botkit db export`).
    pub chat: bool,
    /// Whether logged events go to the event log.
    pub events: bool,
}

impl Default for LoggerConfig {
    /// Every inbound platform event (`platform.>`), chat and events both.
    fn default() -> Self {
        Self {
            rules: Pattern::new("platform.>")
                .map(|pattern| LogRule {
                    pattern,
                    store: true,
                })
                .into_iter()
                .collect(),
            chat: true,
            events: true,
        }
    }
}

impl LoggerConfig {
    /// Whether an event on `topic` is logged: the first rule whose pattern matches decides.
    pub fn should_log(&self, topic: &str) -> bool {
        LogRule::decide(&self.rules, topic)
    }
}

/// Logs chat and events through the store. See the [module docs](self).
#[derive(Debug)]
pub struct Logger {
    config: Mutex<LoggerConfig>,
    /// Set when the config was given in code: `init` then does not read `[plugins.logger]`.
    fixed: bool,
    seen: Mutex<Seen>,
}

impl Default for Logger {
    fn default() -> Self {
        Self::new()
    }
}

impl Logger {
    /// A logger that reads its rules from `[plugins.logger]` (defaults when absent).
    pub fn new() -> Self {
        Self {
            config: Mutex::new(LoggerConfig::default()),
            fixed: false,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// A logger with rules given in code; the config file is not read.
    pub fn with_config(config: LoggerConfig) -> Self {
        Self {
            config: Mutex::new(config),
            fixed: true,
            seen: Mutex::new(Seen::default()),
        }
    }

    fn config(&self) -> LoggerConfig {
        self.config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether `id` is new (and remembers it).
    fn first_sighting(&self, id: EventId) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id)
    }
}

#[async_trait]
impl Plugin for Logger {
    fn name(&self) -> &str {
        "logger"
    }

    fn subscriptions(&self) -> Vec<Subscription> {
        let mut patterns: Vec<Pattern> = Vec::new();
        for rule in self.config().rules {
            if rule.store && !patterns.contains(&rule.pattern) {
                patterns.push(rule.pattern);
            }
        }
        patterns
            .into_iter()
            // A logger must not lose events to a slow disk: let the queue grow rather
            // than drop, within the bus's configured capacity.
            .map(|p| Subscription::pattern(p).sequential())
            .collect()
    }

    async fn init(&self, ctx: &Context) -> Result<()> {
        if !self.fixed {
            let config: LoggerConfig = ctx.config()?;
            *self
                .config
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = config;
        }
        Ok(())
    }

    async fn handle(&self, event: &Event, ctx: &Context) -> Result<()> {
        let config = self.config();
        if !config.should_log(event.topic.as_str()) || !self.first_sighting(event.id) {
            return Ok(());
        }
        let store = ctx.shared_store();
        if config.chat {
            let live_chat = match &event.payload {
                Payload::ChatMessage(msg) => !msg.is_history,
                _ => false,
            };
            if live_chat && let Some(record) = ChatRecord::from_event(event) {
                store.append_chat(&[record]).await?;
            }
        }
        if config.events {
            store
                .append_events(&[EventRecord::from_event(event)?])
                .await?;
        }
        Ok(())
    }

    async fn stop(&self, ctx: &Context) -> Result<()> {
        ctx.shared_store().flush().await?;
        Ok(())
    }
}

/// A bounded set of recently seen event ids, oldest forgotten first.
#[derive(Debug, Default)]
struct Seen {
    order: VecDeque<EventId>,
    ids: HashSet<EventId>,
}

impl Seen {
    fn insert(&mut self, id: EventId) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > SEEN_CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_rule_decides() {
        let config: LoggerConfig = toml::from_str(
            r#"rules = [
                { pattern = "platform.*.user.updated", store = false },
                { pattern = "platform.>", store = true },
            ]"#,
        )
        .unwrap();
        assert!(config.should_log("platform.twitch.chat.message"));
        assert!(!config.should_log("platform.twitch.user.updated"));
        assert!(!config.should_log("action.twitch.say"));
    }

    #[test]
    fn seen_set_is_bounded_and_drops_repeats() {
        let mut seen = Seen::default();
        let first = EventId::new();
        assert!(seen.insert(first));
        assert!(!seen.insert(first));
        for _ in 0..SEEN_CAPACITY {
            seen.insert(EventId::new());
        }
        assert_eq!(seen.ids.len(), SEEN_CAPACITY);
        assert!(seen.insert(first), "the oldest id is forgotten");
    }
}
