//! botkit actions to CyTube frames, with the rank checks CyTube itself would apply.
//!
//! Many CyTube commands are silently ignored without permission, and some
//! (`setOptions`, `assignLeader`, `readChanLog`…) get the client **kicked**. So every
//! action is checked locally against the channel's permission table (`setPermissions`,
//! falling back to CyTube's `DEFAULT_PERMISSIONS`) and our current rank before anything is
//! sent, and refused with an error that names the permission and both ranks.
//!
//! Plain chat text that starts with `/` would run a CyTube chat command (a plugin echoing
//! user input could otherwise make the bot `/kick` someone), so `say` prefixes such text
//! with a space; commands go out only through their explicit actions.
//!
//! Chat text is split here a second time, after the runtime's split: CyTube truncates at
//! 320 *JavaScript string units* (UTF-16), which the runtime's character count cannot see
//! (an emoji is one `char` but two units), and a reply's `name: ` prefix or the defusing
//! space are added here, after the runtime measured the text.

use botkit::action::{Action, ActionKind};
use botkit::text::{Measure, split_message_by};
use serde_json::{Value, json};

use crate::codec::Frame;
use crate::error::CytubeError;
use crate::media_link::parse_media_link;
use crate::state::ChannelState;

/// A frame ready to send, and whether it counts against the chat flood limiter.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The frame.
    pub frame: Frame,
    /// Chat messages and PMs go through CyTube's chat limiter.
    pub counts_as_chat: bool,
}

/// CyTube's `DEFAULT_PERMISSIONS` for the nodes the actions use, for channels that have not
/// sent `setPermissions` yet.
fn default_permission(node: &str) -> f64 {
    match node {
        "chat" => 0.0,
        "voteskip" | "pollvote" | "seeplaylist" => -1.0,
        "playlistadd" | "playlistnext" | "playlistmove" | "playlistjump" | "playlistaddlive"
        | "mute" | "kick" | "pollctl" => 1.5,
        "playlistdelete" | "settemp" | "ban" | "chatclear" | "leaderctl" | "playlistaddrawfile" => {
            2.0
        }
        _ => 3.0,
    }
}

fn require(state: &ChannelState, node: &str, what: &str) -> Result<(), CytubeError> {
    let needed = state
        .permission(node)
        .unwrap_or_else(|| default_permission(node));
    if state.my_rank >= needed {
        Ok(())
    } else {
        Err(CytubeError::Refused(format!(
            "{what} needs rank {needed} (permission `{node}`) and the bot has rank {}",
            state.my_rank
        )))
    }
}

/// CyTube's `max-chat-message-length` default; chat and PMs above it are truncated.
pub const MAX_CHAT_UNITS: usize = 320;

/// The length CyTube measures: JavaScript string units (UTF-16).
pub fn cytube_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Splits `text` at whitespace into parts of at most `max` UTF-16 units.
fn split_units(text: &str, max: usize) -> Vec<String> {
    let mut limit = max.max(1);
    loop {
        let parts = split_message_by(text, limit, Measure::Chars);
        let worst = parts.iter().map(|p| cytube_len(p)).max().unwrap_or(0);
        if worst <= max || limit == 1 {
            return parts;
        }
        // Shrink the character budget in proportion to the overshoot; always progresses.
        limit = (limit * max / worst).clamp(1, limit - 1);
    }
}

/// Chat text as the parts to send: each at most [`MAX_CHAT_UNITS`], and none starting with
/// `/` (a part that would is defused with a leading space, which the HTML collapses).
pub fn chat_parts(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in split_units(text, MAX_CHAT_UNITS) {
        if !part.starts_with('/') {
            out.push(part);
        } else if cytube_len(&part) < MAX_CHAT_UNITS {
            out.push(format!(" {part}"));
        } else {
            for piece in split_units(&part, MAX_CHAT_UNITS - 1) {
                out.push(if piece.starts_with('/') {
                    format!(" {piece}")
                } else {
                    piece
                });
            }
        }
    }
    out
}

fn chat(text: String) -> Outgoing {
    Outgoing {
        frame: Frame::event("chatMsg", Some(json!({ "msg": text }))),
        counts_as_chat: true,
    }
}

/// Plain chat, split and defused.
fn chats(text: &str) -> Vec<Outgoing> {
    chat_parts(text).into_iter().map(chat).collect()
}

fn command(text: String) -> Outgoing {
    chat(text)
}

fn other(name: &str, arg: Option<Value>) -> Outgoing {
    Outgoing {
        frame: Frame::event(name, arg),
        counts_as_chat: false,
    }
}

fn arg_str<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    match args {
        Value::String(s) if key == "text" || key == "link" || key == "user" => Some(s.as_str()),
        _ => args.get(key).and_then(Value::as_str),
    }
    .filter(|s| !s.trim().is_empty())
}

fn arg_uid(args: &Value, key: &str) -> Result<u64, CytubeError> {
    let v = match args {
        Value::Number(_) | Value::String(_) => Some(args),
        _ => args.get(key),
    };
    v.and_then(|v| match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    })
    .ok_or_else(|| CytubeError::Refused(format!("expected a playlist uid in `{key}`")))
}

fn need_name(args: &Value, verb: &str) -> Result<String, CytubeError> {
    arg_str(args, "user")
        .map(str::to_owned)
        .ok_or_else(|| CytubeError::Refused(format!("`{verb}` needs a `user`")))
}

fn logged_in(state: &ChannelState, what: &str) -> Result<(), CytubeError> {
    if state.my_rank < 0.0 {
        return Err(CytubeError::Refused(format!(
            "{what} needs a login; configure `user` (and `password` for a registered account)"
        )));
    }
    Ok(())
}

/// Builds the frames for `action` (several when chat text must be split), or says why it
/// cannot be sent with our rank.
pub fn build(action: &Action, state: &ChannelState) -> Result<Vec<Outgoing>, CytubeError> {
    match &action.kind {
        ActionKind::Say { text } => {
            logged_in(state, "chatting")?;
            require(state, "chat", "chatting")?;
            Ok(chats(text))
        }
        ActionKind::Reply { text, to, .. } => {
            logged_in(state, "chatting")?;
            require(state, "chat", "chatting")?;
            Ok(match to {
                Some(to) => chats(&format!("{to}: {text}")),
                None => chats(text),
            })
        }
        ActionKind::Whisper { to, text } => {
            logged_in(state, "a private message")?;
            // PMs are not parsed for commands, so no defusing; only the length limit.
            Ok(split_units(text, MAX_CHAT_UNITS)
                .into_iter()
                .map(|part| Outgoing {
                    frame: Frame::event("pm", Some(json!({ "to": to, "msg": part }))),
                    counts_as_chat: true,
                })
                .collect())
        }
        ActionKind::Ban { user, reason } => {
            require(state, "ban", "banning")?;
            let reason = reason.as_deref().unwrap_or_default();
            Ok(vec![command(
                format!("/ban {user} {reason}").trim_end().to_owned(),
            )])
        }
        ActionKind::Custom { name, args } => custom(name, args, state).map(|o| vec![o]),
        ActionKind::DeleteMessage { .. } => Err(CytubeError::Unsupported(
            "CyTube chat messages have no ids and cannot be deleted one by one".into(),
        )),
        ActionKind::Timeout { .. } => Err(CytubeError::Unsupported(
            "CyTube has no timed mutes; use the `mute` or `kick` action".into(),
        )),
        other => Err(CytubeError::Unsupported(format!(
            "`{}` is not supported by CyTube",
            other.verb()
        ))),
    }
}

fn custom(name: &str, args: &Value, state: &ChannelState) -> Result<Outgoing, CytubeError> {
    match name {
        "me" => {
            logged_in(state, "chatting")?;
            require(state, "chat", "chatting")?;
            let text = arg_str(args, "text")
                .ok_or_else(|| CytubeError::Refused("`me` needs a `text`".into()))?;
            Ok(command(format!("/me {text}")))
        }
        "afk" => {
            logged_in(state, "going AFK")?;
            Ok(command("/afk".to_owned()))
        }
        "queue" => {
            let link = arg_str(args, "link")
                .or_else(|| arg_str(args, "url"))
                .ok_or_else(|| CytubeError::Refused("`queue` needs a `link`".into()))?;
            let media = parse_media_link(link).ok_or_else(|| {
                CytubeError::Refused(format!("`{link}` is not a media link CyTube can play"))
            })?;
            let next = args.get("pos").and_then(Value::as_str) == Some("next");
            require(
                state,
                if next { "playlistnext" } else { "playlistadd" },
                "queueing",
            )?;
            if media.is_live() {
                require(state, "playlistaddlive", "queueing a livestream")?;
            }
            if media.kind == "cu" {
                require(state, "playlistaddcustom", "queueing a custom embed")?;
            }
            let mut frame = json!({
                "id": media.id,
                "type": media.kind,
                "pos": if next { "next" } else { "end" },
            });
            if let Some(temp) = args.get("temp").and_then(Value::as_bool) {
                frame["temp"] = Value::Bool(temp);
            }
            if let Some(title) = arg_str(args, "title") {
                frame["title"] = Value::String(title.to_owned());
            }
            Ok(other("queue", Some(frame)))
        }
        "delete" => {
            require(state, "playlistdelete", "deleting from the playlist")?;
            Ok(other("delete", Some(json!(arg_uid(args, "uid")?))))
        }
        "move" => {
            require(state, "playlistmove", "moving playlist items")?;
            let from = arg_uid(args, "uid")?;
            let after = match args.get("after") {
                Some(Value::String(s)) if s == "prepend" || s == "append" => json!(s),
                Some(_) => json!(arg_uid(args, "after")?),
                None => json!("append"),
            };
            Ok(other(
                "moveMedia",
                Some(json!({ "from": from, "after": after })),
            ))
        }
        "jump" => {
            require(state, "playlistjump", "jumping in the playlist")?;
            Ok(other("jumpTo", Some(json!(arg_uid(args, "uid")?))))
        }
        "voteskip" => {
            require(state, "voteskip", "voteskip")?;
            Ok(other("voteskip", None))
        }
        "kick" => {
            require(state, "kick", "kicking")?;
            let user = need_name(args, "kick")?;
            let reason = arg_str(args, "reason").unwrap_or_default();
            Ok(command(
                format!("/kick {user} {reason}").trim_end().to_owned(),
            ))
        }
        "mute" | "unmute" => {
            require(state, "mute", "muting")?;
            let user = need_name(args, name)?;
            Ok(command(format!("/{name} {user}")))
        }
        "clear" => {
            require(state, "chatclear", "clearing the chat")?;
            Ok(command("/clear".to_owned()))
        }
        "playlist" => {
            // CyTube answers with `setPlaylistMeta`, `playlist` and `setCurrent`, which
            // refresh the state; the platform holds it to CyTube's once per 60 s.
            require(state, "seeplaylist", "requesting the playlist")?;
            Ok(other("requestPlaylist", None))
        }
        "poll" => {
            require(state, "pollctl", "opening a poll")?;
            poll(args)
        }
        "close_poll" => {
            require(state, "pollctl", "closing a poll")?;
            if state.poll.is_none() {
                return Err(CytubeError::Refused(
                    "there is no open poll to close".into(),
                ));
            }
            Ok(other("closePoll", None))
        }
        "vote" => {
            require(state, "pollvote", "voting")?;
            let option = match args {
                Value::Number(_) => args.as_u64(),
                _ => args.get("option").and_then(Value::as_u64),
            }
            .ok_or_else(|| CytubeError::Refused("`vote` needs an `option` index".into()))?;
            let Some(open) = &state.poll else {
                return Err(CytubeError::Refused(
                    "there is no open poll to vote in".into(),
                ));
            };
            if option >= open.options.len() as u64 {
                return Err(CytubeError::Refused(format!(
                    "the poll has {} options; `option` {option} is out of range (it counts from 0)",
                    open.options.len()
                )));
            }
            Ok(other("vote", Some(json!({ "option": option }))))
        }
        "leader" => {
            // CyTube kicks a client that assigns a leader without `leaderctl`.
            require(state, "leaderctl", "assigning the leader")?;
            let name = match args {
                Value::String(s) => s.trim(),
                _ => args
                    .get("user")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .trim(),
            };
            if !name.is_empty() && state.user(name).is_none() {
                return Err(CytubeError::Refused(format!(
                    "`{name}` is not in the channel; the leader must be present"
                )));
            }
            Ok(other("assignLeader", Some(json!({ "name": name }))))
        }
        other => Err(CytubeError::Unsupported(format!(
            "unknown CyTube action `{other}`; known: me, afk, queue, delete, move, jump, voteskip, kick, mute, unmute, clear, playlist, poll, close_poll, vote, leader, state"
        ))),
    }
}

/// CyTube's poll bounds (`poll.max-options`, the timeout range).
const MAX_POLL_OPTIONS: usize = 50;
const MAX_POLL_TIMEOUT_SECS: u64 = 86_400;

/// `newPoll {title, opts, obscured, timeout?}` from `{title, options, obscured?, timeout?}`.
fn poll(args: &Value) -> Result<Outgoing, CytubeError> {
    let title = arg_str(args, "title")
        .ok_or_else(|| CytubeError::Refused("`poll` needs a `title`".into()))?;
    let options: Vec<&str> = args
        .get("options")
        .and_then(Value::as_array)
        .map(|opts| opts.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if options.is_empty() || options.len() > MAX_POLL_OPTIONS {
        return Err(CytubeError::Refused(format!(
            "`poll` needs 1 to {MAX_POLL_OPTIONS} `options` (strings); got {}",
            options.len()
        )));
    }
    let mut frame = json!({
        "title": title,
        "opts": options,
        "obscured": args.get("obscured").and_then(Value::as_bool).unwrap_or(false),
    });
    if let Some(timeout) = args.get("timeout") {
        let secs = timeout
            .as_u64()
            .filter(|s| (1..=MAX_POLL_TIMEOUT_SECS).contains(s))
            .ok_or_else(|| {
                CytubeError::Refused(format!(
                    "`timeout` is in seconds, 1 to {MAX_POLL_TIMEOUT_SECS}"
                ))
            })?;
        frame["timeout"] = json!(secs);
    }
    Ok(other("newPoll", Some(frame)))
}

#[cfg(test)]
mod tests {
    use botkit::event::Source;

    use super::*;
    use crate::events::ServerEvent;

    /// The first frame of an action (the tests below send short text).
    fn build(action: &Action, state: &ChannelState) -> Result<Outgoing, CytubeError> {
        super::build(action, state).map(|mut parts| parts.remove(0))
    }

    fn texts(action: &Action) -> Vec<String> {
        super::build(action, &state(0.0))
            .unwrap()
            .iter()
            .map(|o| {
                let Frame::Message(crate::codec::SocketPacket::Event { args, .. }) = &o.frame
                else {
                    panic!("{o:?}")
                };
                args[0]["msg"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    #[test]
    fn long_chat_is_split_in_utf16_units_after_the_reply_prefix() {
        // 320 chars, 20 of them emoji: 340 UTF-16 units, over CyTube's limit.
        let text = format!("{} {}", "😀".repeat(20), "abcd ".repeat(60).trim_end());
        let reply = act(ActionKind::Reply {
            text: text.clone(),
            parent_id: None,
            to: Some("alice".into()),
        });
        let parts = texts(&reply);
        assert!(parts.len() == 2, "{parts:?}");
        assert!(parts.iter().all(|p| cytube_len(p) <= MAX_CHAT_UNITS));
        assert_eq!(parts.join(" "), format!("alice: {text}"));
        // A part that would start with `/` is defused, still within the limit.
        let slashes = format!("{} /kick bob", "x".repeat(316));
        let parts = texts(&act(ActionKind::Say { text: slashes }));
        assert_eq!(parts[1], " /kick bob");
        let long_slash = format!("/{}", "y".repeat(319));
        let parts = texts(&act(ActionKind::Say { text: long_slash }));
        assert!(
            parts
                .iter()
                .all(|p| cytube_len(p) <= MAX_CHAT_UNITS && !p.starts_with('/'))
        );
    }

    fn state(rank: f64) -> ChannelState {
        let mut s = ChannelState::new();
        s.apply(&ServerEvent::Rank(rank));
        s
    }

    fn act(kind: ActionKind) -> Action {
        Action::new(Source::new("cytube", "main", Some("lab")), kind)
    }

    fn custom_act(name: &str, args: Value) -> Action {
        act(ActionKind::Custom {
            name: name.into(),
            args,
        })
    }

    #[test]
    fn chat_text_is_defused_and_me_is_a_command() {
        let out = build(
            &act(ActionKind::Say {
                text: "/kick bob".into(),
            }),
            &state(0.0),
        )
        .unwrap();
        assert_eq!(out.frame.encode(), r#"42["chatMsg",{"msg":" /kick bob"}]"#);
        assert!(out.counts_as_chat);
        let me = build(&custom_act("me", json!({"text": "waves"})), &state(0.0)).unwrap();
        assert_eq!(me.frame.encode(), r#"42["chatMsg",{"msg":"/me waves"}]"#);
        let pm = build(
            &act(ActionKind::Whisper {
                to: "bob".into(),
                text: "hi".into(),
            }),
            &state(0.0),
        )
        .unwrap();
        assert_eq!(pm.frame.encode(), r#"42["pm",{"msg":"hi","to":"bob"}]"#);
    }

    #[test]
    fn anonymous_bots_cannot_chat() {
        let err = build(&act(ActionKind::Say { text: "hi".into() }), &state(-1.0)).unwrap_err();
        assert!(err.to_string().contains("needs a login"), "{err}");
    }

    #[test]
    fn moderator_actions_need_the_rank() {
        let err = build(&custom_act("kick", json!({"user": "bob"})), &state(1.0)).unwrap_err();
        assert!(matches!(err, CytubeError::Refused(_)));
        assert!(err.to_string().contains("permission `kick`"), "{err}");
        let ok = build(
            &custom_act("kick", json!({"user": "bob", "reason": "spam"})),
            &state(2.0),
        )
        .unwrap();
        assert_eq!(
            ok.frame.encode(),
            r#"42["chatMsg",{"msg":"/kick bob spam"}]"#
        );
        assert!(build(&custom_act("delete", json!({"uid": 3})), &state(1.5)).is_err());
        let del = build(&custom_act("delete", json!({"uid": 3})), &state(2.0)).unwrap();
        assert_eq!(del.frame.encode(), r#"42["delete",3]"#);
    }

    #[test]
    fn the_channel_permission_table_wins_over_defaults() {
        let mut s = state(0.0);
        let mut perms = crate::events::Permissions::new();
        perms.insert("playlistadd".into(), -1.0);
        perms.insert("playlistaddlive".into(), 0.0);
        s.apply(&ServerEvent::SetPermissions(perms));
        let q = build(
            &custom_act(
                "queue",
                json!({"link": "https://youtu.be/dQw4w9WgXcQ", "temp": true}),
            ),
            &s,
        )
        .unwrap();
        assert_eq!(
            q.frame.encode(),
            r#"42["queue",{"id":"dQw4w9WgXcQ","pos":"end","temp":true,"type":"yt"}]"#
        );
        assert!(!q.counts_as_chat);
        let err = build(
            &custom_act("queue", json!({"link": "<iframe src=x></iframe>"})),
            &s,
        )
        .unwrap_err();
        assert!(err.to_string().contains("custom embed"), "{err}");
    }

    #[test]
    fn poll_leader_and_playlist_actions() {
        let mut s = state(1.5);
        let open = build(
            &custom_act(
                "poll",
                json!({"title": "best?", "options": ["a", "b"], "timeout": 30}),
            ),
            &s,
        )
        .unwrap();
        assert_eq!(
            open.frame.encode(),
            r#"42["newPoll",{"obscured":false,"opts":["a","b"],"timeout":30,"title":"best?"}]"#
        );
        assert!(
            build(
                &custom_act("poll", json!({"title": "x", "options": []})),
                &s
            )
            .is_err()
        );
        assert!(
            build(&custom_act("vote", json!({"option": 0})), &s).is_err(),
            "no poll yet"
        );
        s.apply(&ServerEvent::decode(
            "newPoll",
            &[json!({"title": "best?", "options": ["a", "b"], "counts": [0, 0], "initiator": "x", "timestamp": 1})],
        ).unwrap());
        let vote = build(&custom_act("vote", json!({"option": 1})), &s).unwrap();
        assert_eq!(vote.frame.encode(), r#"42["vote",{"option":1}]"#);
        let err = build(&custom_act("vote", json!(2)), &s).unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
        assert_eq!(
            build(&custom_act("close_poll", Value::Null), &s)
                .unwrap()
                .frame
                .encode(),
            r#"42["closePoll"]"#
        );
        // leaderctl is 2 by default: refused at 1.5 (CyTube would kick us).
        let err = build(&custom_act("leader", json!({"user": ""})), &s).unwrap_err();
        assert!(err.to_string().contains("permission `leaderctl`"), "{err}");
        let mods = state(2.0);
        assert_eq!(
            build(&custom_act("leader", json!("")), &mods)
                .unwrap()
                .frame
                .encode(),
            r#"42["assignLeader",{"name":""}]"#
        );
        assert!(build(&custom_act("leader", json!({"user": "ghost"})), &mods).is_err());
        assert_eq!(
            build(&custom_act("playlist", Value::Null), &state(-1.0))
                .unwrap()
                .frame
                .encode(),
            r#"42["requestPlaylist"]"#
        );
    }

    #[test]
    fn playlist_actions() {
        let s = state(2.0);
        let mv = build(
            &custom_act("move", json!({"uid": 4, "after": "prepend"})),
            &s,
        )
        .unwrap();
        assert_eq!(
            mv.frame.encode(),
            r#"42["moveMedia",{"after":"prepend","from":4}]"#
        );
        let mv = build(&custom_act("move", json!({"uid": 4, "after": 2})), &s).unwrap();
        assert_eq!(mv.frame.encode(), r#"42["moveMedia",{"after":2,"from":4}]"#);
        let jump = build(&custom_act("jump", json!("7")), &s).unwrap();
        assert_eq!(jump.frame.encode(), r#"42["jumpTo",7]"#);
        let skip = build(&custom_act("voteskip", Value::Null), &state(-1.0)).unwrap();
        assert_eq!(skip.frame.encode(), r#"42["voteskip"]"#);
        assert!(build(&custom_act("queue", json!({"link": "nope"})), &s).is_err());
        assert!(matches!(
            build(&custom_act("dance", Value::Null), &s),
            Err(CytubeError::Unsupported(_))
        ));
    }
}
