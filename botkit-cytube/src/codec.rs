//! The Engine.IO v4 / Socket.IO v5 frame codec: one websocket text frame in, one
//! [`Frame`] out, and back.
//!
//! CyTube speaks Socket.IO over Engine.IO, and a bot only needs the direct-websocket
//! transport, where every websocket text frame carries exactly one Engine.IO packet (no
//! `\x1e`-separated payloads as in long-polling). The codec is pure and synchronous so it
//! can be fuzzed, benchmarked and snapshot-tested on the recorded captures without a
//! network. It never panics: every byte string either decodes or gives a typed
//! [`FrameError`] that says what was wrong, and the connection decides what to do with it
//! (CyTube's own server closes the transport on a malformed packet; a client logs and
//! carries on, because one bad frame must not cost the session).
//!
//! Wire format, as observed on CyTube 3.86 (see `shared/protocols/cytube.md` §2–3):
//!
//! ```text
//! engine:  0{open json}  1 close  2 ping  3 pong  4<socket packet>  5 upgrade  6 noop
//! socket:  <type>[<attachments>-][/<namespace>,][<ack id>][json]
//!          0 connect  1 disconnect  2 event  3 ack  4 connect error  5/6 binary (unused)
//! ```

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

/// Frames longer than this (in bytes) are refused by the decoder. CyTube's server uses the
/// same bound (`maxHttpBufferSize: 1 MiB`) and closes the websocket with code 1009 above it.
pub const MAX_FRAME_LEN: usize = 1 << 20;

/// Why a text frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame was empty; Engine.IO packets have at least a type digit.
    #[error("empty frame")]
    Empty,
    /// The frame exceeded the size bound.
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// The frame's length in bytes.
        len: usize,
        /// The bound it exceeded.
        max: usize,
    },
    /// The first character is not an Engine.IO packet type.
    #[error("unknown Engine.IO packet type {0:?}")]
    UnknownEngineType(char),
    /// The character after `4` is not a Socket.IO packet type.
    #[error("unknown Socket.IO packet type {0:?}")]
    UnknownSocketType(char),
    /// The `0{…}` handshake was not the expected JSON object.
    #[error("bad Engine.IO open packet: {0}")]
    BadOpen(String),
    /// The JSON part of a packet did not parse.
    #[error("bad JSON in {packet} packet: {error}")]
    BadJson {
        /// Which packet kind carried it.
        packet: &'static str,
        /// The parser's message.
        error: String,
    },
    /// An event packet was not an array starting with a string name.
    #[error("event packet is not an array starting with an event name")]
    BadEvent,
    /// An ack packet had no ack id or no array of arguments.
    #[error("ack packet without an id or argument array")]
    BadAck,
    /// A namespace did not end with `,`, or an ack id overflowed.
    #[error("malformed Socket.IO header: {0}")]
    BadHeader(&'static str),
    /// Binary packets (types 5 and 6) need attachment frames; CyTube never sends them.
    #[error("binary Socket.IO packets are not supported")]
    Binary,
    /// A packet that carries no payload had trailing data.
    #[error("unexpected data after a {0} packet")]
    TrailingData(&'static str),
}

/// The parameters of the Engine.IO handshake (`0{…}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenInfo {
    /// Engine.IO session id (unused by CyTube after the handshake).
    pub sid: String,
    /// Transports the server offers to upgrade to (`[]` on a direct websocket).
    #[serde(default)]
    pub upgrades: Vec<String>,
    /// How often the server pings, in milliseconds (25000 on CyTube).
    pub ping_interval: u64,
    /// How long the server waits for a pong, in milliseconds (120000 on CyTube).
    pub ping_timeout: u64,
    /// Largest packet the server accepts, in bytes.
    #[serde(default)]
    pub max_payload: Option<u64>,
}

/// A Socket.IO packet (inside an Engine.IO `4` message).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SocketPacket {
    /// `0`: connect to a namespace; from the server, the ack with `{"sid":…}`.
    Connect {
        /// Namespace, `/` by default.
        namespace: String,
        /// The auth payload (client) or `{"sid":…}` (server).
        data: Option<Value>,
    },
    /// `1`: the namespace is disconnected (after a CyTube kick).
    Disconnect {
        /// Namespace, `/` by default.
        namespace: String,
    },
    /// `2`: an event `[name, args…]`.
    Event {
        /// Namespace, `/` by default.
        namespace: String,
        /// The ack id the sender asked for, if any (CyTube never answers them).
        ack_id: Option<u64>,
        /// Event name.
        name: String,
        /// Event arguments (CyTube sends zero or one).
        args: Vec<Value>,
    },
    /// `3`: the answer to an event sent with an ack id.
    Ack {
        /// Namespace, `/` by default.
        namespace: String,
        /// The ack id answered.
        ack_id: u64,
        /// Answer arguments.
        args: Vec<Value>,
    },
    /// `4`: the server refused the connection to a namespace.
    ConnectError {
        /// Namespace, `/` by default.
        namespace: String,
        /// The `message` field (e.g. `Rate limit exceeded`), or the JSON text.
        message: String,
        /// The whole error payload.
        data: Value,
    },
}

/// One Engine.IO packet: what one websocket text frame carries.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Frame {
    /// `0{…}`: the handshake.
    Open(OpenInfo),
    /// `1`: the transport is closing.
    Close,
    /// `2`: a heartbeat ping (the server pings in Engine.IO v4), with optional probe data.
    Ping(String),
    /// `3`: a heartbeat pong, with optional probe data.
    Pong(String),
    /// `4…`: a Socket.IO packet.
    Message(SocketPacket),
    /// `5`: transport upgrade (polling → websocket only).
    Upgrade,
    /// `6`: no-op.
    Noop,
}

const ROOT: &str = "/";

impl Frame {
    /// Decodes one text frame, refusing frames above [`MAX_FRAME_LEN`].
    pub fn decode(text: &str) -> Result<Frame, FrameError> {
        Self::decode_limited(text, MAX_FRAME_LEN)
    }

    /// Decodes one text frame, refusing frames above `max_len` bytes.
    pub fn decode_limited(text: &str, max_len: usize) -> Result<Frame, FrameError> {
        if text.len() > max_len {
            return Err(FrameError::TooLarge {
                len: text.len(),
                max: max_len,
            });
        }
        let mut chars = text.chars();
        let Some(kind) = chars.next() else {
            return Err(FrameError::Empty);
        };
        let rest = chars.as_str();
        match kind {
            '0' => serde_json::from_str::<OpenInfo>(rest)
                .map(Frame::Open)
                .map_err(|e| FrameError::BadOpen(e.to_string())),
            '1' => no_data(rest, "close").map(|()| Frame::Close),
            '2' => Ok(Frame::Ping(rest.to_owned())),
            '3' => Ok(Frame::Pong(rest.to_owned())),
            '4' => decode_socket(rest).map(Frame::Message),
            '5' => no_data(rest, "upgrade").map(|()| Frame::Upgrade),
            '6' => no_data(rest, "noop").map(|()| Frame::Noop),
            other => Err(FrameError::UnknownEngineType(other)),
        }
    }

    /// Encodes the frame as websocket text.
    pub fn encode(&self) -> String {
        match self {
            Frame::Open(info) => {
                let json = serde_json::json!({
                    "sid": info.sid,
                    "upgrades": info.upgrades,
                    "pingInterval": info.ping_interval,
                    "pingTimeout": info.ping_timeout,
                    "maxPayload": info.max_payload,
                });
                format!("0{json}")
            }
            Frame::Close => "1".to_owned(),
            Frame::Ping(data) => format!("2{data}"),
            Frame::Pong(data) => format!("3{data}"),
            Frame::Message(packet) => format!("4{}", packet.encode()),
            Frame::Upgrade => "5".to_owned(),
            Frame::Noop => "6".to_owned(),
        }
    }

    /// An event on the root namespace with no ack id: `42["name",arg]`.
    pub fn event(name: &str, arg: Option<Value>) -> Frame {
        Frame::Message(SocketPacket::Event {
            namespace: ROOT.to_owned(),
            ack_id: None,
            name: name.to_owned(),
            args: arg.into_iter().collect(),
        })
    }

    /// The client's connect to the root namespace: `40`.
    pub fn connect() -> Frame {
        Frame::Message(SocketPacket::Connect {
            namespace: ROOT.to_owned(),
            data: None,
        })
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl SocketPacket {
    /// Encodes the packet without the Engine.IO `4` prefix.
    pub fn encode(&self) -> String {
        let ns = |namespace: &str| {
            if namespace == ROOT || namespace.is_empty() {
                String::new()
            } else {
                format!("{namespace},")
            }
        };
        let array = |name: Option<&str>, args: &[Value]| {
            let mut items = Vec::with_capacity(args.len() + 1);
            if let Some(name) = name {
                items.push(Value::String(name.to_owned()));
            }
            items.extend(args.iter().cloned());
            Value::Array(items).to_string()
        };
        match self {
            SocketPacket::Connect { namespace, data } => {
                let data = data.as_ref().map(Value::to_string).unwrap_or_default();
                format!("0{}{data}", ns(namespace))
            }
            SocketPacket::Disconnect { namespace } => format!("1{}", ns(namespace)),
            SocketPacket::Event {
                namespace,
                ack_id,
                name,
                args,
            } => {
                let id = ack_id.map(|i| i.to_string()).unwrap_or_default();
                format!("2{}{id}{}", ns(namespace), array(Some(name), args))
            }
            SocketPacket::Ack {
                namespace,
                ack_id,
                args,
            } => format!("3{}{ack_id}{}", ns(namespace), array(None, args)),
            SocketPacket::ConnectError {
                namespace, data, ..
            } => format!("4{}{data}", ns(namespace)),
        }
    }
}

fn no_data(rest: &str, packet: &'static str) -> Result<(), FrameError> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(FrameError::TrailingData(packet))
    }
}

fn parse_json(text: &str, packet: &'static str) -> Result<Value, FrameError> {
    serde_json::from_str(text).map_err(|e| FrameError::BadJson {
        packet,
        error: e.to_string(),
    })
}

/// Splits `/nsp,rest` into the namespace and the rest; `rest` without a leading `/` is on
/// the root namespace.
fn split_namespace(text: &str) -> Result<(String, &str), FrameError> {
    if !text.starts_with('/') {
        return Ok((ROOT.to_owned(), text));
    }
    match text.split_once(',') {
        Some((namespace, rest)) => Ok((namespace.to_owned(), rest)),
        // `41/admin` (a disconnect with no payload) may omit the comma.
        None if !text.contains(['[', '{']) => Ok((text.to_owned(), "")),
        None => Err(FrameError::BadHeader("namespace without a closing comma")),
    }
}

/// Splits a leading decimal ack id off `text`.
fn split_ack_id(text: &str) -> Result<(Option<u64>, &str), FrameError> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Ok((None, text));
    }
    let (id, rest) = text.split_at(digits);
    id.parse::<u64>()
        .map(|id| (Some(id), rest))
        .map_err(|_| FrameError::BadHeader("ack id out of range"))
}

fn decode_socket(text: &str) -> Result<SocketPacket, FrameError> {
    let mut chars = text.chars();
    let Some(kind) = chars.next() else {
        return Err(FrameError::UnknownSocketType('\0'));
    };
    let rest = chars.as_str();
    match kind {
        '0' => {
            let (namespace, rest) = split_namespace(rest)?;
            let data = if rest.is_empty() {
                None
            } else {
                Some(parse_json(rest, "connect")?)
            };
            Ok(SocketPacket::Connect { namespace, data })
        }
        '1' => {
            let (namespace, rest) = split_namespace(rest)?;
            no_data(rest, "disconnect")?;
            Ok(SocketPacket::Disconnect { namespace })
        }
        '2' => {
            let (namespace, rest) = split_namespace(rest)?;
            let (ack_id, rest) = split_ack_id(rest)?;
            let Value::Array(items) = parse_json(rest, "event")? else {
                return Err(FrameError::BadEvent);
            };
            let mut items = items.into_iter();
            let Some(Value::String(name)) = items.next() else {
                return Err(FrameError::BadEvent);
            };
            Ok(SocketPacket::Event {
                namespace,
                ack_id,
                name,
                args: items.collect(),
            })
        }
        '3' => {
            let (namespace, rest) = split_namespace(rest)?;
            let (Some(ack_id), rest) = split_ack_id(rest)? else {
                return Err(FrameError::BadAck);
            };
            let Value::Array(args) = parse_json(rest, "ack")? else {
                return Err(FrameError::BadAck);
            };
            Ok(SocketPacket::Ack {
                namespace,
                ack_id,
                args,
            })
        }
        '4' => {
            let (namespace, rest) = split_namespace(rest)?;
            let data = parse_json(rest, "connect error")?;
            let message = match data.get("message") {
                Some(Value::String(m)) => m.clone(),
                _ => data.to_string(),
            };
            Ok(SocketPacket::ConnectError {
                namespace,
                message,
                data,
            })
        }
        '5' | '6' => Err(FrameError::Binary),
        other => Err(FrameError::UnknownSocketType(other)),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn decodes_the_handshake_from_the_capture() {
        let frame = Frame::decode(r#"0{"sid":"cV-ByOQyyRo2TGIrAAAA","upgrades":[],"pingInterval":25000,"pingTimeout":120000,"maxPayload":1048576}"#).unwrap();
        let Frame::Open(info) = frame else {
            panic!("{frame:?}")
        };
        assert_eq!(info.ping_interval, 25_000);
        assert_eq!(info.ping_timeout, 120_000);
        assert_eq!(info.max_payload, Some(1_048_576));
    }

    #[test]
    fn decodes_socket_packets() {
        assert_eq!(Frame::decode("2").unwrap(), Frame::Ping(String::new()));
        assert_eq!(
            Frame::decode("3probe").unwrap(),
            Frame::Pong("probe".into())
        );
        assert_eq!(
            Frame::decode(r#"40{"sid":"kGpWLoi4msh52nzEAAAB"}"#).unwrap(),
            Frame::Message(SocketPacket::Connect {
                namespace: "/".into(),
                data: Some(json!({"sid": "kGpWLoi4msh52nzEAAAB"}))
            })
        );
        assert_eq!(
            Frame::decode("41").unwrap(),
            Frame::Message(SocketPacket::Disconnect {
                namespace: "/".into()
            })
        );
        assert_eq!(
            Frame::decode(r#"42["rank",1.5]"#).unwrap(),
            Frame::event("rank", Some(json!(1.5)))
        );
        assert_eq!(
            Frame::decode(r#"42["channelNotRegistered"]"#).unwrap(),
            Frame::event("channelNotRegistered", None)
        );
        assert_eq!(
            Frame::decode(r#"421["chatMsg",{"msg":"with ack id"}]"#).unwrap(),
            Frame::Message(SocketPacket::Event {
                namespace: "/".into(),
                ack_id: Some(1),
                name: "chatMsg".into(),
                args: vec![json!({"msg": "with ack id"})]
            })
        );
        assert_eq!(
            Frame::decode(r#"44/admin,{"message":"Invalid namespace"}"#).unwrap(),
            Frame::Message(SocketPacket::ConnectError {
                namespace: "/admin".into(),
                message: "Invalid namespace".into(),
                data: json!({"message": "Invalid namespace"})
            })
        );
        assert_eq!(
            Frame::decode(r#"4312[{"ok":true}]"#).unwrap(),
            Frame::Message(SocketPacket::Ack {
                namespace: "/".into(),
                ack_id: 12,
                args: vec![json!({"ok": true})]
            })
        );
    }

    #[test]
    fn typed_errors_for_bad_frames() {
        assert_eq!(Frame::decode(""), Err(FrameError::Empty));
        assert_eq!(Frame::decode("9"), Err(FrameError::UnknownEngineType('9')));
        assert_eq!(Frame::decode("47"), Err(FrameError::UnknownSocketType('7')));
        assert_eq!(Frame::decode("4"), Err(FrameError::UnknownSocketType('\0')));
        assert!(matches!(
            Frame::decode(r#"42["chatMsg",{bad json"#),
            Err(FrameError::BadJson {
                packet: "event",
                ..
            })
        ));
        assert_eq!(Frame::decode(r#"42{"a":1}"#), Err(FrameError::BadEvent));
        assert_eq!(Frame::decode("42[1,2]"), Err(FrameError::BadEvent));
        assert_eq!(Frame::decode("451-[]"), Err(FrameError::Binary));
        assert_eq!(Frame::decode("1x"), Err(FrameError::TrailingData("close")));
        assert!(matches!(
            Frame::decode("42999999999999999999999[\"x\"]"),
            Err(FrameError::BadHeader(_))
        ));
        assert_eq!(
            Frame::decode_limited("42[\"x\"]", 3),
            Err(FrameError::TooLarge { len: 7, max: 3 })
        );
    }

    #[test]
    fn encodes_what_cytube_expects() {
        assert_eq!(Frame::connect().encode(), "40");
        assert_eq!(Frame::Pong(String::new()).encode(), "3");
        assert_eq!(
            Frame::event("joinChannel", Some(json!({"name": "lab"}))).encode(),
            r#"42["joinChannel",{"name":"lab"}]"#
        );
        assert_eq!(Frame::event("voteskip", None).encode(), r#"42["voteskip"]"#);
        assert_eq!(
            Frame::Message(SocketPacket::Connect {
                namespace: "/admin".into(),
                data: None
            })
            .encode(),
            "40/admin,"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = Frame::decode(&text);
        }

        #[test]
        fn arbitrary_socket_frames_never_panic(
            prefix in "4[0-6]?(/[a-z]{0,5},?)?[0-9]{0,25}",
            body in "[\\[\\]{}\",:0-9a-z\\\\ ]{0,60}",
        ) {
            let _ = Frame::decode(&format!("{prefix}{body}"));
        }

        #[test]
        fn events_round_trip(name in "[a-zA-Z]{1,12}", n in any::<i64>(), s in ".{0,40}", ack in proptest::option::of(0u64..1000)) {
            let frame = Frame::Message(SocketPacket::Event {
                namespace: "/".into(),
                ack_id: ack,
                name,
                args: vec![json!({"n": n, "s": s})],
            });
            prop_assert_eq!(Frame::decode(&frame.encode()).unwrap(), frame);
        }
    }
}
