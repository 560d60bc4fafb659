//! The event model: what flows over the bus.
//!
//! Every platform turns its wire traffic into [`Event`]s with a typed [`Payload`], so a
//! plugin written against `platform.*.chat.message` works on Twitch, CyTube and the shell
//! alike. Nothing is lost in normalization: the platform's own frame is kept in
//! [`Event::raw`], and traffic with no normalized kind is published as
//! `platform.<platform>.raw.<name>` with [`Payload::Raw`].
//!
//! Events are serde-serializable so they can cross a process boundary (NATS), but in
//! process they travel as `Arc<Event>` and are never serialized.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::action::{Action, Outcome};
use crate::topic::{Topic, TopicError};

/// A unique, roughly time-ordered event id: 48 bits of Unix milliseconds, then 80 bits that
/// are unique within the process (a random per-process prefix and a counter).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(u128);

static ID_COUNTER: AtomicU64 = AtomicU64::new(0);
static ID_PREFIX: std::sync::OnceLock<u16> = std::sync::OnceLock::new();

impl EventId {
    /// A fresh id, unique within this process and very likely across processes.
    pub fn new() -> Self {
        let ms = now_millis() as u128 & ((1 << 48) - 1);
        let prefix = *ID_PREFIX.get_or_init(|| fastrand::u16(..)) as u128;
        let n = ID_COUNTER.fetch_add(1, Ordering::Relaxed) as u128;
        Self((ms << 80) | (prefix << 64) | n)
    }

    /// Builds an id from its 128-bit value (e.g. read back from storage).
    pub const fn from_u128(v: u128) -> Self {
        Self(v)
    }

    /// The 128-bit value of the id.
    pub const fn as_u128(self) -> u128 {
        self.0
    }
}

impl Default for EventId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({self})")
    }
}

impl std::str::FromStr for EventId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u128::from_str_radix(s, 16).map(Self)
    }
}

impl Serialize for EventId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Milliseconds since the Unix epoch, by the wall clock.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Delivery priority. Subscribers drain higher priorities first; within one priority,
/// events arrive in publish order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Never dropped: connection state, shutdown, failures.
    Critical = 0,
    /// Moderation and commands.
    High = 1,
    /// Ordinary chat traffic.
    #[default]
    Normal = 2,
    /// Analytics, presence and other traffic that may be shed first.
    Low = 3,
}

impl Priority {
    /// All priorities, highest first.
    pub const ALL: [Priority; 4] = [
        Priority::Critical,
        Priority::High,
        Priority::Normal,
        Priority::Low,
    ];

    /// Index 0 (critical) to 3 (low).
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Where an event came from: which platform, which configured instance of it (one
/// account), and which channel, if any.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Source {
    /// Platform kind, e.g. `twitch`, `cytube`, `shell`.
    pub platform: Arc<str>,
    /// The configured instance id (several accounts on one platform have several).
    pub instance: Arc<str>,
    /// The channel or room, when the event belongs to one.
    pub channel: Option<Arc<str>>,
}

impl Source {
    /// A source with a channel.
    pub fn new(platform: &str, instance: &str, channel: Option<&str>) -> Self {
        Self {
            platform: Arc::from(platform),
            instance: Arc::from(instance),
            channel: channel.map(Arc::from),
        }
    }

    /// The source of events the bot itself makes (plugins, lifecycle).
    pub fn bot() -> Self {
        Self::new("bot", "bot", None)
    }

    /// The same source in another channel.
    #[must_use]
    pub fn with_channel(&self, channel: &str) -> Self {
        Self {
            channel: Some(Arc::from(channel)),
            ..self.clone()
        }
    }
}

/// A role a user holds in a channel. Roles are ranked: a command that needs
/// [`Role::Moderator`] accepts moderators, broadcasters and owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Anyone.
    Everyone = 0,
    /// A paying subscriber (Twitch) or a registered user (CyTube rank ≥ 1).
    Subscriber = 1,
    /// A Twitch VIP.
    Vip = 2,
    /// A channel moderator.
    Moderator = 3,
    /// The channel's broadcaster or owner on the platform.
    Broadcaster = 4,
    /// An owner of the bot, named in `bot.owners`.
    Owner = 5,
}

impl Role {
    /// All roles, lowest first.
    pub const ALL: [Role; 6] = [
        Role::Everyone,
        Role::Subscriber,
        Role::Vip,
        Role::Moderator,
        Role::Broadcaster,
        Role::Owner,
    ];

    /// The role's lowercase name as used in config and chat.
    pub const fn name(self) -> &'static str {
        match self {
            Role::Everyone => "everyone",
            Role::Subscriber => "subscriber",
            Role::Vip => "vip",
            Role::Moderator => "moderator",
            Role::Broadcaster => "broadcaster",
            Role::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        Role::ALL
            .into_iter()
            .find(|r| r.name() == lower || (lower == "mod" && *r == Role::Moderator))
            .ok_or_else(|| {
                format!(
                    "unknown role `{s}`; expected one of everyone, subscriber, vip, moderator, broadcaster, owner"
                )
            })
    }
}

/// The set of roles a user holds. [`Role::Everyone`] is always in it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "Vec<Role>", into = "Vec<Role>")]
pub struct Roles(u8);

impl Roles {
    /// Only [`Role::Everyone`].
    pub const fn everyone() -> Self {
        Self(1)
    }

    /// A set holding `roles` (and everyone).
    pub fn of(roles: &[Role]) -> Self {
        roles.iter().fold(Self::everyone(), |r, &x| r.with(x))
    }

    /// This set plus `role`.
    #[must_use]
    pub const fn with(self, role: Role) -> Self {
        Self(self.0 | (1 << role as u8))
    }

    /// Whether the set holds exactly this role.
    pub const fn has(self, role: Role) -> bool {
        self.0 & (1 << role as u8) != 0
    }

    /// The highest role in the set.
    pub fn highest(self) -> Role {
        Role::ALL
            .into_iter()
            .rev()
            .find(|r| self.has(*r))
            .unwrap_or(Role::Everyone)
    }

    /// Whether the set satisfies a requirement of `role` (holds it or a higher one).
    pub fn at_least(self, role: Role) -> bool {
        self.highest() >= role
    }

    /// The roles in the set, lowest first.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.has(*r))
    }
}

impl Default for Roles {
    fn default() -> Self {
        Self::everyone()
    }
}

impl fmt::Debug for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl From<Vec<Role>> for Roles {
    fn from(v: Vec<Role>) -> Self {
        Roles::of(&v)
    }
}

impl From<Roles> for Vec<Role> {
    fn from(r: Roles) -> Self {
        r.iter().collect()
    }
}

/// A chat user. The id is platform-qualified (`twitch:12345`, `cytube:alice`) so users of
/// different platforms never collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct User {
    /// Platform-qualified id, e.g. `twitch:141981764`.
    pub id: Arc<str>,
    /// Login or account name, lowercase where the platform folds case.
    pub name: Arc<str>,
    /// Name as shown in chat.
    pub display_name: Arc<str>,
    /// Roles held in the channel the event came from.
    pub roles: Roles,
}

impl User {
    /// A user with the id `<platform>:<name>`, display name = name, and `roles`.
    pub fn new(platform: &str, name: &str, roles: Roles) -> Self {
        Self {
            id: Arc::from(format!("{platform}:{name}")),
            name: Arc::from(name),
            display_name: Arc::from(name),
            roles,
        }
    }

    /// Whether the user's roles satisfy `role`.
    pub fn is_at_least(&self, role: Role) -> bool {
        self.roles.at_least(role)
    }
}

/// A chat message as every platform delivers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The platform's message id, when it has one (needed to delete or reply).
    pub id: Option<String>,
    /// Who wrote it.
    pub user: User,
    /// Plain text (HTML removed, entities decoded).
    pub text: String,
    /// The text as the platform sent it, when it differs (e.g. CyTube's sanitized HTML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<String>,
    /// `/me` or IRC ACTION.
    #[serde(default)]
    pub is_action: bool,
    /// The id of the message this one replies to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Whether the platform marked this as history replayed on join rather than live chat.
    #[serde(default)]
    pub is_history: bool,
}

impl ChatMessage {
    /// A live message with no id.
    pub fn new(user: User, text: impl Into<String>) -> Self {
        Self {
            id: None,
            user,
            text: text.into(),
            original: None,
            is_action: false,
            reply_to: None,
            is_history: false,
        }
    }
}

/// A media item in a playlist (CyTube) or a now-playing entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    /// Playlist-unique id of the entry, when the platform has one.
    pub uid: Option<String>,
    /// Media provider code, e.g. `yt`, `vi`, `fi`.
    pub provider: String,
    /// Provider's id for the media.
    pub id: String,
    /// Title.
    pub title: String,
    /// Duration in seconds (0 for live).
    pub duration_secs: f64,
    /// Who queued it, when known.
    pub queued_by: Option<String>,
}

/// The typed, normalized content of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Payload {
    /// `chat.message`
    ChatMessage(ChatMessage),
    /// `chat.whisper`: a private message to the bot.
    Whisper(ChatMessage),
    /// `user.joined`
    UserJoined(User),
    /// `user.left`
    UserLeft(User),
    /// `user.updated`: rank, AFK, mute or name change.
    UserUpdated(User),
    /// `mod.message_deleted`
    MessageDeleted {
        /// Id of the deleted message.
        message_id: String,
        /// Author of the deleted message, when known.
        user: Option<User>,
    },
    /// `mod.user_timed_out`
    UserTimedOut {
        /// Who was timed out.
        user: User,
        /// For how long, in seconds.
        duration_secs: u64,
        /// The reason given, if any.
        reason: Option<String>,
    },
    /// `mod.user_banned`
    UserBanned {
        /// Who was banned.
        user: User,
        /// The reason given, if any.
        reason: Option<String>,
    },
    /// `mod.chat_cleared`
    ChatCleared,
    /// `media.changed`: now playing.
    MediaChanged(Media),
    /// `media.queued`
    MediaQueued {
        /// The new entry.
        media: Media,
        /// Uid of the entry it was queued after, if any.
        after: Option<String>,
    },
    /// `media.removed`
    MediaRemoved {
        /// Uid of the removed entry.
        uid: String,
    },
    /// `media.moved`
    MediaMoved {
        /// Uid of the moved entry.
        uid: String,
        /// Uid of the entry it now follows (`None` = top).
        after: Option<String>,
    },
    /// `playlist.snapshot`: the whole playlist.
    PlaylistSnapshot(Vec<Media>),
    /// `channel.joined`: the bot is in the channel.
    ChannelJoined,
    /// `channel.state`: platform-specific channel state (options, MOTD, room state…).
    ChannelState(serde_json::Value),
    /// `channel.user_count`
    UserCount(u64),
    /// `stream.notice`: subs, raids, cheers and other announcements.
    StreamNotice {
        /// The platform's notice kind, e.g. `sub`, `raid`, `cheer`.
        notice: String,
        /// The user the notice is about, if any.
        user: Option<User>,
        /// The text shown in chat, if any.
        text: Option<String>,
    },
    /// `connection.up`
    ConnectionUp,
    /// `connection.down`
    ConnectionDown {
        /// Why the connection went down.
        reason: String,
    },
    /// `command.<name>`: a parsed chat command that passed permission and cooldown checks.
    Command(CommandInvocation),
    /// `action.<platform>.<verb>`: a request to a platform.
    Action(Action),
    /// The answer to an action request.
    Outcome(Outcome),
    /// `plugin.<name>.failed`
    PluginFailed {
        /// Plugin name.
        plugin: String,
        /// What went wrong.
        error: String,
        /// How many times it has failed since start.
        failures: u32,
    },
    /// `bot.*` lifecycle events (`bot.started`, `bot.stopping`).
    Lifecycle(String),
    /// Traffic with no normalized kind, published as `platform.<platform>.raw.<name>`.
    Raw {
        /// The platform's own name for it (event name, IRC command).
        name: String,
    },
    /// A plugin's own event.
    Custom {
        /// The plugin's name for the kind.
        kind: String,
        /// The data.
        data: serde_json::Value,
    },
}

impl Payload {
    /// The user this payload is about, if any (author, joiner, target of moderation).
    pub fn user(&self) -> Option<&User> {
        match self {
            Payload::ChatMessage(m) | Payload::Whisper(m) => Some(&m.user),
            Payload::UserJoined(u) | Payload::UserLeft(u) | Payload::UserUpdated(u) => Some(u),
            Payload::MessageDeleted { user, .. } => user.as_ref(),
            Payload::UserTimedOut { user, .. } | Payload::UserBanned { user, .. } => Some(user),
            Payload::StreamNotice { user, .. } => user.as_ref(),
            Payload::Command(inv) => Some(&inv.message.user),
            _ => None,
        }
    }

    /// The chat message in this payload, if it carries one.
    pub fn chat(&self) -> Option<&ChatMessage> {
        match self {
            Payload::ChatMessage(m) | Payload::Whisper(m) => Some(m),
            Payload::Command(inv) => Some(&inv.message),
            _ => None,
        }
    }
}

/// A chat command as parsed by the command framework, published on `command.<name>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandInvocation {
    /// The command's canonical name (aliases resolved).
    pub name: String,
    /// The arguments, split with quoting rules applied.
    pub args: Vec<String>,
    /// Everything after the command name, as typed.
    pub rest: String,
    /// The chat message that carried the command.
    pub message: ChatMessage,
}

/// The platform's own representation of what it received, kept beside the normalized
/// payload so nothing is lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "format", content = "value", rename_all = "lowercase")]
pub enum Raw {
    /// A text frame (an IRC line).
    Text(String),
    /// A JSON frame (Socket.IO event arguments, EventSub payload).
    Json(serde_json::Value),
}

/// One event on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique id.
    pub id: EventId,
    /// Where it is published.
    pub topic: Topic,
    /// Where it came from.
    pub source: Source,
    /// When it was made, in Unix milliseconds.
    pub timestamp_ms: i64,
    /// Delivery priority.
    pub priority: Priority,
    /// Normalized content.
    pub payload: Payload,
    /// The platform's raw frame, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Raw>,
    /// For a reply: the id of the request it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<EventId>,
    /// For a request: where the reply must be published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Topic>,
}

impl Event {
    /// A new event with a fresh id, the current time and normal priority.
    pub fn new(topic: Topic, source: Source, payload: Payload) -> Self {
        Self {
            id: EventId::new(),
            topic,
            source,
            timestamp_ms: now_millis(),
            priority: Priority::Normal,
            payload,
            raw: None,
            correlation_id: None,
            reply_to: None,
        }
    }

    /// Builds `platform.<source.platform>.<kind>` and the event in one step.
    pub fn platform(source: Source, kind: &str, payload: Payload) -> Result<Self, TopicError> {
        let topic = Topic::platform(&source.platform, kind)?;
        Ok(Self::new(topic, source, payload))
    }

    /// The same event with another priority.
    #[must_use]
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// The same event with the platform's raw frame attached.
    #[must_use]
    pub fn with_raw(mut self, raw: Raw) -> Self {
        self.raw = Some(raw);
        self
    }

    /// The channel the event belongs to, if any.
    pub fn channel(&self) -> Option<&str> {
        self.source.channel.as_deref()
    }

    /// The user the event is about, if any.
    pub fn user(&self) -> Option<&User> {
        self.payload.user()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_ordered() {
        let a = EventId::new();
        let b = EventId::new();
        assert_ne!(a, b);
        assert!(b > a);
        assert_eq!(a.to_string().parse::<EventId>().unwrap(), a);
    }

    #[test]
    fn roles_rank() {
        let r = Roles::of(&[Role::Moderator]);
        assert!(r.at_least(Role::Vip));
        assert!(r.at_least(Role::Moderator));
        assert!(!r.at_least(Role::Broadcaster));
        assert!(Roles::everyone().at_least(Role::Everyone));
        assert_eq!("mod".parse::<Role>().unwrap(), Role::Moderator);
        assert!("king".parse::<Role>().is_err());
    }

    #[test]
    fn event_serde_round_trip() {
        let user = User::new("twitch", "alice", Roles::of(&[Role::Subscriber, Role::Vip]));
        let mut msg = ChatMessage::new(user, "hello <b>world</b>");
        msg.id = Some("abc".into());
        let ev = Event::platform(
            Source::new("twitch", "main", Some("#chan")),
            "chat.message",
            Payload::ChatMessage(msg),
        )
        .unwrap()
        .with_priority(Priority::High)
        .with_raw(Raw::Text("@id=abc :alice PRIVMSG #chan :hello".into()));
        let json = serde_json::to_string(&ev).unwrap();
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ev);
        assert!(json.contains("\"kind\":\"chat_message\""));
    }

    #[test]
    fn every_payload_round_trips() {
        let user = User::new("cytube", "bob", Roles::everyone());
        let media = Media {
            uid: Some("7".into()),
            provider: "yt".into(),
            id: "dQw4w9WgXcQ".into(),
            title: "t".into(),
            duration_secs: 212.0,
            queued_by: Some("bob".into()),
        };
        let payloads = vec![
            Payload::Whisper(ChatMessage::new(user.clone(), "psst")),
            Payload::UserJoined(user.clone()),
            Payload::UserLeft(user.clone()),
            Payload::UserUpdated(user.clone()),
            Payload::MessageDeleted {
                message_id: "m".into(),
                user: Some(user.clone()),
            },
            Payload::UserTimedOut {
                user: user.clone(),
                duration_secs: 600,
                reason: None,
            },
            Payload::UserBanned {
                user: user.clone(),
                reason: Some("spam".into()),
            },
            Payload::ChatCleared,
            Payload::MediaChanged(media.clone()),
            Payload::MediaQueued {
                media: media.clone(),
                after: None,
            },
            Payload::MediaRemoved { uid: "7".into() },
            Payload::MediaMoved {
                uid: "7".into(),
                after: Some("3".into()),
            },
            Payload::PlaylistSnapshot(vec![media]),
            Payload::ChannelJoined,
            Payload::ChannelState(serde_json::json!({"motd": "hi"})),
            Payload::UserCount(12),
            Payload::StreamNotice {
                notice: "raid".into(),
                user: Some(user.clone()),
                text: None,
            },
            Payload::ConnectionUp,
            Payload::ConnectionDown {
                reason: "eof".into(),
            },
            Payload::Action(Action::say(
                Source::new("cytube", "main", Some("room")),
                "hi",
            )),
            Payload::Outcome(Outcome::Done {
                message_id: Some("x".into()),
            }),
            Payload::PluginFailed {
                plugin: "p".into(),
                error: "e".into(),
                failures: 1,
            },
            Payload::Lifecycle("started".into()),
            Payload::Raw {
                name: "setMotd".into(),
            },
            Payload::Custom {
                kind: "k".into(),
                data: serde_json::json!([1, 2]),
            },
        ];
        for p in payloads {
            let json = serde_json::to_string(&p).unwrap();
            let back: Payload = serde_json::from_str(&json).unwrap();
            assert_eq!(back, p, "{json}");
        }
    }
}
