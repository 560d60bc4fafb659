//! The Helix API client: users, chat color, chat messages, moderation and EventSub
//! subscriptions.
//!
//! Every request goes through one private loop (`HelixClient::request`), which is where the
//! failure handling lives, so each endpoint method is only its URL and its body:
//!
//! - **Headers**: `Client-Id` and `Authorization: Bearer` on every request; the token
//!   comes from an [`AccessToken`] source on every request (never cached here), so a token
//!   refreshed elsewhere is picked up at once.
//! - **Rate limit**: `Ratelimit-Limit`, `-Remaining` and `-Reset` are kept from every
//!   answer ([`HelixClient::rate_limit`]); an empty bucket is waited out before the next
//!   request. A 429 waits until `Ratelimit-Reset` (capped)
//!   and retries, a bounded number of times, then fails with
//!   [`TwitchError::RateLimited`], which carries the wait.
//! - **401**: one refresh through the token source and one retry; a second 401 is
//!   [`TwitchError::Auth`], so a revoked token never loops.
//!
//! The base URL is configurable ([`HelixClient::with_base_url`]) so tests point it at a
//! fake server on 127.0.0.1.

mod chat;
mod eventsub;
mod moderation;
mod users;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use botkit::config::Secret;
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::TwitchError;

pub use chat::{ChatColor, ColorChange, NAMED_COLORS, SentMessage};
pub use moderation::BanRequest;
pub use users::User;

/// Twitch's Helix base URL.
pub const DEFAULT_HELIX_URL: &str = "https://api.twitch.tv/helix";

/// Retries after a 429 before [`TwitchError::RateLimited`].
pub const DEFAULT_RATE_LIMIT_RETRIES: u32 = 2;

/// The longest a 429 is waited out before retrying; a reset further away fails at once.
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// Where the client gets the user access token for each request.
#[async_trait]
pub trait AccessToken: Send + Sync + 'static {
    /// The token to send now.
    async fn access_token(&self) -> Result<Secret, TwitchError>;

    /// Helix refused `stale` with 401: return a fresh token (refreshing it if nobody has
    /// yet), or [`TwitchError::Auth`] when there is no way to get one.
    async fn refresh(&self, stale: &Secret) -> Result<Secret, TwitchError>;
}

/// A fixed token (from the config's `token`), which cannot be refreshed.
#[derive(Debug, Clone)]
pub struct StaticToken(Secret);

impl StaticToken {
    /// Always hands out `token` (an `oauth:` prefix is removed).
    pub fn new(token: &Secret) -> Self {
        let bare = token.expose().trim();
        Self(Secret::new(bare.strip_prefix("oauth:").unwrap_or(bare)))
    }
}

#[async_trait]
impl AccessToken for StaticToken {
    async fn access_token(&self) -> Result<Secret, TwitchError> {
        Ok(self.0.clone())
    }

    async fn refresh(&self, _stale: &Secret) -> Result<Secret, TwitchError> {
        Err(TwitchError::Auth(
            "Helix refused the configured `token` and a static token cannot be refreshed; \
             run `botkit twitch login` and set `client_id` instead of `token`"
                .to_owned(),
        ))
    }
}

/// The rate-limit bucket as Helix last reported it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimit {
    /// `Ratelimit-Limit`: points per minute.
    pub limit: Option<u32>,
    /// `Ratelimit-Remaining`: points left.
    pub remaining: Option<u32>,
    /// `Ratelimit-Reset`: when the bucket is full again, in unix seconds.
    pub reset_unix_secs: Option<u64>,
}

impl RateLimit {
    /// How long until the reset, from the system clock; zero when it has passed.
    pub fn until_reset(&self) -> Option<Duration> {
        let reset_ms = self.reset_unix_secs?.saturating_mul(1000);
        let now_ms = u64::try_from(botkit::event::now_millis()).unwrap_or(0);
        Some(Duration::from_millis(reset_ms.saturating_sub(now_ms)))
    }
}

/// A Helix API client for one bot account.
pub struct HelixClient {
    http: Result<reqwest::Client, String>,
    base: String,
    client_id: String,
    token: Arc<dyn AccessToken>,
    rate_limit_retries: u32,
    rate: Mutex<RateLimit>,
    /// Users by lower-case login: broadcaster and target ids are looked up once.
    users: Mutex<HashMap<String, User>>,
    /// The token's own user, once known.
    me: Mutex<Option<User>>,
}

impl fmt::Debug for HelixClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HelixClient")
            .field("base", &self.base)
            .field("client_id", &self.client_id)
            .field("rate", &self.rate_limit())
            .finish_non_exhaustive()
    }
}

/// Helix's error body: `{"error": "Unauthorized", "status": 401, "message": "…"}`.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    message: String,
}

/// The message of an error body, or its start when it is not Twitch's JSON shape.
pub(crate) fn error_message(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) if !e.message.is_empty() => e.message,
        Ok(e) if !e.error.is_empty() => e.error,
        _ => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                "(empty body)".to_owned()
            } else {
                text.chars().take(200).collect()
            }
        }
    }
}

/// `{"data": [...]}`, the envelope of most Helix answers.
#[derive(Deserialize)]
pub(crate) struct Data<T> {
    pub(crate) data: Vec<T>,
}

/// One answered request.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
    endpoint: String,
}

impl Answer {
    /// The body as `T`, or a protocol error naming the endpoint.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, TwitchError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            TwitchError::Protocol(format!(
                "{} answered {} with a body that is not what Helix sends: {e}",
                self.endpoint, self.status
            ))
        })
    }
}

impl HelixClient {
    /// A client for the app `client_id`, authenticating with `token`.
    pub fn new(client_id: &str, token: Arc<dyn AccessToken>) -> Self {
        Self {
            http: http_client(),
            base: DEFAULT_HELIX_URL.to_owned(),
            client_id: client_id.trim().to_owned(),
            token,
            rate_limit_retries: DEFAULT_RATE_LIMIT_RETRIES,
            rate: Mutex::new(RateLimit::default()),
            users: Mutex::new(HashMap::new()),
            me: Mutex::new(None),
        }
    }

    /// The same client against another base URL (a test server, a proxy).
    #[must_use]
    pub fn with_base_url(mut self, base: &str) -> Self {
        self.base = base.trim_end_matches('/').to_owned();
        self
    }

    /// The same client sending through `http` (its own timeouts, proxy, pool).
    #[must_use]
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Ok(http);
        self
    }

    /// The same client, retrying a 429 at most `retries` times.
    #[must_use]
    pub fn with_rate_limit_retries(mut self, retries: u32) -> Self {
        self.rate_limit_retries = retries;
        self
    }

    /// The app's client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The rate-limit bucket from the last answer.
    pub fn rate_limit(&self) -> RateLimit {
        *self.rate.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, TwitchError> {
        let mut url = Url::parse(&format!("{}/{path}", self.base)).map_err(|e| {
            TwitchError::Config(format!("Helix base URL `{}` is not a URL: {e}", self.base))
        })?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    fn track(&self, headers: &reqwest::header::HeaderMap) {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let mut rate = self.rate.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = num("ratelimit-limit") {
            rate.limit = u32::try_from(v).ok();
        }
        if let Some(v) = num("ratelimit-remaining") {
            rate.remaining = u32::try_from(v).ok();
        }
        if let Some(v) = num("ratelimit-reset") {
            rate.reset_unix_secs = Some(v);
        }
    }

    /// The reset has been waited for: the bucket counts as refilled until the next answer
    /// says otherwise (so one reset is never waited for twice).
    fn reset_waited(&self) {
        self.rate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remaining = None;
    }

    /// Sends one request with the auth headers, handling 429 and 401 as the module says.
    /// Any other non-success status is [`TwitchError::Api`].
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, TwitchError> {
        let endpoint = format!("{method} /{path}");
        let url = self.url(path, query)?;
        let mut token = self.token.access_token().await?;
        let mut refreshed = false;
        let mut rate_retries = 0;
        loop {
            // An empty bucket is waited out before sending rather than spent on a 429.
            let rate = self.rate_limit();
            if rate.remaining == Some(0)
                && let Some(wait) = rate.until_reset()
                && !wait.is_zero()
                && wait <= MAX_RATE_LIMIT_WAIT
            {
                tracing::debug!(%endpoint, ?wait, "Helix rate-limit bucket empty; waiting for the reset");
                tokio::time::sleep(wait).await;
                self.reset_waited();
            }
            let mut request = usable(&self.http)?
                .request(method.clone(), url.clone())
                .header("Client-Id", &self.client_id)
                .bearer_auth(token.expose());
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .map_err(|e| TwitchError::http(&endpoint, e))?;
            self.track(response.headers());
            let status = response.status();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| TwitchError::http(&endpoint, e))?;
            match status {
                StatusCode::TOO_MANY_REQUESTS => {
                    let wait = self
                        .rate_limit()
                        .until_reset()
                        .unwrap_or(Duration::from_secs(1));
                    if rate_retries >= self.rate_limit_retries || wait > MAX_RATE_LIMIT_WAIT {
                        return Err(TwitchError::RateLimited {
                            endpoint,
                            retry_after: wait,
                        });
                    }
                    rate_retries += 1;
                    tracing::warn!(%endpoint, ?wait, attempt = rate_retries, "Helix rate limit hit; waiting for the reset");
                    // A reset in the past still gets a short pause, so a server that sends
                    // a stale reset is not hammered.
                    tokio::time::sleep(wait.max(Duration::from_millis(250))).await;
                    self.reset_waited();
                }
                StatusCode::UNAUTHORIZED => {
                    let message = error_message(&bytes);
                    if refreshed {
                        return Err(TwitchError::Auth(format!(
                            "Helix refused the refreshed token too ({endpoint}: {message}); run `botkit twitch login` again"
                        )));
                    }
                    tracing::info!(%endpoint, %message, "Helix refused the token; refreshing it once");
                    token = self.token.refresh(&token).await?;
                    refreshed = true;
                }
                s if s.is_success() => {
                    return Ok(Answer {
                        status,
                        body: bytes.to_vec(),
                        endpoint,
                    });
                }
                s => {
                    return Err(TwitchError::Api {
                        endpoint,
                        status: s.as_u16(),
                        message: error_message(&bytes),
                    });
                }
            }
        }
    }
}

/// The HTTP client both Helix and OAuth use: rustls, and a timeout so a hung server
/// cannot stall an action forever.
///
/// Building fails only when the TLS backend cannot start; the constructors stay
/// infallible and keep the failure, and each request then reports it as
/// [`TwitchError::Config`].
pub(crate) fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("botkit-twitch/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client (TLS setup failed?): {e}"))
}

/// The client of `http`, or its build failure as an error.
pub(crate) fn usable(
    http: &Result<reqwest::Client, String>,
) -> Result<&reqwest::Client, TwitchError> {
    http.as_ref().map_err(|e| TwitchError::Config(e.clone()))
}
