//! Actions: what a bot asks a platform to do, and the outcome it gets back.
//!
//! Actions travel over the bus as requests on `action.<platform>.<verb>` and are answered
//! with an [`Outcome`], so a plugin in another process (through the NATS bridge) acts
//! exactly like a local one. The platform's outgoing path applies its rate limits and
//! length rules; the [`Delivery`] choice says whether an action may wait for the limiter or
//! must be dropped when it cannot go out at once.

use serde::{Deserialize, Serialize};

use crate::event::{Priority, Source};
use crate::topic::{Topic, TopicError};

/// What to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verb", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActionKind {
    /// Send a chat message to the target channel.
    Say {
        /// The text; split to the platform's max length if longer.
        text: String,
    },
    /// Send a chat message as a reply to another message.
    Reply {
        /// The text.
        text: String,
        /// The platform id of the message replied to.
        parent_id: Option<String>,
        /// Who is answered (used by platforms with no native replies: `@name text`).
        to: Option<String>,
    },
    /// Send a private message.
    Whisper {
        /// Recipient's name on the platform.
        to: String,
        /// The text.
        text: String,
    },
    /// Delete a message by its platform id.
    DeleteMessage {
        /// The platform's message id.
        message_id: String,
    },
    /// Time a user out.
    Timeout {
        /// The user's name on the platform.
        user: String,
        /// Duration in seconds.
        duration_secs: u64,
        /// Reason shown to moderators.
        reason: Option<String>,
    },
    /// Ban a user.
    Ban {
        /// The user's name on the platform.
        user: String,
        /// Reason shown to moderators.
        reason: Option<String>,
    },
    /// Change the bot account's chat color (a name like `blue` or a `#rrggbb` hex).
    SetColor {
        /// The color.
        color: String,
    },
    /// A platform-specific action by name (e.g. CyTube's `queue`), with JSON arguments.
    Custom {
        /// The platform's action name.
        name: String,
        /// Arguments.
        args: serde_json::Value,
    },
}

impl ActionKind {
    /// The verb used in the action's topic.
    pub fn verb(&self) -> &str {
        match self {
            ActionKind::Say { .. } => "say",
            ActionKind::Reply { .. } => "reply",
            ActionKind::Whisper { .. } => "whisper",
            ActionKind::DeleteMessage { .. } => "delete_message",
            ActionKind::Timeout { .. } => "timeout",
            ActionKind::Ban { .. } => "ban",
            ActionKind::SetColor { .. } => "set_color",
            ActionKind::Custom { name, .. } => name,
        }
    }

    /// The chat text this action sends, if it sends any.
    pub fn text(&self) -> Option<&str> {
        match self {
            ActionKind::Say { text }
            | ActionKind::Reply { text, .. }
            | ActionKind::Whisper { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Mutable access to the chat text, for splitting and trimming.
    pub fn text_mut(&mut self) -> Option<&mut String> {
        match self {
            ActionKind::Say { text }
            | ActionKind::Reply { text, .. }
            | ActionKind::Whisper { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// Whether an action may wait for the rate limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    /// Wait in the outgoing queue until the limiter allows it (default).
    #[default]
    Queue,
    /// Drop it if it cannot go out now (chatter that is stale a second later).
    Drop,
}

/// A request to a platform: who acts (target platform instance and channel), what, how
/// urgently, and whether it may wait.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Platform kind, instance and channel that should act.
    pub target: Source,
    /// What to do.
    pub kind: ActionKind,
    /// Outgoing priority: higher goes first when the limiter is the bottleneck.
    #[serde(default)]
    pub priority: Priority,
    /// Queue or drop when rate limited.
    #[serde(default)]
    pub delivery: Delivery,
}

impl Action {
    /// An action with normal priority that queues.
    pub fn new(target: Source, kind: ActionKind) -> Self {
        Self {
            target,
            kind,
            priority: Priority::Normal,
            delivery: Delivery::Queue,
        }
    }

    /// Say `text` in the target's channel.
    pub fn say(target: Source, text: impl Into<String>) -> Self {
        Self::new(target, ActionKind::Say { text: text.into() })
    }

    /// The same action with another priority.
    #[must_use]
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// The same action with another delivery choice.
    #[must_use]
    pub fn with_delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    /// `action.<platform>.<verb>`.
    pub fn topic(&self) -> Result<Topic, TopicError> {
        Topic::new(format!(
            "action.{}.{}",
            self.target.platform,
            self.kind.verb()
        ))
    }
}

/// What became of an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Done. For chat text, the id of the (last) message sent when the platform gives one.
    Done {
        /// The platform's id of the sent message, if known.
        message_id: Option<String>,
    },
    /// Not sent because of [`Delivery::Drop`], a full queue, or a platform's own drop
    /// (Twitch's `drop_reason`).
    Dropped {
        /// Why.
        reason: String,
    },
    /// The platform refused or failed.
    Failed {
        /// What went wrong.
        error: String,
        /// Whether retrying later may succeed.
        transient: bool,
    },
    /// The platform does not support this action.
    Unsupported {
        /// The verb that is not supported.
        verb: String,
    },
}

impl Outcome {
    /// Whether the action was carried out.
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done { .. })
    }
}
