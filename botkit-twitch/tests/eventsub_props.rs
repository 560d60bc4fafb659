//! The EventSub decoder and normalizer never panic, whatever a server sends.
//!
//! Arbitrary text mostly fails at the JSON parse, so a second strategy builds frames
//! with the real envelope — every message type, and fields of every JSON type where the
//! decoder expects strings, objects or numbers — and runs whatever decodes through the
//! normalizer as the session would.

use botkit_twitch::eventsub::EventSubNormalizer;
use botkit_twitch::eventsub::message::{Message, decode, timestamp_millis};
use proptest::prelude::*;
use serde_json::{Value, json};

fn exercise(text: &str) {
    let Ok(frame) = decode(text) else {
        return;
    };
    let _ = timestamp_millis(&frame.metadata.message_timestamp);
    if let Message::Notification {
        subscription,
        event,
    } = &frame.message
    {
        let normalizer = EventSubNormalizer::new("main", Some("1"));
        let _ = normalizer.notification(&frame.metadata, subscription, event, &frame.raw, 0);
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z0-9_.:TZ -]{0,30}".prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "id",
                    "type",
                    "version",
                    "status",
                    "condition",
                    "session",
                    "event",
                    "subscription",
                    "message_id",
                    "message",
                    "text",
                    "badges",
                    "set_id",
                    "broadcaster_user_login",
                    "chatter_user_id",
                    "chatter_user_login",
                    "user_id",
                    "user_login",
                    "is_permanent",
                    "ends_at",
                    "banned_at",
                    "reconnect_url",
                    "keepalive_timeout_seconds",
                    "target_user_id",
                    "target_user_login",
                    "reply",
                    "parent_message_id",
                    "is_anonymous",
                ])
                .prop_map(str::to_owned),
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn envelope() -> impl Strategy<Value = String> {
    let message_type = prop::sample::select(vec![
        "session_welcome",
        "session_keepalive",
        "notification",
        "session_reconnect",
        "revocation",
        "other",
    ]);
    let kind = prop::sample::select(vec![
        "channel.chat.message",
        "channel.chat.message_delete",
        "channel.chat.clear",
        "channel.ban",
        "channel.cheer",
        "channel.unban",
        "a.b..c",
        "",
    ]);
    (
        message_type,
        kind,
        any_json(),
        any_json(),
        any_json(),
        "[0-9TZ:.+-]{0,35}",
    )
        .prop_map(
            |(message_type, kind, session, subscription_extra, event, stamp)| {
                let mut subscription =
                    json!({"id": "s", "type": kind, "version": "1", "status": "enabled"});
                if let (Some(obj), Value::Object(extra)) =
                    (subscription.as_object_mut(), subscription_extra)
                {
                    obj.extend(extra);
                }
                json!({
                    "metadata": {
                        "message_id": "m",
                        "message_type": message_type,
                        "message_timestamp": stamp,
                        "subscription_type": kind,
                    },
                    "payload": {"session": session, "subscription": subscription, "event": event},
                })
                .to_string()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        exercise(&text);
    }

    #[test]
    fn arbitrary_frames_never_panic(text in envelope()) {
        exercise(&text);
    }

    #[test]
    fn arbitrary_timestamps_never_panic(text in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?(Z|[+-][0-9]{2}:[0-9]{2}|.{0,3})") {
        let _ = timestamp_millis(&text);
    }
}
