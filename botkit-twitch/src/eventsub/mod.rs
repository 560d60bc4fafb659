//! EventSub over WebSocket: the session, its subscriptions and their events.
//!
//! IRC is Twitch's historical chat interface; EventSub is the one Twitch develops. This
//! module runs an EventSub WebSocket session beside the IRC session of a
//! [`TwitchPlatform`](crate::TwitchPlatform) (opt-in through the config's `eventsub`
//! key): [`session`] is the connection loop, [`message`] decodes frames, [`normalize`]
//! turns notifications into the same events IRC produces, [`dedupe`] keeps each event
//! single (redeliveries, and chat that arrives over both IRC and EventSub), [`error`]
//! maps close codes to causes and reactions, and [`api`] is the seam to the Helix client
//! that creates the subscriptions.

pub mod api;
pub mod config;
pub mod dedupe;
pub mod error;
pub mod message;
pub mod normalize;
pub mod session;
mod socket;

pub use api::{CreatedSubscription, EventSubApi, SubscriptionRequest};
pub use config::{DEFAULT_EVENTSUB_URL, DEFAULT_SUBSCRIPTIONS, EventSubConfig, SubscriptionSpec};
pub use error::{CloseCause, EventSubError, Reaction};
pub use normalize::EventSubNormalizer;
pub use session::EventSubSession;
