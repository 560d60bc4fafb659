//! User events: the channel's user list and changes to it.
//!
//! Ranks are fractional (`1.5` is the temporary leader rank), so they are `f64`.
//! Moderators receive extra `meta` keys (`smuted`, `aliases`, a cloaked `ip`), which are
//! kept as optional fields; a user list seen by a guest simply lacks them.

use serde::{Deserialize, Serialize};

/// A user's profile (avatar URL and text).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Profile {
    /// Avatar image URL.
    #[serde(default)]
    pub image: String,
    /// Profile text.
    #[serde(default)]
    pub text: String,
}

/// A user's flags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserMeta {
    /// Away from keyboard.
    #[serde(default)]
    pub afk: bool,
    /// Muted in the channel.
    #[serde(default)]
    pub muted: bool,
    /// Shadow-muted (only moderators see this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smuted: Option<bool>,
    /// Known aliases (only moderators see this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<String>>,
    /// Cloaked IP (moderators) or real IP (site admins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// One entry of `userlist`, or the payload of `addUser`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserInfo {
    /// The user's name as the server spells it.
    pub name: String,
    /// Effective rank in the channel (fractional).
    #[serde(default)]
    pub rank: f64,
    /// Profile.
    #[serde(default)]
    pub profile: Profile,
    /// Flags.
    #[serde(default)]
    pub meta: UserMeta,
}

/// `userLeave`: `{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserName {
    /// The user's name.
    pub name: String,
}

/// `setUserMeta`: new flags for a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SetUserMeta {
    /// The user's name.
    pub name: String,
    /// The new flags.
    #[serde(default)]
    pub meta: UserMeta,
}

/// `setAFK`: the legacy duplicate of an AFK change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SetAfk {
    /// The user's name.
    pub name: String,
    /// Whether they are AFK now.
    #[serde(default)]
    pub afk: bool,
}

/// `setUserRank`: a user's new rank. May arrive before that user's `addUser`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SetUserRank {
    /// The user's name.
    pub name: String,
    /// The new rank.
    pub rank: f64,
}

/// `setUserProfile`: a user's new profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SetUserProfile {
    /// The user's name.
    pub name: String,
    /// The new profile.
    #[serde(default)]
    pub profile: Profile,
}
