//! The channel state a session keeps: users, playlist, playback, MOTD, options,
//! permissions, emotes.
//!
//! CyTube sends the whole state on join and then only changes, so a bot that wants to know
//! "who is here" or "what is playing" must fold the events itself. [`ChannelState::apply`]
//! is that fold: a pure function of the event stream, so it is tested on the recorded
//! captures and the platform exposes a cheap [`Clone`] of it as the snapshot. Users are
//! keyed by lower-cased name because CyTube compares names case-insensitively.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::events::{
    ChangeMedia, ChannelOpts, Emote, End, MediaUpdate, Permissions, PlaylistItem, PlaylistMeta,
    Poll, Position, ServerEvent, UserInfo, Voteskip,
};

/// Everything known about one channel, as seen by one session.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ChannelState {
    /// Our own name once logged in.
    pub me: Option<String>,
    /// Our own effective rank (-1 until logged in).
    pub my_rank: f64,
    /// Whether we logged in as a guest.
    pub guest: bool,
    /// Logged-in users by lower-cased name.
    pub users: BTreeMap<String, UserInfo>,
    /// The playlist in order.
    pub playlist: Vec<PlaylistItem>,
    /// Playlist totals.
    pub playlist_meta: PlaylistMeta,
    /// Whether the playlist is locked.
    pub playlist_locked: bool,
    /// Uid of the entry playing.
    pub current_uid: Option<u64>,
    /// What is playing, with the position when it started.
    pub current: Option<ChangeMedia>,
    /// Playback position in seconds (updated by `mediaUpdate`).
    pub current_time: f64,
    /// Whether playback is paused.
    pub paused: bool,
    /// Message of the day (HTML).
    pub motd: String,
    /// Channel options.
    pub options: ChannelOpts,
    /// Permission node → minimum rank.
    pub permissions: Permissions,
    /// Emotes.
    pub emotes: Vec<Emote>,
    /// The leader, if any.
    pub leader: Option<String>,
    /// Sockets in the channel, as last reported (throttled by the server).
    pub usercount: Option<u64>,
    /// The drink counter.
    pub drink_count: f64,
    /// The open poll.
    pub poll: Option<Poll>,
    /// The last voteskip tally.
    pub voteskip: Option<Voteskip>,
    /// Whether the server said the channel is not registered.
    pub unregistered: bool,
}

fn key(name: &str) -> String {
    name.to_lowercase()
}

impl ChannelState {
    /// A fresh state: anonymous, nothing known.
    pub fn new() -> Self {
        Self {
            my_rank: -1.0,
            ..Self::default()
        }
    }

    /// The user called `name` (case-insensitive).
    pub fn user(&self, name: &str) -> Option<&UserInfo> {
        self.users.get(&key(name))
    }

    /// The users in the order CyTube lists them: highest rank first, then by name.
    pub fn user_list(&self) -> Vec<&UserInfo> {
        let mut users: Vec<&UserInfo> = self.users.values().collect();
        users.sort_by(|a, b| {
            b.rank
                .total_cmp(&a.rank)
                .then_with(|| key(&a.name).cmp(&key(&b.name)))
        });
        users
    }

    /// The playlist entry with `uid`.
    pub fn item(&self, uid: u64) -> Option<&PlaylistItem> {
        self.playlist.iter().find(|i| i.uid == uid)
    }

    /// The entry playing now.
    pub fn current_item(&self) -> Option<&PlaylistItem> {
        self.current_uid.and_then(|uid| self.item(uid))
    }

    /// The minimum rank for permission `node`, if the channel sent it.
    pub fn permission(&self, node: &str) -> Option<f64> {
        self.permissions.get(node).copied()
    }

    /// Whether our rank satisfies permission `node`. Unknown nodes are refused.
    pub fn may(&self, node: &str) -> bool {
        self.permission(node).is_some_and(|min| self.my_rank >= min)
    }

    fn insert_at(&mut self, item: PlaylistItem, after: Position) {
        let at = match after {
            Position::End(End::Prepend) => 0,
            Position::End(End::Append) => self.playlist.len(),
            Position::After(uid) => self
                .playlist
                .iter()
                .position(|i| i.uid == uid)
                .map_or(self.playlist.len(), |i| i + 1),
        };
        self.playlist.insert(at.min(self.playlist.len()), item);
    }

    /// Folds one event into the state.
    pub fn apply(&mut self, event: &ServerEvent) {
        match event {
            ServerEvent::Rank(rank) => self.my_rank = *rank,
            ServerEvent::Login(reply) if reply.success => {
                self.me.clone_from(&reply.name);
                self.guest = reply.guest.unwrap_or(false);
            }
            ServerEvent::ChannelNotRegistered => self.unregistered = true,
            ServerEvent::UserList(users) => {
                self.users = users.iter().map(|u| (key(&u.name), u.clone())).collect();
            }
            ServerEvent::AddUser(user) => {
                self.users.insert(key(&user.name), user.clone());
            }
            ServerEvent::UserLeave(user) => {
                self.users.remove(&key(&user.name));
            }
            ServerEvent::SetUserMeta(m) => {
                if let Some(user) = self.users.get_mut(&key(&m.name)) {
                    user.meta = m.meta.clone();
                }
            }
            ServerEvent::SetAfk(m) => {
                if let Some(user) = self.users.get_mut(&key(&m.name)) {
                    user.meta.afk = m.afk;
                }
            }
            ServerEvent::SetUserRank(m) => {
                // May precede the user's `addUser`, which carries the rank again.
                if let Some(user) = self.users.get_mut(&key(&m.name)) {
                    user.rank = m.rank;
                }
            }
            ServerEvent::SetUserProfile(m) => {
                if let Some(user) = self.users.get_mut(&key(&m.name)) {
                    user.profile = m.profile.clone();
                }
            }
            ServerEvent::SetLeader(name) => {
                self.leader = (!name.is_empty()).then(|| name.clone());
            }
            ServerEvent::UserCount(n) => self.usercount = Some(*n),
            ServerEvent::ChannelOpts(opts) => self.options = (**opts).clone(),
            ServerEvent::SetPermissions(p) => self.permissions = p.clone(),
            ServerEvent::SetMotd(motd) => self.motd.clone_from(motd),
            ServerEvent::EmoteList(list) => self.emotes = list.clone(),
            ServerEvent::UpdateEmote(e) => {
                match self.emotes.iter_mut().find(|x| x.name == e.name) {
                    Some(existing) => *existing = e.clone(),
                    None => self.emotes.push(e.clone()),
                }
            }
            ServerEvent::RemoveEmote(e) => self.emotes.retain(|x| x.name != e.name),
            ServerEvent::RenameEmote(r) => {
                if let Some(existing) = self.emotes.iter_mut().find(|x| x.name == r.old) {
                    existing.name.clone_from(&r.name);
                }
            }
            ServerEvent::DrinkCount(n) => self.drink_count = *n,
            ServerEvent::Playlist(items) => self.playlist = items.clone(),
            ServerEvent::SetPlaylistMeta(meta) => self.playlist_meta = meta.clone(),
            ServerEvent::SetPlaylistLocked(locked) => self.playlist_locked = *locked,
            ServerEvent::Queue(q) => self.insert_at(q.item.clone(), q.after),
            ServerEvent::Delete(d) => self.playlist.retain(|i| i.uid != d.uid),
            ServerEvent::MoveVideo(m) => {
                if let Some(at) = self.playlist.iter().position(|i| i.uid == m.from) {
                    let item = self.playlist.remove(at);
                    self.insert_at(item, m.after);
                }
            }
            ServerEvent::SetTemp(t) => {
                if let Some(item) = self.playlist.iter_mut().find(|i| i.uid == t.uid) {
                    item.temp = t.temp;
                }
            }
            ServerEvent::SetCurrent(uid) => self.current_uid = Some(*uid),
            ServerEvent::ChangeMedia(media) => {
                self.current_time = media.current_time;
                self.paused = media.paused;
                self.current = Some(media.clone());
            }
            ServerEvent::MediaUpdate(MediaUpdate {
                current_time,
                paused,
            }) => {
                self.current_time = *current_time;
                self.paused = *paused;
            }
            ServerEvent::Voteskip(v) => self.voteskip = Some(*v),
            ServerEvent::NewPoll(p) | ServerEvent::UpdatePoll(p) => self.poll = Some(p.clone()),
            ServerEvent::ClosePoll => self.poll = None,
            _ => {}
        }
        if matches!(event, ServerEvent::Playlist(_) | ServerEvent::Delete(_))
            && self.current_uid.is_some_and(|uid| self.item(uid).is_none())
        {
            // The playing entry is gone (cleared, or deleted with nothing left): playback
            // stopped. A `setCurrent` follows when something else starts.
            self.current_uid = None;
            self.current = None;
        }
    }
}
