#![doc = include_str!("../README.md")]

pub mod action;
pub mod backoff;
pub mod breaker;
pub mod event;
pub mod pipeline;
pub mod ratelimit;
pub mod text;
pub mod topic;

pub use action::{Action, ActionKind, Delivery, Outcome};
pub use event::{
    ChatMessage, CommandInvocation, Event, EventId, Media, Payload, Priority, Raw, Role, Roles,
    Source, User,
};
pub use topic::{Pattern, Topic, TopicError};
