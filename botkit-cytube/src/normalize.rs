//! From typed CyTube events to botkit's normalized events.
//!
//! [`Normalizer`] owns one session's [`ChannelState`] and turns each [`ServerEvent`] into
//! zero or more [`Normalized`] payloads with their topic suffix (`chat.message`,
//! `user.joined`, `media.changed`…). It is where CyTube's quirks are absorbed:
//!
//! * chat arrives as sanitized HTML: the plain text goes in `text`, the HTML in `original`;
//! * the join replays up to 15 old messages: everything between our `joinChannel` and the
//!   `userlist` that completes the join is marked `is_history`;
//! * `[server]` whispers (joins, moderator notices) are `stream.notice`, not chat, and our
//!   own echoed messages and PMs are published raw, so a bot never answers itself;
//! * user roles come from fractional ranks through `botkit::command::roles_from_cytube_rank`,
//!   and user ids are `cytube:<lower-cased name>`.
//!
//! Events with no normalized kind (session answers, polls) are published as `raw.<event>`,
//! changes to channel settings (options, MOTD, permissions, emotes, leader, playback
//! position) as `channel.changed` with `{"event", "data"}`; the caller attaches the frame
//! as `Raw::Json`, so nothing is lost. The full `channel.state` snapshot is the session's
//! job (it is coalesced in time, see [`changes_state`]).

use botkit::command::roles_from_cytube_rank;
use botkit::event::{ChatMessage, Media, Payload, Priority, User};
use serde::Serialize;
use serde_json::{Value, json};

use crate::events::{ChatMsg, MediaInfo, PlaylistItem, Position, ServerEvent};
use crate::html::to_plain_text;
use crate::state::ChannelState;

/// The platform kind in topics and user ids.
pub const PLATFORM: &str = "cytube";

/// One normalized event: the topic suffix after `platform.cytube.`, the payload, and the
/// priority to publish it with.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// E.g. `chat.message` or `raw.login`.
    pub kind: String,
    /// The payload.
    pub payload: Payload,
    /// Delivery priority.
    pub priority: Priority,
}

impl Normalized {
    fn new(kind: &str, payload: Payload) -> Self {
        Self {
            kind: kind.to_owned(),
            payload,
            priority: Priority::Normal,
        }
    }

    fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }
}

/// A topic token made from an event name: characters a topic cannot hold become `_`.
pub fn topic_token(name: &str) -> String {
    let token: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if token.is_empty() {
        "_".to_owned()
    } else {
        token
    }
}

/// A botkit user for a CyTube name and rank.
pub fn user(name: &str, rank: f64) -> User {
    let mut user = User::new(PLATFORM, &name.to_lowercase(), roles_from_cytube_rank(rank));
    user.display_name = name.into();
    user
}

/// A botkit media entry for a CyTube media item.
pub fn media(info: &MediaInfo, uid: Option<u64>, queued_by: Option<&str>) -> Media {
    Media {
        uid: uid.map(|u| u.to_string()),
        provider: info.kind.clone(),
        id: info.id.clone(),
        title: info.title.clone(),
        duration_secs: info.seconds,
        queued_by: queued_by.map(str::to_owned),
    }
}

fn item_media(item: &PlaylistItem) -> Media {
    media(&item.media, Some(item.uid), Some(&item.queueby))
}

fn after_uid(after: Position) -> Option<String> {
    match after {
        Position::After(uid) => Some(uid.to_string()),
        Position::End(_) => None,
    }
}

fn state_payload<T: Serialize>(event: &str, data: &T) -> Payload {
    let data = serde_json::to_value(data).unwrap_or(Value::Null);
    Payload::ChannelState(json!({ "event": event, "data": data }))
}

/// Whether `event` changes the channel state in a way a `channel.state` snapshot should
/// show. Playback ticks (`mediaUpdate` every 5 s), the throttled user count, the drink
/// counter and voteskip tallies do not: they would turn the snapshot into a clock.
pub fn changes_state(event: &ServerEvent) -> bool {
    use ServerEvent as E;
    matches!(
        event,
        E::Rank(_)
            | E::Login(_)
            | E::UserList(_)
            | E::AddUser(_)
            | E::UserLeave(_)
            | E::SetUserMeta(_)
            | E::SetAfk(_)
            | E::SetUserRank(_)
            | E::SetUserProfile(_)
            | E::SetLeader(_)
            | E::ChannelOpts(_)
            | E::SetPermissions(_)
            | E::SetMotd(_)
            | E::EmoteList(_)
            | E::UpdateEmote(_)
            | E::RemoveEmote(_)
            | E::RenameEmote(_)
            | E::Playlist(_)
            | E::SetPlaylistLocked(_)
            | E::Queue(_)
            | E::Delete(_)
            | E::MoveVideo(_)
            | E::SetTemp(_)
            | E::SetCurrent(_)
            | E::ChangeMedia(_)
            | E::NewPoll(_)
            | E::UpdatePoll(_)
            | E::ClosePoll
    )
}

/// The `channel.state` payload: the whole [`ChannelState`] as JSON.
pub fn snapshot_payload(state: &ChannelState) -> Payload {
    Payload::ChannelState(serde_json::to_value(state).unwrap_or(Value::Null))
}

/// One session's normalizer: channel state plus the join-backlog flag.
#[derive(Debug, Clone)]
pub struct Normalizer {
    state: ChannelState,
    in_backlog: bool,
}

impl Default for Normalizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Normalizer {
    /// A normalizer for a fresh session.
    pub fn new() -> Self {
        Self {
            state: ChannelState::new(),
            in_backlog: false,
        }
    }

    /// The channel state so far.
    pub fn state(&self) -> &ChannelState {
        &self.state
    }

    /// Forgets everything (a reconnect is a brand-new session for CyTube).
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Call when `joinChannel` is sent (or a channel password is accepted): chat until the
    /// join's `userlist` is the replayed backlog.
    pub fn join_started(&mut self) {
        self.in_backlog = true;
    }

    /// Whether chat arriving now is join backlog.
    pub fn in_backlog(&self) -> bool {
        self.in_backlog
    }

    fn is_me(&self, name: &str) -> bool {
        self.state
            .me
            .as_deref()
            .is_some_and(|me| me.eq_ignore_ascii_case(name))
    }

    fn rank_of(&self, name: &str) -> f64 {
        self.state.user(name).map_or(0.0, |u| u.rank)
    }

    fn chat_message(&self, msg: &ChatMsg) -> ChatMessage {
        let text = to_plain_text(&msg.msg);
        let mut out = ChatMessage::new(user(&msg.username, self.rank_of(&msg.username)), text);
        if out.text != msg.msg {
            out.original = Some(msg.msg.clone());
        }
        out.is_action = msg.is_action();
        out.is_history = self.in_backlog;
        out
    }

    fn raw(name: &str) -> Normalized {
        Normalized::new(
            &format!("raw.{}", topic_token(name)),
            Payload::Raw {
                name: name.to_owned(),
            },
        )
    }

    /// Folds `event` into the state and returns what to publish.
    pub fn handle(&mut self, event: &ServerEvent) -> Vec<Normalized> {
        // What a user looked like before the event (for `user.left`).
        let before = match event {
            ServerEvent::UserLeave(u) => self.state.user(&u.name).cloned(),
            _ => None,
        };
        self.state.apply(event);
        if matches!(event, ServerEvent::CancelNeedPassword) {
            // The password was accepted: the normal join burst, with its backlog, follows.
            self.in_backlog = true;
        }
        let name = event.name();
        let out = match event {
            ServerEvent::ChatMsg(msg) if msg.is_server_whisper() => Normalized::new(
                "stream.notice",
                Payload::StreamNotice {
                    notice: "server_whisper".to_owned(),
                    user: None,
                    text: Some(to_plain_text(&msg.msg)),
                },
            ),
            ServerEvent::ChatMsg(msg) if self.is_me(&msg.username) && !self.in_backlog => {
                Self::raw(name)
            }
            ServerEvent::ChatMsg(msg) => {
                Normalized::new("chat.message", Payload::ChatMessage(self.chat_message(msg)))
            }
            ServerEvent::Pm(msg) if !self.is_me(&msg.username) => {
                Normalized::new("chat.whisper", Payload::Whisper(self.chat_message(msg)))
                    .with_priority(Priority::High)
            }
            ServerEvent::ClearChat(_) => Normalized::new("mod.chat_cleared", Payload::ChatCleared)
                .with_priority(Priority::High),
            ServerEvent::UserList(_) if self.in_backlog => {
                self.in_backlog = false;
                Normalized::new("channel.joined", Payload::ChannelJoined)
                    .with_priority(Priority::High)
            }
            ServerEvent::AddUser(u) => {
                Normalized::new("user.joined", Payload::UserJoined(user(&u.name, u.rank)))
            }
            ServerEvent::UserLeave(u) => {
                let rank = before.map_or(0.0, |b| b.rank);
                Normalized::new("user.left", Payload::UserLeft(user(&u.name, rank)))
            }
            ServerEvent::SetUserMeta(m) if self.state.user(&m.name).is_some() => {
                self.user_updated(&m.name)
            }
            ServerEvent::SetUserRank(m) if self.state.user(&m.name).is_some() => {
                self.user_updated(&m.name)
            }
            ServerEvent::SetUserProfile(m) if self.state.user(&m.name).is_some() => {
                self.user_updated(&m.name)
            }
            ServerEvent::UserCount(n) => {
                Normalized::new("channel.user_count", Payload::UserCount(*n))
                    .with_priority(Priority::Low)
            }
            ServerEvent::ChangeMedia(m) => {
                let uid = self.state.current_uid;
                let queued_by = self.state.current_item().map(|i| i.queueby.clone());
                Normalized::new(
                    "media.changed",
                    Payload::MediaChanged(media(&m.media, uid, queued_by.as_deref())),
                )
            }
            ServerEvent::Queue(q) => Normalized::new(
                "media.queued",
                Payload::MediaQueued {
                    media: item_media(&q.item),
                    after: after_uid(q.after),
                },
            ),
            ServerEvent::Delete(d) => Normalized::new(
                "media.removed",
                Payload::MediaRemoved {
                    uid: d.uid.to_string(),
                },
            ),
            ServerEvent::MoveVideo(m) => Normalized::new(
                "media.moved",
                Payload::MediaMoved {
                    uid: m.from.to_string(),
                    after: after_uid(m.after),
                },
            ),
            ServerEvent::Playlist(items) => Normalized::new(
                "playlist.snapshot",
                Payload::PlaylistSnapshot(items.iter().map(item_media).collect()),
            ),
            ServerEvent::ChannelOpts(o) => {
                Normalized::new("channel.changed", state_payload(name, o))
            }
            ServerEvent::SetPermissions(p) => {
                Normalized::new("channel.changed", state_payload(name, p))
            }
            ServerEvent::SetMotd(m) => Normalized::new("channel.changed", state_payload(name, m)),
            ServerEvent::EmoteList(e) => Normalized::new("channel.changed", state_payload(name, e)),
            ServerEvent::ChannelCssJs(c) => {
                Normalized::new("channel.changed", state_payload(name, c))
            }
            ServerEvent::SetPlaylistLocked(l) => {
                Normalized::new("channel.changed", state_payload(name, l))
            }
            ServerEvent::SetLeader(l) => Normalized::new("channel.changed", state_payload(name, l)),
            ServerEvent::SetPlaylistMeta(m) => {
                Normalized::new("channel.changed", state_payload(name, m))
                    .with_priority(Priority::Low)
            }
            ServerEvent::MediaUpdate(m) => {
                Normalized::new("channel.changed", state_payload(name, m))
                    .with_priority(Priority::Low)
            }
            ServerEvent::Kick(_) => Self::raw(name).with_priority(Priority::Critical),
            ServerEvent::Login(_)
            | ServerEvent::NeedPassword(_)
            | ServerEvent::ErrorMsg(_)
            | ServerEvent::Cooldown(_) => Self::raw(name).with_priority(Priority::High),
            _ => Self::raw(name),
        };
        vec![out]
    }

    fn user_updated(&self, name: &str) -> Normalized {
        let rank = self.rank_of(name);
        let display = self.state.user(name).map_or(name, |u| u.name.as_str());
        Normalized::new("user.updated", Payload::UserUpdated(user(display, rank)))
    }
}
