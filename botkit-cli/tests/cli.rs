//! The built `botkit` binary, driven the way a user drives it: through a pipe, with a
//! config file, with a broken config.

use std::io::Write;
use std::process::{Command, Stdio};

fn botkit() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_botkit"));
    cmd.env_remove("RUST_LOG").env_remove("BOTKIT_LOG");
    // `botkit run` with no store configured persists to ./botkit.db: keep it out of the tree.
    let cwd = std::env::temp_dir().join(format!("botkit-cli-cwd-{}", std::process::id()));
    std::fs::create_dir_all(&cwd).expect("scratch working directory");
    cmd.current_dir(cwd);
    cmd
}

fn run_with_stdin(cmd: &mut Command, input: &str) -> std::process::Output {
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
    child.wait_with_output().expect("botkit exits")
}

#[test]
fn shell_bot_through_a_pipe_answers_every_line_and_exits_zero() {
    let out = run_with_stdin(
        botkit().arg("run"),
        "hello there\n!echo first\n!help\n/name alice\n!echo \"quoted  words\" too\n!nosuch\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "botkit: first",
            "botkit: commands: !echo, !help — say !help <command> for more",
            "* you are now alice",
            "botkit: \"quoted  words\" too",
        ],
        "stderr:\n{stderr}"
    );
}

#[test]
fn no_subcommand_runs_the_shell_bot() {
    let out = run_with_stdin(&mut botkit(), "!echo hi\n");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "botkit: hi");
}

#[test]
fn shell_roles_gate_moderator_commands() {
    let dir = std::env::temp_dir().join(format!("botkit-cli-roles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bot.toml");
    std::fs::write(
        &path,
        "[bot]\nname = \"modbot\"\nprefix = \"?\"\n\n[plugins.echo]\n",
    )
    .unwrap();
    let out = run_with_stdin(
        botkit().arg("run").arg(&path),
        "?echo a\n/role moderator\n?echo b\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["modbot: a", "* your role is now moderator", "modbot: b"]
    );
}

#[test]
fn check_prints_the_resolved_config_with_secrets_redacted() {
    let dir = std::env::temp_dir().join(format!("botkit-cli-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bot.toml");
    std::fs::write(
        &path,
        "[bot]\nname = \"rosey\"\n\n[[platform]]\nkind = \"shell\"\nid = \"local\"\ntoken = \"${BOTKIT_CLI_TEST_TOKEN}\"\n",
    )
    .unwrap();
    let out = botkit()
        .arg("check")
        .arg(&path)
        .env("BOTKIT_CLI_TEST_TOKEN", "hunter2-very-secret")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("rosey"), "{stdout}");
    assert!(!stdout.contains("hunter2"), "secret leaked: {stdout}");
}

#[test]
fn broken_config_is_a_clear_error_and_nonzero_exit() {
    let dir = std::env::temp_dir().join(format!("botkit-cli-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.toml");
    std::fs::write(&path, "[bot]\nname = \"x\"\nowners = \"alice\"\n").unwrap();
    for sub in ["check", "run"] {
        let out = botkit()
            .arg(sub)
            .arg(&path)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{sub} should fail");
        assert!(
            stderr.contains("broken.toml"),
            "{sub}: names the file: {stderr}"
        );
        assert!(
            stderr.contains("bot.owners"),
            "{sub}: names the key: {stderr}"
        );
        assert!(
            stderr.contains("broken.toml:3:"),
            "{sub}: names the line: {stderr}"
        );
    }
    let out = botkit()
        .arg("check")
        .arg(dir.join("missing.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn unknown_platform_kind_is_refused_with_the_available_ones() {
    let dir = std::env::temp_dir().join(format!("botkit-cli-kind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bot.toml");
    std::fs::write(&path, "[[platform]]\nkind = \"myspace\"\n").unwrap();
    let out = botkit()
        .arg("run")
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("myspace") && stderr.contains("shell"),
        "{stderr}"
    );
}

#[test]
fn sigterm_stops_a_running_bot_gracefully_with_exit_zero() {
    use std::io::{BufRead, BufReader};
    let mut child = botkit()
        .arg("run")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("botkit starts");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(b"!echo still here\n").expect("write");
    stdin.flush().expect("flush");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read the answer");
    assert_eq!(line.trim(), "botkit: still here");
    // stdin stays open: only the signal can end the bot.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let out = child.wait_with_output().expect("botkit exits");
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    drop(stdin);
}

#[test]
fn cytube_and_llm_sections_are_built_from_the_config_with_clear_errors() {
    let dir = std::env::temp_dir().join(format!("botkit-cli-wiring-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A cytube platform without a server: the error names the platform and the key.
    let path = dir.join("cytube.toml");
    std::fs::write(
        &path,
        "[store]\nurl = \"memory:\"\n\n[[platform]]\nkind = \"cytube\"\nid = \"room\"\nchannel = \"test\"\n",
    )
    .unwrap();
    let out = botkit()
        .arg("run")
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("room") && stderr.contains("server"),
        "{stderr}"
    );

    // An unknown LLM backend is refused before anything connects.
    let path = dir.join("llm.toml");
    std::fs::write(
        &path,
        "[store]\nurl = \"memory:\"\n\n[llm]\nbackend = \"gpt-on-a-stick\"\nurl = \"http://127.0.0.1:9\"\nmodel = \"m\"\n",
    )
    .unwrap();
    let out = botkit()
        .arg("run")
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("gpt-on-a-stick") && stderr.contains("ollama"),
        "{stderr}"
    );
}

#[test]
fn a_bot_starts_while_its_llm_server_is_down_and_says_so() {
    let dir = std::env::temp_dir().join(format!("botkit-cli-llmdown-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bot.toml");
    // Nothing listens on port 9 of the loopback: connection refused at once.
    std::fs::write(
        &path,
        "[store]\nurl = \"memory:\"\n\n[llm]\nbackend = \"ollama\"\nurl = \"http://127.0.0.1:9\"\nmodel = \"m\"\n\n[plugins.echo]\n",
    )
    .unwrap();
    let out = run_with_stdin(botkit().arg("run").arg(&path), "!echo alive\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), "botkit: alive");
    assert!(stderr.contains("not answering yet"), "{stderr}");
}

#[test]
fn init_writes_a_starter_config_that_checks_and_runs() {
    let dir = std::env::temp_dir().join(format!("botkit-cli-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bot.toml");
    let out = botkit().arg("init").arg(&path).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("# [[platform]]\n# kind = \"twitch\""),
        "commented examples"
    );

    let out = botkit().arg("check").arg(&path).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // It runs as written: the shell bot, echo, on SQLite in the working directory.
    let out = run_with_stdin(
        botkit().arg("run").arg(&path).current_dir(&dir),
        "!echo from the starter\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "botkit: from the starter"
    );
    assert!(dir.join("botkit.db").exists());

    // It never overwrites by accident.
    let out = botkit().arg("init").arg(&path).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
}
