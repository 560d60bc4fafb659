//! Bundled plugins run from a config by the `botkit` binary: the logger fills the chat log
//! that `botkit db export` prints, `botkit markov train` learns it, and a markov bot answers.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("botkit-bots-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn botkit(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_botkit"));
    cmd.env_remove("RUST_LOG")
        .env_remove("BOTKIT_LOG")
        .env_remove("BOTKIT_STORE_URL")
        .current_dir(cwd);
    cmd
}

fn run(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("botkit binary starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("botkit exits");
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn logger_then_train_then_markov_answers_from_the_log() {
    let dir = Scratch::new("train");
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
    let dir = Scratch::new("unknown");
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
