//! The Ollama backend: `/api/chat` and `/api/generate`, whole and streamed, plus
//! `/api/tags`, `/api/show` and `/api/version`.
//!
//! Follows the server's code where it differs from its docs (see the protocol note
//! `ollama.md`): every metric and `done_reason` is optional (zeros are omitted), every
//! streamed line is checked for `error` before it is read as a chunk, a stream is only
//! complete after `done: true`, and `stream` is always sent explicitly. A 404 whose message
//! is `model '…' not found` becomes [`LlmError::ModelNotFound`] with the server's model
//! list, so the error tells the user which names would work.

use std::borrow::Cow;

use async_trait::async_trait;
use botkit::config::LlmSection;
use botkit::llm::{
    LlmBackend, LlmError, LlmOptions, LlmRequest, LlmResponse, LlmStream, ModelInfo, Turn, TurnRole,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::config::{OLLAMA_DEFAULT_URL, OLLAMA_KEYS, OllamaConfig, OllamaEndpoint, read_section};
use crate::transport::{LineDecoder, Step, Transport, error_value_text};

/// An [`LlmBackend`] speaking Ollama's native API.
#[derive(Debug)]
pub struct OllamaBackend {
    config: OllamaConfig,
    transport: Transport,
}

/// Details of one model from `/api/show`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ModelDetails {
    /// Modelfile parameters, one `key   value` per line.
    pub parameters: String,
    /// The prompt template.
    pub template: String,
    /// The model's own system prompt.
    pub system: String,
    /// Family, size and quantization.
    pub details: ModelFamily,
    /// What the model can do: `completion`, `tools`, `thinking`, `vision`, `embedding`…
    pub capabilities: Vec<String>,
    /// GGUF metadata (`general.architecture`, `<arch>.context_length`…).
    pub model_info: Map<String, Value>,
}

impl ModelDetails {
    /// The context length the model was trained for, from `<arch>.context_length`.
    pub fn context_length(&self) -> Option<u64> {
        let arch = self.model_info.get("general.architecture")?.as_str()?;
        self.model_info
            .get(&format!("{arch}.context_length"))?
            .as_u64()
    }

    /// Whether the model lists `capability` (e.g. `tools`, `thinking`).
    pub fn has_capability(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

/// The `details` object of `/api/show` and `/api/tags`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ModelFamily {
    /// Model format (`gguf`).
    pub format: String,
    /// Family (`llama`, `qwen2`…).
    pub family: String,
    /// Size such as `3.2B`.
    pub parameter_size: String,
    /// Quantization such as `Q4_K_M`.
    pub quantization_level: String,
}

impl OllamaBackend {
    /// A backend from its config. Fails only on a bad URL or config value; the server is
    /// not contacted (see [`crate::connect`] for a start-up check).
    pub fn new(config: OllamaConfig) -> Result<Self, LlmError> {
        config.check().map_err(LlmError::Config)?;
        let url = if config.url.trim().is_empty() {
            OLLAMA_DEFAULT_URL
        } else {
            config.url.as_str()
        };
        let transport = Transport::new("ollama", url, config.transport.clone(), None)?;
        Ok(Self { config, transport })
    }

    /// A backend from the `[llm]` section (`backend = "ollama"`).
    pub fn from_section(section: &LlmSection) -> Result<Self, LlmError> {
        let (mut config, sampling, transport): (OllamaConfig, _, _) =
            read_section(section, OLLAMA_KEYS)?;
        config.sampling = sampling;
        config.transport = transport;
        Self::new(config)
    }

    /// The config in use.
    pub fn config(&self) -> &OllamaConfig {
        &self.config
    }

    /// The circuit breaker guarding the server (shared by every call of this backend).
    pub fn breaker(&self) -> &botkit::breaker::CircuitBreaker {
        self.transport.breaker()
    }

    /// `/api/chat`, whole.
    pub async fn chat(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError> {
        self.whole(OllamaEndpoint::Chat, request).await
    }

    /// `/api/chat`, streamed.
    pub async fn chat_stream(&self, request: &LlmRequest) -> Result<LlmStream, LlmError> {
        self.streamed(OllamaEndpoint::Chat, request).await
    }

    /// `/api/generate`, whole: the turns are rendered into one prompt.
    pub async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError> {
        self.whole(OllamaEndpoint::Generate, request).await
    }

    /// `/api/generate`, streamed.
    pub async fn complete_stream(&self, request: &LlmRequest) -> Result<LlmStream, LlmError> {
        self.streamed(OllamaEndpoint::Generate, request).await
    }

    /// `/api/show` for `model`.
    pub async fn show(&self, model: &str) -> Result<ModelDetails, LlmError> {
        let deadline = self.transport.deadline(None);
        let body = json!({ "model": model });
        let response = self
            .transport
            .send(reqwest::Method::POST, "/api/show", Some(&body), deadline)
            .await
            .map_err(|e| self.not_found(e, model));
        let response = match response {
            Ok(r) => r,
            Err(e) => return Err(self.with_available(e).await),
        };
        let bytes = self.transport.read_body(response, deadline).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| LlmError::Protocol(format!("cannot read /api/show: {e}")))
    }

    /// `/api/version`: the server's version string.
    pub async fn version(&self) -> Result<String, LlmError> {
        #[derive(Deserialize)]
        struct Version {
            version: String,
        }
        let deadline = self.transport.deadline(None);
        let response = self
            .transport
            .send(reqwest::Method::GET, "/api/version", None, deadline)
            .await?;
        let bytes = self.transport.read_body(response, deadline).await?;
        serde_json::from_slice::<Version>(&bytes)
            .map(|v| v.version)
            .map_err(|e| LlmError::Protocol(format!("cannot read /api/version: {e}")))
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

    /// The JSON body of a chat or generate request.
    pub(crate) fn body(
        &self,
        endpoint: OllamaEndpoint,
        request: &LlmRequest,
        stream: bool,
    ) -> Result<Value, LlmError> {
        let model = self.model(request)?;
        let system = request.system.as_ref().or(self.config.system.as_ref());
        let mut body = Map::new();
        body.insert("model".into(), Value::from(model));
        match endpoint {
            OllamaEndpoint::Chat => {
                let mut messages = Vec::with_capacity(request.turns.len() + 1);
                if let Some(system) = system {
                    messages.push(json!({ "role": "system", "content": system }));
                }
                for turn in &request.turns {
                    messages.push(json!({ "role": role_name(turn.role), "content": turn.content }));
                }
                body.insert("messages".into(), Value::Array(messages));
            }
            OllamaEndpoint::Generate => {
                body.insert("prompt".into(), Value::from(render_prompt(&request.turns)));
                if let Some(system) = system {
                    body.insert("system".into(), Value::from(system.as_str()));
                }
            }
        }
        body.insert("stream".into(), Value::Bool(stream));
        let options = ollama_options(
            &self.config.sampling.apply(&request.options),
            &self.config.extra_options,
        );
        if !options.is_empty() {
            body.insert("options".into(), Value::Object(options));
        }
        if let Some(keep_alive) = &self.config.keep_alive {
            body.insert(
                "keep_alive".into(),
                serde_json::to_value(keep_alive).unwrap_or(Value::Null),
            );
        }
        if let Some(format) = &self.config.format {
            body.insert("format".into(), format.clone());
        }
        Ok(Value::Object(body))
    }

    async fn start(
        &self,
        endpoint: OllamaEndpoint,
        request: &LlmRequest,
        stream: bool,
        deadline: (Instant, std::time::Duration),
    ) -> Result<reqwest::Response, LlmError> {
        let body = self.body(endpoint, request, stream)?;
        let path = match endpoint {
            OllamaEndpoint::Chat => "/api/chat",
            OllamaEndpoint::Generate => "/api/generate",
        };
        let model = self.model(request)?;
        match self
            .transport
            .send(reqwest::Method::POST, path, Some(&body), deadline)
            .await
        {
            Ok(response) => Ok(response),
            Err(error) => Err(self.with_available(self.not_found(error, model)).await),
        }
    }

    async fn whole(
        &self,
        endpoint: OllamaEndpoint,
        request: &LlmRequest,
    ) -> Result<LlmResponse, LlmError> {
        let deadline = self.transport.deadline(request.timeout);
        let response = self.start(endpoint, request, false, deadline).await?;
        let bytes = self.transport.read_body(response, deadline).await?;
        let line: Line<'_> = serde_json::from_slice(&bytes)
            .map_err(|e| LlmError::Protocol(format!("cannot read the answer: {e}")))?;
        if let Some(error) = &line.error {
            return Err(LlmError::Stream(format!(
                "the server reported: {}",
                error_value_text(error)
            )));
        }
        let mut line = line;
        let text = line.take_text().unwrap_or_default().into_owned();
        let mut response = LlmResponse::new(text, line.model.unwrap_or_default());
        response.done_reason = line.done_reason;
        response.prompt_tokens = line.prompt_eval_count;
        response.completion_tokens = line.eval_count;
        Ok(response)
    }

    async fn streamed(
        &self,
        endpoint: OllamaEndpoint,
        request: &LlmRequest,
    ) -> Result<LlmStream, LlmError> {
        let deadline = self.transport.deadline(request.timeout);
        let response = self.start(endpoint, request, true, deadline).await?;
        Ok(self.transport.stream(response, NdjsonDecoder, deadline))
    }

    /// Turns Ollama's 404 `model 'x' not found` into [`LlmError::ModelNotFound`] (the list
    /// of models is filled in by [`with_available`](Self::with_available)).
    fn not_found(&self, error: LlmError, model: &str) -> LlmError {
        match error {
            LlmError::Http {
                status: 404,
                message,
            } if is_model_not_found(&message) => LlmError::ModelNotFound {
                model: model.to_owned(),
                available: Vec::new(),
            },
            other => other,
        }
    }

    /// Fills in the models the server has, when it can tell.
    async fn with_available(&self, error: LlmError) -> LlmError {
        match error {
            LlmError::ModelNotFound { model, .. } => {
                let available = self
                    .models()
                    .await
                    .map(|models| models.into_iter().map(|m| m.name).collect())
                    .unwrap_or_default();
                LlmError::ModelNotFound { model, available }
            }
            other => other,
        }
    }
}

/// Whether a 404 message is Ollama's unknown-model error (`model 'x' not found`, `model "x"
/// not found, try pulling it first`), not an unknown route (`404 page not found`).
fn is_model_not_found(message: &str) -> bool {
    message.starts_with("model ") && message.contains("not found")
}

/// Ollama's model names: no tag means `:latest`, and case does not matter.
pub(crate) fn same_model(a: &str, b: &str) -> bool {
    fn normal(name: &str) -> String {
        let name = name.trim().to_lowercase();
        let last = name.rsplit('/').next().unwrap_or(&name);
        if last.contains(':') {
            name
        } else {
            format!("{name}:latest")
        }
    }
    normal(a) == normal(b)
}

fn role_name(role: TurnRole) -> &'static str {
    match role {
        TurnRole::System => "system",
        TurnRole::User => "user",
        TurnRole::Assistant => "assistant",
    }
}

/// The prompt for `/api/generate`: a single user turn as is; a longer history as a
/// `User:` / `Assistant:` transcript ending with `Assistant:` for the model to continue.
pub(crate) fn render_prompt(turns: &[Turn]) -> String {
    if let [only] = turns
        && only.role == TurnRole::User
    {
        return only.content.clone();
    }
    let mut prompt = String::new();
    for turn in turns {
        let who = match turn.role {
            TurnRole::System => "System",
            TurnRole::User => "User",
            TurnRole::Assistant => "Assistant",
        };
        prompt.push_str(who);
        prompt.push_str(": ");
        prompt.push_str(&turn.content);
        prompt.push('\n');
    }
    prompt.push_str("Assistant:");
    prompt
}

/// Ollama `options` from the merged request options and the configured extras (the
/// request's named options win).
fn ollama_options(options: &LlmOptions, extra: &Map<String, Value>) -> Map<String, Value> {
    let mut map = extra.clone();
    if let Some(t) = options.temperature {
        map.insert("temperature".into(), Value::from(t));
    }
    if let Some(p) = options.top_p {
        map.insert("top_p".into(), Value::from(p));
    }
    if let Some(n) = options.max_tokens {
        map.insert("num_predict".into(), Value::from(n));
    }
    if let Some(n) = options.num_ctx {
        map.insert("num_ctx".into(), Value::from(n));
    }
    if let Some(seed) = options.seed {
        map.insert("seed".into(), Value::from(seed));
    }
    if !options.stop.is_empty() {
        map.insert("stop".into(), Value::from(options.stop.clone()));
    }
    map
}

/// One chat or generate object, streamed or whole. Everything is optional: Ollama omits
/// zero metrics and empty reasons, and an error line has nothing but `error`.
#[derive(Debug, Deserialize)]
pub(crate) struct Line<'a> {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default, borrow)]
    message: Option<Message<'a>>,
    #[serde(default, borrow)]
    response: Option<Cow<'a, str>>,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    done_reason: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    prompt_eval_count: Option<u32>,
    #[serde(default)]
    eval_count: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct Message<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
}

impl<'a> Line<'a> {
    /// The text: `message.content` (chat) or `response` (generate).
    fn take_text(&mut self) -> Option<Cow<'a, str>> {
        self.message
            .take()
            .and_then(|m| m.content)
            .or_else(|| self.response.take())
    }
}

/// Decodes Ollama's NDJSON stream lines.
#[derive(Debug, Default)]
pub(crate) struct NdjsonDecoder;

impl NdjsonDecoder {
    fn decode(line: &[u8]) -> Step {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Step::Skip;
        }
        let mut parsed: Line<'_> = match serde_json::from_slice(line) {
            Ok(parsed) => parsed,
            Err(e) => {
                return Step::Fail(LlmError::Protocol(format!(
                    "a streamed line is not a JSON object ({e}): {}",
                    String::from_utf8_lossy(line.get(..200).unwrap_or(line))
                )));
            }
        };
        if let Some(error) = &parsed.error {
            return Step::Fail(LlmError::Stream(format!(
                "the server reported: {}",
                error_value_text(error)
            )));
        }
        let done = parsed.done;
        match parsed.take_text() {
            // The final object's text is empty, but a server may put the last words there.
            Some(text) if !text.is_empty() && !done => Step::Chunk(text.into_owned()),
            _ if done => Step::Done,
            _ => Step::Skip,
        }
    }
}

impl LineDecoder for NdjsonDecoder {
    fn line(&mut self, line: &[u8]) -> Step {
        Self::decode(line)
    }

    fn end(&mut self, rest: Option<&[u8]>) -> Step {
        match rest.map(Self::decode) {
            Some(step @ (Step::Done | Step::Fail(_))) => step,
            _ => Step::Fail(LlmError::Stream(
                "the stream ended without `done: true` (connection closed early)".into(),
            )),
        }
    }
}

#[async_trait]
impl LlmBackend for OllamaBackend {
    fn name(&self) -> &str {
        "ollama"
    }

    async fn generate(&self, request: LlmRequest) -> Result<LlmResponse, LlmError> {
        self.whole(self.config.endpoint, &request).await
    }

    async fn generate_stream(&self, request: LlmRequest) -> Result<LlmStream, LlmError> {
        self.streamed(self.config.endpoint, &request).await
    }

    async fn models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        #[derive(Deserialize)]
        struct Tags {
            #[serde(default)]
            models: Vec<Tag>,
        }
        #[derive(Deserialize)]
        struct Tag {
            #[serde(default)]
            name: String,
            #[serde(default)]
            model: String,
            #[serde(default)]
            size: Option<u64>,
        }
        let deadline = self.transport.deadline(None);
        let response = self
            .transport
            .send(reqwest::Method::GET, "/api/tags", None, deadline)
            .await?;
        let bytes = self.transport.read_body(response, deadline).await?;
        let tags: Tags = serde_json::from_slice(&bytes)
            .map_err(|e| LlmError::Protocol(format!("cannot read /api/tags: {e}")))?;
        Ok(tags
            .models
            .into_iter()
            .map(|tag| {
                let name = if tag.name.is_empty() {
                    tag.model
                } else {
                    tag.name
                };
                let mut info = ModelInfo::new(name);
                info.size = tag.size;
                info
            })
            .collect())
    }

    async fn validate_model(&self, model: &str) -> Result<(), LlmError> {
        let models = self.models().await?;
        if models.iter().any(|m| same_model(&m.name, model)) {
            Ok(())
        } else {
            Err(LlmError::ModelNotFound {
                model: model.to_owned(),
                available: models.into_iter().map(|m| m.name).collect(),
            })
        }
    }

    async fn health(&self) -> Result<(), LlmError> {
        self.version().await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_decode_to_steps() {
        let chunk = br#"{"model":"m","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":"The"},"done":false}"#;
        assert_eq!(NdjsonDecoder::decode(chunk), Step::Chunk("The".into()));
        let generate = br#"{"model":"m","response":" sky","done":false}"#;
        assert_eq!(NdjsonDecoder::decode(generate), Step::Chunk(" sky".into()));
        let done = br#"{"model":"m","response":"","done":true,"done_reason":"stop","context":[1,2,3],"eval_count":3}"#;
        assert_eq!(NdjsonDecoder::decode(done), Step::Done);
        let thinking = br#"{"model":"m","message":{"role":"assistant","content":"","thinking":"hm"},"done":false}"#;
        assert_eq!(NdjsonDecoder::decode(thinking), Step::Skip);
        let escaped = br#"{"message":{"content":"a \"quote\"\n"},"done":false}"#;
        assert_eq!(
            NdjsonDecoder::decode(escaped),
            Step::Chunk("a \"quote\"\n".into())
        );
        match NdjsonDecoder::decode(
            br#"{"error":"an error was encountered while running the model"}"#,
        ) {
            Step::Fail(LlmError::Stream(m)) => assert!(m.contains("while running the model")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            NdjsonDecoder::decode(b"{\"mod"),
            Step::Fail(LlmError::Protocol(_))
        ));
        assert_eq!(NdjsonDecoder::decode(b"  "), Step::Skip);
    }

    #[test]
    fn model_names_compare_like_ollama() {
        assert!(same_model("llama3.2", "llama3.2:latest"));
        assert!(same_model("Llama3.2:3B", "llama3.2:3b"));
        assert!(same_model("user/m", "user/m:latest"));
        assert!(!same_model("llama3.2:1b", "llama3.2"));
        assert!(is_model_not_found("model 'x' not found"));
        assert!(is_model_not_found(
            "model \"x\" not found, try pulling it first"
        ));
        assert!(!is_model_not_found("404 page not found"));
    }

    #[test]
    fn prompt_rendering() {
        assert_eq!(render_prompt(&[Turn::user("hi")]), "hi");
        assert_eq!(
            render_prompt(&[Turn::user("hi"), Turn::assistant("yo"), Turn::user("sup")]),
            "User: hi\nAssistant: yo\nUser: sup\nAssistant:"
        );
    }

    #[test]
    fn request_body_carries_options_system_keep_alive_and_format() {
        let mut config = OllamaConfig::new("http://127.0.0.1:1", "m");
        config.system = Some("be brief".into());
        config.keep_alive = Some(crate::config::KeepAlive::Duration("5m".into()));
        config.format = Some(Value::from("json"));
        config.sampling.seed = Some(7);
        config.extra_options.insert("top_k".into(), Value::from(20));
        let backend = OllamaBackend::new(config).unwrap();
        let mut options = LlmOptions::default();
        options.temperature = Some(0.0);
        options.max_tokens = Some(16);
        options.stop = vec!["\n".into()];
        let request = LlmRequest::prompt("hi").with_options(options);
        let body = backend.body(OllamaEndpoint::Chat, &request, true).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "m",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "hi"}
                ],
                "stream": true,
                "options": {"temperature": 0.0, "num_predict": 16, "seed": 7, "stop": ["\n"], "top_k": 20},
                "keep_alive": "5m",
                "format": "json"
            })
        );
        let body = backend
            .body(OllamaEndpoint::Generate, &request, false)
            .unwrap();
        assert_eq!(body["prompt"], "hi");
        assert_eq!(body["system"], "be brief");
        assert_eq!(body["stream"], false);
    }
}
