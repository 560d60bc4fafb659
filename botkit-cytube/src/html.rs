//! CyTube's sanitized chat HTML to plain text.
//!
//! The server escapes what users type (`<b>` arrives as `&lt;b&gt;`), turns URLs into
//! `<a href="…">…</a>`, and channel filters may add more tags that `sanitize-html` lets
//! through. Commands must see what the user typed, so tags are dropped (their text kept),
//! images become their `src` (a posted image stays a link), and entities are decoded.
//! This is a small hand-written scanner rather than an HTML parser: the input is already
//! sanitized and short (≤ 320 characters), and it must never fail or panic on anything.

/// The plain text of a CyTube chat message.
pub fn to_plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find(['<', '&']) {
        // `find` returns char boundaries and `<`, `>`, `;` are one byte, so every `get`
        // below succeeds; `unwrap_or_default` only keeps the scanner total.
        out.push_str(rest.get(..i).unwrap_or_default());
        let tail = rest.get(i..).unwrap_or_default();
        if tail.starts_with('<') {
            match tail.find('>') {
                Some(end) => {
                    if let Some(src) = tail.get(1..end).and_then(img_src) {
                        out.push_str(&decode_entities(src));
                    }
                    rest = tail.get(end + 1..).unwrap_or_default();
                }
                None => {
                    // A lone `<` (not escaped by a custom filter): keep it as text.
                    out.push('<');
                    rest = tail.get(1..).unwrap_or_default();
                }
            }
        } else {
            let (decoded, used) = entity(tail);
            out.push_str(&decoded);
            rest = tail.get(used..).unwrap_or_default();
        }
    }
    out.push_str(rest);
    out
}

/// Decodes the entities in `text` (no tags expected).
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(rest.get(..i).unwrap_or_default());
        let tail = rest.get(i..).unwrap_or_default();
        let (decoded, used) = entity(tail);
        out.push_str(&decoded);
        rest = tail.get(used..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// The `src` attribute of an `img` tag's inside (`img src="…" …`).
fn img_src(tag: &str) -> Option<&str> {
    let lower = tag.get(..3)?;
    if !lower.eq_ignore_ascii_case("img") {
        return None;
    }
    let at = tag.find("src=")?;
    let value = tag.get(at + 4..)?;
    let quote = value.chars().next()?;
    if quote == '"' || quote == '\'' {
        let inner = value.get(1..)?;
        inner.find(quote).and_then(|end| inner.get(..end))
    } else {
        value.split_whitespace().next()
    }
}

/// Decodes the entity at the start of `text` (which starts with `&`); returns the text
/// and how many bytes were used. An unknown or unterminated entity is kept as `&`.
fn entity(text: &str) -> (String, usize) {
    let keep = ("&".to_owned(), 1);
    let Some(end) = text.get(1..).and_then(|t| t.find(';')) else {
        return keep;
    };
    if end == 0 || end > 10 {
        return keep;
    }
    let Some(name) = text.get(1..=end) else {
        return keep;
    };
    let decoded = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{a0}'),
        _ => name.strip_prefix('#').and_then(|num| {
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => num.parse().ok(),
            };
            code.and_then(char::from_u32)
        }),
    };
    match decoded {
        Some(c) => (c.to_string(), end + 2),
        None => keep,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn captured_messages() {
        assert_eq!(
            to_plain_text(
                "hello &lt;b&gt;world&lt;/b&gt; <a href=\"http://example.com/x\" target=\"_blank\" rel=\"noopener noreferrer\">http://example.com/x</a>"
            ),
            "hello <b>world</b> http://example.com/x"
        );
        assert_eq!(to_plain_text("&gt;implying"), ">implying");
        assert_eq!(
            to_plain_text("Unknown media type &#39;zz&#39;"),
            "Unknown media type 'zz'"
        );
    }

    #[test]
    fn images_odd_entities_and_stray_brackets() {
        assert_eq!(
            to_plain_text("look <img class=\"chat-picture\" src=\"https://i.example/a.png\">"),
            "look https://i.example/a.png"
        );
        assert_eq!(
            to_plain_text("a &bogus; b &#x1F600; &#9999999999;"),
            "a &bogus; b 😀 &#9999999999;"
        );
        assert_eq!(to_plain_text("1 < 2 & 3"), "1 < 2 & 3");
        assert_eq!(to_plain_text("&"), "&");
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,100}") {
            let _ = to_plain_text(&s);
        }

        #[test]
        fn escaped_text_round_trips(s in "[^<>&]{0,50}") {
            let escaped = s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            prop_assert_eq!(to_plain_text(&escaped), s);
        }
    }
}
