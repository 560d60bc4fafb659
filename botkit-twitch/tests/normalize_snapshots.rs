//! Snapshots of the events real lines normalize to, one per command and variant.
//!
//! Lines come from the shared corpus (sources in `tests/data/README.md`). Event ids are
//! random, so each snapshot replaces the id with `[id]`; the timestamp is Twitch's
//! `tmi-sent-ts`, or the fixed receive time passed in.

use botkit_twitch::Normalizer;
use serde_json::Value;

fn snapshot(line: &str) -> Value {
    let normalizer = Normalizer::new("main", "randers811");
    let event = normalizer
        .line(line, 1_700_000_000_000)
        .expect("an IRC line")
        .expect("a valid topic");
    let mut value = serde_json::to_value(&event).expect("events serialize");
    if let Some(obj) = value.as_object_mut() {
        obj.insert("id".to_owned(), Value::from("[id]"));
    }
    value
}

macro_rules! snap {
    ($name:ident, $line:expr) => {
        #[test]
        fn $name() {
            insta::assert_json_snapshot!(stringify!($name), snapshot($line));
        }
    };
}

snap!(
    privmsg,
    "@badge-info=subscriber/16;badges=moderator/1,subscriber/12;color=#19E6E6;display-name=randers;emotes=;flags=;id=6e2ccb1f-01ed-44d0-85b6-edf762524475;mod=1;room-id=11148817;subscriber=1;tmi-sent-ts=1577040814959;turbo=0;user-id=40286300;user-type=mod :randers!randers@randers.tmi.twitch.tv PRIVMSG #pajlada :Pajapains"
);
snap!(
    privmsg_action,
    "@badge-info=subscriber/22;badges=moderator/1,subscriber/12;color=#19E6E6;display-name=randers;emotes=;flags=;id=d831d848-b7c7-4559-ae3a-2cb88f4dbfed;mod=1;room-id=11148817;subscriber=1;tmi-sent-ts=1594555275886;turbo=0;user-id=40286300;user-type=mod :randers!randers@randers.tmi.twitch.tv PRIVMSG #pajlada :\u{1}ACTION -tags\u{1}"
);
snap!(
    privmsg_reply,
    "@badge-info=;badges=;client-nonce=cd56193132f934ac71b4d5ac488d4bd6;color=;display-name=LeftSwing;emotes=;first-msg=0;flags=;id=5b4f63a9-776f-4fce-bf3c-d9707f52e32d;mod=0;reply-parent-display-name=Retoon;reply-parent-msg-body=hello;reply-parent-msg-id=6b13e51b-7ecb-43b5-ba5b-2bb5288df696;reply-parent-user-id=37940952;reply-parent-user-login=retoon;returning-chatter=0;room-id=37940952;subscriber=0;tmi-sent-ts=1673925983585;turbo=0;user-id=133651738;user-type= :leftswing!leftswing@leftswing.tmi.twitch.tv PRIVMSG #retoon :@Retoon yes"
);
snap!(
    privmsg_cheer_vip,
    "@badge-info=;badges=vip/1,bits/100;color=#FF69B4;custom-reward-id=ea98be77-c54e-49cd-bc52-d8290cf12ad8;display-name=eloonstra;emotes=;first-msg=0;flags=0-2:S.5;id=c46f5ea8-bbba-499d-a10f-96463d2955c1;mod=0;returning-chatter=0;room-id=75704631;subscriber=0;tmi-sent-ts=1674085692645;turbo=0;user-id=465396358;user-type=;vip=1 :eloonstra!eloonstra@eloonstra.tmi.twitch.tv PRIVMSG #eloonstra :boing"
);
snap!(
    whisper,
    "@badges=;color=#2E8B57;display-name=pajbot\\s;emotes=25:7-11;message-id=2034;thread-id=40286300_82008718;turbo=0;user-id=82008718;user-type= :pajbot!pajbot@pajbot.tmi.twitch.tv WHISPER randers :Riftey Kappa"
);
snap!(
    clearchat_timeout,
    "@ban-duration=1;room-id=11148817;target-user-id=148973258;tmi-sent-ts=1594553828245 :tmi.twitch.tv CLEARCHAT #pajlada :fabzeef"
);
snap!(
    clearchat_ban,
    "@room-id=11148817;target-user-id=70948394;tmi-sent-ts=1594561360331 :tmi.twitch.tv CLEARCHAT #pajlada :weeb123"
);
snap!(
    clearchat_cleared,
    "@room-id=40286300;tmi-sent-ts=1594561392337 :tmi.twitch.tv CLEARCHAT #randers"
);
snap!(
    clearmsg,
    "@login=alazymeme;room-id=;target-msg-id=3c92014f-340a-4dc3-a9c9-e5cf182f4a84;tmi-sent-ts=1594561955611 :tmi.twitch.tv CLEARMSG #pajlada :NIGHT CUNT"
);
snap!(
    usernotice_resub,
    "@badge-info=;badges=premium/1;color=#8A2BE2;display-name=rene_rs;emotes=;flags=;id=ca1f02fb-77ec-487d-a9b3-bc4bfef2fe8b;login=rene_rs;mod=0;msg-id=resub;msg-param-cumulative-months=11;msg-param-months=0;msg-param-should-share-streak=0;msg-param-sub-plan-name=Channel\\sSubscription\\s(xqcow);msg-param-sub-plan=Prime;room-id=71092938;subscriber=0;system-msg=rene_rs\\ssubscribed\\swith\\sTwitch\\sPrime.\\sThey've\\ssubscribed\\sfor\\s11\\smonths!;tmi-sent-ts=1590628650446;user-id=171356987;user-type= :tmi.twitch.tv USERNOTICE #xqcow"
);
snap!(
    usernotice_announcement,
    "@badge-info=subscriber/88;badges=moderator/1,subscriber/72;color=#19E6E6;display-name=randers;emotes=185989:11-15/25:17-21/1902:23-27;flags=;id=9045a344-75b9-44fa-af49-c413bcb39559;login=randers;mod=1;msg-id=announcement;msg-param-color=PRIMARY;room-id=11148817;subscriber=1;system-msg=;tmi-sent-ts=1780872797175;user-id=40286300;user-type=mod;vip=0 :tmi.twitch.tv USERNOTICE #pajlada :hello pajs pajaH Kappa Keepo"
);
snap!(
    usernotice_raid,
    "@badges=partner/1;color=#00FF7F;display-name=FletcherCodes;emotes=;flags=;id=7a61cd41-f049-466b-9654-43e5bfc554aa;login=fletchercodes;mod=0;msg-id=raid;msg-param-displayName=FletcherCodes;msg-param-login=fletchercodes;msg-param-profileImageURL=https://static-cdn.jtvnw.net/jtv_user_pictures/herr_currywurst-profile_image-e6c037c9d321b955-70x70.jpeg;msg-param-viewerCount=538;room-id=269899575;subscriber=0;system-msg=538\\sraiders\\sfrom\\sFletcherCodes\\shave\\sjoined\\n!;tmi-sent-ts=1551490358542;turbo=0;user-id=269899575;user-type= :tmi.twitch.tv USERNOTICE #clippyassistant"
);
snap!(
    usernotice_unknown,
    "@badges=;login=someone;msg-id=brandnewevent;room-id=1;system-msg=Something\\snew;tmi-sent-ts=1700000000001;user-id=7 :tmi.twitch.tv USERNOTICE #chan"
);
snap!(
    roomstate,
    "@emote-only=1;followers-only=10;r9k=1;rituals=0;room-id=40286300;slow=5;subs-only=1 :tmi.twitch.tv ROOMSTATE #randers"
);
snap!(
    roomstate_partial,
    "@followers-only=-1;room-id=40286300 :tmi.twitch.tv ROOMSTATE #randers"
);
snap!(
    userstate_mod,
    "@badge-info=;badges=moderator/1;color=#8A2BE2;display-name=TESTUSER;emote-sets=0,75c09c7b-332a-43ec-8be8-1d4571706155;mod=1;subscriber=0;user-type=mod :tmi.twitch.tv USERSTATE #randers"
);
snap!(
    globaluserstate,
    "@badge-info=;badges=;color=;display-name=randers811;emote-sets=0;user-id=553170741;user-type= :tmi.twitch.tv GLOBALUSERSTATE"
);
snap!(
    notice_ratelimit,
    "@msg-id=msg_ratelimit :tmi.twitch.tv NOTICE #randers00 :Your message was not sent because you are sending messages too quickly."
);
snap!(
    notice_duplicate,
    "@msg-id=msg_duplicate :tmi.twitch.tv NOTICE #randers00 :Your message was not sent because it is identical to the previous one you sent, less than 30 seconds ago."
);
snap!(
    notice_auth_failed,
    ":tmi.twitch.tv NOTICE * :Improperly formatted auth"
);
snap!(
    join_self,
    ":randers811!randers811@randers811.tmi.twitch.tv JOIN #pajlada"
);
snap!(
    join_other,
    ":username123!username123@username123.tmi.twitch.tv JOIN #mychannel"
);
snap!(
    part,
    ":schmoopiie!schmoopiie@schmoopiie.tmi.twitch.tv PART #schmoopiie"
);
snap!(reconnect_raw, ":tmi.twitch.tv RECONNECT");
snap!(ping_raw, "PING :tmi.twitch.tv");
snap!(
    numeric_raw,
    ":tmi.twitch.tv 001 justinfan26682 :Welcome, GLHF!"
);
snap!(
    hosttarget_raw,
    ":tmi.twitch.tv HOSTTARGET #randers :leebaxd 0"
);

/// Every valid line of the corpus normalizes to an event with a valid topic.
#[test]
fn every_corpus_line_normalizes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/irc-vectors.jsonl");
    let text = std::fs::read_to_string(path).expect("read the vector file");
    let normalizer = Normalizer::new("main", "bot");
    let mut events = 0;
    for line in text.lines() {
        let case: Value = serde_json::from_str(line).expect("JSON");
        let raw = case["raw"].as_str().expect("raw");
        let irc_error = case["expect"]["level"] == "irc";
        match normalizer.line(raw, 0) {
            Some(event) => {
                let event = event.expect("valid topic");
                assert!(event.topic.as_str().starts_with("platform.twitch."));
                events += 1;
            }
            None => assert!(irc_error, "{raw:?} was dropped"),
        }
    }
    assert!(events >= 350);
}
