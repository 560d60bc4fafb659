//! The shell platform: a local chat in the terminal.
//!
//! Every line typed on standard input is a chat message from the local user in the
//! channel `shell`; the bot's answers are printed on standard output. Lines starting with
//! `/` change who you are, so moderator-only commands can be tried without a real chat:
//! `/name alice`, `/role moderator` (or `/role everyone`), `/whoami`, `/quit`, `/help`.
//!
//! When input is a pipe, the shell waits for the bot to finish with each line before
//! reading the next (so the output is in a stable order), and ends ingest at EOF; the
//! runtime then drains and exits 0. That makes the shell bot scriptable:
//! `printf '!echo hi\n' | botkit run` prints the answer and exits.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use crate::action::{Action, ActionKind, Outcome};
use crate::event::{ChatMessage, Payload, Role, Roles, User};
use crate::platform::{Capabilities, Platform, PlatformContext, PlatformError};
use crate::text::Measure;

/// The channel shell messages belong to.
pub const SHELL_CHANNEL: &str = "shell";

type Reader = Box<dyn AsyncBufRead + Send + Unpin>;
type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// Where lines come from.
enum Input {
    /// Any async reader (tests, embedded uses).
    Reader(Reader),
    /// The process's stdin, read on a plain thread started by `run`. Not tokio's stdin:
    /// its blocking read would keep the runtime from shutting down after a signal until
    /// the next line arrives.
    Stdin,
}

/// Lines as `run` consumes them.
enum Lines {
    Reader(Reader, String),
    Channel(tokio::sync::mpsc::Receiver<std::io::Result<String>>),
}

impl Lines {
    fn open(input: Input) -> Self {
        match input {
            Input::Reader(r) => Lines::Reader(r, String::new()),
            Input::Stdin => {
                let (tx, rx) = tokio::sync::mpsc::channel(64);
                std::thread::spawn(move || {
                    use std::io::BufRead;
                    for line in std::io::stdin().lock().lines() {
                        if tx.blocking_send(line).is_err() {
                            break;
                        }
                    }
                });
                Lines::Channel(rx)
            }
        }
    }

    /// The next line without its line ending, or `None` at EOF.
    async fn next(&mut self) -> std::io::Result<Option<String>> {
        match self {
            Lines::Reader(reader, buf) => {
                buf.clear();
                match reader.read_line(buf).await? {
                    0 => Ok(None),
                    _ => Ok(Some(buf.trim_end_matches(['\r', '\n']).to_owned())),
                }
            }
            Lines::Channel(rx) => rx.recv().await.transpose(),
        }
    }
}

struct Me {
    name: String,
    role: Role,
}

/// A chat platform on standard input and output.
pub struct ShellPlatform {
    id: String,
    bot_name: String,
    me: Mutex<Me>,
    input: std::sync::Mutex<Option<Input>>,
    output: Arc<tokio::sync::Mutex<Writer>>,
    interactive: bool,
    settle_timeout: Duration,
    next_id: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for ShellPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShellPlatform")
            .field("id", &self.id)
            .field("interactive", &self.interactive)
            .finish_non_exhaustive()
    }
}

impl ShellPlatform {
    /// A shell on the process's stdin and stdout. The user is `you`, with no roles.
    pub fn stdio(bot_name: &str) -> Self {
        let interactive = std::io::stdin().is_terminal();
        Self::new(
            bot_name,
            Input::Stdin,
            Box::new(tokio::io::stdout()),
            interactive,
        )
    }

    /// A shell on any reader and writer (tests use in-memory pipes).
    pub fn with_io(
        bot_name: &str,
        input: impl AsyncBufRead + Send + Unpin + 'static,
        output: impl AsyncWrite + Send + Unpin + 'static,
        interactive: bool,
    ) -> Self {
        Self::new(
            bot_name,
            Input::Reader(Box::new(input)),
            Box::new(output),
            interactive,
        )
    }

    fn new(bot_name: &str, input: Input, output: Writer, interactive: bool) -> Self {
        Self {
            id: "shell".to_owned(),
            bot_name: bot_name.to_owned(),
            me: Mutex::new(Me {
                name: "you".to_owned(),
                role: Role::Everyone,
            }),
            input: std::sync::Mutex::new(Some(input)),
            output: Arc::new(tokio::sync::Mutex::new(output)),
            interactive,
            settle_timeout: Duration::from_secs(30),
            next_id: std::sync::atomic::AtomicU64::new(1),
        }
    }

    /// The same shell with another instance id.
    #[must_use]
    pub fn with_id(mut self, id: &str) -> Self {
        self.id = id.to_owned();
        self
    }

    /// The same shell with the local user named `name` holding `role`.
    #[must_use]
    pub fn as_user(self, name: &str, role: Role) -> Self {
        if let Ok(mut me) = self.me.lock() {
            me.name = name.to_owned();
            me.role = role;
        }
        self
    }

    async fn print(&self, line: &str) -> Result<(), PlatformError> {
        let mut out = self.output.lock().await;
        let io = |e: std::io::Error| PlatformError::Io(e.to_string());
        out.write_all(line.as_bytes()).await.map_err(io)?;
        out.write_all(b"\n").await.map_err(io)?;
        out.flush().await.map_err(io)
    }

    fn me(&self) -> User {
        let me = self.me.lock().unwrap_or_else(|p| p.into_inner());
        let roles = if me.role == Role::Everyone {
            Roles::everyone()
        } else {
            Roles::of(&[me.role])
        };
        User::new("shell", &me.name, roles)
    }

    /// Handles a `/` line; returns false for `/quit`.
    async fn local_command(&self, line: &str) -> Result<bool, PlatformError> {
        let mut parts = line[1..].split_whitespace();
        let cmd = parts.next().unwrap_or("");
        let arg = parts.next();
        let reply = match (cmd, arg) {
            ("quit" | "exit", _) => return Ok(false),
            ("name", Some(name)) => {
                self.me.lock().unwrap_or_else(|p| p.into_inner()).name = name.to_owned();
                format!("* you are now {name}")
            }
            ("role", Some(role)) => match role.parse::<Role>() {
                Ok(role) => {
                    self.me.lock().unwrap_or_else(|p| p.into_inner()).role = role;
                    format!("* your role is now {role}")
                }
                Err(e) => format!("* {e}"),
            },
            ("whoami", _) => {
                let me = self.me();
                format!("* you are {} ({})", me.name, me.roles.highest())
            }
            _ => "* shell commands: /name NAME, /role ROLE (everyone, subscriber, vip, moderator, broadcaster, owner), /whoami, /quit".to_owned(),
        };
        self.print(&reply).await?;
        Ok(true)
    }
}

#[async_trait]
impl Platform for ShellPlatform {
    fn kind(&self) -> &str {
        "shell"
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::new(500);
        caps.measure = Measure::Chars;
        caps.whispers = true;
        caps.replies = true;
        caps.colors = true;
        caps.moderation = true;
        caps
    }

    async fn run(&self, ctx: PlatformContext) -> Result<(), PlatformError> {
        let input = self.input.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(input) = input else {
            return Err(PlatformError::Io(
                "the shell's input was already consumed".into(),
            ));
        };
        let mut lines = Lines::open(input);
        ctx.emit(
            Some(SHELL_CHANNEL),
            "channel.joined",
            Payload::ChannelJoined,
        )?;
        if self.interactive {
            self.print(&format!(
                "* {} is listening. Type a message, or /help for shell commands.",
                self.bot_name
            ))
            .await?;
        }
        loop {
            let read = tokio::select! {
                r = lines.next() => r,
                _ = ctx.shutdown_requested() => return Ok(()),
            };
            let line = match read {
                Ok(Some(line)) => line,
                Ok(None) => return Ok(()),
                Err(e) => return Err(PlatformError::Io(e.to_string())),
            };
            let text = line.as_str();
            if text.trim().is_empty() {
                continue;
            }
            if text.starts_with('/') {
                if !self.local_command(text).await? {
                    return Ok(());
                }
                continue;
            }
            let mut msg = ChatMessage::new(self.me(), text);
            let n = self
                .next_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            msg.id = Some(n.to_string());
            ctx.emit(
                Some(SHELL_CHANNEL),
                "chat.message",
                Payload::ChatMessage(msg),
            )?;
            if !self.interactive {
                // Piped input: finish this line's replies before reading the next.
                ctx.settle(self.settle_timeout).await;
            }
        }
    }

    async fn execute(&self, action: &Action) -> Result<Outcome, PlatformError> {
        let bot = &self.bot_name;
        let line = match &action.kind {
            ActionKind::Say { text } | ActionKind::Reply { text, .. } => format!("{bot}: {text}"),
            ActionKind::Whisper { to, text } => format!("{bot} (whisper to {to}): {text}"),
            ActionKind::DeleteMessage { message_id } => {
                format!("* {bot} deleted message {message_id}")
            }
            ActionKind::Timeout {
                user,
                duration_secs,
                reason,
            } => format!(
                "* {bot} timed out {user} for {duration_secs}s{}",
                reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
            ActionKind::Ban { user, reason } => format!(
                "* {bot} banned {user}{}",
                reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
            ActionKind::SetColor { color } => format!("* {bot} changed color to {color}"),
            ActionKind::Custom { name, .. } => {
                return Ok(Outcome::Unsupported { verb: name.clone() });
            }
        };
        self.print(&line).await?;
        Ok(Outcome::Done { message_id: None })
    }
}
