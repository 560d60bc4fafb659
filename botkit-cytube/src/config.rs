//! The `[[platform]]` config of a CyTube instance: one account, one or more channels.
//!
//! ```toml
//! [[platform]]
//! kind = "cytube"
//! id = "main"
//! server = "https://cytu.be"          # web server: the socket server is discovered
//! channel = "mychannel"               # or channels = [{ name = "a" }, { name = "b", password = "${PW}" }]
//! user = "rosey"
//! password = "${CYTUBE_PASSWORD}"     # omit for a guest login
//! ```
//!
//! `server` may also be the socket.io server itself (`ws://127.0.0.1:1337` or `wss://…`),
//! which skips discovery. Secrets are [`Secret`]s: they never appear in `Debug` or logs.

use std::path::PathBuf;
use std::time::Duration;

use botkit::backoff::BackoffPolicy;
use botkit::config::Secret;
use serde::Deserialize;

use crate::error::CytubeError;

/// One channel to join.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RoomConfig {
    /// Channel name (`^[\w-]{1,30}$`).
    pub name: String,
    /// The channel password, if it has one.
    #[serde(default)]
    pub password: Option<Secret>,
}

impl RoomConfig {
    /// A channel without a password.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            password: None,
        }
    }

    /// The same channel with a password.
    #[must_use]
    pub fn with_password(mut self, password: impl Into<Secret>) -> Self {
        self.password = Some(password.into());
        self
    }
}

fn default_reconnect() -> BackoffPolicy {
    // CyTube refills one connect token per 10 s per IP after a burst of 5: start at 2 s and
    // grow fast, so a flapping bot never locks itself out.
    BackoffPolicy::default()
        .with_base(Duration::from_secs(2))
        .with_cap(Duration::from_secs(300))
}

fn default_timeout_ms() -> u64 {
    15_000
}

fn default_state_interval_ms() -> u64 {
    1_000
}

/// A CyTube instance's config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CytubeConfig {
    /// The web server (`https://cytu.be`), or the socket.io server (`ws://…`, `wss://…`).
    pub server: String,
    /// A single channel (shorthand for `channels`).
    #[serde(default)]
    pub channel: Option<String>,
    /// The password of `channel`.
    #[serde(default)]
    pub channel_password: Option<Secret>,
    /// Channels to join, one socket each.
    #[serde(default)]
    pub channels: Vec<RoomConfig>,
    /// Account or guest name; none stays anonymous (read-only).
    #[serde(default)]
    pub user: Option<String>,
    /// Account password; none logs in as a guest.
    #[serde(default)]
    pub password: Option<Secret>,
    /// The signed `auth` cookie from `POST /login`, instead of a password.
    #[serde(default)]
    pub auth_cookie: Option<Secret>,
    /// Reconnect backoff.
    #[serde(default = "default_reconnect")]
    pub reconnect: BackoffPolicy,
    /// Timeout for connecting, the handshake and the login answer, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Least time between two `channel.state` snapshots, in milliseconds; changes within
    /// it are coalesced into one.
    #[serde(default = "default_state_interval_ms")]
    pub state_interval_ms: u64,
    /// PEM files with extra root certificates to trust for `https://`/`wss://` (a
    /// self-hosted CyTube with its own CA); the public web roots are always trusted.
    #[serde(default)]
    pub tls_roots: Vec<PathBuf>,
}

impl CytubeConfig {
    /// A config for `server` with no channel yet.
    pub fn new(server: impl Into<String>) -> Self {
        Self {
            server: server.into(),
            channel: None,
            channel_password: None,
            channels: Vec::new(),
            user: None,
            password: None,
            auth_cookie: None,
            reconnect: default_reconnect(),
            timeout_ms: default_timeout_ms(),
            state_interval_ms: default_state_interval_ms(),
            tls_roots: Vec::new(),
        }
    }

    /// Also trusts the root certificates in the PEM file at `path`.
    #[must_use]
    pub fn tls_root(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls_roots.push(path.into());
        self
    }

    /// Uses another least time between two `channel.state` snapshots.
    #[must_use]
    pub fn state_interval(mut self, interval: Duration) -> Self {
        self.state_interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Adds a channel.
    #[must_use]
    pub fn room(mut self, room: RoomConfig) -> Self {
        self.channels.push(room);
        self
    }

    /// Logs in as `user` (a guest unless a password or cookie is set).
    #[must_use]
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Logs in with a password.
    #[must_use]
    pub fn password(mut self, password: impl Into<Secret>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Authenticates with the `auth` cookie.
    #[must_use]
    pub fn auth_cookie(mut self, cookie: impl Into<Secret>) -> Self {
        self.auth_cookie = Some(cookie.into());
        self
    }

    /// Uses another reconnect policy.
    #[must_use]
    pub fn reconnect(mut self, policy: BackoffPolicy) -> Self {
        self.reconnect = policy;
        self
    }

    /// Uses another connect/login timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// The channels, `channel` first, checked.
    pub fn rooms(&self) -> Result<Vec<RoomConfig>, CytubeError> {
        let mut rooms = Vec::new();
        if let Some(name) = &self.channel {
            rooms.push(RoomConfig {
                name: name.clone(),
                password: self.channel_password.clone(),
            });
        }
        rooms.extend(self.channels.iter().cloned());
        if rooms.is_empty() {
            return Err(CytubeError::Config(
                "no channel: set `channel` or `channels`".into(),
            ));
        }
        for room in &rooms {
            let valid = !room.name.is_empty()
                && room.name.len() <= 30
                && room
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !valid {
                return Err(CytubeError::Config(format!(
                    "channel name `{}` is invalid: use 1-30 of a-z, A-Z, 0-9, - and _",
                    room.name
                )));
            }
        }
        let mut names: Vec<String> = rooms.iter().map(|r| r.name.to_lowercase()).collect();
        names.sort();
        names.dedup();
        if names.len() != rooms.len() {
            return Err(CytubeError::Config(
                "a channel is listed twice; one socket can only be in one channel".into(),
            ));
        }
        Ok(rooms)
    }

    /// The snapshot interval as a [`Duration`].
    pub fn state_interval_duration(&self) -> Duration {
        Duration::from_millis(self.state_interval_ms)
    }

    /// The timeout as a [`Duration`].
    pub fn timeout_duration(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_config_and_hides_secrets() {
        let cfg: CytubeConfig = toml::from_str(
            r#"
            server = "https://cytu.be"
            channel = "lab"
            channels = [{ name = "secret", password = "sekrit" }]
            user = "rosey"
            password = "hunter22"
            reconnect = { base = "1s", cap = "1m" }
            state_interval_ms = 250
            tls_roots = ["/etc/cytube/ca.pem"]
            "#,
        )
        .unwrap();
        let rooms = cfg.rooms().unwrap();
        assert_eq!(rooms.len(), 2);
        assert_eq!(
            rooms[1].password.as_ref().map(Secret::expose),
            Some("sekrit")
        );
        let debug = format!("{cfg:?}");
        assert!(
            !debug.contains("hunter22") && !debug.contains("sekrit"),
            "{debug}"
        );
        assert_eq!(cfg.reconnect.cap, Duration::from_secs(60));
        assert_eq!(cfg.state_interval_duration(), Duration::from_millis(250));
        assert_eq!(cfg.tls_roots, [PathBuf::from("/etc/cytube/ca.pem")]);
    }

    #[test]
    fn bad_channels_are_config_errors() {
        assert!(CytubeConfig::new("x").rooms().is_err());
        let bad = CytubeConfig::new("x").room(RoomConfig::new("no spaces!"));
        assert!(bad.rooms().unwrap_err().to_string().contains("invalid"));
        let twice = CytubeConfig::new("x")
            .room(RoomConfig::new("a"))
            .room(RoomConfig::new("A"));
        assert!(twice.rooms().is_err());
    }
}
