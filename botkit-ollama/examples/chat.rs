//! Answers a chat line through a local model, the way a bot plugin would.
//!
//! ```text
//! # Ollama (default):
//! cargo run -p botkit-ollama --example chat -- ollama http://127.0.0.1:11434 llama3.2:3b
//! # llama.cpp / vLLM / LM Studio (start one with shared/peers/llm-server.py):
//! cargo run -p botkit-ollama --example chat -- openai http://127.0.0.1:11435 smollm2:135m
//! ```
//!
//! It checks the server and the model at start (a missing model lists the ones there are),
//! builds the prompt from recent chat under a budget, streams the answer, then cleans it
//! and fits it into one 500-character Twitch message.

use botkit::config::LlmSection;
use botkit::llm::LlmRequest;
use botkit::store::{ChannelRef, ChatRecord};
use botkit::text::Measure;
use botkit_ollama::{ContextBuilder, fit_reply};
use futures_util::StreamExt;

#[tokio::main]
async fn main() {
    // Display, not Debug: the errors are written to be read ("model `x` not found;
    // available: …").
    if let Err(error) = run().await {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "ollama".into());
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:11434".into());
    let model = args.next().unwrap_or_else(|| "llama3.2:3b".into());

    // The same keys a bot's config file has under [llm].
    let section = LlmSection::new(backend, url, model)
        .with_option("temperature", 0.7)
        .with_option("num_predict", 120)
        .with_option("idle_timeout", "20s");
    let llm = botkit_ollama::connect(&section).await?;

    let channel = ChannelRef::new("twitch", "#rustlang");
    let chat = [
        ChatRecord::new(
            &channel,
            "twitch:1",
            "alice",
            "anyone tried the new borrow checker?",
            1,
        ),
        ChatRecord::new(
            &channel,
            "twitch:2",
            "ferrisbot",
            "Polonius? It accepts more programs.",
            2,
        ),
        ChatRecord::new(
            &channel,
            "twitch:3",
            "bob",
            "@ferrisbot what does it fix, in one sentence?",
            3,
        ),
    ];
    let mut request = LlmRequest::default().with_system(
        "You are ferrisbot, a friendly Twitch chat bot. Answer in one or two short sentences.",
    );
    request.turns = ContextBuilder::new(2_000).bot("ferrisbot").build(&chat);

    let mut stream = llm.generate_stream(request).await?;
    let mut answer = String::new();
    while let Some(chunk) = stream.next().await {
        // A mid-stream error or a cut connection is an Err here, never a silent end.
        answer.push_str(&chunk?);
    }
    println!(
        "{}",
        fit_reply(&answer, &["ferrisbot"], 500, Measure::Chars)
    );
    Ok(())
}
