#![doc = include_str!("../README.md")]

pub mod action;
pub mod backoff;
pub mod breaker;
pub mod builtin;
pub mod bus;
pub mod command;
pub mod config;
pub mod event;
pub mod llm;
pub mod pipeline;
pub mod platform;
pub mod plugin;
pub mod ratelimit;
pub mod runtime;
pub mod shell;
pub mod store;
pub mod testing;
pub mod text;
pub mod topic;

pub use action::{Action, ActionKind, Delivery, Outcome};
pub use bus::{
    Bus, BusConfig, BusError, BusStats, Key, Overflow, Subscriber, Subscription,
    SubscriptionHandle, SubscriptionId,
};
pub use command::{CommandError, CommandRegistry, CommandSpec};
pub use config::{Config, ConfigError, Secret};
pub use event::{
    ChatMessage, CommandInvocation, Event, EventId, Media, Payload, Priority, Raw, Role, Roles,
    Source, User,
};
pub use llm::{LlmBackend, LlmError, LlmRequest, LlmResponse};
pub use platform::{Capabilities, Platform, PlatformContext, PlatformError};
pub use plugin::{Command, CommandCall, Context, Plugin, PluginError};
pub use runtime::{Bot, BotBuilder, BotError, BotHandle};
pub use store::{MemoryStore, NamespacedStore, Store, StoreError};
pub use topic::{Pattern, Topic, TopicError};
