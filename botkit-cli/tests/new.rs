//! `botkit new plugin`: the files it writes and the mistakes it refuses. Building and testing
//! the scaffold is CI's step (`.ci/run`), which compiles it against this checkout; here no
//! second workspace is compiled.

use botkit_e2e::Scratch;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn botkit(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_botkit"))
        .env_remove("RUST_LOG")
        .env_remove("BOTKIT_LOG")
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("botkit binary runs")
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Fails with the error text, which it returns.
fn fails(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `botkit` crate of this checkout.
fn botkit_crate() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../botkit")
        .canonicalize()
        .expect("the botkit crate is beside botkit-cli")
}

#[test]
fn scaffolds_a_plugin_crate_on_a_local_botkit() {
    let dir = Scratch::new("botkit-new", "local");
    let botkit_path = botkit_crate();
    let out = botkit(
        &dir.0,
        &[
            "new",
            "plugin",
            "hello-bot",
            "--botkit-path",
            botkit_path.to_str().unwrap(),
        ],
    );
    ok(&out);
    let root = dir.0.join("hello-bot");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cargo test"),
        "says what to do next"
    );

    let manifest: toml::Table = read(&root.join("Cargo.toml")).parse().expect("valid TOML");
    assert_eq!(manifest["package"]["name"].as_str(), Some("hello-bot"));
    assert!(
        manifest["workspace"].is_table(),
        "its own workspace root: builds inside another workspace's tree"
    );
    assert_eq!(
        manifest["dependencies"]["botkit"]["path"].as_str(),
        botkit_path.to_str(),
        "a path dependency on the checkout"
    );
    assert!(manifest["dev-dependencies"]["tokio"].is_table());

    let lib = read(&root.join("src/lib.rs"));
    assert!(lib.contains("pub struct HelloBot;"), "{lib}");
    assert!(
        lib.contains("\"hello-bot\""),
        "the plugin's name is the crate's"
    );
    assert!(lib.contains("CommandSpec::new(\"hello\")"), "{lib}");

    let test = read(&root.join("tests/plugin.rs"));
    assert!(test.contains("use hello_bot::HelloBot;"), "{test}");
    assert!(test.contains("TestBot::new().plugin(HelloBot)"), "{test}");
    assert!(test.contains("\"hello, alice!\""), "{test}");

    let readme = read(&root.join("README.md"));
    assert!(readme.starts_with("# hello-bot"), "{readme}");
    assert!(readme.contains(".plugin(hello_bot::HelloBot)"), "{readme}");
    assert!(readme.contains("hello-bot = { path = \"../hello-bot\" }"));

    assert_eq!(read(&root.join(".gitignore")), "/target\n");
    for file in ["Cargo.toml", "src/lib.rs", "tests/plugin.rs", "README.md"] {
        assert!(
            !read(&root.join(file)).contains("{{"),
            "{file} is fully rendered"
        );
    }
}

#[test]
fn depends_on_the_published_botkit_by_default_and_takes_a_path() {
    let dir = Scratch::new("botkit-new", "published");
    // An existing empty directory is fine.
    std::fs::create_dir(dir.0.join("empty")).unwrap();
    ok(&botkit(
        &dir.0,
        &["new", "plugin", "greeter", "--path", "empty"],
    ));
    let manifest: toml::Table = read(&dir.0.join("empty/Cargo.toml")).parse().unwrap();
    assert_eq!(
        manifest["dependencies"]["botkit"].as_str(),
        Some("0.1"),
        "the published botkit of the CLI's version"
    );
    assert_eq!(manifest["package"]["name"].as_str(), Some("greeter"));
}

#[test]
fn refuses_invalid_names_and_non_empty_directories() {
    let dir = Scratch::new("botkit-new", "refuse");
    for (name, why) in [
        ("1plugin", "must start with a letter"),
        ("my plugin", "` ` is not allowed"),
        ("fn", "Rust keyword"),
        ("botkit", "clash with botkit's own crates"),
    ] {
        let e = fails(&botkit(&dir.0, &["new", "plugin", name]));
        assert!(e.contains(why), "{name}: {e}");
    }
    assert!(
        std::fs::read_dir(&dir.0).unwrap().next().is_none(),
        "nothing written"
    );

    std::fs::create_dir(dir.0.join("taken")).unwrap();
    std::fs::write(dir.0.join("taken/notes.txt"), "mine").unwrap();
    let e = fails(&botkit(&dir.0, &["new", "plugin", "x", "--path", "taken"]));
    assert!(e.contains("already exists and is not empty"), "{e}");
    assert_eq!(read(&dir.0.join("taken/notes.txt")), "mine", "left alone");
    assert!(!dir.0.join("taken/Cargo.toml").exists());

    let e = fails(&botkit(
        &dir.0,
        &["new", "plugin", "x", "--botkit-path", "nowhere"],
    ));
    assert!(e.contains("--botkit-path nowhere"), "{e}");
    assert!(
        e.contains("point it at the `botkit` crate's directory"),
        "{e}"
    );
    // The workspace root is a manifest, but not botkit's.
    let workspace = botkit_crate().join("..");
    let e = fails(&botkit(
        &dir.0,
        &[
            "new",
            "plugin",
            "x",
            "--botkit-path",
            workspace.to_str().unwrap(),
        ],
    ));
    assert!(e.contains("is not the `botkit` crate's manifest"), "{e}");
    assert!(!dir.0.join("x").exists(), "nothing written on a bad path");
}
