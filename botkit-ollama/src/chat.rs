//! What every chat bot does around a model call: build the prompt from recent chat under a
//! budget, clean the formatting small models add, and fit the answer into one message.
//!
//! - [`ContextBuilder`] turns logged [`ChatRecord`]s into [`Turn`]s, newest kept first:
//!   the bot's own lines become assistant turns, everyone else's become `name: text` lines
//!   merged into user turns (small models follow one transcript turn better than many tiny
//!   ones). The budget is in characters (about four per token for English), so it can be
//!   checked without a tokenizer.
//! - [`clean_reply`] removes what a chat cannot show and small models add anyway: special
//!   tokens, a `Bot:` prefix, wrapping quotes, Markdown emphasis, headings, bullets, code
//!   fences and line breaks.
//! - [`fit_reply`] cleans, then cuts at a sentence or word boundary with
//!   [`botkit::text::truncate_at_boundary_by`] so the answer fits the platform's limit.

use botkit::llm::{Turn, TurnRole};
use botkit::store::ChatRecord;
use botkit::text::{Measure, truncate_at_boundary_by};

/// Builds conversation turns from recent chat under a length budget.
#[derive(Debug, Clone)]
pub struct ContextBuilder {
    budget: usize,
    measure: Measure,
    max_messages: usize,
    bot: Vec<String>,
}

impl ContextBuilder {
    /// A builder keeping at most `budget` characters of chat (names included).
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            measure: Measure::Chars,
            max_messages: usize::MAX,
            bot: Vec::new(),
        }
    }

    /// Messages from this user id or name are the bot's own (assistant turns). Compared
    /// case-insensitively with both [`ChatRecord::user_id`] and [`ChatRecord::user_name`].
    #[must_use]
    pub fn bot(mut self, id_or_name: impl Into<String>) -> Self {
        self.bot.push(id_or_name.into().to_lowercase());
        self
    }

    /// How the budget is counted (default: characters).
    #[must_use]
    pub fn measure(mut self, measure: Measure) -> Self {
        self.measure = measure;
        self
    }

    /// Keeps at most this many messages, whatever the budget.
    #[must_use]
    pub fn max_messages(mut self, max: usize) -> Self {
        self.max_messages = max;
        self
    }

    fn is_bot(&self, record: &ChatRecord) -> bool {
        self.bot
            .iter()
            .any(|b| *b == record.user_id.to_lowercase() || *b == record.user_name.to_lowercase())
    }

    /// The turns for `records` (in any order; sorted by time here), oldest first, ending
    /// with the newest message. The newest message is always kept, shortened if it alone
    /// is over the budget.
    pub fn build(&self, records: &[ChatRecord]) -> Vec<Turn> {
        let mut sorted: Vec<&ChatRecord> = records
            .iter()
            .filter(|r| !r.text.trim().is_empty())
            .collect();
        sorted.sort_by_key(|r| r.timestamp_ms);
        let mut kept: Vec<(TurnRole, String)> = Vec::new();
        let mut used = 0usize;
        for record in sorted.iter().rev().take(self.max_messages) {
            let (role, line) = if self.is_bot(record) {
                (TurnRole::Assistant, record.text.trim().to_owned())
            } else {
                (
                    TurnRole::User,
                    format!("{}: {}", record.user_name.trim(), record.text.trim()),
                )
            };
            // One more for the newline that joins it to its neighbour.
            let cost = self.measure.len(&line) + 1;
            if used + cost > self.budget {
                if kept.is_empty() && self.budget > 0 {
                    let line = truncate_at_boundary_by(&line, self.budget, "…", self.measure);
                    kept.push((role, line));
                }
                break;
            }
            used += cost;
            kept.push((role, line));
        }
        kept.reverse();
        let mut turns: Vec<Turn> = Vec::new();
        for (role, line) in kept {
            match turns.last_mut() {
                Some(last) if last.role == role => {
                    last.content.push('\n');
                    last.content.push_str(&line);
                }
                _ => turns.push(match role {
                    TurnRole::Assistant => Turn::assistant(line),
                    _ => Turn::user(line),
                }),
            }
        }
        turns
    }
}

/// Names a model puts before its answer besides the bot's own.
const GENERIC_SPEAKERS: &[&str] = &["assistant", "ai", "bot", "answer", "response", "reply"];

/// Cleans a model's answer for a one-line chat message: removes special tokens (`<|im_end|>`,
/// `</s>`), a leading speaker prefix (`Bot:`, `**Bot:**`, `[Bot]:`, `Assistant:` and
/// each of `names`), wrapping quotes, Markdown (emphasis, inline code, code fences,
/// headings, bullets; links become `text (url)`), and joins lines with single spaces.
pub fn clean_reply(text: &str, names: &[&str]) -> String {
    let text = strip_special_tokens(text);
    let mut text = text.trim().to_owned();
    // Twice: `Bot: "Hi"` and `"Bot: Hi"` both happen.
    for _ in 0..2 {
        text = strip_speaker(&text, names);
        text = strip_quotes(&text);
    }
    let lines: Vec<String> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("```"))
        .map(|line| strip_line_markup(line.trim()))
        .filter(|line| !line.is_empty())
        .collect();
    let joined = strip_inline_markdown(&lines.join(" "));
    let collapsed = joined.split_whitespace().collect::<Vec<_>>().join(" ");
    strip_quotes(&strip_speaker(&collapsed, names))
}

/// [`clean_reply`], then shortened to `max` (in `measure`) at a sentence or word boundary.
pub fn fit_reply(text: &str, names: &[&str], max: usize, measure: Measure) -> String {
    truncate_at_boundary_by(&clean_reply(text, names), max, "…", measure)
}

fn strip_special_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("<|") {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        match after.find("|>") {
            Some(end) => rest = after.get(end + 2..).unwrap_or_default(),
            None => {
                rest = "";
                out.push_str(after);
            }
        }
    }
    out.push_str(rest);
    out.replace("</s>", "").replace("<s>", "")
}

/// Removes one leading `Name:` (optionally bold, bracketed) for the known speakers.
fn strip_speaker(text: &str, names: &[&str]) -> String {
    let Some((head, rest)) = text.split_once(':') else {
        return text.to_owned();
    };
    // `**Bot:** hi` leaves `**` after the colon.
    let rest = rest.strip_prefix("**").unwrap_or(rest);
    let speaker = head
        .trim()
        .trim_matches(|c: char| matches!(c, '*' | '_' | '[' | ']' | '<' | '>' | '@'))
        .trim()
        .to_lowercase();
    let known = GENERIC_SPEAKERS.contains(&speaker.as_str())
        || names.iter().any(|n| n.trim().to_lowercase() == speaker);
    if known && !speaker.is_empty() {
        rest.trim().to_owned()
    } else {
        text.to_owned()
    }
}

const QUOTES: &[(char, char)] = &[
    ('"', '"'),
    ('\'', '\''),
    ('“', '”'),
    ('‘', '’'),
    ('«', '»'),
    ('„', '“'),
];

/// Removes one pair of quotes around the whole text, when no other quote of the kind is
/// inside (so `"a" and "b"` is left alone).
fn strip_quotes(text: &str) -> String {
    let text = text.trim();
    for &(open, close) in QUOTES {
        if let Some(inner) = text
            .strip_prefix(open)
            .and_then(|rest| rest.strip_suffix(close))
            && !inner.contains(open)
            && !inner.contains(close)
        {
            return inner.trim().to_owned();
        }
    }
    text.to_owned()
}

/// Line-level Markdown: headings, bullets, numbered items, block quotes.
fn strip_line_markup(line: &str) -> String {
    let line = line.trim_start_matches('#').trim_start();
    let line = line.strip_prefix("> ").unwrap_or(line);
    for bullet in ["- ", "* ", "+ ", "• "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            return rest.trim().to_owned();
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0
        && let Some(rest) = line.get(digits..).and_then(|r| r.strip_prefix(". "))
    {
        return rest.trim().to_owned();
    }
    line.trim().to_owned()
}

/// Inline Markdown: `**bold**`, `__bold__`, `*em*`, `` `code` ``, `[text](url)`.
fn strip_inline_markdown(text: &str) -> String {
    let text = text.replace("**", "").replace("__", "").replace('`', "");
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        match c {
            // Emphasis, not arithmetic: a lone `*` touching a word on one side only.
            '*' => {
                let spaced = |c: Option<char>| c.is_none_or(char::is_whitespace);
                let digits = prev.is_some_and(|p| p.is_ascii_digit())
                    && next.is_some_and(|n| n.is_ascii_digit());
                if (spaced(prev) && spaced(next)) || digits {
                    out.push(c);
                }
                i += 1;
            }
            '[' => match markdown_link(&chars, i) {
                Some((label, url, end)) => {
                    out.push_str(&label);
                    if url != label {
                        out.push_str(" (");
                        out.push_str(&url);
                        out.push(')');
                    }
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            },
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// `[label](url)` starting at `start`: the label, the url, and the index after `)`.
fn markdown_link(chars: &[char], start: usize) -> Option<(String, String, usize)> {
    let close = start + 1 + chars.get(start + 1..)?.iter().position(|&c| c == ']')?;
    if chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let end = close + 2 + chars.get(close + 2..)?.iter().position(|&c| c == ')')?;
    let label: String = chars.get(start + 1..close)?.iter().collect();
    let url: String = chars.get(close + 2..end)?.iter().collect();
    Some((label, url, end + 1))
}

#[cfg(test)]
mod tests {
    use botkit::store::ChannelRef;
    use proptest::prelude::*;

    use super::*;

    fn record(name: &str, text: &str, at: i64) -> ChatRecord {
        ChatRecord::new(
            &ChannelRef::new("twitch", "#chan"),
            format!("twitch:{name}"),
            name,
            text,
            at,
        )
    }

    #[test]
    fn context_keeps_the_newest_under_budget_and_merges_turns() {
        let records = vec![
            record("alice", "first message, long ago", 1),
            record("bob", "hi bot", 3),
            record("mybot", "hello bob", 4),
            record("alice", "what is rust?", 5),
            record("carol", "a language", 6),
        ];
        let turns = ContextBuilder::new(1000).bot("MyBot").build(&records);
        assert_eq!(
            turns,
            vec![
                Turn::user("alice: first message, long ago\nbob: hi bot"),
                Turn::assistant("hello bob"),
                Turn::user("alice: what is rust?\ncarol: a language"),
            ]
        );
        // "carol: a language" (17+1) and "alice: what is rust?" (20+1) fit in 40, more does not.
        let turns = ContextBuilder::new(40).bot("twitch:mybot").build(&records);
        assert_eq!(
            turns,
            vec![Turn::user("alice: what is rust?\ncarol: a language")]
        );
        let turns = ContextBuilder::new(1000).max_messages(1).build(&records);
        assert_eq!(turns, vec![Turn::user("carol: a language")]);
        // Records out of order are sorted by time.
        let mut shuffled = records.clone();
        shuffled.reverse();
        assert_eq!(
            ContextBuilder::new(1000).bot("mybot").build(&shuffled),
            ContextBuilder::new(1000).bot("mybot").build(&records)
        );
    }

    #[test]
    fn a_newest_message_over_budget_is_shortened_not_dropped() {
        let records = vec![record("alice", "one two three four five six seven", 1)];
        let turns = ContextBuilder::new(20).build(&records);
        assert_eq!(turns.len(), 1);
        assert!(turns[0].content.chars().count() <= 20, "{:?}", turns[0]);
        assert!(turns[0].content.starts_with("alice: one"));
        assert!(ContextBuilder::new(0).build(&records).is_empty());
    }

    #[test]
    fn clean_reply_strips_what_small_models_add() {
        let names = ["MyBot"];
        let cases = [
            ("MyBot: Hello there!", "Hello there!"),
            ("**MyBot:** Hello there!", "Hello there!"),
            ("[mybot]: hi", "hi"),
            ("Assistant: \"Sure, here you go.\"", "Sure, here you go."),
            ("\"MyBot: quoted prefix\"", "quoted prefix"),
            ("“Curly quotes.”", "Curly quotes."),
            ("\"a\" and \"b\"", "\"a\" and \"b\""),
            (
                "This is **bold** and *italic* and `code`.",
                "This is bold and italic and code.",
            ),
            ("# Title\n- one\n- two\n1. three", "Title one two three"),
            ("```rust\nfn main() {}\n```", "fn main() {}"),
            (
                "See [the docs](https://x.dev) now",
                "See the docs (https://x.dev) now",
            ),
            ("2 * 3 = 6 and 2*3 too", "2 * 3 = 6 and 2*3 too"),
            ("Hi!<|im_end|>", "Hi!"),
            ("Hi</s>", "Hi"),
            ("Alice: not the bot", "Alice: not the bot"),
            ("Time: 5 o'clock", "Time: 5 o'clock"),
            ("line one\n\nline two", "line one line two"),
            ("*waves*", "waves"),
        ];
        for (input, expected) in cases {
            assert_eq!(clean_reply(input, &names), expected, "{input:?}");
        }
    }

    #[test]
    fn fit_reply_cuts_at_a_boundary() {
        let text = "MyBot: The sky is blue. It scatters light! More words follow here";
        assert_eq!(
            fit_reply(text, &["MyBot"], 40, Measure::Chars),
            "The sky is blue. It scatters light!"
        );
        assert_eq!(fit_reply("**short**", &[], 500, Measure::Chars), "short");
    }

    proptest! {
        #[test]
        fn cleaning_never_panics_and_fits(text in "\\PC{0,200}", max in 0usize..120) {
            let cleaned = clean_reply(&text, &["bot"]);
            prop_assert!(!cleaned.contains('\n'));
            let fitted = fit_reply(&text, &["bot"], max, Measure::Chars);
            prop_assert!(fitted.chars().count() <= max);
        }

        #[test]
        fn context_stays_within_budget(
            texts in proptest::collection::vec("[a-z ]{0,40}", 0..30),
            budget in 1usize..300,
        ) {
            let records: Vec<ChatRecord> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| record(if i % 3 == 0 { "bot" } else { "user" }, t, i as i64))
                .collect();
            let turns = ContextBuilder::new(budget).bot("bot").build(&records);
            let total: usize = turns.iter().map(|t| t.content.chars().count() + 1).sum();
            prop_assert!(total <= budget + 1, "{} > {}", total, budget);
        }
    }
}
