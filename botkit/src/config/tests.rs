use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::*;

/// The example from ARCHITECTURE.md "Config at a glance", plus the optional sections.
const FULL: &str = r#"
[bot]
name = "rosey"
owners = ["cytube:alice", "twitch:alice"]     # platform-qualified identities
prefixes = { "twitch:somechannel" = "?" }

[store]
url = "sqlite://botkit.db"                      # or postgres://…

[bus]
default_capacity = 512

[[bus.buffer]]
pattern = "platform.*.chat.message"
capacity = 4096

[http]                                          # optional: /health, /metrics
listen = "127.0.0.1:9090"

[llm]
backend = "ollama"                              # or "openai"
url = "http://127.0.0.1:11434"
model = "llama3.1"
temperature = 0.7
api_key = "sk-literal-in-file"

[[platform]]
kind = "cytube"
id = "main"
server = "https://cytu.be"
channel = "mychannel"
user = "rosey"
password = "${CYTUBE_PASSWORD}"

[[platform]]
kind = "twitch"
id = "bot"
login = "mybot"
channels = ["somechannel"]
token = "${TWITCH_TOKEN}"

[plugins.markov]
order = 2
speak_every = 40

[plugins.greeter]
enabled = false
"#;

fn env(name: &str) -> Option<String> {
    match name {
        "CYTUBE_PASSWORD" => Some("cytube-hunter2".to_owned()),
        "TWITCH_TOKEN" => Some("oauth:twitch-hunter2".to_owned()),
        "WEBHOOK" => Some("https://hooks.example/abc-hunter2".to_owned()),
        "PORT" => Some("not-a-port".to_owned()),
        _ => None,
    }
}

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_str_with_env(text, "bot.toml", &env)
}

fn load_err(text: &str) -> ConfigError {
    match load(text) {
        Ok(cfg) => panic!("expected an error, got {cfg:?}"),
        Err(err) => err,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Twitch {
    login: String,
    channels: Vec<String>,
    token: Secret,
}

#[derive(Debug, Deserialize)]
struct Markov {
    order: usize,
    speak_every: u32,
}

#[test]
fn full_example_parses() {
    let cfg = load(FULL).unwrap();
    assert_eq!(cfg.bot.name, "rosey");
    assert_eq!(cfg.bot.owners, ["cytube:alice", "twitch:alice"]);
    assert_eq!(cfg.bot.prefix, "!");
    assert_eq!(cfg.bot.prefix_for("twitch", "somechannel"), "?");
    assert_eq!(cfg.bot.prefix_for("cytube", "somechannel"), "!");
    let alice = crate::event::User::new("twitch", "alice", crate::event::Roles::everyone());
    let bob = crate::event::User::new("twitch", "bob", crate::event::Roles::everyone());
    assert!(crate::command::is_owner(&alice, &cfg.bot.owners));
    assert!(!crate::command::is_owner(&bob, &cfg.bot.owners));
    assert_eq!(
        cfg.bot.shutdown_timeout(),
        std::time::Duration::from_secs(5)
    );

    assert_eq!(cfg.store.url, "sqlite://botkit.db");

    assert_eq!(cfg.bus.default_capacity, 512);
    assert_eq!(cfg.bus.capacity_for("platform.*.chat.message"), 4096);
    assert_eq!(cfg.bus.capacity_for("platform.twitch.chat.message"), 4096);
    assert_eq!(cfg.bus.capacity_for("platform.twitch.user.joined"), 512);

    assert_eq!(
        cfg.http.as_ref().map(|h| h.listen.as_str()),
        Some("127.0.0.1:9090")
    );
    let llm = cfg.llm.as_ref().unwrap();
    assert_eq!(
        (llm.backend.as_str(), llm.model.as_str()),
        ("ollama", "llama3.1")
    );
    assert_eq!(llm.options.get("temperature"), Some(&Value::Float(0.7)));

    let ids: Vec<_> = cfg
        .platforms()
        .iter()
        .map(|p| (p.kind.as_str(), p.id.as_str()))
        .collect();
    assert_eq!(ids, [("cytube", "main"), ("twitch", "bot")]);
    let twitch: Twitch = cfg.platform("bot").unwrap().deserialize_into().unwrap();
    assert_eq!(twitch.login, "mybot");
    assert_eq!(twitch.channels, ["somechannel"]);
    assert_eq!(twitch.token.expose(), "oauth:twitch-hunter2");

    let markov: Markov = cfg.plugin("markov").unwrap().deserialize_into().unwrap();
    assert_eq!((markov.order, markov.speak_every), (2, 40));
    assert!(cfg.plugin("markov").unwrap().enabled);
    assert!(!cfg.plugin("greeter").unwrap().enabled);
    assert!(cfg.plugin("nope").is_none());
}

#[test]
fn empty_file_is_the_default_config() {
    let cfg = load("").unwrap();
    let default = Config::default();
    assert_eq!(cfg.bot, default.bot);
    assert_eq!(cfg.store, default.store);
    assert_eq!(cfg.bus, default.bus);
    assert!(cfg.http.is_none() && cfg.llm.is_none());
    assert!(cfg.platforms().is_empty());
    assert_eq!(default.bot.name, "botkit");
    assert_eq!(default.bot.prefix, "!");
    assert_eq!(default.bot.shutdown_timeout_ms, 5000);
    assert_eq!(default.store.url, "sqlite://botkit.db");
    assert_eq!(default.bus.default_capacity, 1024);
}

#[test]
fn platform_id_defaults_to_kind() {
    let cfg = load("[[platform]]\nkind = \"shell\"\n").unwrap();
    assert_eq!(cfg.platforms()[0].id, "shell");
}

#[test]
fn interpolation_with_default_and_escape() {
    let text = r#"
[bot]
name = "${BOT_NAME:-rosey}"
prefix = "$${"

[plugins.hook]
url = "${WEBHOOK}"
note = "literal $${NOT_A_VAR} and $5"
"#;
    let cfg = load(text).unwrap();
    assert_eq!(cfg.bot.name, "rosey");
    assert_eq!(cfg.bot.prefix, "${");
    let hook = &cfg.plugin("hook").unwrap().fields;
    assert_eq!(
        hook.get("url").and_then(Value::as_str),
        Some("https://hooks.example/abc-hunter2")
    );
    assert_eq!(
        hook.get("note").and_then(Value::as_str),
        Some("literal ${NOT_A_VAR} and $5")
    );
}

#[test]
fn secrets_are_redacted_in_debug_and_dump() {
    let cfg = load(FULL).unwrap();
    let dump = cfg.redacted_toml();
    let debug = format!("{cfg:?}");
    let pretty = format!("{cfg:#?}");
    let parts = format!(
        "{:?} {:?} {:?}",
        cfg.platforms(),
        cfg.llm,
        cfg.plugin("markov")
    );
    for shown in [&dump, &debug, &pretty, &parts] {
        for secret in ["cytube-hunter2", "twitch-hunter2", "sk-literal-in-file"] {
            assert!(!shown.contains(secret), "`{secret}` leaked in:\n{shown}");
        }
    }
    assert!(dump.contains(Secret::REDACTED));
    // Non-secret values are still shown, and the dump is itself valid TOML.
    assert!(dump.contains("mychannel") && dump.contains("llama3.1"));
    assert!(debug.contains("rosey"));
    let reparsed: Table = toml::from_str(&dump).unwrap();
    let token = &reparsed["platform"][1]["token"];
    assert_eq!(token.as_str(), Some(Secret::REDACTED));
}

#[test]
fn env_values_are_redacted_whatever_the_key() {
    let text = "[plugins.hook]\nurl = \"${WEBHOOK}\"\n\n[store]\nurl = \"postgres://bot:pw-in-file@db/botkit\"\n";
    let cfg = load(text).unwrap();
    let dump = cfg.redacted_toml();
    assert!(!dump.contains("hunter2"), "{dump}");
    assert!(!dump.contains("pw-in-file"), "{dump}");
    assert!(dump.contains("postgres://bot:***@db/botkit"), "{dump}");
    assert!(!format!("{cfg:?}").contains("hunter2"));
}

#[test]
fn redacted_dump_snapshot() {
    insta::assert_snapshot!(load(FULL).unwrap().redacted_toml());
}

#[test]
fn built_in_code_sections_work_too() {
    let cfg = Config::default()
        .with_platform(PlatformSection::new("twitch", "bot").with_field("token", "abc-secret"))
        .with_plugin("markov", PluginSection::new().with_field("order", "two"));
    assert!(!format!("{cfg:?}").contains("abc-secret"));
    let err = cfg
        .plugin("markov")
        .unwrap()
        .deserialize_into::<Markov>()
        .unwrap_err();
    assert_eq!(err.key(), Some("plugins.markov.order"));
}

#[test]
fn line_information_survives_interpolation() {
    #[derive(Debug, Deserialize)]
    struct Web {
        #[allow(dead_code)]
        port: u16,
    }
    let text = "[[platform]]\nkind = \"web\"\nport = \"${PORT}\"\n";
    let cfg = load(text).unwrap();
    let err = cfg.platforms()[0].deserialize_into::<Web>().unwrap_err();
    assert_eq!(err.key(), Some("platform[0].port"));
    assert_eq!(err.location().map(|l| (l.line, l.column)), Some((3, 8)));
    // The value came from the environment, so it is not repeated in the message.
    assert!(!err.to_string().contains("not-a-port"), "{err}");
}

#[test]
fn platform_unknown_key_is_located() {
    let text = "[[platform]]\nkind = \"twitch\"\nlogin = \"x\"\nchannels = []\ntoken = \"t\"\nchanels = []\n";
    let err = load(text).unwrap().platforms()[0]
        .deserialize_into::<Twitch>()
        .unwrap_err();
    assert!(matches!(err, ConfigError::UnknownKey { .. }), "{err:?}");
    assert_eq!(err.key(), Some("platform[0].chanels"));
    assert_eq!(err.location().map(|l| l.line), Some(6));
}

#[test]
fn errors_are_not_transient_except_some_io() {
    assert!(!load_err("[bot]\nname = 5\n").is_transient());
    let io = ConfigError::Io {
        path: "x".into(),
        kind: std::io::ErrorKind::Interrupted,
        message: "interrupted".to_owned(),
    };
    assert!(io.is_transient());
}

// ---- error message snapshots: each names the file, the key path and the line ----

#[test]
fn error_syntax() {
    let err = load_err("[bot]\nname = \"rosey\"\nowners = [\"twitch:alice\" \"cytube:bob\"]\n");
    assert!(matches!(err, ConfigError::Syntax { .. }));
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn error_wrong_type_in_bot_name() {
    let err = load_err("[bot]\nname = 5\n");
    assert_eq!(err.key(), Some("bot.name"));
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn error_unknown_key_in_bot() {
    let err = load_err("[bot]\nname = \"rosey\"\nnmae = \"typo\"\n");
    assert!(matches!(err, ConfigError::UnknownKey { .. }));
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn error_unknown_top_level_section() {
    let err = load_err("[bot]\nname = \"rosey\"\n\n[plugin.markov]\norder = 2\n");
    assert_eq!(err.key(), Some("plugin"));
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn error_missing_env_var_in_platform_token() {
    let err = load_err(
        "[[platform]]\nkind = \"twitch\"\nlogin = \"mybot\"\ntoken = \"oauth:${MISSING_TOKEN}\"\n",
    );
    assert!(matches!(err, ConfigError::MissingEnv { .. }));
    assert_eq!(err.key(), Some("platform[0].token"));
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn error_unterminated_interpolation() {
    let err = load_err("[store]\nurl = \"${DB_URL\"\n");
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn error_duplicate_platform_id() {
    let err = load_err(
        "[[platform]]\nkind = \"twitch\"\nid = \"bot\"\n\n[[platform]]\nkind = \"cytube\"\nid = \"bot\"\n",
    );
    assert!(matches!(err, ConfigError::DuplicatePlatformId { .. }));
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn error_missing_platform_kind() {
    let err = load_err("[[platform]]\nid = \"bot\"\n");
    assert_eq!(err.key(), Some("platform[0].kind"));
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn error_missing_llm_model() {
    let err = load_err("[llm]\nbackend = \"ollama\"\nurl = \"http://127.0.0.1:11434\"\n");
    assert_eq!(err.key(), Some("llm.model"));
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn error_invalid_bus_pattern() {
    let err = load_err("[bus]\n\n[[bus.buffer]]\npattern = \"platform.>.chat\"\ncapacity = 10\n");
    assert!(matches!(err, ConfigError::InvalidPattern { .. }));
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn error_invalid_owner() {
    let err = load_err("[bot]\nowners = [\"twitch:alice\", \"bob\"]\n");
    assert_eq!(err.key(), Some("bot.owners[1]"));
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn error_plugin_typed_config_wrong_type() {
    let cfg = load("[plugins.markov]\norder = \"two\"\nspeak_every = 40\n").unwrap();
    let err = cfg
        .plugin("markov")
        .unwrap()
        .deserialize_into::<Markov>()
        .unwrap_err();
    assert_eq!(err.key(), Some("plugins.markov.order"));
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn error_unreadable_file() {
    let err = Config::load(Path::new("/nonexistent/botkit-test/bot.toml")).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }));
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn default_dump_snapshot() {
    insta::assert_snapshot!(Config::default().redacted_toml());
}

#[test]
fn debug_shows_resolved_values_but_no_secrets() {
    let cfg = load("[[platform]]\nkind = \"twitch\"\ntoken = \"${TWITCH_TOKEN}\"\n").unwrap();
    insta::assert_snapshot!(format!("{cfg:?}"));
}

#[test]
fn every_error_names_key_and_line() {
    let cases: &[(&str, &str, usize)] = &[
        (
            "[http]\nlisten = \"127.0.0.1:9090\"\nport = 1\n",
            "http.port",
            3,
        ),
        ("[http]\nlisten = \"localhost\"\n", "http.listen", 2),
        (
            "[bus]\n[[bus.buffer]]\npattern = \"a.>\"\n",
            "bus.buffer[0].capacity",
            2,
        ),
        (
            "[bus]\n[[bus.buffer]]\npatern = \"a.>\"\ncapacity = 8\n",
            "bus.buffer[0].patern",
            3,
        ),
        (
            "[bus]\n[[bus.buffer]]\npattern = \"a..b\"\ncapacity = 8\n",
            "bus.buffer[0].pattern",
            3,
        ),
        ("[bus]\ndefault_capacity = 0\n", "bus.default_capacity", 2),
        ("[bus]\ndefault_capacity = -1\n", "bus.default_capacity", 2),
        ("[bus]\nbufers = []\n", "bus.bufers", 2),
        (
            "[bus]\n[[bus.buffer]]\npattern = \"a\"\ncapacity = 0\n",
            "bus.buffer[0].capacity",
            4,
        ),
        (
            "[plugins.markov]\nenabled = \"yes\"\n",
            "plugins.markov.enabled",
            2,
        ),
        ("[plugins]\nmarkov = 3\n", "plugins.markov", 2),
        ("[platform]\nkind = \"twitch\"\n", "platform", 1),
        (
            "[[platform]]\nkind = \"twitch\"\nid = \"a b\"\n",
            "platform[0].id",
            3,
        ),
        (
            "[[platform]]\nkind = \"twitch\"\n[[platform]]\nkind = \"twitch\"\n",
            "platform[1].id",
            4,
        ),
        (
            "[llm]\nbackend = \"ollama\"\nurl = 11434\nmodel = \"m\"\n",
            "llm.url",
            3,
        ),
        ("\n\n[bot]\nprefix = \"\"\n", "bot.prefix", 4),
        (
            "[bot]\nprefixes = { chan = \" \" }\n",
            "bot.prefixes.chan",
            2,
        ),
        ("[bot]\nname = \"${1BAD}\"\n", "bot.name", 2),
        ("[bot]\nname = \"x\"\nname = \"y\"\n", "bot.name", 3),
    ];
    for (text, key, line) in cases {
        let err = load_err(text);
        let msg = err.to_string();
        assert_eq!(err.key(), Some(*key), "{text:?} gave {msg}");
        assert_eq!(
            err.location().map(|l| l.line),
            Some(*line),
            "{text:?} gave {msg}"
        );
        assert!(msg.starts_with(&format!("bot.toml:{line}:")), "{msg}");
        assert!(msg.contains(key), "{msg}");
    }
}

// ---- [store] tuning keys ----

#[test]
fn store_tuning_keys_parse_and_print() {
    let cfg = load(
        "[store]\nurl = \"sqlite://bot.db\"\nsynchronous = \"normal\"\nbusy_timeout = \"2s\"\n\
         readers = 2\ncache_mib = 16\ncheckpoint_pages = 4000\nbatch_size = 512\n\
         linger = \"5ms\"\nqueue_capacity = 64\n",
    )
    .unwrap();
    assert_eq!(cfg.store.synchronous, Some(Synchronous::Normal));
    assert_eq!(cfg.store.busy_timeout, Some(Duration::from_secs(2)));
    assert_eq!(cfg.store.linger, Some(Duration::from_millis(5)));
    assert_eq!(cfg.store.batch_size, Some(512));
    assert_eq!(cfg.store.backend(), Some(StoreBackend::Sqlite));
    let dump = cfg.redacted_toml();
    assert!(dump.contains("synchronous = \"normal\""), "{dump}");
    assert!(dump.contains("busy_timeout = \"2s\""), "{dump}");
    assert!(dump.contains("linger = \"5ms\""), "{dump}");
    let again = Config::from_str_named(&dump, "dump.toml").expect("the dump loads again");
    assert_eq!(again.store, cfg.store);
}

#[test]
fn error_store_synchronous_unknown() {
    let err = load_err("[store]\nurl = \"sqlite://bot.db\"\nsynchronous = \"fast\"\n").to_string();
    insta::assert_snapshot!(err);
}

#[test]
fn error_store_batch_size_zero() {
    let err = load_err("[store]\nbatch_size = 0\n").to_string();
    insta::assert_snapshot!(err);
}

#[test]
fn error_store_sqlite_key_with_postgres_url() {
    let err =
        load_err("[store]\nurl = \"postgres://bot@127.0.0.1/bot\"\nsynchronous = \"normal\"\n")
            .to_string();
    insta::assert_snapshot!(err);
}

#[test]
fn error_store_postgres_key_with_sqlite_url() {
    let err = load_err("[store]\npool_size = 4\n").to_string();
    insta::assert_snapshot!(err);
}

#[test]
fn error_store_bad_duration() {
    let err = load_err("[store]\nlinger = \"soon\"\n").to_string();
    insta::assert_snapshot!(err);
}
