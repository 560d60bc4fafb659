//! A fake Ollama (and OpenAI-compatible) server for tests and benchmarks.
//!
//! Hand-written HTTP/1.1 on a tokio `TcpListener`, so each test decides exactly how the
//! body reaches the client: one line split over many chunks, many lines packed into one,
//! a Content-Length body written in pieces, an error line at the end, a connection cut
//! mid-stream, slow headers or slow chunks. Answers follow the examples of the protocol
//! note (`shared/protocols/ollama.md`). It records every request and notices when the
//! client hangs up before the answer is complete (cancellation).

#![allow(dead_code)] // each test binary uses part of it

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`…
    pub method: String,
    /// The path.
    pub path: String,
    /// The JSON body (`Null` when empty or not JSON).
    pub body: Value,
    /// Header lines, lower-cased names.
    pub headers: Vec<(String, String)>,
}

/// How the body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// `Content-Length`, parts written one by one.
    Length,
    /// `Transfer-Encoding: chunked`, one HTTP chunk per part.
    Chunked,
}

/// An answer and how to deliver it.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// The body, as written: one write (and, chunked, one HTTP chunk) per part.
    pub parts: Vec<Vec<u8>>,
    /// Delimiting.
    pub transfer: Transfer,
    /// Wait before the status line.
    pub delay_headers: Duration,
    /// Wait before each part.
    pub delay_parts: Duration,
    /// Close the connection after this many parts, without finishing the body.
    pub cut_after: Option<usize>,
}

impl Reply {
    /// A whole JSON answer.
    pub fn json(status: u16, value: &Value) -> Self {
        Self::body(
            status,
            "application/json; charset=utf-8",
            value.to_string().into_bytes(),
        )
    }

    /// A whole answer with any body.
    pub fn body(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type,
            parts: vec![body],
            transfer: Transfer::Length,
            delay_headers: Duration::ZERO,
            delay_parts: Duration::ZERO,
            cut_after: None,
        }
    }

    /// An NDJSON stream, one line per chunk, like Ollama writes it.
    pub fn ndjson(lines: &[Value]) -> Self {
        Self {
            status: 200,
            content_type: "application/x-ndjson",
            parts: lines
                .iter()
                .map(|l| format!("{l}\n").into_bytes())
                .collect(),
            transfer: Transfer::Chunked,
            delay_headers: Duration::ZERO,
            delay_parts: Duration::ZERO,
            cut_after: None,
        }
    }

    /// An SSE stream, one event per chunk, ending with `data: [DONE]`.
    pub fn sse(events: &[Value]) -> Self {
        let mut parts: Vec<Vec<u8>> = events
            .iter()
            .map(|e| format!("data: {e}\n\n").into_bytes())
            .collect();
        parts.push(b"data: [DONE]\n\n".to_vec());
        Self {
            status: 200,
            content_type: "text/event-stream",
            parts,
            transfer: Transfer::Chunked,
            delay_headers: Duration::ZERO,
            delay_parts: Duration::ZERO,
            cut_after: None,
        }
    }

    /// The same body re-cut into parts of `size` bytes (lines split across reads).
    pub fn split_every(mut self, size: usize) -> Self {
        let all: Vec<u8> = self.parts.concat();
        self.parts = all.chunks(size.max(1)).map(<[u8]>::to_vec).collect();
        self
    }

    /// The same body in one part (several lines in one read).
    pub fn packed(mut self) -> Self {
        self.parts = vec![self.parts.concat()];
        self
    }

    /// The same body delimited another way.
    pub fn with_transfer(mut self, transfer: Transfer) -> Self {
        self.transfer = transfer;
        self
    }

    /// Slow headers and slow parts.
    pub fn slow(mut self, headers: Duration, parts: Duration) -> Self {
        self.delay_headers = headers;
        self.delay_parts = parts;
        self
    }

    /// The connection closes after `parts` parts.
    pub fn cut_after(mut self, parts: usize) -> Self {
        self.cut_after = Some(parts);
        self
    }

    /// The last part replaced by `line` (an NDJSON error line instead of `done`).
    pub fn ending_with(mut self, line: &Value) -> Self {
        self.parts.pop();
        self.parts.push(format!("{line}\n").into_bytes());
        self
    }
}

/// Counters the fake keeps.
#[derive(Debug, Default)]
pub struct FakeState {
    /// Every request, in order.
    pub requests: Mutex<Vec<Recorded>>,
    /// Connections accepted.
    pub connections: AtomicUsize,
    /// Answers the client hung up on before they were complete.
    pub hung_up: AtomicUsize,
    /// Answers written completely.
    pub served: AtomicUsize,
    /// Time spent between reading a request and finishing its answer, summed.
    pub server_nanos: AtomicU64,
    /// The next this many requests are read and then answered by closing the connection
    /// (a transport error for the client).
    pub drop_next: AtomicUsize,
}

impl FakeState {
    /// The recorded requests so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

type Handler = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

/// A running fake server; stops when dropped.
pub struct Fake {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it saw.
    pub state: Arc<FakeState>,
    task: JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    /// Starts a server on 127.0.0.1 answering with `handler`.
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(FakeState::default());
        let handler: Handler = Arc::new(handler);
        let task_state = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                task_state.connections.fetch_add(1, Ordering::SeqCst);
                let _ = socket.set_nodelay(true);
                tokio::spawn(serve(socket, Arc::clone(&handler), Arc::clone(&task_state)));
            }
        });
        Self { addr, state, task }
    }

    /// The base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A URL where nothing listens (a port that was just free).
pub async fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

async fn serve(mut socket: TcpStream, handler: Handler, state: Arc<FakeState>) {
    let mut buffer = Vec::new();
    loop {
        let Some(request) = read_request(&mut socket, &mut buffer).await else {
            return;
        };
        let started = Instant::now();
        if let Ok(mut requests) = state.requests.lock() {
            requests.push(request.clone());
        }
        let dropping = state
            .drop_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if dropping {
            return;
        }
        let reply = handler(&request);
        match write_reply(&mut socket, &reply).await {
            Written::Complete => {
                state.served.fetch_add(1, Ordering::SeqCst);
                let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                state.server_nanos.fetch_add(nanos, Ordering::SeqCst);
            }
            Written::Cut => return,
            Written::HungUp => {
                state.hung_up.fetch_add(1, Ordering::SeqCst);
                return;
            }
        }
    }
}

async fn read_request(socket: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Recorded> {
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(chunk.get(..n)?);
    };
    let head = String::from_utf8_lossy(buffer.get(..head_end)?).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let body_start = head_end + 4;
    while buffer.len() < body_start + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(chunk.get(..n)?);
    }
    let body =
        serde_json::from_slice(buffer.get(body_start..body_start + length)?).unwrap_or(Value::Null);
    buffer.drain(..body_start + length);
    Some(Recorded {
        method,
        path,
        body,
        headers,
    })
}

enum Written {
    Complete,
    Cut,
    HungUp,
}

/// Waits `delay`, or less if the client hangs up meanwhile (then `false`).
async fn pause(socket: &mut TcpStream, delay: Duration) -> bool {
    if delay.is_zero() {
        return true;
    }
    let mut probe = [0u8; 64];
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        read = socket.read(&mut probe) => matches!(read, Ok(n) if n > 0),
    }
}

async fn write_reply(socket: &mut TcpStream, reply: &Reply) -> Written {
    if !pause(socket, reply.delay_headers).await {
        return Written::HungUp;
    }
    let reason = match reply.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\n",
        reply.status, reply.content_type
    );
    match reply.transfer {
        Transfer::Length => {
            let total: usize = reply.parts.iter().map(Vec::len).sum();
            head.push_str(&format!("Content-Length: {total}\r\n\r\n"));
        }
        Transfer::Chunked => head.push_str("Transfer-Encoding: chunked\r\n\r\n"),
    }
    if socket.write_all(head.as_bytes()).await.is_err() {
        return Written::HungUp;
    }
    for (index, part) in reply.parts.iter().enumerate() {
        if reply.cut_after == Some(index) {
            let _ = socket.shutdown().await;
            return Written::Cut;
        }
        if !pause(socket, reply.delay_parts).await {
            return Written::HungUp;
        }
        let framed = match reply.transfer {
            Transfer::Length => part.clone(),
            Transfer::Chunked => {
                let mut framed = format!("{:x}\r\n", part.len()).into_bytes();
                framed.extend_from_slice(part);
                framed.extend_from_slice(b"\r\n");
                framed
            }
        };
        if socket.write_all(&framed).await.is_err() || socket.flush().await.is_err() {
            return Written::HungUp;
        }
    }
    if reply.cut_after.is_some_and(|n| n >= reply.parts.len()) {
        let _ = socket.shutdown().await;
        return Written::Cut;
    }
    if reply.transfer == Transfer::Chunked && socket.write_all(b"0\r\n\r\n").await.is_err() {
        return Written::HungUp;
    }
    Written::Complete
}

/// What the scripted Ollama knows.
#[derive(Debug, Clone)]
pub struct Script {
    /// Models in `/api/tags`.
    pub models: Vec<String>,
    /// The answer, one streamed chunk per word.
    pub words: Vec<String>,
}

impl Script {
    /// Models and answer words.
    pub fn new(models: &[&str], words: &[&str]) -> Self {
        Self {
            models: models.iter().map(|m| (*m).to_owned()).collect(),
            words: words.iter().map(|w| (*w).to_owned()).collect(),
        }
    }

    fn knows(&self, model: &str) -> bool {
        let full = |m: &str| {
            if m.contains(':') {
                m.to_owned()
            } else {
                format!("{m}:latest")
            }
        };
        self.models.iter().any(|m| full(m) == full(model))
    }
}

const CREATED: &str = "2023-08-04T08:52:19.385406455-07:00";

/// Ollama's answer to `request`, from the examples in the protocol note.
pub fn ollama(request: &Recorded, script: &Script) -> Reply {
    let model = request.body["model"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let not_found = || {
        Reply::json(
            404,
            &json!({ "error": format!("model '{model}' not found") }),
        )
    };
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/api/version") => Reply::json(200, &json!({ "version": "0.12.6" })),
        ("GET", "/api/tags") => {
            let models: Vec<Value> = script
                .models
                .iter()
                .map(|name| {
                    json!({
                        "name": name, "model": name,
                        "modified_at": "2023-11-04T14:56:49.277302595-07:00",
                        "size": 7_365_960_935u64,
                        "digest": "9f438cb9cd581fc025612d27f7c1a6669ff83a8bb0ed86c94fcf4c5440555697",
                        "details": {"format": "gguf", "family": "llama", "families": null,
                                    "parameter_size": "13B", "quantization_level": "Q4_0"}
                    })
                })
                .collect();
            Reply::json(200, &json!({ "models": models }))
        }
        ("POST", "/api/show") if script.knows(&model) => Reply::json(
            200,
            &json!({
                "modelfile": "FROM llama3.2", "parameters": "num_ctx                        4096\nstop                           \"<|eot_id|>\"",
                "template": "{{ .Prompt }}",
                "details": {"parent_model": "", "format": "gguf", "family": "llama",
                            "families": ["llama"], "parameter_size": "3.2B", "quantization_level": "Q4_K_M"},
                "model_info": {"general.architecture": "llama", "llama.context_length": 131072},
                "capabilities": ["completion", "tools"],
                "modified_at": "2025-01-01T00:00:00Z"
            }),
        ),
        ("POST", "/api/show") => not_found(),
        ("POST", path @ ("/api/chat" | "/api/generate")) => {
            if !script.knows(&model) {
                return not_found();
            }
            let chat = path == "/api/chat";
            let chunk = |text: &str| {
                if chat {
                    json!({"model": model, "created_at": CREATED,
                           "message": {"role": "assistant", "content": text}, "done": false})
                } else {
                    json!({"model": model, "created_at": CREATED, "response": text, "done": false})
                }
            };
            let mut last = chunk("");
            last["done"] = json!(true);
            last["done_reason"] = json!("stop");
            last["total_duration"] = json!(10_706_818_083u64);
            last["load_duration"] = json!(6_338_219_291u64);
            last["prompt_eval_count"] = json!(26);
            last["eval_count"] = json!(script.words.len());
            last["eval_duration"] = json!(4_232_710_000u64);
            if !chat {
                last["context"] = json!((0..400).collect::<Vec<u32>>());
            }
            if request.body["stream"] == json!(false) {
                let whole = script.words.concat();
                if chat {
                    last["message"]["content"] = json!(whole);
                } else {
                    last["response"] = json!(whole);
                }
                return Reply::json(200, &last);
            }
            let mut lines: Vec<Value> = script.words.iter().map(|w| chunk(w)).collect();
            lines.push(last);
            Reply::ndjson(&lines)
        }
        _ => Reply::body(404, "text/plain", b"404 page not found".to_vec()),
    }
}

/// An OpenAI-compatible server's answer to `request`.
pub fn openai(request: &Recorded, script: &Script) -> Reply {
    let model = request.body["model"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v1/models") => {
            let data: Vec<Value> = script
                .models
                .iter()
                .map(|m| json!({"id": m, "object": "model", "created": 1, "owned_by": "library"}))
                .collect();
            Reply::json(200, &json!({"object": "list", "data": data}))
        }
        ("POST", "/v1/chat/completions") if !script.models.contains(&model) => Reply::json(
            404,
            &json!({"error": {"message": format!("model \"{model}\" not found, try pulling it first"),
                              "type": "not_found_error", "param": null, "code": null}}),
        ),
        ("POST", "/v1/chat/completions") => {
            let head = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model});
            if request.body["stream"] == json!(true) {
                let mut events = vec![
                    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": null}, "finish_reason": null}]}),
                ];
                for word in &script.words {
                    let mut event = head.clone();
                    event["choices"] =
                        json!([{"index": 0, "delta": {"content": word}, "finish_reason": null}]);
                    events.push(event);
                }
                let mut last = head.clone();
                last["choices"] = json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]);
                events.push(last);
                Reply::sse(&events)
            } else {
                Reply::json(
                    200,
                    &json!({
                        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": script.words.concat()}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 9, "completion_tokens": script.words.len(), "total_tokens": 9 + script.words.len()}
                    }),
                )
            }
        }
        _ => Reply::body(404, "text/plain", b"404 page not found".to_vec()),
    }
}
