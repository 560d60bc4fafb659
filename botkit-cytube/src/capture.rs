//! Reading recorded wire captures (`shared/protocols/cytube/frames.txt`).
//!
//! The protocol reference was written against a real CyTube 3.86 server, and every frame it
//! saw is kept in a text capture. Tests, snapshots and the benchmark replay those frames
//! through the codec and the event decoder, so the crate is checked against what the server
//! really sends rather than against hand-written examples. The capture is narrated (section
//! headers, `#` comments, transport notes), so this module picks out only the lines that
//! carry a frame.
//!
//! A frame line looks like `[  0.030] alice    << 42["rank",-1]`: a timestamp, the client's
//! label, the direction (`<<` server to client, `>>` client to server) and the frame text.

/// Which way a captured frame travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// `<<`: from the server to the client.
    FromServer,
    /// `>>`: from the client to the server.
    FromClient,
}

/// One captured frame.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedFrame<'a> {
    /// The scenario (section) it belongs to, e.g. `s1_guest`.
    pub section: &'a str,
    /// Seconds since the scenario script started.
    pub at: f64,
    /// The client's label, e.g. `alice` or `owner#2`.
    pub client: &'a str,
    /// Which way it travelled.
    pub direction: Direction,
    /// The frame text as seen on the websocket.
    pub text: &'a str,
    /// Whether the capture shortened the line (`...[+N chars]`), so the text is incomplete.
    pub truncated: bool,
    /// Whether this is a narrated transport line (HTTP polling, the official client's
    /// event log) rather than a verbatim websocket frame.
    pub narrated: bool,
}

/// Every frame line of a capture, in order. Lines that are not frames are skipped.
pub fn frames(capture: &str) -> Vec<CapturedFrame<'_>> {
    let mut section = "";
    let mut out = Vec::new();
    for line in capture.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            section = name.trim();
            continue;
        }
        if let Some(frame) = parse_line(line, section) {
            out.push(frame);
        }
    }
    out
}

fn parse_line<'a>(line: &'a str, section: &'a str) -> Option<CapturedFrame<'a>> {
    let rest = line.strip_prefix('[')?;
    let (at, rest) = rest.split_once(']')?;
    let at: f64 = at.trim().parse().ok()?;
    let rest = rest.trim_start();
    let (client, rest) = rest.split_once(' ')?;
    let rest = rest.trim_start();
    let (direction, text) = if let Some(t) = rest.strip_prefix("<< ") {
        (Direction::FromServer, t)
    } else if let Some(t) = rest.strip_prefix(">> ") {
        (Direction::FromClient, t)
    } else {
        return None;
    };
    let truncated = text.contains("...[+") && text.ends_with(" chars]");
    let narrated = text.starts_with("GET ")
        || text.starts_with("POST ")
        || text.starts_with("message ")
        || text
            .split_once(" (")
            .is_some_and(|(head, _)| head.bytes().all(|b| b.is_ascii_digit()));
    Some(CapturedFrame {
        section,
        at,
        client,
        direction,
        text,
        truncated,
        narrated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_frames_and_skips_narration() {
        let capture = "== s1_guest\n# comment\n[  0.020] alice    << 0{\"sid\":\"x\"}\n[  0.020] alice    >> 40\n[  4.708] bob      xx (websocket closed code=1005 reason=\"\")\n[  1.040] upgr     >> 41 (client namespace disconnect)\n";
        let got = frames(capture);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].section, "s1_guest");
        assert_eq!(got[0].direction, Direction::FromServer);
        assert_eq!(got[1].text, "40");
        assert!(!got[1].narrated);
        assert!(got[2].narrated);
    }
}
