//! Moderation and whispers: `DELETE /moderation/chat`, `POST /moderation/bans`,
//! `POST /whispers`.
//!
//! A timeout is a ban with a duration, as in Helix itself, so both go through one
//! [`BanRequest`]; Helix bounds the duration to 1..=1_209_600 s, checked here first so a
//! bad duration fails with a clear message instead of a bare 400.

use reqwest::Method;
use serde_json::json;

use super::HelixClient;
use crate::error::TwitchError;

/// The longest timeout Helix allows: two weeks.
pub const MAX_TIMEOUT_SECS: u64 = 1_209_600;

/// A ban (no duration) or timeout (a duration) of one user in one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanRequest {
    /// The channel's user id.
    pub broadcaster_id: String,
    /// The moderator's user id (the bot's own id).
    pub moderator_id: String,
    /// The user to ban.
    pub user_id: String,
    /// Seconds for a timeout; `None` bans.
    pub duration_secs: Option<u64>,
    /// Reason shown to moderators.
    pub reason: Option<String>,
}

impl HelixClient {
    /// Deletes one chat message (`message_id`) in the channel `broadcaster_id`.
    pub async fn delete_chat_message(
        &self,
        broadcaster_id: &str,
        moderator_id: &str,
        message_id: &str,
    ) -> Result<(), TwitchError> {
        if message_id.trim().is_empty() {
            // Helix treats a missing id as "clear the whole chat": never do that by accident.
            return Err(TwitchError::InvalidArgument(
                "deleting a message needs its id; an empty id would clear the whole chat"
                    .to_owned(),
            ));
        }
        self.request(
            Method::DELETE,
            "moderation/chat",
            &[
                ("broadcaster_id", broadcaster_id),
                ("moderator_id", moderator_id),
                ("message_id", message_id),
            ],
            None,
        )
        .await?;
        Ok(())
    }

    /// Bans or times out a user.
    pub async fn ban(&self, ban: &BanRequest) -> Result<(), TwitchError> {
        let mut data = json!({ "user_id": ban.user_id });
        if let Some(secs) = ban.duration_secs {
            if !(1..=MAX_TIMEOUT_SECS).contains(&secs) {
                return Err(TwitchError::InvalidArgument(format!(
                    "a Twitch timeout lasts 1 to {MAX_TIMEOUT_SECS} seconds, not {secs}"
                )));
            }
            data["duration"] = secs.into();
        }
        if let Some(reason) = ban.reason.as_deref().filter(|r| !r.is_empty()) {
            data["reason"] = reason.into();
        }
        self.request(
            Method::POST,
            "moderation/bans",
            &[
                ("broadcaster_id", &ban.broadcaster_id),
                ("moderator_id", &ban.moderator_id),
            ],
            Some(&json!({ "data": data })),
        )
        .await?;
        Ok(())
    }

    /// Whispers `message` from `from_user_id` (the bot) to `to_user_id`.
    pub async fn whisper(
        &self,
        from_user_id: &str,
        to_user_id: &str,
        message: &str,
    ) -> Result<(), TwitchError> {
        self.request(
            Method::POST,
            "whispers",
            &[("from_user_id", from_user_id), ("to_user_id", to_user_id)],
            Some(&json!({ "message": message })),
        )
        .await?;
        Ok(())
    }
}
