//! Media links to CyTube media ids.
//!
//! The server only takes `{id, type}`; turning a pasted URL into that pair is the client's
//! job (`parseMediaLink` in CyTube's `www/js/util.js`). This is a port of the cases a bot
//! meets: YouTube (videos, shorts, playlists), Vimeo, Dailymotion, Twitch (channels, VODs,
//! clips), SoundCloud, Streamable, Google Drive, HLS and RTMP streams, raw files, custom
//! JSON manifests, custom embeds (`<iframe …>`), and CyTube's own short codes (`yt:ID`).
//! It is string matching only: no regex engine, no network, never a panic.

/// A CyTube media id and type, ready for a `queue` frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLink {
    /// The id (`dQw4w9WgXcQ`, a URL, a channel name…).
    pub id: String,
    /// The type code (`yt`, `vi`, `dm`, `tw`, `tv`, `tc`, `sc`, `fi`, `cm`, `cu`, `hl`…).
    pub kind: String,
}

impl MediaLink {
    fn new(id: &str, kind: &str) -> Option<Self> {
        (!id.is_empty()).then(|| Self {
            id: id.to_owned(),
            kind: kind.to_owned(),
        })
    }

    /// Whether CyTube treats this type as a livestream (needs `playlistaddlive`).
    pub fn is_live(&self) -> bool {
        matches!(self.kind.as_str(), "li" | "tw" | "rt" | "hl" | "cu" | "im")
    }
}

const SHORT_CODES: &[&str] = &[
    "yt", "yp", "vi", "dm", "sc", "li", "tw", "tv", "tc", "rt", "hl", "fi", "cu", "gd", "sb", "cm",
    "im", "bc", "bn", "od", "nv", "pt",
];

const FILE_EXTENSIONS: &[&str] = &[
    ".mp4", ".webm", ".ogg", ".ogv", ".oga", ".mp3", ".flac", ".m4a", ".mov", ".mkv",
];

/// The id in `url` after `marker`, up to the first character that cannot be in one.
fn after<'a>(url: &'a str, marker: &str) -> Option<&'a str> {
    let start = url.find(marker)? + marker.len();
    let rest = url.get(start..)?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    rest.get(..end).filter(|id| !id.is_empty())
}

/// The value of query parameter `key` in `url`.
fn query<'a>(url: &'a str, key: &str) -> Option<&'a str> {
    let (_, q) = url.split_once('?')?;
    q.split(['&', '#']).find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key && !v.is_empty()).then_some(v)
    })
}

/// Parses a link (or a short code, or a custom embed) into a CyTube media id.
pub fn parse_media_link(input: &str) -> Option<MediaLink> {
    let url = input.trim();
    if url.is_empty() {
        return None;
    }
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("<iframe") || lower.starts_with("<object") {
        return MediaLink::new(url, "cu");
    }
    if let Some((code, id)) = url.split_once(':')
        && SHORT_CODES.contains(&code)
        && !id.starts_with("//")
    {
        return MediaLink::new(id, code);
    }
    if lower.starts_with("rtmp://") {
        return MediaLink::new(url, "rt");
    }
    let host_path = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let host = host_path.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.strip_prefix("www.").unwrap_or(host);
    let host = host.strip_prefix("m.").unwrap_or(host);
    let path_only = lower.split(['?', '#']).next().unwrap_or_default();

    match host {
        "youtube.com" | "youtube-nocookie.com" | "music.youtube.com" => {
            if let Some(v) = query(url, "v") {
                return MediaLink::new(v, "yt");
            }
            if let Some(list) = query(url, "list") {
                return MediaLink::new(list, "yp");
            }
            for marker in ["/shorts/", "/embed/", "/live/", "/v/"] {
                if let Some(id) = after(url, marker) {
                    return MediaLink::new(id, "yt");
                }
            }
            None
        }
        "youtu.be" => after(url, "youtu.be/").and_then(|id| MediaLink::new(id, "yt")),
        "vimeo.com" | "player.vimeo.com" => {
            let id = after(url, "/video/").or_else(|| after(url, "vimeo.com/"))?;
            id.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| MediaLink::new(id, "vi"))
                .flatten()
        }
        "dailymotion.com" => {
            let id = after(url, "/video/")?;
            MediaLink::new(id.split('_').next().unwrap_or(id), "dm")
        }
        "dai.ly" => after(url, "dai.ly/").and_then(|id| MediaLink::new(id, "dm")),
        "clips.twitch.tv" => after(url, "clips.twitch.tv/").and_then(|id| MediaLink::new(id, "tc")),
        "twitch.tv" => {
            if let Some(id) = after(url, "/clip/") {
                return MediaLink::new(id, "tc");
            }
            if let Some(id) = after(url, "/videos/") {
                return MediaLink::new(&format!("v{id}"), "tv");
            }
            after(url, "twitch.tv/").and_then(|id| MediaLink::new(id, "tw"))
        }
        "soundcloud.com" => MediaLink::new(url, "sc"),
        "streamable.com" => after(url, "streamable.com/").and_then(|id| MediaLink::new(id, "sb")),
        "drive.google.com" | "docs.google.com" => after(url, "/file/d/")
            .or_else(|| query(url, "id"))
            .and_then(|id| MediaLink::new(id, "gd")),
        "livestream.com" => MediaLink::new(url, "li"),
        _ if !(lower.starts_with("http://") || lower.starts_with("https://")) => None,
        _ if path_only.ends_with(".m3u8") => MediaLink::new(url, "hl"),
        _ if path_only.ends_with(".json") => MediaLink::new(url, "cm"),
        _ if FILE_EXTENSIONS.iter().any(|ext| path_only.ends_with(ext)) => {
            MediaLink::new(url, "fi")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse(s: &str) -> Option<(String, String)> {
        parse_media_link(s).map(|m| (m.id, m.kind))
    }

    fn is(id: &str, kind: &str) -> Option<(String, String)> {
        Some((id.to_owned(), kind.to_owned()))
    }

    #[test]
    fn providers() {
        assert_eq!(
            parse("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=1"),
            is("dQw4w9WgXcQ", "yt")
        );
        assert_eq!(
            parse("https://youtu.be/dQw4w9WgXcQ?si=x"),
            is("dQw4w9WgXcQ", "yt")
        );
        assert_eq!(
            parse("https://youtube.com/shorts/abcDEF_123-"),
            is("abcDEF_123-", "yt")
        );
        assert_eq!(
            parse("https://www.youtube.com/playlist?list=PL123"),
            is("PL123", "yp")
        );
        assert_eq!(parse("yt:dQw4w9WgXcQ"), is("dQw4w9WgXcQ", "yt"));
        assert_eq!(parse("https://vimeo.com/76979871"), is("76979871", "vi"));
        assert_eq!(
            parse("https://player.vimeo.com/video/76979871"),
            is("76979871", "vi")
        );
        assert_eq!(parse("https://vimeo.com/channels"), None);
        assert_eq!(
            parse("https://www.dailymotion.com/video/x7tgad0_some-title"),
            is("x7tgad0", "dm")
        );
        assert_eq!(
            parse("https://www.twitch.tv/somechannel"),
            is("somechannel", "tw")
        );
        assert_eq!(
            parse("https://www.twitch.tv/videos/12345"),
            is("v12345", "tv")
        );
        assert_eq!(
            parse("https://clips.twitch.tv/FunnyClip"),
            is("FunnyClip", "tc")
        );
        assert_eq!(
            parse("https://soundcloud.com/artist/track"),
            is("https://soundcloud.com/artist/track", "sc")
        );
        assert_eq!(
            parse("https://example.com/a.mp4"),
            is("https://example.com/a.mp4", "fi")
        );
        assert_eq!(
            parse("https://example.com/live.m3u8?x=1"),
            is("https://example.com/live.m3u8?x=1", "hl")
        );
        assert_eq!(
            parse("https://example.com/m.json"),
            is("https://example.com/m.json", "cm")
        );
        assert_eq!(
            parse("rtmp://127.0.0.1/live/a"),
            is("rtmp://127.0.0.1/live/a", "rt")
        );
        let embed = "<iframe src=\"https://example.invalid/embed/1\"></iframe>";
        assert_eq!(parse(embed), is(embed, "cu"));
        assert_eq!(parse("https://example.com/page.html"), None);
        assert_eq!(parse("not a link"), None);
        assert_eq!(parse(""), None);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,120}") {
            let _ = parse_media_link(&s);
        }
    }
}
