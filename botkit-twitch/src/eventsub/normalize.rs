//! From EventSub notifications to botkit [`Event`]s.
//!
//! The same topics and payloads as IRC, so a plugin cannot tell which connection a chat
//! message came over: users are `twitch:<user-id>` with roles from the badges, channels
//! are the broadcaster's login. Each event keeps the whole frame in [`Event::raw`] as
//! JSON (fragments, cheermotes, colors, reply threads), and its timestamp is the frame's
//! `message_timestamp`.
//!
//! | subscription type | topic (`platform.twitch.` + …) | payload |
//! |---|---|---|
//! | `channel.chat.message` | `chat.message` | [`Payload::ChatMessage`] |
//! | `channel.chat.message_delete` | `mod.message_deleted` | [`Payload::MessageDeleted`] |
//! | `channel.chat.clear` | `mod.chat_cleared` | [`Payload::ChatCleared`] |
//! | `channel.ban` | `mod.user_banned` / `mod.user_timed_out` | … |
//! | `channel.cheer` | `stream.notice` (notice `cheer`) | [`Payload::StreamNotice`] |
//! | anything else | `raw.eventsub.<type>` | [`Payload::Raw`] |
//!
//! `channel.chat.clear_user_messages` stays raw on purpose: it does not say whether the
//! user was banned or timed out, nor for how long; `channel.ban` (or IRC's `CLEARCHAT`)
//! carries that. The bot's own chat messages, which EventSub delivers and IRC does not,
//! are published raw too, so a bot never answers itself.

use std::sync::Arc;

use botkit::command::roles_from_twitch_badges;
use botkit::event::{ChatMessage, Event, Payload, Priority, Raw, Roles, Source, User};
use botkit::topic::TopicError;
use serde::Deserialize;
use serde_json::Value;

use super::message::{Metadata, SubscriptionInfo, timestamp_millis};
use crate::normalize::PLATFORM;

/// Turns notifications into events for one platform instance.
#[derive(Debug, Clone)]
pub struct EventSubNormalizer {
    instance: Arc<str>,
    bot_user_id: Option<Arc<str>>,
}

#[derive(Deserialize)]
struct Badge {
    set_id: String,
    #[serde(default)]
    id: String,
}

#[derive(Deserialize)]
struct ChatText {
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct Reply {
    parent_message_id: String,
}

#[derive(Deserialize)]
struct ChatEvent {
    broadcaster_user_login: String,
    chatter_user_id: String,
    chatter_user_login: String,
    #[serde(default)]
    chatter_user_name: Option<String>,
    message_id: String,
    message: ChatText,
    #[serde(default)]
    badges: Vec<Badge>,
    #[serde(default)]
    reply: Option<Reply>,
}

#[derive(Deserialize)]
struct BanEvent {
    broadcaster_user_login: String,
    user_id: String,
    user_login: String,
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    is_permanent: bool,
    #[serde(default)]
    banned_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
}

#[derive(Deserialize)]
struct DeleteEvent {
    broadcaster_user_login: String,
    target_user_id: String,
    target_user_login: String,
    #[serde(default)]
    target_user_name: Option<String>,
    message_id: String,
}

#[derive(Deserialize)]
struct BroadcasterOnly {
    broadcaster_user_login: String,
}

#[derive(Deserialize)]
struct CheerEvent {
    broadcaster_user_login: String,
    #[serde(default)]
    is_anonymous: bool,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    user_login: Option<String>,
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

fn user(id: &str, login: &str, name: Option<&str>, roles: Roles) -> User {
    let login = login.to_ascii_lowercase();
    let id = if id.is_empty() { login.as_str() } else { id };
    let display = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&login);
    User {
        id: Arc::from(format!("{PLATFORM}:{id}")),
        name: Arc::from(login.as_str()),
        display_name: Arc::from(display),
        roles,
    }
}

/// A subscription type as topic tokens: only `[a-z0-9_.-]` survive, so a hostile or
/// garbled type can never make an invalid topic.
fn topic_tokens(kind: &str) -> String {
    let cleaned: String = kind
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let tokens: Vec<&str> = cleaned.split('.').filter(|t| !t.is_empty()).collect();
    if tokens.is_empty() {
        "unknown".to_owned()
    } else {
        tokens.join(".")
    }
}

impl EventSubNormalizer {
    /// A normalizer for instance `instance`; `bot_user_id` marks the bot's own messages.
    pub fn new(instance: &str, bot_user_id: Option<&str>) -> Self {
        Self {
            instance: Arc::from(instance),
            bot_user_id: bot_user_id.map(Arc::from),
        }
    }

    /// Sets the bot's user id (once looked up), which marks its own messages.
    pub fn set_bot_user_id(&mut self, bot_user_id: &str) {
        self.bot_user_id = Some(Arc::from(bot_user_id));
    }

    fn source(&self, channel: Option<&str>) -> Source {
        let channel = channel.map(str::to_ascii_lowercase);
        Source::new(PLATFORM, &self.instance, channel.as_deref())
    }

    /// The event for one notification. `raw` is the whole frame; `received_ms` stands in
    /// for an unreadable `message_timestamp`.
    pub fn notification(
        &self,
        metadata: &Metadata,
        subscription: &SubscriptionInfo,
        event: &Value,
        raw: &Value,
        received_ms: i64,
    ) -> Result<Event, TopicError> {
        let timestamp = timestamp_millis(&metadata.message_timestamp).unwrap_or(received_ms);
        let normalized = self.typed(&subscription.kind, event);
        let event = match normalized {
            Some((channel, kind, payload)) => {
                Event::platform(self.source(channel.as_deref()), kind, payload)?
            }
            None => self.raw_event(&subscription.kind, event)?,
        };
        let mut event = event.with_raw(Raw::Json(raw.clone()));
        event.timestamp_ms = timestamp;
        Ok(event)
    }

    fn raw_event(&self, kind: &str, event: &Value) -> Result<Event, TopicError> {
        let channel = event.get("broadcaster_user_login").and_then(Value::as_str);
        let topic = format!("raw.eventsub.{}", topic_tokens(kind));
        Ok(Event::platform(
            self.source(channel),
            &topic,
            Payload::Raw {
                name: kind.to_owned(),
            },
        )?
        .with_priority(Priority::Low))
    }

    /// The normalized form: channel, topic kind, payload; `None` for raw.
    fn typed(&self, kind: &str, event: &Value) -> Option<(Option<String>, &'static str, Payload)> {
        let parse = |what| tracing_skip(kind, what);
        match kind {
            "channel.chat.message" => {
                let e = ChatEvent::deserialize(event).map_err(parse).ok()?;
                if self.bot_user_id.as_deref() == Some(e.chatter_user_id.as_str()) {
                    return None;
                }
                let badges: Vec<String> = e
                    .badges
                    .iter()
                    .map(|b| format!("{}/{}", b.set_id, b.id))
                    .collect();
                let roles = roles_from_twitch_badges(&badges.join(","));
                let chatter = user(
                    &e.chatter_user_id,
                    &e.chatter_user_login,
                    e.chatter_user_name.as_deref(),
                    roles,
                );
                let chat = ChatMessage {
                    id: Some(e.message_id),
                    reply_to: e.reply.map(|r| r.parent_message_id),
                    ..ChatMessage::new(chatter, e.message.text)
                };
                Some((
                    Some(e.broadcaster_user_login),
                    "chat.message",
                    Payload::ChatMessage(chat),
                ))
            }
            "channel.chat.message_delete" => {
                let e = DeleteEvent::deserialize(event).map_err(parse).ok()?;
                let target = user(
                    &e.target_user_id,
                    &e.target_user_login,
                    e.target_user_name.as_deref(),
                    Roles::everyone(),
                );
                Some((
                    Some(e.broadcaster_user_login),
                    "mod.message_deleted",
                    Payload::MessageDeleted {
                        message_id: e.message_id,
                        user: Some(target),
                    },
                ))
            }
            "channel.chat.clear" => {
                let e = BroadcasterOnly::deserialize(event).map_err(parse).ok()?;
                Some((
                    Some(e.broadcaster_user_login),
                    "mod.chat_cleared",
                    Payload::ChatCleared,
                ))
            }
            "channel.ban" => {
                let e = BanEvent::deserialize(event).map_err(parse).ok()?;
                let target = user(
                    &e.user_id,
                    &e.user_login,
                    e.user_name.as_deref(),
                    Roles::everyone(),
                );
                let reason = e.reason.filter(|r| !r.trim().is_empty());
                let ends = e.ends_at.as_deref().and_then(timestamp_millis);
                let starts = e.banned_at.as_deref().and_then(timestamp_millis);
                let payload = match (e.is_permanent, starts, ends) {
                    (false, Some(start), Some(end)) => Payload::UserTimedOut {
                        user: target,
                        // Rounded: the stamps carry sub-second noise around whole seconds.
                        duration_secs: u64::try_from((end - start + 500) / 1000).unwrap_or(0),
                        reason,
                    },
                    _ => Payload::UserBanned {
                        user: target,
                        reason,
                    },
                };
                let kind = if matches!(payload, Payload::UserTimedOut { .. }) {
                    "mod.user_timed_out"
                } else {
                    "mod.user_banned"
                };
                Some((Some(e.broadcaster_user_login), kind, payload))
            }
            "channel.cheer" => {
                let e = CheerEvent::deserialize(event).map_err(parse).ok()?;
                let cheerer = match (&e.user_id, &e.user_login) {
                    (Some(id), Some(login)) if !e.is_anonymous => {
                        Some(user(id, login, e.user_name.as_deref(), Roles::everyone()))
                    }
                    _ => None,
                };
                Some((
                    Some(e.broadcaster_user_login),
                    "stream.notice",
                    Payload::StreamNotice {
                        notice: "cheer".to_owned(),
                        user: cheerer,
                        text: e.message.filter(|m| !m.is_empty()),
                    },
                ))
            }
            _ => None,
        }
    }
}

/// Logs a known type whose event does not have the expected shape; it is published raw.
fn tracing_skip(kind: &str, error: serde_json::Error) {
    tracing::warn!(subscription_type = kind, %error, "EventSub event has an unexpected shape; publishing it raw");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta() -> Metadata {
        Metadata {
            message_id: "m".into(),
            message_type: "notification".into(),
            message_timestamp: "1970-01-01T00:00:01Z".into(),
            subscription_type: None,
            subscription_version: None,
        }
    }

    fn sub(kind: &str) -> SubscriptionInfo {
        SubscriptionInfo {
            id: "s".into(),
            status: "enabled".into(),
            kind: kind.into(),
            version: "1".into(),
            condition: Value::Null,
        }
    }

    #[test]
    fn odd_types_make_valid_raw_topics() {
        let n = EventSubNormalizer::new("main", None);
        for kind in ["", "..", "a b.*.>", "channel.follow"] {
            let e = n
                .notification(&meta(), &sub(kind), &json!({}), &json!({}), 5)
                .unwrap();
            assert!(
                e.topic
                    .as_str()
                    .starts_with("platform.twitch.raw.eventsub.")
            );
            assert_eq!(e.timestamp_ms, 1000);
        }
    }

    #[test]
    fn own_messages_and_misshapen_events_are_raw() {
        let n = EventSubNormalizer::new("main", Some("42"));
        let chat = json!({"broadcaster_user_login": "c", "chatter_user_id": "42", "chatter_user_login": "bot", "message_id": "x", "message": {"text": "hi"}});
        let e = n
            .notification(&meta(), &sub("channel.chat.message"), &chat, &json!({}), 0)
            .unwrap();
        assert_eq!(
            e.topic.as_str(),
            "platform.twitch.raw.eventsub.channel.chat.message"
        );
        let e = n
            .notification(
                &meta(),
                &sub("channel.ban"),
                &json!({"user_id": 5}),
                &json!({}),
                0,
            )
            .unwrap();
        assert_eq!(e.topic.as_str(), "platform.twitch.raw.eventsub.channel.ban");
    }
}
