//! The chat session with the stored OAuth token: the platform reads the token that
//! `botkit twitch login` stored, logs in with it, and when Twitch refuses the login it
//! refreshes the token once and logs in with the new one; a refresh that fails stops it.
//!
//! Real time here (not paused): the OAuth fake runs on its own thread, and a paused
//! clock would jump past the IRC side's timeouts while the platform waits on it.

mod support;

use std::sync::Arc;
use std::time::Duration;

use botkit::backoff::BackoffPolicy;
use botkit::bus::Bus;
use botkit::config::{PlatformSection, Secret};
use botkit::store::{MemoryStore, Store};
use botkit::{Platform, PlatformContext, PlatformError};
use botkit_twitch::oauth::{TokenSet, TokenStore};
use botkit_twitch::{TwitchConfig, TwitchPlatform};
use support::{Fake, Reply, example};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(20);
const REFRESHED: &str = "1ssjqsqfy6bads1ws7m03gras79zkc";

fn oauth_fake(refresh_ok: bool) -> Fake {
    oauth_fake_failing_first(refresh_ok, 0)
}

/// The OAuth fake, answering the first `failures` refreshes with 503.
fn oauth_fake_failing_first(refresh_ok: bool, failures: usize) -> Fake {
    let refreshes = std::sync::atomic::AtomicUsize::new(0);
    Fake::start(move |r| match r.route().as_str() {
        "POST /oauth2/token"
            if refreshes.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < failures =>
        {
            Reply::json(
                503,
                &serde_json::json!({"status": 503, "message": "unavailable"}),
            )
        }
        "GET /oauth2/validate" => Reply::json(
            200,
            &example("validate_token.twitch-cli.json")["response_body"],
        ),
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

async fn platform(irc: &TcpListener, oauth: &Fake) -> (TwitchPlatform, Arc<dyn Store>) {
    platform_expiring_in(irc, oauth, 3 * 3600).await
}

async fn platform_expiring_in(
    irc: &TcpListener,
    oauth: &Fake,
    expires_in_secs: i64,
) -> (TwitchPlatform, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    TokenStore::new(Arc::clone(&store))
        .save(&TokenSet {
            access_token: Secret::new("st0red-token"),
            refresh_token: Some(Secret::new("r3fresh")),
            expires_at_ms: Some(botkit::event::now_millis() + expires_in_secs * 1000),
            scopes: vec!["chat:read".into(), "chat:edit".into()],
            login: "marcusdeveloper378".into(),
            user_id: "31048042".into(),
        })
        .await
        .unwrap();
    let section = PlatformSection::new("twitch", "main")
        .with_field("login", "marcusdeveloper378")
        .with_field("client_id", "61316654f6654260d57789f9b31e74")
        .with_field("oauth_url", oauth.url("/oauth2"))
        .with_field("url", format!("irc://{}", irc.local_addr().unwrap()))
        .with_field("channels", vec!["marcusdeveloper378".to_owned()]);
    let mut config = TwitchConfig::from_section(&section).unwrap();
    config.reconnect = BackoffPolicy::new().with_base(Duration::from_millis(200));
    (
        TwitchPlatform::with_store("main", config, Arc::clone(&store)).unwrap(),
        store,
    )
}

/// Accepts one connection and returns its PASS line, then answers with `reply` lines.
async fn login_attempt(irc: &TcpListener, reply: &[&str]) -> (String, tokio::net::TcpStream) {
    let (stream, _) = tokio::time::timeout(WAIT, irc.accept())
        .await
        .expect("the platform connects")
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut pass = String::new();
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(WAIT, reader.read_line(&mut line))
            .await
            .expect("a line")
            .unwrap();
        assert!(n > 0, "the platform hung up during login");
        let line = line.trim_end().to_owned();
        if line.starts_with("PASS ") {
            pass = line.clone();
        }
        if line.starts_with("NICK ") {
            break;
        }
    }
    let mut stream = reader.into_inner();
    for line in reply {
        stream
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
    }
    (pass, stream)
}

const REFUSED: &str = ":tmi.twitch.tv NOTICE * :Login authentication failed";

#[tokio::test]
async fn a_refused_login_refreshes_the_stored_token_and_logs_in_again() {
    let irc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let oauth = oauth_fake(true);
    let (platform, store) = platform(&irc, &oauth).await;
    let (stop, stop_rx) = watch::channel(false);
    let ctx = PlatformContext::new(Bus::default(), "twitch", "main", stop_rx);
    let task = tokio::spawn(async move { platform.run(ctx).await });

    let (pass, refused) = login_attempt(&irc, &[REFUSED]).await;
    assert_eq!(pass, "PASS oauth:st0red-token");
    drop(refused);
    let (pass, _accepted) = login_attempt(
        &irc,
        &[
            ":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands",
            ":tmi.twitch.tv 001 marcusdeveloper378 :Welcome, GLHF!",
        ],
    )
    .await;
    assert_eq!(pass, format!("PASS oauth:{REFRESHED}"));
    assert_eq!(oauth.requests_to("POST /oauth2/token").len(), 1);
    // The rotated token is stored for the next start.
    let saved = TokenStore::new(store)
        .load("marcusdeveloper378")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.access_token.expose(), REFRESHED);

    stop.send(true).unwrap();
    let result = tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_refused_login_whose_refresh_fails_stops_with_an_auth_error() {
    let irc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let oauth = oauth_fake(false);
    let (platform, _) = platform(&irc, &oauth).await;
    let (_stop, stop_rx) = watch::channel(false);
    let ctx = PlatformContext::new(Bus::default(), "twitch", "main", stop_rx);
    let task = tokio::spawn(async move { platform.run(ctx).await });

    let (_, refused) = login_attempt(&irc, &[REFUSED]).await;
    drop(refused);
    let result = tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
    match result {
        Err(PlatformError::Auth(why)) => assert!(!why.contains("st0red"), "{why}"),
        other => panic!("expected an auth error, got {other:?}"),
    }
    // No reconnect storm: nobody knocks again.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), irc.accept())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn an_expired_token_is_refreshed_before_login_even_if_the_first_refresh_fails() {
    let irc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let oauth = oauth_fake_failing_first(true, 1);
    let (platform, _) = platform_expiring_in(&irc, &oauth, -60).await;
    let (stop, stop_rx) = watch::channel(false);
    let ctx = PlatformContext::new(Bus::default(), "twitch", "main", stop_rx);
    let task = tokio::spawn(async move { platform.run(ctx).await });

    // The first refresh hits a 503: the platform backs off instead of stopping, and
    // never logs in with the expired token.
    let (pass, _conn) = login_attempt(
        &irc,
        &[":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands"],
    )
    .await;
    assert_eq!(pass, format!("PASS oauth:{REFRESHED}"));
    assert_eq!(oauth.requests_to("POST /oauth2/token").len(), 2);
    stop.send(true).unwrap();
    let result = tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn a_stored_token_config_without_a_store_says_so() {
    let section = PlatformSection::new("twitch", "main")
        .with_field("login", "bot")
        .with_field("client_id", "abc");
    let err = TwitchPlatform::from_section(&section).unwrap_err();
    assert!(err.to_string().contains("with_store"), "{err}");
}
