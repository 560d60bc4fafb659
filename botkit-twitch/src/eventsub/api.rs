//! What an EventSub session needs from Helix: creating and deleting its subscriptions,
//! and turning logins into the numeric user ids their conditions take.
//!
//! The WebSocket session and the Helix client live in separate modules; this trait is the
//! seam between them. [`crate::helix::HelixClient`] implements it for real traffic, and a
//! test can implement it to watch which subscriptions a session asks for.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::TwitchError;

/// One subscription to create for a WebSocket session
/// (`POST /helix/eventsub/subscriptions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRequest {
    /// The subscription type, e.g. `channel.chat.message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The type's version, e.g. `1`.
    pub version: String,
    /// The type's condition object, e.g. `{"broadcaster_user_id": "1971641", "user_id": "2914196"}`.
    pub condition: serde_json::Value,
    /// The WebSocket session the events go to (the welcome message's `session.id`).
    pub session_id: String,
}

/// A subscription Twitch accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedSubscription {
    /// Twitch's id for the subscription (needed to delete it).
    pub id: String,
    /// Its status, `enabled` once accepted.
    pub status: String,
    /// The subscription type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The type's version.
    pub version: String,
    /// What the subscription costs against `max_total_cost`.
    pub cost: u64,
}

/// What the default [`EventSubApi::user_ids`] answers.
pub const NO_USER_LOOKUP: &str =
    "this EventSubApi cannot look up user ids; set broadcaster_user_ids and bot_user_id";

/// Creates and deletes EventSub subscriptions for a WebSocket session.
#[async_trait]
pub trait EventSubApi: Send + Sync + 'static {
    /// Creates one subscription (Helix answers 202 with the subscription).
    async fn create_subscription(
        &self,
        request: &SubscriptionRequest,
    ) -> Result<CreatedSubscription, TwitchError>;

    /// Deletes a subscription by id (Helix answers 204).
    async fn delete_subscription(&self, id: &str) -> Result<(), TwitchError>;

    /// The user ids of `logins` (lower case, without `#`), as a map from login to id. A
    /// login Twitch does not know is simply missing from the map; an error means the
    /// lookup itself failed (e.g. Helix unreachable, which [`TwitchError::is_transient`]
    /// tells apart from a refusal).
    ///
    /// Only called when the config leaves out `broadcaster_user_ids` or `bot_user_id`.
    /// The default refuses, so an implementation that only creates subscriptions keeps
    /// working with explicit ids.
    async fn user_ids(&self, logins: &[String]) -> Result<HashMap<String, String>, TwitchError> {
        let _ = logins;
        Err(TwitchError::Config(NO_USER_LOOKUP.to_owned()))
    }
}
