//! `PRIVMSG`: a chat message in a channel.
//!
//! `@tags :login!login@login.tmi.twitch.tv PRIVMSG #channel :text`. `/me` arrives as
//! `\x01ACTION text\x01` and is unwrapped (only with the space and the closing `\x01`, as
//! dank-twitch-irc and twitch-irc-rs do). Cheers carry `bits`, replies the
//! `reply-parent-*` tags, a user's first message in the channel `first-msg=1`. Emote
//! ranges are decoded on demand by [`Privmsg::emotes`], because most bots never look.

use super::{CommandError, channel_param, number, required_nick, required_param};
use crate::irc::emotes::{self, Emote, MalformedEmotes};
use crate::irc::{IrcMessage, TagValue, strip_action};

/// A chat message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Privmsg<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
    /// The channel login, without `#`.
    pub channel: &'a str,
    /// The sender's login (from the prefix; never from `display-name`).
    pub sender_login: &'a str,
    /// The text, with the ACTION wrapper removed.
    pub text: &'a str,
    /// Whether the message was a `/me` action.
    pub is_action: bool,
    /// `id`: the message id (used to reply to or delete it).
    pub message_id: Option<&'a str>,
    /// `user-id`: the sender's numeric id.
    pub user_id: Option<&'a str>,
    /// `display-name` (escaped; may contain spaces or non-Latin text).
    pub display_name: Option<TagValue<'a>>,
    /// `badges`, e.g. `moderator/1,subscriber/12`.
    pub badges: Option<&'a str>,
    /// `badge-info`, e.g. `subscriber/16`.
    pub badge_info: Option<&'a str>,
    /// `color` (`#RRGGBB`), empty when the user never chose one.
    pub color: Option<&'a str>,
    /// `emotes`, still encoded; see [`Privmsg::emotes`].
    pub emotes_tag: Option<&'a str>,
    /// `room-id`: the channel's numeric id.
    pub room_id: Option<&'a str>,
    /// `tmi-sent-ts`: when Twitch received the message (Unix milliseconds).
    pub sent_ms: Option<i64>,
    /// `bits`: the amount cheered, for a cheer.
    pub bits: Option<u64>,
    /// `first-msg=1`: the user's first message in this channel.
    pub first_msg: bool,
    /// `historical=1`: replayed from a recent-messages service, not live.
    pub historical: bool,
    /// `custom-reward-id`: the channel-points reward redeemed with this message.
    pub custom_reward_id: Option<&'a str>,
    /// `msg-id` (e.g. `highlighted-message`).
    pub msg_id: Option<&'a str>,
    /// The message replied to, for a reply.
    pub reply: Option<ReplyParent<'a>>,
}

/// The `reply-parent-*` tags of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ReplyParent<'a> {
    /// `reply-parent-msg-id`.
    pub message_id: &'a str,
    /// `reply-parent-user-id`.
    pub user_id: Option<&'a str>,
    /// `reply-parent-user-login`.
    pub user_login: Option<&'a str>,
    /// `reply-parent-display-name` (escaped).
    pub display_name: Option<TagValue<'a>>,
    /// `reply-parent-msg-body` (escaped).
    pub body: Option<TagValue<'a>>,
    /// `reply-thread-parent-msg-id`: the first message of the thread.
    pub thread_message_id: Option<&'a str>,
}

const NAME: &str = "PRIVMSG";

impl<'a> TryFrom<IrcMessage<'a>> for Privmsg<'a> {
    type Error = CommandError;

    fn try_from(source: IrcMessage<'a>) -> Result<Self, CommandError> {
        let channel = channel_param(&source, NAME, 0)?;
        let (text, is_action) = strip_action(required_param(&source, NAME, 1)?);
        let sender_login = required_nick(&source, NAME)?;
        let mut msg = Privmsg {
            source,
            channel,
            sender_login,
            text,
            is_action,
            message_id: None,
            user_id: None,
            display_name: None,
            badges: None,
            badge_info: None,
            color: None,
            emotes_tag: None,
            room_id: None,
            sent_ms: None,
            bits: None,
            first_msg: false,
            historical: false,
            custom_reward_id: None,
            msg_id: None,
            reply: None,
        };
        let mut reply = ReplyParent::default();
        let mut is_reply = false;
        for (key, value) in source.tags() {
            let raw = value.raw();
            match key {
                "id" => msg.message_id = Some(raw),
                "user-id" => msg.user_id = Some(raw),
                "display-name" => msg.display_name = Some(value),
                "badges" => msg.badges = Some(raw),
                "badge-info" => msg.badge_info = Some(raw),
                "color" => msg.color = Some(raw),
                "emotes" => msg.emotes_tag = Some(raw),
                "room-id" => msg.room_id = Some(raw),
                "tmi-sent-ts" => msg.sent_ms = number(value, NAME, "tmi-sent-ts")?,
                "bits" => msg.bits = number(value, NAME, "bits")?,
                "first-msg" => msg.first_msg = value.is_set(),
                "historical" => msg.historical = value.is_set(),
                "custom-reward-id" => msg.custom_reward_id = value.non_empty(),
                "msg-id" => msg.msg_id = value.non_empty(),
                "reply-parent-msg-id" => {
                    is_reply = !raw.is_empty();
                    reply.message_id = raw;
                }
                "reply-parent-user-id" => reply.user_id = Some(raw),
                "reply-parent-user-login" => reply.user_login = Some(raw),
                "reply-parent-display-name" => reply.display_name = Some(value),
                "reply-parent-msg-body" => reply.body = Some(value),
                "reply-thread-parent-msg-id" => reply.thread_message_id = Some(raw),
                _ => {}
            }
        }
        msg.reply = is_reply.then_some(reply);
        Ok(msg)
    }
}

impl<'a> Privmsg<'a> {
    /// The emotes in the text, sorted by position; see [`emotes::parse`].
    pub fn emotes(&self) -> Result<Vec<Emote<'a>>, MalformedEmotes> {
        emotes::parse(self.emotes_tag.unwrap_or(""), self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Privmsg<'_> {
        Privmsg::try_from(IrcMessage::parse(line).unwrap()).unwrap()
    }

    #[test]
    fn plain_message() {
        // twitch-irc-rs src/message/mod.rs
        let m = parse(
            "@rm-received-ts=1577040815136;historical=1;badge-info=subscriber/16;badges=moderator/1,subscriber/12;color=#19E6E6;display-name=randers;emotes=;flags=;id=6e2ccb1f-01ed-44d0-85b6-edf762524475;mod=1;room-id=11148817;subscriber=1;tmi-sent-ts=1577040814959;turbo=0;user-id=40286300;user-type=mod :randers!randers@randers.tmi.twitch.tv PRIVMSG #pajlada :Pajapains",
        );
        assert_eq!(m.channel, "pajlada");
        assert_eq!(m.sender_login, "randers");
        assert_eq!(m.text, "Pajapains");
        assert_eq!(m.user_id, Some("40286300"));
        assert_eq!(m.message_id, Some("6e2ccb1f-01ed-44d0-85b6-edf762524475"));
        assert_eq!(m.sent_ms, Some(1577040814959));
        assert!(m.historical);
        assert!(m.reply.is_none());
        assert_eq!(m.emotes().unwrap(), []);
    }

    #[test]
    fn action() {
        // twitch-irc-rs privmsg.rs
        let m = parse(
            "@badge-info=subscriber/22;badges=moderator/1,subscriber/12;color=#19E6E6;display-name=randers;emotes=;flags=;id=d831d848-b7c7-4559-ae3a-2cb88f4dbfed;mod=1;room-id=11148817;subscriber=1;tmi-sent-ts=1594555275886;turbo=0;user-id=40286300;user-type=mod :randers!randers@randers.tmi.twitch.tv PRIVMSG #pajlada :\u{1}ACTION -tags\u{1}",
        );
        assert!(m.is_action);
        assert_eq!(m.text, "-tags");
    }

    #[test]
    fn cheer() {
        // go-twitch-irc capture of #xqcow
        let m = parse(
            "@badge-info=;badges=bits/1000;bits=70;color=#00FF7F;display-name=TIZZIT;emotes=;flags=;id=eb42d3de-b579-4620-a0b2-31652212440a;mod=0;room-id=71092938;subscriber=0;tmi-sent-ts=1568505618405;turbo=0;user-id=75229542;user-type= :tizzit!tizzit@tizzit.tmi.twitch.tv PRIVMSG #xqcow :Cheer70 ManChicken",
        );
        assert_eq!(m.bits, Some(70));
        assert_eq!(m.text, "Cheer70 ManChicken");
    }

    #[test]
    fn reply_with_thread() {
        // twitch-irc-rs privmsg.rs (2024 line with thread tags)
        let m = parse(
            "@room-id=11148817;tmi-sent-ts=1723702053033;color=#B7B6F9;reply-parent-msg-body=@RomeoGiggleToess\\shttps://www.youtube.com/watch?v=khMb3k-Wwvg;emotes=;flags=;reply-parent-user-id=53888434;id=96a5fb70-f54e-4640-979e-529a76ddf74b;reply-thread-parent-display-name=RomeoGiggleToess;reply-thread-parent-msg-id=fd2a5663-00cb-4e78-9c0d-aff6b66285bf;subscriber=0;historical=1;reply-parent-display-name=OGprodigy;mod=0;badges=twitch-dj/1;first-msg=0;user-id=86336791;reply-parent-user-login=ogprodigy;turbo=0;user-type=;reply-parent-msg-id=a504ba7e-d991-45d0-ab2f-c3045c6ae7b6;reply-thread-parent-user-login=romeogiggletoess;returning-chatter=0;display-name=RomeoGiggleToess;badge-info=;reply-thread-parent-user-id=86336791;rm-received-ts=1723702053240 :romeogiggletoess!romeogiggletoess@romeogiggletoess.tmi.twitch.tv PRIVMSG #pajlada :@OGprodigy klassiker",
        );
        let reply = m.reply.unwrap();
        assert_eq!(reply.message_id, "a504ba7e-d991-45d0-ab2f-c3045c6ae7b6");
        assert_eq!(reply.user_login, Some("ogprodigy"));
        assert_eq!(
            reply.body.unwrap().unescape(),
            "@RomeoGiggleToess https://www.youtube.com/watch?v=khMb3k-Wwvg"
        );
        assert_eq!(
            reply.thread_message_id,
            Some("fd2a5663-00cb-4e78-9c0d-aff6b66285bf")
        );
        assert!(!m.first_msg);
    }

    #[test]
    fn emotes_by_code_point() {
        // dank-twitch-irc privmsg.spec.ts
        let m = parse(
            "@badge-info=;badges=;color=;display-name=X;emotes=25:0-4/1902:6-10/88:12-19;id=1;room-id=1;tmi-sent-ts=1;user-id=1 :x!x@x.tmi.twitch.tv PRIVMSG #x :Kappa Keepo PogChamp",
        );
        let codes: Vec<_> = m.emotes().unwrap().iter().map(|e| e.code).collect();
        assert_eq!(codes, ["Kappa", "Keepo", "PogChamp"]);
    }

    #[test]
    fn structure_is_checked() {
        for line in [
            "PRIVMSG",
            "PRIVMSG #",
            ":tmi.twitch.tv PRIVMSG #a :b",
            "PRIVMSG #a",
        ] {
            let msg = IrcMessage::parse(line).unwrap();
            assert!(Privmsg::try_from(msg).is_err(), "{line}");
        }
    }
}
