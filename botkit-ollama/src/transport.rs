//! HTTP for both backends: timeouts, transport-only retries, the circuit breaker, error
//! bodies, and turning a streamed body into text chunks.
//!
//! Why it is shaped this way:
//! - **Three clocks.** A connect timeout (reqwest's) makes a dead server fail fast; a
//!   first-byte timeout covers the silence while the server loads a model; an idle timeout
//!   catches a stream that stalls between chunks. Over all of them, one deadline bounds the
//!   request, retries and the whole stream included.
//! - **Retries for transport errors only** (no answer at all: refused, reset, connect
//!   timeout), with `botkit::backoff`. An HTTP error or a timeout after the request was
//!   sent is never retried: the server answered, or may be busy generating.
//! - **The breaker judges the server, not the request.** Transport errors, timeouts, 5xx and
//!   broken streams count as failures; a 4xx (unknown model, bad option) means the server is
//!   alive. A stream settles its permit as a success once the headers arrive, so a caller
//!   dropping the stream early (cancellation) is not blamed on the server; a stream that
//!   breaks later reports one more failure.
//! - **Cancellation is dropping.** Nothing here spawns a task: dropping the future or the
//!   stream drops the response body, which closes the connection, which makes Ollama stop
//!   generating.
//! - **Streams end with `Ok` chunks only after the server said it was done**; an error line,
//!   a cut connection, or a body that just ends are `Err` items, and nothing comes after one.

use std::future::Future;
use std::time::Duration;

use botkit::backoff::retry;
use botkit::breaker::CircuitBreaker;
use botkit::config::Secret;
use botkit::llm::{LlmError, LlmStream};
use futures_util::{Stream, StreamExt};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use tokio::time::{Instant, timeout_at};

use crate::config::TransportConfig;
use crate::framing::LineFramer;

/// The longest error body read and kept in an error message.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// The longest error message kept from a non-JSON body.
const MAX_ERROR_TEXT: usize = 500;

/// The HTTP side of one backend: client, base URL, limits and breaker.
#[derive(Debug)]
pub(crate) struct Transport {
    client: reqwest::Client,
    base: String,
    config: TransportConfig,
    breaker: CircuitBreaker,
    api_key: Option<Secret>,
}

impl Transport {
    /// A transport for the server at `base` (no trailing slash).
    pub(crate) fn new(
        name: &str,
        base: &str,
        config: TransportConfig,
        api_key: Option<Secret>,
    ) -> Result<Self, LlmError> {
        let base = base.trim().trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base).map_err(|e| {
            LlmError::Config(format!(
                "`llm.url` {base:?} is not a URL ({e}); write e.g. \"http://127.0.0.1:11434\""
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(LlmError::Config(format!(
                "`llm.url` {base:?} must start with http:// or https://"
            )));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| LlmError::Unavailable(format!("cannot build the HTTP client: {e}")))?;
        let breaker =
            CircuitBreaker::new(config.breaker.clone()).with_name(format!("{name} {base}"));
        Ok(Self {
            client,
            base,
            config,
            breaker,
            api_key,
        })
    }

    /// The base URL.
    #[cfg(test)]
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// The breaker guarding this server.
    pub(crate) fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// The deadline of a request started now: the configured one, or the request's if
    /// shorter.
    pub(crate) fn deadline(&self, requested: Option<Duration>) -> (Instant, Duration) {
        let limit = requested.map_or(self.config.request_timeout, |r| {
            r.min(self.config.request_timeout)
        });
        (Instant::now() + limit, limit)
    }

    /// Sends a request and returns the response once its status is 2xx; retries transport
    /// errors, asks the breaker first, maps other statuses to [`LlmError::Http`] with the
    /// server's message. Bounded by `deadline`.
    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
        deadline: (Instant, Duration),
    ) -> Result<reqwest::Response, LlmError> {
        let url = format!("{}{path}", self.base);
        let attempt = || self.attempt(method.clone(), &url, body, deadline.0);
        let transport_only = |e: &LlmError| matches!(e, LlmError::Connect { .. });
        with_deadline(deadline, retry(&self.config.retry, transport_only, attempt)).await
    }

    async fn attempt(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&serde_json::Value>,
        deadline: Instant,
    ) -> Result<reqwest::Response, LlmError> {
        let permit = self.breaker.check().map_err(|open| LlmError::CircuitOpen {
            retry_after: open.retry_after,
        })?;
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            let bytes = serde_json::to_vec(body)
                .map_err(|e| LlmError::Protocol(format!("cannot encode the request: {e}")))?;
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(bytes);
        }
        if let Some(key) = &self.api_key {
            let mut value =
                HeaderValue::try_from(format!("Bearer {}", key.expose())).map_err(|_| {
                    LlmError::Config("`llm.api_key` is not a valid header value".into())
                })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        let first_byte = self.config.first_byte_timeout;
        let until = deadline.min(Instant::now() + first_byte);
        let response = match timeout_at(until, request.send()).await {
            Err(_) => {
                permit.failure();
                return Err(LlmError::Timeout(first_byte));
            }
            Ok(Err(error)) => {
                permit.failure();
                return Err(LlmError::Connect {
                    url: url.to_owned(),
                    reason: error_chain(&error.without_url()),
                });
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            permit.success();
            return Ok(response);
        }
        if status.is_server_error() {
            permit.failure();
        } else {
            permit.success();
        }
        let message = read_error_body(response, until).await;
        Err(LlmError::Http {
            status: status.as_u16(),
            message,
        })
    }

    /// Reads a whole (non-streamed) 2xx body before the deadline.
    pub(crate) async fn read_body(
        &self,
        response: reqwest::Response,
        deadline: (Instant, Duration),
    ) -> Result<Vec<u8>, LlmError> {
        let body = with_deadline(deadline, async {
            response.bytes().await.map_err(|e| {
                LlmError::Stream(format!(
                    "the connection broke before the whole answer arrived: {}",
                    error_chain(&e.without_url())
                ))
            })
        });
        match body.await {
            Ok(bytes) => Ok(bytes.to_vec()),
            Err(error) => {
                self.report_failure();
                Err(error)
            }
        }
    }

    /// Counts one failure against the server (a stream or body that broke after its
    /// permit was settled).
    pub(crate) fn report_failure(&self) {
        if let Ok(permit) = self.breaker.check() {
            permit.failure();
        }
    }

    /// A text stream decoding `response`'s body line by line with `decoder`.
    pub(crate) fn stream<D: LineDecoder>(
        &self,
        response: reqwest::Response,
        decoder: D,
        deadline: (Instant, Duration),
    ) -> LlmStream {
        let body = response.bytes_stream().map(|read| {
            read.map_err(|e| {
                LlmError::Stream(format!(
                    "the connection broke mid-stream: {}",
                    error_chain(&e.without_url())
                ))
            })
        });
        let timing = StreamTiming {
            first_byte: self.config.first_byte_timeout,
            idle: self.config.idle_timeout,
            deadline: deadline.0,
            overall: deadline.1,
        };
        let breaker = self.breaker.clone();
        decode_stream(body, decoder, timing, move || {
            if let Ok(permit) = breaker.check() {
                permit.failure();
            }
        })
    }
}

/// Runs `fut` until `deadline`, mapping the deadline to [`LlmError::Timeout`].
pub(crate) async fn with_deadline<T>(
    deadline: (Instant, Duration),
    fut: impl Future<Output = Result<T, LlmError>>,
) -> Result<T, LlmError> {
    timeout_at(deadline.0, fut)
        .await
        .unwrap_or(Err(LlmError::Timeout(deadline.1)))
}

/// The error and its sources, joined: reqwest's own text ("error sending request") hides
/// the useful part ("Connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Reads an error body (bounded in size and time) and extracts the server's message.
async fn read_error_body(mut response: reqwest::Response, until: Instant) -> String {
    let status = response.status();
    let mut body = Vec::new();
    let read = async {
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() >= MAX_ERROR_BODY {
                break;
            }
        }
    };
    // A server that sends its error status and then stalls still gets its status reported.
    let _ = timeout_at(until.min(Instant::now() + Duration::from_secs(5)), read).await;
    let message = error_message(&body);
    if message.is_empty() {
        status.canonical_reason().unwrap_or("no message").to_owned()
    } else {
        message
    }
}

/// The message of an error body: Ollama's `{"error":"…"}`, OpenAI's
/// `{"error":{"message":"…"}}`, or the text itself (shortened).
pub(crate) fn error_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body)
        && let Some(error) = value.get("error")
    {
        return error_value_text(error);
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX_ERROR_TEXT) {
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or(text)),
        None => text.to_owned(),
    }
}

/// The text of an `error` value: a string, or an object's `message`.
pub(crate) fn error_value_text(error: &serde_json::Value) -> String {
    match error {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(map) => match map.get("message") {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => error.to_string(),
        },
        other => other.to_string(),
    }
}

/// What one decoded line means.
#[derive(Debug)]
pub(crate) enum Step {
    /// Nothing to yield (blank line, comment, empty chunk).
    Skip,
    /// Text to yield.
    Chunk(String),
    /// The server said it is done: end the stream.
    Done,
    /// The stream failed: yield this and end.
    Fail(LlmError),
}

impl PartialEq for Step {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Step::Skip, Step::Skip) | (Step::Done, Step::Done) => true,
            (Step::Chunk(a), Step::Chunk(b)) => a == b,
            // LlmError has no PartialEq; its message says which kind and what.
            (Step::Fail(a), Step::Fail(b)) => a.to_string() == b.to_string(),
            _ => false,
        }
    }
}

/// Turns the lines of one streamed format into [`Step`]s.
pub(crate) trait LineDecoder: Send + 'static {
    /// One complete line (without its newline).
    fn line(&mut self, line: &[u8]) -> Step;
    /// The body ended before [`Step::Done`]; `rest` is an unterminated last line.
    fn end(&mut self, rest: Option<&[u8]>) -> Step;
}

/// Timeouts applied while reading a streamed body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamTiming {
    /// Longest wait for the first read.
    pub(crate) first_byte: Duration,
    /// Longest wait between two reads after that.
    pub(crate) idle: Duration,
    /// When the whole request must be over.
    pub(crate) deadline: Instant,
    /// The length of the whole request's budget (for the error message).
    pub(crate) overall: Duration,
}

struct StreamState<S, D, F> {
    body: S,
    framer: LineFramer,
    decoder: D,
    timing: StreamTiming,
    started: bool,
    finished: bool,
    on_failure: F,
}

impl<S, B, D, F> StreamState<S, D, F>
where
    S: Stream<Item = Result<B, LlmError>> + Unpin,
    B: AsRef<[u8]>,
    D: LineDecoder,
    F: FnMut(),
{
    async fn next_item(&mut self) -> Option<Result<String, LlmError>> {
        loop {
            if self.finished {
                return None;
            }
            // Drain complete lines first.
            loop {
                let step = match self.framer.next_line() {
                    Ok(Some(line)) => self.decoder.line(line),
                    Ok(None) => break,
                    Err(too_long) => Step::Fail(LlmError::Protocol(too_long.to_string())),
                };
                if let Some(item) = self.settle(step) {
                    return item;
                }
            }
            let wait = if self.started {
                self.timing.idle
            } else {
                self.timing.first_byte
            };
            let now = Instant::now();
            let (until, error) = if now + wait < self.timing.deadline {
                (now + wait, LlmError::Timeout(wait))
            } else {
                (self.timing.deadline, LlmError::Timeout(self.timing.overall))
            };
            let read = match timeout_at(until, self.body.next()).await {
                Err(_) => Err(error),
                Ok(None) => {
                    let step = self.decoder.end(self.framer.finish());
                    let step = match step {
                        Step::Skip => Step::Fail(LlmError::Stream(
                            "the stream ended before the server said it was done".into(),
                        )),
                        other => other,
                    };
                    if let Some(item) = self.settle(step) {
                        return item;
                    }
                    continue;
                }
                Ok(Some(read)) => read,
            };
            self.started = true;
            let pushed = read.and_then(|bytes| {
                self.framer
                    .push(bytes.as_ref())
                    .map_err(|too_long| LlmError::Protocol(too_long.to_string()))
            });
            if let Err(error) = pushed {
                self.finished = true;
                (self.on_failure)();
                return Some(Err(error));
            }
        }
    }

    /// What the stream yields for `step`: `None` to keep reading, `Some(None)` to end.
    fn settle(&mut self, step: Step) -> Option<Option<Result<String, LlmError>>> {
        match step {
            Step::Skip => None,
            Step::Chunk(text) => Some(Some(Ok(text))),
            Step::Done => {
                self.finished = true;
                Some(None)
            }
            Step::Fail(error) => {
                self.finished = true;
                (self.on_failure)();
                Some(Some(Err(error)))
            }
        }
    }
}

/// A text stream from a byte stream: frames lines, decodes them, applies the timeouts.
/// `on_failure` runs once if the stream fails (to tell the breaker).
pub(crate) fn decode_stream<S, B, D, F>(
    body: S,
    decoder: D,
    timing: StreamTiming,
    on_failure: F,
) -> LlmStream
where
    S: Stream<Item = Result<B, LlmError>> + Send + Unpin + 'static,
    B: AsRef<[u8]> + Send + 'static,
    D: LineDecoder,
    F: FnMut() + Send + 'static,
{
    let state = StreamState {
        body,
        framer: LineFramer::new(),
        decoder,
        timing,
        started: false,
        finished: false,
        on_failure,
    };
    Box::pin(futures_util::stream::unfold(
        state,
        |mut state| async move {
            let item = state.next_item().await?;
            Some((item, state))
        },
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_util::stream;

    use super::*;

    /// Yields each line as a chunk; `done` ends.
    struct Plain;

    impl LineDecoder for Plain {
        fn line(&mut self, line: &[u8]) -> Step {
            match line {
                b"done" => Step::Done,
                b"" => Step::Skip,
                b"fail" => Step::Fail(LlmError::Stream("failed".into())),
                other => Step::Chunk(String::from_utf8_lossy(other).into_owned()),
            }
        }

        fn end(&mut self, _rest: Option<&[u8]>) -> Step {
            Step::Skip
        }
    }

    fn timing(first: u64, idle: u64, overall: u64) -> StreamTiming {
        StreamTiming {
            first_byte: Duration::from_secs(first),
            idle: Duration::from_secs(idle),
            deadline: Instant::now() + Duration::from_secs(overall),
            overall: Duration::from_secs(overall),
        }
    }

    /// A body that yields `reads`, sleeping `gap` before each.
    fn slow_body(
        reads: Vec<&'static str>,
        gap: Duration,
    ) -> impl Stream<Item = Result<&'static [u8], LlmError>> + Send + Unpin + 'static {
        Box::pin(stream::iter(reads).then(move |read| async move {
            tokio::time::sleep(gap).await;
            Ok(read.as_bytes())
        }))
    }

    async fn collect(mut s: LlmStream) -> Vec<Result<String, String>> {
        let mut out = Vec::new();
        while let Some(item) = s.next().await {
            out.push(item.map_err(|e| e.to_string()));
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn chunks_until_done_and_nothing_after() {
        let body = slow_body(vec!["a\nb", "\n\ndone\nc\n"], Duration::from_millis(1));
        let out = collect(decode_stream(body, Plain, timing(5, 5, 60), || {})).await;
        assert_eq!(out, vec![Ok("a".into()), Ok("b".into())]);
    }

    #[tokio::test(start_paused = true)]
    async fn end_without_done_is_an_error() {
        let failures = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&failures);
        let body = slow_body(vec!["a\n"], Duration::from_millis(1));
        let out = collect(decode_stream(body, Plain, timing(5, 5, 60), move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }))
        .await;
        assert_eq!(out.len(), 2);
        assert!(out[1].as_ref().is_err_and(|e| e.contains("ended before")));
        assert_eq!(failures.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_timeout_after_the_first_read() {
        // first read after 20 s is fine (first-byte limit 30 s), the next after 20 s is not
        // (idle limit 10 s).
        let body = slow_body(vec!["a\n", "b\n"], Duration::from_secs(20));
        let started = Instant::now();
        let out = collect(decode_stream(body, Plain, timing(30, 10, 600), || {})).await;
        assert_eq!(out[0], Ok("a".into()));
        assert_eq!(
            out[1],
            Err(LlmError::Timeout(Duration::from_secs(10)).to_string())
        );
        assert_eq!(out.len(), 2);
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn first_byte_timeout_and_overall_deadline() {
        let body = slow_body(vec!["a\n"], Duration::from_secs(40));
        let out = collect(decode_stream(body, Plain, timing(30, 10, 600), || {})).await;
        assert_eq!(
            out,
            vec![Err(LlmError::Timeout(Duration::from_secs(30)).to_string())]
        );

        // Steady chunks every 5 s never trip the idle limit, but the deadline ends it.
        let reads = vec!["x\n"; 100];
        let body = slow_body(reads, Duration::from_secs(5));
        let out = collect(decode_stream(body, Plain, timing(30, 10, 22), || {})).await;
        assert_eq!(out.len(), 5, "{out:?}");
        assert_eq!(
            out[4],
            Err(LlmError::Timeout(Duration::from_secs(22)).to_string())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failing_line_ends_the_stream() {
        let body = slow_body(vec!["a\nfail\nb\ndone\n"], Duration::ZERO);
        let out = collect(decode_stream(body, Plain, timing(5, 5, 60), || {})).await;
        assert_eq!(
            out,
            vec![Ok("a".into()), Err("the LLM stream broke: failed".into())]
        );
    }

    #[test]
    fn error_messages_from_both_shapes() {
        assert_eq!(
            error_message(br#"{"error":"model 'x' not found"}"#),
            "model 'x' not found"
        );
        assert_eq!(
            error_message(br#"{"error":{"message":"nope","type":"not_found_error"}}"#),
            "nope"
        );
        assert_eq!(error_message(b"404 page not found\n"), "404 page not found");
        let long = "é".repeat(2000);
        assert_eq!(
            error_message(long.as_bytes()).chars().count(),
            MAX_ERROR_TEXT + 1
        );
    }
}
