//! The subscription index: a token trie over patterns.
//!
//! Every pattern is stored at the node its tokens lead to, with `*` as its own child edge
//! and a trailing `>` stored on the node before it. Matching a topic walks the trie once
//! per token, following the literal child and the `*` child, and collects the `>` entries
//! it passes. The cost therefore grows with the topic's length and the number of wildcard
//! branches actually taken, not with the number of subscriptions, which is what keeps a
//! route-cache miss cheap with thousands of subscribers. [`crate::topic::Pattern::matches`]
//! stays the reference; a property test compares the two.

use std::collections::HashMap;

use crate::topic::Pattern;

/// A trie of `(id, value)` entries keyed by pattern.
#[derive(Debug)]
pub(crate) struct Index<T> {
    root: Node<T>,
    len: usize,
}

#[derive(Debug)]
struct Node<T> {
    /// Children by literal token.
    literal: HashMap<Box<str>, Node<T>>,
    /// The child for a `*` token.
    star: Option<Box<Node<T>>>,
    /// Patterns that end exactly here.
    here: Vec<(u64, T)>,
    /// Patterns whose next (and last) token is `>`: they match one or more further tokens.
    rest: Vec<(u64, T)>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Self {
            literal: HashMap::new(),
            star: None,
            here: Vec::new(),
            rest: Vec::new(),
        }
    }
}

impl<T> Node<T> {
    fn is_empty(&self) -> bool {
        self.literal.is_empty()
            && self.star.is_none()
            && self.here.is_empty()
            && self.rest.is_empty()
    }
}

impl<T> Default for Index<T> {
    fn default() -> Self {
        Self {
            root: Node::default(),
            len: 0,
        }
    }
}

impl<T: Clone> Index<T> {
    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Adds an entry for `pattern`. Ids are expected to be unique.
    pub(crate) fn insert(&mut self, pattern: &Pattern, id: u64, value: T) {
        let mut node = &mut self.root;
        for token in pattern.tokens() {
            match token {
                ">" => {
                    node.rest.push((id, value));
                    self.len += 1;
                    return;
                }
                "*" => node = node.star.get_or_insert_with(Box::default),
                lit => node = node.literal.entry(Box::from(lit)).or_default(),
            }
        }
        node.here.push((id, value));
        self.len += 1;
    }

    /// Removes the entry `id` stored under `pattern`, pruning nodes left empty.
    pub(crate) fn remove(&mut self, pattern: &Pattern, id: u64) -> Option<T> {
        let tokens: Vec<&str> = pattern.tokens().collect();
        let removed = remove_in(&mut self.root, &tokens, id);
        if removed.is_some() {
            self.len -= 1;
        }
        removed
    }

    /// Appends every entry whose pattern matches `topic` to `out`, ordered by id.
    pub(crate) fn matches(&self, topic: &str, out: &mut Vec<(u64, T)>) {
        let start = out.len();
        walk(&self.root, topic.split('.'), out);
        if let Some(tail) = out.get_mut(start..) {
            tail.sort_unstable_by_key(|(id, _)| *id);
        }
    }
}

fn walk<'a, T: Clone>(
    node: &Node<T>,
    mut tokens: std::str::Split<'a, char>,
    out: &mut Vec<(u64, T)>,
) {
    match tokens.next() {
        None => out.extend(node.here.iter().cloned()),
        Some(token) => {
            // `>` needs at least one more token, and we just consumed one.
            out.extend(node.rest.iter().cloned());
            if let Some(child) = node.literal.get(token) {
                walk(child, tokens.clone(), out);
            }
            if let Some(child) = &node.star {
                walk(child, tokens, out);
            }
        }
    }
}

fn remove_in<T>(node: &mut Node<T>, tokens: &[&str], id: u64) -> Option<T> {
    let take = |v: &mut Vec<(u64, T)>| {
        let pos = v.iter().position(|(i, _)| *i == id)?;
        Some(v.swap_remove(pos).1)
    };
    let Some((first, tail)) = tokens.split_first() else {
        return take(&mut node.here);
    };
    match *first {
        ">" => take(&mut node.rest),
        "*" => {
            let child = node.star.as_deref_mut()?;
            let removed = remove_in(child, tail, id);
            if child.is_empty() {
                node.star = None;
            }
            removed
        }
        lit => {
            let child = node.literal.get_mut(lit)?;
            let removed = remove_in(child, tail, id);
            if child.is_empty() {
                node.literal.remove(lit);
            }
            removed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(index: &Index<()>, topic: &str) -> Vec<u64> {
        let mut out = Vec::new();
        index.matches(topic, &mut out);
        out.into_iter().map(|(id, _)| id).collect()
    }

    #[test]
    fn matches_literals_and_wildcards() {
        let mut index = Index::default();
        let pats = [
            "platform.twitch.chat.message",
            "platform.*.chat.message",
            "platform.>",
            ">",
            "platform.*.chat",
            "command.*",
        ];
        for (i, p) in pats.iter().enumerate() {
            index.insert(&Pattern::new(p).unwrap(), i as u64, ());
        }
        assert_eq!(
            ids(&index, "platform.twitch.chat.message"),
            vec![0, 1, 2, 3]
        );
        assert_eq!(ids(&index, "platform.cytube.chat.message"), vec![1, 2, 3]);
        assert_eq!(ids(&index, "platform.cytube.chat"), vec![2, 3, 4]);
        assert_eq!(ids(&index, "platform"), vec![3]);
        assert_eq!(ids(&index, "command.help"), vec![3, 5]);
        assert_eq!(ids(&index, "command.help.x"), vec![3]);
    }

    #[test]
    fn remove_prunes_and_forgets() {
        let mut index = Index::default();
        let p = Pattern::new("a.*.c").unwrap();
        index.insert(&p, 1, ());
        index.insert(&p, 2, ());
        assert_eq!(index.len(), 2);
        assert_eq!(index.remove(&p, 1), Some(()));
        assert_eq!(index.remove(&p, 1), None);
        assert_eq!(ids(&index, "a.b.c"), vec![2]);
        assert_eq!(index.remove(&p, 2), Some(()));
        assert!(index.root.is_empty(), "empty nodes are pruned");
        assert_eq!(index.len(), 0);
    }

    fn pattern_strategy() -> impl Strategy<Value = String> {
        let token = prop::sample::select(vec!["a", "b", "c", "*"]);
        (prop::collection::vec(token, 1..5), any::<bool>()).prop_map(|(mut toks, tail)| {
            if tail {
                toks.push(">");
            }
            toks.join(".")
        })
    }

    fn topic_strategy() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 1..6)
            .prop_map(|t| t.join("."))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The trie gives exactly the answers of the naive reference, also after removals.
        #[test]
        fn index_agrees_with_reference(
            patterns in prop::collection::vec(pattern_strategy(), 0..60),
            topics in prop::collection::vec(topic_strategy(), 1..30),
            removals in prop::collection::vec(any::<bool>(), 60),
        ) {
            let pats: Vec<Pattern> = patterns.iter().map(|p| Pattern::new(p).unwrap()).collect();
            let mut index = Index::default();
            for (i, p) in pats.iter().enumerate() {
                index.insert(p, i as u64, ());
            }
            type Live<'a> = &'a dyn Fn(usize) -> bool;
            let check = |index: &Index<()>, live: Live<'_>| -> Result<(), TestCaseError> {
                for t in &topics {
                    let expected: Vec<u64> = pats
                        .iter()
                        .enumerate()
                        .filter(|(i, p)| live(*i) && p.matches(t))
                        .map(|(i, _)| i as u64)
                        .collect();
                    prop_assert_eq!(ids(index, t), expected, "topic {}", t);
                }
                Ok(())
            };
            check(&index, &|_| true)?;
            for (i, p) in pats.iter().enumerate() {
                if removals[i] {
                    prop_assert_eq!(index.remove(p, i as u64), Some(()));
                }
            }
            check(&index, &|i| !removals[i])?;
            prop_assert_eq!(index.len(), removals.iter().take(pats.len()).filter(|r| !**r).count());
        }
    }
}
