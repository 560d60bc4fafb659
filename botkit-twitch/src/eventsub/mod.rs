//! EventSub over WebSocket: the session, its subscriptions and their events.

pub mod api;

pub use api::{CreatedSubscription, EventSubApi, SubscriptionRequest};
