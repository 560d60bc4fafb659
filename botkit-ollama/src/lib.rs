//! LLM backends for botkit: [`OllamaBackend`] (Ollama's native `/api`) and
//! [`OpenAiBackend`] (OpenAI-compatible `/v1`: llama.cpp's server, vLLM, LM Studio).
//!
//! Both implement [`botkit::llm::LlmBackend`] and fail the ways a chat bot can handle: a
//! server that is down, slow to load a model, stalled or cut mid-stream, or missing the
//! model each give a distinct [`LlmError`], never a silent end. Streams are framed by bytes
//! and newlines, never by network reads (the reference client loses split lines). Pick the
//! backend from config with [`from_config`]; check it at start with [`connect`].
//!
//! ```toml
//! [llm]
//! backend = "ollama"          # or "openai"
//! url = "http://127.0.0.1:11434"
//! model = "llama3.2:3b"
//! temperature = 0.7
//! num_predict = 120
//! idle_timeout = "30s"
//! ```

pub mod chat;
pub mod config;
pub mod framing;
pub mod ollama;
pub mod openai;
mod transport;

use std::sync::Arc;

use botkit::config::LlmSection;
use botkit::llm::{LlmBackend, LlmError};

pub use chat::{ContextBuilder, clean_reply, fit_reply};
pub use config::{
    KeepAlive, OllamaConfig, OllamaEndpoint, OpenAiConfig, SamplingDefaults, TransportConfig,
};
pub use ollama::{ModelDetails, OllamaBackend};
pub use openai::OpenAiBackend;

/// The backend named by `[llm] backend`: `ollama` or `openai` (also `llamacpp`, `vllm`,
/// `lmstudio`, which speak the OpenAI API). The server is not contacted.
pub fn from_config(section: &LlmSection) -> Result<Arc<dyn LlmBackend>, LlmError> {
    match section.backend.trim().to_ascii_lowercase().as_str() {
        "ollama" => Ok(Arc::new(OllamaBackend::from_section(section)?)),
        "openai" | "llamacpp" | "llama.cpp" | "vllm" | "lmstudio" => {
            Ok(Arc::new(OpenAiBackend::from_section(section)?))
        }
        other => Err(LlmError::Config(format!(
            "unknown `llm.backend` {other:?}; use \"ollama\" or \"openai\""
        ))),
    }
}

/// [`from_config`], then a start-up check: the server answers and has the configured
/// model. A missing model gives [`LlmError::ModelNotFound`] listing the models there are.
pub async fn connect(section: &LlmSection) -> Result<Arc<dyn LlmBackend>, LlmError> {
    let backend = from_config(section)?;
    backend.health().await?;
    if !section.model.trim().is_empty() {
        backend.validate_model(&section.model).await?;
    }
    Ok(backend)
}
