//! [`EventSubApi`] for [`HelixClient`]: the EventSub session's subscriptions.
//!
//! WebSocket subscriptions need a user token, which is what this client carries; the
//! transport object is built here so the session only names the type, the version, the
//! condition and its session id. User ids come from the client's cached `GET /users`
//! lookup, up to 100 logins a request.

use std::collections::HashMap;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;

use super::{Data, HelixClient};
use crate::error::TwitchError;
use crate::eventsub::{CreatedSubscription, EventSubApi, SubscriptionRequest};

#[async_trait]
impl EventSubApi for HelixClient {
    async fn create_subscription(
        &self,
        request: &SubscriptionRequest,
    ) -> Result<CreatedSubscription, TwitchError> {
        let body = json!({
            "type": request.kind,
            "version": request.version,
            "condition": request.condition,
            "transport": { "method": "websocket", "session_id": request.session_id },
        });
        let answer = self
            .request(Method::POST, "eventsub/subscriptions", &[], Some(&body))
            .await?;
        answer
            .json::<Data<CreatedSubscription>>()?
            .data
            .into_iter()
            .next()
            .ok_or_else(|| {
                TwitchError::Protocol(
                    "POST /eventsub/subscriptions answered with no subscription".to_owned(),
                )
            })
    }

    async fn delete_subscription(&self, id: &str) -> Result<(), TwitchError> {
        self.request(
            Method::DELETE,
            "eventsub/subscriptions",
            &[("id", id)],
            None,
        )
        .await?;
        Ok(())
    }

    async fn user_ids(&self, logins: &[String]) -> Result<HashMap<String, String>, TwitchError> {
        Ok(self
            .users_by_login(logins)
            .await?
            .into_iter()
            .map(|user| (user.login.to_ascii_lowercase(), user.id))
            .collect())
    }
}
