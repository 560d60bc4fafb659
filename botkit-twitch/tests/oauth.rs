//! OAuth: the device flow's back-off, refresh ahead of expiry, validation, the encrypted
//! token store, and secrets kept out of `Debug`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use botkit::config::Secret;
use botkit::store::{MemoryStore, Store};
use botkit_twitch::credentials::CredentialsProvider;
use botkit_twitch::oauth::{
    OAuthClient, OAuthCredentials, STORE_NAMESPACE, TokenSet, TokenStore, VALIDATE_EVERY,
};
use botkit_twitch::{Credentials, TwitchError};
use serde_json::json;
use support::{Fake, Reply, example, test_http};

const CLIENT_ID: &str = "61316654f6654260d57789f9b31e74";

fn oauth(fake: &Fake) -> OAuthClient {
    OAuthClient::new(CLIENT_ID)
        .with_base_url(&fake.url("/oauth2"))
        .with_http_client(test_http())
}

fn validate_ok() -> Reply {
    Reply::json(
        200,
        &example("validate_token.twitch-cli.json")["response_body"],
    )
}

fn scopes() -> Vec<String> {
    vec!["chat:read".to_owned(), "chat:edit".to_owned()]
}

/// A device flow whose token endpoint answers the `answers` in turn, then success.
fn device_fake(answers: &'static [&'static str]) -> Fake {
    let polls = AtomicUsize::new(0);
    Fake::start(move |r| match r.route().as_str() {
        "POST /oauth2/device" => Reply::json(200, &example("oauth_device_code.json")["response"]),
        "POST /oauth2/token" => {
            let n = polls.fetch_add(1, Ordering::SeqCst);
            match answers.get(n) {
                Some(&"503") => Reply::json(503, &json!({"status": 503, "message": "unavailable"})),
                Some(message) => Reply::json(400, &json!({"status": 400, "message": message})),
                None => Reply::json(
                    200,
                    &example("oauth_device_token_poll.json")["success_response"],
                ),
            }
        }
        "GET /oauth2/validate" => validate_ok(),
        _ => Reply::empty(404),
    })
}

#[tokio::test(start_paused = true)]
async fn device_flow_backs_off_on_slow_down_then_succeeds() {
    let fake = device_fake(&["authorization_pending", "slow_down"]);
    let client = oauth(&fake);
    let device = client.start_device_login(&scopes()).await.unwrap();
    assert_eq!(device.user_code, "ABCDEFGH");
    assert!(
        device
            .verification_uri
            .starts_with("https://www.twitch.tv/activate")
    );
    assert_eq!(device.interval, 5);

    let started = tokio::time::Instant::now();
    let tokens = client
        .finish_device_login(&device, &scopes())
        .await
        .unwrap();
    // 5 s before the first poll (pending), 5 s before the second (slow_down), then the
    // interval is 10 s before the third.
    assert_eq!(started.elapsed().as_secs(), 20, "{:?}", started.elapsed());
    assert_eq!(tokens.access_token.expose(), "rfx2uswqe8l4g1mkagrvg5tv0ks3");
    assert_eq!(
        tokens.refresh_token.as_ref().map(Secret::expose),
        Some("5b93chm6hdve3mycz05zfzatkfdenfspp1h1ar2xxdalen01")
    );
    assert_eq!(tokens.login, "marcusdeveloper378");
    assert_eq!(tokens.user_id, "31048042");

    let device_req = &fake.requests_to("POST /oauth2/device")[0];
    assert_eq!(device_req.param("client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(
        device_req.param("scopes").as_deref(),
        Some("chat:read chat:edit")
    );
    let polls = fake.requests_to("POST /oauth2/token");
    assert_eq!(polls.len(), 3);
    assert_eq!(
        polls[0].param("grant_type").as_deref(),
        Some("urn:ietf:params:oauth:grant-type:device_code")
    );
    assert_eq!(
        polls[0].param("device_code").as_deref(),
        Some("ike3GM8QIdYZs43KdrWPIO36LofILoCyFEzjlQ91")
    );
}

#[tokio::test(start_paused = true)]
async fn device_flow_rides_out_a_server_error() {
    let fake = device_fake(&["authorization_pending", "503", "authorization_pending"]);
    let client = oauth(&fake);
    let device = client.start_device_login(&scopes()).await.unwrap();
    let started = tokio::time::Instant::now();
    let tokens = client
        .finish_device_login(&device, &scopes())
        .await
        .unwrap();
    assert_eq!(started.elapsed().as_secs(), 20);
    assert_eq!(tokens.login, "marcusdeveloper378");
    assert_eq!(fake.requests_to("POST /oauth2/token").len(), 4);
}

#[tokio::test(start_paused = true)]
async fn device_flow_expired_or_denied_is_a_clear_error() {
    for (answer, expect) in [("expired_token", "expired"), ("access_denied", "denied")] {
        let answers: &'static [&'static str] = match answer {
            "expired_token" => &["authorization_pending", "expired_token"],
            _ => &["access_denied"],
        };
        let fake = device_fake(answers);
        let client = oauth(&fake);
        let device = client.start_device_login(&scopes()).await.unwrap();
        let err = client
            .finish_device_login(&device, &scopes())
            .await
            .unwrap_err();
        assert!(matches!(err, TwitchError::Login(_)), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains(expect) && text.contains("botkit twitch login"),
            "{text}"
        );
    }
}

fn stored(access: &str, expires_in_secs: i64) -> TokenSet {
    TokenSet {
        access_token: Secret::new(access),
        refresh_token: Some(Secret::new("r3fresh")),
        expires_at_ms: Some(botkit::event::now_millis() + expires_in_secs * 1000),
        scopes: vec!["chat:read".into()],
        login: "marcusdeveloper378".into(),
        user_id: "31048042".into(),
    }
}

/// OAuth server: validate answers `valid` (else 401), refresh answers `refresh_ok`.
fn token_fake(valid: bool, refresh_ok: bool) -> Fake {
    Fake::start(move |r| match r.route().as_str() {
        "GET /oauth2/validate" if valid => validate_ok(),
        "GET /oauth2/validate" => {
            Reply::json(401, &example("oauth_validate.json")["invalid_response"])
        }
        "POST /oauth2/token" if refresh_ok => {
            Reply::json(200, &example("oauth_refresh.json")["success_response"])
        }
        "POST /oauth2/token" => Reply::json(
            400,
            &example("oauth_refresh.json")["invalid_refresh_response"],
        ),
        _ => Reply::empty(404),
    })
}

async fn provider(fake: &Fake, tokens: TokenSet) -> (OAuthCredentials, TokenStore) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let token_store = TokenStore::new(store);
    token_store.save(&tokens).await.unwrap();
    (
        OAuthCredentials::new(oauth(fake), token_store.clone(), "MarcusDeveloper378"),
        token_store,
    )
}

#[tokio::test]
async fn a_token_close_to_expiry_is_refreshed_before_use() {
    let fake = token_fake(true, true);
    let (creds, store) = provider(&fake, stored("old", 60)).await;
    let c = creds.credentials().await.unwrap();
    assert_eq!(c.login, "marcusdeveloper378");
    assert_eq!(
        c.token.as_ref().map(Secret::expose),
        Some("1ssjqsqfy6bads1ws7m03gras79zkc")
    );
    assert_eq!(fake.requests_to("POST /oauth2/token").len(), 1);
    let saved = store.load("marcusdeveloper378").await.unwrap().unwrap();
    assert_eq!(
        saved.access_token.expose(),
        "1ssjqsqfy6bads1ws7m03gras79zkc"
    );
    assert_eq!(
        saved.refresh_token.as_ref().map(Secret::expose),
        Some("eyJfMzUtNDU0OC04MWYwLTQ5MDY5ODY4NGNlMSJ9%asdfasdf=")
    );
    assert!(saved.expires_at_ms.unwrap() > botkit::event::now_millis() + 3_600_000);

    // A token with hours left is only validated (once: at start), never refreshed.
    let fake = token_fake(true, true);
    let (creds, _) = provider(&fake, stored("fresh", 3 * 3600)).await;
    for _ in 0..3 {
        let c = creds.credentials().await.unwrap();
        assert_eq!(c.token.as_ref().map(Secret::expose), Some("fresh"));
    }
    assert_eq!(fake.requests_to("POST /oauth2/token").len(), 0);
    let validations = fake.requests_to("GET /oauth2/validate");
    assert_eq!(validations.len(), 1);
    assert_eq!(validations[0].header("authorization"), Some("OAuth fresh"));
}

#[tokio::test]
async fn validation_failure_refreshes_or_fails_with_an_auth_error() {
    // Invalid token, refresh works: the session gets the refreshed token.
    let fake = token_fake(false, true);
    let (creds, _) = provider(&fake, stored("revoked", 3 * 3600)).await;
    let c = creds.credentials().await.unwrap();
    assert_eq!(
        c.token.as_ref().map(Secret::expose),
        Some("1ssjqsqfy6bads1ws7m03gras79zkc")
    );

    // Invalid token and refresh token: an auth error that says what to do.
    let fake = token_fake(false, false);
    let (creds, _) = provider(&fake, stored("revoked", 3 * 3600)).await;
    let err = creds.credentials().await.unwrap_err();
    assert!(matches!(err, TwitchError::Auth(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("Invalid refresh token") && text.contains("botkit twitch login"),
        "{text}"
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn an_unreachable_oauth_server_does_not_block_a_working_token() {
    let fake = Fake::start(|_| Reply::json(503, &json!({"status": 503, "message": "down"})));
    // Validation cannot be made: the token is used all the same.
    let (creds, _) = provider(&fake, stored("still-good", 3 * 3600)).await;
    let c = creds.credentials().await.unwrap();
    assert_eq!(c.token.as_ref().map(Secret::expose), Some("still-good"));
    // Due for refresh but not expired: used until the refresh goes through.
    let (creds, _) = provider(&fake, stored("expiring", 60)).await;
    let c = creds.credentials().await.unwrap();
    assert_eq!(c.token.as_ref().map(Secret::expose), Some("expiring"));
    // Expired and the refresh cannot be made: a transient error, so the session retries.
    let (creds, _) = provider(&fake, stored("expired", -60)).await;
    let err = creds.credentials().await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn a_refused_login_refreshes_once() {
    let fake = token_fake(true, true);
    let (creds, _) = provider(&fake, stored("old", 3 * 3600)).await;
    let first = creds.credentials().await.unwrap();
    assert!(
        creds.refused(&first).await,
        "a refresh should make a retry worth it"
    );
    let second = creds.credentials().await.unwrap();
    assert_ne!(first.token, second.token);

    let fake = token_fake(true, false);
    let (creds, _) = provider(&fake, stored("old", 3 * 3600)).await;
    let first = creds.credentials().await.unwrap();
    assert!(!creds.refused(&first).await, "no refresh, no retry");
}

#[tokio::test(start_paused = true)]
async fn hourly_validation_ends_the_session_when_the_token_is_revoked() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    // Valid at start, revoked an hour later, and the refresh token is dead too.
    let fake = Fake::start(move |r| match r.route().as_str() {
        "GET /oauth2/validate" if seen.fetch_add(1, Ordering::SeqCst) == 0 => validate_ok(),
        "GET /oauth2/validate" => {
            Reply::json(401, &example("oauth_validate.json")["invalid_response"])
        }
        "POST /oauth2/token" => Reply::json(
            400,
            &example("oauth_refresh.json")["invalid_refresh_response"],
        ),
        _ => Reply::empty(404),
    });
    let (creds, _) = provider(&fake, stored("tok", 3 * 3600)).await;
    creds.credentials().await.unwrap();
    let started = tokio::time::Instant::now();
    let err = creds.watch().await;
    assert!(matches!(err, TwitchError::Auth(_)), "{err:?}");
    assert_eq!(started.elapsed(), VALIDATE_EVERY);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn no_stored_token_says_to_log_in() {
    let fake = token_fake(true, true);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let creds = OAuthCredentials::new(oauth(&fake), TokenStore::new(store), "mybot");
    let err = creds.credentials().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("`mybot`") && text.contains("botkit twitch login --client-id"),
        "{text}"
    );
}

#[tokio::test]
async fn encrypted_tokens_round_trip_and_a_wrong_key_is_a_clear_error() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let key = Secret::new("correct horse battery staple");
    let encrypted = TokenStore::new(Arc::clone(&store))
        .with_secret_key(&key)
        .unwrap();
    assert!(encrypted.is_encrypted());
    let tokens = stored("acc3ss-t0ken-plain", 3600);
    encrypted.save(&tokens).await.unwrap();

    // The raw entry holds neither token in clear.
    let raw = store
        .kv_get(STORE_NAMESPACE, "oauth/marcusdeveloper378")
        .await
        .unwrap()
        .unwrap()
        .to_string();
    assert!(
        !raw.contains("acc3ss-t0ken-plain") && !raw.contains("r3fresh"),
        "{raw}"
    );
    assert!(raw.contains("aes-256-gcm"), "{raw}");

    // The same key reads it back.
    let back = TokenStore::new(Arc::clone(&store))
        .with_secret_key(&key)
        .unwrap()
        .load("MarcusDeveloper378")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, tokens);

    // A wrong key fails the tag check: a clear error, never garbage.
    let err = TokenStore::new(Arc::clone(&store))
        .with_secret_key(&Secret::new("another key entirely, 32 chars.."))
        .unwrap()
        .load("marcusdeveloper378")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("BOTKIT_SECRET_KEY is not the key it was stored with"),
        "{text}"
    );

    // No key at all: say that one is needed.
    let err = TokenStore::new(Arc::clone(&store))
        .load("marcusdeveloper378")
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("is encrypted; set BOTKIT_SECRET_KEY"),
        "{err}"
    );

    // An entry moved to another login does not open (the key name is bound in).
    let value = store
        .kv_get(STORE_NAMESPACE, "oauth/marcusdeveloper378")
        .await
        .unwrap()
        .unwrap();
    store
        .kv_put(STORE_NAMESPACE, "oauth/someoneelse", value)
        .await
        .unwrap();
    assert!(encrypted.load("someoneelse").await.is_err());

    // Without a key, the entry is plain JSON, and missing entries are `None`.
    let plain = TokenStore::new(Arc::clone(&store));
    let mut other = stored("plain-token", 3600);
    other.login = "plainbot".into();
    plain.save(&other).await.unwrap();
    assert_eq!(plain.load("plainbot").await.unwrap(), Some(other));
    assert_eq!(plain.load("nobody").await.unwrap(), None);
}

#[tokio::test]
async fn no_type_shows_a_secret_in_debug() {
    let fake = token_fake(true, true);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let tokens = TokenStore::new(Arc::clone(&store))
        .with_secret_key(&Secret::new("k3y-k3y-k3y-k3y-k3y"))
        .unwrap();
    let client = oauth(&fake).with_client_secret(Some(Secret::new("cl13nt-s3cr3t")));
    let creds = OAuthCredentials::new(client.clone(), tokens.clone(), "bot");
    let set = stored("acc3ss", 60);
    let helix = botkit_twitch::helix::HelixClient::new(
        CLIENT_ID,
        Arc::new(botkit_twitch::helix::StaticToken::new(&Secret::new(
            "h3l1x",
        ))),
    );
    let config = botkit_twitch::TwitchConfig::from_section(
        &botkit::config::PlatformSection::new("twitch", "bot")
            .with_field("login", "bot")
            .with_field("client_id", CLIENT_ID)
            .with_field("client_secret", "cl13nt-s3cr3t")
            .with_field("token", "c0nf1g-t0k3n"),
    )
    .unwrap();
    let shown = format!(
        "{set:?} {client:?} {creds:?} {tokens:?} {helix:?} {config:?} {:?} {:?}",
        Credentials::new("bot", Secret::new("cr3ds")),
        botkit_twitch::helix::StaticToken::new(&Secret::new("st4t1c")),
    );
    for secret in [
        "acc3ss",
        "r3fresh",
        "cl13nt-s3cr3t",
        "k3y-k3y",
        "h3l1x",
        "c0nf1g-t0k3n",
        "cr3ds",
        "st4t1c",
    ] {
        assert!(!shown.contains(secret), "`{secret}` shown in {shown}");
    }
}
