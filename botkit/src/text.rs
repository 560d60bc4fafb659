//! Fitting text into chat messages: splitting long text into chunks, truncating with an
//! ellipsis.
//!
//! Every platform has a message length limit, counted differently: Twitch allows 500
//! characters, CyTube 320, some services count bytes. An LLM answer or a long `!help` must be
//! cut into messages that each fit, and the cuts must read well: at whitespace when possible,
//! otherwise between two user-perceived characters (extended grapheme clusters), never inside
//! one, so a family emoji joined with ZWJ, a flag or a letter with combining accents is never
//! torn apart into mojibake.
//!
//! The splitter works on grapheme clusters (`unicode-segmentation`) and slices the original
//! string, so the text inside a chunk keeps its own spacing; whitespace at the cuts is
//! dropped. How length is counted is a [`Measure`]: Unicode scalar values (Rust `char`s, what
//! Twitch and most services count), UTF-8 bytes, or grapheme clusters.
//!
//! One exception is unavoidable: a single grapheme cluster longer than the limit (e.g. a
//! letter under dozens of combining marks) is cut between its `char`s, because the platform
//! would refuse the whole message otherwise; with [`Measure::Bytes`] and a limit below 4, a
//! single `char` wider than the limit becomes a chunk of its own, since UTF-8 cannot be split.

use std::ops::Range;

use serde::Deserialize;
use unicode_segmentation::UnicodeSegmentation;

/// How the length of a message is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Measure {
    /// Unicode scalar values (Rust `char`s): what Twitch's 500 and CyTube's 320 count.
    #[default]
    Chars,
    /// UTF-8 bytes.
    Bytes,
    /// Extended grapheme clusters (user-perceived characters).
    Graphemes,
}

impl Measure {
    /// The length of `text` in this measure.
    pub fn len(self, text: &str) -> usize {
        match self {
            Measure::Chars => text.chars().count(),
            Measure::Bytes => text.len(),
            Measure::Graphemes => text.graphemes(true).count(),
        }
    }

    /// The length of one grapheme cluster.
    fn of_grapheme(self, grapheme: &str) -> usize {
        match self {
            Measure::Chars => grapheme.chars().count(),
            Measure::Bytes => grapheme.len(),
            Measure::Graphemes => 1,
        }
    }

    /// The length of one `char`.
    fn of_char(self, c: char) -> usize {
        match self {
            Measure::Chars | Measure::Graphemes => 1,
            Measure::Bytes => c.len_utf8(),
        }
    }
}

/// Splits `text` into chunks of at most `max_chars` characters (Unicode scalar values); see
/// [`split_message_by`].
pub fn split_message(text: &str, max_chars: usize) -> Vec<String> {
    split_message_by(text, max_chars, Measure::Chars)
}

/// Splits `text` into chunks of at most `max` (in `measure`), breaking at whitespace when a
/// chunk can end there, otherwise between grapheme clusters.
///
/// Whitespace at the cuts and around the text is dropped and no chunk is empty, so
/// whitespace-only text gives no chunks. A `max` of 0 is treated as 1 (every chunk must hold
/// something for the split to make progress).
pub fn split_message_by(text: &str, max: usize, measure: Measure) -> Vec<String> {
    split_ranges(text, max, measure)
        .into_iter()
        .filter_map(|range| text.get(range).map(str::to_owned))
        .collect()
}

fn is_space(grapheme: &str) -> bool {
    grapheme.chars().all(char::is_whitespace)
}

/// The byte ranges of the chunks of `text`.
fn split_ranges(text: &str, max: usize, measure: Measure) -> Vec<Range<usize>> {
    let max = max.max(1);
    let graphemes: Vec<(usize, &str)> = text.grapheme_indices(true).collect();
    let offset = |index: usize| graphemes.get(index).map_or(text.len(), |(at, _)| *at);
    let mut chunks = Vec::new();
    let mut start = 0;
    loop {
        while graphemes.get(start).is_some_and(|(_, g)| is_space(g)) {
            start += 1;
        }
        let Some(&(_, first)) = graphemes.get(start) else {
            break;
        };
        // Take graphemes while they fit, remembering the last whitespace seen.
        let mut used = 0;
        let mut end = start;
        let mut last_space = None;
        while let Some(&(_, g)) = graphemes.get(end) {
            let width = measure.of_grapheme(g);
            if used + width > max {
                break;
            }
            if is_space(g) {
                last_space = Some(end);
            }
            used += width;
            end += 1;
        }
        if end == start {
            // One grapheme wider than the whole limit: cut it between its chars.
            split_oversized(offset(start), first, max, measure, &mut chunks);
            start += 1;
            continue;
        }
        let cut = match graphemes.get(end) {
            None => end,
            Some((_, next)) if is_space(next) => end,
            Some(_) => last_space.unwrap_or(end),
        };
        let mut last = cut;
        while last > start && graphemes.get(last - 1).is_some_and(|(_, g)| is_space(g)) {
            last -= 1;
        }
        chunks.push(offset(start)..offset(last));
        start = cut;
    }
    chunks
}

/// Cuts one oversized grapheme cluster, starting at byte `at`, into pieces that fit.
fn split_oversized(
    at: usize,
    grapheme: &str,
    max: usize,
    measure: Measure,
    chunks: &mut Vec<Range<usize>>,
) {
    let mut piece_start = 0;
    let mut used = 0;
    for (i, c) in grapheme.char_indices() {
        let width = measure.of_char(c);
        if used + width > max && i > piece_start {
            chunks.push(at + piece_start..at + i);
            piece_start = i;
            used = 0;
        }
        used += width;
    }
    if piece_start < grapheme.len() {
        chunks.push(at + piece_start..at + grapheme.len());
    }
}

/// Shortens `text` to at most `max` characters (Unicode scalar values), preferring to end at
/// a sentence, else at a word; see [`truncate_at_boundary_by`].
pub fn truncate_at_boundary(text: &str, max: usize, ellipsis: &str) -> String {
    truncate_at_boundary_by(text, max, ellipsis, Measure::Chars)
}

/// Shortens `text` to at most `max` (in `measure`), whitespace around it trimmed.
///
/// Text that fits is returned as is (trimmed). Otherwise the cut prefers, in order:
/// 1. the end of the last sentence (`.`, `!`, `?`, `…` and their CJK forms, followed by
///    whitespace) that keeps at least half of `max`: the result reads as complete, so it
///    gets no ellipsis;
/// 2. the last word boundary that keeps at least half of the room left beside `ellipsis`,
///    then the ellipsis (trailing `,;:` and dashes are dropped before it);
/// 3. the last grapheme boundary that fits, then the ellipsis.
///
/// If `ellipsis` alone does not fit in `max`, the text is cut without one. `max` 0 gives an
/// empty string.
pub fn truncate_at_boundary_by(text: &str, max: usize, ellipsis: &str, measure: Measure) -> String {
    let text = text.trim();
    if measure.len(text) <= max {
        return text.to_owned();
    }
    let graphemes: Vec<(usize, &str)> = text.grapheme_indices(true).collect();
    let offset = |index: usize| graphemes.get(index).map_or(text.len(), |(at, _)| *at);
    // How many graphemes fit in `room`, and each prefix length along the way.
    let fitting = |room: usize| -> Vec<usize> {
        let mut lengths = vec![0];
        let mut used = 0;
        for (_, g) in &graphemes {
            used += measure.of_grapheme(g);
            if used > room {
                break;
            }
            lengths.push(used);
        }
        lengths
    };

    // 1. A sentence end within the full limit.
    let full = fitting(max);
    let sentence_end = (1..full.len()).rev().find(|&k| {
        let ends_sentence = graphemes
            .get(k - 1)
            .is_some_and(|(_, g)| matches!(*g, "." | "!" | "?" | "…" | "。" | "！" | "？"));
        let then_space = graphemes.get(k).is_none_or(|(_, g)| is_space(g));
        ends_sentence && then_space
    });
    if let Some(k) = sentence_end.filter(|&k| full.get(k).is_some_and(|len| len * 2 >= max)) {
        return text.get(..offset(k)).unwrap_or_default().to_owned();
    }

    // 2./3. A word or grapheme boundary within the room left beside the ellipsis.
    let ellipsis_len = measure.len(ellipsis);
    let (room, ellipsis) = if ellipsis_len <= max {
        (max - ellipsis_len, ellipsis)
    } else {
        (max, "")
    };
    let prefix = fitting(room);
    let fit = prefix.len() - 1;
    let word_end = (1..=fit).rev().find(|&k| {
        graphemes.get(k).is_some_and(|(_, g)| is_space(g))
            && graphemes.get(k - 1).is_some_and(|(_, g)| !is_space(g))
    });
    let cut = match word_end {
        Some(k) if prefix.get(k).is_some_and(|len| len * 2 >= room) => k,
        _ => fit,
    };
    let kept = text
        .get(..offset(cut))
        .unwrap_or_default()
        .trim_end()
        .trim_end_matches([',', ';', ':', '-', '–', '—'])
        .trim_end();
    format!("{kept}{ellipsis}")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const FAMILY: &str = "👨\u{200d}👩\u{200d}👧"; // 5 chars, 1 grapheme
    const E_ACUTE: &str = "e\u{301}"; // 2 chars, 1 grapheme

    #[test]
    fn short_text_is_one_trimmed_chunk() {
        assert_eq!(split_message("  hello world \n", 500), vec!["hello world"]);
        assert!(split_message(" \t\n ", 10).is_empty());
        assert!(split_message("", 10).is_empty());
    }

    #[test]
    fn breaks_at_word_boundaries() {
        let chunks = split_message("the quick brown fox jumps over the lazy dog", 10);
        assert_eq!(
            chunks,
            vec!["the quick", "brown fox", "jumps over", "the lazy", "dog"]
        );
    }

    #[test]
    fn spacing_inside_a_chunk_is_kept() {
        assert_eq!(split_message("a  b\tc dd", 6), vec!["a  b\tc", "dd"]);
    }

    #[test]
    fn a_word_longer_than_max_is_cut_between_graphemes() {
        assert_eq!(
            split_message("abcdefghij klm", 4),
            vec!["abcd", "efgh", "ij", "klm"]
        );
    }

    #[test]
    fn never_cuts_inside_a_grapheme_cluster() {
        let text = format!("{FAMILY}{FAMILY}{E_ACUTE}{E_ACUTE}");
        let chunks = split_message(&text, 6);
        assert_eq!(
            chunks,
            vec![
                FAMILY.to_owned(),
                FAMILY.to_owned(),
                format!("{E_ACUTE}{E_ACUTE}")
            ]
        );
        let flags = "🇺🇸🇫🇷🇩🇪"; // 2 chars each
        assert_eq!(split_message(flags, 3), vec!["🇺🇸", "🇫🇷", "🇩🇪"]);
    }

    #[test]
    fn measures_count_differently() {
        let text = format!("{FAMILY} {FAMILY} {FAMILY}");
        assert_eq!(
            split_message_by(&text, 5, Measure::Graphemes),
            vec![text.clone()]
        );
        assert_eq!(split_message_by(&text, 5, Measure::Chars).len(), 3);
        assert_eq!(
            split_message_by("ééé ééé", 6, Measure::Bytes),
            vec!["ééé", "ééé"]
        );
        assert_eq!(Measure::Chars.len(FAMILY), 5);
        assert_eq!(Measure::Bytes.len(FAMILY), 18);
        assert_eq!(Measure::Graphemes.len(FAMILY), 1);
    }

    #[test]
    fn zero_max_is_treated_as_one() {
        assert_eq!(split_message("ab c", 0), vec!["a", "b", "c"]);
    }

    #[test]
    fn an_oversized_grapheme_is_cut_only_because_it_must_be() {
        let zalgo = format!("a{}", "\u{301}".repeat(6)); // one grapheme, 7 chars
        let chunks = split_message(&zalgo, 3);
        assert!(chunks.iter().all(|c| c.chars().count() <= 3), "{chunks:?}");
        assert_eq!(chunks.concat(), zalgo);
        // A 4-byte char under a 2-byte limit cannot be split: it goes alone.
        assert_eq!(split_message_by("😀", 2, Measure::Bytes), vec!["😀"]);
    }

    #[test]
    fn twitch_sized_chunks() {
        let word = "lorem ";
        let text = word.repeat(200);
        let chunks = split_message(&text, 500);
        assert_eq!(chunks.len(), 3);
        assert!(chunks.iter().all(|c| c.chars().count() <= 500));
        assert!(chunks.iter().all(|c| c.ends_with("lorem")));
    }

    #[test]
    fn truncate_keeps_text_that_fits() {
        assert_eq!(truncate_at_boundary("  hi there  ", 20, "…"), "hi there");
    }

    #[test]
    fn truncate_prefers_a_sentence_end_without_ellipsis() {
        let text = "The stream starts at eight. Bring snacks and tell your friends!";
        assert_eq!(
            truncate_at_boundary(text, 40, "…"),
            "The stream starts at eight."
        );
    }

    #[test]
    fn truncate_falls_back_to_a_word_boundary_with_ellipsis() {
        let text = "Hi. The stream starts at eight, bring snacks";
        // The sentence end at 3 chars keeps too little of 36.
        assert_eq!(
            truncate_at_boundary(text, 36, "…"),
            "Hi. The stream starts at eight…"
        );
        assert_eq!(truncate_at_boundary(text, 20, "..."), "Hi. The stream...");
    }

    #[test]
    fn truncate_cuts_a_long_word_between_graphemes() {
        let text = format!("{}{}", FAMILY.repeat(3), "x".repeat(20));
        let cut = truncate_at_boundary(&text, 12, "…");
        assert_eq!(cut, format!("{}…", FAMILY.repeat(2)));
        assert_eq!(truncate_at_boundary("abcdefgh", 5, "…"), "abcd…");
    }

    #[test]
    fn truncate_with_an_ellipsis_too_long_for_max() {
        assert_eq!(truncate_at_boundary("abcdefgh", 2, "(more)"), "ab");
        assert_eq!(truncate_at_boundary("abcdefgh", 0, "…"), "");
    }

    fn atom() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "a",
            "b",
            "z",
            "é",
            E_ACUTE,
            FAMILY,
            "🇺🇸",
            "語",
            "😀",
            "x\u{308}\u{301}",
            "ß",
        ])
    }

    fn separator() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![" ", "  ", "\n", "\t", "\u{3000}", " \r\n "])
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        prop::collection::vec((prop::collection::vec(atom(), 1..7), separator()), 0..40).prop_map(
            |words| {
                words
                    .into_iter()
                    .map(|(atoms, sep)| format!("{}{sep}", atoms.concat()))
                    .collect()
            },
        )
    }

    fn measure_strategy() -> impl Strategy<Value = Measure> {
        prop::sample::select(vec![Measure::Chars, Measure::Bytes, Measure::Graphemes])
    }

    proptest! {
        #[test]
        fn split_invariants(text in text_strategy(), max in 1usize..40, measure in measure_strategy()) {
            let ranges = split_ranges(&text, max, measure);
            let chunks = split_message_by(&text, max, measure);
            prop_assert_eq!(ranges.len(), chunks.len());

            let boundaries: Vec<usize> = text
                .grapheme_indices(true)
                .map(|(i, _)| i)
                .chain([text.len()])
                .collect();
            let oversized = |at: usize| {
                text.grapheme_indices(true)
                    .any(|(i, g)| i < at && at < i + g.len() && measure.of_grapheme(g) > max)
            };
            for (range, chunk) in ranges.iter().zip(&chunks) {
                prop_assert!(!chunk.is_empty());
                prop_assert!(
                    measure.len(chunk) <= max || chunk.chars().count() == 1,
                    "chunk {:?} longer than {}", chunk, max
                );
                prop_assert!(!chunk.starts_with(char::is_whitespace) || oversized(range.start));
                for at in [range.start, range.end] {
                    prop_assert!(
                        boundaries.contains(&at) || oversized(at),
                        "cut at byte {} splits a grapheme in {:?}", at, text
                    );
                }
            }
            // Nothing but whitespace is lost or reordered.
            let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            prop_assert_eq!(squeeze(&chunks.concat()), squeeze(&text));
            // When every word fits, chunks joined by single spaces give back the words.
            if text.split_whitespace().all(|w| measure.len(w) <= max) {
                let joined = chunks.join(" ");
                prop_assert_eq!(
                    joined.split_whitespace().collect::<Vec<_>>(),
                    text.split_whitespace().collect::<Vec<_>>()
                );
            }
        }

        #[test]
        fn truncate_fits_and_is_a_prefix(text in text_strategy(), max in 0usize..60, measure in measure_strategy()) {
            let out = truncate_at_boundary_by(&text, max, "…", measure);
            prop_assert!(measure.len(&out) <= max, "{:?} longer than {}", out, max);
            let body = out.strip_suffix('…').unwrap_or(&out);
            prop_assert!(text.trim().starts_with(body));
            let cut = body.len();
            prop_assert!(
                text.trim().is_char_boundary(cut)
                    && text.trim().grapheme_indices(true).any(|(i, _)| i == cut)
                    || cut == text.trim().len()
            );
        }
    }
}
