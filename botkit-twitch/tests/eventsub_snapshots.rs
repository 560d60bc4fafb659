//! Snapshots of the events the example EventSub notifications normalize to.
//!
//! Each frame is a file from `tests/data/eventsub/` (see its SOURCES.md), decoded and
//! normalized exactly as the session does. Event ids are random, so each snapshot
//! replaces the id with `[id]`; the timestamp is the frame's `message_timestamp`. The
//! delete and clear frames have no recorded example; they are built from the chat
//! message example's envelope with the event fields the Twitch reference lists.

use botkit_twitch::eventsub::EventSubNormalizer;
use botkit_twitch::eventsub::message::{Message, decode};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/data/eventsub/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn snapshot(frame: &Value) -> Value {
    let frame = decode(&frame.to_string()).expect("a valid frame");
    let Message::Notification {
        subscription,
        event,
    } = &frame.message
    else {
        panic!("not a notification: {:?}", frame.message);
    };
    let event = EventSubNormalizer::new("main", Some("2914196"))
        .notification(&frame.metadata, subscription, event, &frame.raw, 1)
        .expect("a valid topic");
    let mut value = serde_json::to_value(&event).expect("events serialize");
    value["id"] = Value::from("[id]");
    value
}

/// The chat example's envelope around another subscription type and event.
fn envelope(kind: &str, event: Value) -> Value {
    let mut frame = fixture("notification_channel.chat.message.json");
    frame["metadata"]["subscription_type"] = json!(kind);
    frame["payload"]["subscription"]["type"] = json!(kind);
    frame["payload"]["event"] = event;
    frame
}

#[test]
fn chat_message() {
    insta::assert_json_snapshot!(snapshot(&fixture("notification_channel.chat.message.json")));
}

#[test]
fn ban() {
    insta::assert_json_snapshot!(snapshot(&fixture(
        "notification_channel.ban.twitch-cli.json"
    )));
}

#[test]
fn timeout() {
    let mut frame = fixture("notification_channel.ban.twitch-cli.json");
    frame["payload"]["event"]["is_permanent"] = json!(false);
    frame["payload"]["event"]["ends_at"] = json!("2026-11-23T23:58:29.469222181Z");
    insta::assert_json_snapshot!(snapshot(&frame));
}

#[test]
fn cheer() {
    insta::assert_json_snapshot!(snapshot(&fixture(
        "notification_channel.cheer.twitch-cli.json"
    )));
}

#[test]
fn anonymous_cheer() {
    let mut frame = fixture("notification_channel.cheer.twitch-cli.json");
    frame["payload"]["event"]["is_anonymous"] = json!(true);
    frame["payload"]["event"]["user_id"] = Value::Null;
    frame["payload"]["event"]["user_login"] = Value::Null;
    frame["payload"]["event"]["user_name"] = Value::Null;
    insta::assert_json_snapshot!(snapshot(&frame));
}

#[test]
fn message_delete() {
    let frame = envelope(
        "channel.chat.message_delete",
        json!({
            "broadcaster_user_id": "1971641",
            "broadcaster_user_login": "streamer",
            "broadcaster_user_name": "streamer",
            "target_user_id": "4145994",
            "target_user_login": "viewer32",
            "target_user_name": "viewer32",
            "message_id": "cc106a89-1814-919d-454c-f4f2f970aae7"
        }),
    );
    insta::assert_json_snapshot!(snapshot(&frame));
}

#[test]
fn chat_clear() {
    let frame = envelope(
        "channel.chat.clear",
        json!({
            "broadcaster_user_id": "1971641",
            "broadcaster_user_login": "streamer",
            "broadcaster_user_name": "streamer"
        }),
    );
    insta::assert_json_snapshot!(snapshot(&frame));
}

#[test]
fn unknown_type_is_raw() {
    let frame = envelope(
        "channel.follow",
        json!({
            "user_id": "1234",
            "user_login": "cool_user",
            "user_name": "Cool_User",
            "broadcaster_user_id": "1971641",
            "broadcaster_user_login": "streamer",
            "broadcaster_user_name": "streamer",
            "followed_at": "2023-11-06T18:11:47.492253549Z"
        }),
    );
    insta::assert_json_snapshot!(snapshot(&frame));
}
