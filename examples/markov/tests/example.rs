//! The markov example as a user meets it: its README shows the source as it is, and the bot runs
//! on piped stdin, keeping what it must in SQLite.

use std::path::Path;
use std::process::Command;

use botkit_e2e::{Scratch, assert_readme_shows_main, run_piped};

#[test]
fn readme_shows_the_source_verbatim() {
    assert_readme_shows_main(env!("CARGO_MANIFEST_DIR"));
}

/// Runs the example in `dir` with `input` on stdin; its stdout.
fn run(dir: &Path, input: &str) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_markov"));
    cmd.env_remove("RUST_LOG").current_dir(dir);
    String::from_utf8(run_piped(&mut cmd, input).stdout).expect("UTF-8 output")
}

#[test]
fn learns_the_chat_and_answers_after_a_restart() {
    let dir = Scratch::new("botkit-example-markov", "run");
    // Fewer lines than `speak_every`: the bot only listens.
    let out = run(
        &dir.0,
        "the quick brown fox jumps\nhave a look at https://example.com\n",
    );
    assert_eq!(out, "", "silent until asked or ten messages in");
    // A new process: what it learned comes back from markov.db.
    let out = run(&dir.0, "!markov quick\n!markov have\n!markov zebra\n");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0], "markovbot: quick brown fox jumps");
    assert_eq!(
        lines[1], "markovbot: have a look at",
        "links are not learned"
    );
    assert!(lines[2].contains("nothing to say after"), "{out}");
    assert!(dir.0.join("markov.db").exists());
}
