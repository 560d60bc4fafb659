//! `botkit twitch login` end to end: the real binary runs the device flow against a fake
//! OAuth server on 127.0.0.1 and stores the token (encrypted) in a SQLite store, which
//! `botkit twitch status` then reads back; a wrong key is refused clearly.

use botkit_e2e::Scratch;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const ACCESS: &str = "rfx2uswqe8l4g1mkagrvg5tv0ks3";
const REFRESH: &str = "5b93chm6hdve3mycz05zfzatkfdenfspp1h1ar2xxdalen01";

/// The OAuth server: device code (interval 1 s), one `authorization_pending`, then the
/// token; `/validate` names the account. Bodies follow shared/protocols/twitch/helix.
struct FakeOAuth {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

fn answer(request_line: &str, polls: &AtomicUsize) -> (u16, String) {
    let path = request_line.split(' ').nth(1).unwrap_or("");
    match path {
        "/oauth2/device" => (
            200,
            r#"{"device_code":"ike3GM8QIdYZs43KdrWPIO36LofILoCyFEzjlQ91","expires_in":1800,"interval":1,"user_code":"ABCDEFGH","verification_uri":"https://www.twitch.tv/activate?public=true&device-code=ABCDEFGH"}"#.to_owned(),
        ),
        "/oauth2/token" if polls.fetch_add(1, Ordering::SeqCst) == 0 => (
            400,
            r#"{"status":400,"message":"authorization_pending"}"#.to_owned(),
        ),
        "/oauth2/token" => (
            200,
            format!(
                r#"{{"access_token":"{ACCESS}","expires_in":14124,"refresh_token":"{REFRESH}","scope":["chat:read","chat:edit"],"token_type":"bearer"}}"#
            ),
        ),
        "/oauth2/validate" => (
            200,
            r#"{"client_id":"61316654f6654260d57789f9b31e74","user_id":"31048042","login":"marcusdeveloper378","expires_in":14000,"scopes":["chat:read","chat:edit"]}"#.to_owned(),
        ),
        _ => (404, r#"{"status":404,"message":"not found"}"#.to_owned()),
    }
}

fn serve(mut stream: TcpStream, polls: &AtomicUsize, requests: &Mutex<Vec<String>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let Ok(n) = stream.read(&mut chunk) else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let Ok(n) = stream.read(&mut chunk) else {
            break;
        };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let request_line = head.lines().next().unwrap_or("").to_owned();
    requests.lock().unwrap().push(format!(
        "{request_line} {}",
        String::from_utf8_lossy(&buf[head_end..])
    ));
    let (status, body) = answer(&request_line, polls);
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

impl FakeOAuth {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        // The thread serves until the test process ends; each test has its own server.
        std::thread::spawn(move || {
            let polls = AtomicUsize::new(0);
            for stream in listener.incoming().flatten() {
                serve(stream, &polls, &seen);
            }
        });
        Self { port, requests }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/oauth2", self.port)
    }
}

fn botkit(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_botkit"));
    cmd.env_remove("RUST_LOG")
        .env_remove("BOTKIT_LOG")
        .env_remove("BOTKIT_STORE_URL")
        .env_remove("BOTKIT_SECRET_KEY")
        .env_remove("TWITCH_CLIENT_ID")
        .env_remove("TWITCH_CLIENT_SECRET")
        .env_remove("BOTKIT_TWITCH_OAUTH_URL")
        .current_dir(cwd);
    cmd
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn login_stores_an_encrypted_token_that_status_reads_back() {
    let dir = Scratch::new("botkit-twitch", "login");
    let fake = FakeOAuth::start();
    let key = "a-long-test-key-for-the-token-store";
    let out = botkit(&dir.0)
        .args([
            "twitch",
            "login",
            "--url",
            "sqlite://bot.db",
            "--client-id",
            "61316654f6654260d57789f9b31e74",
            "--scopes",
            "chat:read,chat:edit",
        ])
        .env("BOTKIT_TWITCH_OAUTH_URL", fake.url())
        .env("BOTKIT_SECRET_KEY", key)
        .output()
        .expect("botkit runs");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("open https://www.twitch.tv/activate?public=true&device-code=ABCDEFGH and enter the code ABCDEFGH"),
        "{stdout}"
    );
    assert!(
        stdout.contains("logged in as marcusdeveloper378 (user id 31048042)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("twitch/oauth/marcusdeveloper378"),
        "{stdout}"
    );
    assert!(
        stdout.contains("encrypted with BOTKIT_SECRET_KEY"),
        "{stdout}"
    );
    assert!(
        stdout.contains("client_id = \"61316654f6654260d57789f9b31e74\""),
        "{stdout}"
    );
    for secret in [ACCESS, REFRESH] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }
    // The device request named the scopes; the pending poll was followed by another.
    let requests = fake.requests.lock().unwrap().clone();
    assert!(
        requests[0].starts_with("POST /oauth2/device"),
        "{requests:?}"
    );
    assert!(
        requests[0].contains("scopes=chat%3Aread+chat%3Aedit"),
        "{requests:?}"
    );
    let polls = requests
        .iter()
        .filter(|r| r.starts_with("POST /oauth2/token"))
        .count();
    assert_eq!(polls, 2, "{requests:?}");

    // No token in clear anywhere in the database files.
    for entry in std::fs::read_dir(&dir.0).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        let raw = String::from_utf8_lossy(&bytes);
        assert!(
            !raw.contains(ACCESS) && !raw.contains(REFRESH),
            "token in clear in {}",
            entry.path().display()
        );
    }

    // The config names the account and app; status reads the token back with the key.
    std::fs::write(
        dir.0.join("bot.toml"),
        "[store]\nurl = \"sqlite://bot.db\"\n\n[[platform]]\nkind = \"twitch\"\nlogin = \"marcusdeveloper378\"\nclient_id = \"61316654f6654260d57789f9b31e74\"\nchannels = [\"marcusdeveloper378\"]\n",
    )
    .unwrap();
    let out = botkit(&dir.0)
        .args(["twitch", "status", "--config", "bot.toml"])
        .env("BOTKIT_TWITCH_OAUTH_URL", fake.url())
        .env("BOTKIT_SECRET_KEY", key)
        .output()
        .expect("botkit runs");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("login      marcusdeveloper378"), "{stdout}");
    assert!(
        stdout.contains("scopes     chat:read chat:edit"),
        "{stdout}"
    );
    assert!(stdout.contains("(encrypted)"), "{stdout}");

    // A wrong key is a clear error, not garbage.
    let out = botkit(&dir.0)
        .args(["twitch", "status", "--config", "bot.toml"])
        .env("BOTKIT_TWITCH_OAUTH_URL", fake.url())
        .env("BOTKIT_SECRET_KEY", "not-the-key-it-was-stored-with")
        .output()
        .expect("botkit runs");
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("BOTKIT_SECRET_KEY is not the key it was stored with"),
        "{stderr}"
    );

    // `botkit check` accepts the OAuth form of the twitch section.
    let out = botkit(&dir.0)
        .args(["check", "bot.toml"])
        .output()
        .expect("botkit runs");
    assert!(out.status.success(), "{:?}", text(&out));
}

#[test]
fn login_without_a_client_id_says_where_to_get_one() {
    let dir = Scratch::new("botkit-twitch", "noid");
    let out = botkit(&dir.0)
        .args(["twitch", "login", "--url", "sqlite://bot.db"])
        .output()
        .expect("botkit runs");
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("--client-id"), "{stderr}");
}

#[test]
fn login_from_the_config_warns_when_the_account_differs() {
    let dir = Scratch::new("botkit-twitch", "mismatch");
    let fake = FakeOAuth::start();
    std::fs::write(
        dir.0.join("bot.toml"),
        format!(
            "[store]\nurl = \"sqlite://bot.db\"\n\n[[platform]]\nkind = \"twitch\"\nlogin = \"otherbot\"\nclient_id = \"61316654f6654260d57789f9b31e74\"\noauth_url = \"{}\"\n",
            fake.url()
        ),
    )
    .unwrap();
    // Client id, OAuth URL and store all come from the config.
    let out = botkit(&dir.0)
        .args(["twitch", "login", "--config", "bot.toml"])
        .output()
        .expect("botkit runs");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("stored unencrypted"), "{stdout}");
    assert!(
        stderr.contains(
            "the config's twitch `login` is `otherbot`, but this token is marcusdeveloper378's"
        ),
        "{stderr}"
    );
    assert!(dir.0.join("bot.db").exists());
}

#[test]
fn run_uses_the_stored_token_and_says_to_log_in_when_there_is_none() {
    let dir = Scratch::new("botkit-twitch", "run");
    // Port 9 (discard) on loopback: nothing listens, and nothing should be tried anyway.
    std::fs::write(
        dir.0.join("bot.toml"),
        "[store]\nurl = \"sqlite://bot.db\"\n\n[[platform]]\nkind = \"twitch\"\nlogin = \"nobodybot\"\nclient_id = \"abc\"\noauth_url = \"http://127.0.0.1:9/oauth2\"\nurl = \"irc://127.0.0.1:9\"\nchannels = [\"x\"]\n",
    )
    .unwrap();
    let out = botkit(&dir.0)
        .args(["run", "bot.toml"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("botkit runs");
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no stored Twitch token for `nobodybot`; run `botkit twitch login --client-id abc` first"),
        "{stderr}"
    );
}
