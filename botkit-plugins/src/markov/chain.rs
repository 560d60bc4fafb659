//! The word chain itself: which words followed each run of 1..=order words, and how often.
//!
//! Every order up to the configured one is kept, so generation can start from words the
//! chain only knows in a shorter context (a user's `!markov cat`) and back off when the
//! longest context is unknown. Lookups are case-insensitive (keys are lowercased) while the
//! words keep the case they were learned in. Followers keep insertion order and are picked
//! by weight with a caller-provided RNG, so a seeded RNG gives the same sentence every time.

use std::collections::HashMap;
use std::sync::Arc;

/// The key for "start of a line" in a context window.
const START: &str = "";

/// The words seen after one context, with counts.
#[derive(Debug, Default, Clone)]
struct Followers {
    /// Followed words in first-seen order; `None` is the end of a line.
    words: Vec<(Option<Arc<str>>, u32)>,
    index: HashMap<Option<Arc<str>>, usize>,
    total: u64,
}

impl Followers {
    fn add(&mut self, word: Option<Arc<str>>) {
        match self.index.get(&word) {
            Some(&i) => {
                if let Some(slot) = self.words.get_mut(i) {
                    slot.1 = slot.1.saturating_add(1);
                }
            }
            None => {
                self.index.insert(word.clone(), self.words.len());
                self.words.push((word, 1));
            }
        }
        self.total += 1;
    }

    fn pick(&self, rng: &mut fastrand::Rng) -> Option<Option<Arc<str>>> {
        if self.total == 0 {
            return None;
        }
        let mut n = rng.u64(0..self.total);
        for (word, count) in &self.words {
            let count = u64::from(*count);
            if n < count {
                return Some(word.clone());
            }
            n -= count;
        }
        None
    }
}

/// A Markov chain over words, of order 1 to 3. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Chain {
    order: usize,
    /// Context (lowercased words, `""` for the start of a line) → what followed.
    table: HashMap<Box<[Arc<str>]>, Followers>,
    /// Interned words, so each distinct word is stored once.
    words: HashMap<Box<str>, Arc<str>>,
    lines: u64,
    learned_words: u64,
}

impl Chain {
    /// The highest order supported.
    pub const MAX_ORDER: usize = 3;

    /// An empty chain of `order`, clamped to 1..=3.
    pub fn new(order: usize) -> Self {
        Self {
            order: order.clamp(1, Self::MAX_ORDER),
            table: HashMap::new(),
            words: HashMap::new(),
            lines: 0,
            learned_words: 0,
        }
    }

    /// The chain's order.
    pub fn order(&self) -> usize {
        self.order
    }

    /// How many lines were learned.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// How many words were learned (counting repeats).
    pub fn learned_words(&self) -> u64 {
        self.learned_words
    }

    /// Whether nothing was learned.
    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }

    fn intern(&mut self, word: &str) -> Arc<str> {
        if let Some(w) = self.words.get(word) {
            return w.clone();
        }
        let w: Arc<str> = Arc::from(word);
        self.words.insert(Box::from(word), w.clone());
        w
    }

    /// Learns one line of already cleaned text (words separated by whitespace).
    pub fn learn(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            return;
        }
        let start = self.intern(START);
        let mut context: Vec<Arc<str>> = vec![start; self.order];
        let mut keys: Vec<Arc<str>> = Vec::with_capacity(words.len());
        for word in &words {
            keys.push(self.intern(&word.to_lowercase()));
        }
        for i in 0..=words.len() {
            let next = words.get(i).map(|w| self.intern(w));
            for k in 1..=self.order {
                let from = context.len() - k;
                let key: Box<[Arc<str>]> = context.get(from..).unwrap_or_default().into();
                self.table.entry(key).or_default().add(next.clone());
            }
            if let Some(key) = keys.get(i) {
                context.remove(0);
                context.push(key.clone());
            }
        }
        self.lines += 1;
        self.learned_words += words.len() as u64;
    }

    /// The followers of the longest known suffix of `context` (at most `order` words).
    fn followers(&self, context: &[Arc<str>]) -> Option<&Followers> {
        (1..=self.order.min(context.len())).rev().find_map(|k| {
            let suffix = context.get(context.len() - k..)?;
            self.table.get(suffix)
        })
    }

    /// Generates a line of at most `max_words` words, starting with `start` (words a user
    /// gave; may be empty). `None` when the chain knows nothing to say after `start`.
    pub fn generate(
        &self,
        start: &[&str],
        max_words: usize,
        rng: &mut fastrand::Rng,
    ) -> Option<String> {
        let mut context: Vec<Arc<str>> = vec![Arc::from(START); self.order];
        let mut out: Vec<Arc<str>> = Vec::new();
        for word in start {
            out.push(Arc::from(*word));
            context.push(Arc::from(word.to_lowercase()));
        }
        let given = out.len();
        while out.len() < max_words.max(given) {
            let tail = context
                .get(context.len() - self.order..)
                .unwrap_or_default();
            let Some(next) = self.followers(tail).and_then(|f| f.pick(rng)) else {
                break;
            };
            let Some(word) = next else { break };
            context.push(Arc::from(word.to_lowercase()));
            out.push(word);
        }
        if out.len() == given {
            return None;
        }
        Some(out.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_clamped() {
        assert_eq!(Chain::new(0).order(), 1);
        assert_eq!(Chain::new(9).order(), 3);
    }

    #[test]
    fn a_single_line_is_replayed_exactly() {
        for order in 1..=3 {
            let mut chain = Chain::new(order);
            chain.learn("the quick brown fox");
            let mut rng = fastrand::Rng::with_seed(1);
            assert_eq!(
                chain.generate(&[], 30, &mut rng).as_deref(),
                Some("the quick brown fox")
            );
        }
    }

    #[test]
    fn start_words_are_kept_and_matched_case_insensitively() {
        let mut chain = Chain::new(2);
        chain.learn("I like Cats very much");
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(
            chain.generate(&["cats"], 30, &mut rng).as_deref(),
            Some("cats very much")
        );
        assert_eq!(chain.generate(&["dogs"], 30, &mut rng), None);
    }

    #[test]
    fn max_words_bounds_the_output() {
        let mut chain = Chain::new(1);
        chain.learn("la la la la la la la la la la");
        let mut rng = fastrand::Rng::with_seed(3);
        let out = chain.generate(&[], 4, &mut rng).unwrap();
        assert!(out.split(' ').count() <= 4, "{out}");
    }

    #[test]
    fn same_seed_same_sentence() {
        let mut chain = Chain::new(1);
        for line in ["a b c", "a c b", "b a c", "c c a b"] {
            chain.learn(line);
        }
        let run = |seed| chain.generate(&[], 20, &mut fastrand::Rng::with_seed(seed));
        assert_eq!(run(7), run(7));
        assert_eq!(chain.lines(), 4);
        assert_eq!(chain.learned_words(), 13);
    }
}
