//! The `emotes` tag: which ranges of a message are emotes.
//!
//! The format is `id:a-b,c-d/id2:e-f`. Ranges are **inclusive Unicode code-point indices**
//! into the text after the `/me` wrapper is removed (not bytes, not UTF-16 units), and ids
//! may be non-numeric (`emotesv2_…`, `300196486_TK`). Twitch's indices can run past the
//! end of the text (twitchdev/issues#104), so the emote's `code` is clamped to what exists
//! and may be shorter than the range, or empty. Emotes come back sorted by start. Each
//! `code` is a slice of the text, so decoding allocates only the result vector.

/// One emote occurrence in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emote<'a> {
    /// The emote id.
    pub id: &'a str,
    /// Index of the first code point (as sent).
    pub start: usize,
    /// Index of the last code point, inclusive (as sent; may lie past the text's end).
    pub end: usize,
    /// The text the range covers, clamped to the message.
    pub code: &'a str,
}

/// The `emotes` tag could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed `emotes` tag: {0:?}")]
pub struct MalformedEmotes(pub String);

/// A position in the text: code points and bytes before it.
#[derive(Clone, Copy)]
struct Cursor {
    chars: usize,
    byte: usize,
}

impl Cursor {
    /// The position of code point `index`, or the end of the text if it has fewer.
    fn advance(self, text: &str, index: usize) -> Cursor {
        let mut at = self;
        let Some(rest) = text.get(at.byte..) else {
            return at;
        };
        for c in rest.chars() {
            if at.chars >= index {
                break;
            }
            at.chars += 1;
            at.byte += c.len_utf8();
        }
        at
    }
}

/// Decodes an `emotes` tag value against the message `text` (ACTION already removed).
pub fn parse<'a>(tag: &'a str, text: &'a str) -> Result<Vec<Emote<'a>>, MalformedEmotes> {
    let malformed = || MalformedEmotes(tag.to_owned());
    let mut emotes = Vec::new();
    if tag.is_empty() {
        return Ok(emotes);
    }
    for entry in tag.split('/') {
        let (id, ranges) = entry.split_once(':').ok_or_else(malformed)?;
        if id.is_empty() {
            return Err(malformed());
        }
        for range in ranges.split(',') {
            let (start, end) = range.split_once('-').ok_or_else(malformed)?;
            let start: usize = start.parse().map_err(|_| malformed())?;
            let end: usize = end.parse().map_err(|_| malformed())?;
            emotes.push(Emote {
                id,
                start,
                end,
                code: "",
            });
        }
    }
    emotes.sort_by_key(|e| e.start);
    // One walk over the text resolves every range, since they are sorted by start.
    let mut cursor = Cursor { chars: 0, byte: 0 };
    for emote in &mut emotes {
        cursor = cursor.advance(text, emote.start);
        let end = cursor.advance(text, emote.end.saturating_add(1));
        emote.code = text.get(cursor.byte..end.byte).unwrap_or("");
    }
    Ok(emotes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes<'a>(emotes: &[Emote<'a>]) -> Vec<(&'a str, usize, &'a str)> {
        emotes.iter().map(|e| (e.id, e.start, e.code)).collect()
    }

    #[test]
    fn sorts_and_slices_by_code_point() {
        // twitch-irc-rs privmsg.rs: several ids, several ranges each.
        let text = "Kappa Keepo Kappa";
        let emotes = parse("1902:6-10/25:0-4,12-16", text).unwrap();
        assert_eq!(
            codes(&emotes),
            [
                ("25", 0, "Kappa"),
                ("1902", 6, "Keepo"),
                ("25", 12, "Kappa")
            ]
        );
    }

    #[test]
    fn counts_astral_plane_emoji_as_one() {
        // From the go-twitch-irc capture: an emote after an emoji outside the BMP.
        let text = "👉 Kappa";
        let emotes = parse("25:2-6", text).unwrap();
        assert_eq!(codes(&emotes), [("25", 2, "Kappa")]);
    }

    #[test]
    fn clamps_ranges_past_the_end() {
        // twitch-irc-rs: "emote index out of range" lines.
        let emotes = parse("25:0-4,12-16/1902:6-10", "Hello :)").unwrap();
        assert_eq!(
            codes(&emotes),
            [("25", 0, "Hello"), ("1902", 6, ":)"), ("25", 12, "")]
        );
    }

    #[test]
    fn rejects_garbage() {
        // go-twitch-irc message_test.go: `80481_/3:7-14` has an entry without a colon.
        assert!(parse("80481_/3:7-14", "x").is_err());
        assert!(parse("25:a-b", "x").is_err());
        assert!(parse("25:1", "x").is_err());
        assert_eq!(parse("", "x").unwrap(), []);
    }
}
