//! Poll events: `newPoll`, `updatePoll`, `closePoll`.
//!
//! Counts are numbers, or strings (`"?"`, `"3?"`) when the poll is obscured, so a count is
//! an untagged enum rather than a number.

use serde::{Deserialize, Serialize};

/// One option's count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PollCount {
    /// Visible count.
    Votes(f64),
    /// Obscured count as shown (`?` or `N?`).
    Hidden(String),
}

/// A poll as broadcast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Poll {
    /// Title (HTML-escaped).
    #[serde(default)]
    pub title: String,
    /// Options (HTML-escaped).
    #[serde(default)]
    pub options: Vec<String>,
    /// Counts per option.
    #[serde(default)]
    pub counts: Vec<PollCount>,
    /// Who opened it.
    #[serde(default)]
    pub initiator: String,
    /// When it opened, Unix milliseconds.
    #[serde(default)]
    pub timestamp: i64,
}
