//! The [`LlmBackend`] trait: how a bot speaks through a language model.
//!
//! The trait is small on purpose: generate whole or streamed from a system prompt, a chat
//! history and options; list and validate models; report health. Backends (Ollama,
//! OpenAI-compatible servers) live in their own crates; `botkit::testing::ScriptedLlm`
//! stands in for them in tests. Errors say whether a retry may help, and which model
//! names exist when the configured one does not.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};

/// Who said a turn of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TurnRole {
    /// Instructions.
    System,
    /// A chat user (or the chat as a whole).
    User,
    /// The bot.
    Assistant,
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// Who said it.
    pub role: TurnRole,
    /// What was said.
    pub content: String,
}

impl Turn {
    /// A user turn.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: TurnRole::User,
            content: content.into(),
        }
    }

    /// An assistant turn.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: TurnRole::Assistant,
            content: content.into(),
        }
    }
}

/// Sampling and length options. `None` leaves the server's default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LlmOptions {
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    pub top_p: Option<f32>,
    /// Most tokens to generate.
    pub max_tokens: Option<u32>,
    /// Context window size.
    pub num_ctx: Option<u32>,
    /// Stop sequences.
    #[serde(default)]
    pub stop: Vec<String>,
    /// Seed for reproducible output.
    pub seed: Option<u64>,
}

/// A generation request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LlmRequest {
    /// Model name; `None` uses the backend's configured model.
    pub model: Option<String>,
    /// System prompt.
    pub system: Option<String>,
    /// The conversation so far, oldest first.
    pub turns: Vec<Turn>,
    /// Options.
    pub options: LlmOptions,
    /// Overall deadline for the request, if shorter than the backend's.
    pub timeout: Option<Duration>,
}

impl LlmRequest {
    /// A request with a single user turn.
    pub fn prompt(text: impl Into<String>) -> Self {
        Self {
            turns: vec![Turn::user(text)],
            ..Self::default()
        }
    }

    /// The same request with a system prompt.
    #[must_use]
    pub fn with_system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// The same request with options.
    #[must_use]
    pub fn with_options(mut self, options: LlmOptions) -> Self {
        self.options = options;
        self
    }
}

/// A whole generation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LlmResponse {
    /// The generated text.
    pub text: String,
    /// The model that answered.
    pub model: String,
    /// Why generation stopped (`stop`, `length`…), when the server says.
    pub done_reason: Option<String>,
    /// Prompt tokens, when reported.
    pub prompt_tokens: Option<u32>,
    /// Generated tokens, when reported.
    pub completion_tokens: Option<u32>,
}

impl LlmResponse {
    /// A response with only text and model.
    pub fn new(text: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            model: model.into(),
            ..Self::default()
        }
    }
}

/// A model the backend can use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelInfo {
    /// Model name as requests name it.
    pub name: String,
    /// Size in bytes, when known.
    pub size: Option<u64>,
}

impl ModelInfo {
    /// A model with a name only.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            size: None,
        }
    }
}

/// A stream of generated text chunks. It ends with `Ok` chunks only when the server said
/// it was done; any failure, including a stream cut short, is an `Err` item.
pub type LlmStream = BoxStream<'static, Result<String, LlmError>>;

/// Why a generation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    /// The server could not be reached.
    #[error("cannot reach the LLM server at {url}: {reason}")]
    Connect {
        /// Server address.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The server did not answer in time.
    #[error("the LLM server did not answer within {0:?}")]
    Timeout(Duration),
    /// The server answered with an HTTP error.
    #[error("the LLM server answered HTTP {status}: {message}")]
    Http {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The model does not exist on the server.
    #[error("model `{model}` not found; available: {}", if available.is_empty() { "none".to_owned() } else { available.join(", ") })]
    ModelNotFound {
        /// The requested model.
        model: String,
        /// The models the server has.
        available: Vec<String>,
    },
    /// A stream failed or ended before the server said it was done.
    #[error("the LLM stream broke: {0}")]
    Stream(String),
    /// The server's answer could not be understood.
    #[error("unexpected answer from the LLM server: {0}")]
    Protocol(String),
    /// The circuit breaker is open: the server failed repeatedly.
    #[error("the LLM server is failing; next try in {retry_after:?}")]
    CircuitOpen {
        /// When the next probe is allowed.
        retry_after: Duration,
    },
    /// No more scripted answers (testing) or no backend configured.
    #[error("no LLM available: {0}")]
    Unavailable(String),
    /// The `[llm]` config is invalid (unknown backend, bad URL, bad value).
    #[error("invalid LLM config: {0}")]
    Config(String),
}

impl LlmError {
    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            LlmError::Connect { .. }
            | LlmError::Timeout(_)
            | LlmError::Stream(_)
            | LlmError::CircuitOpen { .. } => true,
            LlmError::Http { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// A language model backend.
#[async_trait]
pub trait LlmBackend: Send + Sync + 'static {
    /// Backend name for logs (`ollama`, `openai`, `scripted`).
    fn name(&self) -> &str;

    /// Generates a whole answer.
    async fn generate(&self, request: LlmRequest) -> Result<LlmResponse, LlmError>;

    /// Generates an answer as a stream of chunks. The default generates the whole answer
    /// and yields it as one chunk.
    async fn generate_stream(&self, request: LlmRequest) -> Result<LlmStream, LlmError> {
        let response = self.generate(request).await?;
        Ok(Box::pin(futures_util::stream::iter([Ok(response.text)])))
    }

    /// The models the server has.
    async fn models(&self) -> Result<Vec<ModelInfo>, LlmError>;

    /// Checks that `model` exists, with an error that lists the models that do.
    async fn validate_model(&self, model: &str) -> Result<(), LlmError> {
        let models = self.models().await?;
        if models.iter().any(|m| m.name == model) {
            Ok(())
        } else {
            Err(LlmError::ModelNotFound {
                model: model.to_owned(),
                available: models.into_iter().map(|m| m.name).collect(),
            })
        }
    }

    /// Whether the server is reachable and healthy.
    async fn health(&self) -> Result<(), LlmError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_not_found_lists_models() {
        let e = LlmError::ModelNotFound {
            model: "llama9".into(),
            available: vec!["a".into(), "b".into()],
        };
        assert_eq!(e.to_string(), "model `llama9` not found; available: a, b");
        assert!(!e.is_transient());
        assert!(
            LlmError::Http {
                status: 503,
                message: String::new()
            }
            .is_transient()
        );
    }
}
