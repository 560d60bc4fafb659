//! Rows to store types and back, shared by both backends.
//!
//! Both schemas use the same columns in the same order, so one set of decoders (generated
//! per row type by a macro, since sqlx rows of different drivers share no concrete type)
//! turns rows into [`ChatRecord`]s, [`EventRecord`]s and jobs. Nothing read from the
//! database is trusted: a value that does not decode is [`StoreError::Corrupt`] naming the
//! row, never a panic.

use botkit::event::EventId;
use botkit::store::StoreError;
use serde_json::Value;

/// Chat columns, in decoder order.
pub(crate) const CHAT_COLS: &str =
    "seq, platform, instance, channel, message_id, user_id, user_name, text, ts, event_id";
/// Event columns, in decoder order.
pub(crate) const EVENT_COLS: &str = "event_id, topic, platform, channel, ts, json";
/// Job columns, in decoder order.
pub(crate) const JOB_COLS: &str =
    "id, queue, payload, priority, due_ms, attempts, max_attempts, last_error";
/// Dead letter columns, in decoder order.
pub(crate) const DEAD_COLS: &str = "id, queue, payload, priority, attempts, max_attempts, error";

/// How an event id is stored: 32 lowercase hex digits, so text order is numeric order.
pub(crate) fn event_id_text(id: EventId) -> String {
    format!("{:032x}", id.as_u128())
}

pub(crate) fn parse_event_id(s: &str) -> Result<EventId, StoreError> {
    u128::from_str_radix(s, 16)
        .map(EventId::from_u128)
        .map_err(|_| StoreError::corrupt(format!("stored event id `{s}` is not hexadecimal")))
}

/// A chat row as SQLite's `json_array(CHAT_COLS)` writes it: serde reads a struct from an
/// array in field order.
#[cfg(feature = "sqlite")]
#[derive(serde::Deserialize)]
struct JsonChatRow {
    seq: i64,
    platform: String,
    instance: Option<String>,
    channel: String,
    message_id: Option<String>,
    user_id: String,
    user_name: String,
    text: String,
    ts: i64,
    event_id: Option<String>,
}

/// Chat rows from SQLite's `json_group_array(json_array(CHAT_COLS))`, with their sequence
/// numbers. A value that does not decode is [`StoreError::Corrupt`].
#[cfg(feature = "sqlite")]
pub(crate) fn chat_rows_from_json(
    json: &str,
) -> Result<Vec<(botkit::store::ChatRecord, i64)>, StoreError> {
    let rows: Vec<JsonChatRow> = serde_json::from_str(json)
        .map_err(|e| StoreError::corrupt(format!("a stored chat row does not decode: {e}")))?;
    rows.into_iter()
        .map(|r| {
            let record = botkit::store::ChatRecord {
                event_id: r.event_id.as_deref().map(parse_event_id).transpose()?,
                platform: r.platform,
                instance: r.instance,
                channel: r.channel,
                message_id: r.message_id,
                user_id: r.user_id,
                user_name: r.user_name,
                text: r.text,
                timestamp_ms: r.ts,
            };
            Ok((record, r.seq))
        })
        .collect()
}

pub(crate) fn to_json(key: &str, value: &Value) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| crate::error::codec(key, e))
}

pub(crate) fn from_json(what: &str, s: &str) -> Result<Value, StoreError> {
    serde_json::from_str(s)
        .map_err(|e| StoreError::corrupt(format!("{what} is not valid JSON: {e}")))
}

pub(crate) fn attempts(what: &str, n: i64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| StoreError::corrupt(format!("{what} has attempt count {n}")))
}

/// A `usize` limit as a SQL `LIMIT`.
pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Generates `chat_row`, `event_row`, `job_row` and `dead_row` for one driver's row type.
macro_rules! decoders {
    ($row:ty, $backend:literal) => {
        use sqlx::Row as _;

        fn col<'r, T>(row: &'r $row, i: usize) -> Result<T, botkit::store::StoreError>
        where
            T: sqlx::Decode<'r, <$row as sqlx::Row>::Database>
                + sqlx::Type<<$row as sqlx::Row>::Database>,
        {
            row.try_get(i).map_err(|e| crate::error::map($backend, e))
        }

        /// Every column of a row as text.
        fn text_row(row: &$row) -> Result<Vec<String>, botkit::store::StoreError> {
            (0..row.len()).map(|i| col(row, i)).collect()
        }

        /// An event row (`EVENT_COLS`).
        fn event_row(row: &$row) -> Result<botkit::store::EventRecord, botkit::store::StoreError> {
            let id: String = col(row, 0)?;
            let topic: String = col(row, 1)?;
            let json: String = col(row, 5)?;
            Ok(botkit::store::EventRecord {
                event_id: crate::rows::parse_event_id(&id)?,
                topic: botkit::topic::Topic::new(&topic).map_err(|e| {
                    botkit::store::StoreError::corrupt(format!(
                        "logged event {id} has the invalid topic `{topic}`: {e}"
                    ))
                })?,
                platform: col(row, 2)?,
                channel: col(row, 3)?,
                timestamp_ms: col(row, 4)?,
                json: crate::rows::from_json(&format!("logged event {id}"), &json)?,
            })
        }

        /// A job row (`JOB_COLS`).
        fn job_row(row: &$row) -> Result<botkit::store::Job, botkit::store::StoreError> {
            let id: i64 = col(row, 0)?;
            let what = format!("job {id}");
            let payload: String = col(row, 2)?;
            Ok(botkit::store::Job {
                id: botkit::store::JobId::from_i64(id),
                queue: col(row, 1)?,
                payload: crate::rows::from_json(&what, &payload)?,
                priority: col(row, 3)?,
                due_ms: col(row, 4)?,
                attempts: crate::rows::attempts(&what, col(row, 5)?)?,
                max_attempts: crate::rows::attempts(&what, col(row, 6)?)?,
                last_error: col(row, 7)?,
            })
        }

        /// A dead letter row (`DEAD_COLS`).
        fn dead_row(row: &$row) -> Result<botkit::store::DeadJob, botkit::store::StoreError> {
            let id: i64 = col(row, 0)?;
            let what = format!("dead letter {id}");
            let payload: String = col(row, 2)?;
            Ok(botkit::store::DeadJob {
                id: botkit::store::JobId::from_i64(id),
                queue: col(row, 1)?,
                payload: crate::rows::from_json(&what, &payload)?,
                priority: col(row, 3)?,
                attempts: crate::rows::attempts(&what, col(row, 4)?)?,
                max_attempts: crate::rows::attempts(&what, col(row, 5)?)?,
                error: col(row, 6)?,
            })
        }
    };
}
pub(crate) use decoders;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_sort_as_text() {
        let a = event_id_text(EventId::from_u128(9));
        let b = event_id_text(EventId::from_u128(10));
        let c = event_id_text(EventId::from_u128(u128::MAX));
        assert!(a < b && b < c);
        assert_eq!(parse_event_id(&c).unwrap(), EventId::from_u128(u128::MAX));
        assert!(matches!(
            parse_event_id("zz"),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn bad_stored_values_are_corrupt_not_panics() {
        assert!(matches!(
            from_json("x", "{"),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(attempts("x", -1), Err(StoreError::Corrupt { .. })));
        assert_eq!(limit(usize::MAX), i64::MAX);
    }
}
