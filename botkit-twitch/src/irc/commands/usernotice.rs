//! `USERNOTICE`: subs, gifts, raids, announcements and other channel events.
//!
//! `system-msg` holds Twitch's human-readable text (escaped); the optional trailing
//! parameter is the user's own message (a resub message, an announcement). The sender is
//! the `login` tag; anonymous gifters appear as `ananonymousgifter`. Details come as
//! `msg-param-*` tags, read through [`UserNotice::param`]. Every `msg-id` is accepted:
//! the documented ones have a [`UserNoticeKind`] variant, others are
//! [`UserNoticeKind::Other`] so a new Twitch event still reaches the bot.

use super::{CommandError, channel_param, number};
use crate::irc::{IrcMessage, TagValue};

/// The `msg-id` of a `USERNOTICE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserNoticeKind<'a> {
    /// `sub`: a first subscription.
    Sub,
    /// `resub`: a renewed subscription.
    Resub,
    /// `subgift`: a gifted subscription.
    SubGift,
    /// `anonsubgift`: a gift from an anonymous user.
    AnonSubGift,
    /// `submysterygift`: random gifts to the community.
    SubMysteryGift,
    /// `anonsubmysterygift`: anonymous community gifts.
    AnonSubMysteryGift,
    /// `giftpaidupgrade`: a gifted sub continued as paid.
    GiftPaidUpgrade,
    /// `anongiftpaidupgrade`: the same, for an anonymous gift.
    AnonGiftPaidUpgrade,
    /// `primepaidupgrade`: Prime converted to paid.
    PrimePaidUpgrade,
    /// `raid`.
    Raid,
    /// `unraid`: a raid was cancelled.
    Unraid,
    /// `ritual`: e.g. a new chatter's greeting.
    Ritual,
    /// `bitsbadgetier`: a new bits badge tier.
    BitsBadgeTier,
    /// `rewardgift`.
    RewardGift,
    /// `announcement` (with `msg-param-color`).
    Announcement,
    /// `communitypayforward`.
    CommunityPayForward,
    /// `standardpayforward`.
    StandardPayForward,
    /// `primecommunitygiftreceived`.
    PrimeCommunityGiftReceived,
    /// `charitydonation`.
    CharityDonation,
    /// `viewermilestone` (e.g. a watch streak).
    ViewerMilestone,
    /// Any other `msg-id`, as sent.
    Other(&'a str),
}

impl<'a> UserNoticeKind<'a> {
    /// Reads a `msg-id`.
    pub fn parse(msg_id: &'a str) -> Self {
        match msg_id {
            "sub" => Self::Sub,
            "resub" => Self::Resub,
            "subgift" => Self::SubGift,
            "anonsubgift" => Self::AnonSubGift,
            "submysterygift" => Self::SubMysteryGift,
            "anonsubmysterygift" => Self::AnonSubMysteryGift,
            "giftpaidupgrade" => Self::GiftPaidUpgrade,
            "anongiftpaidupgrade" => Self::AnonGiftPaidUpgrade,
            "primepaidupgrade" => Self::PrimePaidUpgrade,
            "raid" => Self::Raid,
            "unraid" => Self::Unraid,
            "ritual" => Self::Ritual,
            "bitsbadgetier" => Self::BitsBadgeTier,
            "rewardgift" => Self::RewardGift,
            "announcement" => Self::Announcement,
            "communitypayforward" => Self::CommunityPayForward,
            "standardpayforward" => Self::StandardPayForward,
            "primecommunitygiftreceived" => Self::PrimeCommunityGiftReceived,
            "charitydonation" => Self::CharityDonation,
            "viewermilestone" => Self::ViewerMilestone,
            other => Self::Other(other),
        }
    }
}

/// A channel event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UserNotice<'a> {
    /// The line this was read from.
    pub source: IrcMessage<'a>,
    /// The channel login.
    pub channel: &'a str,
    /// `msg-id`, as sent (empty if missing).
    pub msg_id: &'a str,
    /// `msg-id`, typed.
    pub kind: UserNoticeKind<'a>,
    /// `login`: the user the event is about.
    pub sender_login: Option<&'a str>,
    /// `user-id`.
    pub user_id: Option<&'a str>,
    /// `display-name` (escaped).
    pub display_name: Option<TagValue<'a>>,
    /// `badges`.
    pub badges: Option<&'a str>,
    /// `system-msg`: Twitch's text for the event (escaped).
    pub system_message: Option<TagValue<'a>>,
    /// The user's own message, if they wrote one.
    pub text: Option<&'a str>,
    /// `id`: the message id.
    pub message_id: Option<&'a str>,
    /// `room-id`.
    pub room_id: Option<&'a str>,
    /// `tmi-sent-ts` (Unix milliseconds).
    pub sent_ms: Option<i64>,
}

const NAME: &str = "USERNOTICE";

impl<'a> TryFrom<IrcMessage<'a>> for UserNotice<'a> {
    type Error = CommandError;

    fn try_from(source: IrcMessage<'a>) -> Result<Self, CommandError> {
        let channel = channel_param(&source, NAME, 0)?;
        let mut msg = UserNotice {
            source,
            channel,
            msg_id: "",
            kind: UserNoticeKind::Other(""),
            sender_login: None,
            user_id: None,
            display_name: None,
            badges: None,
            system_message: None,
            text: source.param(1),
            message_id: None,
            room_id: None,
            sent_ms: None,
        };
        for (key, value) in source.tags() {
            let raw = value.raw();
            match key {
                "msg-id" => msg.msg_id = raw,
                "login" => msg.sender_login = value.non_empty(),
                "user-id" => msg.user_id = value.non_empty(),
                "display-name" => msg.display_name = Some(value),
                "badges" => msg.badges = Some(raw),
                "system-msg" => msg.system_message = Some(value),
                "id" => msg.message_id = value.non_empty(),
                "room-id" => msg.room_id = value.non_empty(),
                "tmi-sent-ts" => msg.sent_ms = number(value, NAME, "tmi-sent-ts")?,
                _ => {}
            }
        }
        msg.kind = UserNoticeKind::parse(msg.msg_id);
        Ok(msg)
    }
}

impl<'a> UserNotice<'a> {
    /// The `msg-param-<name>` tag (e.g. `cumulative-months`, `viewerCount`).
    pub fn param(&self, name: &str) -> Option<TagValue<'a>> {
        self.params().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// Every `msg-param-*` tag, with the prefix removed.
    pub fn params(&self) -> impl Iterator<Item = (&'a str, TagValue<'a>)> + use<'a> {
        self.source
            .tags()
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("msg-param-").map(|k| (k, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> UserNotice<'_> {
        UserNotice::try_from(IrcMessage::parse(line).unwrap()).unwrap()
    }

    #[test]
    fn resub_with_prime() {
        // twitch-irc-rs usernotice.rs
        let n = parse(
            "@badge-info=;badges=premium/1;color=#8A2BE2;display-name=rene_rs;emotes=;flags=;id=ca1f02fb-77ec-487d-a9b3-bc4bfef2fe8b;login=rene_rs;mod=0;msg-id=resub;msg-param-cumulative-months=11;msg-param-months=0;msg-param-should-share-streak=0;msg-param-sub-plan-name=Channel\\sSubscription\\s(xqcow);msg-param-sub-plan=Prime;room-id=71092938;subscriber=0;system-msg=rene_rs\\ssubscribed\\swith\\sTwitch\\sPrime.\\sThey've\\ssubscribed\\sfor\\s11\\smonths!;tmi-sent-ts=1590628650446;user-id=171356987;user-type= :tmi.twitch.tv USERNOTICE #xqcow",
        );
        assert_eq!(n.kind, UserNoticeKind::Resub);
        assert_eq!(n.sender_login, Some("rene_rs"));
        assert_eq!(n.text, None);
        assert_eq!(
            n.system_message.unwrap().unescape(),
            "rene_rs subscribed with Twitch Prime. They've subscribed for 11 months!"
        );
        assert_eq!(
            n.param("cumulative-months").and_then(|v| v.as_u64()),
            Some(11)
        );
        assert_eq!(n.param("sub-plan").map(|v| v.raw()), Some("Prime"));
        assert_eq!(
            n.param("sub-plan-name").unwrap().unescape(),
            "Channel Subscription (xqcow)"
        );
    }

    #[test]
    fn raid() {
        // go-twitch-irc message_test.go
        let n = parse(
            "@badges=partner/1;color=#00FF7F;display-name=FletcherCodes;emotes=;flags=;id=7a61cd41-f049-466b-9654-43e5bfc554aa;login=fletchercodes;mod=0;msg-id=raid;msg-param-displayName=FletcherCodes;msg-param-login=fletchercodes;msg-param-profileImageURL=https://static-cdn.jtvnw.net/jtv_user_pictures/herr_currywurst-profile_image-e6c037c9d321b955-70x70.jpeg;msg-param-viewerCount=538;room-id=269899575;subscriber=0;system-msg=538\\sraiders\\sfrom\\sFletcherCodes\\shave\\sjoined\\n!;tmi-sent-ts=1551490358542;turbo=0;user-id=269899575;user-type= :tmi.twitch.tv USERNOTICE #clippyassistant",
        );
        assert_eq!(n.kind, UserNoticeKind::Raid);
        assert_eq!(n.param("viewerCount").and_then(|v| v.as_u64()), Some(538));
        assert_eq!(
            n.system_message.unwrap().unescape(),
            "538 raiders from FletcherCodes have joined\n!"
        );
    }

    #[test]
    fn announcement_with_text() {
        // twitch-irc-rs usernotice.rs
        let n = parse(
            "@badge-info=subscriber/88;badges=moderator/1,subscriber/72;color=#19E6E6;display-name=randers;emotes=185989:11-15/25:17-21/1902:23-27;flags=;id=9045a344-75b9-44fa-af49-c413bcb39559;login=randers;mod=1;msg-id=announcement;msg-param-color=PRIMARY;room-id=11148817;subscriber=1;system-msg=;tmi-sent-ts=1780872797175;user-id=40286300;user-type=mod;vip=0 :tmi.twitch.tv USERNOTICE #pajlada :hello pajs pajaH Kappa Keepo",
        );
        assert_eq!(n.kind, UserNoticeKind::Announcement);
        assert_eq!(n.text, Some("hello pajs pajaH Kappa Keepo"));
        assert_eq!(n.param("color").map(|v| v.raw()), Some("PRIMARY"));
    }

    #[test]
    fn unknown_msg_id_is_kept() {
        let n = parse("@msg-id=brandnewthing;login=a :tmi.twitch.tv USERNOTICE #c");
        assert_eq!(n.kind, UserNoticeKind::Other("brandnewthing"));
    }
}
