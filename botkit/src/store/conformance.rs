//! The conformance suite every [`Store`] backend runs in its own tests.
//!
//! One body of checks, many backends: the in-memory store runs it here, `botkit-sql` runs it
//! against SQLite and PostgreSQL. The checks pin down the contract the trait docs state —
//! orderings, tie-breaks, boundaries (older-than is strict, buckets start at UTC hours and
//! days, leases expire at exactly `claim + lease`), namespace and channel isolation, literal
//! prefixes (`%` and `_` are not wildcards, matching is case-sensitive), exact Unicode round
//! trips and atomicity under concurrent callers — because those are where SQL backends differ
//! from each other and from a `BTreeMap`.
//!
//! It is compiled into the library (not `cfg(test)`) so other crates can call it. It is a
//! test helper, so it panics on failure, with a message naming the check and what differed.
//! Every check expects a fresh, empty, migrated store.
//!
//! ```
//! use std::sync::Arc;
//! use botkit::store::{MemoryStore, conformance};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! // In a backend's tests: build a fresh store per check.
//! conformance::run_all(|| async { Arc::new(MemoryStore::new()) }).await;
//!
//! // Or run one check.
//! conformance::kv_keys_by_prefix(&MemoryStore::new()).await;
//! # });
//! ```
//!
//! To check durability across a restart, call [`persistence_write`] on a store, drop it,
//! reopen the same database, and call [`persistence_verify`] on the new handle.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::join_all;
use serde_json::{Value, json};

use super::{
    Bucket, ChannelRef, ChatCursor, ChatRecord, CounterIncr, DeadJob, EventRecord, JobFate, JobId,
    NewJob, Store, StoreError, StoreStats,
};
use crate::event::{ChatMessage, Event, EventId, Payload, Roles, Source, User};
use crate::topic::{Pattern, Topic};

const BASE: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;
/// 2023-11-15T00:00:00Z.
const MIDNIGHT: i64 = 19_676 * DAY;
const LEASE: u64 = 60_000;

macro_rules! ensure {
    ($check:expr, $cond:expr, $($arg:tt)+) => {
        if !$cond {
            panic!(
                "store conformance check `{}` failed: {}",
                $check,
                format_args!($($arg)+)
            );
        }
    };
}

macro_rules! ensure_eq {
    ($check:expr, $got:expr, $expected:expr, $($arg:tt)+) => {
        match (&$got, &$expected) {
            (got, expected) => {
                if got != expected {
                    panic!(
                        "store conformance check `{}` failed: {}\n       got: {:?}\n  expected: {:?}",
                        $check,
                        format_args!($($arg)+),
                        got,
                        expected
                    );
                }
            }
        }
    };
}

/// The value of a call that must succeed.
fn ok<T>(check: &str, what: &str, r: Result<T, StoreError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!(
            "store conformance check `{check}` failed: {what} returned an error: {e} ({e:?})"
        ),
    }
}

/// The error of a call that must fail.
fn err<T>(check: &str, what: &str, r: Result<T, StoreError>) -> StoreError {
    match r {
        Ok(_) => panic!("store conformance check `{check}` failed: {what} should have failed"),
        Err(e) => e,
    }
}

/// Runs every check, each on a fresh store from `make`.
///
/// `make` must return an empty store that is ready to use (migrated).
pub async fn run_all<S, F, Fut>(make: F)
where
    S: Store + ?Sized,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    macro_rules! run {
        ($($check:ident),* $(,)?) => {
            $(
                let store = make().await;
                $check(&*store).await;
                drop(store);
            )*
        };
    }
    run!(
        lifecycle,
        kv_roundtrip,
        kv_namespaces_isolated,
        kv_keys_by_prefix,
        kv_compare_and_swap,
        kv_invalid_input,
        chat_recent_order,
        chat_by_user,
        chat_delete_message,
        chat_delete_user,
        chat_delete_channel,
        chat_prune,
        chat_range_paging,
        unicode_roundtrip,
        events_by_topic,
        events_prune,
        counter_buckets,
        counter_batch_and_top,
        counter_prune,
        queue_ordering,
        queue_lease_expiry,
        queue_fail_retry_dead,
        queue_ack_and_invalid,
        concurrent_callers,
        flush_then_read,
    );
}

// ---- lifecycle -------------------------------------------------------------------------

/// A fresh store names its backend, migrates idempotently, is healthy and empty.
pub async fn lifecycle<S: Store + ?Sized>(store: &S) {
    const C: &str = "lifecycle";
    ensure!(
        C,
        !store.backend().is_empty(),
        "backend() must name the backend"
    );
    ok(C, "migrate", store.migrate().await);
    ok(C, "a second migrate", store.migrate().await);
    ok(C, "health", store.health().await);
    ok(C, "flush of an empty store", store.flush().await);
    ensure_eq!(
        C,
        ok(C, "stats", store.stats().await),
        StoreStats::default(),
        "a fresh store must be empty"
    );
    ensure_eq!(
        C,
        ok(C, "kv_namespaces", store.kv_namespaces().await),
        Vec::<String>::new(),
        "a fresh store has no namespaces"
    );
    ensure_eq!(
        C,
        ok(C, "chat_channels", store.chat_channels().await),
        Vec::<ChannelRef>::new(),
        "a fresh store has no chat channels"
    );
}

// ---- key-value ---------------------------------------------------------------------------

/// Values of every JSON kind round trip exactly; `put` overwrites; `delete` reports whether
/// the key existed; `null` is a value, distinct from "not set".
pub async fn kv_roundtrip<S: Store + ?Sized>(store: &S) {
    const C: &str = "kv_roundtrip";
    let ns = "plugin";
    ensure_eq!(
        C,
        ok(
            C,
            "kv_get of a missing key",
            store.kv_get(ns, "missing").await
        ),
        None,
        "a key never set must read as None"
    );
    let values = [
        json!(true),
        json!(0),
        json!(-42),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1.5),
        json!(0.1),
        json!("text"),
        json!(""),
        json!([1, "two", null, [3]]),
        json!({"a": {"b": [1, 2, {"c": "ü"}]}, "empty": {}, "list": []}),
    ];
    for (i, v) in values.iter().enumerate() {
        ok(
            C,
            "kv_put",
            store.kv_put(ns, &format!("k{i}"), v.clone()).await,
        );
    }
    for (i, v) in values.iter().enumerate() {
        ensure_eq!(
            C,
            ok(C, "kv_get", store.kv_get(ns, &format!("k{i}")).await),
            Some(v.clone()),
            "value of k{i} must round trip exactly"
        );
    }
    ok(
        C,
        "kv_put null",
        store.kv_put(ns, "null", Value::Null).await,
    );
    ensure_eq!(
        C,
        ok(C, "kv_get", store.kv_get(ns, "null").await),
        Some(Value::Null),
        "a stored null must read back as Some(null), not as a missing key"
    );

    ok(C, "kv_put", store.kv_put(ns, "k0", json!({"v": 1})).await);
    ok(C, "kv_put", store.kv_put(ns, "k0", json!("second")).await);
    ensure_eq!(
        C,
        ok(C, "kv_get", store.kv_get(ns, "k0").await),
        Some(json!("second")),
        "put must overwrite the previous value"
    );
    ensure_eq!(
        C,
        ok(C, "kv_keys", store.kv_keys(ns, "").await).len(),
        values.len() + 1,
        "overwriting must not add a key"
    );

    ensure!(
        C,
        ok(C, "kv_delete", store.kv_delete(ns, "k1").await),
        "deleting an existing key must return true"
    );
    ensure_eq!(
        C,
        ok(C, "kv_get", store.kv_get(ns, "k1").await),
        None,
        "a deleted key must read as None"
    );
    ensure!(
        C,
        !ok(C, "kv_delete", store.kv_delete(ns, "k1").await),
        "deleting a deleted key must return false"
    );
    ensure!(
        C,
        !ok(C, "kv_delete", store.kv_delete("no-such-ns", "k2").await),
        "deleting in an unknown namespace must return false"
    );
}

/// The same key in two namespaces holds two values; listing and deleting stay inside one
/// namespace, also when one namespace name is a prefix of another.
pub async fn kv_namespaces_isolated<S: Store + ?Sized>(store: &S) {
    const C: &str = "kv_namespaces_isolated";
    ok(C, "kv_put", store.kv_put("alpha", "shared", json!(1)).await);
    ok(C, "kv_put", store.kv_put("beta", "shared", json!(2)).await);
    ok(
        C,
        "kv_put",
        store.kv_put("alpha", "only-alpha", json!(3)).await,
    );
    ok(C, "kv_put", store.kv_put("alph", "x", json!(4)).await);
    ensure_eq!(
        C,
        ok(C, "kv_get", store.kv_get("alpha", "shared").await),
        Some(json!(1)),
        "alpha/shared"
    );
    ensure_eq!(
        C,
        ok(C, "kv_get", store.kv_get("beta", "shared").await),
        Some(json!(2)),
        "beta/shared must not see alpha's value"
    );
    ensure_eq!(
        C,
        ok(C, "kv_get", store.kv_get("beta", "only-alpha").await),
        None,
        "a key of alpha must not be visible in beta"
    );
    ensure_eq!(
        C,
        ok(C, "kv_keys", store.kv_keys("alpha", "").await),
        vec!["only-alpha", "shared"],
        "keys of alpha"
    );
    ensure_eq!(
        C,
        ok(C, "kv_keys", store.kv_keys("alph", "").await),
        vec!["x"],
        "a namespace that is a prefix of another must list only its own keys"
    );
    ensure_eq!(
        C,
        ok(C, "kv_namespaces", store.kv_namespaces().await),
        vec!["alph", "alpha", "beta"],
        "namespaces, sorted"
    );
    ensure!(
        C,
        ok(C, "kv_delete", store.kv_delete("beta", "shared").await),
        "delete beta/shared"
    );
    ensure_eq!(
        C,
        ok(C, "kv_get", store.kv_get("alpha", "shared").await),
        Some(json!(1)),
        "deleting beta/shared must not touch alpha/shared"
    );
    ensure_eq!(
        C,
        ok(C, "kv_namespaces", store.kv_namespaces().await),
        vec!["alph", "alpha"],
        "a namespace with no keys left must not be listed"
    );
    ensure_eq!(
        C,
        ok(C, "kv_entries", store.kv_entries("alpha", "").await),
        vec![
            ("only-alpha".to_owned(), json!(3)),
            ("shared".to_owned(), json!(1))
        ],
        "entries of alpha"
    );
}

/// Prefix listing is literal (`%`, `_` and `\` are ordinary), case-sensitive, includes a key
/// equal to the prefix, and is sorted by bytes.
pub async fn kv_keys_by_prefix<S: Store + ?Sized>(store: &S) {
    const C: &str = "kv_keys_by_prefix";
    let ns = "prefixes";
    let keys = [
        "b", "a", "ab", "a_b", "a%b", "aXb", "a\\b", "B", "é", "a/b/c", "a/b", "abc", "A",
    ];
    for k in keys {
        ok(C, "kv_put", store.kv_put(ns, k, json!(k)).await);
    }
    let mut all: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    all.sort();
    ensure_eq!(
        C,
        ok(C, "kv_keys", store.kv_keys(ns, "").await),
        all,
        "an empty prefix lists every key, sorted by bytes"
    );
    let cases: [(&str, &[&str]); 9] = [
        ("a_", &["a_b"]),
        ("a%", &["a%b"]),
        ("a\\", &["a\\b"]),
        ("ab", &["ab", "abc"]),
        ("a/b", &["a/b", "a/b/c"]),
        ("A", &["A"]),
        ("b", &["b"]),
        ("é", &["é"]),
        ("z", &[]),
    ];
    for (prefix, expected) in cases {
        ensure_eq!(
            C,
            ok(C, "kv_keys", store.kv_keys(ns, prefix).await),
            expected.to_vec(),
            "keys with prefix {prefix:?} (prefixes are literal and case-sensitive)"
        );
    }
    ensure_eq!(
        C,
        ok(C, "kv_entries", store.kv_entries(ns, "a/").await),
        vec![
            ("a/b".to_owned(), json!("a/b")),
            ("a/b/c".to_owned(), json!("a/b/c"))
        ],
        "entries with prefix \"a/\""
    );
    ensure_eq!(
        C,
        ok(C, "kv_keys", store.kv_keys("other", "").await),
        Vec::<String>::new(),
        "an unknown namespace has no keys"
    );
}

/// Compare-and-swap succeeds only on an exact match (absent = `None`) and can delete.
pub async fn kv_compare_and_swap<S: Store + ?Sized>(store: &S) {
    const C: &str = "kv_compare_and_swap";
    let (ns, k) = ("cas", "k");
    let cas = |expected: Option<Value>, new: Option<Value>| async move {
        ok(
            C,
            "kv_compare_and_swap",
            store
                .kv_compare_and_swap(ns, k, expected.as_ref(), new)
                .await,
        )
    };
    let get = || async { ok(C, "kv_get", store.kv_get(ns, k).await) };
    ensure!(
        C,
        cas(None, Some(json!(1))).await,
        "swap from absent must succeed on an absent key"
    );
    ensure_eq!(C, get().await, Some(json!(1)), "value after first swap");
    ensure!(
        C,
        !cas(None, Some(json!(2))).await,
        "swap from absent must fail when the key is set"
    );
    ensure!(
        C,
        !cas(Some(json!(5)), Some(json!(3))).await,
        "swap must fail when the current value differs"
    );
    ensure_eq!(
        C,
        get().await,
        Some(json!(1)),
        "failed swaps must not write"
    );
    ensure!(
        C,
        cas(Some(json!(1)), Some(json!({"n": [2, "ü"]}))).await,
        "swap with the right expected value must succeed"
    );
    ensure_eq!(
        C,
        get().await,
        Some(json!({"n": [2, "ü"]})),
        "swapped value"
    );
    ensure!(
        C,
        cas(Some(json!({"n": [2, "ü"]})), None).await,
        "swap to None (delete) with the right expected value must succeed"
    );
    ensure_eq!(C, get().await, None, "a swap to None deletes the key");
    ensure!(
        C,
        !cas(Some(json!({"n": [2, "ü"]})), Some(json!(9))).await,
        "swap must fail on a deleted key"
    );
    ensure_eq!(
        C,
        ok(C, "kv_keys", store.kv_keys(ns, "").await),
        Vec::<String>::new(),
        "nothing left in the namespace"
    );
}

/// Empty namespaces and keys are refused with `Invalid` and store nothing.
pub async fn kv_invalid_input<S: Store + ?Sized>(store: &S) {
    const C: &str = "kv_invalid_input";
    let e = err(
        C,
        "kv_put with an empty namespace",
        store.kv_put("", "k", json!(1)).await,
    );
    ensure!(
        C,
        matches!(e, StoreError::Invalid { .. }),
        "expected Invalid, got {e:?}"
    );
    let e = err(
        C,
        "kv_put with an empty key",
        store.kv_put("ns", "", json!(1)).await,
    );
    ensure!(
        C,
        matches!(e, StoreError::Invalid { .. }),
        "expected Invalid, got {e:?}"
    );
    ensure_eq!(
        C,
        ok(C, "stats", store.stats().await).kv_entries,
        0,
        "refused puts must store nothing"
    );
}

// ---- chat log ------------------------------------------------------------------------------

fn twitch_main() -> ChannelRef {
    ChannelRef::new("twitch", "#main")
}

fn cytube_main() -> ChannelRef {
    ChannelRef::new("cytube", "#main")
}

fn twitch_other() -> ChannelRef {
    ChannelRef::new("twitch", "#other")
}

fn rec(channel: &ChannelRef, user: &str, text: &str, ts: i64) -> ChatRecord {
    ChatRecord::new(
        channel,
        format!("{}:{user}", channel.platform),
        user,
        text,
        ts,
    )
}

fn texts(records: &[ChatRecord]) -> Vec<&str> {
    records.iter().map(|r| r.text.as_str()).collect()
}

/// `recent_chat` returns the newest `limit` records of one channel, oldest first, sorted by
/// time even when appended out of order, with equal timestamps in append order, and never
/// mixes channels or platforms that share a channel name.
pub async fn chat_recent_order<S: Store + ?Sized>(store: &S) {
    const C: &str = "chat_recent_order";
    let chans = [twitch_main(), cytube_main(), twitch_other()];
    let all: Vec<ChatRecord> = (0..30_i64)
        .map(|i| {
            let ch = &chans[(i % 3) as usize];
            rec(ch, "alice", &format!("{ch}-{i}"), BASE + i * 1000)
        })
        .collect();
    let odd: Vec<ChatRecord> = all.iter().skip(1).step_by(2).cloned().collect();
    let even: Vec<ChatRecord> = all.iter().step_by(2).cloned().collect();
    ok(C, "append_chat", store.append_chat(&odd).await);
    ok(C, "append_chat", store.append_chat(&even).await);
    for ch in &chans {
        let expected: Vec<ChatRecord> = all.iter().filter(|r| r.is_in(ch)).cloned().collect();
        let got = ok(C, "recent_chat", store.recent_chat(ch, 4).await);
        ensure_eq!(
            C,
            texts(&got),
            texts(&expected[expected.len() - 4..]),
            "recent_chat({ch}, 4) must be the last 4 of that channel, oldest first"
        );
        ensure_eq!(
            C,
            got,
            expected[expected.len() - 4..].to_vec(),
            "records must round trip field for field"
        );
        ensure_eq!(
            C,
            ok(C, "recent_chat", store.recent_chat(ch, 100).await),
            expected,
            "recent_chat({ch}, 100) must return the whole channel in time order"
        );
        ensure_eq!(
            C,
            ok(C, "recent_chat", store.recent_chat(ch, 0).await),
            Vec::<ChatRecord>::new(),
            "limit 0 returns nothing"
        );
    }
    ensure_eq!(
        C,
        ok(
            C,
            "recent_chat",
            store
                .recent_chat(&ChannelRef::new("shell", "#main"), 10)
                .await
        ),
        Vec::<ChatRecord>::new(),
        "an unknown platform with a known channel name has no chat"
    );

    let tie = ChannelRef::new("twitch", "#tie");
    let t = BASE + 500_000;
    let batch1 = [
        rec(&tie, "u", "x", t),
        rec(&tie, "u", "y", t),
        rec(&tie, "u", "z", t),
    ];
    ok(C, "append_chat", store.append_chat(&batch1).await);
    ok(
        C,
        "append_chat",
        store.append_chat(&[rec(&tie, "u", "w", t)]).await,
    );
    ok(
        C,
        "append_chat",
        store.append_chat(&[rec(&tie, "u", "v", t - 1)]).await,
    );
    ensure_eq!(
        C,
        texts(&ok(C, "recent_chat", store.recent_chat(&tie, 10).await)),
        vec!["v", "x", "y", "z", "w"],
        "records with equal timestamps keep append order; an older record sorts first"
    );
    ensure_eq!(
        C,
        texts(&ok(C, "recent_chat", store.recent_chat(&tie, 2).await)),
        vec!["z", "w"],
        "the last 2 of equal-timestamp records are the last 2 appended"
    );
}

/// `chat_by_user` finds one user's records across channels (or in one), newest `limit`,
/// oldest first, and does not confuse users of different platforms.
pub async fn chat_by_user<S: Store + ?Sized>(store: &S) {
    const C: &str = "chat_by_user";
    let records = [
        rec(&twitch_main(), "alice", "t-main-1", BASE + 1),
        rec(&twitch_other(), "alice", "t-other-2", BASE + 2),
        rec(&twitch_main(), "alice", "t-main-3", BASE + 3),
        rec(&cytube_main(), "alice", "c-main-4", BASE + 4),
        rec(&twitch_main(), "bob", "bob-5", BASE + 5),
        rec(&twitch_main(), "alice", "t-main-6", BASE + 6),
    ];
    ok(C, "append_chat", store.append_chat(&records[3..]).await);
    ok(C, "append_chat", store.append_chat(&records[..3]).await);
    let by = |user: &'static str, ch: Option<ChannelRef>, limit: usize| async move {
        let got = ok(
            C,
            "chat_by_user",
            store.chat_by_user(user, ch.as_ref(), limit).await,
        );
        got.into_iter().map(|r| r.text).collect::<Vec<_>>()
    };
    ensure_eq!(
        C,
        by("twitch:alice", None, 10).await,
        vec!["t-main-1", "t-other-2", "t-main-3", "t-main-6"],
        "all of twitch:alice's records across channels, in time order"
    );
    ensure_eq!(
        C,
        by("twitch:alice", None, 2).await,
        vec!["t-main-3", "t-main-6"],
        "limit keeps the newest, oldest first"
    );
    ensure_eq!(
        C,
        by("twitch:alice", Some(twitch_main()), 10).await,
        vec!["t-main-1", "t-main-3", "t-main-6"],
        "filtered to one channel"
    );
    ensure_eq!(
        C,
        by("twitch:alice", Some(cytube_main()), 10).await,
        Vec::<String>::new(),
        "twitch:alice never spoke on cytube"
    );
    ensure_eq!(
        C,
        by("cytube:alice", None, 10).await,
        vec!["c-main-4"],
        "cytube:alice is another user"
    );
    ensure_eq!(
        C,
        by("nobody", None, 10).await,
        Vec::<String>::new(),
        "unknown user"
    );
    ensure_eq!(
        C,
        by("twitch:alice", None, 0).await,
        Vec::<String>::new(),
        "limit 0 returns nothing"
    );
}

/// Deleting by message id removes exactly the records of that channel with that id; the same
/// id in another channel or platform, and records with no id, stay.
pub async fn chat_delete_message<S: Store + ?Sized>(store: &S) {
    const C: &str = "chat_delete_message";
    let records = [
        rec(&twitch_main(), "alice", "m1 twitch main", BASE + 1).with_message_id("m1"),
        rec(&twitch_main(), "bob", "m2 twitch main", BASE + 2).with_message_id("m2"),
        rec(&twitch_main(), "carol", "no id", BASE + 3),
        rec(&cytube_main(), "alice", "m1 cytube main", BASE + 4).with_message_id("m1"),
        rec(&twitch_other(), "alice", "m1 twitch other", BASE + 5).with_message_id("m1"),
    ];
    ok(C, "append_chat", store.append_chat(&records).await);
    ensure_eq!(
        C,
        ok(
            C,
            "delete_chat_message",
            store.delete_chat_message(&twitch_main(), "m1").await
        ),
        1,
        "one record has id m1 in twitch:#main"
    );
    ensure_eq!(
        C,
        texts(&ok(
            C,
            "recent_chat",
            store.recent_chat(&twitch_main(), 10).await
        )),
        vec!["m2 twitch main", "no id"],
        "only m1 left twitch:#main"
    );
    ensure_eq!(
        C,
        texts(&ok(
            C,
            "recent_chat",
            store.recent_chat(&cytube_main(), 10).await
        )),
        vec!["m1 cytube main"],
        "m1 on cytube:#main (same channel name, other platform) must stay"
    );
    ensure_eq!(
        C,
        texts(&ok(
            C,
            "recent_chat",
            store.recent_chat(&twitch_other(), 10).await
        )),
        vec!["m1 twitch other"],
        "m1 in twitch:#other must stay"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "delete_chat_message",
            store.delete_chat_message(&twitch_main(), "m1").await
        ),
        0,
        "deleting again deletes nothing"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "delete_chat_message",
            store.delete_chat_message(&twitch_main(), "").await
        ),
        0,
        "an empty id must not match records that have no id"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "delete_chat_message",
            store
                .delete_chat_message(&ChannelRef::new("twitch", "#nowhere"), "m2")
                .await
        ),
        0,
        "unknown channel"
    );
    ensure_eq!(
        C,
        ok(C, "stats", store.stats().await).chat_records,
        4,
        "four records remain"
    );
}

/// Deleting by user in a channel removes all of that user's records there and nothing else.
pub async fn chat_delete_user<S: Store + ?Sized>(store: &S) {
    const C: &str = "chat_delete_user";
    let mut records = Vec::new();
    for i in 0..3 {
        records.push(rec(
            &twitch_main(),
            "alice",
            &format!("alice main {i}"),
            BASE + i,
        ));
    }
    for i in 0..2 {
        records.push(rec(
            &twitch_other(),
            "alice",
            &format!("alice other {i}"),
            BASE + i,
        ));
        records.push(rec(
            &twitch_main(),
            "bob",
            &format!("bob main {i}"),
            BASE + 10 + i,
        ));
    }
    ok(C, "append_chat", store.append_chat(&records).await);
    ensure_eq!(
        C,
        ok(
            C,
            "delete_chat_by_user",
            store
                .delete_chat_by_user(&twitch_main(), "twitch:alice")
                .await
        ),
        3,
        "alice had 3 records in twitch:#main"
    );
    ensure_eq!(
        C,
        texts(&ok(
            C,
            "recent_chat",
            store.recent_chat(&twitch_main(), 10).await
        )),
        vec!["bob main 0", "bob main 1"],
        "bob's records stay"
    );
    ensure_eq!(
        C,
        texts(&ok(
            C,
            "recent_chat",
            store.recent_chat(&twitch_other(), 10).await
        )),
        vec!["alice other 0", "alice other 1"],
        "alice's records in another channel stay"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "delete_chat_by_user",
            store
                .delete_chat_by_user(&twitch_main(), "twitch:alice")
                .await
        ),
        0,
        "deleting again deletes nothing"
    );
}

/// Deleting a channel removes all its records, only its records, and drops it from
/// `chat_channels`.
pub async fn chat_delete_channel<S: Store + ?Sized>(store: &S) {
    const C: &str = "chat_delete_channel";
    let mut records = Vec::new();
    for (ch, n) in [(twitch_main(), 4), (cytube_main(), 3), (twitch_other(), 2)] {
        for i in 0..n {
            records.push(rec(&ch, "u", &format!("{ch} {i}"), BASE + i));
        }
    }
    ok(C, "append_chat", store.append_chat(&records).await);
    ensure_eq!(
        C,
        ok(C, "chat_channels", store.chat_channels().await),
        vec![cytube_main(), twitch_main(), twitch_other()],
        "channels sorted by platform, then name"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "delete_chat_channel",
            store.delete_chat_channel(&twitch_main()).await
        ),
        4,
        "twitch:#main had 4 records"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "recent_chat",
            store.recent_chat(&twitch_main(), 10).await
        )
        .len(),
        0,
        "the deleted channel is empty"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "recent_chat",
            store.recent_chat(&cytube_main(), 10).await
        )
        .len(),
        3,
        "cytube:#main (same name, other platform) must keep its records"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "recent_chat",
            store.recent_chat(&twitch_other(), 10).await
        )
        .len(),
        2,
        "twitch:#other must keep its records"
    );
    ensure_eq!(
        C,
        ok(C, "chat_channels", store.chat_channels().await),
        vec![cytube_main(), twitch_other()],
        "a deleted channel is no longer listed"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "delete_chat_channel",
            store.delete_chat_channel(&twitch_main()).await
        ),
        0,
        "deleting again deletes nothing"
    );
}

/// Pruning removes exactly the records strictly older than the cutoff, in every channel.
pub async fn chat_prune<S: Store + ?Sized>(store: &S) {
    const C: &str = "chat_prune";
    let mut records = Vec::new();
    for ch in [twitch_main(), cytube_main(), twitch_other()] {
        for ts in [BASE - 2000, BASE - 1, BASE, BASE + 1] {
            records.push(rec(&ch, "u", &format!("{ch} {ts}"), ts));
        }
    }
    ok(C, "append_chat", store.append_chat(&records).await);
    ensure_eq!(
        C,
        ok(C, "prune_chat", store.prune_chat(BASE).await),
        6,
        "two records per channel are older than the cutoff"
    );
    for ch in [twitch_main(), cytube_main(), twitch_other()] {
        let got = ok(C, "recent_chat", store.recent_chat(&ch, 10).await);
        let stamps: Vec<i64> = got.iter().map(|r| r.timestamp_ms).collect();
        ensure_eq!(
            C,
            stamps,
            vec![BASE, BASE + 1],
            "{ch}: the record at exactly the cutoff must stay"
        );
    }
    ensure_eq!(
        C,
        ok(C, "prune_chat", store.prune_chat(BASE).await),
        0,
        "pruning again removes nothing"
    );
    ensure_eq!(
        C,
        ok(C, "prune_chat", store.prune_chat(i64::MIN).await),
        0,
        "nothing is older than i64::MIN"
    );
    ensure_eq!(
        C,
        ok(C, "stats", store.stats().await).chat_records,
        6,
        "six records remain"
    );
}

/// Paging with `chat_range` visits every record of one channel exactly once, in time order,
/// even when many share a timestamp across page boundaries.
pub async fn chat_range_paging<S: Store + ?Sized>(store: &S) {
    const C: &str = "chat_range_paging";
    let ch = twitch_main();
    // Groups of four records share a timestamp; appended newest group first.
    let make = |i: i64| rec(&ch, "u", &format!("r{i}"), BASE + (i / 4) * 1000);
    let appended: Vec<ChatRecord> = (12..25).chain(0..12).map(make).collect();
    ok(C, "append_chat", store.append_chat(&appended[..13]).await);
    let noise: Vec<ChatRecord> = (0..25)
        .map(|i| {
            rec(
                &cytube_main(),
                "u",
                &format!("noise{i}"),
                BASE + (i / 4) * 1000,
            )
        })
        .collect();
    ok(C, "append_chat", store.append_chat(&noise).await);
    ok(C, "append_chat", store.append_chat(&appended[13..]).await);
    let mut expected = appended.clone();
    expected.sort_by_key(|r| r.timestamp_ms); // stable: equal timestamps keep append order

    let mut seen = Vec::new();
    let mut cursor = ChatCursor::START;
    let mut pages = 0;
    loop {
        pages += 1;
        ensure!(C, pages <= 50, "paging did not end after 50 pages of 3");
        let page = ok(C, "chat_range", store.chat_range(&ch, cursor, 3).await);
        ensure!(
            C,
            page.records.len() <= 3,
            "a page must hold at most `limit` records, got {}",
            page.records.len()
        );
        seen.extend(page.records.iter().cloned());
        match page.next {
            Some(next) => {
                ensure!(
                    C,
                    page.records.len() == 3,
                    "a page with a next cursor must be full"
                );
                cursor = next;
            }
            None => break,
        }
    }
    ensure_eq!(
        C,
        texts(&seen),
        texts(&expected),
        "paging must return every record of the channel once, in time then append order"
    );

    let since = ok(
        C,
        "chat_range",
        store
            .chat_range(&ch, ChatCursor::since(BASE + 2000), 100)
            .await,
    );
    let tail: Vec<ChatRecord> = expected
        .iter()
        .filter(|r| r.timestamp_ms >= BASE + 2000)
        .cloned()
        .collect();
    ensure_eq!(
        C,
        since.records,
        tail,
        "since(t) starts at the first record at t (inclusive)"
    );
    ensure_eq!(
        C,
        since.next,
        None,
        "a page that is not full has no next cursor"
    );

    let exact = ok(
        C,
        "chat_range",
        store
            .chat_range(&ch, ChatCursor::since(BASE + 2000), tail.len())
            .await,
    );
    ensure_eq!(C, exact.records, tail, "exactly the remaining records");
    let Some(next) = exact.next else {
        panic!("store conformance check `{C}` failed: a full page must have a next cursor")
    };
    let last = ok(C, "chat_range", store.chat_range(&ch, next, 10).await);
    ensure_eq!(
        C,
        (last.records.len(), last.next),
        (0, None),
        "the page after the last full page is empty and has no next cursor"
    );

    let e = err(
        C,
        "chat_range with limit 0",
        store.chat_range(&ch, ChatCursor::START, 0).await,
    );
    ensure!(
        C,
        matches!(e, StoreError::Invalid { .. }),
        "limit 0 must be Invalid, got {e:?}"
    );
    let empty = ok(
        C,
        "chat_range",
        store
            .chat_range(
                &ChannelRef::new("twitch", "#nowhere"),
                ChatCursor::START,
                10,
            )
            .await,
    );
    ensure_eq!(
        C,
        (empty.records.len(), empty.next),
        (0, None),
        "an unknown channel has one empty page"
    );
}

/// Text in every area round trips byte for byte: scripts, emoji sequences, combining marks,
/// quotes, SQL-looking text, control characters and long strings.
pub async fn unicode_roundtrip<S: Store + ?Sized>(store: &S) {
    const C: &str = "unicode_roundtrip";
    let samples = [
        "héllo wörld".to_owned(),
        "日本語のテキスト".to_owned(),
        "emoji 👋🏽 👨‍👩‍👧‍👦 🏳️‍🌈".to_owned(),
        "مرحبا بالعالم".to_owned(),
        "e\u{301} combining".to_owned(),
        "zero\u{200b}width\u{feff}".to_owned(),
        "quotes ' \" ` and \\ backslash".to_owned(),
        "'; DROP TABLE chat; --".to_owned(),
        "line1\nline2\r\n\ttab".to_owned(),
        "%_ like wildcards *?[]".to_owned(),
        "\u{fffd} replacement \u{10ffff}".to_owned(),
        "ab😀".repeat(4000),
    ];
    let ch = ChannelRef::new("cytube", "#カフェ");
    let mut records: Vec<ChatRecord> = samples
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let i64i = i as i64;
            ChatRecord::new(
                &ch,
                format!("cytube:ユーザー{i}"),
                "Ünïcödé ユーザー",
                text,
                BASE + i64i,
            )
            .with_instance("main-ü")
            .with_message_id(format!("msg-{i}-ü"))
            .with_event_id(EventId::from_u128(u128::MAX - i as u128))
        })
        .collect();
    records.push(ChatRecord::new(&ch, "cytube:x", "x", "", BASE + 100));
    ok(C, "append_chat", store.append_chat(&records).await);
    ensure_eq!(
        C,
        ok(C, "recent_chat", store.recent_chat(&ch, 100).await),
        records,
        "recent_chat must return every field exactly as appended"
    );
    let page = ok(
        C,
        "chat_range",
        store.chat_range(&ch, ChatCursor::START, 100).await,
    );
    ensure_eq!(
        C,
        page.records,
        records,
        "chat_range must return every field exactly"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "chat_by_user",
            store.chat_by_user("cytube:ユーザー2", None, 10).await
        ),
        records[2..3].to_vec(),
        "chat_by_user with a non-ASCII user id"
    );
    ensure_eq!(
        C,
        ok(C, "chat_channels", store.chat_channels().await),
        vec![ch.clone()],
        "non-ASCII channel name"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "delete_chat_message",
            store.delete_chat_message(&ch, "msg-3-ü").await
        ),
        1,
        "delete by a non-ASCII message id"
    );

    let (ns, key) = ("плагин", "ключ/🔑");
    let value = json!({"текст": samples, "👋": "🌍"});
    ok(C, "kv_put", store.kv_put(ns, key, value.clone()).await);
    ensure_eq!(
        C,
        ok(C, "kv_get", store.kv_get(ns, key).await),
        Some(value),
        "non-ASCII namespace, key and value"
    );
    ensure_eq!(
        C,
        ok(C, "kv_keys", store.kv_keys(ns, "ключ").await),
        vec![key],
        "non-ASCII prefix"
    );

    let payload = json!({"to": "日本", "text": "👨‍👩‍👧‍👦 ' \" \\"});
    ok(
        C,
        "enqueue",
        store.enqueue("очередь", NewJob::new(payload.clone())).await,
    );
    let jobs = ok(
        C,
        "claim_due",
        store.claim_due("очередь", 0, 10, LEASE).await,
    );
    ensure_eq!(
        C,
        jobs.iter().map(|j| j.payload.clone()).collect::<Vec<_>>(),
        vec![payload],
        "job payload round trip on a non-ASCII queue"
    );
    ok(
        C,
        "incr_counter",
        store.incr_counter("счёт", "канал:#ü", BASE, 3).await,
    );
    ensure_eq!(
        C,
        ok(
            C,
            "counter_series",
            store
                .counter_series("счёт", "канал:#ü", Bucket::Day, BASE, BASE + 1)
                .await
        ),
        vec![(Bucket::Day.start_of(BASE), 3)],
        "non-ASCII counter name and dims"
    );
}

// ---- event log ---------------------------------------------------------------------------

fn event_record(topic: &str, channel: Option<&str>, ts: i64, id: u128) -> (Event, EventRecord) {
    let topic = Topic::new(topic).unwrap_or_else(|e| panic!("bad test topic: {e}"));
    let platform = match topic.token(0) {
        Some("platform") => topic.token(1).unwrap_or("bot").to_owned(),
        _ => "bot".to_owned(),
    };
    let user = User::new(&platform, "alice", Roles::everyone());
    let payload = match topic.as_str() {
        t if t.ends_with("chat.message") => Payload::ChatMessage(ChatMessage::new(user, "hi ü")),
        t if t.ends_with("user.joined") => Payload::UserJoined(user),
        _ => Payload::Lifecycle("started".into()),
    };
    let mut event = Event::new(topic, Source::new(&platform, "main", channel), payload);
    event.id = EventId::from_u128(id);
    event.timestamp_ms = ts;
    let rec = EventRecord::from_event(&event)
        .unwrap_or_else(|e| panic!("test event does not serialize: {e}"));
    (event, rec)
}

/// Topic patterns (`*`, `>`, literal) select the right events; results are ordered by time
/// then id, start at `since_ms`, and `limit` counts matches (not scanned rows); duplicates
/// by event id are skipped.
pub async fn events_by_topic<S: Store + ?Sized>(store: &S) {
    const C: &str = "events_by_topic";
    let (e1, r1) = event_record("platform.twitch.chat.message", Some("#a"), BASE + 1, 10);
    let (_, r2) = event_record("platform.cytube.chat.message", Some("#a"), BASE + 2, 20);
    let (_, r3) = event_record("platform.twitch.user.joined", Some("#a"), BASE + 3, 30);
    let (_, r4) = event_record("bot.started", None, BASE + 4, 40);
    let (_, r5) = event_record("platform.my_bot.chat.message", Some("#a"), BASE + 5, 50);
    let (_, r6) = event_record("platform.myXbot.chat.message", Some("#a"), BASE + 6, 60);
    let (_, r7) = event_record("platform.twitch.chat.message", Some("#b"), BASE + 3, 25);
    let shuffled = [
        r4.clone(),
        r1.clone(),
        r6.clone(),
        r3.clone(),
        r2.clone(),
        r5.clone(),
        r7.clone(),
    ];
    ensure_eq!(
        C,
        ok(C, "append_events", store.append_events(&shuffled).await),
        7,
        "seven new events"
    );
    let ids = |rs: Vec<EventRecord>| rs.iter().map(|r| r.event_id.as_u128()).collect::<Vec<_>>();
    let cases: [(&str, i64, usize, &[u128]); 12] = [
        (
            "platform.*.chat.message",
            i64::MIN,
            100,
            &[10, 20, 25, 50, 60],
        ),
        ("platform.twitch.>", i64::MIN, 100, &[10, 25, 30]),
        ("bot.started", i64::MIN, 100, &[40]),
        ("bot", i64::MIN, 100, &[]),
        ("bot.>", i64::MIN, 100, &[40]),
        ("platform.my_bot.>", i64::MIN, 100, &[50]),
        (">", i64::MIN, 100, &[10, 20, 25, 30, 40, 50, 60]),
        (">", BASE + 3, 100, &[25, 30, 40, 50, 60]),
        (">", i64::MIN, 2, &[10, 20]),
        ("platform.*.chat.message", BASE + 3, 2, &[25, 50]),
        ("platform.*.chat.message", BASE + 7, 100, &[]),
        (">", i64::MIN, 0, &[]),
    ];
    for (pattern, since, limit, expected) in cases {
        let p = Pattern::new(pattern).unwrap_or_else(|e| panic!("bad test pattern: {e}"));
        let got = ok(
            C,
            "events_by_topic",
            store.events_by_topic(&p, since, limit).await,
        );
        ensure_eq!(
            C,
            ids(got),
            expected.to_vec(),
            "events_by_topic({pattern:?}, since {since}, limit {limit})"
        );
    }

    let (_, mut r1_changed) =
        event_record("platform.twitch.chat.message", Some("#a"), BASE + 1, 10);
    r1_changed.json = json!({"changed": true});
    let (_, r8) = event_record("platform.twitch.chat.message", Some("#a"), BASE + 8, 80);
    ensure_eq!(
        C,
        ok(
            C,
            "append_events",
            store.append_events(&[r1.clone(), r2.clone()]).await
        ),
        0,
        "appending stored event ids again adds nothing"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "append_events",
            store.append_events(&[r1_changed, r8]).await
        ),
        1,
        "only the new id counts"
    );
    ensure_eq!(
        C,
        ok(C, "stats", store.stats().await).events,
        8,
        "eight events stored"
    );
    let got = ok(
        C,
        "get_event",
        store.get_event(EventId::from_u128(10)).await,
    );
    ensure_eq!(
        C,
        got,
        Some(r1.clone()),
        "a duplicate must not overwrite the first record"
    );
    if let Some(got) = got {
        ensure_eq!(
            C,
            ok(C, "EventRecord::to_event", got.to_event()),
            e1,
            "the stored JSON decodes to the original event"
        );
    }
    ensure_eq!(
        C,
        ok(
            C,
            "get_event",
            store.get_event(EventId::from_u128(40)).await
        ),
        Some(r4),
        "an event with no channel"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "get_event",
            store.get_event(EventId::from_u128(999)).await
        ),
        None,
        "an unknown id"
    );
}

/// Pruning the event log removes exactly the events strictly older than the cutoff.
pub async fn events_prune<S: Store + ?Sized>(store: &S) {
    const C: &str = "events_prune";
    let records: Vec<EventRecord> = [(BASE - 1, 1), (BASE - 1, 2), (BASE, 3), (BASE + 1, 4)]
        .into_iter()
        .map(|(ts, id)| event_record("platform.twitch.chat.message", Some("#a"), ts, id).1)
        .collect();
    ok(C, "append_events", store.append_events(&records).await);
    ensure_eq!(
        C,
        ok(C, "prune_events", store.prune_events(BASE).await),
        2,
        "two events are older than the cutoff"
    );
    let all = Pattern::new(">").unwrap_or_else(|e| panic!("{e}"));
    let left: Vec<u128> = ok(
        C,
        "events_by_topic",
        store.events_by_topic(&all, i64::MIN, 100).await,
    )
    .iter()
    .map(|r| r.event_id.as_u128())
    .collect();
    ensure_eq!(C, left, vec![3, 4], "the event at exactly the cutoff stays");
    ensure_eq!(
        C,
        ok(C, "get_event", store.get_event(EventId::from_u128(1)).await),
        None,
        "a pruned event is gone by id too"
    );
    ensure_eq!(
        C,
        ok(C, "prune_events", store.prune_events(BASE).await),
        0,
        "pruning again removes nothing"
    );
}

// ---- counters --------------------------------------------------------------------------------

/// Increments land in the hour and day buckets holding them, with boundaries at whole UTC
/// hours and days; series cover `[from, to)` with `from` rounded down to its bucket; names
/// and dims are separate counters.
pub async fn counter_buckets<S: Store + ?Sized>(store: &S) {
    const C: &str = "counter_buckets";
    let (name, dims) = ("chat.messages", "twitch:#a");
    let incr = |name: &'static str, dims: &'static str, at: i64, by: i64| async move {
        ok(
            C,
            "incr_counter",
            store.incr_counter(name, dims, at, by).await,
        );
    };
    incr(name, dims, MIDNIGHT - 1, 1).await; // 23:59:59.999
    incr(name, dims, MIDNIGHT - 1000, 2).await; // 23:59:59.000
    incr(name, dims, MIDNIGHT, 4).await; // 00:00:00.000
    incr(name, dims, MIDNIGHT + HOUR - 1, 8).await; // 00:59:59.999
    incr(name, dims, MIDNIGHT + HOUR, 16).await; // 01:00:00.000
    incr(name, "twitch:#b", MIDNIGHT, 100).await;
    incr("other.counter", dims, MIDNIGHT, 1000).await;
    incr(name, "", MIDNIGHT, 10_000).await;
    let series = |name: &'static str, dims: &'static str, b: Bucket, from: i64, to: i64| async move {
        ok(
            C,
            "counter_series",
            store.counter_series(name, dims, b, from, to).await,
        )
    };
    let cases = [
        (
            Bucket::Hour,
            MIDNIGHT - DAY,
            MIDNIGHT + DAY,
            vec![(MIDNIGHT - HOUR, 3), (MIDNIGHT, 12), (MIDNIGHT + HOUR, 16)],
            "hour buckets around midnight",
        ),
        (
            Bucket::Day,
            MIDNIGHT - DAY,
            MIDNIGHT + DAY,
            vec![(MIDNIGHT - DAY, 3), (MIDNIGHT, 28)],
            "day buckets: 23:59:59.999 is the previous day, 00:00:00.000 the next",
        ),
        (
            Bucket::Hour,
            MIDNIGHT + 1,
            MIDNIGHT + DAY,
            vec![(MIDNIGHT, 12), (MIDNIGHT + HOUR, 16)],
            "a range starting inside a bucket includes that bucket",
        ),
        (
            Bucket::Hour,
            MIDNIGHT - DAY,
            MIDNIGHT + HOUR,
            vec![(MIDNIGHT - HOUR, 3), (MIDNIGHT, 12)],
            "the end of the range is exclusive",
        ),
        (
            Bucket::Hour,
            MIDNIGHT + HOUR,
            MIDNIGHT + HOUR,
            vec![],
            "an empty range",
        ),
        (
            Bucket::Day,
            MIDNIGHT,
            MIDNIGHT + 1,
            vec![(MIDNIGHT, 28)],
            "one day",
        ),
    ];
    for (bucket, from, to, expected, what) in cases {
        ensure_eq!(
            C,
            series(name, dims, bucket, from, to).await,
            expected,
            "{what}"
        );
    }
    ensure_eq!(
        C,
        series(
            name,
            "twitch:#b",
            Bucket::Hour,
            MIDNIGHT - DAY,
            MIDNIGHT + DAY
        )
        .await,
        vec![(MIDNIGHT, 100)],
        "other dims are another counter"
    );
    ensure_eq!(
        C,
        series(name, "", Bucket::Hour, MIDNIGHT - DAY, MIDNIGHT + DAY).await,
        vec![(MIDNIGHT, 10_000)],
        "empty dims are a counter of their own"
    );
    ensure_eq!(
        C,
        series(
            "other.counter",
            dims,
            Bucket::Day,
            MIDNIGHT - DAY,
            MIDNIGHT + DAY
        )
        .await,
        vec![(MIDNIGHT, 1000)],
        "other names are another counter"
    );
    ensure_eq!(
        C,
        series("missing", dims, Bucket::Day, MIDNIGHT - DAY, MIDNIGHT + DAY).await,
        vec![],
        "an unknown counter has no buckets"
    );

    incr(name, dims, MIDNIGHT + 5, -2).await;
    ensure_eq!(
        C,
        series(name, dims, Bucket::Hour, MIDNIGHT, MIDNIGHT + 1).await,
        vec![(MIDNIGHT, 10)],
        "a negative increment subtracts (hour)"
    );
    ensure_eq!(
        C,
        series(name, dims, Bucket::Day, MIDNIGHT, MIDNIGHT + 1).await,
        vec![(MIDNIGHT, 26)],
        "a negative increment subtracts (day)"
    );

    incr("epoch", "", -1, 1).await;
    incr("epoch", "", 0, 1).await;
    ensure_eq!(
        C,
        series("epoch", "", Bucket::Hour, -DAY, DAY).await,
        vec![(-HOUR, 1), (0, 1)],
        "times before 1970 round down to their hour (floor, not truncation)"
    );
    ensure_eq!(
        C,
        series("epoch", "", Bucket::Day, -DAY, DAY).await,
        vec![(-DAY, 1), (0, 1)],
        "times before 1970 round down to their day"
    );

    let e = err(
        C,
        "incr_counter with an empty name",
        store.incr_counter("", dims, 0, 1).await,
    );
    ensure!(
        C,
        matches!(e, StoreError::Invalid { .. }),
        "expected Invalid, got {e:?}"
    );
}

/// Batched increments equal single ones; `counter_top` ranks dims by their total in range,
/// ties by dims.
pub async fn counter_batch_and_top<S: Store + ?Sized>(store: &S) {
    const C: &str = "counter_batch_and_top";
    let batch = [
        CounterIncr::new("chatters", "alice", MIDNIGHT + 1, 5),
        CounterIncr::new("chatters", "bob", MIDNIGHT + 2, 7),
        CounterIncr::new("chatters", "carol", MIDNIGHT - 1, 100),
        CounterIncr::new("chatters", "dave", MIDNIGHT + 3, 7),
        CounterIncr::new("chatters", "alice", MIDNIGHT + HOUR, 3),
        CounterIncr::new("other", "zed", MIDNIGHT, 1000),
    ];
    ok(C, "incr_counters", store.incr_counters(&batch).await);
    ensure_eq!(
        C,
        ok(
            C,
            "counter_series",
            store
                .counter_series("chatters", "alice", Bucket::Hour, MIDNIGHT, MIDNIGHT + DAY)
                .await
        ),
        vec![(MIDNIGHT, 5), (MIDNIGHT + HOUR, 3)],
        "batched increments land in their hour buckets"
    );
    let top = |b: Bucket, from: i64, to: i64, limit: usize| async move {
        ok(
            C,
            "counter_top",
            store.counter_top("chatters", b, from, to, limit).await,
        )
    };
    let s = |v: &[(&str, i64)]| {
        v.iter()
            .map(|(d, n)| ((*d).to_owned(), *n))
            .collect::<Vec<_>>()
    };
    ensure_eq!(
        C,
        top(Bucket::Day, MIDNIGHT, MIDNIGHT + DAY, 10).await,
        s(&[("alice", 8), ("bob", 7), ("dave", 7)]),
        "top of one day: highest total first, ties by dims; other days and names excluded"
    );
    ensure_eq!(
        C,
        top(Bucket::Day, MIDNIGHT, MIDNIGHT + DAY, 2).await,
        s(&[("alice", 8), ("bob", 7)]),
        "limit"
    );
    ensure_eq!(
        C,
        top(Bucket::Hour, MIDNIGHT, MIDNIGHT + HOUR, 10).await,
        s(&[("bob", 7), ("dave", 7), ("alice", 5)]),
        "top of one hour"
    );
    ensure_eq!(
        C,
        top(Bucket::Day, MIDNIGHT - DAY, MIDNIGHT + DAY, 1).await,
        s(&[("carol", 100)]),
        "top over two days"
    );
    ensure_eq!(
        C,
        ok(C, "stats", store.stats().await).counter_buckets,
        11,
        "each increment touches one hour and one day bucket; shared buckets count once"
    );
}

/// Pruning counters removes only buckets of the given width that end at or before the
/// cutoff.
pub async fn counter_prune<S: Store + ?Sized>(store: &S) {
    const C: &str = "counter_prune";
    for at in [MIDNIGHT - DAY - 1, MIDNIGHT - 1, MIDNIGHT] {
        ok(C, "incr_counter", store.incr_counter("c", "", at, 1).await);
    }
    ensure_eq!(
        C,
        ok(
            C,
            "prune_counters",
            store.prune_counters(Bucket::Hour, MIDNIGHT).await
        ),
        2,
        "two hour buckets end at or before midnight"
    );
    let series = |b: Bucket| async move {
        ok(
            C,
            "counter_series",
            store
                .counter_series("c", "", b, MIDNIGHT - 3 * DAY, MIDNIGHT + DAY)
                .await,
        )
    };
    ensure_eq!(
        C,
        series(Bucket::Hour).await,
        vec![(MIDNIGHT, 1)],
        "the hour bucket starting at the cutoff stays"
    );
    ensure_eq!(
        C,
        series(Bucket::Day).await,
        vec![(MIDNIGHT - 2 * DAY, 1), (MIDNIGHT - DAY, 1), (MIDNIGHT, 1)],
        "pruning hour buckets keeps day buckets"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "prune_counters",
            store.prune_counters(Bucket::Day, MIDNIGHT - 1).await
        ),
        1,
        "only the day bucket that ended before the cutoff goes"
    );
    ensure_eq!(
        C,
        series(Bucket::Day).await,
        vec![(MIDNIGHT - DAY, 1), (MIDNIGHT, 1)],
        "a day bucket still open at the cutoff stays"
    );
}

// ---- retry queue -----------------------------------------------------------------------------

fn job_ids(jobs: &[super::Job]) -> Vec<JobId> {
    jobs.iter().map(|j| j.id).collect()
}

/// Due jobs are claimed highest priority first, then earliest due, then oldest; jobs not yet
/// due and jobs of other queues are not claimed; `limit` is respected.
pub async fn queue_ordering<S: Store + ?Sized>(store: &S) {
    const C: &str = "queue_ordering";
    let q = "webhooks";
    let enq = |queue: &'static str, name: &str, prio: i32, due: i64| {
        let job = NewJob::new(json!(name)).with_priority(prio).with_due(due);
        async move { ok(C, "enqueue", store.enqueue(queue, job).await) }
    };
    let a = enq(q, "a", 0, 100).await;
    let b = enq(q, "b", 5, 200).await;
    let c = enq(q, "c", 5, 150).await;
    let d = enq(q, "d", 0, 50).await;
    let e = enq(q, "e", 9, 1000).await;
    let f = enq(q, "f", 5, 150).await;
    let g = enq(q, "g", -1, 0).await;
    let x = enq("other", "x", 100, 0).await;
    let claimed = ok(C, "claim_due", store.claim_due(q, 500, 10, LEASE).await);
    ensure_eq!(
        C,
        job_ids(&claimed),
        vec![c, f, b, d, a, g],
        "order: priority desc, due asc, then enqueue order; not-due and other-queue jobs excluded"
    );
    if let Some(first) = claimed.first() {
        ensure_eq!(
            C,
            (
                first.queue.as_str(),
                &first.payload,
                first.priority,
                first.due_ms,
                first.attempts,
                first.max_attempts,
                &first.last_error
            ),
            (
                q,
                &json!("c"),
                5,
                150,
                0,
                NewJob::DEFAULT_MAX_ATTEMPTS,
                &None
            ),
            "claimed job fields"
        );
    }
    ensure_eq!(
        C,
        job_ids(&ok(
            C,
            "claim_due",
            store.claim_due(q, 500, 10, LEASE).await
        )),
        vec![],
        "leased jobs are not claimed again"
    );
    ensure_eq!(
        C,
        job_ids(&ok(
            C,
            "claim_due",
            store.claim_due(q, 1000, 10, LEASE).await
        )),
        vec![e],
        "a job is claimable at exactly its due time"
    );
    ensure_eq!(
        C,
        ok(C, "queue_len", store.queue_len(q).await),
        7,
        "queue_len counts leased jobs"
    );
    ensure_eq!(
        C,
        ok(C, "queue_len", store.queue_len("other").await),
        1,
        "other queue"
    );
    ensure_eq!(
        C,
        ok(C, "queue_len", store.queue_len("none").await),
        0,
        "unknown queue"
    );
    ensure_eq!(
        C,
        job_ids(&ok(
            C,
            "claim_due",
            store.claim_due("other", 0, 10, LEASE).await
        )),
        vec![x],
        "other queue"
    );

    let mut limited = Vec::new();
    for p in 1..=5 {
        limited.push(enq("limited", "l", p, 0).await);
    }
    let claim = |limit: usize| async move {
        job_ids(&ok(
            C,
            "claim_due",
            store.claim_due("limited", 0, limit, LEASE).await,
        ))
    };
    ensure_eq!(
        C,
        claim(2).await,
        vec![limited[4], limited[3]],
        "limit 2, highest first"
    );
    ensure_eq!(C, claim(0).await, vec![], "limit 0 claims nothing");
    ensure_eq!(C, claim(2).await, vec![limited[2], limited[1]], "next 2");
    ensure_eq!(C, claim(10).await, vec![limited[0]], "the rest");
}

/// A claimed job is invisible until its lease expires at exactly `claim time + lease`, then
/// claimable again (without counting as a failure); `ack` removes it for good.
pub async fn queue_lease_expiry<S: Store + ?Sized>(store: &S) {
    const C: &str = "queue_lease_expiry";
    let q = "leases";
    let j = ok(
        C,
        "enqueue",
        store.enqueue(q, NewJob::new(json!({"n": 1}))).await,
    );
    let claim =
        |now: i64| async move { ok(C, "claim_due", store.claim_due(q, now, 10, 500).await) };
    ensure_eq!(C, job_ids(&claim(1000).await), vec![j], "first claim");
    ensure_eq!(C, job_ids(&claim(1000).await), vec![], "leased at once");
    ensure_eq!(C, job_ids(&claim(1499).await), vec![], "leased until 1500");
    let again = claim(1500).await;
    ensure_eq!(
        C,
        job_ids(&again),
        vec![j],
        "claimable when the lease expires"
    );
    ensure_eq!(
        C,
        again.first().map(|j| j.attempts),
        Some(0),
        "an expired lease is not a failure"
    );
    ensure_eq!(
        C,
        job_ids(&claim(1600).await),
        vec![],
        "re-leased until 2000"
    );
    ok(C, "ack", store.ack(j).await);
    ensure_eq!(
        C,
        job_ids(&claim(10_000).await),
        vec![],
        "an acked job is gone"
    );
    ensure_eq!(
        C,
        ok(C, "queue_len", store.queue_len(q).await),
        0,
        "queue empty after ack"
    );
}

/// `fail` counts attempts, records the error, releases the lease and reschedules; at
/// `max_attempts` the job moves to the dead letters; dead letters can be requeued and
/// purged.
pub async fn queue_fail_retry_dead<S: Store + ?Sized>(store: &S) {
    const C: &str = "queue_fail_retry_dead";
    let q = "retry";
    let payload = json!({"to": "x"});
    let j = ok(
        C,
        "enqueue",
        store
            .enqueue(
                q,
                NewJob::new(payload.clone())
                    .with_max_attempts(3)
                    .with_priority(2),
            )
            .await,
    );
    let bystander = ok(
        C,
        "enqueue",
        store
            .enqueue(q, NewJob::new(json!("bystander")).with_due(1_000_000))
            .await,
    );
    let claim =
        |now: i64| async move { ok(C, "claim_due", store.claim_due(q, now, 10, 1000).await) };
    ensure_eq!(C, job_ids(&claim(0).await), vec![j], "first claim");
    ensure_eq!(
        C,
        ok(C, "fail", store.fail(j, "boom 1", 100).await),
        JobFate::Retrying {
            attempts: 1,
            due_ms: 100
        },
        "first failure"
    );
    ensure_eq!(
        C,
        job_ids(&claim(99).await),
        vec![],
        "not due before retry_at"
    );
    let retried = claim(100).await;
    ensure_eq!(
        C,
        retried
            .iter()
            .map(|j| (j.id, j.attempts, j.due_ms, j.last_error.clone()))
            .collect::<Vec<_>>(),
        vec![(j, 1, 100, Some("boom 1".to_owned()))],
        "fail releases the lease: claimable at retry_at, with attempts and last error"
    );
    ensure_eq!(
        C,
        ok(C, "fail", store.fail(j, "boom 2", 200).await),
        JobFate::Retrying {
            attempts: 2,
            due_ms: 200
        },
        "second failure"
    );
    ensure_eq!(C, job_ids(&claim(200).await), vec![j], "third claim");
    ensure_eq!(
        C,
        ok(C, "fail", store.fail(j, "boom 3", 300).await),
        JobFate::Dead { attempts: 3 },
        "the third failure reaches max_attempts"
    );
    ensure_eq!(
        C,
        job_ids(&claim(10_000).await),
        vec![],
        "a dead job is not claimable"
    );
    ensure_eq!(
        C,
        ok(C, "queue_len", store.queue_len(q).await),
        1,
        "dead jobs leave the queue"
    );
    let dead_j = DeadJob {
        id: j,
        queue: q.to_owned(),
        payload: payload.clone(),
        priority: 2,
        attempts: 3,
        max_attempts: 3,
        error: "boom 3".to_owned(),
    };
    ensure_eq!(
        C,
        ok(C, "dead_letters", store.dead_letters(q, 10).await),
        vec![dead_j.clone()],
        "the dead letter keeps payload, attempts and last error"
    );
    ensure_eq!(
        C,
        ok(C, "dead_letters", store.dead_letters("other", 10).await),
        vec![],
        "dead letters are per queue"
    );
    let e = err(C, "fail on a dead job", store.fail(j, "again", 0).await);
    ensure!(
        C,
        matches!(e, StoreError::NotFound { .. }),
        "expected NotFound, got {e:?}"
    );
    let e = err(C, "ack on a dead job", store.ack(j).await);
    ensure!(
        C,
        matches!(e, StoreError::NotFound { .. }),
        "expected NotFound, got {e:?}"
    );

    let k = ok(
        C,
        "enqueue",
        store
            .enqueue(q, NewJob::new(json!("k")).with_max_attempts(1))
            .await,
    );
    ensure_eq!(
        C,
        ok(C, "fail", store.fail(k, "fatal", 0).await),
        JobFate::Dead { attempts: 1 },
        "max_attempts 1 dies on the first failure (also without a claim)"
    );
    let dead = ok(C, "dead_letters", store.dead_letters(q, 10).await);
    ensure_eq!(
        C,
        dead.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![j, k],
        "dead letters in the order they died"
    );
    ensure_eq!(
        C,
        ok(C, "dead_letters", store.dead_letters(q, 1).await),
        vec![dead_j],
        "limit keeps the oldest"
    );

    let nj = ok(C, "requeue_dead", store.requeue_dead(j, 50).await);
    ensure_eq!(
        C,
        ok(C, "dead_letters", store.dead_letters(q, 10).await)
            .iter()
            .map(|d| d.id)
            .collect::<Vec<_>>(),
        vec![k],
        "a requeued job leaves the dead letters"
    );
    ensure_eq!(
        C,
        job_ids(&claim(49).await),
        vec![],
        "requeued job due at 50"
    );
    let back = claim(50).await;
    ensure_eq!(
        C,
        back.iter()
            .map(|j| (
                j.id,
                j.payload.clone(),
                j.priority,
                j.attempts,
                j.max_attempts
            ))
            .collect::<Vec<_>>(),
        vec![(nj, payload, 2, 0, 3)],
        "a requeued job keeps payload, priority and limit, with attempts reset"
    );
    let e = err(
        C,
        "requeue_dead of a live job",
        store.requeue_dead(j, 0).await,
    );
    ensure!(
        C,
        matches!(e, StoreError::NotFound { .. }),
        "expected NotFound, got {e:?}"
    );
    ensure_eq!(
        C,
        ok(C, "purge_dead", store.purge_dead(q).await),
        1,
        "one dead letter left"
    );
    ensure_eq!(
        C,
        ok(C, "dead_letters", store.dead_letters(q, 10).await),
        vec![],
        "purged"
    );
    ensure_eq!(
        C,
        ok(C, "purge_dead", store.purge_dead(q).await),
        0,
        "nothing left to purge"
    );
    let stats = ok(C, "stats", store.stats().await);
    ensure_eq!(
        C,
        (stats.jobs, stats.dead_jobs),
        (2, 0),
        "the bystander and the requeued job remain"
    );
    ok(C, "ack", store.ack(nj).await);
    ensure_eq!(
        C,
        job_ids(&claim(1_000_000).await),
        vec![bystander],
        "failures of one job do not touch another"
    );
}

/// `ack`, `fail` and `requeue_dead` of unknown jobs are `NotFound`; empty queue names and
/// `max_attempts == 0` are `Invalid`; `ack` of an unclaimed job removes it.
pub async fn queue_ack_and_invalid<S: Store + ?Sized>(store: &S) {
    const C: &str = "queue_ack_and_invalid";
    let unknown = JobId::from_i64(i64::MAX);
    let e = err(C, "ack of an unknown job", store.ack(unknown).await);
    ensure!(
        C,
        matches!(e, StoreError::NotFound { .. }),
        "expected NotFound, got {e:?}"
    );
    let e = err(
        C,
        "fail of an unknown job",
        store.fail(unknown, "x", 0).await,
    );
    ensure!(
        C,
        matches!(e, StoreError::NotFound { .. }),
        "expected NotFound, got {e:?}"
    );
    let e = err(
        C,
        "requeue_dead of an unknown job",
        store.requeue_dead(unknown, 0).await,
    );
    ensure!(
        C,
        matches!(e, StoreError::NotFound { .. }),
        "expected NotFound, got {e:?}"
    );
    let e = err(
        C,
        "enqueue on an empty queue name",
        store.enqueue("", NewJob::new(json!(1))).await,
    );
    ensure!(
        C,
        matches!(e, StoreError::Invalid { .. }),
        "expected Invalid, got {e:?}"
    );
    let e = err(
        C,
        "enqueue with max_attempts 0",
        store
            .enqueue("q", NewJob::new(json!(1)).with_max_attempts(0))
            .await,
    );
    ensure!(
        C,
        matches!(e, StoreError::Invalid { .. }),
        "expected Invalid, got {e:?}"
    );
    ensure_eq!(
        C,
        ok(C, "queue_len", store.queue_len("q").await),
        0,
        "refused jobs are not queued"
    );

    let a = ok(
        C,
        "enqueue",
        store.enqueue("q", NewJob::new(json!("a"))).await,
    );
    let b = ok(
        C,
        "enqueue",
        store.enqueue("q", NewJob::new(json!("b"))).await,
    );
    ensure!(C, a != b, "job ids must be unique");
    ok(C, "ack of an unclaimed job", store.ack(a).await);
    let e = err(C, "a second ack", store.ack(a).await);
    ensure!(
        C,
        matches!(e, StoreError::NotFound { .. }),
        "expected NotFound, got {e:?}"
    );
    ensure_eq!(
        C,
        job_ids(&ok(
            C,
            "claim_due",
            store.claim_due("q", 0, 10, LEASE).await
        )),
        vec![b],
        "acking one job leaves the other"
    );
}

// ---- concurrency -------------------------------------------------------------------------

/// Concurrent callers (run as concurrent futures, so a pooled backend uses several
/// connections): compare-and-swap has exactly one winner, and no job is claimed twice.
pub async fn concurrent_callers<S: Store + ?Sized>(store: &S) {
    const C: &str = "concurrent_callers";
    ok(C, "kv_put", store.kv_put("race", "k", json!(0)).await);
    let expected = json!(0);
    let results = join_all((1..=20).map(|i| {
        let expected = &expected;
        async move {
            let won = ok(
                C,
                "kv_compare_and_swap",
                store
                    .kv_compare_and_swap("race", "k", Some(expected), Some(json!(i)))
                    .await,
            );
            (i, won)
        }
    }))
    .await;
    let winners: Vec<i32> = results
        .iter()
        .filter(|(_, w)| *w)
        .map(|(i, _)| *i)
        .collect();
    ensure_eq!(
        C,
        winners.len(),
        1,
        "exactly one compare-and-swap must win, winners {winners:?}"
    );
    ensure_eq!(
        C,
        ok(C, "kv_get", store.kv_get("race", "k").await),
        winners.first().map(|i| json!(i)),
        "the stored value is the winner's"
    );

    let mut all = HashSet::new();
    for i in 0..50 {
        all.insert(ok(
            C,
            "enqueue",
            store.enqueue("work", NewJob::new(json!(i))).await,
        ));
    }
    let batches = join_all((0..10).map(|_| store.claim_due("work", 0, 7, LEASE))).await;
    let mut seen = HashSet::new();
    for batch in batches {
        for job in ok(C, "concurrent claim_due", batch) {
            ensure!(C, seen.insert(job.id), "{} was claimed twice", job.id);
        }
    }
    for job in ok(C, "claim_due", store.claim_due("work", 0, 100, LEASE).await) {
        ensure!(C, seen.insert(job.id), "{} was claimed twice", job.id);
    }
    ensure_eq!(C, seen, all, "every job is claimed exactly once");
}

// ---- durability ------------------------------------------------------------------------------

/// Writes a small fixture in every area and flushes. Pair with [`persistence_verify`] on
/// a reopened store to check durability across a restart.
pub async fn persistence_write<S: Store + ?Sized>(store: &S) {
    const C: &str = "persistence_write";
    ok(C, "kv_put", store.kv_put("p1", "a", json!({"x": 1})).await);
    ok(C, "kv_put", store.kv_put("p1", "b", json!([1, 2])).await);
    ok(C, "kv_put", store.kv_put("p2", "a", json!("ü")).await);
    let records: Vec<ChatRecord> = (0..5)
        .map(|i| {
            rec(
                &twitch_main(),
                "alice",
                &format!("persist {i} 👋"),
                BASE + i,
            )
            .with_message_id(format!("id{i}"))
        })
        .collect();
    ok(C, "append_chat", store.append_chat(&records).await);
    let events = [
        event_record("platform.twitch.chat.message", Some("#main"), BASE, 1).1,
        event_record("bot.started", None, BASE + 1, 2).1,
    ];
    ok(C, "append_events", store.append_events(&events).await);
    ok(
        C,
        "incr_counter",
        store.incr_counter("persist", "d", MIDNIGHT, 7).await,
    );
    ok(
        C,
        "enqueue",
        store
            .enqueue("persist", NewJob::new(json!("live")).with_priority(3))
            .await,
    );
    let doomed = ok(
        C,
        "enqueue",
        store
            .enqueue("persist", NewJob::new(json!("doomed")).with_max_attempts(1))
            .await,
    );
    ok(C, "fail", store.fail(doomed, "gone", 0).await);
    ok(C, "flush", store.flush().await);
}

/// Checks that everything [`persistence_write`] wrote is there. Repeatable: it only reads
/// (and claims with a zero lease).
pub async fn persistence_verify<S: Store + ?Sized>(store: &S) {
    const C: &str = "persistence_verify";
    let stats = ok(C, "stats", store.stats().await);
    let expected = StoreStats {
        kv_entries: 3,
        chat_records: 5,
        events: 2,
        counter_buckets: 2,
        jobs: 1,
        dead_jobs: 1,
    };
    ensure_eq!(C, stats, expected, "row counts after flush");
    ensure_eq!(
        C,
        ok(C, "kv_entries", store.kv_entries("p1", "").await),
        vec![
            ("a".to_owned(), json!({"x": 1})),
            ("b".to_owned(), json!([1, 2]))
        ],
        "kv entries"
    );
    ensure_eq!(
        C,
        ok(C, "kv_get", store.kv_get("p2", "a").await),
        Some(json!("ü")),
        "kv value"
    );
    let chat = ok(
        C,
        "recent_chat",
        store.recent_chat(&twitch_main(), 10).await,
    );
    ensure_eq!(
        C,
        texts(&chat),
        (0..5)
            .map(|i| format!("persist {i} 👋"))
            .collect::<Vec<_>>(),
        "chat log"
    );
    ensure_eq!(
        C,
        chat.iter()
            .map(|r| r.message_id.clone())
            .collect::<Vec<_>>(),
        (0..5).map(|i| Some(format!("id{i}"))).collect::<Vec<_>>(),
        "chat message ids"
    );
    let all = Pattern::new(">").unwrap_or_else(|e| panic!("{e}"));
    ensure_eq!(
        C,
        ok(
            C,
            "events_by_topic",
            store.events_by_topic(&all, i64::MIN, 10).await
        )
        .iter()
        .map(|r| r.event_id.as_u128())
        .collect::<Vec<_>>(),
        vec![1, 2],
        "event log"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "counter_series",
            store
                .counter_series("persist", "d", Bucket::Hour, MIDNIGHT, MIDNIGHT + 1)
                .await
        ),
        vec![(MIDNIGHT, 7)],
        "counter"
    );
    let jobs = ok(C, "claim_due", store.claim_due("persist", 0, 10, 0).await);
    ensure_eq!(
        C,
        jobs.iter()
            .map(|j| (j.payload.clone(), j.priority))
            .collect::<Vec<_>>(),
        vec![(json!("live"), 3)],
        "queued job"
    );
    ensure_eq!(
        C,
        ok(C, "dead_letters", store.dead_letters("persist", 10).await)
            .iter()
            .map(|d| (d.payload.clone(), d.error.clone()))
            .collect::<Vec<_>>(),
        vec![(json!("doomed"), "gone".to_owned())],
        "dead letter"
    );
}

/// After `flush`, reads see every write in every area, and `stats` counts them.
pub async fn flush_then_read<S: Store + ?Sized>(store: &S) {
    persistence_write(store).await;
    persistence_verify(store).await;
    persistence_verify(store).await;
}
