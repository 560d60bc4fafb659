//! Typed CyTube server events, one file per family.
//!
//! A Socket.IO event is a name and (on CyTube) zero or one JSON argument. [`ServerEvent::decode`]
//! turns the pair into a typed value: every event the protocol reference lists has a variant,
//! and any other name becomes [`ServerEvent::Unknown`] with its arguments kept, so a newer
//! server never breaks the client. A known event whose argument has the wrong shape is an
//! [`EventError`], which the session logs and publishes raw; it never panics.
//!
//! Families: [`session`] (rank, login, kick, errors), [`users`], [`chat`], [`channel`]
//! (options, permissions, MOTD, emotes), [`playlist`] (queue and playback) and [`poll`].

pub mod channel;
pub mod chat;
pub mod playlist;
pub mod poll;
pub mod session;
pub mod users;

use serde::Deserialize;
use serde_json::Value;

pub use channel::{AntifloodParams, ChannelCssJs, ChannelOpts, Emote, Permissions, RenameEmote};
pub use chat::{ChatMeta, ChatMsg, ClearChat};
pub use playlist::{
    ChangeMedia, Deleted, End, MediaInfo, MediaUpdate, Moved, PlaylistItem, PlaylistMeta, Position,
    QueueProblem, Queued, SetTemp, Voteskip,
};
pub use poll::{Poll, PollCount};
pub use session::{
    Announcement, ErrorMsg, Kick, LoginReply, Noflood, Notice, SpamFiltered, Validation,
};
pub use users::{
    Profile, SetAfk, SetUserMeta, SetUserProfile, SetUserRank, UserInfo, UserMeta, UserName,
};

/// A known event whose argument did not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed `{name}` event: {error}")]
#[non_exhaustive]
pub struct EventError {
    /// The event name.
    pub name: String,
    /// What was wrong.
    pub error: String,
}

/// Every server → client event of CyTube 3.86, typed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent {
    // --- session ---
    /// `rank`: our own effective rank.
    Rank(f64),
    /// `login`: the answer to a login (or the notice after cookie auth).
    Login(LoginReply),
    /// `errorMsg`.
    ErrorMsg(ErrorMsg),
    /// `kick`: we are being dropped; a Socket.IO disconnect follows.
    Kick(Kick),
    /// `noflood`: refused because of a mute or bad syntax.
    Noflood(Noflood),
    /// `cooldown`: a chat message or PM was dropped; the value is milliseconds.
    Cooldown(f64),
    /// `spamFiltered`: held back by the new-user chat delay.
    SpamFiltered(SpamFiltered),
    /// `needPassword`: the channel wants a password (`true` = the one given was wrong).
    NeedPassword(bool),
    /// `cancelNeedPassword`: the password was accepted (or not needed).
    CancelNeedPassword,
    /// `channelNotRegistered`.
    ChannelNotRegistered,
    /// `costanza`.
    Costanza(Notice),
    /// `announcement`.
    Announcement(Announcement),
    /// `validationError`.
    ValidationError(Validation),
    /// `validationPassed`.
    ValidationPassed(Validation),
    /// `channelRankFail`.
    ChannelRankFail(Notice),
    // --- users ---
    /// `userlist`: everyone logged in.
    UserList(Vec<UserInfo>),
    /// `addUser`.
    AddUser(UserInfo),
    /// `userLeave`.
    UserLeave(UserName),
    /// `setUserMeta`.
    SetUserMeta(SetUserMeta),
    /// `setAFK` (legacy duplicate of the meta change).
    SetAfk(SetAfk),
    /// `setUserRank`.
    SetUserRank(SetUserRank),
    /// `setUserProfile`.
    SetUserProfile(SetUserProfile),
    /// `setLeader`: the leader's name, empty for none.
    SetLeader(String),
    /// `usercount`: sockets in the channel (anonymous ones included).
    UserCount(u64),
    /// `clearVoteskipVote`.
    ClearVoteskipVote,
    // --- chat ---
    /// `chatMsg`.
    ChatMsg(ChatMsg),
    /// `pm` (echoed to the sender too).
    Pm(ChatMsg),
    /// `clearchat`.
    ClearChat(ClearChat),
    // --- channel ---
    /// `channelOpts`.
    ChannelOpts(Box<ChannelOpts>),
    /// `setPermissions`.
    SetPermissions(Permissions),
    /// `setMotd`: HTML.
    SetMotd(String),
    /// `channelCSSJS`.
    ChannelCssJs(ChannelCssJs),
    /// `emoteList`.
    EmoteList(Vec<Emote>),
    /// `updateEmote`.
    UpdateEmote(Emote),
    /// `removeEmote`.
    RemoveEmote(Emote),
    /// `renameEmote`.
    RenameEmote(RenameEmote),
    /// `drinkCount`.
    DrinkCount(f64),
    // --- playlist ---
    /// `playlist`: the whole playlist.
    Playlist(Vec<PlaylistItem>),
    /// `setPlaylistMeta`.
    SetPlaylistMeta(PlaylistMeta),
    /// `setPlaylistLocked`.
    SetPlaylistLocked(bool),
    /// `queue`.
    Queue(Queued),
    /// `queueFail`.
    QueueFail(QueueProblem),
    /// `queueWarn`.
    QueueWarn(QueueProblem),
    /// `delete`.
    Delete(Deleted),
    /// `moveVideo`.
    MoveVideo(Moved),
    /// `setTemp`.
    SetTemp(SetTemp),
    /// `setCurrent`: the uid now playing.
    SetCurrent(u64),
    /// `changeMedia`.
    ChangeMedia(ChangeMedia),
    /// `mediaUpdate`.
    MediaUpdate(MediaUpdate),
    /// `voteskip`.
    Voteskip(Voteskip),
    // --- polls ---
    /// `newPoll`.
    NewPoll(Poll),
    /// `updatePoll`.
    UpdatePoll(Poll),
    /// `closePoll`.
    ClosePoll,
    /// Any other event, kept as received.
    Unknown {
        /// The event name.
        name: String,
        /// Its arguments.
        args: Vec<Value>,
    },
}

fn parse<'a, T: Deserialize<'a>>(name: &str, arg: &'a Value) -> Result<T, EventError> {
    T::deserialize(arg).map_err(|e| EventError {
        name: name.to_owned(),
        error: e.to_string(),
    })
}

/// `setCurrent` and `jumpTo` carry a uid as a number; accept a numeric string too.
fn parse_uid(name: &str, arg: &Value) -> Result<u64, EventError> {
    match arg {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| EventError {
        name: name.to_owned(),
        error: format!("expected a uid, got {arg}"),
    })
}

impl ServerEvent {
    /// Decodes event `name` with `args` (the elements after the name in `42[…]`).
    pub fn decode(name: &str, args: &[Value]) -> Result<ServerEvent, EventError> {
        static NULL: Value = Value::Null;
        let arg = args.first().unwrap_or(&NULL);
        let ev = match name {
            "rank" => ServerEvent::Rank(parse(name, arg)?),
            "login" => ServerEvent::Login(parse(name, arg)?),
            "errorMsg" => ServerEvent::ErrorMsg(parse(name, arg)?),
            "kick" => ServerEvent::Kick(parse(name, arg)?),
            "noflood" => ServerEvent::Noflood(parse(name, arg)?),
            "cooldown" => ServerEvent::Cooldown(parse(name, arg)?),
            "spamFiltered" => ServerEvent::SpamFiltered(parse(name, arg)?),
            "needPassword" => ServerEvent::NeedPassword(parse(name, arg)?),
            "cancelNeedPassword" => ServerEvent::CancelNeedPassword,
            "channelNotRegistered" => ServerEvent::ChannelNotRegistered,
            "costanza" => ServerEvent::Costanza(parse(name, arg)?),
            "announcement" => ServerEvent::Announcement(parse(name, arg)?),
            "validationError" => ServerEvent::ValidationError(parse(name, arg)?),
            "validationPassed" => ServerEvent::ValidationPassed(parse(name, arg)?),
            "channelRankFail" => ServerEvent::ChannelRankFail(parse(name, arg)?),
            "userlist" => ServerEvent::UserList(parse(name, arg)?),
            "addUser" => ServerEvent::AddUser(parse(name, arg)?),
            "userLeave" => ServerEvent::UserLeave(parse(name, arg)?),
            "setUserMeta" => ServerEvent::SetUserMeta(parse(name, arg)?),
            "setAFK" => ServerEvent::SetAfk(parse(name, arg)?),
            "setUserRank" => ServerEvent::SetUserRank(parse(name, arg)?),
            "setUserProfile" => ServerEvent::SetUserProfile(parse(name, arg)?),
            "setLeader" => ServerEvent::SetLeader(parse(name, arg)?),
            "usercount" => ServerEvent::UserCount(parse(name, arg)?),
            "clearVoteskipVote" => ServerEvent::ClearVoteskipVote,
            "chatMsg" => ServerEvent::ChatMsg(parse(name, arg)?),
            "pm" => ServerEvent::Pm(parse(name, arg)?),
            "clearchat" => ServerEvent::ClearChat(parse(name, arg)?),
            "channelOpts" => ServerEvent::ChannelOpts(Box::new(parse(name, arg)?)),
            "setPermissions" => ServerEvent::SetPermissions(parse(name, arg)?),
            "setMotd" => ServerEvent::SetMotd(parse(name, arg)?),
            "channelCSSJS" => ServerEvent::ChannelCssJs(parse(name, arg)?),
            "emoteList" => ServerEvent::EmoteList(parse(name, arg)?),
            "updateEmote" => ServerEvent::UpdateEmote(parse(name, arg)?),
            "removeEmote" => ServerEvent::RemoveEmote(parse(name, arg)?),
            "renameEmote" => ServerEvent::RenameEmote(parse(name, arg)?),
            "drinkCount" => ServerEvent::DrinkCount(parse(name, arg)?),
            "playlist" => ServerEvent::Playlist(parse(name, arg)?),
            "setPlaylistMeta" => ServerEvent::SetPlaylistMeta(parse(name, arg)?),
            "setPlaylistLocked" => ServerEvent::SetPlaylistLocked(parse(name, arg)?),
            "queue" => ServerEvent::Queue(parse(name, arg)?),
            "queueFail" => ServerEvent::QueueFail(parse(name, arg)?),
            "queueWarn" => ServerEvent::QueueWarn(parse(name, arg)?),
            "delete" => ServerEvent::Delete(parse(name, arg)?),
            "moveVideo" => ServerEvent::MoveVideo(parse(name, arg)?),
            "setTemp" => ServerEvent::SetTemp(parse(name, arg)?),
            "setCurrent" => ServerEvent::SetCurrent(parse_uid(name, arg)?),
            "changeMedia" => ServerEvent::ChangeMedia(parse(name, arg)?),
            "mediaUpdate" => ServerEvent::MediaUpdate(parse(name, arg)?),
            "voteskip" => ServerEvent::Voteskip(parse(name, arg)?),
            "newPoll" => ServerEvent::NewPoll(parse(name, arg)?),
            "updatePoll" => ServerEvent::UpdatePoll(parse(name, arg)?),
            "closePoll" => ServerEvent::ClosePoll,
            _ => ServerEvent::Unknown {
                name: name.to_owned(),
                args: args.to_vec(),
            },
        };
        Ok(ev)
    }

    /// The wire name of the event.
    pub fn name(&self) -> &str {
        match self {
            ServerEvent::Rank(_) => "rank",
            ServerEvent::Login(_) => "login",
            ServerEvent::ErrorMsg(_) => "errorMsg",
            ServerEvent::Kick(_) => "kick",
            ServerEvent::Noflood(_) => "noflood",
            ServerEvent::Cooldown(_) => "cooldown",
            ServerEvent::SpamFiltered(_) => "spamFiltered",
            ServerEvent::NeedPassword(_) => "needPassword",
            ServerEvent::CancelNeedPassword => "cancelNeedPassword",
            ServerEvent::ChannelNotRegistered => "channelNotRegistered",
            ServerEvent::Costanza(_) => "costanza",
            ServerEvent::Announcement(_) => "announcement",
            ServerEvent::ValidationError(_) => "validationError",
            ServerEvent::ValidationPassed(_) => "validationPassed",
            ServerEvent::ChannelRankFail(_) => "channelRankFail",
            ServerEvent::UserList(_) => "userlist",
            ServerEvent::AddUser(_) => "addUser",
            ServerEvent::UserLeave(_) => "userLeave",
            ServerEvent::SetUserMeta(_) => "setUserMeta",
            ServerEvent::SetAfk(_) => "setAFK",
            ServerEvent::SetUserRank(_) => "setUserRank",
            ServerEvent::SetUserProfile(_) => "setUserProfile",
            ServerEvent::SetLeader(_) => "setLeader",
            ServerEvent::UserCount(_) => "usercount",
            ServerEvent::ClearVoteskipVote => "clearVoteskipVote",
            ServerEvent::ChatMsg(_) => "chatMsg",
            ServerEvent::Pm(_) => "pm",
            ServerEvent::ClearChat(_) => "clearchat",
            ServerEvent::ChannelOpts(_) => "channelOpts",
            ServerEvent::SetPermissions(_) => "setPermissions",
            ServerEvent::SetMotd(_) => "setMotd",
            ServerEvent::ChannelCssJs(_) => "channelCSSJS",
            ServerEvent::EmoteList(_) => "emoteList",
            ServerEvent::UpdateEmote(_) => "updateEmote",
            ServerEvent::RemoveEmote(_) => "removeEmote",
            ServerEvent::RenameEmote(_) => "renameEmote",
            ServerEvent::DrinkCount(_) => "drinkCount",
            ServerEvent::Playlist(_) => "playlist",
            ServerEvent::SetPlaylistMeta(_) => "setPlaylistMeta",
            ServerEvent::SetPlaylistLocked(_) => "setPlaylistLocked",
            ServerEvent::Queue(_) => "queue",
            ServerEvent::QueueFail(_) => "queueFail",
            ServerEvent::QueueWarn(_) => "queueWarn",
            ServerEvent::Delete(_) => "delete",
            ServerEvent::MoveVideo(_) => "moveVideo",
            ServerEvent::SetTemp(_) => "setTemp",
            ServerEvent::SetCurrent(_) => "setCurrent",
            ServerEvent::ChangeMedia(_) => "changeMedia",
            ServerEvent::MediaUpdate(_) => "mediaUpdate",
            ServerEvent::Voteskip(_) => "voteskip",
            ServerEvent::NewPoll(_) => "newPoll",
            ServerEvent::UpdatePoll(_) => "updatePoll",
            ServerEvent::ClosePoll => "closePoll",
            ServerEvent::Unknown { name, .. } => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn decode(name: &str, arg: Value) -> ServerEvent {
        ServerEvent::decode(name, &[arg]).unwrap()
    }

    #[test]
    fn fractional_ranks_and_positions() {
        assert_eq!(decode("rank", json!(1.5)), ServerEvent::Rank(1.5));
        let ServerEvent::MoveVideo(m) = decode("moveVideo", json!({"from": 4, "after": "prepend"}))
        else {
            panic!()
        };
        assert_eq!(m.after, Position::End(End::Prepend));
        let ServerEvent::Queue(q) = decode(
            "queue",
            json!({"item":{"media":{"id":"x","title":"t","seconds":8,"duration":"00:08","type":"rt","meta":{}},"uid":1,"temp":false,"queueby":"o"},"after":0}),
        ) else {
            panic!()
        };
        assert_eq!(q.after, Position::After(0));
        assert_eq!(q.item.media.kind, "rt");
    }

    #[test]
    fn events_without_arguments() {
        assert_eq!(
            ServerEvent::decode("channelNotRegistered", &[]).unwrap(),
            ServerEvent::ChannelNotRegistered
        );
        assert_eq!(
            ServerEvent::decode("closePoll", &[Value::Null]).unwrap(),
            ServerEvent::ClosePoll
        );
    }

    #[test]
    fn wrong_shapes_are_errors_and_unknown_names_are_kept() {
        let err = ServerEvent::decode("rank", &[json!("high")]).unwrap_err();
        assert_eq!(err.name, "rank");
        assert!(ServerEvent::decode("userlist", &[]).is_err());
        let ev = ServerEvent::decode("partitionChange", &[json!({"a": 1})]).unwrap();
        assert_eq!(ev.name(), "partitionChange");
        assert!(matches!(ev, ServerEvent::Unknown { .. }));
    }
}
