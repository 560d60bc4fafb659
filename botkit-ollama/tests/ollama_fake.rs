//! The Ollama backend against the fake server: framing, mid-stream errors, cut connections,
//! slow servers, unknown models, retries, the breaker and cancellation.
//!
//! These tests use real sockets, so they run on the real clock with short limits and wide
//! margins (a paused clock would advance past timers while the socket is merely waiting for
//! the kernel); the timing logic itself is tested on the paused clock in `src/transport.rs`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use botkit::backoff::BackoffPolicy;
use botkit::breaker::{BreakerConfig, BreakerState};
use botkit::config::LlmSection;
use botkit::llm::{LlmBackend, LlmError, LlmOptions, LlmRequest, LlmStream};
use botkit_ollama::{OllamaBackend, OllamaConfig, OllamaEndpoint};
use futures_util::StreamExt;
use serde_json::json;
use support::{Fake, Reply, Script, Transfer, dead_url, ollama as fake_ollama};

const WORDS: &[&str] = &[
    "The",
    " sky",
    " is",
    " blue",
    " because",
    " of",
    " Rayleigh",
    " scattering",
    ".",
];

fn script() -> Script {
    Script::new(&["llama3.2:latest", "qwen2.5:0.5b"], WORDS)
}

fn config(url: &str) -> OllamaConfig {
    let mut config = OllamaConfig::new(url, "llama3.2");
    config.transport.retry = BackoffPolicy::default()
        .with_base(Duration::from_millis(10))
        .with_cap(Duration::from_millis(50))
        .with_max_attempts(3);
    config
}

fn backend(url: &str) -> OllamaBackend {
    OllamaBackend::new(config(url)).expect("valid config")
}

/// Collects a stream: the text chunks, then the error that ended it (if any). Also checks
/// nothing comes after an error.
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
async fn whole_chat_and_generate() {
    let fake = Fake::start(|r| fake_ollama(r, &script())).await;
    let ollama = backend(&fake.url());
    let mut options = LlmOptions::default();
    options.temperature = Some(0.0);
    options.max_tokens = Some(32);
    let request = LlmRequest::prompt("Why is the sky blue?").with_options(options);

    let answer = ollama.chat(&request).await.expect("chat");
    assert_eq!(answer.text, WORDS.concat());
    assert_eq!(answer.model, "llama3.2");
    assert_eq!(answer.done_reason.as_deref(), Some("stop"));
    assert_eq!(answer.prompt_tokens, Some(26));
    assert_eq!(answer.completion_tokens, Some(WORDS.len() as u32));

    let answer = ollama.complete(&request).await.expect("generate");
    assert_eq!(answer.text, WORDS.concat());

    let requests = fake.state.requests();
    assert_eq!(requests[0].path, "/api/chat");
    assert_eq!(requests[0].body["stream"], json!(false));
    assert_eq!(
        requests[0].body["options"],
        json!({"temperature": 0.0, "num_predict": 32})
    );
    assert_eq!(requests[1].path, "/api/generate");
    assert_eq!(requests[1].body["prompt"], "Why is the sky blue?");
}

#[tokio::test]
async fn streams_survive_any_split_of_the_bytes() {
    // Lines split into pieces of 1..=17 bytes, lines packed into one read, and the
    // Content-Length variant: every chunk arrives, in order, and the stream ends cleanly.
    type Shape = Box<dyn Fn(Reply) -> Reply + Send + Sync>;
    let shapes: Vec<(&str, Shape)> = vec![
        ("one line per chunk", Box::new(|r| r)),
        ("packed", Box::new(Reply::packed)),
        ("split 1", Box::new(|r: Reply| r.split_every(1))),
        ("split 3", Box::new(|r: Reply| r.split_every(3))),
        ("split 16", Box::new(|r: Reply| r.split_every(16))),
        ("split 17", Box::new(|r: Reply| r.split_every(17))),
        (
            "content-length in pieces",
            Box::new(|r: Reply| r.split_every(5).with_transfer(Transfer::Length)),
        ),
    ];
    for (name, shape) in shapes {
        let fake = Fake::start(move |r| shape(fake_ollama(r, &script()))).await;
        let ollama = backend(&fake.url());
        let request = LlmRequest::prompt("Why is the sky blue?");
        for endpoint in [OllamaEndpoint::Chat, OllamaEndpoint::Generate] {
            let stream = match endpoint {
                OllamaEndpoint::Chat => ollama.chat_stream(&request).await,
                _ => ollama.complete_stream(&request).await,
            };
            let (chunks, error) = drain(stream.expect("stream starts")).await;
            assert!(error.is_none(), "{name} {endpoint:?}: {error:?}");
            assert_eq!(chunks, WORDS, "{name} {endpoint:?}");
        }
        assert_eq!(fake.state.requests()[0].body["stream"], json!(true));
    }
}

#[tokio::test]
async fn an_error_line_mid_stream_is_an_error() {
    let error_line = json!({"error": "an error was encountered while running the model"});
    for split in [usize::MAX, 4] {
        let line = error_line.clone();
        let fake = Fake::start(move |r| {
            fake_ollama(r, &script())
                .ending_with(&line)
                .split_every(split)
        })
        .await;
        let stream = backend(&fake.url())
            .generate_stream(LlmRequest::prompt("hi"))
            .await
            .expect("stream starts");
        let (chunks, error) = drain(stream).await;
        assert_eq!(chunks, WORDS, "split {split}");
        match error {
            Some(LlmError::Stream(message)) => {
                assert!(message.contains("while running the model"), "{message}");
            }
            other => panic!("expected a stream error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_cut_connection_or_a_missing_done_is_an_error() {
    // Chunked body cut after 3 chunks.
    let fake = Fake::start(|r| fake_ollama(r, &script()).cut_after(3)).await;
    let ollama = backend(&fake.url());
    let (chunks, error) = drain(ollama.chat_stream(&LlmRequest::prompt("hi")).await.unwrap()).await;
    assert_eq!(chunks, &WORDS[..3]);
    assert!(matches!(error, Some(LlmError::Stream(_))), "{error:?}");
    assert!(error.unwrap().is_transient());

    // A body that ends cleanly (terminating chunk) but without `done: true`.
    let fake = Fake::start(|r| {
        let mut reply = fake_ollama(r, &script());
        reply.parts.pop();
        reply
    })
    .await;
    let (chunks, error) = drain(
        backend(&fake.url())
            .chat_stream(&LlmRequest::prompt("hi"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(chunks, WORDS);
    match error {
        Some(LlmError::Stream(message)) => assert!(message.contains("without `done"), "{message}"),
        other => panic!("{other:?}"),
    }

    // A Content-Length body cut in the middle of a line.
    let fake = Fake::start(|r| {
        fake_ollama(r, &script())
            .with_transfer(Transfer::Length)
            .split_every(10)
            .cut_after(7)
    })
    .await;
    let (_, error) = drain(
        backend(&fake.url())
            .chat_stream(&LlmRequest::prompt("hi"))
            .await
            .unwrap(),
    )
    .await;
    assert!(matches!(error, Some(LlmError::Stream(_))), "{error:?}");
}

#[tokio::test]
async fn unknown_model_lists_the_models_there_are() {
    let fake = Fake::start(|r| fake_ollama(r, &script())).await;
    let ollama = backend(&fake.url());
    let mut request = LlmRequest::prompt("hi");
    request.model = Some("llama9".into());
    for result in [
        ollama.generate(request.clone()).await.map(|_| ()),
        ollama.generate_stream(request.clone()).await.map(|_| ()),
        ollama.show("llama9").await.map(|_| ()),
        ollama.validate_model("llama9").await,
    ] {
        match result {
            Err(LlmError::ModelNotFound { model, available }) => {
                assert_eq!(model, "llama9");
                assert_eq!(available, vec!["llama3.2:latest", "qwen2.5:0.5b"]);
            }
            other => panic!("expected ModelNotFound, got {other:?}"),
        }
    }
    // A name without tag matches `:latest`.
    ollama
        .validate_model("llama3.2")
        .await
        .expect("llama3.2 is llama3.2:latest");
    let error = ollama.validate_model("llama9").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "model `llama9` not found; available: llama3.2:latest, qwen2.5:0.5b"
    );
    // The breaker does not count a 404: the server is alive.
    assert_eq!(ollama.breaker().state(), BreakerState::Closed);
}

#[tokio::test]
async fn tags_show_version_and_health() {
    let fake = Fake::start(|r| fake_ollama(r, &script())).await;
    let ollama = backend(&fake.url());
    let models = ollama.models().await.unwrap();
    assert_eq!(models.len(), 2);
    assert_eq!(models[0].name, "llama3.2:latest");
    assert_eq!(models[0].size, Some(7_365_960_935));
    let show = ollama.show("llama3.2").await.unwrap();
    assert_eq!(show.context_length(), Some(131_072));
    assert!(show.has_capability("tools"));
    assert_eq!(show.details.quantization_level, "Q4_K_M");
    assert_eq!(ollama.version().await.unwrap(), "0.12.6");
    ollama.health().await.unwrap();
    assert_eq!(fake.state.requests()[1].body, json!({"model": "llama3.2"}));
}

#[tokio::test]
async fn http_errors_keep_their_status() {
    let fake = Fake::start(|_| {
        Reply::json(
            503,
            &json!({"error": "server busy, please try again.  maximum pending requests exceeded"}),
        )
    })
    .await;
    let ollama = backend(&fake.url());
    match ollama.generate(LlmRequest::prompt("hi")).await {
        Err(LlmError::Http {
            status: 503,
            message,
        }) => assert!(message.starts_with("server busy")),
        other => panic!("{other:?}"),
    }
    // An HTTP error is not a transport error: never retried.
    assert_eq!(fake.state.requests().len(), 1);

    let fake =
        Fake::start(|_| Reply::body(404, "text/plain", b"404 page not found".to_vec())).await;
    match backend(&fake.url())
        .generate(LlmRequest::prompt("hi"))
        .await
    {
        Err(LlmError::Http {
            status: 404,
            message,
        }) => assert_eq!(message, "404 page not found"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn slow_servers_meet_the_right_timeout() {
    let mut cfg = config("");
    cfg.transport.first_byte_timeout = Duration::from_millis(300);
    cfg.transport.idle_timeout = Duration::from_millis(300);

    // A model that loads slowly but within the first-byte limit, then streams steadily.
    let fake = Fake::start(|r| {
        fake_ollama(r, &script()).slow(Duration::from_millis(100), Duration::from_millis(20))
    })
    .await;
    cfg.url = fake.url();
    let ollama = OllamaBackend::new(cfg.clone()).unwrap();
    let (chunks, error) = drain(ollama.chat_stream(&LlmRequest::prompt("hi")).await.unwrap()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(chunks, WORDS);

    // Headers never come: first-byte timeout, not retried.
    let fake =
        Fake::start(|r| fake_ollama(r, &script()).slow(Duration::from_secs(10), Duration::ZERO))
            .await;
    cfg.url = fake.url();
    let started = std::time::Instant::now();
    let error = OllamaBackend::new(cfg.clone())
        .unwrap()
        .chat(&LlmRequest::prompt("hi"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, LlmError::Timeout(d) if d == Duration::from_millis(300)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(fake.state.requests().len(), 1);

    // Chunks stall mid-stream: idle timeout after the first chunk.
    let fake =
        Fake::start(|r| fake_ollama(r, &script()).slow(Duration::ZERO, Duration::from_secs(2)))
            .await;
    cfg.url = fake.url();
    cfg.transport.first_byte_timeout = Duration::from_secs(5);
    let stream = OllamaBackend::new(cfg.clone())
        .unwrap()
        .chat_stream(&LlmRequest::prompt("hi"))
        .await
        .unwrap();
    let (chunks, error) = drain(stream).await;
    assert_eq!(chunks, &WORDS[..1]);
    assert!(
        matches!(error, Some(LlmError::Timeout(d)) if d == Duration::from_millis(300)),
        "{error:?}"
    );

    // Steady chunks but a short overall deadline on the request.
    let fake =
        Fake::start(|r| fake_ollama(r, &script()).slow(Duration::ZERO, Duration::from_millis(100)))
            .await;
    cfg.url = fake.url();
    let mut request = LlmRequest::prompt("hi");
    request.timeout = Some(Duration::from_millis(450));
    let stream = OllamaBackend::new(cfg)
        .unwrap()
        .chat_stream(&request)
        .await
        .unwrap();
    let (chunks, error) = drain(stream).await;
    assert!(chunks.len() < WORDS.len());
    assert!(
        matches!(error, Some(LlmError::Timeout(d)) if d == Duration::from_millis(450)),
        "{error:?}"
    );
}

#[tokio::test]
async fn transport_errors_are_retried_with_backoff() {
    let fake = Fake::start(|r| fake_ollama(r, &script())).await;
    fake.state.drop_next.store(2, Ordering::SeqCst);
    let ollama = backend(&fake.url());
    let answer = ollama
        .generate(LlmRequest::prompt("hi"))
        .await
        .expect("third attempt");
    assert_eq!(answer.text, WORDS.concat());
    assert_eq!(fake.state.requests().len(), 3);

    // Nobody listening: Connect after the configured attempts.
    let url = dead_url().await;
    match backend(&url).generate(LlmRequest::prompt("hi")).await {
        Err(LlmError::Connect { url: at, reason }) => {
            assert!(at.starts_with(&url));
            assert!(!reason.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_breaker_stops_calling_a_failing_server_and_probes_it() {
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&healthy);
    let fake = Fake::start(move |r| {
        if flag.load(Ordering::SeqCst) {
            fake_ollama(r, &script())
        } else {
            Reply::json(500, &json!({"error": "no suitable llama servers found"}))
        }
    })
    .await;
    let mut cfg = config(&fake.url());
    cfg.transport.breaker = BreakerConfig::default()
        .with_failure_threshold(2)
        .with_open_for(Duration::from_millis(300));
    let ollama = OllamaBackend::new(cfg).unwrap();
    for _ in 0..2 {
        let error = ollama.generate(LlmRequest::prompt("hi")).await.unwrap_err();
        assert!(
            matches!(error, LlmError::Http { status: 500, .. }),
            "{error:?}"
        );
    }
    let error = ollama.generate(LlmRequest::prompt("hi")).await.unwrap_err();
    assert!(matches!(error, LlmError::CircuitOpen { .. }), "{error:?}");
    assert!(error.is_transient());
    assert_eq!(
        fake.state.requests().len(),
        2,
        "an open breaker sends nothing"
    );

    healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(ollama.breaker().state(), BreakerState::HalfOpen);
    ollama
        .generate(LlmRequest::prompt("hi"))
        .await
        .expect("the probe succeeds");
    assert_eq!(ollama.breaker().state(), BreakerState::Closed);
    ollama
        .generate(LlmRequest::prompt("hi"))
        .await
        .expect("closed again");
}

#[tokio::test]
async fn dropping_the_stream_or_the_future_hangs_up() {
    let fake =
        Fake::start(|r| fake_ollama(r, &script()).slow(Duration::ZERO, Duration::from_millis(100)))
            .await;
    let ollama = Arc::new(backend(&fake.url()));
    let mut stream = ollama.chat_stream(&LlmRequest::prompt("hi")).await.unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap(), "The");
    drop(stream);
    wait_for(|| fake.state.hung_up.load(Ordering::SeqCst) == 1).await;

    // A whole generation whose future is dropped while the server is still working.
    let fake =
        Fake::start(|r| fake_ollama(r, &script()).slow(Duration::from_secs(10), Duration::ZERO))
            .await;
    let slow = Arc::new(backend(&fake.url()));
    let task = tokio::spawn(async move { slow.generate(LlmRequest::prompt("hi")).await });
    wait_for(|| fake.state.requests().len() == 1).await;
    task.abort();
    wait_for(|| fake.state.hung_up.load(Ordering::SeqCst) == 1).await;
    // The stream's caller hung up after the server answered: not the server's fault.
    assert_eq!(ollama.breaker().state(), BreakerState::Closed);
}

async fn wait_for(condition: impl Fn() -> bool) {
    for _ in 0..300 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not met within 3 s");
}

#[tokio::test]
async fn from_config_picks_the_backend_and_checks_keys() {
    let fake = Fake::start(|r| fake_ollama(r, &script())).await;
    let section = LlmSection::new("ollama", fake.url(), "llama3.2")
        .with_option("temperature", 0.0)
        .with_option("num_predict", 16)
        .with_option("keep_alive", "10m")
        .with_option("idle_timeout", "5s");
    let backend = botkit_ollama::connect(&section).await.expect("connect");
    assert_eq!(backend.name(), "ollama");
    let answer = backend.generate(LlmRequest::prompt("hi")).await.unwrap();
    assert_eq!(answer.text, WORDS.concat());
    let body = fake.state.requests().last().unwrap().body.clone();
    assert_eq!(body["keep_alive"], "10m");
    assert_eq!(
        body["options"],
        json!({"temperature": 0.0, "num_predict": 16})
    );

    let missing = LlmSection::new("ollama", fake.url(), "llama9");
    let error = botkit_ollama::connect(&missing)
        .await
        .err()
        .expect("unknown model");
    assert!(
        error
            .to_string()
            .contains("available: llama3.2:latest, qwen2.5:0.5b"),
        "{error}"
    );

    let typo = LlmSection::new("ollama", fake.url(), "m").with_option("temprature", 0.5);
    let error = botkit_ollama::from_config(&typo)
        .err()
        .expect("unknown key");
    assert!(
        error.to_string().contains("unknown key `llm.temprature`"),
        "{error}"
    );

    let bad = LlmSection::new("ollama", fake.url(), "m").with_option("keep_alive", "-1");
    assert!(botkit_ollama::from_config(&bad).is_err());
    let bad = LlmSection::new("bogus", fake.url(), "m");
    assert!(botkit_ollama::from_config(&bad).is_err());
    let openai = LlmSection::new("openai", fake.url(), "m").with_option("api_key", "sk-x");
    assert_eq!(
        botkit_ollama::from_config(&openai).unwrap().name(),
        "openai"
    );
}

#[tokio::test]
async fn a_config_file_with_every_key() {
    let text = r#"
[llm]
backend = "ollama"
url = "http://127.0.0.1:11434"
model = "llama3.2:3b"
endpoint = "generate"
system = "be brief"
temperature = 0.5
top_p = 0.9
num_predict = 100
num_ctx = 4096
stop = ["\n"]
seed = 7
keep_alive = "10m"
format = "json"
extra_options = { top_k = 20 }
connect_timeout = "2s"
first_byte_timeout = "90s"
idle_timeout = 15000
request_timeout = "2m"

[llm.retry]
base = "100ms"
max_attempts = 4

[llm.breaker]
failure_threshold = 3
open_for = "10s"
"#;
    let config = botkit::Config::from_str_named(text, "bot.toml").expect("valid file");
    let section = config.llm.as_ref().expect("[llm]");
    let ollama = OllamaBackend::from_section(section).expect("every key is known");
    let cfg = ollama.config();
    assert_eq!(cfg.endpoint, OllamaEndpoint::Generate);
    assert_eq!(cfg.sampling.num_ctx, Some(4096));
    assert_eq!(cfg.extra_options["top_k"], json!(20));
    assert_eq!(cfg.transport.idle_timeout, Duration::from_secs(15));
    assert_eq!(cfg.transport.first_byte_timeout, Duration::from_secs(90));
    assert_eq!(cfg.transport.retry.max_attempts, Some(4));
    assert_eq!(cfg.transport.breaker.failure_threshold, 3);

    let bad = text.replace("idle_timeout = 15000", "idle_timeout = \"15 parsecs\"");
    let config = botkit::Config::from_str_named(&bad, "bot.toml").expect("valid toml");
    let error = OllamaBackend::from_section(config.llm.as_ref().unwrap()).unwrap_err();
    assert!(error.to_string().contains("llm.idle_timeout"), "{error}");
    assert!(error.to_string().contains("bot.toml:19"), "{error}");
}
