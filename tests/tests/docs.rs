//! The README shows the echo example exactly as it is in `examples/echo/src/main.rs`, so the
//! quickstart a user copies is code that compiles and runs in CI.

fn read(path: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    std::fs::read_to_string(format!("{root}/{path}"))
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

#[test]
fn readme_quickstart_is_the_echo_example() {
    let readme = read("README.md");
    let example = read("examples/echo/src/main.rs");
    // The example's file header (`//!` lines) introduces the file; the README has its own prose.
    let code: String = example
        .lines()
        .skip_while(|l| l.starts_with("//!") || l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        readme.contains(&code),
        "README.md must show examples/echo/src/main.rs verbatim; expected:\n{code}"
    );
}

#[test]
fn readme_starts_with_the_two_commands() {
    let readme = read("README.md");
    let first_block: Vec<&str> = readme
        .split("```sh")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("README has a sh block")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(
        first_block[0].starts_with("cargo run -p botkit-cli -- run"),
        "{first_block:?}"
    );
    assert!(
        first_block[1].starts_with("cargo test --workspace"),
        "{first_block:?}"
    );
    let ci = read(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == "cargo test --workspace"),
        "CI runs the README's test command"
    );
}
