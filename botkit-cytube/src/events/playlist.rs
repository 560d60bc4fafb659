//! Playlist and playback events.
//!
//! Items are identified by a per-channel `uid` (renumbered on load and shuffle). Positions
//! are a uid or the strings `"prepend"` / `"append"`, modelled as [`Position`]. Durations
//! and playback times are fractional seconds.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A media item: `{id, title, seconds, duration, type, meta}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MediaInfo {
    /// Provider id (a YouTube id, a URL, `cu:<hash>` for custom embeds…).
    pub id: String,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Length in seconds (0 for live items).
    #[serde(default)]
    pub seconds: f64,
    /// Length as shown (`mm:ss`, `hh:mm:ss`, `--:--` for live).
    #[serde(default)]
    pub duration: String,
    /// Provider code: `yt`, `vi`, `dm`, `tw`, `sc`, `fi`, `cu`, `rt`, `hl`, `li`…
    #[serde(rename = "type")]
    pub kind: String,
    /// Provider-specific metadata (e.g. `embed` for custom items).
    #[serde(default)]
    pub meta: Value,
}

/// One playlist entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PlaylistItem {
    /// The media.
    pub media: MediaInfo,
    /// The entry's id in this channel.
    pub uid: u64,
    /// Temporary entries are removed after they play.
    #[serde(default)]
    pub temp: bool,
    /// Who queued it.
    #[serde(default)]
    pub queueby: String,
}

/// Where an entry goes: after another entry, or at either end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Position {
    /// After the entry with this uid.
    After(u64),
    /// `"prepend"` / `"append"`.
    End(End),
}

/// The ends of the playlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum End {
    /// The top.
    Prepend,
    /// The bottom.
    Append,
}

/// `setPlaylistMeta`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PlaylistMeta {
    /// Number of entries.
    #[serde(default)]
    pub count: u64,
    /// Total length in seconds.
    #[serde(default, rename = "rawTime")]
    pub raw_time: f64,
    /// Total length as shown.
    #[serde(default)]
    pub time: String,
}

/// `queue`: an entry was added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Queued {
    /// The new entry.
    pub item: PlaylistItem,
    /// Where it went.
    pub after: Position,
}

/// `queueFail` / `queueWarn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QueueProblem {
    /// The message (HTML-escaped: `&#39;`).
    #[serde(default)]
    pub msg: String,
    /// The media link concerned.
    #[serde(default)]
    pub link: String,
    /// The media id concerned (`queueFail` only).
    #[serde(default)]
    pub id: Option<String>,
}

/// `delete`: `{uid}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Deleted {
    /// The removed entry.
    pub uid: u64,
}

/// `moveVideo`: the answer to `moveMedia`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Moved {
    /// The moved entry.
    pub from: u64,
    /// Where it went.
    pub after: Position,
}

/// `setTemp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SetTemp {
    /// The entry.
    pub uid: u64,
    /// Whether it is temporary now.
    pub temp: bool,
}

/// `changeMedia`: now playing, with the playback position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChangeMedia {
    /// The media.
    #[serde(flatten)]
    pub media: MediaInfo,
    /// Position in seconds (-3 during the lead-in).
    #[serde(default, rename = "currentTime")]
    pub current_time: f64,
    /// Whether playback is paused.
    #[serde(default)]
    pub paused: bool,
}

/// `mediaUpdate`: the playback position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MediaUpdate {
    /// Position in seconds.
    #[serde(default, rename = "currentTime")]
    pub current_time: f64,
    /// Whether playback is paused.
    #[serde(default)]
    pub paused: bool,
}

/// `voteskip`: votes so far and votes needed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Voteskip {
    /// Votes cast.
    #[serde(default)]
    pub count: f64,
    /// Votes needed.
    #[serde(default)]
    pub need: f64,
}
