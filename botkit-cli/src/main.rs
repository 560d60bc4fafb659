//! The `botkit` command line: run a bot from its config, check a config.
//!
//! It stays thin: it parses arguments and config, then calls library code that any
//! program embedding botkit can call too.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use botkit::builtin::Echo;
use botkit::config::Config;
use botkit::runtime::{Bot, BotBuilder};
use botkit::shell::ShellPlatform;
use clap::{Parser, Subcommand};

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
            build(&config)?.build()?.run().await?;
            Ok(())
        }
    }
}

/// Plugins this binary can run by name from `[plugins.<name>]`.
const BUNDLED_PLUGINS: &[&str] = &["echo"];

/// Builds a bot from the config alone: its platforms, store and bundled plugins.
fn build(config: &Config) -> anyhow::Result<BotBuilder> {
    let mut builder = Bot::builder().config(config.clone());
    if !config.store.url.starts_with("memory") {
        anyhow::bail!(
            "store url `{}` is not supported by this build yet; use `memory:`",
            config.store.url
        );
    }
    let platforms = config.platforms();
    if platforms.is_empty() {
        builder = builder.platform(ShellPlatform::stdio(&config.bot.name));
    }
    for platform in platforms {
        builder = match platform.kind.as_str() {
            "shell" => {
                builder.platform(ShellPlatform::stdio(&config.bot.name).with_id(&platform.id))
            }
            other => anyhow::bail!(
                "platform kind `{other}` (platform id `{}`) is not available in this build of botkit; available: shell",
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
            other => anyhow::bail!(
                "[plugins.{other}]: no bundled plugin is named `{other}`; bundled: {}",
                BUNDLED_PLUGINS.join(", ")
            ),
        };
    }
    Ok(builder)
}
