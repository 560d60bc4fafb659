//! The byte pipes under the IRC session: secure WebSocket or TLS over TCP.
//!
//! Twitch offers `wss://irc-ws.chat.twitch.tv:443` and `ircs://irc.chat.twitch.tv:6697`;
//! the plain `ws://` and `irc://` forms exist for local test servers. Whatever the pipe,
//! the session sees the same thing: a [`Link`] with a channel of incoming lines and a
//! channel for outgoing ones. One task per connection owns the socket, so reading never
//! races writing and dropping the [`Link`] closes the connection.
//!
//! WebSocket frames may carry several `\r\n`-separated lines; TCP is read into a buffer
//! and split at `\n`. A line longer than [`MAX_LINE`] ends the connection instead of
//! growing memory without bound. TLS uses rustls with the aws-lc-rs provider and the
//! webpki root store, the one TLS stack of the workspace.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, pki_types::ServerName};
use tokio_tungstenite::tungstenite::Message;

use crate::error::TwitchError;

/// Twitch's secure WebSocket endpoint, the default.
pub const DEFAULT_URL: &str = "wss://irc-ws.chat.twitch.tv:443";

/// Longest line accepted from the server (Twitch lines stay far below this).
pub const MAX_LINE: usize = 64 * 1024;

/// Where and how to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// WebSocket (`ws://` or `wss://`); the whole URL is kept for the handshake.
    WebSocket {
        /// The URL.
        url: String,
    },
    /// IRC over TCP (`irc://`, plain) or TLS (`ircs://`).
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
        /// Whether to wrap the stream in TLS.
        tls: bool,
    },
}

impl Endpoint {
    /// Reads `wss://…`, `ws://…`, `ircs://host[:port]` (default port 6697) or
    /// `irc://host[:port]` (default 6667).
    pub fn parse(url: &str) -> Result<Self, TwitchError> {
        let bad = |why: &str| TwitchError::Config(format!("url `{url}`: {why}"));
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected wss://, ws://, ircs:// or irc://"))?;
        match scheme {
            "ws" | "wss" => Ok(Endpoint::WebSocket {
                url: url.to_owned(),
            }),
            "irc" | "ircs" => {
                let tls = scheme == "ircs";
                let authority = rest.split('/').next().unwrap_or("");
                let (host, port) = match authority.rsplit_once(':') {
                    Some((h, p)) => (h, p.parse().map_err(|_| bad("the port is not a number"))?),
                    None => (authority, if tls { 6697 } else { 6667 }),
                };
                if host.is_empty() {
                    return Err(bad("no host"));
                }
                Ok(Endpoint::Tcp {
                    host: host.to_owned(),
                    port,
                    tls,
                })
            }
            _ => Err(bad("expected wss://, ws://, ircs:// or irc://")),
        }
    }
}

/// One open connection: lines in, lines out.
#[derive(Debug)]
pub struct Link {
    out: mpsc::Sender<String>,
    incoming: mpsc::Receiver<Result<String, String>>,
    task: JoinHandle<()>,
}

impl Link {
    /// A sender for outgoing lines (without CRLF), usable from other tasks.
    pub fn sender(&self) -> mpsc::Sender<String> {
        self.out.clone()
    }

    /// Queues one outgoing line (without CRLF).
    pub async fn send(&self, line: String) -> Result<(), String> {
        self.out
            .send(line)
            .await
            .map_err(|_| "the connection is closed".to_owned())
    }

    /// The next incoming line; `Err` when the connection ended. Cancel-safe.
    pub async fn recv(&mut self) -> Result<String, String> {
        match self.incoming.recv().await {
            Some(line) => line,
            None => Err("the connection is closed".to_owned()),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) fn tls_config() -> Arc<ClientConfig> {
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth());
    match config {
        Ok(c) => Arc::new(c),
        // The provider's defaults always include TLS 1.2/1.3; fall back to the builder's
        // process default rather than panic should that ever change.
        Err(e) => {
            tracing::error!(error = %e, "TLS configuration failed; using rustls defaults");
            Arc::new(
                ClientConfig::builder()
                    .with_root_certificates(RootCertStore::empty())
                    .with_no_client_auth(),
            )
        }
    }
}

/// Opens a connection to `endpoint`.
pub async fn connect(endpoint: &Endpoint) -> Result<Link, TwitchError> {
    let fail = |reason: String| TwitchError::Connect {
        url: match endpoint {
            Endpoint::WebSocket { url } => url.clone(),
            Endpoint::Tcp { host, port, .. } => format!("{host}:{port}"),
        },
        reason,
    };
    let (out_tx, out_rx) = mpsc::channel::<String>(64);
    let (in_tx, in_rx) = mpsc::channel(256);
    let task = match endpoint {
        Endpoint::WebSocket { url } => {
            let connector = url
                .starts_with("wss://")
                .then(|| tokio_tungstenite::Connector::Rustls(tls_config()));
            let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
                url.as_str(),
                None,
                false,
                connector,
            )
            .await
            .map_err(|e| fail(e.to_string()))?;
            tokio::spawn(pump_ws(ws, out_rx, in_tx))
        }
        Endpoint::Tcp { host, port, tls } => {
            let tcp = TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|e| fail(e.to_string()))?;
            // Chat is many small lines: do not hold them back for coalescing.
            let _ = tcp.set_nodelay(true);
            if *tls {
                let name = ServerName::try_from(host.clone()).map_err(|e| fail(e.to_string()))?;
                let stream = TlsConnector::from(tls_config())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                tokio::spawn(pump_tcp(stream, out_rx, in_tx))
            } else {
                tokio::spawn(pump_tcp(tcp, out_rx, in_tx))
            }
        }
    };
    Ok(Link {
        out: out_tx,
        incoming: in_rx,
        task,
    })
}

async fn pump_tcp<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    mut out: mpsc::Receiver<String>,
    incoming: mpsc::Sender<Result<String, String>>,
) {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let end = loop {
        // Deliver every complete line already buffered.
        while let Some(pos) = memchr::memchr(b'\n', &buf) {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            if !text.is_empty() && incoming.send(Ok(text.to_owned())).await.is_err() {
                return;
            }
        }
        if buf.len() > MAX_LINE {
            break format!("the server sent a line longer than {MAX_LINE} bytes");
        }
        tokio::select! {
            read = reader.read(&mut chunk) => match read {
                Ok(0) => break "the server closed the connection".to_owned(),
                Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e) => break e.to_string(),
            },
            line = out.recv() => match line {
                Some(line) => {
                    let written = async {
                        writer.write_all(line.as_bytes()).await?;
                        writer.write_all(b"\r\n").await?;
                        writer.flush().await
                    };
                    if let Err(e) = written.await {
                        break e.to_string();
                    }
                }
                None => return,
            },
        }
    };
    let _ = incoming.send(Err(end)).await;
}

async fn pump_ws<S>(
    mut ws: tokio_tungstenite::WebSocketStream<S>,
    mut out: mpsc::Receiver<String>,
    incoming: mpsc::Sender<Result<String, String>>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let end = loop {
        tokio::select! {
            frame = ws.next() => match frame {
                None => break "the server closed the connection".to_owned(),
                Some(Err(e)) => break e.to_string(),
                Some(Ok(Message::Text(text))) => {
                    for line in crate::irc::lines(text.as_str()) {
                        if incoming.send(Ok(line.to_owned())).await.is_err() {
                            return;
                        }
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    break format!("the server closed the connection ({frame:?})");
                }
                // Pings are answered by tungstenite itself; binary frames are not IRC.
                Some(Ok(_)) => {}
            },
            line = out.recv() => match line {
                Some(line) => {
                    if let Err(e) = ws.send(Message::text(format!("{line}\r\n"))).await {
                        break e.to_string();
                    }
                }
                None => {
                    let _ = ws.close(None).await;
                    return;
                }
            },
        }
    };
    let _ = incoming.send(Err(end)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::parse("ircs://irc.chat.twitch.tv").unwrap(),
            Endpoint::Tcp {
                host: "irc.chat.twitch.tv".into(),
                port: 6697,
                tls: true
            }
        );
        assert_eq!(
            Endpoint::parse("irc://127.0.0.1:4000").unwrap(),
            Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 4000,
                tls: false
            }
        );
        assert!(matches!(
            Endpoint::parse(DEFAULT_URL).unwrap(),
            Endpoint::WebSocket { .. }
        ));
        assert!(Endpoint::parse("http://x").is_err());
        assert!(Endpoint::parse("irc://:5").is_err());
        assert!(Endpoint::parse("irc://h:port").is_err());
    }

    #[test]
    fn tls_config_builds_with_aws_lc() {
        assert!(!tls_config().crypto_provider().cipher_suites.is_empty());
    }
}
