//! Chat events: channel messages, private messages, chat clears.
//!
//! `msg` is CyTube's sanitized HTML (entities escaped, links wrapped in `<a>`), kept as
//! received here; [`crate::html::to_plain_text`] turns it into text for commands.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `chatMsg` and `pm`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatMsg {
    /// Author's name; `[server]` for server whispers.
    #[serde(default)]
    pub username: String,
    /// The message as sanitized HTML.
    #[serde(default)]
    pub msg: String,
    /// Flags: `addClass` (`action` for `/me`, `greentext`, `spoiler`, `shout`,
    /// `server-whisper`…), `shadow`, `modflair`…
    #[serde(default)]
    pub meta: ChatMeta,
    /// Server time in Unix milliseconds.
    #[serde(default)]
    pub time: i64,
    /// The recipient (`pm` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// The `meta` object of a chat message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatMeta {
    /// CSS class the browser adds: `action` (`/me`), `greentext`, `spoiler`, `shout`,
    /// `drink`, `server-whisper`.
    #[serde(default, rename = "addClass", skip_serializing_if = "Option::is_none")]
    pub add_class: Option<String>,
    /// Set on `/me` messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<bool>,
    /// The author is shadow-muted (only moderators see these messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<bool>,
    /// Every other key, kept as sent.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

impl ChatMsg {
    /// Whether this is a `/me` message.
    pub fn is_action(&self) -> bool {
        self.meta.action == Some(true) || self.meta.add_class.as_deref() == Some("action")
    }

    /// Whether this is a server whisper (joins and moderator notices sent to moderators).
    pub fn is_server_whisper(&self) -> bool {
        self.username == "[server]" || self.meta.add_class.as_deref() == Some("server-whisper")
    }
}

/// `clearchat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClearChat {
    /// Who cleared the chat.
    #[serde(default, rename = "clearedBy")]
    pub cleared_by: String,
}
