//! The logger example as a user meets it: its README shows the source as it is, and the bot runs
//! on piped stdin, keeping what it must in SQLite.

use std::path::Path;
use std::process::Command;

use botkit_e2e::{Scratch, assert_readme_shows_main, run_piped};

use botkit::store::{ChannelRef, ChatCursor};

#[test]
fn readme_shows_the_source_verbatim() {
    assert_readme_shows_main(env!("CARGO_MANIFEST_DIR"));
}

/// Runs the example in `dir` with `input` on stdin; its stdout.
fn run(dir: &Path, input: &str) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logger"));
    cmd.env_remove("RUST_LOG").current_dir(dir);
    String::from_utf8(run_piped(&mut cmd, input).stdout).expect("UTF-8 output")
}

#[tokio::test]
async fn keeps_the_chat_its_rules_name_in_sqlite() {
    let dir = Scratch::new("botkit-example-logger", "run");
    let out = run(&dir.0, "hello there\n!echo hi\n");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["loggerbot: hi"], "{out}");

    let url = format!("sqlite://{}", dir.0.join("logger.db").display());
    let store = botkit_sql::open(&url)
        .await
        .expect("the example wrote logger.db");
    let page = store
        .chat_range(&ChannelRef::new("shell", "shell"), ChatCursor::START, 10)
        .await
        .unwrap();
    let texts: Vec<&str> = page.records.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(texts, ["hello there", "!echo hi"]);
    // Only the rules' topics are events: the two chat messages, not the connection's
    // or the channel's comings and goings.
    assert_eq!(store.stats().await.unwrap().events, 2);
}
