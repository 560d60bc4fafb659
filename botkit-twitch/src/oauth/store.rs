//! [`TokenStore`]: OAuth tokens in the bot's [`Store`], encrypted at rest when
//! `BOTKIT_SECRET_KEY` is set.
//!
//! Tokens live in the key-value namespace `twitch`, one entry per account
//! (`oauth/<login>`), so `botkit twitch login` and the running bot meet in the same
//! database without a file of their own. With a key, the entry is AES-256-GCM (the AEAD
//! of aws-lc-rs, the crypto library rustls already builds) under a key derived from
//! `BOTKIT_SECRET_KEY` with HKDF-SHA256, a random nonce per write, and the entry's key
//! as associated data, so a blob copied to another account's entry fails to open. A
//! wrong key fails the tag check and is reported as such — never decrypted to garbage.
//! Without a key the entry is plain JSON, and saying so is the CLI's job.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use botkit::config::Secret;
use botkit::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::TokenSet;
use crate::error::TwitchError;

/// The environment variable holding the key tokens are encrypted with.
pub const SECRET_KEY_ENV: &str = "BOTKIT_SECRET_KEY";

/// The store namespace the tokens live in.
pub const STORE_NAMESPACE: &str = "twitch";

/// The stored formats; a version in the name lets a later format read the old ones.
const FORMAT_PLAIN: &str = "plain/v1";
const FORMAT_AEAD: &str = "aes-256-gcm/v1";
/// HKDF salt and info: fixed and public, they separate this use of the key from any other.
const HKDF_SALT: &[u8] = b"botkit-twitch token store";
const HKDF_INFO: &[u8] = b"aes-256-gcm/v1";

/// A token as stored: plain strings (a [`Secret`] serializes to a redaction mark).
#[derive(Serialize, Deserialize)]
struct Stored {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_at_ms: Option<i64>,
    #[serde(default)]
    scopes: Vec<String>,
    login: String,
    #[serde(default)]
    user_id: String,
}

impl Stored {
    fn from_tokens(t: &TokenSet) -> Self {
        Self {
            access_token: t.access_token.expose().to_owned(),
            refresh_token: t.refresh_token.as_ref().map(|s| s.expose().to_owned()),
            expires_at_ms: t.expires_at_ms,
            scopes: t.scopes.clone(),
            login: t.login.clone(),
            user_id: t.user_id.clone(),
        }
    }

    fn into_tokens(self) -> TokenSet {
        TokenSet {
            access_token: Secret::new(self.access_token),
            refresh_token: self.refresh_token.map(Secret::new),
            expires_at_ms: self.expires_at_ms,
            scopes: self.scopes,
            login: self.login,
            user_id: self.user_id,
        }
    }
}

/// Reads and writes OAuth tokens in the bot's store.
#[derive(Clone)]
pub struct TokenStore {
    store: Arc<dyn Store>,
    key: Option<Arc<LessSafeKey>>,
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenStore")
            .field("backend", &self.store.backend())
            .field("encrypted", &self.is_encrypted())
            .finish()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// The store key of `login`'s token.
pub fn entry_key(login: &str) -> String {
    format!(
        "oauth/{}",
        login.trim().trim_start_matches('#').to_ascii_lowercase()
    )
}

impl TokenStore {
    /// Plain JSON tokens in `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, key: None }
    }

    /// Tokens in `store`, encrypted when `BOTKIT_SECRET_KEY` is set (and not empty).
    pub fn from_env(store: Arc<dyn Store>) -> Result<Self, TwitchError> {
        let this = Self::new(store);
        match std::env::var(SECRET_KEY_ENV) {
            Ok(key) if !key.is_empty() => this.with_secret_key(&Secret::new(key)),
            _ => Ok(this),
        }
    }

    /// The same store, encrypting with a key derived from `secret`.
    pub fn with_secret_key(mut self, secret: &Secret) -> Result<Self, TwitchError> {
        if secret.expose().len() < 16 {
            return Err(TwitchError::Config(format!(
                "{SECRET_KEY_ENV} is too short to protect tokens; use at least 16 characters (e.g. `openssl rand -hex 32`)"
            )));
        }
        let prk = Salt::new(HKDF_SHA256, HKDF_SALT).extract(secret.expose().as_bytes());
        let okm = prk
            .expand(&[HKDF_INFO], &AES_256_GCM)
            .map_err(|_| TwitchError::TokenStore("cannot derive the encryption key".to_owned()))?;
        self.key = Some(Arc::new(LessSafeKey::new(UnboundKey::from(okm))));
        Ok(self)
    }

    /// Whether tokens are written encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.key.is_some()
    }

    /// Where a login's token is stored, for messages: `twitch/oauth/<login>`.
    pub fn location(login: &str) -> String {
        format!("{STORE_NAMESPACE}/{}", entry_key(login))
    }

    /// Stores `tokens` under their login.
    pub async fn save(&self, tokens: &TokenSet) -> Result<(), TwitchError> {
        if tokens.login.is_empty() {
            return Err(TwitchError::TokenStore(
                "a token without its login cannot be stored; validate it first".to_owned(),
            ));
        }
        let key = entry_key(&tokens.login);
        let stored = serde_json::to_value(Stored::from_tokens(tokens))
            .map_err(|e| TwitchError::TokenStore(format!("cannot encode the token: {e}")))?;
        let value = match &self.key {
            None => json!({ "format": FORMAT_PLAIN, "token": stored }),
            Some(cipher) => {
                let mut nonce = [0u8; NONCE_LEN];
                aws_lc_rs::rand::fill(&mut nonce).map_err(|_| {
                    TwitchError::TokenStore("the system random generator failed".to_owned())
                })?;
                let mut data = stored.to_string().into_bytes();
                cipher
                    .seal_in_place_append_tag(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(key.as_bytes()),
                        &mut data,
                    )
                    .map_err(|_| TwitchError::TokenStore("encryption failed".to_owned()))?;
                json!({ "format": FORMAT_AEAD, "nonce": hex(&nonce), "data": hex(&data) })
            }
        };
        self.store
            .kv_put(STORE_NAMESPACE, &key, value)
            .await
            .map_err(|e| TwitchError::TokenStore(format!("cannot save {key}: {e}")))
    }

    /// The stored token of `login`, `None` when there is none.
    pub async fn load(&self, login: &str) -> Result<Option<TokenSet>, TwitchError> {
        let key = entry_key(login);
        let Some(value) = self
            .store
            .kv_get(STORE_NAMESPACE, &key)
            .await
            .map_err(|e| TwitchError::TokenStore(format!("cannot read {key}: {e}")))?
        else {
            return Ok(None);
        };
        let corrupt = |what: &str| {
            TwitchError::TokenStore(format!(
                "the entry {STORE_NAMESPACE}/{key} is damaged ({what}); run `botkit twitch login` again"
            ))
        };
        let format = value.get("format").and_then(Value::as_str).unwrap_or("");
        let plain: Vec<u8> = match format {
            FORMAT_PLAIN => {
                let token = value.get("token").ok_or_else(|| corrupt("no token"))?;
                serde_json::to_vec(token).map_err(|_| corrupt("bad token"))?
            }
            FORMAT_AEAD => {
                let Some(cipher) = &self.key else {
                    return Err(TwitchError::TokenStore(format!(
                        "the token in {STORE_NAMESPACE}/{key} is encrypted; set {SECRET_KEY_ENV} to the key it was stored with"
                    )));
                };
                let field = |name: &str| {
                    value
                        .get(name)
                        .and_then(Value::as_str)
                        .and_then(unhex)
                        .ok_or_else(|| corrupt(name))
                };
                let nonce = Nonce::try_assume_unique_for_key(&field("nonce")?)
                    .map_err(|_| corrupt("nonce"))?;
                let mut data = field("data")?;
                let opened = cipher
                    .open_in_place(nonce, Aad::from(key.as_bytes()), &mut data)
                    .map_err(|_| {
                        TwitchError::TokenStore(format!(
                            "cannot decrypt {STORE_NAMESPACE}/{key}: {SECRET_KEY_ENV} is not the key it was stored with (or the entry was altered); set the right key, or run `botkit twitch login` again"
                        ))
                    })?;
                opened.to_vec()
            }
            other => return Err(corrupt(&format!("unknown format `{other}`"))),
        };
        let stored: Stored = serde_json::from_slice(&plain).map_err(|e| corrupt(&e.to_string()))?;
        Ok(Some(stored.into_tokens()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        assert_eq!(
            unhex(&hex(&[0, 1, 0xab, 0xff])).unwrap(),
            vec![0, 1, 0xab, 0xff]
        );
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
        assert!(unhex("é1").is_none());
    }

    #[test]
    fn short_keys_are_refused() {
        let store: Arc<dyn Store> = Arc::new(botkit::store::MemoryStore::new());
        let err = TokenStore::new(store)
            .with_secret_key(&Secret::new("short"))
            .unwrap_err();
        assert!(err.to_string().contains("at least 16"), "{err}");
    }
}
