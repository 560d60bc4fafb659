//! Plugins that ship with botkit and that `botkit run` can load by name from
//! `[plugins.<name>]`: [`Logger`] writes the chat and event log through the store,
//! [`Markov`] learns each channel's chat and talks back.
//!
//! They are ordinary plugins built only on the public `botkit` API (context, namespaced
//! store, command framework), so they double as worked examples of writing one.

pub mod logger;
pub mod markov;

pub use logger::{Logger, LoggerConfig};
pub use markov::{Markov, MarkovConfig, MarkovError};
