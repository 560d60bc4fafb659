//! The README's bot is the example file, so the README snippet is compiled and kept
//! in step (the crate docs include the README, so it is also a doctest).

#[test]
fn the_readme_bot_is_examples_ping() {
    let readme = include_str!("../README.md");
    let example = include_str!("../examples/ping.rs");
    let body: Vec<&str> = example.lines().filter(|l| !l.starts_with("//!")).collect();
    let body = body.join("\n");
    assert!(
        readme.contains(body.trim()),
        "README.md's example differs from examples/ping.rs"
    );
    // A bot in twenty lines: the command sits on the builder, no plugin type needed.
    assert!(body.lines().filter(|l| !l.trim().is_empty()).count() <= 22);
}
