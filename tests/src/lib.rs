//! Cross-crate end-to-end tests for botkit live in `tests/tests/`. This library holds the
//! helpers that the workspace's binary-level tests share (the CLI's, the examples'): a scratch
//! directory that cleans up after itself, and running a bot on piped standard input.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// A scratch directory under the system temp dir, emptied on creation and removed on drop.
/// Bots write their database into their working directory, so each test gets its own.
#[derive(Debug)]
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// `<temp>/<prefix>-<tag>-<pid>`: unique per test (`tag`) and per test process.
    pub fn new(prefix: &str, tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{prefix}-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `cmd` with `input` on its standard input and waits for it; panics, showing both
/// output streams, unless it exits successfully.
pub fn run_piped(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} does not start: {e}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("the program exits");
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Panics unless the README in `crate_dir` shows `src/main.rs` verbatim in a ```` ```rust ````
/// block, less the file's `//!` header (the README has its own prose), so the snippet a
/// reader copies is the code that is built and tested.
pub fn assert_readme_shows_main(crate_dir: &str) {
    let read = |name: &str| {
        let path = std::path::Path::new(crate_dir).join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    };
    let code: String = read("src/main.rs")
        .lines()
        .skip_while(|l| l.starts_with("//!") || l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        read("README.md").contains(&format!("```rust\n{code}```")),
        "README.md must show src/main.rs verbatim; expected:\n{code}"
    );
}
