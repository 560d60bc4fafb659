//! The `botkit` command line: run a bot from its config, check a config, look after its
//! database.
//!
//! It stays thin: it parses arguments and config, then calls library code that any
//! program embedding botkit can call too.

mod export;
mod new;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use botkit::builtin::Echo;
use botkit::config::{Config, StoreSection};
use botkit::runtime::{Bot, BotBuilder};
use botkit::shell::ShellPlatform;
use botkit::store::{Bucket, ChannelRef, ChatCursor, Store};
use botkit_plugins::markov::{self, MarkovConfig};
use botkit_plugins::{Logger, Markov};
use clap::{Parser, Subcommand};

mod twitch;

/// Run and manage botkit chat bots.
#[derive(Debug, Parser)]
#[command(name = "botkit", version, about)]
struct Cli {
    /// Log level (error, warn, info, debug, trace) or a full filter like `botkit=debug`.
    /// RUST_LOG takes precedence when set.
    #[arg(short, long, global = true, default_value = "warn", env = "BOTKIT_LOG")]
    log_level: String,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a bot. With no CONFIG, a local shell chat bot with echo and help.
    Run {
        /// The bot's TOML config file.
        config: Option<PathBuf>,
    },
    /// Validate a config and print it resolved, with secrets redacted.
    Check {
        /// The bot's TOML config file.
        config: PathBuf,
    },
    /// Write a commented starter config (default `bot.toml`).
    Init {
        /// Where to write it.
        #[arg(default_value = "bot.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Scaffold a new crate: `botkit new plugin NAME`.
    New {
        #[command(subcommand)]
        what: NewAction,
    },
    /// Look after the bot's database: migrate, count, prune, export.
    Db {
        /// Store URL (`sqlite://botkit.db`, `postgres://…`); default: the config's
        /// `[store] url`, else `sqlite://botkit.db`.
        #[arg(long, global = true, env = "BOTKIT_STORE_URL")]
        url: Option<String>,
        /// The bot's TOML config file, to take the store URL from.
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: DbAction,
    },
    /// The bot's Twitch account: `login` (OAuth device flow, token into the store), `status`.
    Twitch {
        /// Store URL for the token (`sqlite://botkit.db`, `postgres://…`); default: the
        /// config's `[store] url`, else `sqlite://botkit.db`.
        #[arg(long, global = true, env = "BOTKIT_STORE_URL")]
        url: Option<String>,
        /// The bot's TOML config file: the store URL and the twitch `client_id` and `login`.
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: twitch::TwitchAction,
    },
    /// The markov plugin's chains.
    Markov {
        /// The bot's TOML config file: the store URL, the bot's name and `[plugins.markov]`.
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: MarkovAction,
    },
}

#[derive(Debug, Subcommand)]
enum NewAction {
    /// A plugin crate with a `!hello` command, a passing test and a README.
    Plugin {
        /// The crate's name, e.g. `my-plugin`.
        name: String,
        /// The directory to create it in (default `./NAME`); it must be empty or missing.
        #[arg(long)]
        path: Option<PathBuf>,
        /// Depend on a local botkit checkout (its `botkit` crate directory) instead of the
        /// published version.
        #[arg(long)]
        botkit_path: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum MarkovAction {
    /// Learn the stored chat log of every channel (resumes where the last run stopped).
    Train,
}

#[derive(Debug, Subcommand)]
enum DbAction {
    /// Create or upgrade the schema.
    Migrate,
    /// Print row counts per area.
    Stats,
    /// Delete chat, events and hourly counters older than a duration (day counters stay).
    Prune {
        /// Age like `30d`, `12h`, `90m`, `2w`.
        #[arg(long)]
        older_than: String,
    },
    /// Write one channel's chat log, or the logged events on some topics, to stdout, oldest
    /// first.
    Export {
        /// The channel as `platform:channel`, e.g. `twitch:#somechannel`.
        #[arg(long, required_unless_present = "topic", conflicts_with = "topic")]
        channel: Option<String>,
        /// Export the event log instead: events whose topic matches this pattern, e.g.
        /// `platform.>` or `platform.*.mod.>`.
        #[arg(long)]
        topic: Option<String>,
        /// Output format; `jsonl` (one JSON object per line) is the one there is.
        #[arg(long, default_value = "jsonl")]
        format: String,
    },
}

fn init_logging(level: &str) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => {
            EnvFilter::try_new(v).context("RUST_LOG is not a valid filter")?
        }
        _ => EnvFilter::try_new(level)
            .with_context(|| format!("`{level}` is not a valid log level or filter"))?,
    };
    // Logs go to stderr: stdout belongs to the shell chat.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot start logging: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logging(&cli.log_level) {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Run { config: None }) {
        Command::Init { path, force } => {
            if path.exists() && !force {
                anyhow::bail!(
                    "{} already exists; pass --force to overwrite it",
                    path.display()
                );
            }
            std::fs::write(&path, STARTER_CONFIG)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "wrote {}; run it with `botkit run {}`",
                path.display(),
                path.display()
            );
            Ok(())
        }
        Command::New {
            what:
                NewAction::Plugin {
                    name,
                    path,
                    botkit_path,
                },
        } => {
            let dir = new::plugin(&name, path.as_deref(), botkit_path.as_deref())?;
            eprintln!(
                "created plugin `{name}` in {}; try it with `cd {} && cargo test`",
                dir.display(),
                dir.display()
            );
            Ok(())
        }
        Command::Check { config } => {
            let config = Config::load(&config)?;
            print!("{}", config.redacted_toml());
            eprintln!("config ok");
            Ok(())
        }
        Command::Run { config } => {
            let config = match config {
                Some(path) => Config::load(&path)?,
                None => Config::default(),
            };
            let store = open_store(&config.store).await?;
            let mut builder = build(&config, &store)?.shared_store(store);
            if let Some(llm) = &config.llm {
                builder = builder.shared_llm(start_llm(llm).await?);
            }
            builder.build()?.run().await?;
            Ok(())
        }
        Command::Db {
            url,
            config,
            action,
        } => {
            // The config's `[store]` tuning keys apply also when `--url` names the file.
            let mut store = match config {
                Some(path) => Config::load(&path)?.store,
                None => Config::default().store,
            };
            if let Some(url) = url {
                store.url = url;
            }
            db(&store, action).await
        }
        Command::Twitch {
            url,
            config,
            action,
        } => twitch::run(url, config, action).await,
        Command::Markov { config, action } => {
            let config = match config {
                Some(path) => Config::load(&path)?,
                None => Config::default(),
            };
            match action {
                MarkovAction::Train => markov_train(&config).await,
            }
        }
    }
}

/// `botkit markov train`: learns the chat log, with a progress bar (or counter lines) on
/// stderr.
async fn markov_train(config: &Config) -> anyhow::Result<()> {
    let markov: MarkovConfig = match config.plugin("markov") {
        Some(section) => section.deserialize_into()?,
        None => MarkovConfig::default(),
    };
    let store = open_store(&config.store).await?;
    let started = std::time::Instant::now();
    // The log's size sizes the bar; without it the bar is a spinner.
    let total = store.stats().await.ok().map(|s| s.chat_records);
    let mut reporter = progress::TrainReporter::stderr(total);
    let done = markov::train(store, &markov, &config.bot.name, |p| reporter.report(p)).await;
    reporter.finish();
    let done = done?;
    let secs = started.elapsed().as_secs_f64();
    let live = match done.learned_live {
        0 => String::new(),
        n => format!(" ({n} of them the bot had learned live)"),
    };
    println!(
        "learned {} of {} messages in {secs:.1}s{live}",
        done.learned, done.read
    );
    Ok(())
}

/// Opens (and migrates) the store `[store]` describes, saying which one failed.
async fn open_store(section: &StoreSection) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    botkit_sql::open_config(section).await.with_context(|| {
        format!(
            "cannot open the store `{}`",
            botkit_sql::redact_url(&section.url)
        )
    })
}

async fn db(section: &StoreSection, action: DbAction) -> anyhow::Result<()> {
    let store = open_store(section).await?;
    let shown = botkit_sql::redact_url(&section.url);
    match action {
        DbAction::Migrate => {
            store.migrate().await?;
            println!("{shown}: schema is up to date");
        }
        DbAction::Stats => {
            let s = store.stats().await?;
            println!("store       {shown}");
            println!("kv_entries  {}", s.kv_entries);
            println!("chat        {}", s.chat_records);
            println!("events      {}", s.events);
            println!("counters    {}", s.counter_buckets);
            println!("jobs        {}", s.jobs);
            println!("dead_jobs   {}", s.dead_jobs);
        }
        DbAction::Prune { older_than } => {
            let age = parse_age(&older_than)?;
            let cutoff = botkit::event::now_millis().saturating_sub(age);
            let chat = store.prune_chat(cutoff).await?;
            let events = store.prune_events(cutoff).await?;
            let counters = store.prune_counters(Bucket::Hour, cutoff).await?;
            store.flush().await?;
            println!(
                "pruned older than {older_than}: {chat} chat messages, {events} events, {counters} hourly counter buckets"
            );
        }
        DbAction::Export {
            channel,
            topic,
            format,
        } => {
            if format != "jsonl" {
                anyhow::bail!("unknown export format `{format}`; the format there is: jsonl");
            }
            if let Some(topic) = topic {
                let pattern = botkit::topic::Pattern::new(&topic).with_context(|| {
                    format!("--topic `{topic}` is not a topic pattern (e.g. `platform.>`, `platform.*.chat.message`)")
                })?;
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                export::events(store.as_ref(), &pattern, &mut out).await?;
                return Ok(());
            }
            let channel = channel.unwrap_or_default();
            let Some((platform, name)) = channel.split_once(':') else {
                anyhow::bail!(
                    "channel `{channel}` must be `platform:channel`, e.g. `twitch:#somechannel`"
                );
            };
            let channel = ChannelRef::new(platform, name);
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let mut cursor = ChatCursor::START;
            loop {
                let page = store.chat_range(&channel, cursor, 1000).await?;
                for record in &page.records {
                    serde_json::to_writer(&mut out, record)?;
                    std::io::Write::write_all(&mut out, b"\n")?;
                }
                match page.next {
                    Some(next) => cursor = next,
                    None => break,
                }
            }
            std::io::Write::flush(&mut out)?;
        }
    }
    Ok(())
}

/// Milliseconds in an age like `30d`, `12h`, `90m`, `45s` or `2w`.
fn parse_age(s: &str) -> anyhow::Result<i64> {
    let bad = || {
        anyhow::anyhow!(
            "`{s}` is not an age; write a number and a unit, like 30d, 12h, 90m, 45s or 2w"
        )
    };
    let s = s.trim();
    // A bare number would be ambiguous here (seconds? days?): demand a unit.
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let age = <std::time::Duration as botkit::command::FromArg>::from_arg(s).map_err(|_| bad())?;
    i64::try_from(age.as_millis()).map_err(|_| bad())
}

/// What `botkit init` writes: a config that runs as it is (the shell bot) and shows the
/// other sections commented out.
const STARTER_CONFIG: &str = include_str!("starter.toml");

/// Plugins this binary can run by name from `[plugins.<name>]`.
const BUNDLED_PLUGINS: &[&str] = &["echo", "logger", "markov"];

/// The `[llm]` backend, checked at start: a model the server does not have is a config
/// mistake and stops the bot with the list of models it has; a server that is down only
/// warns, since it may come up later (the backend retries and its breaker probes).
async fn start_llm(
    section: &botkit::config::LlmSection,
) -> anyhow::Result<std::sync::Arc<dyn botkit::llm::LlmBackend>> {
    let backend = botkit_ollama::from_config(section)?;
    if !section.model.trim().is_empty() {
        match backend.validate_model(&section.model).await {
            Ok(()) => {}
            Err(e) if e.is_transient() => {
                tracing::warn!(error = %e, "the LLM server is not answering yet; starting anyway");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(backend)
}

/// Builds a bot from the config: its platforms (a twitch one may read its OAuth token
/// from `store`), store and bundled plugins.
fn build(config: &Config, store: &std::sync::Arc<dyn Store>) -> anyhow::Result<BotBuilder> {
    let mut builder = Bot::builder().config(config.clone());
    let platforms = config.platforms();
    if platforms.is_empty() {
        builder = builder.platform(ShellPlatform::stdio(&config.bot.name));
    }
    for platform in platforms {
        builder = match platform.kind.as_str() {
            "shell" => {
                builder.platform(ShellPlatform::stdio(&config.bot.name).with_id(&platform.id))
            }
            "cytube" => builder.platform(
                botkit_cytube::CytubePlatform::from_section(platform)
                    .with_context(|| format!("platform `{}`", platform.id))?,
            ),
            "twitch" => builder.platform(
                botkit_twitch::TwitchPlatform::from_section_with_store(
                    platform,
                    std::sync::Arc::clone(store),
                )
                .with_context(|| format!("platform `{}`", platform.id))?,
            ),
            other => anyhow::bail!(
                "platform kind `{other}` (platform id `{}`) is not available in this build of botkit; available: shell, cytube, twitch",
                platform.id
            ),
        };
    }
    let named: Vec<String> = config.plugins().map(|(name, _)| name.to_owned()).collect();
    // With no [plugins] section at all, the shell bot gets echo (and the built-in help).
    let wanted: Vec<String> = if named.is_empty() {
        vec!["echo".to_owned()]
    } else {
        named
    };
    for name in wanted {
        builder = match name.as_str() {
            "echo" => builder.plugin(Echo),
            "logger" => builder.plugin(Logger::new()),
            "markov" => builder.plugin(Markov::new()),
            other => anyhow::bail!(
                "[plugins.{other}]: no bundled plugin is named `{other}`; bundled: {}",
                BUNDLED_PLUGINS.join(", ")
            ),
        };
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::parse_age;

    #[test]
    fn ages() {
        assert_eq!(parse_age("30d").unwrap(), 30 * 86_400_000);
        assert_eq!(parse_age("12h").unwrap(), 12 * 3_600_000);
        assert_eq!(parse_age("2w").unwrap(), 14 * 86_400_000);
        for bad in ["", "30", "d", "30x", "-1d", "99999999999999999999d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }
}
