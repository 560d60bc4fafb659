#![doc = include_str!("../README.md")]

pub mod action;
pub mod bus;
pub mod event;
pub mod topic;

pub use action::{Action, ActionKind, Delivery, Outcome};
pub use bus::{
    Bus, BusConfig, BusError, BusStats, Key, Overflow, Subscriber, Subscription,
    SubscriptionHandle, SubscriptionId,
};
pub use event::{
    ChatMessage, CommandInvocation, Event, EventId, Media, Payload, Priority, Raw, Role, Roles,
    Source, User,
};
pub use topic::{Pattern, Topic, TopicError};
