//! `GET /users`: by login, by id, and the token's own user.
//!
//! Actions name users and channels by login, while Helix wants ids; lookups are cached
//! by login, since a login's id does not change while the bot runs (a renamed account
//! gets a new login, which simply misses the cache).

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::{Data, HelixClient};
use crate::error::TwitchError;

/// A Twitch user as Helix describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The user id.
    pub id: String,
    /// The login (lower case).
    pub login: String,
    /// The display name.
    pub display_name: String,
    /// `admin`, `global_mod`, `staff` or empty.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// `affiliate`, `partner` or empty.
    #[serde(default)]
    pub broadcaster_type: String,
    /// The profile description.
    #[serde(default)]
    pub description: String,
    /// When the account was created (RFC 3339).
    #[serde(default)]
    pub created_at: String,
}

impl HelixClient {
    async fn get_users(&self, query: &[(&str, &str)]) -> Result<Vec<User>, TwitchError> {
        let answer = self.request(Method::GET, "users", query, None).await?;
        let users = answer.json::<Data<User>>()?.data;
        let mut cache = self.users.lock().unwrap_or_else(|p| p.into_inner());
        for user in &users {
            cache.insert(user.login.to_ascii_lowercase(), user.clone());
        }
        Ok(users)
    }

    /// The user with `login` (a leading `#` or `@` is ignored), from the cache when seen
    /// before.
    pub async fn user_by_login(&self, login: &str) -> Result<User, TwitchError> {
        let login = login
            .trim()
            .trim_start_matches(['#', '@'])
            .to_ascii_lowercase();
        if login.is_empty() {
            return Err(TwitchError::UnknownUser(String::new()));
        }
        if let Some(user) = self
            .users
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&login)
        {
            return Ok(user.clone());
        }
        self.get_users(&[("login", &login)])
            .await?
            .into_iter()
            .find(|u| u.login.eq_ignore_ascii_case(&login))
            .ok_or(TwitchError::UnknownUser(login))
    }

    /// The users with these logins (a leading `#` or `@` is ignored), from the cache
    /// where seen before and otherwise in one request per 100 logins (Helix's limit). A
    /// login Twitch does not know is simply not in the answer.
    pub async fn users_by_login(&self, logins: &[String]) -> Result<Vec<User>, TwitchError> {
        let mut found = Vec::new();
        let mut missing: Vec<String> = Vec::new();
        {
            let cache = self.users.lock().unwrap_or_else(|p| p.into_inner());
            for login in logins {
                let login = login
                    .trim()
                    .trim_start_matches(['#', '@'])
                    .to_ascii_lowercase();
                if login.is_empty() || missing.contains(&login) {
                    continue;
                }
                match cache.get(&login) {
                    Some(user) => found.push(user.clone()),
                    None => missing.push(login),
                }
            }
        }
        for chunk in missing.chunks(100) {
            let query: Vec<(&str, &str)> = chunk.iter().map(|l| ("login", l.as_str())).collect();
            found.extend(self.get_users(&query).await?);
        }
        Ok(found)
    }

    /// The user with id `id`.
    pub async fn user_by_id(&self, id: &str) -> Result<User, TwitchError> {
        self.get_users(&[("id", id.trim())])
            .await?
            .into_iter()
            .find(|u| u.id == id.trim())
            .ok_or_else(|| TwitchError::UnknownUser(format!("id {id}")))
    }

    /// The user the access token belongs to (the bot), asked once and then remembered.
    pub async fn me(&self) -> Result<User, TwitchError> {
        if let Some(me) = self.me.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(me);
        }
        // With no query, Helix answers with the token's own user.
        let me = self
            .get_users(&[])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                TwitchError::Protocol("GET /users with a user token returned no user".to_owned())
            })?;
        *self.me.lock().unwrap_or_else(|p| p.into_inner()) = Some(me.clone());
        Ok(me)
    }
}
