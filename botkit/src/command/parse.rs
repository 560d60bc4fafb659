//! Recognizing a command in a chat line and splitting its arguments.
//!
//! Chat is not a shell: people write `don't`, `\o/` and `"quotes"` in ordinary messages, so
//! the rules are deliberately narrow. A line is a command only when it starts with the
//! channel's prefix directly followed by a letter or digit (`! hi`, `!!!` and `!?` are just
//! chat). Arguments are split on whitespace; a quote (`"`, `'`, or the typographic `“”` and
//! `‘’` that phone keyboards insert) opens a quoted section only at the *start* of an
//! argument, so apostrophes inside words never need escaping. Backslash escapes work only
//! inside quotes, so a backslash in plain text stays as typed. Splitting never panics and
//! reports an unclosed quote with its position so a bot can say where the problem is.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The prefix used when neither the channel nor the configuration names one.
pub const DEFAULT_PREFIX: &str = "!";

/// Command prefixes: one default and overrides per channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefixes {
    /// Used in every channel without an override; `!` by default.
    pub default: String,
    /// Overrides keyed by channel name exactly as the platform reports it (e.g. `#chan`).
    pub per_channel: HashMap<String, String>,
}

impl Default for Prefixes {
    fn default() -> Self {
        Self::new(DEFAULT_PREFIX)
    }
}

impl Prefixes {
    /// Prefixes with `default` everywhere and no overrides.
    pub fn new(default: impl Into<String>) -> Self {
        Self {
            default: default.into(),
            per_channel: HashMap::new(),
        }
    }

    /// The same prefixes with `prefix` used in `channel`.
    #[must_use]
    pub fn with_channel(mut self, channel: impl Into<String>, prefix: impl Into<String>) -> Self {
        self.per_channel.insert(channel.into(), prefix.into());
        self
    }

    /// The prefix for `channel` (the default for `None`, e.g. a whisper).
    pub fn for_channel(&self, channel: Option<&str>) -> &str {
        channel
            .and_then(|c| self.per_channel.get(c))
            .map_or(self.default.as_str(), String::as_str)
    }
}

/// A chat line recognized as a command.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ParsedLine {
    /// The command name as typed, lowercased (aliases are not resolved yet).
    pub name: String,
    /// Everything after the name, as typed, with surrounding whitespace removed.
    pub rest: String,
}

/// Recognizes `text` as a command for `prefix`.
///
/// Returns `None` when the line (after leading whitespace) does not start with `prefix`,
/// when the prefix is empty (that would make every line a command), or when the prefix is
/// not directly followed by a letter or digit: `! hi`, `!!!` and `!?` are chat, not
/// commands. The name runs to the next whitespace and is lowercased. Surrounding
/// whitespace (and the invisible duplicate-bypass character of some Twitch clients) is
/// ignored.
pub fn parse_command_line(text: &str, prefix: &str) -> Option<ParsedLine> {
    if prefix.is_empty() {
        return None;
    }
    let after = text.trim_matches(is_filler).strip_prefix(prefix)?;
    if !after.chars().next().is_some_and(char::is_alphanumeric) {
        return None;
    }
    let end = after.find(char::is_whitespace).unwrap_or(after.len());
    let (name, rest) = after.split_at(end);
    Some(ParsedLine {
        name: name.to_lowercase(),
        rest: rest.trim_start().to_owned(),
    })
}

/// Whitespace, and the invisible tag character some Twitch clients (Chatterino, 7TV)
/// append to a repeated message to get past the duplicate-message filter; left in, it
/// would be an extra argument.
fn is_filler(c: char) -> bool {
    c.is_whitespace() || c == '\u{E0000}'
}

/// Why an argument line could not be split.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A quote was opened and never closed.
    #[error("unclosed {quote} at character {}: add a closing {} or leave the quote out", position + 1, closing_quote(*quote))]
    UnterminatedQuote {
        /// The opening quote character.
        quote: char,
        /// Position of the opening quote in the argument text, in characters from 0.
        position: usize,
    },
}

/// The character that closes a quoted section opened by `open`, if `open` opens one.
fn quote_pair(open: char) -> Option<char> {
    match open {
        '"' => Some('"'),
        '\'' => Some('\''),
        '“' => Some('”'),
        '‘' => Some('’'),
        _ => None,
    }
}

fn closing_quote(open: char) -> char {
    quote_pair(open).unwrap_or(open)
}

/// One argument, quotes and escapes resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// The argument's text.
    pub(crate) value: String,
}

/// Splits arguments one at a time, so a caller can stop early and keep the remainder raw
/// (a `Rest` argument must not fail on a stray quote it never needed to split).
pub(crate) struct Tokenizer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Tokenizer<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    /// The unsplit text from the next argument on, leading whitespace removed.
    pub(crate) fn remainder(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("").trim_start()
    }

    /// The next argument, `None` at the end.
    pub(crate) fn next_token(&mut self) -> Option<Result<Token, ParseError>> {
        let tail = self.text.get(self.pos..)?;
        let skipped = tail.len() - tail.trim_start().len();
        let start = self.pos + skipped;
        let body = self.text.get(start..)?;
        if body.is_empty() {
            self.pos = self.text.len();
            return None;
        }
        let mut value = String::new();
        let mut chars = body.char_indices().peekable();
        let mut end = body.len();
        if let Some(close) = body.chars().next().and_then(quote_pair) {
            chars.next();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                if c == '\\' {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(escaped);
                        continue;
                    }
                    break;
                }
                if c == close {
                    closed = true;
                    break;
                }
                value.push(c);
            }
            if !closed {
                self.pos = self.text.len();
                let position = self.text.get(..start).map_or(0, |p| p.chars().count());
                let quote = body.chars().next().unwrap_or('"');
                return Some(Err(ParseError::UnterminatedQuote { quote, position }));
            }
        }
        // Plain text, or text glued to a closing quote: runs to the next whitespace.
        for (i, c) in chars {
            if c.is_whitespace() {
                end = i;
                break;
            }
            value.push(c);
        }
        self.pos = start + end;
        Some(Ok(Token { value }))
    }
}

/// Splits an argument line into arguments.
///
/// Whitespace separates arguments. An argument starting with `"`, `'`, `“` or `‘` runs to
/// the matching closing quote and may contain whitespace and the other kind of quote;
/// inside it `\` escapes the next character (`"say \"hi\""` is `say "hi"`). A quote in
/// the middle of a word is an ordinary character (`don't`), and text glued after a closing
/// quote belongs to the same argument. `""` is an empty argument.
pub fn split_args(rest: &str) -> Result<Vec<String>, ParseError> {
    let mut tokens = Tokenizer::new(rest);
    let mut out = Vec::new();
    while let Some(token) = tokens.next_token() {
        out.push(token?.value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split(s: &str) -> Vec<String> {
        split_args(s).unwrap()
    }

    #[test]
    fn recognizes_commands() {
        let p = parse_command_line("!Roll 2d6  extra", "!").unwrap();
        assert_eq!(p.name, "roll");
        assert_eq!(p.rest, "2d6  extra");
        let p = parse_command_line("  !help", "!").unwrap();
        assert_eq!(p.name, "help");
        assert_eq!(p.rest, "");
        let p = parse_command_line("?ping\tnow", "?").unwrap();
        assert_eq!((p.name.as_str(), p.rest.as_str()), ("ping", "now"));
        let p = parse_command_line("bot, ping", "bot, ").unwrap();
        assert_eq!(p.name, "ping");
        let p = parse_command_line("!roll 6 \u{E0000}", "!").unwrap();
        assert_eq!((p.name.as_str(), p.rest.as_str()), ("roll", "6"));
    }

    #[test]
    fn ordinary_chat_is_not_a_command() {
        for text in ["hello", "! roll", "!", "!!!", "!?", "", "roll!", "?roll"] {
            assert_eq!(parse_command_line(text, "!"), None, "{text:?}");
        }
        assert_eq!(parse_command_line("anything", ""), None);
    }

    #[test]
    fn prefixes_per_channel() {
        let p = Prefixes::default().with_channel("#a", "?");
        assert_eq!(p.for_channel(Some("#a")), "?");
        assert_eq!(p.for_channel(Some("#b")), "!");
        assert_eq!(p.for_channel(None), "!");
    }

    #[test]
    fn splits_plain_words() {
        assert_eq!(split("a  b\tc "), ["a", "b", "c"]);
        assert!(split("   ").is_empty());
        assert_eq!(split(r"\o/ C:\x"), [r"\o/", r"C:\x"]);
    }

    #[test]
    fn splits_quotes() {
        assert_eq!(
            split(r#"say "hello world" now"#),
            ["say", "hello world", "now"]
        );
        assert_eq!(split("'single quoted' x"), ["single quoted", "x"]);
        assert_eq!(split(r#""say 'hi' there""#), ["say 'hi' there"]);
        assert_eq!(split(r#"'say "hi"'"#), [r#"say "hi""#]);
        assert_eq!(split(r#""" ''"#), ["", ""]);
        assert_eq!(split("“smart quotes” ok"), ["smart quotes", "ok"]);
        assert_eq!(split(r#""glued"tail next"#), ["gluedtail", "next"]);
    }

    #[test]
    fn apostrophes_inside_words_are_plain() {
        assert_eq!(
            split("don't stop it's fine"),
            ["don't", "stop", "it's", "fine"]
        );
        assert_eq!(split(r#"say"hi" x"#), [r#"say"hi""#, "x"]);
    }

    #[test]
    fn escapes_inside_quotes() {
        assert_eq!(split(r#""say \"hi\"""#), [r#"say "hi""#]);
        assert_eq!(split(r#""back\\slash""#), [r"back\slash"]);
        assert_eq!(split(r"'it\'s'"), ["it's"]);
    }

    #[test]
    fn unterminated_quote_names_its_position() {
        let err = split_args(r#"one "two three"#).unwrap_err();
        assert_eq!(
            err,
            ParseError::UnterminatedQuote {
                quote: '"',
                position: 4
            }
        );
        assert_eq!(
            err.to_string(),
            r#"unclosed " at character 5: add a closing " or leave the quote out"#
        );
        // An escaped closing quote does not close.
        assert!(split_args(r#""abc\""#).is_err());
        // Positions count characters, not bytes.
        let err = split_args("ééé 'x").unwrap_err();
        assert_eq!(
            err,
            ParseError::UnterminatedQuote {
                quote: '\'',
                position: 4
            }
        );
        assert!(split_args("“open").is_err());
    }

    #[test]
    fn tokenizer_keeps_the_remainder_raw() {
        let mut t = Tokenizer::new(r#"bob   5m  being "rude" 'sup"#);
        assert_eq!(t.next_token().unwrap().unwrap().value, "bob");
        assert_eq!(t.next_token().unwrap().unwrap().value, "5m");
        assert_eq!(t.remainder(), r#"being "rude" 'sup"#);
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>(), p in "[!?$]{0,2}") {
            let _ = split_args(&s);
            let _ = parse_command_line(&s, &p);
            let mut t = Tokenizer::new(&s);
            while let Some(Ok(_)) = t.next_token() {
                let _ = t.remainder();
            }
        }

        #[test]
        fn plain_words_round_trip(words in prop::collection::vec("[a-zA-Z0-9_.,!?@-]{1,12}", 0..8)) {
            let line = words.join(" ");
            prop_assert_eq!(split_args(&line).unwrap(), words);
        }

        #[test]
        fn quoted_strings_round_trip(args in prop::collection::vec(any::<String>(), 0..5)) {
            let line = args
                .iter()
                .map(|a| format!("\"{}\"", a.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect::<Vec<_>>()
                .join(" ");
            prop_assert_eq!(split_args(&line).unwrap(), args);
        }

        #[test]
        fn command_line_round_trip(name in "[a-z][a-z0-9]{0,10}", rest in "[a-z ]{0,20}") {
            let parsed = parse_command_line(&format!("!{name} {rest}"), "!").unwrap();
            prop_assert_eq!(parsed.name, name);
            prop_assert_eq!(parsed.rest, rest.trim());
        }
    }
}
