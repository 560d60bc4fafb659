//! Finding the socket server: `GET /socketconfig/<channel>.json`.
//!
//! A CyTube deployment usually runs socket.io on its own port (1337, 8443…), advertised by
//! the web server per channel. The official client prefers a `secure` entry, so does this.
//! The answer is a base URL; the Engine.IO endpoint is `<base>/socket.io/` with
//! `EIO=4&transport=websocket` (no polling round is needed).

use std::time::Duration;

use serde::Deserialize;

use crate::error::CytubeError;

/// One entry of the `servers` list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SocketServer {
    /// Base URL, e.g. `https://cytu.be:10443`.
    pub url: String,
    /// Whether it is TLS.
    #[serde(default)]
    pub secure: bool,
    /// Whether it is an IPv6-only entry.
    #[serde(default, rename = "ipv6")]
    pub ipv6: bool,
}

#[derive(Debug, Deserialize)]
struct SocketConfig {
    #[serde(default)]
    servers: Vec<SocketServer>,
    #[serde(default)]
    error: Option<String>,
}

/// Picks the server the official client would: the first secure one, else the first.
pub fn choose(servers: &[SocketServer]) -> Option<&SocketServer> {
    servers
        .iter()
        .find(|s| s.secure && !s.ipv6)
        .or_else(|| servers.iter().find(|s| s.secure))
        .or_else(|| servers.first())
}

/// The Engine.IO websocket URL for a base URL (`http(s)://` or `ws(s)://`).
pub fn websocket_url(base: &str) -> Result<String, CytubeError> {
    let base = base.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if base.starts_with("ws://") || base.starts_with("wss://") {
        base.to_owned()
    } else {
        return Err(CytubeError::Config(format!(
            "`{base}` is not an http(s):// or ws(s):// URL"
        )));
    };
    let ws = ws.strip_suffix("/socket.io").unwrap_or(&ws).to_owned();
    Ok(format!("{ws}/socket.io/?EIO=4&transport=websocket"))
}

/// Asks `web` (the web server's base URL) for the socket server of `channel` and returns
/// the websocket URL to connect to.
pub async fn discover(
    client: &reqwest::Client,
    web: &str,
    channel: &str,
    timeout: Duration,
) -> Result<String, CytubeError> {
    let url = format!("{}/socketconfig/{channel}.json", web.trim_end_matches('/'));
    let fail = |e: String| CytubeError::Discovery(format!("{url}: {e}"));
    let response = client
        .get(&url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let status = response.status();
    let body: SocketConfig = response.json().await.map_err(|e| fail(e.to_string()))?;
    if let Some(error) = body.error {
        return Err(fail(format!("{status}: {error}")));
    }
    let server = choose(&body.servers).ok_or_else(|| fail("no servers listed".into()))?;
    websocket_url(&server.url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_secure_servers() {
        let servers: Vec<SocketServer> = serde_json::from_str(
            r#"[{"url":"http://a:1337","secure":false},{"url":"https://a:8443","secure":true},{"url":"https://a:8443","secure":true,"ipv6":true}]"#,
        )
        .unwrap();
        assert_eq!(
            choose(&servers).map(|s| s.url.as_str()),
            Some("https://a:8443")
        );
        assert_eq!(
            choose(&servers[..1]).map(|s| s.url.as_str()),
            Some("http://a:1337")
        );
        assert_eq!(choose(&[]), None);
    }

    #[test]
    fn websocket_urls() {
        assert_eq!(
            websocket_url("https://cytu.be:10443/").unwrap(),
            "wss://cytu.be:10443/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(
            websocket_url("ws://127.0.0.1:1337").unwrap(),
            "ws://127.0.0.1:1337/socket.io/?EIO=4&transport=websocket"
        );
        assert!(websocket_url("ftp://x").is_err());
    }
}
