//! Chat color (`GET`/`PUT /chat/color`) and `POST /chat/messages`.
//!
//! Named colors work for every account; a `#RRGGBB` hex only for Turbo and Prime. Rather
//! than asking which the bot has, [`HelixClient::set_chat_color`] tries the hex and, when
//! Helix refuses it with 400, sets the nearest named color and says so in
//! [`ColorChange::Fallback`]. A sent message is checked for `is_sent`: Helix answers 200
//! even when it drops a message (duplicate, AutoMod…), so a drop becomes
//! [`TwitchError::MessageDropped`] with Twitch's reason instead of passing for success.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::{Data, HelixClient};
use crate::error::TwitchError;

/// The named chat colors every account may use, with their RGB values (for the
/// nearest-color fallback).
pub const NAMED_COLORS: [(&str, [u8; 3]); 15] = [
    ("blue", [0x00, 0x00, 0xFF]),
    ("blue_violet", [0x8A, 0x2B, 0xE2]),
    ("cadet_blue", [0x5F, 0x9E, 0xA0]),
    ("chocolate", [0xD2, 0x69, 0x1E]),
    ("coral", [0xFF, 0x7F, 0x50]),
    ("dodger_blue", [0x1E, 0x90, 0xFF]),
    ("firebrick", [0xB2, 0x22, 0x22]),
    ("golden_rod", [0xDA, 0xA5, 0x20]),
    ("green", [0x00, 0x80, 0x00]),
    ("hot_pink", [0xFF, 0x69, 0xB4]),
    ("orange_red", [0xFF, 0x45, 0x00]),
    ("red", [0xFF, 0x00, 0x00]),
    ("sea_green", [0x2E, 0x8B, 0x57]),
    ("spring_green", [0x00, 0xFF, 0x7F]),
    ("yellow_green", [0x9A, 0xCD, 0x32]),
];

/// A chat color as asked for: one of [`NAMED_COLORS`] or a hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatColor {
    /// A named color (canonical `snake_case`).
    Named(&'static str),
    /// A `#RRGGBB` color (Turbo and Prime only).
    Hex([u8; 3]),
}

impl ChatColor {
    /// Reads `blue`, `BlueViolet`, `blue violet`, `blue-violet`, `#9146FF` or `9146ff`.
    pub fn parse(text: &str) -> Result<Self, TwitchError> {
        let text = text.trim();
        let hex = text.strip_prefix('#').unwrap_or(text);
        if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
            return Ok(ChatColor::Hex([byte(0), byte(2), byte(4)]));
        }
        let squashed: String = text
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        NAMED_COLORS
            .iter()
            .find(|(name, _)| name.replace('_', "") == squashed)
            .map(|(name, _)| ChatColor::Named(name))
            .ok_or_else(|| {
                let names: Vec<&str> = NAMED_COLORS.iter().map(|(n, _)| *n).collect();
                TwitchError::InvalidArgument(format!(
                    "`{text}` is not a Twitch chat color; use one of {} or a hex like #9146FF (Turbo/Prime only)",
                    names.join(", ")
                ))
            })
    }

    /// The value of the `color` query parameter.
    pub fn query_value(&self) -> String {
        match self {
            ChatColor::Named(name) => (*name).to_owned(),
            ChatColor::Hex([r, g, b]) => format!("#{r:02X}{g:02X}{b:02X}"),
        }
    }

    /// The named color nearest to this one (itself when named).
    pub fn nearest_named(&self) -> &'static str {
        match self {
            ChatColor::Named(name) => name,
            ChatColor::Hex(rgb) => {
                let distance = |other: &[u8; 3]| -> u32 {
                    rgb.iter()
                        .zip(other)
                        .map(|(a, b)| u32::from(a.abs_diff(*b)).pow(2))
                        .sum()
                };
                NAMED_COLORS
                    .iter()
                    .min_by_key(|(_, c)| distance(c))
                    .map_or("blue", |(name, _)| name)
            }
        }
    }
}

/// What [`HelixClient::set_chat_color`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColorChange {
    /// The color asked for is set.
    Set(String),
    /// Helix refused the hex (the account has neither Turbo nor Prime); the nearest named
    /// color is set instead.
    Fallback {
        /// The hex asked for.
        requested: String,
        /// The named color set.
        used: String,
        /// Why Helix refused the hex.
        reason: String,
    },
}

#[derive(Deserialize)]
struct UserColor {
    #[serde(default)]
    color: String,
}

/// A message Helix accepted and delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// Twitch's id of the message.
    pub message_id: String,
}

#[derive(Deserialize)]
struct SendResult {
    #[serde(default)]
    message_id: String,
    is_sent: bool,
    #[serde(default)]
    drop_reason: Option<DropReason>,
}

#[derive(Deserialize)]
struct DropReason {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

impl HelixClient {
    /// The chat color of `user_id`: `None` when the user never set one.
    pub async fn chat_color(&self, user_id: &str) -> Result<Option<String>, TwitchError> {
        let answer = self
            .request(Method::GET, "chat/color", &[("user_id", user_id)], None)
            .await?;
        Ok(answer
            .json::<Data<UserColor>>()?
            .data
            .into_iter()
            .next()
            .map(|c| c.color)
            .filter(|c| !c.is_empty()))
    }

    /// Sets the chat color of `user_id` (the token's user) to `color`, a name or a hex;
    /// a hex Helix refuses falls back to the nearest named color.
    pub async fn set_chat_color(
        &self,
        user_id: &str,
        color: &str,
    ) -> Result<ColorChange, TwitchError> {
        let color = ChatColor::parse(color)?;
        let value = color.query_value();
        let put = |value: String| async move {
            self.request(
                Method::PUT,
                "chat/color",
                &[("user_id", user_id), ("color", &value)],
                None,
            )
            .await
        };
        match put(value.clone()).await {
            Ok(_) => Ok(ColorChange::Set(value)),
            Err(TwitchError::Api {
                status: 400,
                message,
                ..
            }) if matches!(color, ChatColor::Hex(_)) => {
                let used = color.nearest_named().to_owned();
                tracing::info!(requested = %value, %used, reason = %message, "hex chat color refused; using the nearest named color");
                put(used.clone()).await?;
                Ok(ColorChange::Fallback {
                    requested: value,
                    used,
                    reason: message,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Sends `message` to the chat of `broadcaster_id` as `sender_id`, optionally as a
    /// reply; a message Twitch drops is [`TwitchError::MessageDropped`].
    pub async fn send_chat_message(
        &self,
        broadcaster_id: &str,
        sender_id: &str,
        message: &str,
        reply_parent_message_id: Option<&str>,
    ) -> Result<SentMessage, TwitchError> {
        let mut body = json!({
            "broadcaster_id": broadcaster_id,
            "sender_id": sender_id,
            "message": message,
        });
        if let Some(parent) = reply_parent_message_id {
            body["reply_parent_message_id"] = parent.into();
        }
        let answer = self
            .request(Method::POST, "chat/messages", &[], Some(&body))
            .await?;
        let result = answer
            .json::<Data<SendResult>>()?
            .data
            .into_iter()
            .next()
            .ok_or_else(|| {
                TwitchError::Protocol("POST /chat/messages answered with no result".to_owned())
            })?;
        if result.is_sent {
            Ok(SentMessage {
                message_id: result.message_id,
            })
        } else {
            let reason = result.drop_reason.unwrap_or(DropReason {
                code: "unknown".to_owned(),
                message: "Twitch gave no reason".to_owned(),
            });
            Err(TwitchError::MessageDropped {
                code: reason.code,
                message: reason.message,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors_parse_in_every_spelling() {
        for text in ["blue_violet", "BlueViolet", "blue violet", "Blue-Violet"] {
            assert_eq!(
                ChatColor::parse(text).unwrap(),
                ChatColor::Named("blue_violet")
            );
        }
        assert_eq!(
            ChatColor::parse("#9146ff").unwrap().query_value(),
            "#9146FF"
        );
        assert_eq!(
            ChatColor::parse("8A2BE2").unwrap().nearest_named(),
            "blue_violet"
        );
        let err = ChatColor::parse("purple").unwrap_err().to_string();
        assert!(
            err.contains("`purple`") && err.contains("hot_pink"),
            "{err}"
        );
    }

    #[test]
    fn nearest_named_color() {
        assert_eq!(ChatColor::Hex([0xFE, 0x01, 0x01]).nearest_named(), "red");
        assert_eq!(
            ChatColor::Hex([0x91, 0x46, 0xFF]).nearest_named(),
            "blue_violet"
        );
    }
}
