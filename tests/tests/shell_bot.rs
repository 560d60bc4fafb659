//! A whole bot through the shell platform on in-memory pipes: platform → bus → command
//! router → plugin → outgoing path → platform, with the same runtime `botkit run` uses.

use botkit::builtin::Echo;
use botkit::config::Config;
use botkit::runtime::Bot;
use botkit::shell::ShellPlatform;
use tokio::io::{AsyncReadExt, BufReader};

async fn run_shell(config: Config, input: &'static str) -> String {
    let (out_writer, mut out_reader) = tokio::io::duplex(1 << 16);
    let shell = ShellPlatform::with_io(
        &config.bot.name,
        BufReader::new(input.as_bytes()),
        out_writer,
        false,
    );
    let bot = Bot::builder()
        .config(config)
        .platform(shell)
        .plugin(Echo)
        .handle_signals(false)
        .build()
        .expect("bot builds");
    bot.run().await.expect("bot runs to EOF and exits cleanly");
    let mut out = String::new();
    out_reader
        .read_to_string(&mut out)
        .await
        .expect("read output");
    out
}

#[tokio::test]
async fn piped_lines_get_their_answers_in_order_then_the_bot_exits() {
    let out = run_shell(
        Config::default(),
        "!echo one\n!echo two\n/role moderator\n!help echo\n!echo three\n",
    )
    .await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(lines[0], "botkit: one");
    assert_eq!(lines[1], "botkit: two");
    assert_eq!(lines[2], "* your role is now moderator");
    assert!(lines[3].starts_with("botkit: !echo"), "{out}");
    assert_eq!(lines[4], "botkit: three");
}

#[tokio::test]
async fn per_channel_prefix_from_config() {
    let config = Config::from_str_named(
        "[bot]\nname = \"pfx\"\nprefix = \"!\"\n[bot.prefixes]\nshell = \"~\"\n",
        "pfx.toml",
    )
    .expect("config parses");
    let out = run_shell(config, "!echo ignored\n~echo used\n").await;
    assert_eq!(out.trim(), "pfx: used");
}

#[tokio::test]
async fn long_answers_are_split_to_the_platform_limit() {
    let long = "word ".repeat(150);
    let input: &'static str = Box::leak(format!("!echo {long}\n").into_boxed_str());
    let out = run_shell(Config::default(), input).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    for line in &lines {
        let text = line.strip_prefix("botkit: ").expect("bot line");
        assert!(text.chars().count() <= 500);
    }
}
