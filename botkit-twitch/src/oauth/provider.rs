//! [`OAuthCredentials`]: a stored OAuth token kept fresh, for the chat session and Helix.
//!
//! One object serves both consumers, so there is one refresh at a time and one current
//! token: the IRC session asks it for [`Credentials`] on every (re)connect, Helix asks it
//! for a bearer token on every request. Before handing a token out it
//! - loads it from the [`TokenStore`] the first time (`botkit twitch login` put it there);
//! - refreshes it when it expires within [`DEFAULT_REFRESH_MARGIN`], so a connection
//!   never starts with a token about to die;
//! - validates it with `/validate` at start and then hourly, as Twitch asks of every app
//!   (a token revoked by the user is noticed within the hour);
//!
//! and after a refresh it writes the new tokens back, since Twitch rotates the refresh
//! token and the old one stops working. A refused login or a Helix 401 triggers one
//! refresh; if that fails too, the error is [`TwitchError::Auth`], which stops the
//! session instead of retrying.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use botkit::config::Secret;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{OAuthClient, TokenSet, TokenStore};
use crate::credentials::{Credentials, CredentialsProvider};
use crate::error::TwitchError;
use crate::helix::AccessToken;

/// Tokens expiring within this are refreshed before use.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// How often a token in use is validated.
pub const VALIDATE_EVERY: Duration = Duration::from_secs(60 * 60);

struct State {
    tokens: Option<TokenSet>,
    validated_at: Option<Instant>,
}

/// OAuth credentials for one account, loaded from the store and kept fresh.
pub struct OAuthCredentials {
    client: OAuthClient,
    store: TokenStore,
    login: String,
    refresh_margin: Duration,
    state: Mutex<State>,
}

impl fmt::Debug for OAuthCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthCredentials")
            .field("client", &self.client)
            .field("store", &self.store)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

impl OAuthCredentials {
    /// Credentials for `login`, whose token `botkit twitch login` stored in `store`.
    pub fn new(client: OAuthClient, store: TokenStore, login: &str) -> Self {
        Self {
            client,
            store,
            login: login.trim().to_ascii_lowercase(),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            state: Mutex::new(State {
                tokens: None,
                validated_at: None,
            }),
        }
    }

    /// The same credentials, refreshing tokens that expire within `margin`.
    #[must_use]
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The account's login.
    pub fn login(&self) -> &str {
        &self.login
    }

    async fn load(&self) -> Result<TokenSet, TwitchError> {
        self.store.load(&self.login).await?.ok_or_else(|| {
            TwitchError::Auth(format!(
                "no stored Twitch token for `{}`; run `botkit twitch login --client-id {}` first",
                self.login,
                self.client.client_id()
            ))
        })
    }

    async fn refresh_locked(&self, state: &mut State) -> Result<TokenSet, TwitchError> {
        let current = match state.tokens.take() {
            Some(t) => t,
            None => self.load().await?,
        };
        match self.client.refresh(&current).await {
            Ok(mut fresh) => {
                if fresh.login.is_empty() {
                    fresh.login.clone_from(&self.login);
                }
                self.store.save(&fresh).await?;
                tracing::info!(login = %self.login, "Twitch token refreshed");
                state.tokens = Some(fresh.clone());
                state.validated_at = Some(Instant::now());
                Ok(fresh)
            }
            Err(e) => {
                // Keep the old token for a transient failure; an auth failure is final.
                if e.is_transient() {
                    state.tokens = Some(current);
                }
                Err(e)
            }
        }
    }

    /// A token ready for use: loaded, refreshed ahead of expiry, validated when due.
    pub async fn tokens(&self) -> Result<TokenSet, TwitchError> {
        let mut state = self.state.lock().await;
        let tokens = match state.tokens.clone() {
            Some(t) => t,
            None => {
                let t = self.load().await?;
                state.tokens = Some(t.clone());
                t
            }
        };
        if tokens.expires_within(self.refresh_margin) {
            return match self.refresh_locked(&mut state).await {
                // The OAuth server is unreachable but the token still works: use it, and
                // try the refresh again next time.
                Err(e) if e.is_transient() && !tokens.expires_within(Duration::ZERO) => {
                    tracing::warn!(login = %self.login, error = %e, "cannot refresh the Twitch token yet; using it until it expires");
                    Ok(tokens)
                }
                other => other,
            };
        }
        let due = state
            .validated_at
            .is_none_or(|at| at.elapsed() >= VALIDATE_EVERY);
        if due {
            return match self.validate_locked(&mut state, tokens.clone()).await {
                // A validation that could not be made is not a failed one: go on, and
                // validate again on the next use.
                Err(e) if e.is_transient() => {
                    tracing::warn!(login = %self.login, error = %e, "cannot validate the Twitch token now; trying again later");
                    Ok(tokens)
                }
                other => other,
            };
        }
        Ok(tokens)
    }

    async fn validate_locked(
        &self,
        state: &mut State,
        mut tokens: TokenSet,
    ) -> Result<TokenSet, TwitchError> {
        match self.client.validate(&tokens.access_token).await? {
            Some(v) => {
                if !v.client_id.is_empty() && v.client_id != self.client.client_id() {
                    return Err(TwitchError::Auth(format!(
                        "the stored token belongs to app {}, not to `client_id` {}; run `botkit twitch login` with the right client id",
                        v.client_id,
                        self.client.client_id()
                    )));
                }
                if v.expires_in > 0 {
                    tokens.expires_at_ms =
                        Some(botkit::event::now_millis().saturating_add(v.expires_in * 1000));
                }
                state.tokens = Some(tokens.clone());
                state.validated_at = Some(Instant::now());
                Ok(tokens)
            }
            None => {
                tracing::warn!(login = %self.login, "Twitch says the token is invalid; refreshing it");
                state.tokens = Some(tokens);
                self.refresh_locked(state).await
            }
        }
    }

    /// Validates the token now (what the hourly check runs).
    pub async fn validate_now(&self) -> Result<(), TwitchError> {
        let mut state = self.state.lock().await;
        let tokens = match state.tokens.clone() {
            Some(t) => t,
            None => self.load().await?,
        };
        self.validate_locked(&mut state, tokens).await.map(|_| ())
    }

    /// Refreshes the token now, whatever its expiry.
    pub async fn refresh_now(&self) -> Result<TokenSet, TwitchError> {
        let mut state = self.state.lock().await;
        self.refresh_locked(&mut state).await
    }
}

#[async_trait]
impl CredentialsProvider for OAuthCredentials {
    async fn credentials(&self) -> Result<Credentials, TwitchError> {
        let tokens = self.tokens().await?;
        let login = if tokens.login.is_empty() {
            &self.login
        } else {
            &tokens.login
        };
        Ok(Credentials::new(login, tokens.access_token))
    }

    async fn refused(&self, credentials: &Credentials) -> bool {
        let mut state = self.state.lock().await;
        // Someone refreshed since these credentials were handed out: the new ones may work.
        if let Some(current) = &state.tokens
            && Some(&current.access_token) != credentials.token.as_ref()
        {
            return true;
        }
        match self.refresh_locked(&mut state).await {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(login = %self.login, error = %e, "cannot refresh the refused Twitch token");
                false
            }
        }
    }

    async fn watch(&self) -> TwitchError {
        loop {
            tokio::time::sleep(VALIDATE_EVERY).await;
            match self.validate_now().await {
                Ok(()) => {}
                Err(e) if e.is_transient() => {
                    tracing::warn!(login = %self.login, error = %e, "hourly token validation failed; trying again next hour");
                }
                Err(e) => return e,
            }
        }
    }
}

#[async_trait]
impl AccessToken for OAuthCredentials {
    async fn access_token(&self) -> Result<Secret, TwitchError> {
        Ok(self.tokens().await?.access_token)
    }

    async fn refresh(&self, stale: &Secret) -> Result<Secret, TwitchError> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.tokens
            && &current.access_token != stale
        {
            return Ok(current.access_token.clone());
        }
        Ok(self.refresh_locked(&mut state).await?.access_token)
    }
}
