//! The `eventsub` key of a Twitch platform section, and the subscriptions it asks for.
//!
//! ```toml
//! [[platform]]
//! kind = "twitch"
//! id = "bot"
//! login = "mybot"
//! token = "${TWITCH_TOKEN}"
//! channels = ["somechannel"]
//!
//! [platform.eventsub]                 # or just `eventsub = true` with every default
//! # broadcaster_user_ids = ["1971641"]  # default: the ids of `channels`, via Helix
//! # bot_user_id = "2914196"             # default: the id of `login`, via Helix
//! # subscriptions = ["channel.chat.message", "channel.chat.message_delete", …]
//! ```
//!
//! EventSub conditions take numeric ids, not logins. Both id keys may be left out (just
//! `eventsub = true`): the session then looks the ids up through Helix from the
//! platform's `channels` and `login` before it subscribes, and again before every fresh
//! session, so channels joined since are covered. Ids given in the config are used as
//! they are, with no lookup. The subscriptions are *desired state*:
//! every fresh session creates them again, a `session_reconnect` hand-over keeps them,
//! and a revocation removes one for the rest of the run.

use std::time::Duration;

use botkit::backoff::BackoffPolicy;
use serde::{Deserialize, Deserializer};
use serde_json::json;

use super::error::EventSubError;

/// Twitch's EventSub WebSocket endpoint.
pub const DEFAULT_EVENTSUB_URL: &str = "wss://eventsub.wss.twitch.tv/ws";

/// Subscription types created when the config names none.
pub const DEFAULT_SUBSCRIPTIONS: &[&str] = &[
    "channel.chat.message",
    "channel.chat.message_delete",
    "channel.chat.clear",
    "channel.chat.clear_user_messages",
    "channel.ban",
    "channel.unban",
    "channel.cheer",
];

/// The subscription types this crate knows how to ask for: type, version, and whether
/// the condition names the bot (`user_id`) besides the broadcaster.
const KNOWN: &[(&str, &str, bool)] = &[
    ("channel.chat.message", "1", true),
    ("channel.chat.message_delete", "1", true),
    ("channel.chat.clear", "1", true),
    ("channel.chat.clear_user_messages", "1", true),
    ("channel.chat.notification", "1", true),
    ("channel.ban", "1", false),
    ("channel.unban", "1", false),
    ("channel.cheer", "1", false),
    ("channel.subscribe", "1", false),
];

/// EventSub settings of one Twitch account.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct EventSubConfig {
    /// Whether to run an EventSub session beside IRC (a `[platform.eventsub]` table turns
    /// it on unless it says `enabled = false`).
    #[serde(default = "enabled_when_present")]
    pub enabled: bool,
    /// The WebSocket URL (`wss://`, or `ws://127.0.0.1:…` for tests).
    pub url: String,
    /// Numeric user ids of the channels to watch; empty: the platform's channels, their
    /// ids looked up through Helix.
    pub broadcaster_user_ids: Vec<String>,
    /// Numeric user id of the bot account (the `user_id` of chat subscriptions); `None`:
    /// the id of the platform's `login`, looked up through Helix.
    pub bot_user_id: Option<String>,
    /// Subscription types to create (default: [`DEFAULT_SUBSCRIPTIONS`]).
    pub subscriptions: Vec<String>,
    /// Keepalive interval to ask Twitch for, 10–600 s (`None`: Twitch's default, 10 s).
    pub keepalive_timeout_secs: Option<u64>,
    /// Extra seconds past the keepalive interval before the link counts as dead.
    pub keepalive_margin_secs: u64,
    /// Seconds to create the subscriptions after a welcome (Twitch closes unused sockets).
    pub subscribe_timeout_secs: u64,
    /// Seconds to wait for the welcome after connecting.
    pub welcome_timeout_secs: u64,
    /// Seconds to wait for the welcome on a `reconnect_url` before starting afresh
    /// (Twitch closes the old socket after 30 s).
    pub handover_timeout_secs: u64,
    /// Notification ids remembered to drop redeliveries.
    pub dedupe_capacity: usize,
    /// Delays between reconnect attempts.
    pub reconnect: BackoffPolicy,
}

fn enabled_when_present() -> bool {
    true
}

impl Default for EventSubConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            url: DEFAULT_EVENTSUB_URL.to_owned(),
            broadcaster_user_ids: Vec::new(),
            bot_user_id: None,
            subscriptions: DEFAULT_SUBSCRIPTIONS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            keepalive_timeout_secs: None,
            keepalive_margin_secs: 5,
            subscribe_timeout_secs: 10,
            welcome_timeout_secs: 10,
            handover_timeout_secs: 20,
            dedupe_capacity: 4096,
            reconnect: BackoffPolicy::new().with_base(Duration::from_secs(1)),
        }
    }
}

impl EventSubConfig {
    /// Settings with EventSub on, for these channels and this bot.
    pub fn enabled(broadcaster_user_ids: &[&str], bot_user_id: &str) -> Self {
        Self {
            enabled: true,
            broadcaster_user_ids: broadcaster_user_ids
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            bot_user_id: Some(bot_user_id.to_owned()),
            ..Self::default()
        }
    }

    /// The URL to connect to, with the keepalive request in the query.
    pub fn connect_url(&self) -> String {
        match self.keepalive_timeout_secs {
            Some(secs) => {
                let sep = if self.url.contains('?') { '&' } else { '?' };
                format!(
                    "{}{sep}keepalive_timeout_seconds={}",
                    self.url,
                    secs.clamp(10, 600)
                )
            }
            None => self.url.clone(),
        }
    }

    /// Checks what does not depend on the user ids: the URL and the subscription types.
    pub fn validate(&self) -> Result<(), EventSubError> {
        if !self.url.starts_with("wss://") && !self.url.starts_with("ws://") {
            return Err(EventSubError::Config(format!(
                "url `{}` must start with wss:// (or ws:// for a local test server)",
                self.url
            )));
        }
        for kind in &self.subscriptions {
            known(kind)?;
        }
        Ok(())
    }

    /// Whether a subscription type asked for names the bot in its condition.
    pub fn needs_bot_user_id(&self) -> bool {
        self.subscriptions
            .iter()
            .any(|kind| known(kind).is_ok_and(|(_, needs_bot)| needs_bot))
    }

    /// Whether some id is missing from the config and must be looked up through Helix
    /// (the channels' ids when `broadcaster_user_ids` is empty, the bot's when
    /// `bot_user_id` is missing and a subscription needs it).
    pub fn needs_lookup(&self) -> bool {
        self.broadcaster_user_ids.is_empty()
            || (self.bot_user_id.is_none() && self.needs_bot_user_id())
    }

    /// The subscriptions to hold: one per type and broadcaster, from the config's ids.
    pub fn desired(&self) -> Result<Vec<SubscriptionSpec>, EventSubError> {
        self.validate()?;
        if self.broadcaster_user_ids.is_empty() {
            return Err(EventSubError::Config(
                "`broadcaster_user_ids` is empty; list the numeric user ids of the channels to watch".to_owned(),
            ));
        }
        if self.bot_user_id.is_none()
            && let Some(kind) = self
                .subscriptions
                .iter()
                .find(|kind| known(kind).is_ok_and(|(_, needs_bot)| needs_bot))
        {
            return Err(EventSubError::Config(format!(
                "`{kind}` needs `bot_user_id`, the bot account's numeric user id"
            )));
        }
        self.specs_for(&self.broadcaster_user_ids, self.bot_user_id.as_deref())
    }

    /// The subscriptions for these broadcaster ids and bot id (e.g. looked up through
    /// Helix). Without a bot id, the types whose condition names the bot are left out:
    /// the caller reports why.
    pub fn specs_for(
        &self,
        broadcaster_user_ids: &[String],
        bot_user_id: Option<&str>,
    ) -> Result<Vec<SubscriptionSpec>, EventSubError> {
        let mut out = Vec::new();
        for kind in &self.subscriptions {
            let (version, needs_bot) = known(kind)?;
            for broadcaster in broadcaster_user_ids {
                let condition = match (needs_bot, bot_user_id) {
                    (true, Some(bot)) => {
                        json!({"broadcaster_user_id": broadcaster, "user_id": bot})
                    }
                    (true, None) => continue,
                    (false, _) => json!({ "broadcaster_user_id": broadcaster }),
                };
                out.push(SubscriptionSpec {
                    kind: kind.clone(),
                    version: version.to_owned(),
                    condition,
                });
            }
        }
        Ok(out)
    }
}

/// The version of subscription type `kind` and whether its condition names the bot.
fn known(kind: &str) -> Result<(&'static str, bool), EventSubError> {
    match KNOWN.iter().find(|(k, ..)| *k == kind) {
        Some((_, version, needs_bot)) => Ok((version, *needs_bot)),
        None => {
            let known: Vec<&str> = KNOWN.iter().map(|(k, ..)| *k).collect();
            Err(EventSubError::Config(format!(
                "unknown subscription type `{kind}`; supported: {}",
                known.join(", ")
            )))
        }
    }
}

/// One subscription the session should hold.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionSpec {
    /// Subscription type.
    pub kind: String,
    /// Its version.
    pub version: String,
    /// Its condition.
    pub condition: serde_json::Value,
}

impl SubscriptionSpec {
    /// The Helix request creating it for `session_id`.
    pub fn request(&self, session_id: &str) -> super::api::SubscriptionRequest {
        super::api::SubscriptionRequest {
            kind: self.kind.clone(),
            version: self.version.clone(),
            condition: self.condition.clone(),
            session_id: session_id.to_owned(),
        }
    }
}

/// `deserialize_with` for the `eventsub` key: `true`/`false`, or a table of settings.
pub fn deserialize_toggle<'de, D: Deserializer<'de>>(d: D) -> Result<EventSubConfig, D::Error> {
    struct Toggle;
    impl<'de> serde::de::Visitor<'de> for Toggle {
        type Value = EventSubConfig;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("`true`, `false` or a table of EventSub settings")
        }

        fn visit_bool<E: serde::de::Error>(self, enabled: bool) -> Result<EventSubConfig, E> {
            Ok(EventSubConfig {
                enabled,
                ..EventSubConfig::default()
            })
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            map: A,
        ) -> Result<EventSubConfig, A::Error> {
            EventSubConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(Toggle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Section {
        #[serde(deserialize_with = "deserialize_toggle")]
        eventsub: EventSubConfig,
    }

    #[test]
    fn reads_a_bool_or_a_table() {
        let s: Section = serde_json::from_value(json!({"eventsub": true})).unwrap();
        assert!(s.eventsub.enabled);
        let s: Section = serde_json::from_value(json!({"eventsub": {
            "broadcaster_user_ids": ["1"], "bot_user_id": "2", "keepalive_timeout_secs": 3
        }}))
        .unwrap();
        assert!(s.eventsub.enabled, "a table turns it on");
        assert_eq!(
            s.eventsub.connect_url(),
            "wss://eventsub.wss.twitch.tv/ws?keepalive_timeout_seconds=10"
        );
        let desired = s.eventsub.desired().unwrap();
        assert_eq!(desired.len(), DEFAULT_SUBSCRIPTIONS.len());
        assert_eq!(
            desired[0].condition,
            json!({"broadcaster_user_id": "1", "user_id": "2"})
        );
        let s: Section = serde_json::from_value(json!({"eventsub": {"enabled": false}})).unwrap();
        assert!(!s.eventsub.enabled);
        let err = serde_json::from_value::<Section>(json!({"eventsub": {"broadcaster": 1}}))
            .err()
            .unwrap();
        assert!(err.to_string().contains("broadcaster"), "{err}");
    }

    #[test]
    fn desired_state_errors_name_the_key() {
        let mut c = EventSubConfig::enabled(&["1"], "2");
        c.subscriptions = vec!["channel.nope".into()];
        let err = c.desired().unwrap_err().to_string();
        assert!(
            err.contains("channel.nope") && err.contains("supported"),
            "{err}"
        );
        let mut c = EventSubConfig::enabled(&["1"], "2");
        c.bot_user_id = None;
        assert!(c.desired().unwrap_err().to_string().contains("bot_user_id"));
        let c = EventSubConfig::enabled(&[], "2");
        assert!(
            c.desired()
                .unwrap_err()
                .to_string()
                .contains("broadcaster_user_ids")
        );
    }

    #[test]
    fn missing_ids_ask_for_a_lookup_and_explicit_ones_do_not() {
        assert!(!EventSubConfig::enabled(&["1"], "2").needs_lookup());
        let mut c = EventSubConfig::enabled(&[], "2");
        assert!(c.needs_lookup(), "no broadcaster ids");
        c.broadcaster_user_ids = vec!["1".into()];
        c.bot_user_id = None;
        assert!(c.needs_lookup(), "chat types need the bot's id");
        c.subscriptions = vec!["channel.ban".into(), "channel.cheer".into()];
        assert!(!c.needs_lookup(), "these types never name the bot");
        assert!(!c.needs_bot_user_id());
    }

    #[test]
    fn specs_from_looked_up_ids_leave_out_what_needs_a_missing_bot_id() {
        let c = EventSubConfig::default();
        let ids = vec!["10".to_owned(), "20".to_owned()];
        let all = c.specs_for(&ids, Some("2")).unwrap();
        assert_eq!(all.len(), 2 * DEFAULT_SUBSCRIPTIONS.len());
        assert_eq!(
            all[1].condition,
            json!({"broadcaster_user_id": "20", "user_id": "2"})
        );
        let without_bot = c.specs_for(&ids, None).unwrap();
        let kinds: Vec<&str> = without_bot.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "channel.ban",
                "channel.ban",
                "channel.unban",
                "channel.unban",
                "channel.cheer",
                "channel.cheer"
            ]
        );
        let bad = EventSubConfig {
            url: "http://example".into(),
            ..EventSubConfig::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("wss://"));
    }
}
