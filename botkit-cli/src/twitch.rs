//! `botkit twitch …`: the bot's Twitch account.
//!
//! `login` runs the OAuth device code flow (print the URL and code, poll until the user
//! has entered it) and stores the token in the bot's store, where a platform with
//! `client_id` and no `token` finds it; `status` reads it back and asks Twitch about it.
//! The store is chosen like `botkit db` does (`--url`, else the config's `[store] url`),
//! and the app's client id may come from the config's twitch section, so a configured
//! bot logs in with a bare `botkit twitch login --config bot.toml`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use botkit::config::{Config, Secret};
use botkit_twitch::TwitchConfig;
use botkit_twitch::oauth::{
    DEFAULT_OAUTH_URL, DEFAULT_SCOPES, OAuthClient, OAuthCredentials, SECRET_KEY_ENV, TokenStore,
};
use clap::Subcommand;

/// What `botkit twitch` does.
#[derive(Debug, Subcommand)]
pub enum TwitchAction {
    /// Log the bot's account in (OAuth device flow) and store the token in the bot's store.
    Login {
        /// The Twitch app's client id (default: the config's twitch `client_id`).
        #[arg(long, env = "TWITCH_CLIENT_ID")]
        client_id: Option<String>,
        /// The app's client secret, for a confidential app (default: the config's).
        #[arg(long, env = "TWITCH_CLIENT_SECRET", hide_env_values = true)]
        client_secret: Option<String>,
        /// Scopes to ask for, separated by spaces or commas (default: chat, color,
        /// whispers and moderation).
        #[arg(long)]
        scopes: Option<String>,
        /// The OAuth server's base URL.
        #[arg(long, env = "BOTKIT_TWITCH_OAUTH_URL")]
        oauth_url: Option<String>,
    },
    /// Show the stored token of an account and check it with Twitch (refreshing it if due).
    Status {
        /// The account's login (default: the config's twitch `login`).
        #[arg(long)]
        login: Option<String>,
        /// The app's client id (default: the config's twitch `client_id`).
        #[arg(long, env = "TWITCH_CLIENT_ID")]
        client_id: Option<String>,
        /// The OAuth server's base URL.
        #[arg(long, env = "BOTKIT_TWITCH_OAUTH_URL")]
        oauth_url: Option<String>,
    },
}

/// The first twitch section of the config, read as a [`TwitchConfig`].
fn twitch_section(config: &Config) -> anyhow::Result<Option<TwitchConfig>> {
    config
        .platforms()
        .iter()
        .find(|p| p.kind == "twitch")
        .map(|p| TwitchConfig::from_section(p).with_context(|| format!("platform `{}`", p.id)))
        .transpose()
}

/// Runs `botkit twitch <action>` with the store at `url` or the config's.
pub async fn run(
    url: Option<String>,
    config: Option<PathBuf>,
    action: TwitchAction,
) -> anyhow::Result<()> {
    let config = match &config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let section = twitch_section(&config)?;
    // The config's `[store]` tuning keys apply also when `--url` names the database.
    let mut store_section = config.store.clone();
    if let Some(url) = url {
        store_section.url = url;
    }
    let url = store_section.url.clone();
    let store = crate::open_store(&store_section).await?;
    let shown = botkit_sql::redact_url(&url);
    let tokens = TokenStore::from_env(Arc::clone(&store))?;
    let client_id_of = |given: Option<String>| -> anyhow::Result<String> {
        given
            .filter(|c| !c.trim().is_empty())
            .or_else(|| section.as_ref().and_then(|s| s.client_id().map(str::to_owned)))
            .context("no client id: pass --client-id (your app's, from dev.twitch.tv/console) or --config with a twitch `client_id`")
    };
    let oauth_url_of = |given: Option<String>| {
        given
            .or_else(|| {
                section
                    .as_ref()
                    .map(|s| s.oauth_url.clone())
                    .filter(|u| u != DEFAULT_OAUTH_URL)
            })
            .unwrap_or_else(|| DEFAULT_OAUTH_URL.to_owned())
    };
    match action {
        TwitchAction::Login {
            client_id,
            client_secret,
            scopes,
            oauth_url,
        } => {
            let client_id = client_id_of(client_id)?;
            let secret = client_secret
                .map(Secret::new)
                .or_else(|| section.as_ref().and_then(|s| s.client_secret.clone()));
            let client = OAuthClient::new(&client_id)
                .with_base_url(&oauth_url_of(oauth_url))
                .with_client_secret(secret);
            let scopes: Vec<String> = match scopes {
                Some(s) => s
                    .split([' ', ','])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                None => DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            };
            let device = client.start_device_login(&scopes).await?;
            println!(
                "To log the bot in, open {} and enter the code {}",
                device.verification_uri, device.user_code
            );
            println!(
                "(log in on twitch.tv as the bot's account; the code expires in {} minutes)",
                device.expires_in.div_ceil(60)
            );
            eprintln!("waiting for the code to be entered…");
            let token = client.finish_device_login(&device, &scopes).await?;
            tokens.save(&token).await?;
            if let Some(configured) = section.as_ref().and_then(|s| s.login.as_deref())
                && !configured.trim().eq_ignore_ascii_case(&token.login)
            {
                eprintln!(
                    "warning: the config's twitch `login` is `{configured}`, but this token is {}'s; the bot looks for the token of `{configured}`, so log in as that account or change `login`",
                    token.login
                );
            }
            println!(
                "logged in as {} (user id {}); token stored in {shown} as {}",
                token.login,
                token.user_id,
                TokenStore::location(&token.login)
            );
            if tokens.is_encrypted() {
                println!(
                    "the token is encrypted with {SECRET_KEY_ENV}; the bot needs the same key"
                );
            } else {
                println!(
                    "warning: the token is stored unencrypted; set {SECRET_KEY_ENV} and log in again to encrypt it"
                );
            }
            println!(
                "use it from the bot's config:\n\n[[platform]]\nkind = \"twitch\"\nlogin = \"{}\"\nclient_id = \"{client_id}\"\nchannels = [\"{}\"]",
                token.login, token.login
            );
            Ok(())
        }
        TwitchAction::Status {
            login,
            client_id,
            oauth_url,
        } => {
            let login = login
                .or_else(|| section.as_ref().and_then(|s| s.login.clone()))
                .context("no login: pass --login or --config with a twitch `login`")?;
            let client = OAuthClient::new(&client_id_of(client_id)?)
                .with_base_url(&oauth_url_of(oauth_url))
                .with_client_secret(section.as_ref().and_then(|s| s.client_secret.clone()));
            let credentials = OAuthCredentials::new(client, tokens.clone(), &login);
            let token = credentials.tokens().await?;
            println!("login      {}", token.login);
            println!("user id    {}", token.user_id);
            println!("scopes     {}", token.scopes.join(" "));
            match token.expires_at_ms {
                Some(at) => println!(
                    "expires in {} minutes",
                    (at - botkit::event::now_millis()).max(0) / 60_000
                ),
                None => println!("expires    never"),
            }
            println!(
                "stored     {shown} as {} ({})",
                TokenStore::location(&token.login),
                if tokens.is_encrypted() {
                    "encrypted"
                } else {
                    "unencrypted"
                }
            );
            println!("valid      yes (checked with Twitch)");
            Ok(())
        }
    }
}
