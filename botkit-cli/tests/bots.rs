//! Bundled plugins run from a config by the `botkit` binary: the logger fills the chat log
//! that `botkit db export` prints, `botkit markov train` learns it, and a markov bot answers.

use botkit_e2e::{Scratch, run_piped};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn botkit(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_botkit"));
    cmd.env_remove("RUST_LOG")
        .env_remove("BOTKIT_LOG")
        .env_remove("BOTKIT_STORE_URL")
        .current_dir(cwd);
    cmd
}

fn run(cmd: &mut Command, input: &str) -> Output {
    run_piped(cmd, input)
}

#[test]
fn logger_then_train_then_markov_answers_from_the_log() {
    let dir = Scratch::new("botkit-bots", "train");
    std::fs::write(
        dir.0.join("log.toml"),
        "[store]\nurl = \"sqlite://bot.db\"\n[plugins.logger]\n[plugins.echo]\n",
    )
    .unwrap();
    run(
        botkit(&dir.0).args(["run", "log.toml"]),
        "the cat sat on the mat\nhave a look at https://example.com\n",
    );

    let out = run(
        botkit(&dir.0).args([
            "db",
            "--config",
            "log.toml",
            "export",
            "--channel",
            "shell:shell",
        ]),
        "",
    );
    let export = String::from_utf8_lossy(&out.stdout);
    assert_eq!(export.lines().count(), 2, "{export}");
    assert!(export.contains("the cat sat on the mat"), "{export}");

    std::fs::write(
        dir.0.join("markov.toml"),
        "[store]\nurl = \"sqlite://bot.db\"\n[plugins.markov]\norder = 3\nseed = 9\n",
    )
    .unwrap();
    let out = run(
        botkit(&dir.0).args(["markov", "train", "--config", "markov.toml"]),
        "",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("learned 2 of 2 messages"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 learned"));
    // Training again finds nothing new.
    let out = run(
        botkit(&dir.0).args(["markov", "train", "--config", "markov.toml"]),
        "",
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("learned 0 of 0"));

    let out = run(
        botkit(&dir.0).args(["run", "markov.toml"]),
        "!markov the cat\n!markov have\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    // The link was stripped before learning.
    assert_eq!(
        lines,
        ["botkit: the cat sat on the mat", "botkit: have a look at"],
        "{stdout}"
    );
}

#[test]
fn an_unknown_plugin_names_the_bundled_ones() {
    let dir = Scratch::new("botkit-bots", "unknown");
    std::fs::write(dir.0.join("bot.toml"), "[plugins.nosuch]\n").unwrap();
    let out = botkit(&dir.0)
        .args(["run", "bot.toml"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bundled: echo, logger, markov"), "{stderr}");
}

/// An example's shipped config, as a path and as text.
fn example_config(example: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(example)
        .join("bot.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    (path, text)
}

#[test]
fn the_example_configs_check() {
    let dir = Scratch::new("botkit-bots", "check");
    for example in ["logger", "markov"] {
        let (path, _) = example_config(example);
        let out = run(botkit(&dir.0).arg("check").arg(&path), "");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("config ok"),
            "{example}"
        );
        let resolved = String::from_utf8_lossy(&out.stdout);
        assert!(
            resolved.contains(&format!("[plugins.{example}]")),
            "{resolved}"
        );
    }
}

#[test]
fn the_logger_example_config_runs_and_keeps_what_its_rules_name() {
    let dir = Scratch::new("botkit-bots", "ex-logger");
    // The config as shipped, run where its relative SQLite path lands in the scratch dir.
    std::fs::write(dir.0.join("bot.toml"), example_config("logger").1).unwrap();
    let out = run(
        botkit(&dir.0).args(["run", "bot.toml"]),
        "hello there\n!echo hi\n",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "loggerbot: hi\n");
    assert!(dir.0.join("logger.db").exists());

    let out = run(
        botkit(&dir.0).args([
            "db",
            "--config",
            "bot.toml",
            "export",
            "--channel",
            "shell:shell",
        ]),
        "",
    );
    let export = String::from_utf8_lossy(&out.stdout);
    assert_eq!(export.lines().count(), 2, "{export}");
    assert!(export.contains("hello there"), "{export}");
    let out = run(
        botkit(&dir.0).args(["db", "--config", "bot.toml", "stats"]),
        "",
    );
    let stats = String::from_utf8_lossy(&out.stdout);
    // The chat messages only: the rules keep no connection or channel events.
    assert!(
        stats
            .lines()
            .any(|l| l.split_whitespace().eq(["events", "2"])),
        "{stats}"
    );
    // The event log, by topic pattern.
    let out = run(
        botkit(&dir.0).args([
            "db",
            "--config",
            "bot.toml",
            "export",
            "--topic",
            "platform.>",
        ]),
        "",
    );
    let events = String::from_utf8_lossy(&out.stdout);
    let topics: Vec<String> = events
        .lines()
        .map(|l| {
            let record: serde_json::Value = serde_json::from_str(l).expect("JSON lines");
            record["topic"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(
        topics,
        ["platform.shell.chat.message", "platform.shell.chat.message"]
    );
    let out = botkit(&dir.0)
        .args([
            "db",
            "--config",
            "bot.toml",
            "export",
            "--topic",
            "platform..x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a topic pattern"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_markov_example_config_learns_answers_and_train_skips_what_it_learned_live() {
    let dir = Scratch::new("botkit-bots", "ex-markov");
    std::fs::write(dir.0.join("bot.toml"), example_config("markov").1).unwrap();
    let out = run(
        botkit(&dir.0).args(["run", "bot.toml"]),
        "the quick brown fox jumps\nmarkovbot is listening @alice\n",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "", "only listens");
    let out = run(
        botkit(&dir.0).args(["run", "bot.toml"]),
        "!markov quick\n!markov is\n",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "markovbot: quick brown fox jumps\nmarkovbot: is listening\n",
        "remembered across restarts; its own name and mentions were not learned"
    );
    // The logger kept the chat, but the plugin learned it live: training finds nothing new.
    let out = run(
        botkit(&dir.0).args(["markov", "train", "--config", "bot.toml"]),
        "",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Four rows: two heard live, two `!markov` commands, which are never learned.
    assert!(stdout.starts_with("learned 0 of 4 messages"), "{stdout}");
    assert!(
        stdout.contains("(2 of them the bot had learned live)"),
        "{stdout}"
    );
}
