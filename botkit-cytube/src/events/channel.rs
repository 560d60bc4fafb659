//! Channel configuration events: options, permissions, MOTD, CSS/JS, emotes.
//!
//! `channelOpts` is sent whole on join and after every change; the flood parameters in it
//! decide how fast the bot may chat ([`crate::flood`]), so those keys are typed. Keys this
//! crate does not use are kept in `other` so nothing is lost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `chat_antiflood_params`: the channel's chat limiter for ranks below moderator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AntifloodParams {
    /// Messages that may be sent back to back.
    #[serde(default = "default_burst")]
    pub burst: f64,
    /// Messages per second after the burst.
    #[serde(default = "default_sustained")]
    pub sustained: f64,
    /// Quiet seconds that reset the burst (the server sets it to burst / sustained).
    #[serde(default)]
    pub cooldown: Option<f64>,
}

fn default_burst() -> f64 {
    4.0
}

fn default_sustained() -> f64 {
    1.0
}

impl Default for AntifloodParams {
    fn default() -> Self {
        Self {
            burst: default_burst(),
            sustained: default_sustained(),
            cooldown: None,
        }
    }
}

/// `channelOpts`: the channel's options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChannelOpts {
    /// Whether the channel antiflood applies (to ranks below 2).
    #[serde(default)]
    pub chat_antiflood: bool,
    /// The channel antiflood's parameters.
    #[serde(default)]
    pub chat_antiflood_params: AntifloodParams,
    /// Seconds without chat before a user is marked AFK.
    #[serde(default)]
    pub afk_timeout: Option<f64>,
    /// Whether voteskip is allowed.
    #[serde(default)]
    pub allow_voteskip: Option<bool>,
    /// Fraction of users needed to skip.
    #[serde(default)]
    pub voteskip_ratio: Option<f64>,
    /// Page title.
    #[serde(default)]
    pub pagetitle: Option<String>,
    /// Whether URLs in chat become links.
    #[serde(default)]
    pub enable_link_regex: Option<bool>,
    /// Whether anonymous users must log in before joining.
    #[serde(default)]
    pub block_anonymous_users: Option<bool>,
    /// Every other option, as sent (including `password`, which CyTube broadcasts).
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `setPermissions`: permission node → minimum rank.
pub type Permissions = BTreeMap<String, f64>;

/// `channelCSSJS`: the channel's custom CSS and JavaScript.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChannelCssJs {
    /// Custom CSS.
    #[serde(default)]
    pub css: String,
    /// Hash of the CSS.
    #[serde(default, rename = "cssHash")]
    pub css_hash: String,
    /// Custom JavaScript.
    #[serde(default)]
    pub js: String,
    /// Hash of the JavaScript.
    #[serde(default, rename = "jsHash")]
    pub js_hash: String,
}

/// One emote of `emoteList`, `updateEmote`, `removeEmote`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Emote {
    /// The text that triggers it.
    pub name: String,
    /// Image URL.
    #[serde(default)]
    pub image: String,
    /// The regular expression source the browser matches.
    #[serde(default)]
    pub source: Option<String>,
}

/// `renameEmote`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RenameEmote {
    /// The old name.
    pub old: String,
    /// The new name.
    pub name: String,
    /// Image URL.
    #[serde(default)]
    pub image: String,
}
