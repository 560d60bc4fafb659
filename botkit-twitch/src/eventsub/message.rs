//! The EventSub WebSocket message decoder.
//!
//! Every frame is `{metadata, payload}`; `metadata.message_type` says what the payload
//! holds. The frame is parsed once into a [`serde_json::Value`] (kept whole as the event's
//! raw payload) and the parts the session acts on are read from it into small typed
//! structs. Anything unexpected is an [`DecodeError`] naming what was wrong, never a
//! panic: the session logs it and reads on.
//!
//! One quirk is absorbed here: the twitch-cli mock announces a revoked subscription as a
//! `notification` whose subscription status is not `enabled` and which has no `event`
//! (see `revoked_subscription_as_sent_by_twitch-cli.json`). Such a frame decodes to
//! [`Message::Revocation`], like the real `revocation` frame.

use serde::Deserialize;
use serde_json::Value;

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame is not JSON.
    #[error("EventSub frame is not JSON: {0}")]
    NotJson(String),
    /// The frame is JSON but not shaped like an EventSub message.
    #[error("EventSub `{message_type}` frame is malformed: {reason}")]
    Malformed {
        /// The frame's `metadata.message_type`, or `?` when even that is missing.
        message_type: String,
        /// What is missing or of the wrong type.
        reason: String,
    },
}

/// The `metadata` object every frame carries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Metadata {
    /// Unique per message; a redelivered message repeats it.
    pub message_id: String,
    /// `session_welcome`, `session_keepalive`, `notification`, `session_reconnect`, `revocation`.
    pub message_type: String,
    /// RFC 3339 with nanoseconds.
    pub message_timestamp: String,
    /// The subscription type (notifications and revocations).
    #[serde(default)]
    pub subscription_type: Option<String>,
    /// The subscription version (notifications and revocations).
    #[serde(default)]
    pub subscription_version: Option<String>,
}

/// `payload.session` of a welcome or reconnect message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Session {
    /// The session id subscriptions are created for.
    pub id: String,
    /// `connected` or `reconnecting`.
    #[serde(default)]
    pub status: String,
    /// Seconds without any frame after which the connection counts as dead (welcome only).
    #[serde(default)]
    pub keepalive_timeout_seconds: Option<u64>,
    /// Where to connect next (reconnect only).
    #[serde(default)]
    pub reconnect_url: Option<String>,
}

/// `payload.subscription` of a notification or revocation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SubscriptionInfo {
    /// Twitch's subscription id.
    pub id: String,
    /// `enabled`, or the revocation reason (`authorization_revoked`, `user_removed`, `version_removed`).
    #[serde(default)]
    pub status: String,
    /// The subscription type, e.g. `channel.chat.message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The type's version.
    #[serde(default)]
    pub version: String,
    /// The condition it was created with.
    #[serde(default)]
    pub condition: Value,
}

/// What a frame says.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Message {
    /// `session_welcome`: the session is ready for subscriptions.
    Welcome(Session),
    /// `session_keepalive`: the connection is alive.
    Keepalive,
    /// `notification`: an event of a subscription.
    Notification {
        /// The subscription it belongs to.
        subscription: SubscriptionInfo,
        /// The event object, shaped by the subscription type.
        event: Value,
    },
    /// `session_reconnect`: connect to `reconnect_url` before this socket is closed.
    Reconnect(Session),
    /// `revocation` (or the mock's revoked notification): no more events for it.
    Revocation(SubscriptionInfo),
    /// A message type this crate does not know; logged and skipped.
    Unknown(String),
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The frame's metadata.
    pub metadata: Metadata,
    /// The typed message.
    pub message: Message,
    /// The whole frame as JSON, kept as the event's raw payload.
    pub raw: Value,
}

fn malformed(message_type: &str, reason: impl std::fmt::Display) -> DecodeError {
    DecodeError::Malformed {
        message_type: message_type.to_owned(),
        reason: reason.to_string(),
    }
}

fn field<T: serde::de::DeserializeOwned>(
    payload: &Value,
    key: &str,
    message_type: &str,
) -> Result<T, DecodeError> {
    let value = payload
        .get(key)
        .ok_or_else(|| malformed(message_type, format!("`payload.{key}` is missing")))?;
    T::deserialize(value).map_err(|e| malformed(message_type, format!("`payload.{key}`: {e}")))
}

/// Decodes one text frame.
pub fn decode(text: &str) -> Result<Frame, DecodeError> {
    let raw: Value = serde_json::from_str(text).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    let metadata = raw
        .get("metadata")
        .ok_or_else(|| malformed("?", "`metadata` is missing"))?;
    let metadata =
        Metadata::deserialize(metadata).map_err(|e| malformed("?", format!("`metadata`: {e}")))?;
    let kind = metadata.message_type.as_str();
    let empty = Value::Null;
    let payload = raw.get("payload").unwrap_or(&empty);
    let message = match kind {
        "session_welcome" => Message::Welcome(field(payload, "session", kind)?),
        "session_keepalive" => Message::Keepalive,
        "session_reconnect" => {
            let session: Session = field(payload, "session", kind)?;
            if session.reconnect_url.as_deref().is_none_or(str::is_empty) {
                return Err(malformed(
                    kind,
                    "`payload.session.reconnect_url` is missing",
                ));
            }
            Message::Reconnect(session)
        }
        "revocation" => Message::Revocation(field(payload, "subscription", kind)?),
        "notification" => {
            let subscription: SubscriptionInfo = field(payload, "subscription", kind)?;
            match payload.get("event") {
                Some(event) if event.is_object() => Message::Notification {
                    subscription,
                    event: event.clone(),
                },
                _ if !subscription.status.is_empty() && subscription.status != "enabled" => {
                    Message::Revocation(subscription)
                }
                _ => return Err(malformed(kind, "`payload.event` is missing")),
            }
        }
        other => Message::Unknown(other.to_owned()),
    };
    Ok(Frame {
        metadata,
        message,
        raw,
    })
}

/// Milliseconds since the Unix epoch of an RFC 3339 timestamp such as
/// `2023-11-06T18:11:47.492253549Z` or `…+02:00`; `None` when it is not one. Written
/// out here because EventSub's nanosecond stamps are the crate's only dates.
pub fn timestamp_millis(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || b.get(13) != Some(&b':') {
        return None;
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(16) != Some(&b':') {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = text.get(19..)?;
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let first3: String = frac.chars().take(digits.min(3)).collect();
        millis = format!("{first3:0<3}").parse::<i64>().ok()?;
        rest = frac.get(digits..)?;
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let ob = rest.as_bytes();
            if ob.len() != 6 || ob.get(3) != Some(&b':') {
                return None;
            }
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (h * 60 + m)
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Some(secs * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welcome_and_keepalive() {
        let frame = decode(
            r#"{"metadata":{"message_id":"a","message_type":"session_welcome","message_timestamp":"2023-07-19T14:56:51.634234626Z"},"payload":{"session":{"id":"S1","status":"connected","connected_at":"2023-07-19T14:56:51.616329898Z","keepalive_timeout_seconds":10,"reconnect_url":null}}}"#,
        )
        .unwrap();
        match frame.message {
            Message::Welcome(s) => {
                assert_eq!(s.id, "S1");
                assert_eq!(s.keepalive_timeout_seconds, Some(10));
            }
            other => panic!("{other:?}"),
        }
        let keepalive = decode(r#"{"metadata":{"message_id":"b","message_type":"session_keepalive","message_timestamp":"x"},"payload":{}}"#).unwrap();
        assert_eq!(keepalive.message, Message::Keepalive);
    }

    #[test]
    fn bad_frames_are_errors_naming_the_problem() {
        assert!(matches!(decode("{"), Err(DecodeError::NotJson(_))));
        assert!(matches!(decode("[]"), Err(DecodeError::Malformed { .. })));
        let err = decode(r#"{"metadata":{"message_id":"b","message_type":"session_welcome","message_timestamp":"x"},"payload":{}}"#).unwrap_err();
        assert!(err.to_string().contains("payload.session"), "{err}");
        let err = decode(r#"{"metadata":{"message_id":"b","message_type":"session_reconnect","message_timestamp":"x"},"payload":{"session":{"id":"x","reconnect_url":null}}}"#).unwrap_err();
        assert!(err.to_string().contains("reconnect_url"), "{err}");
        let unknown = decode(
            r#"{"metadata":{"message_id":"b","message_type":"party","message_timestamp":"x"}}"#,
        )
        .unwrap();
        assert_eq!(unknown.message, Message::Unknown("party".into()));
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            timestamp_millis("2023-11-06T18:11:47.492253549Z"),
            Some(1_699_294_307_492)
        );
        assert_eq!(timestamp_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(timestamp_millis("1970-01-01T02:00:00.5+02:00"), Some(500));
        assert_eq!(
            timestamp_millis("2026-11-23T23:48:29.504443358Z"),
            Some(1_795_477_709_504)
        );
        for bad in [
            "",
            "x",
            "2023-13-01T00:00:00Z",
            "2023-01-01T00:00:00",
            "2023-01-01T00:00:00.Z",
            "2023-01-01T00:00:00+2",
        ] {
            assert_eq!(timestamp_millis(bad), None, "{bad}");
        }
    }
}
