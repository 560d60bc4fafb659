//! Framing streamed bodies by bytes and newlines, never by network reads.
//!
//! The network does not keep the server's write boundaries: one read can hold several NDJSON
//! lines, and one line can arrive over many reads. The reference client (ollama-rs 0.3.6)
//! parses each read on its own and silently loses every line that was split. Here, bytes
//! go into a buffer and only complete lines come out ([`LineFramer`]); SSE events are built
//! from those lines ([`SseDecoder`]), so both formats share one framing path.
//!
//! The buffer keeps a consumed-prefix offset instead of shifting bytes on every line, and
//! compacts when the consumed part is larger than what is left, so framing is linear in the
//! body size. A line longer than the limit is an error rather than unbounded memory.

/// Splits a byte stream into lines ended by `\n` (a trailing `\r` is dropped).
#[derive(Debug)]
pub struct LineFramer {
    buffer: Vec<u8>,
    /// Bytes of `buffer` already handed out as lines.
    consumed: usize,
    /// Where to resume looking for `\n` (everything before it, past `consumed`, has none).
    scanned: usize,
    max_line: usize,
}

/// A line longer than the framer's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTooLong {
    /// The limit, in bytes.
    pub limit: usize,
}

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a streamed line is longer than {} bytes", self.limit)
    }
}

impl LineFramer {
    /// Default longest line: 16 MiB (a final `/api/generate` object carries the whole
    /// `context` token array, which can be large).
    pub const DEFAULT_MAX_LINE: usize = 16 * 1024 * 1024;

    /// A framer with the default line limit.
    pub fn new() -> Self {
        Self::with_max_line(Self::DEFAULT_MAX_LINE)
    }

    /// A framer refusing lines longer than `max_line` bytes.
    pub fn with_max_line(max_line: usize) -> Self {
        Self {
            buffer: Vec::new(),
            consumed: 0,
            scanned: 0,
            max_line,
        }
    }

    /// Appends bytes from one network read.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), LineTooLong> {
        if self.consumed > 0 && self.consumed >= self.buffer.len() - self.consumed {
            self.buffer.drain(..self.consumed);
            self.scanned -= self.consumed;
            self.consumed = 0;
        }
        self.buffer.extend_from_slice(bytes);
        // Only a line still without its `\n` can be over the limit here; complete ones are
        // checked as they are taken.
        let pending = self.buffer.len() - self.consumed;
        let unscanned = self.buffer.get(self.scanned..).unwrap_or_default();
        if pending > self.max_line && !unscanned.contains(&b'\n') {
            return Err(LineTooLong {
                limit: self.max_line,
            });
        }
        Ok(())
    }

    /// The next complete line, without its `\n` (and `\r`), if one is buffered.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, LineTooLong> {
        let start = self.consumed;
        let from = self.scanned.max(start);
        let Some(rest) = self.buffer.get(from..) else {
            return Ok(None);
        };
        match rest.iter().position(|&b| b == b'\n') {
            None => {
                self.scanned = self.buffer.len();
                Ok(None)
            }
            Some(at) => {
                let end = from + at;
                if end - start > self.max_line {
                    return Err(LineTooLong {
                        limit: self.max_line,
                    });
                }
                self.consumed = end + 1;
                self.scanned = self.consumed;
                let line = self.buffer.get(start..end).unwrap_or_default();
                Ok(Some(line.strip_suffix(b"\r").unwrap_or(line)))
            }
        }
    }

    /// At end of stream: the unterminated last line, if any bytes are left.
    pub fn finish(&mut self) -> Option<&[u8]> {
        let rest = self.buffer.get(self.consumed..).unwrap_or_default();
        self.consumed = self.buffer.len();
        self.scanned = self.consumed;
        let rest = rest.strip_suffix(b"\r").unwrap_or(rest);
        (!rest.is_empty()).then_some(rest)
    }
}

impl Default for LineFramer {
    fn default() -> Self {
        Self::new()
    }
}

/// Builds Server-Sent Events from lines: joins `data:` lines, dispatches on a blank line,
/// ignores comments (`:` keep-alive pings) and other fields.
#[derive(Debug, Default)]
pub struct SseDecoder {
    data: String,
    has_data: bool,
}

impl SseDecoder {
    /// A decoder with no event pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one line; returns the event's data when the line completes an event.
    pub fn line(&mut self, line: &str) -> Option<String> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        if field == "data" {
            if self.has_data {
                self.data.push('\n');
            }
            self.data.push_str(value);
            self.has_data = true;
        }
        None
    }

    /// At end of stream: an event that was not ended by a blank line.
    pub fn finish(&mut self) -> Option<String> {
        self.dispatch()
    }

    fn dispatch(&mut self) -> Option<String> {
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        Some(std::mem::take(&mut self.data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_all(pieces: &[&[u8]]) -> Vec<String> {
        let mut framer = LineFramer::new();
        let mut lines = Vec::new();
        for piece in pieces {
            framer.push(piece).unwrap();
            while let Some(line) = framer.next_line().unwrap() {
                lines.push(String::from_utf8(line.to_vec()).unwrap());
            }
        }
        if let Some(rest) = framer.finish() {
            lines.push(String::from_utf8(rest.to_vec()).unwrap());
        }
        lines
    }

    #[test]
    fn split_and_packed_lines_come_out_whole() {
        let body = b"{\"a\":1}\n{\"b\":2}\r\n{\"c\":3}\n";
        let expected = vec!["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"];
        assert_eq!(frame_all(&[body]), expected);
        for size in 1..body.len() {
            let pieces: Vec<&[u8]> = body.chunks(size).collect();
            assert_eq!(frame_all(&pieces), expected, "pieces of {size}");
        }
    }

    #[test]
    fn unterminated_last_line_is_returned_by_finish() {
        assert_eq!(frame_all(&[b"one\ntw", b"o"]), vec!["one", "two"]);
    }

    #[test]
    fn overlong_line_is_an_error() {
        let mut framer = LineFramer::with_max_line(8);
        assert!(framer.push(b"12345").is_ok());
        assert!(framer.push(b"67890").is_err());
        let mut framer = LineFramer::with_max_line(8);
        framer.push(b"1234567890\n").unwrap();
        assert!(framer.next_line().is_err());
    }

    #[test]
    fn buffer_is_compacted() {
        let mut framer = LineFramer::new();
        for _ in 0..10_000 {
            framer.push(b"0123456789\n").unwrap();
            assert_eq!(framer.next_line().unwrap(), Some(&b"0123456789"[..]));
        }
        assert!(framer.buffer.len() < 64, "{}", framer.buffer.len());
    }

    #[test]
    fn sse_joins_data_lines_and_skips_comments() {
        let mut sse = SseDecoder::new();
        let lines = [
            ": ping",
            "event: message",
            "data: {\"a\":",
            "data:1}",
            "",
            "",
            "data: [DONE]",
        ];
        let events: Vec<String> = lines.iter().filter_map(|l| sse.line(l)).collect();
        assert_eq!(events, vec!["{\"a\":\n1}".to_owned()]);
        assert_eq!(sse.finish(), Some("[DONE]".to_owned()));
        assert_eq!(sse.finish(), None);
    }
}
