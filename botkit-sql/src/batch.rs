//! Write-behind for the logs: many appends, one commit.
//!
//! Chat, event and counter writes are the hot path (every chat line produces one of each),
//! and a commit costs far more than a row. So log writes are not committed one by one: each
//! goes into a bounded queue with a one-shot reply channel, and a single log writer takes
//! everything that queued up (up to [`WriteBehind::max_batch`] rows, optionally waiting
//! [`WriteBehind::linger`] for more), commits it in one transaction, and only then answers
//! every caller. A caller's write is therefore acknowledged only once committed, and the
//! batching comes for free from concurrency: while one commit runs, the next batch fills.
//!
//! A batch that fails with a transient error is kept and retried with
//! [`botkit::backoff`] (capped, jittered) until it commits, so nothing accepted into the
//! queue is dropped while the process lives; a permanent error (a full disk) is reported to
//! every caller of the batch, and the writer goes on with the next one.

use std::collections::HashMap;
use std::time::Duration;

use botkit::backoff::BackoffPolicy;
use botkit::store::{Bucket, ChatRecord, CounterIncr, EventRecord, StoreError};
use tokio::sync::{mpsc, oneshot};

/// How buffered log writes are committed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WriteBehind {
    /// Most rows committed in one transaction (default 4096).
    pub max_batch: usize,
    /// How long the writer waits for more rows after the first one of a batch (default 0:
    /// commit as soon as the writer is free; rows that arrive during a commit form the next
    /// batch). A few milliseconds trade latency for fewer commits.
    pub linger: Duration,
    /// Write requests that may wait in the queue before callers are held back (default
    /// 1024).
    pub queue: usize,
    /// Backoff between retries of a batch that failed with a transient error (default
    /// 50 ms doubling to 5 s, retrying until it commits).
    pub retry: BackoffPolicy,
}

impl Default for WriteBehind {
    fn default() -> Self {
        Self {
            max_batch: 4096,
            linger: Duration::ZERO,
            queue: 1024,
            retry: BackoffPolicy::default()
                .with_base(Duration::from_millis(50))
                .with_cap(Duration::from_secs(5))
                .unlimited(),
        }
    }
}

impl WriteBehind {
    /// The same settings with another batch size (at least 1).
    #[must_use]
    pub fn with_max_batch(mut self, rows: usize) -> Self {
        self.max_batch = rows.max(1);
        self
    }

    /// The same settings with another linger time.
    #[must_use]
    pub fn with_linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// The same settings with another queue bound (at least 1).
    #[must_use]
    pub fn with_queue(mut self, requests: usize) -> Self {
        self.queue = requests.max(1);
        self
    }

    /// The same settings with another retry backoff.
    #[must_use]
    pub fn with_retry(mut self, retry: BackoffPolicy) -> Self {
        self.retry = retry;
        self
    }
}

/// One caller's log write.
#[derive(Debug)]
pub(crate) enum LogWrite {
    Chat(Vec<ChatRecord>),
    Events(Vec<EventRecord>),
    Counters(Vec<CounterIncr>),
}

impl LogWrite {
    fn rows(&self) -> usize {
        match self {
            Self::Chat(r) => r.len(),
            Self::Events(r) => r.len(),
            Self::Counters(r) => r.len(),
        }
    }
}

/// A log write and where to send its outcome (for events: how many were new).
#[derive(Debug)]
pub(crate) struct LogItem {
    pub(crate) write: LogWrite,
    pub(crate) done: oneshot::Sender<Result<u64, StoreError>>,
}

/// A message to a log writer: a log write, or something else the writer does in order.
pub(crate) enum Msg<X> {
    Log(LogItem),
    Other(X),
}

/// Queues a log write for a log writer and waits until it is committed; `backend` names
/// the store in the error if the writer is gone.
pub(crate) async fn submit<X>(
    tx: &mpsc::Sender<Msg<X>>,
    write: LogWrite,
    backend: &'static str,
) -> Result<u64, StoreError> {
    let (done, rx) = oneshot::channel();
    tx.send(Msg::Log(LogItem { write, done }))
        .await
        .map_err(|_| crate::error::writer_gone(backend))?;
    rx.await.map_err(|_| crate::error::writer_gone(backend))?
}

/// Collects the batch that starts with `first`: every log write already queued, up to
/// `cfg.max_batch` rows, waiting up to `cfg.linger` for more. A non-log message ends the
/// batch and is left in `held` for the caller to run after committing it (order is kept).
pub(crate) async fn gather<X>(
    rx: &mut mpsc::Receiver<Msg<X>>,
    first: LogItem,
    cfg: &WriteBehind,
    held: &mut Option<Msg<X>>,
) -> Vec<LogItem> {
    let mut rows = first.write.rows();
    let mut batch = vec![first];
    let deadline = tokio::time::Instant::now() + cfg.linger;
    while rows < cfg.max_batch {
        let next = match rx.try_recv() {
            Ok(m) => Some(m),
            Err(mpsc::error::TryRecvError::Disconnected) => None,
            Err(mpsc::error::TryRecvError::Empty) => {
                if cfg.linger.is_zero() {
                    None
                } else {
                    tokio::time::timeout_at(deadline, rx.recv())
                        .await
                        .ok()
                        .flatten()
                }
            }
        };
        match next {
            Some(Msg::Log(item)) => {
                rows += item.write.rows();
                batch.push(item);
            }
            Some(other) => {
                *held = Some(other);
                break;
            }
            None => break,
        }
    }
    batch
}

/// The rows of a batch, split by table, in the order they were queued.
pub(crate) struct Split<'a> {
    pub(crate) chat: Vec<&'a ChatRecord>,
    pub(crate) events: Vec<&'a EventRecord>,
    /// Increments summed per bucket row: a multi-row upsert may touch each key once.
    pub(crate) counters: Vec<BucketIncr>,
}

/// One counter bucket row and what to add to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BucketIncr {
    pub(crate) name: String,
    pub(crate) dims: String,
    pub(crate) bucket: Bucket,
    pub(crate) start_ms: i64,
    pub(crate) by: i64,
}

/// The start of the bucket holding `at_ms`, saturating at `i64::MIN`.
pub(crate) fn bucket_start(bucket: Bucket, at_ms: i64) -> i64 {
    at_ms.saturating_sub(at_ms.rem_euclid(bucket.len_ms()))
}

/// Sums increments per bucket row, in first-seen order.
pub(crate) fn bucket_incrs<'a>(
    incrs: impl IntoIterator<Item = &'a CounterIncr>,
) -> Vec<BucketIncr> {
    let mut out: Vec<BucketIncr> = Vec::new();
    let mut index: HashMap<(String, String, Bucket, i64), usize> = HashMap::new();
    for c in incrs {
        for bucket in Bucket::ALL {
            let start_ms = bucket_start(bucket, c.at_ms);
            let key = (c.name.clone(), c.dims.clone(), bucket, start_ms);
            match index.get(&key) {
                Some(&i) => {
                    if let Some(row) = out.get_mut(i) {
                        row.by = row.by.saturating_add(c.by);
                    }
                }
                None => {
                    index.insert(key, out.len());
                    out.push(BucketIncr {
                        name: c.name.clone(),
                        dims: c.dims.clone(),
                        bucket,
                        start_ms,
                        by: c.by,
                    });
                }
            }
        }
    }
    out
}

pub(crate) fn split(batch: &[LogItem]) -> Split<'_> {
    let mut s = Split {
        chat: Vec::new(),
        events: Vec::new(),
        counters: Vec::new(),
    };
    let mut incrs: Vec<&CounterIncr> = Vec::new();
    for item in batch {
        match &item.write {
            LogWrite::Chat(r) => s.chat.extend(r),
            LogWrite::Events(r) => s.events.extend(r),
            LogWrite::Counters(r) => incrs.extend(r),
        }
    }
    s.counters = bucket_incrs(incrs);
    s
}

/// Answers every caller of a committed batch; `inserted` holds the event ids (as stored
/// text) that were new. An id appended twice in one batch counts for its first caller.
pub(crate) fn deliver_ok(batch: Vec<LogItem>, mut inserted: std::collections::HashSet<String>) {
    for item in batch {
        let n = match &item.write {
            LogWrite::Events(records) => {
                let mut n = 0u64;
                for r in records {
                    if inserted.remove(&crate::rows::event_id_text(r.event_id)) {
                        n += 1;
                    }
                }
                n
            }
            LogWrite::Chat(_) | LogWrite::Counters(_) => 0,
        };
        let _ = item.done.send(Ok(n));
    }
}

/// Answers every caller of a failed batch with the error.
pub(crate) fn deliver_err(batch: Vec<LogItem>, err: &StoreError) {
    for item in batch {
        let _ = item.done.send(Err(err.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use botkit::store::ChannelRef;

    fn item(write: LogWrite) -> (LogItem, oneshot::Receiver<Result<u64, StoreError>>) {
        let (done, rx) = oneshot::channel();
        (LogItem { write, done }, rx)
    }

    fn chat(n: usize) -> LogWrite {
        let ch = ChannelRef::new("t", "#c");
        LogWrite::Chat(
            (0..n)
                .map(|i| ChatRecord::new(&ch, "u", "u", "x", i as i64))
                .collect(),
        )
    }

    #[tokio::test]
    async fn gather_takes_what_is_queued_up_to_the_limit() {
        let (tx, mut rx) = mpsc::channel::<Msg<u8>>(16);
        for _ in 0..3 {
            tx.send(Msg::Log(item(chat(2)).0)).await.unwrap();
        }
        tx.send(Msg::Other(7)).await.unwrap();
        tx.send(Msg::Log(item(chat(1)).0)).await.unwrap();
        let cfg = WriteBehind::default().with_max_batch(5);
        let mut held = None;
        let b = gather(&mut rx, item(chat(1)).0, &cfg, &mut held).await;
        assert_eq!(b.len(), 3, "1 + 2 + 2 rows reach the limit of 5");
        assert!(held.is_none());
        let b = gather(&mut rx, item(chat(1)).0, &cfg, &mut held).await;
        assert_eq!(b.len(), 2, "stops at the non-log message");
        assert!(matches!(held, Some(Msg::Other(7))));
    }

    #[tokio::test(start_paused = true)]
    async fn linger_waits_for_more() {
        let (tx, mut rx) = mpsc::channel::<Msg<u8>>(16);
        let cfg = WriteBehind::default().with_linger(Duration::from_millis(10));
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            tx.send(Msg::Log(item(chat(1)).0)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            tx.send(Msg::Log(item(chat(1)).0)).await.unwrap();
        });
        let mut held = None;
        let b = gather(&mut rx, item(chat(1)).0, &cfg, &mut held).await;
        assert_eq!(
            b.len(),
            2,
            "the row at 5 ms joins, the one at 55 ms does not"
        );
        sender.await.unwrap();
    }

    #[test]
    fn counters_are_summed_per_key_in_order() {
        let (a, _) = item(LogWrite::Counters(vec![
            CounterIncr::new("n", "a", 1, 2),
            CounterIncr::new("n", "b", 1, 1),
        ]));
        let (b, _) = item(LogWrite::Counters(vec![CounterIncr::new("n", "a", 1, 5)]));
        let batch = [a, b];
        let s = split(&batch);
        let rows: Vec<(&str, Bucket, i64)> = s
            .counters
            .iter()
            .map(|r| (r.dims.as_str(), r.bucket, r.by))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("a", Bucket::Hour, 7),
                ("a", Bucket::Day, 7),
                ("b", Bucket::Hour, 1),
                ("b", Bucket::Day, 1)
            ]
        );
        assert_eq!(bucket_start(Bucket::Hour, -1), -3_600_000);
        assert_eq!(bucket_start(Bucket::Day, i64::MIN), i64::MIN);
    }
}
