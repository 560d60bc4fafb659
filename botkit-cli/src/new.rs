//! `botkit new plugin NAME`: scaffolds a plugin crate that builds and whose test passes.
//!
//! The files are templates under `src/templates/plugin/`, compiled into the binary with
//! `include_str!` so the command works from an installed `botkit` with no files beside it.
//! Rendering is plain `{{key}}` substitution: the templates stay readable as the Rust, TOML
//! and Markdown they become, and a placeholder left unreplaced is caught by a test. The
//! generated `Cargo.toml` is its own workspace root, so the crate builds wherever it is
//! created, even inside another workspace's tree. It depends on the published `botkit` of
//! this binary's version, or on a local checkout with `--botkit-path`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// One file of the scaffold: where it goes in the crate and its template.
struct Template {
    path: &'static str,
    text: &'static str,
}

/// The plugin crate's files.
const PLUGIN: &[Template] = &[
    Template {
        path: "Cargo.toml",
        text: include_str!("templates/plugin/Cargo.toml.tmpl"),
    },
    Template {
        path: "src/lib.rs",
        text: include_str!("templates/plugin/lib.rs.tmpl"),
    },
    Template {
        path: "tests/plugin.rs",
        text: include_str!("templates/plugin/test.rs.tmpl"),
    },
    Template {
        path: "README.md",
        text: include_str!("templates/plugin/README.md.tmpl"),
    },
    Template {
        path: ".gitignore",
        text: include_str!("templates/plugin/gitignore.tmpl"),
    },
];

/// Words a crate cannot be named (as its `snake_case` library name): Rust keywords, and the
/// names of the standard crates and of cargo's build-directory entries.
const RESERVED: &[&str] = &[
    "abstract",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    "alloc",
    "core",
    "proc_macro",
    "std",
    "test",
    "build",
    "deps",
    "examples",
    "incremental",
];

/// Checks that `name` can be a crate name, saying why not and what would do.
pub fn validate_crate_name(name: &str) -> anyhow::Result<()> {
    let hint = "use ASCII letters, digits, `-` and `_`, starting with a letter, e.g. `my-plugin`";
    let Some(first) = name.chars().next() else {
        anyhow::bail!("the plugin name is empty; {hint}");
    };
    if !first.is_ascii_alphabetic() {
        anyhow::bail!("`{name}` is not a valid crate name: it must start with a letter; {hint}");
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        anyhow::bail!("`{name}` is not a valid crate name: `{bad}` is not allowed; {hint}");
    }
    if name.len() > 64 {
        anyhow::bail!(
            "`{name}` is not a valid crate name: crates.io allows at most 64 characters, it has {}",
            name.len()
        );
    }
    let lib = crate_name(name);
    if RESERVED.contains(&lib.as_str()) {
        anyhow::bail!(
            "`{name}` is not a valid crate name: `{lib}` is a Rust keyword or a reserved name; pick another, e.g. `{name}-plugin`"
        );
    }
    if lib == "botkit" || lib.starts_with("botkit_") {
        anyhow::bail!(
            "`{name}` would clash with botkit's own crates (the plugin depends on `botkit`); pick another, e.g. `my-{name}`"
        );
    }
    Ok(())
}

/// The library name Rust code uses: `my-plugin` → `my_plugin`.
fn crate_name(name: &str) -> String {
    name.replace('-', "_")
}

/// The plugin type's name: `my-plugin` → `MyPlugin`.
fn type_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// A TOML basic string holding `s`.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `botkit = …` dependency line: this binary's published version, or a local checkout.
fn botkit_dependency(botkit_path: Option<&Path>) -> String {
    match botkit_path {
        Some(path) => format!(
            "botkit = {{ path = {} }}",
            toml_string(&path.to_string_lossy())
        ),
        None => {
            // `0.1.3` → "0.1": any compatible release of the botkit this CLI belongs to.
            let version = env!("CARGO_PKG_VERSION");
            let compatible: Vec<&str> = version.split('.').take(2).collect();
            format!("botkit = {}", toml_string(&compatible.join(".")))
        }
    }
}

/// Replaces every `{{key}}` in `template`.
fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (key, value) in vars {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    out
}

/// Resolves `--botkit-path` to an absolute path of a `botkit` crate, or says what is wrong.
fn botkit_checkout(path: &Path) -> anyhow::Result<PathBuf> {
    let manifest = path.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).with_context(|| {
        format!(
            "--botkit-path {}: cannot read {}; point it at the `botkit` crate's directory (the one with botkit's Cargo.toml, e.g. ./botkit in a checkout)",
            path.display(),
            manifest.display()
        )
    })?;
    let is_botkit = text
        .lines()
        .map(|l| l.split_whitespace().collect::<String>())
        .any(|l| l == "name=\"botkit\"");
    if !is_botkit {
        anyhow::bail!(
            "--botkit-path {}: {} is not the `botkit` crate's manifest; point it at the `botkit` directory inside a botkit checkout",
            path.display(),
            manifest.display()
        );
    }
    std::fs::canonicalize(path)
        .with_context(|| format!("--botkit-path {}: cannot resolve the path", path.display()))
}

/// `botkit new plugin`: writes the crate and returns its directory.
pub fn plugin(
    name: &str,
    dir: Option<&Path>,
    botkit_path: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    validate_crate_name(name)?;
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    if dir.exists() {
        let mut entries = std::fs::read_dir(&dir).with_context(|| {
            format!(
                "{} exists and is not a directory that can be read",
                dir.display()
            )
        })?;
        if entries.next().is_some() {
            anyhow::bail!(
                "{} already exists and is not empty; pick another --path or remove it",
                dir.display()
            );
        }
    }
    let botkit = botkit_path.map(botkit_checkout).transpose()?;
    let dependency = botkit_dependency(botkit.as_deref());
    let crate_name = crate_name(name);
    let type_name = type_name(name);
    let vars = [
        ("name", name),
        ("crate_name", crate_name.as_str()),
        ("type_name", type_name.as_str()),
        ("botkit_dependency", dependency.as_str()),
    ];
    for file in PLUGIN {
        let path = dir.join(file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, render(file.text, &vars))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["hello", "my-plugin", "my_plugin2", "a"] {
            validate_crate_name(good).unwrap();
        }
        for (bad, why) in [
            ("", "empty"),
            ("1st", "start with a letter"),
            ("-x", "start with a letter"),
            ("my plugin", "` ` is not allowed"),
            ("plügin", "`ü` is not allowed"),
            ("fn", "keyword"),
            ("self", "keyword"),
            ("std", "reserved"),
            ("proc-macro", "reserved"),
            ("botkit", "clash"),
            ("botkit-twitch", "clash"),
        ] {
            let e = validate_crate_name(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert!(validate_crate_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn type_and_crate_names() {
        assert_eq!(type_name("my-plugin"), "MyPlugin");
        assert_eq!(type_name("hello"), "Hello");
        assert_eq!(type_name("a_b-c2"), "ABC2");
        assert_eq!(crate_name("my-plugin"), "my_plugin");
    }

    #[test]
    fn every_placeholder_is_replaced() {
        let vars = [
            ("name", "x"),
            ("crate_name", "x"),
            ("type_name", "X"),
            ("botkit_dependency", "botkit = \"0.1\""),
        ];
        for file in PLUGIN {
            let out = render(file.text, &vars);
            assert!(!out.contains("{{"), "{}: {out}", file.path);
        }
    }

    #[test]
    fn dependency_lines() {
        assert_eq!(botkit_dependency(None), "botkit = \"0.1\"");
        assert_eq!(
            botkit_dependency(Some(Path::new(r#"C:\a "b"\botkit"#))),
            r#"botkit = { path = "C:\\a \"b\"\\botkit" }"#
        );
    }
}
