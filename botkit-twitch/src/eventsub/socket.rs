//! One EventSub WebSocket: frames in, never anything out.
//!
//! Unlike the IRC transport, the session reads the socket itself (no pump task): an
//! EventSub client must not send a single frame (Twitch answers with close 4001), so
//! there is no writer to share, and keeping the socket in the session makes holding two
//! at once during a `session_reconnect` hand-over simple. Pings are answered by
//! tungstenite while reading; a close frame becomes an [`EventSubError::Closed`] with
//! its [`CloseCause`].

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::error::{CloseCause, EventSubError};

/// Largest frame accepted: EventSub messages are a few kilobytes, so a server sending
/// more is broken or hostile, and the connection ends instead of memory growing.
pub(crate) const MAX_FRAME: usize = 1 << 20;

/// What reading the socket gave.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A text frame (an EventSub message).
    Text(String),
    /// The connection ended, and why.
    Ended(EventSubError),
}

/// An open EventSub socket.
pub(crate) struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    url: String,
}

impl Socket {
    /// Opens a socket to `url` (`wss://` with the crate's rustls setup, `ws://` plain).
    pub(crate) async fn connect(url: &str) -> Result<Self, EventSubError> {
        let connector = url
            .starts_with("wss://")
            .then(|| tokio_tungstenite::Connector::Rustls(crate::transport::tls_config()));
        let limits = WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME))
            .max_frame_size(Some(MAX_FRAME));
        let (ws, _) =
            tokio_tungstenite::connect_async_tls_with_config(url, Some(limits), false, connector)
                .await
                .map_err(|e| EventSubError::Connect {
                    url: url.to_owned(),
                    reason: e.to_string(),
                })?;
        Ok(Self {
            ws,
            url: url.to_owned(),
        })
    }

    /// The next text frame, or why the connection ended. Cancel-safe.
    pub(crate) async fn next(&mut self) -> Incoming {
        let ended = |reason: String| {
            Incoming::Ended(EventSubError::Connect {
                url: self.url.clone(),
                reason,
            })
        };
        loop {
            match self.ws.next().await {
                None => return ended("the server ended the connection".to_owned()),
                Some(Err(e)) => return ended(e.to_string()),
                Some(Ok(Message::Text(text))) => return Incoming::Text(text.as_str().to_owned()),
                Some(Ok(Message::Close(Some(frame)))) => {
                    return Incoming::Ended(EventSubError::Closed {
                        cause: CloseCause::from_code(u16::from(frame.code)),
                        reason: frame.reason.as_str().to_owned(),
                    });
                }
                Some(Ok(Message::Close(None))) => {
                    return ended("the server closed the socket without a code".to_owned());
                }
                // Pings are answered by tungstenite; EventSub sends no binary frames.
                Some(Ok(_)) => {}
            }
        }
    }

    /// Closes the socket politely without waiting for it (the close handshake is the one
    /// frame a client may send).
    pub(crate) fn close_in_background(mut self) {
        tokio::spawn(async move {
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(5), self.ws.close(None)).await;
        });
    }
}
