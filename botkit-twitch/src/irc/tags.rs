//! IRCv3 message tags, read in place and unescaped only when asked.
//!
//! A Twitch PRIVMSG carries 15–25 tags, and a bot reads perhaps five of them. Building a
//! map of owned, unescaped strings for every line (what most parsers do) costs a dozen
//! allocations per line for values nobody looks at. Here the tag section stays one borrowed
//! `&str`: [`Tags::iter`] walks it with `memchr`, [`Tags::get`] scans for one key, and a
//! value is a [`TagValue`] that still holds its escaped text. [`TagValue::unescape`]
//! decodes it on demand and borrows when there is nothing to decode, which is nearly
//! always (escapes appear in `system-msg`, `display-name` and `reply-parent-msg-body`).
//!
//! Escaping follows the IRCv3 spec as Twitch and twitch-irc-rs apply it: `\:` → `;`,
//! `\s` → space, `\\` → `\`, `\r`/`\n` → CR/LF, `\` + any other character → that character,
//! a trailing lone `\` is dropped. A key without `=` and a key with an empty value both
//! read as `""`; when a key repeats, the last value wins.

use std::borrow::Cow;
use std::fmt;

/// The tag section of a message (between `@` and the first space), borrowed from the line.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Tags<'a>(&'a str);

impl<'a> Tags<'a> {
    /// Wraps a raw tag section (without the leading `@`).
    pub const fn from_raw(raw: &'a str) -> Self {
        Self(raw)
    }

    /// The raw tag section, still escaped.
    pub const fn raw(&self) -> &'a str {
        self.0
    }

    /// Whether the message had no tags.
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of `key` (the last one when the key repeats), still escaped.
    pub fn get(&self, key: &str) -> Option<TagValue<'a>> {
        let mut found = None;
        for (k, v) in self.iter() {
            if k == key {
                found = Some(v);
            }
        }
        found
    }

    /// Whether the tag is present (with or without a value).
    pub fn contains(&self, key: &str) -> bool {
        self.iter().any(|(k, _)| k == key)
    }

    /// Every `(key, value)` pair in the order sent, repeats included.
    pub fn iter(&self) -> TagIter<'a> {
        TagIter { rest: self.0 }
    }
}

impl fmt::Debug for Tags<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for Tags<'a> {
    type Item = (&'a str, TagValue<'a>);
    type IntoIter = TagIter<'a>;

    fn into_iter(self) -> TagIter<'a> {
        self.iter()
    }
}

/// Iterator over the tags of a message; see [`Tags::iter`].
#[derive(Clone, Debug)]
pub struct TagIter<'a> {
    rest: &'a str,
}

impl<'a> Iterator for TagIter<'a> {
    type Item = (&'a str, TagValue<'a>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let bytes = self.rest.as_bytes();
        // `;` and `=` are ASCII, so splitting at their byte positions keeps UTF-8 intact.
        let (pair, rest) = match memchr::memchr(b';', bytes) {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, ""),
        };
        self.rest = rest;
        let (key, value) = match memchr::memchr(b'=', pair.as_bytes()) {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, ""),
        };
        Some((key, TagValue(value)))
    }
}

/// A tag value as sent, still escaped; decode it with [`TagValue::unescape`].
///
/// Values that never contain escapes (ids, numbers, colors, badge lists) can be read
/// with [`TagValue::raw`] at no cost.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TagValue<'a>(&'a str);

impl<'a> TagValue<'a> {
    /// Wraps an escaped value.
    pub const fn from_raw(raw: &'a str) -> Self {
        Self(raw)
    }

    /// The value exactly as sent (escaped).
    pub const fn raw(&self) -> &'a str {
        self.0
    }

    /// Whether the value is empty (`key=` or a bare `key`).
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The decoded value; borrows unless there was an escape to decode.
    pub fn unescape(&self) -> Cow<'a, str> {
        unescape(self.0)
    }

    /// The value as a flag: `1` is true, anything else false.
    pub fn is_set(&self) -> bool {
        self.0 == "1"
    }

    /// The value as an unsigned number, if it is one.
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }

    /// The value as a signed number, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }

    /// The value as `Some(raw)` when not empty, for optional tags Twitch sends empty.
    pub fn non_empty(&self) -> Option<&'a str> {
        (!self.0.is_empty()).then_some(self.0)
    }
}

impl fmt::Debug for TagValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.unescape(), f)
    }
}

impl fmt::Display for TagValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.unescape())
    }
}

/// Decodes an IRCv3 tag value; borrows when `raw` has no backslash.
pub fn unescape(raw: &str) -> Cow<'_, str> {
    let Some(first) = memchr::memchr(b'\\', raw.as_bytes()) else {
        return Cow::Borrowed(raw);
    };
    let mut out = String::with_capacity(raw.len());
    out.push_str(&raw[..first]);
    let mut chars = raw[first..].chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(':') => out.push(';'),
            Some('s') => out.push(' '),
            Some('\\') => out.push('\\'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    Cow::Owned(out)
}

/// Encodes a value for an outgoing tag (the reverse of [`unescape`]).
pub fn escape(value: &str) -> Cow<'_, str> {
    if !value
        .bytes()
        .any(|b| matches!(b, b';' | b' ' | b'\\' | b'\r' | b'\n'))
    {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            ';' => out.push_str("\\:"),
            ' ' => out.push_str("\\s"),
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_every_sequence() {
        assert_eq!(unescape(r"a\:b\sc\\d\re\nf"), "a;b c\\d\re\nf");
        assert_eq!(unescape(r"a\bc"), "abc");
        assert_eq!(unescape("trailing\\"), "trailing");
        assert!(matches!(unescape("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn escape_round_trips() {
        for s in ["a;b c\\d\re\nf", "plain", "", "테스트 ;"] {
            assert_eq!(unescape(&escape(s)), s);
        }
    }

    #[test]
    fn reads_tags_like_twitch_sends_them() {
        // From twitch-irc-rs tags.rs: bare keys, empty values, repeats (last wins).
        let tags = Tags::from_raw("a=b;c=32;k;rt=ql7;a=z;e=");
        assert_eq!(tags.get("a").map(|v| v.raw()), Some("z"));
        assert_eq!(tags.get("k").map(|v| v.raw()), Some(""));
        assert_eq!(tags.get("e").map(|v| v.raw()), Some(""));
        assert_eq!(tags.get("missing"), None);
        assert_eq!(tags.iter().count(), 6);
        let display = Tags::from_raw(r"display-name=CarvedTaleare\s");
        assert_eq!(
            display
                .get("display-name")
                .map(|v| v.unescape().into_owned()),
            Some("CarvedTaleare ".to_owned())
        );
    }
}
