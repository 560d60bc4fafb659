//! The `[llm]` keys both backends read, and the timeouts, retries and breaker they share.
//!
//! A chat bot's config names one LLM server in its `[llm]` section (`backend`, `url`,
//! `model`); every other key lands in [`LlmSection::options`] and is read here with
//! [`LlmSection::deserialize_into`]. Unknown keys are refused (checked against
//! [`OLLAMA_KEYS`] / [`OPENAI_KEYS`], since serde's `deny_unknown_fields` does not work with
//! structs read from one table) so a typo such as `temprature` is an error naming the key, not a
//! silently ignored setting. The failure-handling knobs live in [`TransportConfig`] and the sampling defaults
//! in [`SamplingDefaults`], each read from the same `[llm]` table on its own (not with
//! `#[serde(flatten)]`, which would lose the key path in error messages), because Ollama and OpenAI-compatible servers fail in the same ways: down
//! (connect timeout, retries), loading a model (first-byte timeout), stalled mid-stream
//! (idle timeout), or talking forever (overall deadline).
//!
//! Durations are written like the rest of botkit's config: `"500ms"`, `"5s"`, `"2m"`, `"1h"`
//! (decimals allowed), or an integer number of milliseconds.

use std::time::Duration;

use botkit::backoff::BackoffPolicy;
use botkit::breaker::BreakerConfig;
use botkit::config::{Secret, duration};
use botkit::llm::LlmOptions;
use serde::Deserialize;

/// The default Ollama address.
pub const OLLAMA_DEFAULT_URL: &str = "http://127.0.0.1:11434";
/// The default address of an OpenAI-compatible server (llama.cpp's `llama-server`).
pub const OPENAI_DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// Keys shared by both backends: the section's own, sampling and transport.
const COMMON_KEYS: &[&str] = &[
    "backend",
    "url",
    "model",
    "system",
    "temperature",
    "top_p",
    "num_predict",
    "num_ctx",
    "stop",
    "seed",
    "connect_timeout",
    "first_byte_timeout",
    "idle_timeout",
    "request_timeout",
    "retry",
    "breaker",
];

/// Every key [`OllamaConfig`] reads from `[llm]`, besides the shared ones.
pub const OLLAMA_KEYS: &[&str] = &["endpoint", "keep_alive", "format", "extra_options"];
/// Every key [`OpenAiConfig`] reads from `[llm]`, besides the shared ones.
pub const OPENAI_KEYS: &[&str] = &["api_key", "json_mode"];

/// Reads a backend config from the section: its own keys, then the sampling defaults and
/// the transport settings from the same table, so errors name `llm.<key>` and the line.
pub(crate) fn read_section<T: serde::de::DeserializeOwned>(
    section: &botkit::config::LlmSection,
    own_keys: &[&str],
) -> Result<(T, SamplingDefaults, TransportConfig), botkit::llm::LlmError> {
    use botkit::llm::LlmError;
    check_keys(section.options.keys(), own_keys).map_err(LlmError::Config)?;
    let config_error = |e: botkit::config::ConfigError| LlmError::Config(e.to_string());
    Ok((
        section.deserialize_into().map_err(config_error)?,
        section.deserialize_into().map_err(config_error)?,
        section.deserialize_into().map_err(config_error)?,
    ))
}

/// Refuses a key that is neither shared nor in `own`, naming the keys that exist.
pub(crate) fn check_keys<'a>(
    keys: impl IntoIterator<Item = &'a String>,
    own: &[&str],
) -> Result<(), String> {
    for key in keys {
        if !COMMON_KEYS.contains(&key.as_str()) && !own.contains(&key.as_str()) {
            let mut known: Vec<&str> = COMMON_KEYS.iter().chain(own).copied().collect();
            known.sort_unstable();
            return Err(format!(
                "unknown key `llm.{key}`; known keys: {}",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// Timeouts, retries and the circuit breaker, shared by both backends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TransportConfig {
    /// Longest wait for the TCP connection (default 5 s). A server that is down fails fast.
    #[serde(deserialize_with = "duration::deserialize")]
    pub connect_timeout: Duration,
    /// Longest wait for the response headers and the first streamed chunk (default 2 min):
    /// the server sends nothing while it loads a model, which can take tens of seconds.
    #[serde(deserialize_with = "duration::deserialize")]
    pub first_byte_timeout: Duration,
    /// Longest silence between two streamed reads once the stream has started (default 30 s).
    #[serde(deserialize_with = "duration::deserialize")]
    pub idle_timeout: Duration,
    /// Overall deadline of one request, retries and the whole stream included (default
    /// 5 min). A request's own [`LlmRequest::timeout`](botkit::llm::LlmRequest) can only
    /// shorten it.
    #[serde(deserialize_with = "duration::deserialize")]
    pub request_timeout: Duration,
    /// Retries of transport errors (connection refused or reset before an answer): default
    /// 250 ms doubling to 5 s, ±25 % jitter, 3 attempts in all. HTTP errors, timeouts and
    /// broken streams are never retried: the server did (or may have done) the work.
    pub retry: BackoffPolicy,
    /// When to stop calling a failing server (default: open after 5 failures for 30 s,
    /// growing to 5 min; one probe then decides).
    pub breaker: BreakerConfig,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            first_byte_timeout: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(300),
            retry: BackoffPolicy::default()
                .with_base(Duration::from_millis(250))
                .with_cap(Duration::from_secs(5))
                .with_max_attempts(3),
            breaker: BreakerConfig::default(),
        }
    }
}

/// Default sampling options, applied where a request leaves an option unset.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SamplingDefaults {
    /// Sampling temperature (`0` = greedy).
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    pub top_p: Option<f32>,
    /// Most tokens to generate (Ollama `num_predict`, OpenAI `max_tokens`).
    pub num_predict: Option<u32>,
    /// Context window (Ollama only; changing it reloads the model).
    pub num_ctx: Option<u32>,
    /// Stop sequences.
    pub stop: Vec<String>,
    /// Seed for repeatable output.
    pub seed: Option<u64>,
}

impl SamplingDefaults {
    /// `options` with every unset field taken from these defaults.
    pub fn apply(&self, options: &LlmOptions) -> LlmOptions {
        let mut merged = options.clone();
        merged.temperature = options.temperature.or(self.temperature);
        merged.top_p = options.top_p.or(self.top_p);
        merged.max_tokens = options.max_tokens.or(self.num_predict);
        merged.num_ctx = options.num_ctx.or(self.num_ctx);
        merged.seed = options.seed.or(self.seed);
        if merged.stop.is_empty() {
            merged.stop.clone_from(&self.stop);
        }
        merged
    }
}

/// Which Ollama endpoint [`LlmBackend::generate`](botkit::llm::LlmBackend) uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum OllamaEndpoint {
    /// `/api/chat`: turns become messages (default).
    #[default]
    Chat,
    /// `/api/generate`: turns are rendered into one prompt.
    Generate,
}

/// How long Ollama keeps the model loaded after a request.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum KeepAlive {
    /// Seconds; negative keeps it loaded forever, `0` unloads at once.
    Seconds(f64),
    /// A Go duration with a unit: `"5m"`, `"1h30m"`, `"-1m"`.
    Duration(String),
}

impl KeepAlive {
    /// Refuses strings Ollama would answer with a 400 (a number without a unit, empty).
    fn check(&self) -> Result<(), String> {
        match self {
            KeepAlive::Seconds(s) if s.is_finite() => Ok(()),
            KeepAlive::Seconds(s) => Err(format!("keep_alive {s} is not a finite number")),
            KeepAlive::Duration(text) => {
                let unit_last = text.chars().last().is_some_and(|c| c.is_ascii_alphabetic());
                let digit_first = text
                    .trim_start_matches(['-', '+'])
                    .starts_with(|c: char| c.is_ascii_digit() || c == '.');
                if unit_last && digit_first {
                    Ok(())
                } else {
                    Err(format!(
                        "keep_alive `{text}` needs a unit (\"5m\", \"1h\", \"-1m\") or a number of seconds"
                    ))
                }
            }
        }
    }
}

/// Config of the Ollama backend: the `[llm]` section with `backend = "ollama"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct OllamaConfig {
    /// Always `ollama` here.
    pub backend: String,
    /// Server address (default `http://127.0.0.1:11434`).
    pub url: String,
    /// Model used when a request names none, e.g. `llama3.2:3b`.
    pub model: String,
    /// `chat` (default) or `generate`.
    pub endpoint: OllamaEndpoint,
    /// System prompt used when a request has none.
    pub system: Option<String>,
    /// `keep_alive` sent with every request: seconds or `"5m"`; unset leaves the server's.
    pub keep_alive: Option<KeepAlive>,
    /// `format`: `"json"` or a JSON Schema object for structured output.
    pub format: Option<serde_json::Value>,
    /// Default sampling options (the same `[llm]` table, read on its own).
    #[serde(skip)]
    pub sampling: SamplingDefaults,
    /// More Ollama `options` sent as given (`top_k`, `repeat_penalty`, `min_p`…).
    pub extra_options: serde_json::Map<String, serde_json::Value>,
    /// Timeouts, retries, breaker (the same `[llm]` table, read on its own).
    #[serde(skip)]
    pub transport: TransportConfig,
}

impl Default for OllamaConfig {
    fn default() -> Self {
        Self {
            backend: "ollama".to_owned(),
            url: OLLAMA_DEFAULT_URL.to_owned(),
            model: String::new(),
            endpoint: OllamaEndpoint::default(),
            system: None,
            keep_alive: None,
            format: None,
            sampling: SamplingDefaults::default(),
            extra_options: serde_json::Map::new(),
            transport: TransportConfig::default(),
        }
    }
}

impl OllamaConfig {
    /// A config for `model` on the server at `url`, other keys at their defaults.
    pub fn new(url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            model: model.into(),
            ..Self::default()
        }
    }

    /// Checks values serde cannot: `format` and `keep_alive` shapes.
    pub(crate) fn check(&self) -> Result<(), String> {
        if let Some(keep_alive) = &self.keep_alive {
            keep_alive.check()?;
        }
        match &self.format {
            None | Some(serde_json::Value::Object(_)) => Ok(()),
            Some(serde_json::Value::String(s)) if s == "json" => Ok(()),
            Some(other) => Err(format!(
                "format must be \"json\" or a JSON Schema table, not {other}"
            )),
        }
    }
}

/// Config of the OpenAI-compatible backend: the `[llm]` section with `backend = "openai"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct OpenAiConfig {
    /// Always `openai` here.
    pub backend: String,
    /// Server address without `/v1` (default `http://127.0.0.1:8080`).
    pub url: String,
    /// Model used when a request names none.
    pub model: String,
    /// Bearer token, for servers that want one (local servers ignore it).
    pub api_key: Option<Secret>,
    /// System prompt used when a request has none.
    pub system: Option<String>,
    /// Ask for `response_format = {"type": "json_object"}`.
    pub json_mode: bool,
    /// Default sampling options (`num_ctx` is ignored: the server fixes it at load).
    #[serde(skip)]
    pub sampling: SamplingDefaults,
    /// Timeouts, retries, breaker (the same `[llm]` table, read on its own).
    #[serde(skip)]
    pub transport: TransportConfig,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        Self {
            backend: "openai".to_owned(),
            url: OPENAI_DEFAULT_URL.to_owned(),
            model: String::new(),
            api_key: None,
            system: None,
            json_mode: false,
            sampling: SamplingDefaults::default(),
            transport: TransportConfig::default(),
        }
    }
}

impl OpenAiConfig {
    /// A config for `model` on the server at `url`, other keys at their defaults.
    pub fn new(url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            model: model.into(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(duration::parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration::parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration::parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration::parse("40"), Ok(Duration::from_millis(40)));
        assert!(duration::parse("5x").is_err());
        assert!(duration::parse("").is_err());
    }

    #[test]
    fn keep_alive_needs_a_unit() {
        assert!(KeepAlive::Duration("5m".into()).check().is_ok());
        assert!(KeepAlive::Duration("-1m".into()).check().is_ok());
        assert!(KeepAlive::Duration("-1".into()).check().is_err());
        assert!(KeepAlive::Duration(String::new()).check().is_err());
        assert!(KeepAlive::Seconds(-1.0).check().is_ok());
    }

    #[test]
    fn defaults_fill_only_unset_options() {
        let defaults = SamplingDefaults {
            temperature: Some(0.2),
            num_predict: Some(64),
            stop: vec!["\n".into()],
            ..SamplingDefaults::default()
        };
        let mut asked = LlmOptions::default();
        asked.temperature = Some(0.9);
        let merged = defaults.apply(&asked);
        assert_eq!(merged.temperature, Some(0.9));
        assert_eq!(merged.max_tokens, Some(64));
        assert_eq!(merged.stop, vec!["\n".to_owned()]);
        assert_eq!(merged.seed, None);
    }
}
