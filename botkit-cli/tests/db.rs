//! `botkit run` persisting to SQLite by default, and `botkit db migrate | stats | prune |
//! export`, driven through the built binary against real database files.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use botkit::store::{ChannelRef, ChatRecord};
use botkit_e2e::Scratch;

fn botkit(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_botkit"));
    cmd.env_remove("RUST_LOG")
        .env_remove("BOTKIT_LOG")
        .env_remove("BOTKIT_STORE_URL")
        .current_dir(cwd);
    cmd
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out: Output = cmd.stdin(Stdio::null()).output().expect("botkit runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const DAY: i64 = 86_400_000;

/// Writes three old and two recent messages to `#c` and one to `#other`.
fn seed(url: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = botkit_sql::open(url).await.unwrap();
        let now = botkit::event::now_millis();
        let c = ChannelRef::new("twitch", "#c");
        let mut recs = Vec::new();
        for (i, age_days) in [40, 35, 31, 1, 0].iter().enumerate() {
            recs.push(
                ChatRecord::new(
                    &c,
                    "twitch:1",
                    "alice",
                    format!("msg {i} ü"),
                    now - age_days * DAY - 1000,
                )
                .with_message_id(format!("m{i}")),
            );
        }
        recs.push(ChatRecord::new(
            &ChannelRef::new("twitch", "#other"),
            "twitch:2",
            "bob",
            "elsewhere",
            now,
        ));
        store.append_chat(&recs).await.unwrap();
        store.flush().await.unwrap();
    });
}

#[test]
fn migrate_stats_export_prune_on_sqlite() {
    let dir = Scratch::new("botkit-cli-db", "cycle");
    let url = format!("sqlite://{}", dir.0.join("bot.db").display());
    let (ok, out, err) = run(botkit(&dir.0).args(["db", "--url", &url, "migrate"]));
    assert!(ok, "{err}");
    assert!(out.contains("schema is up to date"), "{out}");
    assert!(dir.0.join("bot.db").exists());

    seed(&url);
    let (ok, out, err) = run(botkit(&dir.0).args(["db", "--url", &url, "stats"]));
    assert!(ok, "{err}");
    assert!(
        out.lines().any(|l| l.split_whitespace().eq(["chat", "6"])),
        "{out}"
    );

    let (ok, out, err) = run(botkit(&dir.0).args([
        "db",
        "--url",
        &url,
        "export",
        "--channel",
        "twitch:#c",
        "--format",
        "jsonl",
    ]));
    assert!(ok, "{err}");
    let texts: Vec<String> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("each line is JSON");
            v["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        texts,
        ["msg 0 ü", "msg 1 ü", "msg 2 ü", "msg 3 ü", "msg 4 ü"]
    );

    let (ok, out, err) =
        run(botkit(&dir.0).args(["db", "--url", &url, "prune", "--older-than", "30d"]));
    assert!(ok, "{err}");
    assert!(out.contains("3 chat messages"), "{out}");
    let (_, out, _) = run(botkit(&dir.0).args(["db", "--url", &url, "stats"]));
    assert!(
        out.lines().any(|l| l.split_whitespace().eq(["chat", "3"])),
        "{out}"
    );
}

#[test]
fn the_store_url_comes_from_the_config() {
    let dir = Scratch::new("botkit-cli-db", "config");
    let db = dir.0.join("from-config.db");
    let config = dir.0.join("bot.toml");
    std::fs::write(
        &config,
        format!("[store]\nurl = \"sqlite://{}\"\n", db.display()),
    )
    .unwrap();
    let (ok, out, err) = run(botkit(&dir.0)
        .args(["db", "--config"])
        .arg(&config)
        .arg("stats"));
    assert!(ok, "{err}");
    assert!(out.contains("from-config.db"), "{out}");
    assert!(db.exists());
}

#[test]
fn the_store_keys_in_the_config_reach_the_database() {
    let dir = Scratch::new("botkit-cli-db", "keys");
    let config = dir.0.join("bot.toml");
    let url = format!("sqlite://{}", dir.0.join("tiny.db").display());
    // Two pages leave no room for the schema: the open fails as a full database, which
    // only happens if `max_pages` reached SQLite.
    std::fs::write(
        &config,
        format!("[store]\nurl = \"{url}\"\nmax_pages = 2\nsynchronous = \"normal\"\n"),
    )
    .unwrap();
    let (ok, _, err) = run(botkit(&dir.0)
        .args(["db", "--config"])
        .arg(&config)
        .arg("stats"));
    assert!(!ok, "a 2-page database cannot hold the schema");
    assert!(err.contains("full"), "{err}");
    std::fs::write(
        &config,
        format!("[store]\nurl = \"{url}\"\nsynchronous = \"normal\"\nbatch_size = 64\n"),
    )
    .unwrap();
    let (ok, out, err) = run(botkit(&dir.0)
        .args(["db", "--config"])
        .arg(&config)
        .arg("stats"));
    assert!(ok, "{err}");
    assert!(out.contains("tiny.db"), "{out}");
    std::fs::write(&config, "[store]\nsynchronous = \"sometimes\"\n").unwrap();
    let (ok, _, err) = run(botkit(&dir.0)
        .args(["db", "--config"])
        .arg(&config)
        .arg("stats"));
    assert!(!ok);
    assert!(err.contains("store.synchronous"), "{err}");
    assert!(err.contains("bot.toml:2"), "{err}");
}

#[test]
fn run_with_no_config_persists_to_botkit_db() {
    let dir = Scratch::new("botkit-cli-db", "run");
    let mut child = botkit(&dir.0)
        .arg("run")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello\n!echo hi\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.0.join("botkit.db").exists(), "./botkit.db was created");
    let (ok, out, err) = run(botkit(&dir.0).args(["db", "stats"]));
    assert!(ok, "{err}");
    assert!(out.contains("sqlite://botkit.db"), "{out}");
}

#[test]
fn bad_stores_fail_with_the_cause() {
    let dir = Scratch::new("botkit-cli-db", "bad");
    std::fs::create_dir(dir.0.join("adir.db")).unwrap();
    std::fs::write(dir.0.join("text.db"), "not a database at all\n".repeat(100)).unwrap();
    let cases = [
        (
            format!("sqlite://{}", dir.0.join("adir.db").display()),
            "cannot open",
        ),
        (
            format!("sqlite://{}", dir.0.join("text.db").display()),
            "not a SQLite database",
        ),
        ("mysql://127.0.0.1/x".to_owned(), "unknown scheme `mysql`"),
        (
            "postgres://bot:hunter2@127.0.0.1:notaport/x".to_owned(),
            "bad port",
        ),
    ];
    for (url, why) in cases {
        let (ok, _, err) = run(botkit(&dir.0).args(["db", "--url", &url, "stats"]));
        assert!(!ok, "{url} must fail");
        assert!(err.contains(why), "{url}: {err}");
        assert!(!err.contains("hunter2"), "password leaked: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (ok, _, err) =
        run(botkit(&dir.0).args(["db", "--url", "memory:", "prune", "--older-than", "soon"]));
    assert!(!ok);
    assert!(err.contains("is not an age"), "{err}");
    let (ok, _, err) =
        run(botkit(&dir.0).args(["db", "--url", "memory:", "export", "--channel", "nocolon"]));
    assert!(!ok);
    assert!(err.contains("platform:channel"), "{err}");
}
