//! The OpenAI-compatible backend: `/v1/chat/completions` (whole, and streamed as
//! Server-Sent Events) and `/v1/models`, for llama.cpp's server, vLLM, LM Studio and
//! Ollama's own `/v1` layer.
//!
//! It shares the transport with the Ollama backend (same timeouts, retries and breaker)
//! and the line framer: SSE events are assembled from complete lines, so an event split
//! across reads or several events in one read decode the same. A stream is complete only
//! at `data: [DONE]`; an `error` event or a body that just stops is an error.

use async_trait::async_trait;
use botkit::config::LlmSection;
use botkit::llm::{LlmBackend, LlmError, LlmRequest, LlmResponse, LlmStream, ModelInfo, TurnRole};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::{OPENAI_DEFAULT_URL, OPENAI_KEYS, OpenAiConfig, read_section};
use crate::framing::SseDecoder;
use crate::transport::{LineDecoder, Step, Transport, error_value_text};

/// An [`LlmBackend`] for servers with OpenAI's chat-completions API.
#[derive(Debug)]
pub struct OpenAiBackend {
    config: OpenAiConfig,
    transport: Transport,
}

impl OpenAiBackend {
    /// A backend from its config. Fails only on a bad URL; the server is not contacted.
    pub fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        let url = config.url.trim().trim_end_matches('/');
        let url = if url.is_empty() {
            OPENAI_DEFAULT_URL
        } else {
            // Accept `http://host:8080/v1` as well as `http://host:8080`.
            url.strip_suffix("/v1").unwrap_or(url)
        };
        let transport = Transport::new(
            "openai",
            url,
            config.transport.clone(),
            config.api_key.clone(),
        )?;
        Ok(Self { config, transport })
    }

    /// A backend from the `[llm]` section (`backend = "openai"`).
    pub fn from_section(section: &LlmSection) -> Result<Self, LlmError> {
        let (mut config, sampling, transport): (OpenAiConfig, _, _) =
            read_section(section, OPENAI_KEYS)?;
        config.sampling = sampling;
        config.transport = transport;
        Self::new(config)
    }

    /// The config in use.
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// The circuit breaker guarding the server (shared by every call of this backend).
    pub fn breaker(&self) -> &botkit::breaker::CircuitBreaker {
        self.transport.breaker()
    }

    fn model<'a>(&'a self, request: &'a LlmRequest) -> Result<&'a str, LlmError> {
        let model = request.model.as_deref().unwrap_or(&self.config.model);
        if model.trim().is_empty() {
            return Err(LlmError::Config(
                "no model: set `model` in [llm] or on the request".into(),
            ));
        }
        Ok(model)
    }

    /// The JSON body of a chat-completions request.
    pub(crate) fn body(&self, request: &LlmRequest, stream: bool) -> Result<Value, LlmError> {
        let model = self.model(request)?;
        let mut messages = Vec::with_capacity(request.turns.len() + 1);
        if let Some(system) = request.system.as_ref().or(self.config.system.as_ref()) {
            messages.push(json!({ "role": "system", "content": system }));
        }
        for turn in &request.turns {
            let role = match turn.role {
                TurnRole::System => "system",
                TurnRole::User => "user",
                TurnRole::Assistant => "assistant",
            };
            messages.push(json!({ "role": role, "content": turn.content }));
        }
        let options = self.config.sampling.apply(&request.options);
        let mut body = Map::new();
        body.insert("model".into(), Value::from(model));
        body.insert("messages".into(), Value::Array(messages));
        body.insert("stream".into(), Value::Bool(stream));
        if let Some(t) = options.temperature {
            body.insert("temperature".into(), Value::from(t));
        }
        if let Some(p) = options.top_p {
            body.insert("top_p".into(), Value::from(p));
        }
        if let Some(n) = options.max_tokens {
            body.insert("max_tokens".into(), Value::from(n));
        }
        if let Some(seed) = options.seed {
            body.insert("seed".into(), Value::from(seed));
        }
        if !options.stop.is_empty() {
            body.insert("stop".into(), Value::from(options.stop));
        }
        if self.config.json_mode {
            body.insert("response_format".into(), json!({ "type": "json_object" }));
        }
        Ok(Value::Object(body))
    }

    async fn start(
        &self,
        request: &LlmRequest,
        stream: bool,
        deadline: (tokio::time::Instant, std::time::Duration),
    ) -> Result<reqwest::Response, LlmError> {
        let body = self.body(request, stream)?;
        let model = self.model(request)?;
        match self
            .transport
            .send(
                reqwest::Method::POST,
                "/v1/chat/completions",
                Some(&body),
                deadline,
            )
            .await
        {
            Ok(response) => Ok(response),
            Err(LlmError::Http {
                status: 404,
                message,
            }) if message.contains("model") => {
                let available = self
                    .models()
                    .await
                    .map(|models| models.into_iter().map(|m| m.name).collect())
                    .unwrap_or_default();
                Err(LlmError::ModelNotFound {
                    model: model.to_owned(),
                    available,
                })
            }
            Err(other) => Err(other),
        }
    }
}

/// A chat-completions answer or stream chunk; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Completion {
    error: Option<Value>,
    model: Option<String>,
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Choice {
    message: Option<Content>,
    delta: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Content {
    content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Usage {
    prompt_tokens: Option<u32>,
    completion_tokens: Option<u32>,
}

/// Decodes an SSE chat-completions stream.
#[derive(Debug, Default)]
pub(crate) struct SseChatDecoder {
    sse: SseDecoder,
}

impl SseChatDecoder {
    fn event(data: &str) -> Step {
        if data.trim() == "[DONE]" {
            return Step::Done;
        }
        let chunk: Completion = match serde_json::from_str(data) {
            Ok(chunk) => chunk,
            Err(e) => {
                return Step::Fail(LlmError::Protocol(format!(
                    "an event is not a JSON object ({e})"
                )));
            }
        };
        if let Some(error) = &chunk.error {
            return Step::Fail(LlmError::Stream(format!(
                "the server reported: {}",
                error_value_text(error)
            )));
        }
        let text: String = chunk
            .choices
            .into_iter()
            .filter_map(|c| c.delta.and_then(|d| d.content))
            .collect();
        if text.is_empty() {
            Step::Skip
        } else {
            Step::Chunk(text)
        }
    }
}

impl LineDecoder for SseChatDecoder {
    fn line(&mut self, line: &[u8]) -> Step {
        let Ok(line) = std::str::from_utf8(line) else {
            return Step::Fail(LlmError::Protocol("an event is not UTF-8".into()));
        };
        match self.sse.line(line) {
            Some(data) => Self::event(&data),
            None => Step::Skip,
        }
    }

    fn end(&mut self, rest: Option<&[u8]>) -> Step {
        if let Some(rest) = rest {
            let step = self.line(rest);
            if !matches!(step, Step::Skip) {
                return step;
            }
        }
        match self.sse.finish().map(|data| Self::event(&data)) {
            Some(step @ (Step::Done | Step::Fail(_))) => step,
            _ => Step::Fail(LlmError::Stream(
                "the stream ended without `data: [DONE]` (connection closed early)".into(),
            )),
        }
    }
}

#[async_trait]
impl LlmBackend for OpenAiBackend {
    fn name(&self) -> &str {
        "openai"
    }

    async fn generate(&self, request: LlmRequest) -> Result<LlmResponse, LlmError> {
        let deadline = self.transport.deadline(request.timeout);
        let response = self.start(&request, false, deadline).await?;
        let bytes = self.transport.read_body(response, deadline).await?;
        let completion: Completion = serde_json::from_slice(&bytes)
            .map_err(|e| LlmError::Protocol(format!("cannot read the answer: {e}")))?;
        if let Some(error) = &completion.error {
            return Err(LlmError::Stream(format!(
                "the server reported: {}",
                error_value_text(error)
            )));
        }
        let Some(choice) = completion.choices.into_iter().next() else {
            return Err(LlmError::Protocol("the answer has no choices".into()));
        };
        let text = choice.message.and_then(|m| m.content).unwrap_or_default();
        let mut response = LlmResponse::new(text, completion.model.unwrap_or_default());
        response.done_reason = choice.finish_reason;
        if let Some(usage) = completion.usage {
            response.prompt_tokens = usage.prompt_tokens;
            response.completion_tokens = usage.completion_tokens;
        }
        Ok(response)
    }

    async fn generate_stream(&self, request: LlmRequest) -> Result<LlmStream, LlmError> {
        let deadline = self.transport.deadline(request.timeout);
        let response = self.start(&request, true, deadline).await?;
        Ok(self
            .transport
            .stream(response, SseChatDecoder::default(), deadline))
    }

    async fn models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        #[derive(Deserialize)]
        struct Models {
            #[serde(default)]
            data: Vec<Model>,
        }
        #[derive(Deserialize)]
        struct Model {
            id: String,
        }
        let deadline = self.transport.deadline(None);
        let response = self
            .transport
            .send(reqwest::Method::GET, "/v1/models", None, deadline)
            .await?;
        let bytes = self.transport.read_body(response, deadline).await?;
        let models: Models = serde_json::from_slice(&bytes)
            .map_err(|e| LlmError::Protocol(format!("cannot read /v1/models: {e}")))?;
        Ok(models
            .data
            .into_iter()
            .map(|m| ModelInfo::new(m.id))
            .collect())
    }

    async fn health(&self) -> Result<(), LlmError> {
        self.models().await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(lines: &[&str]) -> Vec<Step> {
        let mut decoder = SseChatDecoder::default();
        lines
            .iter()
            .map(|l| decoder.line(l.as_bytes()))
            .filter(|s| *s != Step::Skip)
            .collect()
    }

    #[test]
    fn sse_chunks_done_and_errors() {
        let steps = decode(&[
            r#"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":null}]}"#,
            "",
            ": keep-alive",
            r#"data: {"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#,
            "",
            r#"data: {"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}"#,
            "",
            r#"data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#,
            "",
            "data: [DONE]",
            "",
        ]);
        assert_eq!(
            steps,
            vec![
                Step::Chunk("Hel".into()),
                Step::Chunk("lo".into()),
                Step::Done
            ]
        );
        let steps = decode(&[
            r#"data: {"error":{"message":"boom","type":"server_error"}}"#,
            "",
        ]);
        assert!(matches!(&steps[..], [Step::Fail(LlmError::Stream(m))] if m.contains("boom")));
    }

    #[test]
    fn stream_end_without_done_is_an_error() {
        let mut decoder = SseChatDecoder::default();
        assert_eq!(decoder.line(br#"data: {"choices":[]}"#), Step::Skip);
        assert!(matches!(decoder.end(None), Step::Fail(LlmError::Stream(_))));
        let mut decoder = SseChatDecoder::default();
        assert_eq!(decoder.end(Some(b"data: [DONE]")), Step::Done);
    }

    #[test]
    fn request_body() {
        let mut config = OpenAiConfig::new("http://127.0.0.1:1/v1/", "m");
        config.sampling.temperature = Some(0.0);
        config.sampling.seed = Some(1);
        config.sampling.num_predict = Some(16);
        let backend = OpenAiBackend::new(config).unwrap();
        assert_eq!(backend.transport.base(), "http://127.0.0.1:1");
        let body = backend
            .body(&LlmRequest::prompt("hi").with_system("sys"), true)
            .unwrap();
        assert_eq!(
            body,
            json!({
                "model": "m",
                "messages": [{"role":"system","content":"sys"},{"role":"user","content":"hi"}],
                "stream": true, "temperature": 0.0, "max_tokens": 16, "seed": 1
            })
        );
    }
}
