//! [`MemoryStore`]: the whole [`Store`] trait in process memory.
//!
//! It backs tests, `botkit::testing` and bots that need no persistence. Each area (key-value,
//! chat, events, counters, queue) sits behind its own `std::sync::Mutex` over `BTreeMap`s:
//! every operation is a short, synchronous critical section with no `.await` inside, so a
//! plain mutex is cheaper than an async one and areas never contend with each other. The maps
//! are keyed so that the trait's orderings (time then append order, bytes for keys) fall out
//! of `BTreeMap` iteration. Nothing is bounded: retention is the caller's `prune_*` calls,
//! exactly as with a database.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use serde_json::Value;

use super::{
    Bucket, ChannelRef, ChatCursor, ChatPage, ChatRecord, DeadJob, EventRecord, Job, JobFate,
    JobId, NewJob, Store, StoreError, StoreStats, check_name,
};
use crate::event::EventId;
use crate::topic::Pattern;

/// A [`Store`] held in memory; everything is lost when it is dropped.
#[derive(Debug, Default)]
pub struct MemoryStore {
    kv: Mutex<BTreeMap<String, BTreeMap<String, Value>>>,
    chat: Mutex<ChatLog>,
    events: Mutex<EventLog>,
    counters: Mutex<BTreeMap<CounterKey, i64>>,
    queue: Mutex<Queues>,
}

#[derive(Debug, Default)]
struct ChatLog {
    /// Last append sequence handed out; rows are keyed `(timestamp_ms, seq)`.
    seq: i64,
    channels: BTreeMap<ChannelRef, BTreeMap<(i64, i64), ChatRecord>>,
}

#[derive(Debug, Default)]
struct EventLog {
    by_time: BTreeMap<(i64, EventId), EventRecord>,
    /// Event id → timestamp, to skip duplicates and find one event.
    by_id: HashMap<EventId, i64>,
}

/// `(name, dims, bucket, bucket_start_ms)`: one counter's buckets are contiguous and in time
/// order.
type CounterKey = (String, String, Bucket, i64);

#[derive(Debug, Default)]
struct Queues {
    next_id: i64,
    jobs: BTreeMap<JobId, QueuedJob>,
    /// Keyed by death order.
    dead: BTreeMap<u64, DeadJob>,
    dead_seq: u64,
}

#[derive(Debug)]
struct QueuedJob {
    job: Job,
    leased_until: Option<i64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No operation panics half-way through a change, so the data behind a poisoned lock is
    // still consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The last `limit` items of an iterator that yields oldest first, oldest first.
fn last_n<T>(rev: impl Iterator<Item = T>, limit: usize) -> Vec<T> {
    let mut out: Vec<T> = rev.take(limit).collect();
    out.reverse();
    out
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn backend(&self) -> &str {
        "memory"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn health(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        let mut s = StoreStats {
            kv_entries: count(lock(&self.kv).values().map(BTreeMap::len).sum()),
            chat_records: count(lock(&self.chat).channels.values().map(BTreeMap::len).sum()),
            events: count(lock(&self.events).by_time.len()),
            counter_buckets: count(lock(&self.counters).len()),
            ..StoreStats::default()
        };
        let q = lock(&self.queue);
        s.jobs = count(q.jobs.len());
        s.dead_jobs = count(q.dead.len());
        Ok(s)
    }

    async fn kv_get(&self, namespace: &str, key: &str) -> Result<Option<Value>, StoreError> {
        Ok(lock(&self.kv)
            .get(namespace)
            .and_then(|ns| ns.get(key))
            .cloned())
    }

    async fn kv_put(&self, namespace: &str, key: &str, value: Value) -> Result<(), StoreError> {
        check_name("namespace", namespace)?;
        check_name("key", key)?;
        lock(&self.kv)
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value);
        Ok(())
    }

    async fn kv_delete(&self, namespace: &str, key: &str) -> Result<bool, StoreError> {
        let mut kv = lock(&self.kv);
        let Some(ns) = kv.get_mut(namespace) else {
            return Ok(false);
        };
        let existed = ns.remove(key).is_some();
        if ns.is_empty() {
            kv.remove(namespace);
        }
        Ok(existed)
    }

    async fn kv_keys(&self, namespace: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let kv = lock(&self.kv);
        let Some(ns) = kv.get(namespace) else {
            return Ok(Vec::new());
        };
        Ok(ns
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect())
    }

    async fn kv_entries(
        &self,
        namespace: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let kv = lock(&self.kv);
        let Some(ns) = kv.get(namespace) else {
            return Ok(Vec::new());
        };
        Ok(ns
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn kv_namespaces(&self) -> Result<Vec<String>, StoreError> {
        Ok(lock(&self.kv).keys().cloned().collect())
    }

    async fn kv_compare_and_swap(
        &self,
        namespace: &str,
        key: &str,
        expected: Option<&Value>,
        new: Option<Value>,
    ) -> Result<bool, StoreError> {
        check_name("namespace", namespace)?;
        check_name("key", key)?;
        let mut kv = lock(&self.kv);
        let current = kv.get(namespace).and_then(|ns| ns.get(key));
        if current != expected {
            return Ok(false);
        }
        match new {
            Some(v) => {
                kv.entry(namespace.to_owned())
                    .or_default()
                    .insert(key.to_owned(), v);
            }
            None => {
                if let Some(ns) = kv.get_mut(namespace) {
                    ns.remove(key);
                    if ns.is_empty() {
                        kv.remove(namespace);
                    }
                }
            }
        }
        Ok(true)
    }

    async fn append_chat(&self, records: &[ChatRecord]) -> Result<(), StoreError> {
        let mut chat = lock(&self.chat);
        for r in records {
            chat.seq += 1;
            let seq = chat.seq;
            chat.channels
                .entry(r.channel_ref())
                .or_default()
                .insert((r.timestamp_ms, seq), r.clone());
        }
        Ok(())
    }

    async fn recent_chat(
        &self,
        channel: &ChannelRef,
        limit: usize,
    ) -> Result<Vec<ChatRecord>, StoreError> {
        let chat = lock(&self.chat);
        let Some(rows) = chat.channels.get(channel) else {
            return Ok(Vec::new());
        };
        Ok(last_n(rows.values().rev().cloned(), limit))
    }

    async fn chat_by_user(
        &self,
        user_id: &str,
        channel: Option<&ChannelRef>,
        limit: usize,
    ) -> Result<Vec<ChatRecord>, StoreError> {
        let chat = lock(&self.chat);
        let mut hits: Vec<(&(i64, i64), &ChatRecord)> = chat
            .channels
            .iter()
            .filter(|(c, _)| channel.is_none_or(|want| *c == want))
            .flat_map(|(_, rows)| rows.iter())
            .filter(|(_, r)| r.user_id == user_id)
            .collect();
        hits.sort_by_key(|(k, _)| **k);
        Ok(last_n(
            hits.into_iter().rev().map(|(_, r)| r.clone()),
            limit,
        ))
    }

    async fn chat_range(
        &self,
        channel: &ChannelRef,
        from: ChatCursor,
        limit: usize,
    ) -> Result<ChatPage, StoreError> {
        if limit == 0 {
            return Err(StoreError::invalid(
                "limit",
                "a page needs a limit of at least 1",
            ));
        }
        let chat = lock(&self.chat);
        let Some(rows) = chat.channels.get(channel) else {
            return Ok(ChatPage::default());
        };
        let start = (from.timestamp_ms(), from.seq());
        let page: Vec<(&(i64, i64), &ChatRecord)> = rows
            .range((Bound::Excluded(start), Bound::Unbounded))
            .take(limit)
            .collect();
        let next = match page.last() {
            Some(((ts, seq), _)) if page.len() == limit => Some(ChatCursor::after(*ts, *seq)),
            _ => None,
        };
        Ok(ChatPage {
            records: page.into_iter().map(|(_, r)| r.clone()).collect(),
            next,
        })
    }

    async fn chat_channels(&self) -> Result<Vec<ChannelRef>, StoreError> {
        Ok(lock(&self.chat).channels.keys().cloned().collect())
    }

    async fn delete_chat_message(
        &self,
        channel: &ChannelRef,
        message_id: &str,
    ) -> Result<u64, StoreError> {
        Ok(self.delete_chat_where(channel, |r| r.message_id.as_deref() == Some(message_id)))
    }

    async fn delete_chat_by_user(
        &self,
        channel: &ChannelRef,
        user_id: &str,
    ) -> Result<u64, StoreError> {
        Ok(self.delete_chat_where(channel, |r| r.user_id == user_id))
    }

    async fn delete_chat_channel(&self, channel: &ChannelRef) -> Result<u64, StoreError> {
        Ok(lock(&self.chat)
            .channels
            .remove(channel)
            .map_or(0, |rows| count(rows.len())))
    }

    async fn prune_chat(&self, older_than_ms: i64) -> Result<u64, StoreError> {
        let mut chat = lock(&self.chat);
        let mut removed = 0;
        for rows in chat.channels.values_mut() {
            let keep = rows.split_off(&(older_than_ms, i64::MIN));
            removed += count(rows.len());
            *rows = keep;
        }
        chat.channels.retain(|_, rows| !rows.is_empty());
        Ok(removed)
    }

    async fn append_events(&self, records: &[EventRecord]) -> Result<u64, StoreError> {
        let mut log = lock(&self.events);
        let mut added = 0;
        for r in records {
            if log.by_id.contains_key(&r.event_id) {
                continue;
            }
            log.by_id.insert(r.event_id, r.timestamp_ms);
            log.by_time.insert((r.timestamp_ms, r.event_id), r.clone());
            added += 1;
        }
        Ok(added)
    }

    async fn events_by_topic(
        &self,
        pattern: &Pattern,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let log = lock(&self.events);
        Ok(log
            .by_time
            .range((since_ms, EventId::from_u128(0))..)
            .map(|(_, r)| r)
            .filter(|r| pattern.matches(r.topic.as_str()))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn get_event(&self, id: EventId) -> Result<Option<EventRecord>, StoreError> {
        let log = lock(&self.events);
        Ok(log
            .by_id
            .get(&id)
            .and_then(|ts| log.by_time.get(&(*ts, id)))
            .cloned())
    }

    async fn prune_events(&self, older_than_ms: i64) -> Result<u64, StoreError> {
        let mut log = lock(&self.events);
        let keep = log
            .by_time
            .split_off(&(older_than_ms, EventId::from_u128(0)));
        let old = std::mem::replace(&mut log.by_time, keep);
        for (_, id) in old.keys() {
            log.by_id.remove(id);
        }
        Ok(count(old.len()))
    }

    async fn incr_counter(
        &self,
        name: &str,
        dims: &str,
        at_ms: i64,
        by: i64,
    ) -> Result<(), StoreError> {
        check_name("counter name", name)?;
        let mut counters = lock(&self.counters);
        for bucket in Bucket::ALL {
            let key = (
                name.to_owned(),
                dims.to_owned(),
                bucket,
                bucket.start_of(at_ms),
            );
            let v = counters.entry(key).or_insert(0);
            *v = v.saturating_add(by);
        }
        Ok(())
    }

    async fn counter_series(
        &self,
        name: &str,
        dims: &str,
        bucket: Bucket,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let first = bucket.start_of(from_ms);
        if first >= to_ms {
            return Ok(Vec::new());
        }
        let key = |start| (name.to_owned(), dims.to_owned(), bucket, start);
        Ok(lock(&self.counters)
            .range(key(first)..key(to_ms))
            .map(|((_, _, _, start), v)| (*start, *v))
            .collect())
    }

    async fn counter_top(
        &self,
        name: &str,
        bucket: Bucket,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let first = bucket.start_of(from_ms);
        let counters = lock(&self.counters);
        let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
        let from = (name.to_owned(), String::new(), Bucket::Hour, i64::MIN);
        for ((n, dims, b, start), v) in counters.range(from..) {
            if n != name {
                break;
            }
            if *b == bucket && *start >= first && *start < to_ms {
                let t = totals.entry(dims).or_insert(0);
                *t = t.saturating_add(*v);
            }
        }
        let mut top: Vec<(String, i64)> =
            totals.into_iter().map(|(d, t)| (d.to_owned(), t)).collect();
        // Stable sort: equal totals stay in dims order.
        top.sort_by_key(|(_, t)| Reverse(*t));
        top.truncate(limit);
        Ok(top)
    }

    async fn prune_counters(&self, bucket: Bucket, older_than_ms: i64) -> Result<u64, StoreError> {
        let mut counters = lock(&self.counters);
        let before = counters.len();
        counters.retain(|(_, _, b, start), _| {
            *b != bucket || start.saturating_add(bucket.len_ms()) > older_than_ms
        });
        Ok(count(before - counters.len()))
    }

    async fn enqueue(&self, queue: &str, job: NewJob) -> Result<JobId, StoreError> {
        check_name("queue", queue)?;
        if job.max_attempts == 0 {
            return Err(StoreError::invalid(
                "max_attempts",
                "a job needs at least 1 attempt",
            ));
        }
        let mut q = lock(&self.queue);
        q.next_id += 1;
        let id = JobId::from_i64(q.next_id);
        q.jobs.insert(
            id,
            QueuedJob {
                job: Job {
                    id,
                    queue: queue.to_owned(),
                    payload: job.payload,
                    priority: job.priority,
                    due_ms: job.due_ms,
                    attempts: 0,
                    max_attempts: job.max_attempts,
                    last_error: None,
                },
                leased_until: None,
            },
        );
        Ok(id)
    }

    async fn claim_due(
        &self,
        queue: &str,
        now_ms: i64,
        limit: usize,
        lease_ms: u64,
    ) -> Result<Vec<Job>, StoreError> {
        let mut q = lock(&self.queue);
        let mut due: Vec<(Reverse<i32>, i64, JobId)> = q
            .jobs
            .values()
            .filter(|j| {
                j.job.queue == queue
                    && j.job.due_ms <= now_ms
                    && j.leased_until.is_none_or(|until| until <= now_ms)
            })
            .map(|j| (Reverse(j.job.priority), j.job.due_ms, j.job.id))
            .collect();
        due.sort_unstable();
        due.truncate(limit);
        let until = now_ms.saturating_add_unsigned(lease_ms);
        let mut claimed = Vec::with_capacity(due.len());
        for (_, _, id) in due {
            if let Some(j) = q.jobs.get_mut(&id) {
                j.leased_until = Some(until);
                claimed.push(j.job.clone());
            }
        }
        Ok(claimed)
    }

    async fn ack(&self, id: JobId) -> Result<(), StoreError> {
        match lock(&self.queue).jobs.remove(&id) {
            Some(_) => Ok(()),
            None => Err(StoreError::not_found(id.to_string())),
        }
    }

    async fn fail(&self, id: JobId, error: &str, retry_at_ms: i64) -> Result<JobFate, StoreError> {
        let mut q = lock(&self.queue);
        let Some(mut entry) = q.jobs.remove(&id) else {
            return Err(StoreError::not_found(id.to_string()));
        };
        let job = &mut entry.job;
        job.attempts = job.attempts.saturating_add(1);
        if job.attempts >= job.max_attempts {
            let attempts = job.attempts;
            q.dead_seq += 1;
            let seq = q.dead_seq;
            let job = entry.job;
            q.dead.insert(
                seq,
                DeadJob {
                    id: job.id,
                    queue: job.queue,
                    payload: job.payload,
                    priority: job.priority,
                    attempts: job.attempts,
                    max_attempts: job.max_attempts,
                    error: error.to_owned(),
                },
            );
            return Ok(JobFate::Dead { attempts });
        }
        job.last_error = Some(error.to_owned());
        job.due_ms = retry_at_ms;
        let fate = JobFate::Retrying {
            attempts: job.attempts,
            due_ms: retry_at_ms,
        };
        entry.leased_until = None;
        q.jobs.insert(id, entry);
        Ok(fate)
    }

    async fn dead_letters(&self, queue: &str, limit: usize) -> Result<Vec<DeadJob>, StoreError> {
        Ok(lock(&self.queue)
            .dead
            .values()
            .filter(|d| d.queue == queue)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn requeue_dead(&self, id: JobId, due_ms: i64) -> Result<JobId, StoreError> {
        let mut q = lock(&self.queue);
        let Some(seq) = q.dead.iter().find(|(_, d)| d.id == id).map(|(s, _)| *s) else {
            return Err(StoreError::not_found(format!("dead letter {id}")));
        };
        let Some(dead) = q.dead.remove(&seq) else {
            return Err(StoreError::not_found(format!("dead letter {id}")));
        };
        // The id left the live queue when the job died and ids are never reused, so the job
        // can come back under the same id.
        q.jobs.insert(
            id,
            QueuedJob {
                job: Job {
                    id,
                    queue: dead.queue,
                    payload: dead.payload,
                    priority: dead.priority,
                    due_ms,
                    attempts: 0,
                    max_attempts: dead.max_attempts,
                    last_error: Some(dead.error),
                },
                leased_until: None,
            },
        );
        Ok(id)
    }

    async fn purge_dead(&self, queue: &str) -> Result<u64, StoreError> {
        let mut q = lock(&self.queue);
        let before = q.dead.len();
        q.dead.retain(|_, d| d.queue != queue);
        Ok(count(before - q.dead.len()))
    }

    async fn queue_len(&self, queue: &str) -> Result<u64, StoreError> {
        Ok(count(
            lock(&self.queue)
                .jobs
                .values()
                .filter(|j| j.job.queue == queue)
                .count(),
        ))
    }
}

impl MemoryStore {
    fn delete_chat_where(&self, channel: &ChannelRef, pred: impl Fn(&ChatRecord) -> bool) -> u64 {
        let mut chat = lock(&self.chat);
        let Some(rows) = chat.channels.get_mut(channel) else {
            return 0;
        };
        let before = rows.len();
        rows.retain(|_, r| !pred(r));
        let removed = count(before - rows.len());
        if rows.is_empty() {
            chat.channels.remove(channel);
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::conformance;

    #[tokio::test]
    async fn memory_store_passes_conformance() {
        conformance::run_all(|| async { Arc::new(MemoryStore::new()) }).await;
    }

    #[tokio::test]
    async fn works_as_shared_dyn_store() {
        conformance::run_all(|| async { Arc::new(MemoryStore::new()) as Arc<dyn Store> }).await;
    }

    #[tokio::test]
    async fn backend_name() {
        assert_eq!(MemoryStore::new().backend(), "memory");
    }
}
