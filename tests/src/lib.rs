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
