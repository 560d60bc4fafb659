//! The markov plugin: learns each channel's chat as word chains of order 1–3 and talks back,
//! on `!markov [start words]`, after every N messages, or at random, with a cooldown.
//!
//! Learned lines are persisted incrementally in the plugin's store namespace, in chunks of
//! [`CHUNK_LINES`] lines per channel (`lines/<platform>:<channel>/<n>`): one learned message
//! is one small write, and the chain is rebuilt from the lines at start. Keeping lines rather
//! than the chain's table means the order can be changed in the config without losing
//! anything. [`train`] learns from the store's chat log (`botkit markov train`), remembering
//! how far it got per channel, and stops where live learning began so nothing is learned twice.
//!
//! Live learning and training may run at once (a bot, and `botkit markov train` in another
//! process, on one store). Each writes its own series of chunks — live lines under `lines/`,
//! trained ones under `trained/` — so neither overwrites the other's partly filled chunk; a
//! brain loads both. Training reads only rows logged before it started and before live
//! learning began in the channel (re-checked after every page), so a line the bot learns live
//! while training runs is not learned a second time from the log.
//!
//! Which stretches of the log were learned live is kept per channel as time spans: the plugin
//! opens one when it first learns in a channel and closes it when it stops (or, after a crash,
//! when it next starts). Training skips rows inside closed spans and stops at an open one, so
//! chat logged while the plugin was not running (a logger-only bot, say) is still trained.

mod chain;
mod clean;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use botkit::command::CommandSpec;
use botkit::event::{Event, Payload};
use botkit::plugin::{Command, Context, Plugin, Result};
use botkit::store::{ChannelRef, ChatCursor, NamespacedStore, Store, StoreError};
use botkit::text::truncate_at_boundary;
use botkit::{Key, Subscription};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

pub use chain::Chain;
pub use clean::clean;

/// Lines per persisted chunk.
pub const CHUNK_LINES: usize = 200;

/// Why markov training or persistence failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum MarkovError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MarkovError {
    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            MarkovError::Store(e) => e.is_transient(),
        }
    }
}

/// `[plugins.markov]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MarkovConfig {
    /// Words of context per step, 1 to 3: higher reads better, needs more chat.
    pub order: usize,
    /// Speak on its own after this many learned messages in a channel; 0 never.
    pub speak_every: u64,
    /// Chance (0.0–1.0) to speak after each learned message.
    pub speak_probability: f64,
    /// Least time between two unprompted lines in one channel.
    #[serde(with = "botkit::config::duration")]
    pub cooldown: Duration,
    /// Most words in a generated line.
    pub max_words: usize,
    /// Longest line in characters, on any platform.
    pub max_length: usize,
    /// Per-platform limits (`twitch = 500`), applied on top of `max_length`.
    pub platform_max_length: BTreeMap<String, usize>,
    /// Drop words that look like links before learning.
    pub strip_links: bool,
    /// Drop `@mentions` before learning.
    pub strip_mentions: bool,
    /// Drop the bot's own name before learning.
    pub strip_bot_name: bool,
    /// Messages starting with one of these are commands and not learned.
    pub ignore_prefixes: Vec<String>,
    /// Fewest words (after cleaning) for a message to be learned.
    pub min_words: usize,
    /// Learn chat history replayed on join (off: it was live once already).
    pub learn_history: bool,
    /// RNG seed: the same seed and the same chat give the same lines. Absent: random.
    pub seed: Option<u64>,
}

impl Default for MarkovConfig {
    fn default() -> Self {
        Self {
            order: 2,
            speak_every: 0,
            speak_probability: 0.0,
            cooldown: Duration::from_secs(60),
            max_words: 30,
            max_length: 400,
            platform_max_length: [("twitch".to_owned(), 500), ("cytube".to_owned(), 240)]
                .into_iter()
                .collect(),
            strip_links: true,
            strip_mentions: true,
            strip_bot_name: true,
            ignore_prefixes: vec!["!".to_owned()],
            min_words: 1,
            learn_history: false,
            seed: None,
        }
    }
}

impl MarkovConfig {
    /// The longest line for `platform`.
    pub fn max_length_for(&self, platform: &str) -> usize {
        self.platform_max_length
            .get(platform)
            .map_or(self.max_length, |&p| p.min(self.max_length))
    }
}

/// Which series of chunks a [`Brain`] writes: live learning and training each keep their own,
/// so the two can run at once without overwriting each other's chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Writer {
    /// The plugin, learning live chat (`lines/…`).
    Live,
    /// [`train`], learning the stored chat log (`trained/…`).
    Train,
}

impl Writer {
    /// Every writer, in the order a brain loads their chunks.
    const ALL: [Writer; 2] = [Writer::Live, Writer::Train];

    /// The key prefix of this writer's chunks.
    fn prefix(self) -> &'static str {
        match self {
            Writer::Live => "lines",
            Writer::Train => "trained",
        }
    }
}

/// One channel's chain and its not yet full chunk of lines.
#[derive(Debug)]
struct ChannelBrain {
    chain: Chain,
    chunk_index: u64,
    chunk: Vec<String>,
}

/// Every channel's chain, and the persistence of learned lines. Shared by the plugin and
/// by [`train`].
#[derive(Debug)]
pub struct Brain {
    store: NamespacedStore,
    writer: Writer,
    order: usize,
    channels: HashMap<String, ChannelBrain>,
    dirty: HashSet<String>,
    /// Chunks that filled up since the last persist: key and lines.
    full: Vec<(String, Vec<String>)>,
}

fn chunk_key(writer: Writer, channel: &str, index: u64) -> String {
    format!("{}/{channel}/{index:010}", writer.prefix())
}

impl Brain {
    /// Loads every channel's learned lines from `store` and builds chains of `order`; what
    /// it learns is written as live lines.
    pub async fn load(store: NamespacedStore, order: usize) -> Result<Self, MarkovError> {
        Self::load_as(store, order, Writer::Live).await
    }

    /// Loads every channel's learned lines (both writers') from `store` and builds chains of
    /// `order`; what it learns is written to `writer`'s chunks.
    pub async fn load_as(
        store: NamespacedStore,
        order: usize,
        writer: Writer,
    ) -> Result<Self, MarkovError> {
        let mut brain = Self {
            store,
            writer,
            order,
            channels: HashMap::new(),
            dirty: HashSet::new(),
            full: Vec::new(),
        };
        for source in Writer::ALL {
            let prefix = format!("{}/", source.prefix());
            for key in brain.store.keys(&prefix).await? {
                let Some((channel, index)) = key
                    .strip_prefix(&prefix)
                    .and_then(|rest| rest.rsplit_once('/'))
                else {
                    continue;
                };
                let Ok(index) = index.parse::<u64>() else {
                    continue;
                };
                let lines: Vec<String> = brain.store.get(&key).await?.unwrap_or_default();
                let entry = brain.channel(channel);
                for line in &lines {
                    entry.chain.learn(line);
                }
                // Only this brain's own series is appended to.
                if source == writer && index >= entry.chunk_index {
                    entry.chunk_index = index;
                    entry.chunk = lines;
                }
            }
        }
        Ok(brain)
    }

    fn channel(&mut self, channel: &str) -> &mut ChannelBrain {
        let order = self.order;
        self.channels
            .entry(channel.to_owned())
            .or_insert_with(|| ChannelBrain {
                chain: Chain::new(order),
                chunk_index: 0,
                chunk: Vec::new(),
            })
    }

    /// Learns one cleaned line in `channel`; it is stored at the next [`Brain::persist`].
    pub fn learn(&mut self, channel: &ChannelRef, line: &str) {
        let key = channel.to_string();
        let dirty = self.dirty.contains(&key);
        let writer = self.writer;
        let brain = self.channel(&key);
        let mut filled = None;
        if brain.chunk.len() >= CHUNK_LINES {
            let full = std::mem::take(&mut brain.chunk);
            filled = dirty.then(|| (chunk_key(writer, &key, brain.chunk_index), full));
            brain.chunk_index += 1;
        }
        brain.chain.learn(line);
        brain.chunk.push(line.to_owned());
        self.full.extend(filled);
        self.dirty.insert(key);
    }

    /// Writes the chunks changed since the last call.
    pub async fn persist(&mut self) -> Result<(), MarkovError> {
        for (key, lines) in std::mem::take(&mut self.full) {
            self.store.put(&key, &lines).await?;
        }
        for key in std::mem::take(&mut self.dirty) {
            if let Some(brain) = self.channels.get(&key) {
                self.store
                    .put(
                        &chunk_key(self.writer, &key, brain.chunk_index),
                        &brain.chunk,
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// The chain of `channel`, if it learned anything.
    pub fn chain(&self, channel: &ChannelRef) -> Option<&Chain> {
        self.channels.get(&channel.to_string()).map(|b| &b.chain)
    }

    /// Channels with a chain, as `platform:channel`.
    pub fn channels(&self) -> impl Iterator<Item = &str> {
        self.channels.keys().map(String::as_str)
    }

    /// How many persisted chunks `channel` has, of both writers (for tests and stats).
    pub async fn stored_chunks(&self, channel: &ChannelRef) -> Result<usize, MarkovError> {
        let mut chunks = 0;
        for writer in Writer::ALL {
            let prefix = format!("{}/{channel}/", writer.prefix());
            chunks += self.store.keys(&prefix).await?.len();
        }
        Ok(chunks)
    }
}

/// Progress of [`train`], reported after each page of the chat log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrainProgress {
    /// Chat records read so far.
    pub read: u64,
    /// Lines learned so far (records that survived cleaning).
    pub learned: u64,
    /// Records passed over because the plugin learned them live (part of `read`).
    pub learned_live: u64,
}

/// Per-channel bookkeeping of [`train`] and of live learning.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Progress {
    /// The log is learned up to here (exclusive of later rows).
    trained_to: Option<String>,
    /// When the running plugin began learning this channel live: the log from then on is
    /// being learned live.
    live_since_ms: Option<i64>,
    /// Earlier runs' live stretches, `[start, end]` in Unix milliseconds, merged, oldest
    /// first; those before `trained_to` are dropped.
    #[serde(default)]
    live_spans: Vec<(i64, i64)>,
}

impl Progress {
    /// Ends the open live stretch, if any, at `end_ms`.
    fn close_live(&mut self, end_ms: i64) {
        let Some(start) = self.live_since_ms.take() else {
            return;
        };
        self.live_spans.push((start, end_ms.max(start)));
        self.live_spans.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(self.live_spans.len());
        for (start, end) in self.live_spans.drain(..) {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        self.live_spans = merged;
    }

    /// Whether a row stamped `ms` falls in a closed live stretch.
    fn learned_live(&self, ms: i64) -> bool {
        self.live_spans
            .iter()
            .any(|&(start, end)| start <= ms && ms <= end)
    }
}

fn progress_key(channel: &str) -> String {
    format!("progress/{channel}")
}

/// Learns every channel's stored chat log into the markov namespace (`markov`) of `store`,
/// continuing where the previous run stopped and stopping where live learning began.
/// `progress` is called after every page.
///
/// Only rows logged before this run started are read: later ones are left to the next run,
/// or were learned live. A bot running meanwhile keeps its chains and learns on; it sees the
/// trained lines from its next start.
pub async fn train(
    store: Arc<dyn Store>,
    config: &MarkovConfig,
    bot_name: &str,
    mut progress: impl FnMut(TrainProgress),
) -> Result<TrainProgress, MarkovError> {
    let ns = NamespacedStore::new(store.clone(), "markov");
    let mut brain = Brain::load_as(ns.clone(), config.order, Writer::Train).await?;
    let started_ms = botkit::event::now_millis();
    let mut done = TrainProgress::default();
    for channel in store.chat_channels().await? {
        let key = channel.to_string();
        let mut state: Progress = ns.get(&progress_key(&key)).await?.unwrap_or_default();
        let mut cursor = state
            .trained_to
            .as_deref()
            .and_then(|c| c.parse::<ChatCursor>().ok())
            .unwrap_or(ChatCursor::START);
        let mut until = state
            .live_since_ms
            .map_or(started_ms, |t| t.min(started_ms));
        loop {
            let page = store.chat_range(&channel, cursor, 1000).await?;
            // Live learning may begin (or a run end) while this runs: read the marks again
            // for every page.
            if let Some(fresh) = ns.get::<Progress>(&progress_key(&key)).await? {
                if let Some(live) = fresh.live_since_ms {
                    until = until.min(live);
                }
                state = fresh;
            }
            let mut reached_until = false;
            for record in &page.records {
                if record.timestamp_ms >= until {
                    reached_until = true;
                    break;
                }
                done.read += 1;
                if state.learned_live(record.timestamp_ms) {
                    done.learned_live += 1;
                    continue;
                }
                let own = record.user_name.eq_ignore_ascii_case(bot_name);
                if let (false, Some(line)) = (own, clean(&record.text, config, bot_name)) {
                    brain.learn(&channel, &line);
                    done.learned += 1;
                }
            }
            // Persist before moving on, also when stopping mid-page: the progress mark
            // written below covers these rows, so they must be stored first.
            brain.persist().await?;
            progress(done);
            match page.next {
                Some(next) if !reached_until => cursor = next,
                _ => break,
            }
        }
        // Next time, start after the last row read (or where this run began).
        let last = store.chat_range(&channel, cursor, 1000).await?;
        let end = last
            .records
            .iter()
            .take_while(|r| r.timestamp_ms < until)
            .count();
        let trained_to = if end == 0 {
            cursor
        } else {
            // Re-read the rows up to `end` to find the cursor after them.
            store
                .chat_range(&channel, cursor, end)
                .await?
                .next
                .unwrap_or(cursor)
        };
        ns.update(&progress_key(&key), |p: Option<Progress>| {
            let mut p = p.unwrap_or_default();
            p.trained_to = Some(trained_to.to_string());
            // Spans wholly before the mark are behind training for good.
            p.live_spans
                .retain(|&(_, end)| end >= trained_to.timestamp_ms());
            p
        })
        .await?;
    }
    store.flush().await?;
    Ok(done)
}

/// Per-channel talk state.
#[derive(Debug, Default)]
struct Talk {
    since_spoke: u64,
    last_spoke: Option<Instant>,
}

#[derive(Debug)]
struct Inner {
    config: Mutex<MarkovConfig>,
    fixed: bool,
    rng: Mutex<fastrand::Rng>,
    brain: tokio::sync::Mutex<Option<Brain>>,
    talk: Mutex<HashMap<String, Talk>>,
    live: Mutex<HashSet<String>>,
}

/// The markov plugin. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Markov {
    inner: Arc<Inner>,
}

impl Default for Markov {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Markov {
    /// A markov plugin configured by `[plugins.markov]` (defaults when absent).
    pub fn new() -> Self {
        Self::build(MarkovConfig::default(), false)
    }

    /// A markov plugin configured in code; the config file is not read.
    pub fn with_config(config: MarkovConfig) -> Self {
        Self::build(config, true)
    }

    fn build(config: MarkovConfig, fixed: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                config: Mutex::new(config),
                fixed,
                rng: Mutex::new(fastrand::Rng::new()),
                brain: tokio::sync::Mutex::new(None),
                talk: Mutex::new(HashMap::new()),
                live: Mutex::new(HashSet::new()),
            }),
        }
    }
}

impl Inner {
    fn config(&self) -> MarkovConfig {
        lock(&self.config).clone()
    }

    /// A line for `channel` starting with `start`, cut to the platform's length.
    async fn generate(&self, channel: &ChannelRef, start: &[&str]) -> Option<String> {
        let config = self.config();
        let brain = self.brain.lock().await;
        let chain = brain.as_ref()?.chain(channel)?;
        let line = {
            let mut rng = lock(&self.rng);
            chain.generate(start, config.max_words, &mut rng)?
        };
        Some(truncate_at_boundary(
            &line,
            config.max_length_for(&channel.platform),
            "…",
        ))
    }

    /// Learns a live chat event; whether the bot should now speak unprompted.
    async fn learn_live(&self, event: &Event, ctx: &Context) -> Result<bool> {
        let Payload::ChatMessage(msg) = &event.payload else {
            return Ok(false);
        };
        let Some(channel) = ChannelRef::of_event(event) else {
            return Ok(false);
        };
        let config = self.config();
        let bot_name = ctx.bot().name.clone();
        if (msg.is_history && !config.learn_history)
            || msg.user.name.eq_ignore_ascii_case(&bot_name)
        {
            return Ok(false);
        }
        let Some(line) = clean(&msg.text, &config, &bot_name) else {
            return Ok(false);
        };
        let key = channel.to_string();
        if lock(&self.live).insert(key.clone()) {
            // From now on this channel's log is learned live: `train` stops here.
            let at = event.timestamp_ms;
            ctx.store()
                .update(&progress_key(&key), |p: Option<Progress>| {
                    let mut p = p.unwrap_or_default();
                    p.live_since_ms.get_or_insert(at);
                    p
                })
                .await?;
        }
        {
            let mut brain = self.brain.lock().await;
            let Some(brain) = brain.as_mut() else {
                return Ok(false);
            };
            brain.learn(&channel, &line);
            brain.persist().await.map_err(|MarkovError::Store(e)| e)?;
        }
        let roll = lock(&self.rng).f64();
        let mut talk = lock(&self.talk);
        let state = talk.entry(key).or_default();
        state.since_spoke += 1;
        let wants = (config.speak_every > 0 && state.since_spoke >= config.speak_every)
            || roll < config.speak_probability;
        let cooled = state
            .last_spoke
            .is_none_or(|at| at.elapsed() >= config.cooldown);
        if wants && cooled {
            state.since_spoke = 0;
            state.last_spoke = Some(Instant::now());
            return Ok(true);
        }
        Ok(false)
    }
}

#[async_trait]
impl Plugin for Markov {
    fn name(&self) -> &str {
        "markov"
    }

    fn subscriptions(&self) -> Vec<Subscription> {
        vec![Subscription::to("platform.*.chat.message").ordered_by(Key::Channel)]
    }

    fn commands(&self) -> Vec<Command> {
        let spec = CommandSpec::new("markov")
            .description("says something this channel might say")
            .rest_arg("start", "words to start with");
        let inner = self.inner.clone();
        vec![Command::new(spec, move |call, ctx| {
            let inner = inner.clone();
            async move {
                let Some(channel) = ChannelRef::of_event(&call.event) else {
                    return Ok(());
                };
                let start: Vec<&str> = call.args.rest().split_whitespace().collect();
                let text = match inner.generate(&channel, &start).await {
                    Some(text) => text,
                    None if start.is_empty() => "I have not learned anything here yet.".to_owned(),
                    None => format!("I know nothing to say after “{}”.", start.join(" ")),
                };
                ctx.reply(&call.event, text).await?;
                Ok(())
            }
        })]
    }

    async fn init(&self, ctx: &Context) -> Result<()> {
        if !self.inner.fixed {
            let config: MarkovConfig = ctx.config()?;
            *lock(&self.inner.config) = config;
        }
        let config = self.inner.config();
        if !(1..=Chain::MAX_ORDER).contains(&config.order) {
            return Err(format!(
                "[plugins.markov] order = {} is out of range; use 1, 2 or 3",
                config.order
            )
            .into());
        }
        if !(0.0..=1.0).contains(&config.speak_probability) {
            return Err(format!(
                "[plugins.markov] speak_probability = {} must be between 0.0 and 1.0",
                config.speak_probability
            )
            .into());
        }
        *lock(&self.inner.rng) = config
            .seed
            .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        // A live stretch still open was left by a run that did not stop cleanly: it ended
        // no later than now (its logger, in the same process, logged nothing since).
        let store = ctx.store();
        let now = botkit::event::now_millis();
        for key in store.keys("progress/").await? {
            let open = store
                .get::<Progress>(&key)
                .await?
                .is_some_and(|p| p.live_since_ms.is_some());
            if !open {
                continue;
            }
            store
                .update(&key, |p: Option<Progress>| {
                    let mut p = p.unwrap_or_default();
                    p.close_live(now);
                    p
                })
                .await?;
        }
        lock(&self.inner.live).clear();
        let brain = Brain::load(store, config.order)
            .await
            .map_err(|MarkovError::Store(e)| e)?;
        *self.inner.brain.lock().await = Some(brain);
        Ok(())
    }

    async fn stop(&self, ctx: &Context) -> Result<()> {
        // Close this run's live stretches: `train` may learn what is logged from now on.
        let channels: Vec<String> = lock(&self.inner.live).drain().collect();
        let now = botkit::event::now_millis();
        for key in channels {
            ctx.store()
                .update(&progress_key(&key), |p: Option<Progress>| {
                    let mut p = p.unwrap_or_default();
                    p.close_live(now);
                    p
                })
                .await?;
        }
        Ok(())
    }

    async fn handle(&self, event: &Event, ctx: &Context) -> Result<()> {
        if self.inner.learn_live(event, ctx).await?
            && let Some(channel) = ChannelRef::of_event(event)
            && let Some(text) = self.inner.generate(&channel, &[]).await
        {
            ctx.say(&event.source, text).await?;
        }
        Ok(())
    }

    fn status(&self) -> Option<String> {
        let brain = self.inner.brain.try_lock().ok()?;
        let brain = brain.as_ref()?;
        let lines: u64 = brain.channels.values().map(|b| b.chain.lines()).sum();
        Some(format!(
            "{lines} lines learned in {} channels",
            brain.channels.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::Progress;

    #[test]
    fn live_spans_close_merge_and_cover_their_ends() {
        let mut p = Progress::default();
        p.close_live(50);
        assert!(p.live_spans.is_empty(), "nothing open, nothing closed");
        p.live_since_ms = Some(10);
        p.close_live(20);
        p.live_since_ms = Some(40);
        p.close_live(30); // a clock step back: the span is at least its start
        p.live_since_ms = Some(15);
        p.close_live(25); // overlaps the first
        assert_eq!(p.live_spans, [(10, 25), (40, 40)]);
        assert!(p.live_since_ms.is_none());
        assert!(p.learned_live(10) && p.learned_live(25) && p.learned_live(40));
        assert!(!p.learned_live(9) && !p.learned_live(26) && !p.learned_live(41));
    }

    #[test]
    fn progress_written_before_spans_existed_still_reads() {
        let p: Progress = toml::from_str("trained_to = \"5:1\"\nlive_since_ms = 7\n").unwrap();
        assert_eq!(p.live_since_ms, Some(7));
        assert!(p.live_spans.is_empty());
    }
}
