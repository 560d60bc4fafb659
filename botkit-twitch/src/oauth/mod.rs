//! OAuth with Twitch's identity server: the device code login, refresh and validation.
//!
//! A chat bot usually runs where no browser can be redirected to, so the login is the
//! device code grant: [`OAuthClient::start_device_login`] gets a code for the user to
//! enter at twitch.tv/activate, and [`OAuthClient::finish_device_login`] polls the token
//! endpoint as RFC 8628 says — `authorization_pending` keeps the interval, `slow_down`
//! adds five seconds to it, `expired_token` and `access_denied` end the login with a
//! clear [`TwitchError::Login`]. Tokens then live in a [`TokenStore`] (encrypted when
//! `BOTKIT_SECRET_KEY` is set) and an [`OAuthCredentials`] keeps them fresh.
//!
//! Every token is a [`Secret`] from the moment it is parsed, so no `Debug` or log line
//! can show one.

mod provider;
mod store;

use std::fmt;
use std::time::Duration;

use botkit::config::Secret;
use serde::Deserialize;

use crate::error::TwitchError;
use crate::helix::{error_message, http_client, usable};

pub use provider::{DEFAULT_REFRESH_MARGIN, OAuthCredentials, VALIDATE_EVERY};
pub use store::{SECRET_KEY_ENV, STORE_NAMESPACE, TokenStore};

/// Twitch's OAuth base URL.
pub const DEFAULT_OAUTH_URL: &str = "https://id.twitch.tv/oauth2";

/// The scopes `botkit twitch login` asks for by default: chat over IRC and Helix, chat
/// color, whispers, and the moderation the platform's actions use.
pub const DEFAULT_SCOPES: &[&str] = &[
    "chat:read",
    "chat:edit",
    "user:read:chat",
    "user:write:chat",
    "user:bot",
    "user:manage:chat_color",
    "user:manage:whispers",
    "moderator:manage:chat_messages",
    "moderator:manage:banned_users",
];

/// Failed polls in a row (network errors, 5xx) the device login rides out.
const MAX_POLL_HICCUPS: u32 = 3;

/// RFC 8628: on `slow_down` the interval grows by five seconds.
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// A user access token with what Twitch said about it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// The access token.
    pub access_token: Secret,
    /// The refresh token; `None` when Twitch gave none.
    pub refresh_token: Option<Secret>,
    /// When the access token expires, in unix milliseconds; `None` if it does not.
    pub expires_at_ms: Option<i64>,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// The account's login (lower case), once validated.
    pub login: String,
    /// The account's user id, once validated.
    pub user_id: String,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("scopes", &self.scopes)
            .field("login", &self.login)
            .field("user_id", &self.user_id)
            .finish()
    }
}

impl TokenSet {
    /// Whether the access token expires within `margin` of now.
    pub fn expires_within(&self, margin: Duration) -> bool {
        match self.expires_at_ms {
            Some(at) => {
                let margin = i64::try_from(margin.as_millis()).unwrap_or(i64::MAX);
                at.saturating_sub(botkit::event::now_millis()) <= margin
            }
            None => false,
        }
    }
}

/// The token endpoint's answer.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    scope: Vec<String>,
}

impl TokenAnswer {
    fn into_tokens(self) -> TokenSet {
        TokenSet {
            access_token: Secret::new(self.access_token),
            refresh_token: Some(self.refresh_token)
                .filter(|r| !r.is_empty())
                .map(Secret::new),
            expires_at_ms: expires_at(self.expires_in),
            scopes: self.scope,
            login: String::new(),
            user_id: String::new(),
        }
    }
}

fn expires_at(expires_in: Option<i64>) -> Option<i64> {
    expires_in
        .filter(|s| *s > 0)
        .map(|s| botkit::event::now_millis().saturating_add(s.saturating_mul(1000)))
}

/// A device login in progress: show [`DeviceCode::verification_uri`] and
/// [`DeviceCode::user_code`] to the user.
#[derive(Clone, Deserialize)]
pub struct DeviceCode {
    /// The code the poll sends (secret: it can be traded for the token).
    #[serde(deserialize_with = "secret")]
    pub device_code: Secret,
    /// The code the user types in.
    pub user_code: String,
    /// Where the user goes to enter it.
    pub verification_uri: String,
    /// Seconds until the code expires.
    pub expires_in: u64,
    /// Seconds between polls.
    pub interval: u64,
}

impl fmt::Debug for DeviceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCode")
            .field("device_code", &self.device_code)
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish()
    }
}

fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    String::deserialize(d).map(Secret::new)
}

/// What `/validate` says about a token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Validation {
    /// The app the token was issued to.
    pub client_id: String,
    /// The account's login.
    #[serde(default)]
    pub login: String,
    /// The account's user id.
    #[serde(default)]
    pub user_id: String,
    /// The granted scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Seconds until the token expires.
    #[serde(default)]
    pub expires_in: i64,
}

/// The OAuth error body: Twitch sends `{"status":400,"message":"authorization_pending"}`,
/// RFC 8628 servers `{"error":"authorization_pending"}`; both are read.
#[derive(Deserialize, Default)]
struct OAuthError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    message: String,
}

impl OAuthError {
    fn is(&self, code: &str) -> bool {
        self.error.eq_ignore_ascii_case(code) || self.message.eq_ignore_ascii_case(code)
    }
}

/// Percent-encodes a value for an `application/x-www-form-urlencoded` body.
fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        for (j, part) in [k, v].into_iter().enumerate() {
            if j == 1 {
                out.push('=');
            }
            for b in part.bytes() {
                match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                        out.push(char::from(b));
                    }
                    b' ' => out.push('+'),
                    _ => out.push_str(&format!("%{b:02X}")),
                }
            }
        }
    }
    out
}

/// A client of the OAuth server for one app (`client_id`).
#[derive(Clone)]
pub struct OAuthClient {
    http: Result<reqwest::Client, String>,
    base: String,
    client_id: String,
    client_secret: Option<Secret>,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("base", &self.base)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish_non_exhaustive()
    }
}

impl OAuthClient {
    /// A client for the public app `client_id` against Twitch.
    pub fn new(client_id: &str) -> Self {
        Self {
            http: http_client(),
            base: DEFAULT_OAUTH_URL.to_owned(),
            client_id: client_id.trim().to_owned(),
            client_secret: None,
        }
    }

    /// The same client against another base URL (a test server).
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

    /// The same client for a confidential app, which sends its secret when refreshing.
    #[must_use]
    pub fn with_client_secret(mut self, secret: Option<Secret>) -> Self {
        self.client_secret = secret.filter(|s| !s.is_empty());
        self
    }

    /// The app's client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<(u16, Vec<u8>), TwitchError> {
        let endpoint = format!("POST /{path}");
        let response = usable(&self.http)?
            .post(format!("{}/{path}", self.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form_encode(form))
            .send()
            .await
            .map_err(|e| TwitchError::http(&endpoint, e))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| TwitchError::http(&endpoint, e))?;
        Ok((status, body.to_vec()))
    }

    fn parse<T: serde::de::DeserializeOwned>(
        endpoint: &str,
        body: &[u8],
    ) -> Result<T, TwitchError> {
        serde_json::from_slice(body).map_err(|e| {
            TwitchError::Protocol(format!(
                "{endpoint} answered with a body that is not what Twitch sends: {e}"
            ))
        })
    }

    /// Starts a device login for `scopes`.
    pub async fn start_device_login(&self, scopes: &[String]) -> Result<DeviceCode, TwitchError> {
        let scopes = scopes.join(" ");
        let (status, body) = self
            .post_form(
                "device",
                &[("client_id", &self.client_id), ("scopes", &scopes)],
            )
            .await?;
        if status != 200 {
            return Err(TwitchError::Api {
                endpoint: "POST /device".to_owned(),
                status,
                message: format!(
                    "{}; check the client id and that the app is a public client with the device flow enabled",
                    error_message(&body)
                ),
            });
        }
        Self::parse("POST /device", &body)
    }

    /// Polls until the user has entered the code (or refused, or the code expired), then
    /// validates the token to learn whose it is.
    pub async fn finish_device_login(
        &self,
        device: &DeviceCode,
        scopes: &[String],
    ) -> Result<TokenSet, TwitchError> {
        let scopes = scopes.join(" ");
        let mut interval = Duration::from_secs(device.interval.max(1));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(device.expires_in);
        let mut hiccups = 0;
        loop {
            tokio::time::sleep(interval).await;
            if tokio::time::Instant::now() >= deadline {
                return Err(TwitchError::Login(
                    "the code expired before it was entered; run `botkit twitch login` again"
                        .to_owned(),
                ));
            }
            let mut form = vec![
                ("client_id", self.client_id.as_str()),
                ("scopes", scopes.as_str()),
                ("device_code", device.device_code.expose()),
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ];
            if let Some(secret) = &self.client_secret {
                form.push(("client_secret", secret.expose()));
            }
            let (status, body) = match self.post_form("token", &form).await {
                Ok(answer) => answer,
                // A dropped poll is not a failed login: the user may be typing the code.
                Err(e) if hiccups < MAX_POLL_HICCUPS => {
                    hiccups += 1;
                    tracing::warn!(error = %e, "polling the token endpoint failed; trying again");
                    continue;
                }
                Err(e) => return Err(e),
            };
            if status == 200 {
                let tokens = Self::parse::<TokenAnswer>("POST /token", &body)?.into_tokens();
                return self.identify(tokens).await;
            }
            if status >= 500 && hiccups < MAX_POLL_HICCUPS {
                hiccups += 1;
                tracing::warn!(status, "the token endpoint failed; polling again");
                continue;
            }
            hiccups = 0;
            let error: OAuthError = serde_json::from_slice(&body).unwrap_or_default();
            if error.is("authorization_pending") {
                continue;
            }
            if error.is("slow_down") {
                interval += SLOW_DOWN_STEP;
                tracing::debug!(?interval, "the OAuth server asked to poll more slowly");
                continue;
            }
            let why = if error.is("expired_token") {
                "the code expired before it was entered; run `botkit twitch login` again".to_owned()
            } else if error.is("access_denied") {
                "the authorization was denied on twitch.tv; run `botkit twitch login` again and choose Authorize".to_owned()
            } else {
                format!(
                    "the token endpoint answered {status}: {}",
                    error_message(&body)
                )
            };
            return Err(TwitchError::Login(why));
        }
    }

    /// Fills in the login and user id of freshly issued tokens from `/validate`.
    async fn identify(&self, mut tokens: TokenSet) -> Result<TokenSet, TwitchError> {
        let validation = self.validate(&tokens.access_token).await?.ok_or_else(|| {
            TwitchError::Auth("Twitch refused the token it just issued".to_owned())
        })?;
        tokens.login = validation.login.to_ascii_lowercase();
        tokens.user_id = validation.user_id;
        if tokens.scopes.is_empty() {
            tokens.scopes = validation.scopes;
        }
        Ok(tokens)
    }

    /// Trades a refresh token for new tokens (Twitch rotates the refresh token too). An
    /// invalid refresh token is [`TwitchError::Auth`]: only a new login helps then.
    pub async fn refresh(&self, tokens: &TokenSet) -> Result<TokenSet, TwitchError> {
        let Some(refresh) = &tokens.refresh_token else {
            return Err(TwitchError::Auth(
                "the stored token has no refresh token; run `botkit twitch login` again".to_owned(),
            ));
        };
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose()),
            ("client_id", self.client_id.as_str()),
        ];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose()));
        }
        let (status, body) = self.post_form("token", &form).await?;
        match status {
            200 => {
                let mut fresh = Self::parse::<TokenAnswer>("POST /token", &body)?.into_tokens();
                fresh.login.clone_from(&tokens.login);
                fresh.user_id.clone_from(&tokens.user_id);
                if fresh.refresh_token.is_none() {
                    fresh.refresh_token = tokens.refresh_token.clone();
                }
                if fresh.scopes.is_empty() {
                    fresh.scopes.clone_from(&tokens.scopes);
                }
                Ok(fresh)
            }
            400 | 401 => Err(TwitchError::Auth(format!(
                "Twitch refused the refresh token ({}); run `botkit twitch login` again",
                error_message(&body)
            ))),
            _ => Err(TwitchError::Api {
                endpoint: "POST /token".to_owned(),
                status,
                message: error_message(&body),
            }),
        }
    }

    /// Asks `/validate` about `access_token`: `Ok(None)` when Twitch says it is invalid.
    pub async fn validate(&self, access_token: &Secret) -> Result<Option<Validation>, TwitchError> {
        let endpoint = "GET /validate";
        let response = usable(&self.http)?
            .get(format!("{}/validate", self.base))
            .header(
                reqwest::header::AUTHORIZATION,
                format!("OAuth {}", access_token.expose()),
            )
            .send()
            .await
            .map_err(|e| TwitchError::http(endpoint, e))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| TwitchError::http(endpoint, e))?;
        match status {
            200 => Self::parse(endpoint, &body).map(Some),
            401 => Ok(None),
            _ => Err(TwitchError::Api {
                endpoint: endpoint.to_owned(),
                status,
                message: error_message(&body),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_are_percent_encoded() {
        assert_eq!(
            form_encode(&[("scopes", "chat:read chat:edit"), ("x", "a&b=c%")]),
            "scopes=chat%3Aread+chat%3Aedit&x=a%26b%3Dc%25"
        );
    }

    #[test]
    fn nothing_secret_in_debug() {
        let tokens = TokenSet {
            access_token: Secret::new("acc355"),
            refresh_token: Some(Secret::new("r3fr35h")),
            expires_at_ms: Some(1),
            scopes: vec!["chat:read".into()],
            login: "bot".into(),
            user_id: "1".into(),
        };
        let device: DeviceCode = serde_json::from_str(
            r#"{"device_code":"d3v1c3","expires_in":1800,"interval":5,"user_code":"ABCDEFGH","verification_uri":"https://www.twitch.tv/activate"}"#,
        )
        .unwrap();
        let client = OAuthClient::new("cid").with_client_secret(Some(Secret::new("s3cr3t")));
        let shown = format!("{tokens:?} {device:?} {client:?}");
        for secret in ["acc355", "r3fr35h", "d3v1c3", "s3cr3t"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("ABCDEFGH"));
    }

    #[test]
    fn expiry_margin() {
        let mut tokens = TokenSet {
            access_token: Secret::new("a"),
            refresh_token: None,
            expires_at_ms: expires_at(Some(60)),
            scopes: vec![],
            login: String::new(),
            user_id: String::new(),
        };
        assert!(tokens.expires_within(Duration::from_secs(300)));
        assert!(!tokens.expires_within(Duration::from_secs(10)));
        tokens.expires_at_ms = None;
        assert!(!tokens.expires_within(Duration::from_secs(300)));
    }
}
