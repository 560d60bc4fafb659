//! The bundled plugins driven through `botkit::testing`: what a bot operator relies on.

use std::sync::Arc;
use std::time::Duration;

use botkit::event::{ChatMessage, Payload};
use botkit::store::{ChannelRef, ChatCursor, ChatRecord, MemoryStore, Store};
use botkit::testing::{DEFAULT_CHANNEL, MOCK_PLATFORM, TestBot, TestMessage, mock_user};
use botkit::topic::Pattern;
use botkit_plugins::markov::{self, Brain, MarkovConfig};
use botkit_plugins::{Logger, Markov};

fn mock_channel() -> ChannelRef {
    ChannelRef::new(MOCK_PLATFORM, DEFAULT_CHANNEL)
}

#[tokio::test(start_paused = true)]
async fn logger_records_chat_and_matching_events_once() {
    let store = Arc::new(MemoryStore::new());
    let bot = TestBot::new()
        .store(store.clone())
        .config_toml(
            r#"
            [plugins.logger]
            rules = [
                { pattern = "platform.*.user.joined", store = false },
                { pattern = "platform.*.chat.message", store = true },
                { pattern = "platform.>", store = true },
            ]
            "#,
        )
        .plugin(Logger::new())
        .start()
        .await;
    bot.say("alice", "hello there").await;
    bot.join("bob").await;
    let mut history = ChatMessage::new(mock_user("carol", &[]), "old news");
    history.is_history = true;
    bot.inject(
        DEFAULT_CHANNEL,
        "chat.message",
        Payload::ChatMessage(history),
    );
    bot.settle().await;
    bot.stop().await.unwrap();

    let page = store
        .chat_range(&mock_channel(), ChatCursor::START, 10)
        .await
        .unwrap();
    let texts: Vec<&str> = page.records.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(
        texts,
        ["hello there"],
        "history is not logged twice, joins are not chat"
    );
    // Both chat.message events (live and history) are logged once though two rules match;
    // user.joined is excluded by the first rule.
    let chat = Pattern::new("platform.*.chat.message").unwrap();
    assert_eq!(store.events_by_topic(&chat, 0, 10).await.unwrap().len(), 2);
    let joined = Pattern::new("platform.*.user.joined").unwrap();
    assert!(
        store
            .events_by_topic(&joined, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn trained_bot(store: Arc<MemoryStore>, seed: u64) -> botkit::testing::RunningBot {
    TestBot::new()
        .store(store)
        .config_toml(&format!(
            "[plugins.markov]\norder = 2\nseed = {seed}\nmax_words = 12\n"
        ))
        .plugin(Markov::new())
        .start()
        .await
}

const CORPUS: &[&str] = &[
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat and a dog walk into a bar",
    "the bar was closed so the cat went home",
    "the dog ate the cat's dinner",
];

#[tokio::test(start_paused = true)]
async fn markov_learns_live_and_answers_deterministically_with_a_seed() {
    let mut answers = Vec::new();
    for _ in 0..2 {
        let store = Arc::new(MemoryStore::new());
        let mut bot = trained_bot(store.clone(), 42).await;
        for line in CORPUS {
            bot.say("alice", line).await;
        }
        bot.settle().await;
        bot.say("bob", "!markov").await;
        let free = bot.next_said().await;
        bot.say("bob", "!markov the dog").await;
        let started = bot.next_said().await;
        assert!(started.starts_with("the dog"), "{started}");
        bot.say("bob", "!markov zebra").await;
        assert!(bot.next_said().await.contains("nothing to say after"));
        bot.stop().await.unwrap();
        answers.push((free, started));
    }
    assert_eq!(
        answers[0], answers[1],
        "same seed, same corpus, same answers"
    );
    let words: Vec<&str> = answers[0].0.split(' ').collect();
    assert!(!words.is_empty() && words.len() <= 12);
}

#[tokio::test(start_paused = true)]
async fn markov_remembers_across_restarts_through_the_store() {
    let store = Arc::new(MemoryStore::new());
    let bot = trained_bot(store.clone(), 1).await;
    bot.say("alice", "persistence is the point here").await;
    bot.settle().await;
    bot.stop().await.unwrap();

    let mut bot = trained_bot(store.clone(), 1).await;
    bot.say("bob", "!markov").await;
    assert_eq!(bot.next_said().await, "persistence is the point here");
    bot.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn markov_strips_links_mentions_and_its_name() {
    let store = Arc::new(MemoryStore::new());
    let mut bot = TestBot::new()
        .store(store)
        .config_toml("[bot]\nname = \"rosey\"\n[plugins.markov]\nseed = 3\n")
        .plugin(Markov::new())
        .start()
        .await;
    bot.say("alice", "@bob look https://example.com rosey: wow")
        .await;
    bot.settle().await;
    bot.say("bob", "!markov").await;
    assert_eq!(bot.next_said().await, "look wow");
    bot.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn markov_speaks_every_n_messages_with_a_cooldown() {
    let store = Arc::new(MemoryStore::new());
    let mut bot = TestBot::new()
        .store(store)
        .config_toml("[plugins.markov]\nspeak_every = 3\ncooldown = \"1m\"\nseed = 5\n")
        .plugin(Markov::new())
        .start()
        .await;
    bot.say("a", "one fish").await;
    bot.say("a", "two fish").await;
    bot.expect_silence(Duration::from_secs(1)).await;
    bot.say("a", "red fish").await;
    let said = bot.next_said().await;
    assert!(said.ends_with("fish"), "{said}");
    // Three more messages within the cooldown: silence.
    for _ in 0..3 {
        bot.say("a", "blue fish").await;
    }
    bot.expect_silence(Duration::from_secs(1)).await;
    tokio::time::advance(Duration::from_secs(61)).await;
    for _ in 0..3 {
        bot.say("a", "blue fish").await;
    }
    assert!(bot.next_said().await.ends_with("fish"));
    bot.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn markov_cuts_lines_to_the_platform_length() {
    let store = Arc::new(MemoryStore::new());
    let mut bot = TestBot::new()
        .store(store)
        .config_toml(
            "[plugins.markov]\nmax_words = 100\n[plugins.markov.platform_max_length]\nmock = 20\n",
        )
        .plugin(Markov::new())
        .start()
        .await;
    bot.send(TestMessage::new(
        "a",
        "alpha beta gamma delta epsilon zeta eta theta",
    ))
    .await;
    bot.settle().await;
    bot.say("b", "!markov").await;
    let said = bot.next_said().await;
    assert!(said.chars().count() <= 20, "{said}");
    assert!(said.starts_with("alpha beta"), "{said}");
    bot.stop().await.unwrap();
}

#[tokio::test]
async fn train_learns_the_log_once_and_resumes_where_it_stopped() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let channel = ChannelRef::new("twitch", "#chan");
    let records: Vec<ChatRecord> = (0..2500)
        .map(|i| ChatRecord::new(&channel, "twitch:1", "alice", format!("line number {i}"), i))
        .collect();
    store.append_chat(&records).await.unwrap();
    let config = MarkovConfig::default();
    let mut reports = Vec::new();
    let done = markov::train(store.clone(), &config, "bot", |p| reports.push(p))
        .await
        .unwrap();
    assert_eq!(done.read, 2500);
    assert_eq!(done.learned, 2500);
    assert!(reports.len() >= 3, "progress after each page");
    // Running again learns nothing new.
    let again = markov::train(store.clone(), &config, "bot", |_| {})
        .await
        .unwrap();
    assert_eq!(again.read, 0);
    // New rows are learned on the next run.
    store
        .append_chat(&[ChatRecord::new(
            &channel,
            "twitch:1",
            "alice",
            "brand new",
            5000,
        )])
        .await
        .unwrap();
    let more = markov::train(store.clone(), &config, "bot", |_| {})
        .await
        .unwrap();
    assert_eq!(more.learned, 1);
    let ns = botkit::store::NamespacedStore::new(store.clone(), "markov");
    let brain = Brain::load(ns, 2).await.unwrap();
    assert_eq!(brain.chain(&channel).unwrap().lines(), 2501);
    assert_eq!(
        brain.stored_chunks(&channel).await.unwrap(),
        2501usize.div_ceil(200)
    );
}

/// Lines of old chat in the mock channel, logged before the markov plugin was added.
fn old_chat(count: i64) -> Vec<ChatRecord> {
    (0..count)
        .map(|i| {
            ChatRecord::new(
                &mock_channel(),
                "mock:alice",
                "alice",
                format!("old line {i}"),
                1_000 + i,
            )
        })
        .collect()
}

async fn load_brain(store: &Arc<MemoryStore>) -> Brain {
    let ns = botkit::store::NamespacedStore::new(store.clone(), "markov");
    Brain::load(ns, 2).await.unwrap()
}

async fn logging_markov_bot(store: &Arc<MemoryStore>) -> botkit::testing::RunningBot {
    TestBot::new()
        .store(store.clone())
        .config_toml("[plugins.logger]\n[plugins.markov]\n")
        .plugin(Logger::new())
        .plugin(Markov::new())
        .start()
        .await
}

#[tokio::test(start_paused = true)]
async fn train_after_live_learning_skips_the_live_lines_and_resumes_without_relearning() {
    let store = Arc::new(MemoryStore::new());
    let shared: Arc<dyn Store> = store.clone();
    let config = MarkovConfig::default();
    store.append_chat(&old_chat(5)).await.unwrap();
    let first = markov::train(shared.clone(), &config, "botkit", |_| {})
        .await
        .unwrap();
    assert_eq!((first.read, first.learned), (5, 5));

    // The bot learns two lines live; its logger puts them in the chat log too.
    let bot = logging_markov_bot(&store).await;
    bot.say("bob", "live line one").await;
    bot.say("bob", "live line two").await;
    bot.settle().await;
    bot.stop().await.unwrap();
    // A row from before live learning began, kept by another logger and arriving late.
    store
        .append_chat(&[ChatRecord::new(
            &mock_channel(),
            "mock:carol",
            "carol",
            "a late old line",
            1_010,
        )])
        .await
        .unwrap();
    let page = store
        .chat_range(&mock_channel(), ChatCursor::START, 100)
        .await
        .unwrap();
    assert_eq!(page.records.len(), 8, "the log holds the live lines too");
    // Training reads rows stamped before the millisecond it starts in; this test is fast.
    std::thread::sleep(Duration::from_millis(3));

    let second = markov::train(shared.clone(), &config, "botkit", |_| {})
        .await
        .unwrap();
    assert_eq!(
        (second.read, second.learned, second.learned_live),
        (3, 1, 2),
        "only the late row is learned: the first five were trained, the live lines learned live"
    );
    let third = markov::train(shared.clone(), &config, "botkit", |_| {})
        .await
        .unwrap();
    assert_eq!(
        third.read, 0,
        "resumes where it stopped: nothing is read again"
    );

    let brain = load_brain(&store).await;
    assert_eq!(
        brain.chain(&mock_channel()).unwrap().lines(),
        5 + 2 + 1,
        "every line once"
    );
}

#[tokio::test(start_paused = true)]
async fn a_bot_learning_live_while_train_runs_loses_nothing_and_learns_nothing_twice() {
    let store = Arc::new(MemoryStore::new());
    let shared: Arc<dyn Store> = store.clone();
    store.append_chat(&old_chat(1200)).await.unwrap();

    let bot = logging_markov_bot(&store).await;
    bot.say("bob", "said before training").await;
    bot.settle().await;
    // Training runs while the bot is up; more chat arrives after its first page.
    let mut injected = false;
    let done = markov::train(shared.clone(), &MarkovConfig::default(), "botkit", |_| {
        if !std::mem::replace(&mut injected, true) {
            bot.inject(
                DEFAULT_CHANNEL,
                "chat.message",
                Payload::ChatMessage(ChatMessage::new(
                    mock_user("dave", &[]),
                    "said during training",
                )),
            );
        }
    })
    .await
    .unwrap();
    assert!(injected);
    assert_eq!(done.learned, 1200, "the old log, none of the live lines");
    bot.settle().await;
    bot.say("bob", "said after training").await;
    bot.settle().await;
    bot.stop().await.unwrap();

    std::thread::sleep(Duration::from_millis(3));
    let again = markov::train(shared.clone(), &MarkovConfig::default(), "botkit", |_| {})
        .await
        .unwrap();
    assert_eq!(
        (again.learned, again.learned_live),
        (0, 3),
        "the three live lines are not trained"
    );

    let brain = load_brain(&store).await;
    assert_eq!(
        brain.chain(&mock_channel()).unwrap().lines(),
        1200 + 3,
        "the bot's chunk and the trainer's chunks did not overwrite each other"
    );
    assert_eq!(
        brain.stored_chunks(&mock_channel()).await.unwrap(),
        1 + 1200 / 200,
        "one live chunk, six trained ones"
    );

    // The restarted bot knows both: what it heard and what it was trained on.
    let mut bot = trained_bot(store.clone(), 7).await;
    bot.say("bob", "!markov said during").await;
    assert_eq!(bot.next_said().await, "said during training");
    bot.say("bob", "!markov old").await;
    let said = bot.next_said().await;
    assert!(said.starts_with("old line "), "{said}");
    bot.stop().await.unwrap();
}

#[tokio::test]
async fn rows_logged_after_training_began_wait_for_the_next_run() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let now = botkit::event::now_millis();
    let row = |text: &str, at: i64| ChatRecord::new(&mock_channel(), "mock:a", "a", text, at);
    store
        .append_chat(&[
            row("from before", now - 1_000),
            row("from later", now + 300),
        ])
        .await
        .unwrap();
    let config = MarkovConfig::default();
    let first = markov::train(store.clone(), &config, "botkit", |_| {})
        .await
        .unwrap();
    assert_eq!(first.read, 1, "the row stamped after the run began is left");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = markov::train(store.clone(), &config, "botkit", |_| {})
        .await
        .unwrap();
    assert_eq!(
        (second.read, second.learned),
        (1, 1),
        "the next run takes it"
    );
}

#[tokio::test(start_paused = true)]
async fn markov_speaks_with_a_probability_within_its_cooldown() {
    let store = Arc::new(MemoryStore::new());
    let mut bot = TestBot::new()
        .store(store)
        .config_toml("[plugins.markov]\nspeak_probability = 1.0\ncooldown = \"10s\"\nseed = 2\n")
        .plugin(Markov::new())
        .start()
        .await;
    bot.say("a", "one fish").await;
    assert_eq!(bot.next_said().await, "one fish", "p = 1: right away");
    bot.say("a", "one fish").await;
    bot.expect_silence(Duration::from_secs(1)).await;
    tokio::time::advance(Duration::from_secs(10)).await;
    bot.say("a", "one fish").await;
    assert_eq!(
        bot.next_said().await,
        "one fish",
        "again after the cooldown"
    );
    bot.stop().await.unwrap();

    // p = 0.25 with no cooldown: about a quarter of the messages get a line.
    let store = Arc::new(MemoryStore::new());
    let mut bot = TestBot::new()
        .store(store)
        .config_toml("[plugins.markov]\nspeak_probability = 0.25\ncooldown = \"0s\"\nseed = 11\n")
        .plugin(Markov::new())
        .start()
        .await;
    for _ in 0..200 {
        bot.say("a", "red fish").await;
    }
    bot.settle().await;
    let mut spoke = 0;
    while bot
        .try_next_action(Duration::from_millis(10))
        .await
        .is_some()
    {
        spoke += 1;
    }
    assert!((30..=70).contains(&spoke), "{spoke} of 200");
    bot.stop().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn train_learns_what_was_logged_while_the_markov_plugin_was_not_running() {
    let store = Arc::new(MemoryStore::new());
    let shared: Arc<dyn Store> = store.clone();
    let bot = logging_markov_bot(&store).await;
    bot.say("bob", "heard live").await;
    bot.settle().await;
    bot.stop().await.unwrap();
    // Spans are in wall-clock milliseconds, and this test is fast: let one pass.
    std::thread::sleep(Duration::from_millis(3));
    // Then a bot with the logger alone keeps the chat for a while.
    let bot = TestBot::new()
        .store(store.clone())
        .plugin(Logger::new())
        .start()
        .await;
    bot.say("bob", "logged while markov was away").await;
    bot.settle().await;
    bot.stop().await.unwrap();
    std::thread::sleep(Duration::from_millis(3));

    let done = markov::train(shared.clone(), &MarkovConfig::default(), "botkit", |_| {})
        .await
        .unwrap();
    assert_eq!(
        (done.read, done.learned, done.learned_live),
        (2, 1, 1),
        "the logger-only stretch is trained, the live one is not"
    );
    let brain = load_brain(&store).await;
    assert_eq!(brain.chain(&mock_channel()).unwrap().lines(), 2);

    // Back with the markov plugin: a new live stretch, and training still resumes cleanly.
    std::thread::sleep(Duration::from_millis(3));
    let bot = logging_markov_bot(&store).await;
    bot.say("bob", "heard live again").await;
    bot.settle().await;
    bot.stop().await.unwrap();
    std::thread::sleep(Duration::from_millis(3));
    let done = markov::train(shared.clone(), &MarkovConfig::default(), "botkit", |_| {})
        .await
        .unwrap();
    assert_eq!((done.learned, done.learned_live), (0, 1));
    assert_eq!(
        load_brain(&store)
            .await
            .chain(&mock_channel())
            .unwrap()
            .lines(),
        3
    );
}
