//! The `[[platform]] kind = "twitch"` section.
//!
//! ```toml
//! [[platform]]
//! kind = "twitch"
//! id = "bot"
//! login = "mybot"                 # omit login and token for anonymous read-only
//! token = "${TWITCH_TOKEN}"       # a user access token, with or without `oauth:`
//! channels = ["somechannel"]
//! # url = "ircs://irc.chat.twitch.tv:6697"   # default: wss://irc-ws.chat.twitch.tv:443
//!
//! eventsub = true                 # optional: EventSub beside IRC, see `eventsub::config`;
//!                                 # the ids of `channels` and `login` are looked up via Helix
//! ```
//!
//! With an app's `client_id`, the bot uses the OAuth token `botkit twitch login` stored
//! for `login` instead of a static `token` (refreshed and validated for you), and the
//! Helix actions (whisper, delete, ban, timeout, chat color) work:
//!
//! ```toml
//! [[platform]]
//! kind = "twitch"
//! id = "bot"
//! login = "mybot"
//! client_id = "your-app-client-id"
//! # client_secret = "${TWITCH_CLIENT_SECRET}"   # only for a confidential app
//! channels = ["somechannel"]
//! ```
//!
//! Every field has a default that suits Twitch; the timing knobs exist so tests and
//! unusual networks can change them.

use botkit::backoff::BackoffPolicy;
use botkit::config::{PlatformSection, Secret};
use serde::Deserialize;

use crate::credentials::Credentials;
use crate::error::TwitchError;
use crate::eventsub::EventSubConfig;
use crate::transport::DEFAULT_URL;

/// Configuration of one Twitch chat account.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TwitchConfig {
    /// The bot account's login; `None` (with no token) logs in anonymously, read-only.
    pub login: Option<String>,
    /// The user access token (scopes `chat:read`, `chat:edit`).
    pub token: Option<Secret>,
    /// Channels to join (logins, with or without `#`).
    pub channels: Vec<String>,
    /// The Twitch app's client id: enables Helix actions, and with no `token` the
    /// stored OAuth token of `login` (from `botkit twitch login`).
    pub client_id: Option<String>,
    /// The app's client secret, sent when refreshing (confidential apps only).
    pub client_secret: Option<Secret>,
    /// Send chat messages through Helix (`POST /chat/messages`) instead of IRC: each sent
    /// message gets its id, and a message Twitch drops is reported with the reason. Needs
    /// `client_id`; the session still reads chat over IRC.
    pub chat_via_helix: bool,
    /// Helix base URL (tests point it at a local server).
    pub helix_url: String,
    /// OAuth base URL (tests point it at a local server).
    pub oauth_url: String,
    /// Server URL: `wss://` or `ircs://` (Twitch), `ws://` or `irc://` (local tests).
    pub url: String,
    /// Also request `twitch.tv/membership` (JOIN/PART of other users).
    pub membership: bool,
    /// Seconds between the client's own PINGs.
    pub ping_interval_secs: u64,
    /// Seconds to wait for the PONG before the link counts as dead.
    pub pong_timeout_secs: u64,
    /// Seconds to wait for the login to be confirmed.
    pub login_timeout_secs: u64,
    /// Delays between reconnect attempts.
    pub reconnect: BackoffPolicy,
    /// EventSub beside IRC: `eventsub = true` or a `[platform.eventsub]` table (off by default).
    #[serde(deserialize_with = "crate::eventsub::config::deserialize_toggle")]
    pub eventsub: EventSubConfig,
}

impl Default for TwitchConfig {
    fn default() -> Self {
        Self {
            login: None,
            token: None,
            channels: Vec::new(),
            client_id: None,
            client_secret: None,
            chat_via_helix: false,
            helix_url: crate::helix::DEFAULT_HELIX_URL.to_owned(),
            oauth_url: crate::oauth::DEFAULT_OAUTH_URL.to_owned(),
            url: DEFAULT_URL.to_owned(),
            membership: false,
            ping_interval_secs: 30,
            pong_timeout_secs: 10,
            login_timeout_secs: 15,
            reconnect: BackoffPolicy::new().with_base(std::time::Duration::from_secs(1)),
            eventsub: EventSubConfig::default(),
        }
    }
}

impl TwitchConfig {
    /// Reads the config from a `[[platform]]` section.
    pub fn from_section(section: &PlatformSection) -> Result<Self, botkit::ConfigError> {
        section.deserialize_into()
    }

    /// The app's client id, when one is set.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
    }

    /// Whether the login comes from the stored OAuth token (a `client_id` and a `login`
    /// but no `token`).
    pub fn uses_stored_token(&self) -> bool {
        self.client_id().is_some()
            && self.token.as_ref().is_none_or(Secret::is_empty)
            && self.login.as_deref().is_some_and(|l| !l.trim().is_empty())
    }

    /// The static credentials the config describes (not for [`Self::uses_stored_token`]).
    pub fn credentials(&self) -> Result<Credentials, TwitchError> {
        match (&self.login, &self.token) {
            (Some(login), Some(token)) if !login.trim().is_empty() && !token.is_empty() => {
                Ok(Credentials::new(login, token.clone()))
            }
            (None, None) if self.client_id().is_some() => Err(TwitchError::Config(
                "`client_id` needs the `login` of the account `botkit twitch login` stored a token for"
                    .to_owned(),
            )),
            (None, None) => Ok(Credentials::anonymous()),
            (Some(_), _) => Err(TwitchError::Config(
                "`login` needs a `token`, or a `client_id` to use the token `botkit twitch login` stored (or omit both to read anonymously)"
                    .to_owned(),
            )),
            (None, Some(_)) => Err(TwitchError::Config(
                "`token` needs the `login` of the account it belongs to".to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_section_and_hides_the_token() {
        let section = PlatformSection::new("twitch", "bot")
            .with_field("login", "MyBot")
            .with_field("token", "oauth:sekrit")
            .with_field("channels", vec!["a".to_owned(), "#b".to_owned()]);
        let config = TwitchConfig::from_section(&section).unwrap();
        assert_eq!(config.url, DEFAULT_URL);
        assert!(!format!("{config:?}").contains("sekrit"));
        let creds = config.credentials().unwrap();
        assert_eq!(creds.login, "mybot");
    }

    #[test]
    fn eventsub_is_opt_in() {
        assert!(!TwitchConfig::default().eventsub.enabled);
        let section = PlatformSection::new("twitch", "bot").with_field("eventsub", true);
        let config = TwitchConfig::from_section(&section).unwrap();
        assert!(config.eventsub.enabled);
    }

    #[test]
    fn login_without_token_is_an_error() {
        let config = TwitchConfig {
            login: Some("bot".into()),
            ..TwitchConfig::default()
        };
        assert!(config.credentials().is_err());
        assert!(
            TwitchConfig::default()
                .credentials()
                .unwrap()
                .is_anonymous()
        );
    }
}
