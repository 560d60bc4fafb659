//! `botkit db export --topic PATTERN`: the event log as JSON lines, oldest first.
//!
//! The store pages events by time (`events_by_topic(pattern, since, limit)`), and many events
//! can share one millisecond, so a page cannot simply start after the last timestamp seen.
//! The export remembers how many records at the last timestamp it already wrote and asks for
//! that many more the next time: no event is skipped or repeated, however many share a
//! millisecond.

use std::io::Write;

use botkit::store::Store;
use botkit::topic::Pattern;

/// Events asked for per page, beyond those already written at the page's first timestamp.
const PAGE: usize = 1000;

/// Writes every logged event whose topic matches `pattern` to `out`, one JSON object per line;
/// how many.
pub async fn events(
    store: &dyn Store,
    pattern: &Pattern,
    out: &mut impl Write,
) -> anyhow::Result<u64> {
    let mut since = i64::MIN;
    // Records at `since` that were already written (they lead every page that starts there).
    let mut written_at_since = 0usize;
    let mut total = 0u64;
    loop {
        let limit = written_at_since + PAGE;
        let page = store.events_by_topic(pattern, since, limit).await?;
        let fresh = page.get(written_at_since..).unwrap_or_default();
        let Some(last) = fresh.last() else {
            break;
        };
        for record in fresh {
            serde_json::to_writer(&mut *out, record)?;
            out.write_all(b"\n")?;
        }
        total += fresh.len() as u64;
        let last_ms = last.timestamp_ms;
        // The page holds every record at `last_ms` written so far, from its first one on.
        written_at_since = page.iter().filter(|r| r.timestamp_ms == last_ms).count();
        since = last_ms;
        if page.len() < limit {
            break;
        }
    }
    out.flush()?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use botkit::event::{Event, Payload};
    use botkit::store::{EventRecord, MemoryStore};
    use botkit::topic::Topic;

    fn record(topic: &str, at: i64) -> EventRecord {
        let mut event = Event::new(
            Topic::new(topic).unwrap(),
            botkit::testing::mock_source("#c"),
            Payload::Custom {
                kind: "t".into(),
                data: serde_json::Value::Null,
            },
        );
        event.timestamp_ms = at;
        EventRecord::from_event(&event).unwrap()
    }

    #[tokio::test]
    async fn pages_through_many_events_in_one_millisecond_without_repeats() {
        let store = MemoryStore::new();
        let mut records: Vec<EventRecord> =
            (0..2500).map(|_| record("platform.mock.x", 5)).collect();
        records.extend((0..1500).map(|i| record("platform.mock.x", 6 + i / 700)));
        records.push(record("bot.started", 7));
        store.append_events(&records).await.unwrap();
        let mut out = Vec::new();
        let n = events(&store, &Pattern::new("platform.>").unwrap(), &mut out)
            .await
            .unwrap();
        assert_eq!(n, 4000);
        let text = String::from_utf8(out).unwrap();
        let ids: std::collections::HashSet<String> = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["event_id"].to_string()
            })
            .collect();
        assert_eq!(ids.len(), 4000, "no event twice");
        assert!(!text.contains("bot.started"), "only the pattern's topics");
    }
}
