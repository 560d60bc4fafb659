//! The Helix client against a fake Helix + OAuth server serving the recorded payloads.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use botkit::config::Secret;
use botkit::event::Source;
use botkit::store::{MemoryStore, Store};
use botkit::{Action, ActionKind, Outcome, Platform};
use botkit_twitch::TwitchError;
use botkit_twitch::eventsub::{EventSubApi, SubscriptionRequest};
use botkit_twitch::helix::{BanRequest, ColorChange, HelixClient, StaticToken};
use botkit_twitch::oauth::{OAuthClient, OAuthCredentials, TokenSet, TokenStore};
use serde_json::json;
use support::{Fake, Reply, example, recorded_reply, test_http, unix_now};

/// The twitch-cli mock's client id, as in the recordings.
const CLIENT_ID: &str = "61316654f6654260d57789f9b31e74";

fn helix(fake: &Fake, token: &str) -> HelixClient {
    HelixClient::new(CLIENT_ID, Arc::new(StaticToken::new(&Secret::new(token))))
        .with_base_url(&fake.url("/helix"))
        .with_http_client(test_http())
}

fn body_of(name: &str) -> serde_json::Value {
    example(name)["response_body"].clone()
}

#[tokio::test]
async fn every_request_carries_client_id_and_bearer_token() {
    let fake = Fake::start(|r| match r.route().as_str() {
        "GET /helix/users" if r.param("login").as_deref() == Some("twitchdev") => {
            Reply::json(200, &example("get_users.json"))
        }
        "GET /helix/users" => recorded_reply("get_users_by_id.twitch-cli.json")
            .header("Ratelimit-Limit", 800)
            .header("Ratelimit-Remaining", 799)
            .header("Ratelimit-Reset", 1_700_000_000),
        _ => Reply::empty(404),
    });
    let client = helix(&fake, "oauth:tok3n");
    let dev = client.user_by_login("#TwitchDev").await.unwrap();
    assert_eq!(dev.id, "141981764");
    assert_eq!(dev.display_name, "TwitchDev");
    assert_eq!(dev.broadcaster_type, "partner");
    // A second lookup is served from the cache.
    client.user_by_login("twitchdev").await.unwrap();
    let by_id = client.user_by_id("31048042").await.unwrap();
    assert_eq!(by_id.login, "marcusdeveloper378");

    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    for r in &requests {
        assert_eq!(r.header("client-id"), Some(CLIENT_ID));
        assert_eq!(r.header("authorization"), Some("Bearer tok3n"));
    }
    let rate = client.rate_limit();
    assert_eq!(
        (rate.limit, rate.remaining, rate.reset_unix_secs),
        (Some(800), Some(799), Some(1_700_000_000))
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_waits_for_ratelimit_reset_then_succeeds() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let fake = Fake::start(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            let ex = example("error_429_too_many_requests.json");
            Reply::json(429, &ex["body"])
                .header("Ratelimit-Limit", 800)
                .header("Ratelimit-Remaining", 0)
                .header("Ratelimit-Reset", unix_now() + 2)
        } else {
            recorded_reply("get_users_by_id.twitch-cli.json").header("Ratelimit-Remaining", 799)
        }
    });
    let client = helix(&fake, "tok");
    let started = tokio::time::Instant::now();
    let user = client.user_by_id("31048042").await.unwrap();
    let waited = started.elapsed();
    assert_eq!(user.id, "31048042");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // The reset is 1–2 s away in whole unix seconds; the client waited for it.
    assert!(
        waited >= Duration::from_secs(1) && waited <= Duration::from_millis(2100),
        "{waited:?}"
    );
    assert_eq!(client.rate_limit().remaining, Some(799));
}

#[tokio::test(start_paused = true)]
async fn an_empty_bucket_is_waited_out_before_the_next_request() {
    let fake = Fake::start(|_| {
        recorded_reply("get_users_by_id.twitch-cli.json")
            .header("Ratelimit-Limit", 800)
            .header("Ratelimit-Remaining", 0)
            .header("Ratelimit-Reset", unix_now() + 2)
    });
    let client = helix(&fake, "tok");
    client.user_by_id("31048042").await.unwrap();
    let started = tokio::time::Instant::now();
    client.user_by_id("31048042").await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited <= Duration::from_millis(2100),
        "{waited:?}"
    );
    assert_eq!(fake.requests().len(), 2, "no 429 was needed");
}

#[tokio::test(start_paused = true)]
async fn endless_429_is_a_rate_limit_error_after_bounded_retries() {
    let fake = Fake::start(|_| {
        Reply::json(429, &example("error_429_too_many_requests.json")["body"])
            .header("Ratelimit-Remaining", 0)
            .header("Ratelimit-Reset", unix_now() + 1)
    });
    let client = helix(&fake, "tok").with_rate_limit_retries(2);
    let err = client.user_by_id("1").await.unwrap_err();
    assert!(matches!(err, TwitchError::RateLimited { .. }), "{err:?}");
    assert!(err.retry_after().is_some());
    assert!(err.to_string().contains("GET /users"), "{err}");
    assert_eq!(fake.requests().len(), 3);
}

/// A fake whose Helix accepts only `good` as a token and whose OAuth refresh hands it out.
fn refreshing_fake(good: &'static str) -> Fake {
    Fake::start(move |r| match r.route().as_str() {
        "GET /oauth2/validate" => Reply::json(200, &body_of("validate_token.twitch-cli.json")),
        "POST /oauth2/token" => {
            let mut body = example("oauth_refresh.json")["success_response"].clone();
            body["access_token"] = good.into();
            Reply::json(200, &body)
        }
        "GET /helix/users" if r.header("authorization") == Some(&format!("Bearer {good}")) => {
            recorded_reply("get_users_by_id.twitch-cli.json")
        }
        "GET /helix/users" => Reply::json(401, &example("error_401_invalid_token.json")),
        _ => Reply::empty(404),
    })
}

async fn oauth_credentials(fake: &Fake, access: &str) -> (Arc<OAuthCredentials>, TokenStore) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let tokens = TokenStore::new(store);
    tokens
        .save(&TokenSet {
            access_token: Secret::new(access),
            refresh_token: Some(Secret::new("r3fresh")),
            expires_at_ms: Some(botkit::event::now_millis() + 3_600_000),
            scopes: vec!["chat:read".into()],
            login: "marcusdeveloper378".into(),
            user_id: "31048042".into(),
        })
        .await
        .unwrap();
    let oauth = OAuthClient::new(CLIENT_ID)
        .with_base_url(&fake.url("/oauth2"))
        .with_http_client(test_http());
    (
        Arc::new(OAuthCredentials::new(
            oauth,
            tokens.clone(),
            "marcusdeveloper378",
        )),
        tokens,
    )
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries() {
    let fake = refreshing_fake("n3w");
    let (creds, tokens) = oauth_credentials(&fake, "old").await;
    let client = HelixClient::new(CLIENT_ID, creds)
        .with_base_url(&fake.url("/helix"))
        .with_http_client(test_http());
    let me = client.me().await.unwrap();
    assert_eq!(me.id, "31048042");
    let users: Vec<_> = fake
        .requests_to("GET /helix/users")
        .iter()
        .map(|r| r.header("authorization").unwrap_or("").to_owned())
        .collect();
    assert_eq!(users, ["Bearer old", "Bearer n3w"]);
    let refresh = fake.requests_to("POST /oauth2/token");
    assert_eq!(refresh.len(), 1);
    assert_eq!(
        refresh[0].param("grant_type").as_deref(),
        Some("refresh_token")
    );
    assert_eq!(
        refresh[0].param("refresh_token").as_deref(),
        Some("r3fresh")
    );
    // The rotated tokens were written back for the next start.
    let stored = tokens.load("marcusdeveloper378").await.unwrap().unwrap();
    assert_eq!(stored.access_token.expose(), "n3w");
}

#[tokio::test]
async fn a_second_401_is_an_auth_error_not_a_loop() {
    // Helix accepts no token at all: the refreshed one is refused too.
    let fake = refreshing_fake("never-issued-by-helix");
    let fake_helix_refuses_all =
        Fake::start(|_| Reply::json(401, &example("error_401_invalid_token.json")));
    let (creds, _) = oauth_credentials(&fake, "old").await;
    let client = HelixClient::new(CLIENT_ID, creds)
        .with_base_url(&fake_helix_refuses_all.url("/helix"))
        .with_http_client(test_http());
    let err = client.me().await.unwrap_err();
    assert!(matches!(err, TwitchError::Auth(_)), "{err:?}");
    assert!(err.to_string().contains("botkit twitch login"), "{err}");
    assert_eq!(fake_helix_refuses_all.requests().len(), 2);
    assert_eq!(fake.requests_to("POST /oauth2/token").len(), 1);
}

#[tokio::test]
async fn a_static_token_refused_is_an_auth_error_at_once() {
    let fake = Fake::start(|_| Reply::json(401, &example("error_401_invalid_token.json")));
    let err = helix(&fake, "tok").me().await.unwrap_err();
    assert!(matches!(err, TwitchError::Auth(_)), "{err:?}");
    assert!(err.to_string().contains("client_id"), "{err}");
    assert_eq!(fake.requests().len(), 1);
}

/// Chat color like the twitch-cli mock, except that a hex is refused unless `turbo`.
fn color_fake(turbo: bool) -> Fake {
    Fake::start(move |r| match r.route().as_str() {
        "PUT /helix/chat/color" => {
            let color = r.param("color").unwrap_or_default();
            if color.starts_with('#') && !turbo {
                recorded_reply("put_chat_color_invalid_name.twitch-cli.json")
            } else if color == "blue_violet" {
                recorded_reply("put_chat_color_named.twitch-cli.json")
            } else {
                recorded_reply("put_chat_color_hex.twitch-cli.json")
            }
        }
        "GET /helix/chat/color" => recorded_reply("get_chat_color.twitch-cli.json"),
        _ => Reply::empty(404),
    })
}

#[tokio::test]
async fn chat_color_named_hex_and_fallback() {
    let fake = color_fake(false);
    let client = helix(&fake, "tok");
    assert_eq!(client.chat_color("31048042").await.unwrap(), None);
    assert_eq!(
        client
            .set_chat_color("31048042", "BlueViolet")
            .await
            .unwrap(),
        ColorChange::Set("blue_violet".into())
    );
    let change = client.set_chat_color("31048042", "#8A2BE0").await.unwrap();
    match change {
        ColorChange::Fallback {
            requested,
            used,
            reason,
        } => {
            assert_eq!(requested, "#8A2BE0");
            assert_eq!(used, "blue_violet");
            assert!(reason.contains("not valid"), "{reason}");
        }
        other => panic!("expected a fallback, got {other:?}"),
    }
    let puts: Vec<_> = fake
        .requests_to("PUT /helix/chat/color")
        .iter()
        .map(|r| r.param("color").unwrap_or_default())
        .collect();
    assert_eq!(puts, ["blue_violet", "#8A2BE0", "blue_violet"]);
    // The raw query is percent-encoded (`#` would end the URL otherwise).
    assert!(fake.requests()[2].query.contains("color=%238A2BE0"));

    let turbo = color_fake(true);
    assert_eq!(
        helix(&turbo, "tok")
            .set_chat_color("31048042", "9146ff")
            .await
            .unwrap(),
        ColorChange::Set("#9146FF".into())
    );
    // An unknown name is refused before any request.
    let err = client
        .set_chat_color("31048042", "purple")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`purple`"), "{err}");
}

#[tokio::test]
async fn a_dropped_chat_message_is_an_error_with_the_reason() {
    let fake = Fake::start(|r| {
        if r.json()["message"] == "again" {
            Reply::json(200, &example("send_chat_message.dropped.json"))
        } else {
            Reply::json(200, &example("send_chat_message.sent.json"))
        }
    });
    let client = helix(&fake, "tok");
    let sent = client
        .send_chat_message(
            "12826",
            "141981764",
            "Hello, World! HeyGuys",
            Some("parent-1"),
        )
        .await
        .unwrap();
    assert_eq!(sent.message_id, "abc-123-def");
    let request = &fake.requests()[0];
    assert_eq!(request.route(), "POST /helix/chat/messages");
    let expected = example("send_chat_message.request.json")["body"].clone();
    assert_eq!(request.json()["broadcaster_id"], expected["broadcaster_id"]);
    assert_eq!(request.json()["sender_id"], expected["sender_id"]);
    assert_eq!(request.json()["message"], expected["message"]);
    assert_eq!(request.json()["reply_parent_message_id"], "parent-1");
    assert!(
        request
            .header("content-type")
            .unwrap()
            .contains("application/json")
    );

    let err = client
        .send_chat_message("12826", "141981764", "again", None)
        .await
        .unwrap_err();
    match &err {
        TwitchError::MessageDropped { code, message } => {
            assert_eq!(code, "msg_duplicate");
            assert!(message.contains("identical"), "{message}");
        }
        other => panic!("expected a drop, got {other:?}"),
    }
    assert!(err.to_string().contains("msg_duplicate"));
}

#[tokio::test]
async fn moderation_and_eventsub_requests() {
    let fake = Fake::start(|r| match r.route().as_str() {
        "DELETE /helix/moderation/chat" => recorded_reply("delete_chat_message.twitch-cli.json"),
        "POST /helix/moderation/bans" => Reply::json(200, &json!({"data": [{}]})),
        "POST /helix/eventsub/subscriptions" => Reply::json(
            202,
            &example("create_subscription_websocket.twitch-cli.json")["response"],
        ),
        "DELETE /helix/eventsub/subscriptions" => Reply::empty(204),
        _ => Reply::json(404, &json!({"message": "no route"})),
    });
    let client = helix(&fake, "tok");
    client
        .delete_chat_message("31048042", "31048042", "abc-123")
        .await
        .unwrap();
    let err = client
        .delete_chat_message("31048042", "31048042", " ")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("clear the whole chat"), "{err}");
    client
        .ban(&BanRequest {
            broadcaster_id: "1".into(),
            moderator_id: "2".into(),
            user_id: "3".into(),
            duration_secs: Some(600),
            reason: Some("spam".into()),
        })
        .await
        .unwrap();
    let bad = BanRequest {
        broadcaster_id: "1".into(),
        moderator_id: "2".into(),
        user_id: "3".into(),
        duration_secs: Some(2_000_000),
        reason: None,
    };
    assert!(client.ban(&bad).await.is_err());

    let created = client
        .create_subscription(&SubscriptionRequest {
            kind: "channel.ban".into(),
            version: "1".into(),
            condition: json!({"broadcaster_user_id": "1234"}),
            session_id: "81a4063f_5a9a0ab2".into(),
        })
        .await
        .unwrap();
    assert_eq!(created.id, "06f0e846-fe8d-fcae-8ece-e335a149e718");
    assert_eq!(created.status, "enabled");
    client.delete_subscription(&created.id).await.unwrap();

    let requests = fake.requests();
    let routes: Vec<String> = requests.iter().map(|r| r.route()).collect();
    assert_eq!(
        routes,
        [
            "DELETE /helix/moderation/chat",
            "POST /helix/moderation/bans",
            "POST /helix/eventsub/subscriptions",
            "DELETE /helix/eventsub/subscriptions"
        ]
    );
    assert_eq!(requests[0].param("message_id").as_deref(), Some("abc-123"));
    assert_eq!(
        requests[1].json(),
        json!({"data": {"user_id": "3", "duration": 600, "reason": "spam"}})
    );
    let sub = requests[2].json();
    assert_eq!(
        sub,
        example("create_subscription_websocket.twitch-cli.json")["request"]
    );
    assert_eq!(
        requests[3].param("id").as_deref(),
        Some("06f0e846-fe8d-fcae-8ece-e335a149e718")
    );
}

fn platform_config(fake: Option<&Fake>) -> botkit_twitch::TwitchConfig {
    let mut section = botkit::config::PlatformSection::new("twitch", "main")
        .with_field("login", "marcusdeveloper378")
        .with_field("token", "oauth:tok");
    if let Some(fake) = fake {
        section = section
            .with_field("client_id", CLIENT_ID)
            .with_field("helix_url", fake.url("/helix"));
    }
    botkit_twitch::TwitchConfig::from_section(&section).unwrap()
}

#[tokio::test]
async fn platform_actions_go_through_helix() {
    let fake = Fake::start(|r| match r.route().as_str() {
        "GET /helix/users" => match r.param("login").as_deref() {
            Some("somechannel") => Reply::json(
                200,
                &json!({"data": [{"id": "1000", "login": "somechannel", "display_name": "SomeChannel"}]}),
            ),
            Some("spammer") => Reply::json(
                200,
                &json!({"data": [{"id": "2000", "login": "spammer", "display_name": "Spammer"}]}),
            ),
            Some(_) => Reply::json(200, &json!({"data": []})),
            None => recorded_reply("get_users_by_id.twitch-cli.json"),
        },
        "POST /helix/moderation/bans" => Reply::json(200, &json!({"data": [{}]})),
        "PUT /helix/chat/color" => Reply::empty(204),
        "POST /helix/whispers" => Reply::empty(204),
        "DELETE /helix/moderation/chat" => Reply::empty(204),
        _ => Reply::empty(404),
    });
    let platform =
        botkit_twitch::TwitchPlatform::new("main", platform_config(Some(&fake))).unwrap();
    let caps = platform.capabilities();
    assert!(caps.moderation && caps.colors && caps.whispers);
    let channel = Source::new("twitch", "main", Some("#somechannel"));
    let actions = [
        ActionKind::Timeout {
            user: "Spammer".into(),
            duration_secs: 60,
            reason: Some("caps".into()),
        },
        ActionKind::Ban {
            user: "@spammer".into(),
            reason: None,
        },
        ActionKind::DeleteMessage {
            message_id: "abc-123".into(),
        },
        ActionKind::SetColor {
            color: "hot pink".into(),
        },
        ActionKind::Whisper {
            to: "spammer".into(),
            text: "please stop".into(),
        },
    ];
    for kind in actions {
        let outcome = platform
            .execute(&Action::new(channel.clone(), kind))
            .await
            .unwrap();
        assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
    }
    let bans = fake.requests_to("POST /helix/moderation/bans");
    assert_eq!(bans.len(), 2);
    assert_eq!(bans[0].param("broadcaster_id").as_deref(), Some("1000"));
    assert_eq!(bans[0].param("moderator_id").as_deref(), Some("31048042"));
    assert_eq!(
        bans[0].json(),
        json!({"data": {"user_id": "2000", "duration": 60, "reason": "caps"}})
    );
    assert_eq!(bans[1].json(), json!({"data": {"user_id": "2000"}}));
    let color = &fake.requests_to("PUT /helix/chat/color")[0];
    assert_eq!(color.param("color").as_deref(), Some("hot_pink"));
    assert_eq!(color.param("user_id").as_deref(), Some("31048042"));
    let whisper = &fake.requests_to("POST /helix/whispers")[0];
    assert_eq!(whisper.param("to_user_id").as_deref(), Some("2000"));
    assert_eq!(whisper.json(), json!({"message": "please stop"}));
    // Users are looked up once, then cached.
    assert_eq!(fake.requests_to("GET /helix/users").len(), 3);

    // An unknown user is a clear refusal.
    let err = platform
        .execute(&Action::new(
            channel.clone(),
            ActionKind::Ban {
                user: "nobody".into(),
                reason: None,
            },
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no Twitch user `nobody`"), "{err}");
}

#[tokio::test]
async fn without_helix_the_actions_stay_unsupported() {
    let platform = botkit_twitch::TwitchPlatform::new("main", platform_config(None)).unwrap();
    assert!(!platform.capabilities().moderation);
    let outcome = platform
        .execute(&Action::new(
            Source::new("twitch", "main", Some("#somechannel")),
            ActionKind::Ban {
                user: "x".into(),
                reason: None,
            },
        ))
        .await
        .unwrap();
    assert!(
        matches!(&outcome, Outcome::Unsupported { verb } if verb == "ban"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn chat_via_helix_returns_ids_and_reports_drops() {
    let fake = Fake::start(|r| match r.route().as_str() {
        "GET /helix/users" if r.param("login").is_some() => Reply::json(
            200,
            &json!({"data": [{"id": "1000", "login": "somechannel", "display_name": "SomeChannel"}]}),
        ),
        "GET /helix/users" => recorded_reply("get_users_by_id.twitch-cli.json"),
        "POST /helix/chat/messages" if r.json()["message"] == "dup" => {
            Reply::json(200, &example("send_chat_message.dropped.json"))
        }
        "POST /helix/chat/messages" => Reply::json(200, &example("send_chat_message.sent.json")),
        _ => Reply::empty(404),
    });
    let mut config = platform_config(Some(&fake));
    config.chat_via_helix = true;
    let platform = botkit_twitch::TwitchPlatform::new("main", config).unwrap();
    let channel = Source::new("twitch", "main", Some("#somechannel"));

    // No IRC connection is needed to send through Helix.
    let outcome = platform
        .execute(&Action::say(channel.clone(), "hello"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Outcome::Done {
            message_id: Some("abc-123-def".into())
        }
    );
    platform
        .execute(&Action::new(
            channel.clone(),
            ActionKind::Reply {
                text: "hi back".into(),
                parent_id: Some("parent-9".into()),
                to: None,
            },
        ))
        .await
        .unwrap();
    let outcome = platform
        .execute(&Action::say(channel.clone(), "dup"))
        .await
        .unwrap();
    match outcome {
        Outcome::Dropped { reason } => assert!(reason.starts_with("msg_duplicate:"), "{reason}"),
        other => panic!("expected a drop, got {other:?}"),
    }
    let sent = fake.requests_to("POST /helix/chat/messages");
    assert_eq!(sent.len(), 3);
    assert_eq!(
        sent[0].json(),
        json!({"broadcaster_id": "1000", "sender_id": "31048042", "message": "hello"})
    );
    assert_eq!(sent[1].json()["reply_parent_message_id"], "parent-9");

    // Without a client id there is no Helix to send through: a config error, at once.
    let mut config = platform_config(None);
    config.chat_via_helix = true;
    let err = botkit_twitch::TwitchPlatform::new("main", config).unwrap_err();
    assert!(
        err.to_string()
            .contains("`chat_via_helix` needs a `client_id`"),
        "{err}"
    );
}

/// EventSub's id lookup: many logins in one `GET /users` (up to 100 each), unknown ones
/// left out, known ones from the cache afterwards.
#[tokio::test]
async fn user_ids_are_looked_up_in_batches_and_cached() {
    let fake = Fake::start(|r| match r.route().as_str() {
        "GET /helix/users" if r.query.contains("login=twitchdev") => {
            Reply::json(200, &example("get_users.json"))
        }
        "GET /helix/users" => Reply::json(200, &json!({ "data": [] })),
        _ => Reply::empty(404),
    });
    let client = helix(&fake, "oauth:tok3n");
    let ids = client
        .user_ids(&["#TwitchDev".to_owned(), "nosuchuser".to_owned()])
        .await
        .unwrap();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(ids["twitchdev"], "141981764");
    let requests = fake.requests_to("GET /helix/users");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].query, "login=twitchdev&login=nosuchuser");

    let ids = client.user_ids(&["twitchdev".to_owned()]).await.unwrap();
    assert_eq!(ids["twitchdev"], "141981764");
    assert_eq!(fake.requests().len(), 1, "served from the cache");

    let many: Vec<String> = (0..250).map(|i| format!("user{i}")).collect();
    assert!(client.user_ids(&many).await.unwrap().is_empty());
    assert_eq!(fake.requests().len(), 1 + 3, "100 logins a request");
}

#[tokio::test]
async fn an_unreachable_helix_is_a_transient_lookup_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = HelixClient::new(CLIENT_ID, Arc::new(StaticToken::new(&Secret::new("t"))))
        .with_base_url(&format!("http://127.0.0.1:{port}/helix"))
        .with_http_client(test_http());
    let err = client.user_ids(&["streamer".to_owned()]).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}
