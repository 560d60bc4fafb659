//! From typed IRC commands to botkit [`Event`]s.
//!
//! Every line the session reads becomes exactly one event, so nothing Twitch sends is
//! lost: the commands a bot reacts to get a normalized kind and payload, the rest
//! (`PING`, `CAP`, numerics, `RECONNECT`, unknown commands, and lines whose structure is
//! wrong for their command) are published as `platform.twitch.raw.<command>`. Each event
//! keeps the line in [`Event::raw`], so a plugin that needs a Twitch detail the payload
//! has no field for (bits, emotes, `first-msg`, `msg-param-*`) re-parses it with
//! [`crate::irc::commands::ServerMessage::parse`] at no allocation cost.
//!
//! | command | topic (`platform.twitch.` + …) | payload |
//! |---|---|---|
//! | PRIVMSG | `chat.message` | [`Payload::ChatMessage`] |
//! | WHISPER | `chat.whisper` | [`Payload::Whisper`] |
//! | CLEARCHAT | `mod.chat_cleared` / `mod.user_timed_out` / `mod.user_banned` | … |
//! | CLEARMSG | `mod.message_deleted` | [`Payload::MessageDeleted`] |
//! | USERNOTICE | `stream.notice` (notice = `msg-id`, any value) | [`Payload::StreamNotice`] |
//! | ROOMSTATE | `channel.state` | [`Payload::ChannelState`] |
//! | USERSTATE, GLOBALUSERSTATE | `user.updated` (the bot itself) | [`Payload::UserUpdated`] |
//! | NOTICE | `chat.notice` (notice = `msg-id`) | [`Payload::StreamNotice`] |
//! | JOIN | `channel.joined` (the bot) / `user.joined` | … |
//! | PART | `user.left` | [`Payload::UserLeft`] |
//!
//! Users are identified as `twitch:<user-id>`, the stable numeric id; when a line carries
//! only a login (JOIN, PART, CLEARMSG, old fixtures) the id is `twitch:<login>`. Roles
//! come from the `badges` tag through [`roles_from_twitch_badges`], the one mapping all
//! of botkit uses. An event's timestamp is Twitch's `tmi-sent-ts` when the line has one.

use std::sync::Arc;

use botkit::command::roles_from_twitch_badges;
use botkit::event::{ChatMessage, Event, Payload, Priority, Raw, Roles, Source, User};
use botkit::topic::TopicError;
use serde_json::{Map, Value};

use crate::irc::commands::{
    ClearChatAction, FollowersOnly, NoticeKind, ServerMessage, UserNoticeKind,
};
use crate::irc::{IrcMessage, TagValue};

/// The platform kind in topics and user ids.
pub const PLATFORM: &str = "twitch";

/// Turns typed messages into events for one platform instance.
#[derive(Debug, Clone)]
pub struct Normalizer {
    instance: Arc<str>,
    bot_login: Arc<str>,
    bot_user_id: Option<Arc<str>>,
}

impl Normalizer {
    /// A normalizer for instance `instance` logged in as `bot_login`.
    pub fn new(instance: &str, bot_login: &str) -> Self {
        Self {
            instance: Arc::from(instance),
            bot_login: Arc::from(bot_login.to_ascii_lowercase()),
            bot_user_id: None,
        }
    }

    /// Records the bot's user id (from `GLOBALUSERSTATE`), used for its own events.
    pub fn set_bot_user_id(&mut self, id: &str) {
        self.bot_user_id = Some(Arc::from(id));
    }

    /// The bot's login.
    pub fn bot_login(&self) -> &str {
        &self.bot_login
    }

    fn source(&self, channel: Option<&str>) -> Source {
        Source::new(PLATFORM, &self.instance, channel)
    }

    /// The event for one typed message; `received_ms` is the timestamp to use when the
    /// line has no `tmi-sent-ts`.
    pub fn normalize(
        &self,
        msg: &ServerMessage<'_>,
        received_ms: i64,
    ) -> Result<Event, TopicError> {
        let raw = msg.source();
        let (channel, kind, payload, sent_ms) = match msg {
            ServerMessage::Privmsg(m) => {
                let user = user(m.sender_login, m.user_id, m.display_name, m.badges);
                let chat = ChatMessage {
                    id: m.message_id.map(str::to_owned),
                    reply_to: m.reply.map(|r| r.message_id.to_owned()),
                    is_action: m.is_action,
                    is_history: m.historical,
                    ..ChatMessage::new(user, m.text)
                };
                (
                    Some(m.channel),
                    "chat.message",
                    Payload::ChatMessage(chat),
                    m.sent_ms,
                )
            }
            ServerMessage::Whisper(m) => {
                let user = user(m.sender_login, m.user_id, m.display_name, m.badges);
                let chat = ChatMessage {
                    id: m.message_id.map(str::to_owned),
                    ..ChatMessage::new(user, m.text)
                };
                (None, "chat.whisper", Payload::Whisper(chat), None)
            }
            ServerMessage::ClearChat(m) => {
                let reason = m.reason.map(|r| r.unescape().into_owned());
                let (kind, payload) = match m.action {
                    ClearChatAction::Ban { login, user_id } => (
                        "mod.user_banned",
                        Payload::UserBanned {
                            user: user(login, user_id, None, None),
                            reason,
                        },
                    ),
                    ClearChatAction::Timeout {
                        login,
                        user_id,
                        duration_secs,
                    } => (
                        "mod.user_timed_out",
                        Payload::UserTimedOut {
                            user: user(login, user_id, None, None),
                            duration_secs,
                            reason,
                        },
                    ),
                    _ => ("mod.chat_cleared", Payload::ChatCleared),
                };
                (m.channel, kind, payload, m.sent_ms)
            }
            ServerMessage::ClearMsg(m) => match m.message_id {
                Some(id) => (
                    Some(m.channel),
                    "mod.message_deleted",
                    Payload::MessageDeleted {
                        message_id: id.to_owned(),
                        user: m.sender_login.map(|l| user(l, None, None, None)),
                    },
                    m.sent_ms,
                ),
                None => return self.raw(raw, received_ms),
            },
            ServerMessage::UserNotice(m) => {
                let notice = match m.kind {
                    UserNoticeKind::Other("") => "usernotice".to_owned(),
                    _ => m.msg_id.to_owned(),
                };
                let text = m
                    .text
                    .map(str::to_owned)
                    .or_else(|| m.system_message.map(|s| s.unescape().into_owned()))
                    .filter(|t| !t.is_empty());
                let payload = Payload::StreamNotice {
                    notice,
                    user: m
                        .sender_login
                        .map(|l| user(l, m.user_id, m.display_name, m.badges)),
                    text,
                };
                (Some(m.channel), "stream.notice", payload, m.sent_ms)
            }
            ServerMessage::RoomState(m) => {
                let mut state = Map::new();
                let mut put = |key: &str, value: Option<Value>| {
                    if let Some(v) = value {
                        state.insert(key.to_owned(), v);
                    }
                };
                put("room_id", m.room_id.map(Value::from));
                put("emote_only", m.emote_only.map(Value::from));
                put(
                    "followers_only_minutes",
                    m.followers_only.map(|f| match f {
                        FollowersOnly::Minutes(n) => Value::from(n),
                        _ => Value::Null,
                    }),
                );
                put("r9k", m.r9k.map(Value::from));
                put("slow_secs", m.slow_secs.map(Value::from));
                put("subs_only", m.subs_only.map(Value::from));
                (
                    Some(m.channel),
                    "channel.state",
                    Payload::ChannelState(Value::Object(state)),
                    None,
                )
            }
            ServerMessage::UserState(m) => {
                let bot = self.bot_user(m.display_name, m.badges);
                (
                    Some(m.channel),
                    "user.updated",
                    Payload::UserUpdated(bot),
                    None,
                )
            }
            ServerMessage::GlobalUserState(m) => {
                let mut bot = self.bot_user(m.display_name, None);
                if let Some(id) = m.user_id {
                    bot.id = Arc::from(format!("{PLATFORM}:{id}"));
                }
                (None, "user.updated", Payload::UserUpdated(bot), None)
            }
            ServerMessage::Notice(m) => {
                let notice = match (m.msg_id, m.kind()) {
                    (Some(id), _) => id,
                    (None, NoticeKind::AuthFailed) => "auth_failed",
                    (None, _) => "notice",
                };
                let payload = Payload::StreamNotice {
                    notice: notice.to_owned(),
                    user: None,
                    text: Some(m.text.to_owned()),
                };
                (m.channel, "chat.notice", payload, None)
            }
            ServerMessage::Join(m) if m.login.eq_ignore_ascii_case(&self.bot_login) => (
                Some(m.channel),
                "channel.joined",
                Payload::ChannelJoined,
                None,
            ),
            ServerMessage::Join(m) => (
                Some(m.channel),
                "user.joined",
                Payload::UserJoined(user(m.login, None, None, None)),
                None,
            ),
            ServerMessage::Part(m) => (
                Some(m.channel),
                "user.left",
                Payload::UserLeft(user(m.login, None, None, None)),
                None,
            ),
            _ => return self.raw(raw, received_ms),
        };
        let event = Event::platform(self.source(channel), kind, payload)?;
        Ok(finish(event, raw.raw(), sent_ms.unwrap_or(received_ms)))
    }

    /// The `platform.twitch.raw.<command>` event for a line with no normalized kind (or
    /// whose structure is wrong for its command).
    pub fn raw(&self, msg: &IrcMessage<'_>, received_ms: i64) -> Result<Event, TopicError> {
        let name = msg.command().name().into_owned();
        let kind = format!("raw.{}", name.to_ascii_lowercase());
        let event = Event::platform(
            self.source(msg.channel_login()),
            &kind,
            Payload::Raw { name },
        )?
        .with_priority(Priority::Low);
        Ok(finish(event, msg.raw(), received_ms))
    }

    /// Parses and normalizes one line. `None` when the line is not IRC at all (the
    /// session logs and skips it); a line that is IRC but not a valid Twitch command
    /// becomes a raw event.
    pub fn line(&self, line: &str, received_ms: i64) -> Option<Result<Event, TopicError>> {
        let msg = IrcMessage::parse(line).ok()?;
        Some(match ServerMessage::try_from(msg) {
            Ok(typed) => self.normalize(&typed, received_ms),
            Err(_) => self.raw(&msg, received_ms),
        })
    }

    fn bot_user(&self, display: Option<TagValue<'_>>, badges: Option<&str>) -> User {
        let id = self.bot_user_id.as_deref().unwrap_or(&self.bot_login);
        user(&self.bot_login, Some(id), display, badges)
    }
}

fn finish(mut event: Event, line: &str, timestamp_ms: i64) -> Event {
    event.timestamp_ms = timestamp_ms;
    event.with_raw(Raw::Text(line.to_owned()))
}

/// A Twitch user: id `twitch:<user-id>` (or `twitch:<login>` without one), the login as
/// name, the unescaped display name (the login when empty) and roles from the badges.
fn user(
    login: &str,
    user_id: Option<&str>,
    display: Option<TagValue<'_>>,
    badges: Option<&str>,
) -> User {
    let id = user_id.filter(|id| !id.is_empty()).unwrap_or(login);
    let display = display
        .map(|d| d.unescape())
        .filter(|d| !d.trim().is_empty())
        .map_or_else(|| login.to_owned(), |d| d.trim().to_owned());
    User {
        id: Arc::from(format!("{PLATFORM}:{id}")),
        name: Arc::from(login),
        display_name: Arc::from(display),
        roles: badges.map_or_else(Roles::everyone, roles_from_twitch_badges),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use botkit::event::Role;

    fn one(line: &str) -> Event {
        Normalizer::new("main", "mybot")
            .line(line, 1)
            .expect("IRC")
            .expect("topic")
    }

    #[test]
    fn privmsg_becomes_chat_message() {
        let e = one(
            "@badge-info=subscriber/16;badges=moderator/1,subscriber/12;color=#19E6E6;display-name=randers;emotes=;id=6e2c;mod=1;room-id=11148817;tmi-sent-ts=1577040814959;user-id=40286300 :randers!randers@randers.tmi.twitch.tv PRIVMSG #pajlada :Pajapains",
        );
        assert_eq!(e.topic.as_str(), "platform.twitch.chat.message");
        assert_eq!(e.channel(), Some("pajlada"));
        assert_eq!(e.timestamp_ms, 1577040814959);
        let user = e.user().unwrap();
        assert_eq!(&*user.id, "twitch:40286300");
        assert!(user.roles.has(Role::Moderator));
        assert!(user.roles.has(Role::Subscriber));
    }

    #[test]
    fn own_join_is_channel_joined() {
        let e = one(":mybot!mybot@mybot.tmi.twitch.tv JOIN #somechannel");
        assert_eq!(e.topic.as_str(), "platform.twitch.channel.joined");
        let e = one(":other!other@other.tmi.twitch.tv JOIN #somechannel");
        assert_eq!(e.topic.as_str(), "platform.twitch.user.joined");
    }

    #[test]
    fn malformed_known_command_is_raw() {
        let e = one("PRIVMSG #");
        assert_eq!(e.topic.as_str(), "platform.twitch.raw.privmsg");
        assert_eq!(e.raw, Some(Raw::Text("PRIVMSG #".to_owned())));
        assert!(Normalizer::new("main", "mybot").line("P!NG", 0).is_none());
    }
}
