#![doc = include_str!("../README.md")]

pub mod action;
pub mod event;
pub mod store;
pub mod topic;

pub use action::{Action, ActionKind, Delivery, Outcome};
pub use event::{
    ChatMessage, CommandInvocation, Event, EventId, Media, Payload, Priority, Raw, Role, Roles,
    Source, User,
};
pub use store::{
    Bucket, ChannelRef, ChatRecord, EventRecord, JobId, MemoryStore, NamespacedStore, NewJob,
    Store, StoreError,
};
pub use topic::{Pattern, Topic, TopicError};
