//! Every line of the shared IRC corpus parses to what it expects, and every must-reject
//! line is rejected at the layer it names.
//!
//! The corpus (`tests/data/irc-vectors.jsonl`, copied from `shared/protocols/twitch/`)
//! holds 375 real lines; each valid one lists its command, channel, sender, text,
//! parameters, prefix, full unescaped tag map and per-command extras, and each invalid
//! one says whether the IRC layer or the Twitch layer must refuse it. Besides the
//! expectations, a line the strict twitch-irc crate types successfully must type here too.

use std::collections::BTreeMap;

use botkit_twitch::irc::commands::{
    Cap, ClearChat, ClearChatAction, HostTarget, ServerMessage, Whisper,
};
use botkit_twitch::irc::{IrcMessage, emotes};
use serde_json::Value;

fn corpus() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/irc-vectors.jsonl");
    let text = std::fs::read_to_string(path).expect("read the vector file");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn opt_str(v: Option<&str>) -> Value {
    v.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

/// Compares one valid line with its expectation; returns the differences.
fn check_valid(raw: &str, expect: &Value, strict_ok: bool) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut diff = |what: &str, got: Value, want: &Value| {
        if &got != want {
            diffs.push(format!("{what}: got {got}, want {want}"));
        }
    };
    let msg = match IrcMessage::parse(raw) {
        Ok(m) => m,
        Err(e) => return vec![format!("rejected at the IRC layer: {e}")],
    };
    diff(
        "command",
        Value::String(msg.command().name().into_owned()),
        &expect["command"],
    );
    diff("channel", opt_str(msg.channel_login()), &expect["channel"]);
    diff(
        "sender_login",
        opt_str(msg.sender_login()),
        &expect["sender_login"],
    );
    let text = msg.text();
    diff("text", opt_str(text.map(|t| t.0)), &expect["text"]);
    if let Some(want) = expect.get("is_action") {
        diff("is_action", Value::Bool(text.is_some_and(|t| t.1)), want);
    }
    diff(
        "params",
        Value::from(msg.params().collect::<Vec<_>>()),
        &expect["params"],
    );
    diff(
        "prefix",
        opt_str(msg.prefix().map(|p| p.raw())),
        &expect["prefix"],
    );
    let mut tags = BTreeMap::new();
    for (k, v) in msg.tags() {
        tags.insert(k.to_owned(), Value::String(v.unescape().into_owned()));
    }
    let want_tags: BTreeMap<String, Value> = expect["tags"]
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if tags != want_tags {
        diffs.push(format!("tags: got {tags:?}, want {want_tags:?}"));
    }

    let text_only = text.map_or("", |t| t.0);
    let emote_tag = msg.tag("emotes").map_or("", |v| v.raw());
    if let Some(want) = expect.get("emotes") {
        match emotes::parse(emote_tag, text_only) {
            Ok(list) => {
                let got: Vec<Value> = list
                    .iter()
                    .map(|e| {
                        serde_json::json!({"id": e.id, "start": e.start, "end": e.end, "code": e.code})
                    })
                    .collect();
                if &Value::from(got.clone()) != want {
                    diffs.push(format!("emotes: got {got:?}, want {want}"));
                }
            }
            Err(e) => diffs.push(format!("emotes: {e}")),
        }
    }
    if expect.get("emotes_malformed") == Some(&Value::Bool(true))
        && emotes::parse(emote_tag, text_only).is_ok()
    {
        diffs.push("emotes: malformed tag was accepted".to_owned());
    }

    if let Some(want) = expect.get("clearchat_action") {
        match ClearChat::try_from(msg) {
            Ok(c) => {
                let (action, target) = match c.action {
                    ClearChatAction::ChatCleared => ("chat_cleared", None),
                    ClearChatAction::Ban { login, .. } => ("ban", Some(login)),
                    ClearChatAction::Timeout { login, .. } => ("timeout", Some(login)),
                    other => panic!("unexpected {other:?}"),
                };
                if want != action {
                    diffs.push(format!("clearchat_action: got {action}, want {want}"));
                }
                if expect["target_login"] != opt_str(target) {
                    diffs.push(format!("target_login: got {target:?}"));
                }
            }
            Err(e) => diffs.push(format!("CLEARCHAT not typed: {e}")),
        }
    }
    if let Some(want) = expect.get("recipient_login") {
        match Whisper::try_from(msg) {
            Ok(w) if want.as_str() == Some(w.recipient_login) => {}
            other => diffs.push(format!("recipient_login: got {other:?}, want {want}")),
        }
    }
    if let Some(want) = expect.get("cap_subcommand") {
        match Ok::<_, ()>(Cap::from(msg)) {
            Ok(c) if want.as_str() == Some(c.subcommand) => {}
            other => diffs.push(format!("cap_subcommand: got {other:?}, want {want}")),
        }
    }
    if let Some(want) = expect.get("host_target") {
        let h = HostTarget::from(msg);
        if opt_str(h.target) != *want {
            diffs.push(format!("host_target: got {:?}, want {want}", h.target));
        }
        let viewers = h.viewers.map_or(Value::Null, Value::from);
        if viewers != expect["host_viewers"] {
            diffs.push(format!(
                "host_viewers: got {viewers}, want {}",
                expect["host_viewers"]
            ));
        }
    }

    if strict_ok && let Err(e) = ServerMessage::try_from(msg) {
        diffs.push(format!("twitch-irc types this line, we refuse it: {e}"));
    }
    diffs
}

#[test]
fn every_vector_parses_as_expected() {
    let corpus = corpus();
    assert!(corpus.len() >= 375, "the corpus has {} lines", corpus.len());
    let mut failures = Vec::new();
    let (mut valid, mut rejected) = (0, 0);
    for (n, case) in corpus.iter().enumerate() {
        let raw = case["raw"].as_str().expect("raw is a string");
        let expect = &case["expect"];
        if expect.get("error") == Some(&Value::Bool(true)) {
            rejected += 1;
            let level = expect["level"].as_str().unwrap_or("");
            let outcome = IrcMessage::parse(raw);
            let ok = match level {
                "irc" => outcome.is_err(),
                "twitch" => outcome.is_ok_and(|m| ServerMessage::try_from(m).is_err()),
                other => panic!("line {n}: unknown level {other}"),
            };
            if !ok {
                failures.push(format!(
                    "line {}: {raw:?} must be rejected at the {level} layer ({})",
                    n + 1,
                    expect["reason"]
                ));
            }
            continue;
        }
        valid += 1;
        let strict_ok = case["twitch_irc_rs"]["twitch"]
            .as_str()
            .is_some_and(|s| s.starts_with("ok"));
        for d in check_valid(raw, expect, strict_ok) {
            failures.push(format!("line {}: {raw:?}\n    {d}", n + 1));
        }
    }
    println!("{valid} valid lines checked, {rejected} must-reject lines checked");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(valid + rejected, corpus.len());
}
