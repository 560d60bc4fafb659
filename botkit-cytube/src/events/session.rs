//! Session events: who the server thinks we are, and what it refuses.
//!
//! These are the frames a bot must react to rather than merely publish: `login` answers,
//! `kick` (always followed by a Socket.IO `41`), `needPassword`, `errorMsg`, `cooldown`.
//! The shapes are those observed on CyTube 3.86 (`cytube.md` §4, §7, §10).

use serde::{Deserialize, Serialize};

/// `login`: the answer to a `login` request, or the server's notice after cookie auth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LoginReply {
    /// Whether the login succeeded.
    pub success: bool,
    /// The canonical account name (the server's spelling), on success.
    #[serde(default)]
    pub name: Option<String>,
    /// Whether this is a guest login (`true`), registered (`false` or absent).
    #[serde(default)]
    pub guest: Option<bool>,
    /// Why it failed, e.g. `Invalid username/password combination`.
    #[serde(default)]
    pub error: Option<String>,
}

/// `errorMsg`: a refusal or a typecheck failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorMsg {
    /// The message text.
    #[serde(default)]
    pub msg: String,
    /// Whether the browser client shows it as an alert.
    #[serde(default)]
    pub alert: Option<bool>,
    /// A machine-readable code, e.g. `REQ_PLAYLIST_LIMIT_REACHED`.
    #[serde(default)]
    pub code: Option<String>,
}

/// `kick`: the server is dropping us from the channel (a `41` follows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Kick {
    /// The reason, e.g. `Duplicate login`, `You're banned!`, or a moderator's text.
    #[serde(default)]
    pub reason: String,
}

/// `noflood`: an action was refused because of a mute or bad command syntax.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Noflood {
    /// What was refused (`chat`, `/rank`).
    #[serde(default)]
    pub action: String,
    /// The explanation.
    #[serde(default)]
    pub msg: String,
}

/// `spamFiltered`: a message was held back by the new-user chat delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SpamFiltered {
    /// `NEW_USER_CHAT` or `NEW_USER_CHAT_LINK`.
    #[serde(default)]
    pub reason: String,
}

/// `costanza`, `channelRankFail`: a one-line notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Notice {
    /// The text.
    #[serde(default)]
    pub msg: String,
}

/// `announcement`: a site-wide announcement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Announcement {
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Body (HTML).
    #[serde(default)]
    pub text: String,
    /// Who sent it.
    #[serde(default)]
    pub from: String,
}

/// `validationError` / `validationPassed`: per-key answers to `setOptions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Validation {
    /// The option (or form field) concerned.
    #[serde(default)]
    pub target: String,
    /// The error text (absent when it passed).
    #[serde(default)]
    pub message: Option<String>,
}
