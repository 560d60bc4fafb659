//! Behaviour tests of the bus: routing, priorities, overflow accounting, ordering,
//! request/reply, panics, drain and close.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as Mem};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::event::{ChatMessage, Priority, Roles, User};

/// An event on `topic` carrying the sequence number `n`.
fn ev(topic: &str, n: u64, priority: Priority) -> Event {
    Event::new(
        Topic::new(topic).unwrap(),
        Source::bot(),
        Payload::Custom {
            kind: "seq".into(),
            data: serde_json::json!(n),
        },
    )
    .with_priority(priority)
}

/// A chat message by `user` in `channel` whose text is the sequence number `n`.
fn chat(channel: &str, user: &str, n: u64) -> Event {
    let u = User::new("test", user, Roles::everyone());
    Event::platform(
        Source::new("test", "main", Some(channel)),
        "chat.message",
        Payload::ChatMessage(ChatMessage::new(u, n.to_string())),
    )
    .unwrap()
}

fn seq(e: &Event) -> u64 {
    match &e.payload {
        Payload::Custom { data, .. } => data.as_u64().unwrap(),
        Payload::ChatMessage(m) => m.text.parse().unwrap(),
        other => panic!("unexpected payload {other:?}"),
    }
}

fn drain_now(sub: &mut Subscriber) -> Vec<Arc<Event>> {
    std::iter::from_fn(|| sub.try_recv()).collect()
}

fn random_priority() -> Priority {
    Priority::ALL[fastrand::usize(..4)]
}

// ---------------------------------------------------------------- routing

fn pattern_strategy() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec!["a", "b", "*"]);
    (prop::collection::vec(token, 1..4), any::<bool>()).prop_map(|(mut t, tail)| {
        if tail {
            t.push(">");
        }
        t.join(".")
    })
}

fn topic_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 1..5).prop_map(|t| t.join("."))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Through the whole bus (index + route cache, with subscriptions changing between
    /// publishes), each subscriber receives exactly the topics its pattern matches.
    #[test]
    fn bus_routes_like_the_reference(
        patterns in prop::collection::vec(pattern_strategy(), 1..40),
        topics in prop::collection::vec(topic_strategy(), 1..20),
        late in prop::collection::vec(pattern_strategy(), 0..5),
    ) {
        let bus = Bus::default();
        let mut subs: Vec<(Pattern, Subscriber)> = patterns
            .iter()
            .map(|p| (Pattern::new(p).unwrap(), bus.subscribe(Subscription::to(p)).unwrap()))
            .collect();
        // Warm the cache, then change the subscriptions so stale routes would show.
        for t in &topics {
            bus.publish(ev(t, 0, Priority::Normal)).unwrap();
        }
        for (_, s) in &mut subs {
            drain_now(s);
        }
        for p in &late {
            subs.push((Pattern::new(p).unwrap(), bus.subscribe(Subscription::to(p)).unwrap()));
        }
        if subs.len() > 1 {
            subs.remove(0);
        }
        for (i, t) in topics.iter().enumerate() {
            let expected = subs.iter().filter(|(p, _)| p.matches(t)).count();
            prop_assert_eq!(bus.publish(ev(t, i as u64, Priority::Normal)).unwrap(), expected);
        }
        for (p, s) in &mut subs {
            let got: Vec<u64> = drain_now(s).iter().map(|e| seq(e)).collect();
            let want: Vec<u64> = topics
                .iter()
                .enumerate()
                .filter(|(_, t)| p.matches(t))
                .map(|(i, _)| i as u64)
                .collect();
            prop_assert_eq!(got, want, "pattern {}", p);
        }
    }
}

#[test]
fn invalid_pattern_is_reported_at_subscribe() {
    let bus = Bus::default();
    let err = bus.subscribe(Subscription::to("a.>.b")).unwrap_err();
    assert!(matches!(
        err,
        BusError::InvalidPattern(TopicError::BadWildcard(_))
    ));
    assert!(!err.is_transient());
}

#[test]
fn subscribing_after_a_topic_was_cached_still_receives() {
    let bus = Bus::default();
    let topic = Topic::new("platform.twitch.chat.message").unwrap();
    // Cached as "nobody listens".
    assert_eq!(bus.publish(ev(topic.as_str(), 0, Priority::Normal)), Ok(0));
    assert!(!bus.has_subscribers(&topic));
    let mut sub = bus
        .subscribe(Subscription::to("platform.*.chat.>"))
        .unwrap();
    assert!(bus.has_subscribers(&topic));
    assert_eq!(bus.publish(ev(topic.as_str(), 1, Priority::Normal)), Ok(1));
    assert_eq!(sub.try_recv().map(|e| seq(&e)), Some(1));
    // And unsubscribing invalidates the cached route too.
    drop(sub);
    assert_eq!(bus.publish(ev(topic.as_str(), 2, Priority::Normal)), Ok(0));
    assert!(!bus.has_subscribers(&topic));
    assert_eq!(bus.subscribers_of(&topic), vec![]);
    let stats = bus.stats();
    assert_eq!(stats.unrouted, 2);
    assert_eq!(stats.topics[topic.as_str()].published, 3);
}

#[test]
fn route_cache_can_be_disabled_or_tiny() {
    for cap in [0, 1] {
        let bus = Bus::new(BusConfig::default().with_route_cache_capacity(cap));
        let mut sub = bus.subscribe(Subscription::to("a.*")).unwrap();
        for i in 0..10 {
            let t = format!("a.t{}", i % 3);
            assert_eq!(bus.publish(ev(&t, i, Priority::Normal)), Ok(1));
        }
        assert_eq!(drain_now(&mut sub).len(), 10);
    }
}

// ---------------------------------------------------------------- priorities & overflow

#[test]
fn queue_delivers_highest_priority_first_fifo_within() {
    let bus = Bus::default();
    let mut sub = bus.subscribe(Subscription::to("t").capacity(1000)).unwrap();
    let mut sent = Vec::new();
    for i in 0..200 {
        let p = random_priority();
        sent.push((p, i));
        assert_eq!(bus.publish(ev("t", i, p)), Ok(1));
    }
    let got: Vec<(Priority, u64)> = drain_now(&mut sub)
        .iter()
        .map(|e| (e.priority, seq(e)))
        .collect();
    // A stable sort by priority is exactly "highest first, publish order within".
    sent.sort_by_key(|(p, _)| *p);
    assert_eq!(got, sent);
}

#[test]
fn drop_oldest_evicts_lowest_class_not_above_incoming() {
    let bus = Bus::default();
    let mut sub = bus
        .subscribe(
            Subscription::to("t")
                .capacity(2)
                .overflow(Overflow::DropOldest),
        )
        .unwrap();
    let steps = [
        (0, Priority::Low),
        (1, Priority::Normal),
        (2, Priority::High),     // evicts 0 (low)
        (3, Priority::Normal),   // evicts 1 (oldest normal)
        (4, Priority::Low),      // nothing at or below low: dropped itself
        (5, Priority::Critical), // evicts 3 (normal, the lowest class)
        (6, Priority::Critical), // evicts 2 (high)
        (7, Priority::Critical), // only criticals left: queued beyond capacity
    ];
    let queued: Vec<usize> = steps
        .iter()
        .map(|(n, p)| bus.publish(ev("t", *n, *p)).unwrap())
        .collect();
    assert_eq!(queued, [1, 1, 1, 1, 0, 1, 1, 1]);
    let got: Vec<u64> = drain_now(&mut sub).iter().map(|e| seq(e)).collect();
    assert_eq!(got, [5, 6, 7]);
    let s = bus.stats().subscribers[0].clone();
    assert_eq!((s.received, s.delivered, s.dropped), (8, 3, 5));
    assert_eq!(s.critical_overflow, 1);
}

#[test]
fn drop_newest_keeps_queue_and_never_drops_critical() {
    let bus = Bus::default();
    let mut sub = bus.subscribe(Subscription::to("t").capacity(1)).unwrap();
    assert_eq!(bus.publish(ev("t", 0, Priority::Low)), Ok(1));
    assert_eq!(bus.publish(ev("t", 1, Priority::High)), Ok(0));
    assert_eq!(bus.publish(ev("t", 2, Priority::Critical)), Ok(1));
    let got: Vec<u64> = drain_now(&mut sub).iter().map(|e| seq(e)).collect();
    assert_eq!(got, [2, 0]);
    let s = bus.stats().subscribers[0].clone();
    assert_eq!(
        (s.received, s.delivered, s.dropped, s.critical_overflow),
        (3, 2, 1, 1)
    );
}

/// Random bursts into small queues: every publish is either delivered or counted as
/// dropped, per subscriber and per topic, and no critical event is ever lost.
#[test]
fn drop_accounting_is_exact_for_both_policies() {
    for overflow in [Overflow::DropNewest, Overflow::DropOldest] {
        let bus = Bus::default();
        let mut subs: Vec<Subscriber> = (0..3)
            .map(|i| {
                bus.subscribe(
                    Subscription::to(["t.>", "t.a", "t.*"][i])
                        .capacity(4 + i)
                        .overflow(overflow),
                )
                .unwrap()
            })
            .collect();
        let mut criticals: HashMap<usize, HashSet<u64>> = HashMap::new();
        let mut matched = [0u64; 3];
        let mut got: Vec<Vec<Arc<Event>>> = vec![Vec::new(); 3];
        for n in 0..500u64 {
            let topic = if n % 3 == 0 { "t.b" } else { "t.a" };
            let p = random_priority();
            bus.publish(ev(topic, n, p)).unwrap();
            for (i, s) in subs.iter().enumerate() {
                let pat = Pattern::new(s.name()).unwrap();
                if pat.matches(topic) {
                    matched[i] += 1;
                    if p == Priority::Critical {
                        criticals.entry(i).or_default().insert(n);
                    }
                }
            }
            // A consumer that reads sometimes, so queues are full most of the time.
            if fastrand::u8(..) < 40 {
                for (i, s) in subs.iter_mut().enumerate() {
                    got[i].extend(s.try_recv());
                }
            }
        }
        for (i, s) in subs.iter_mut().enumerate() {
            got[i].extend(drain_now(s));
        }
        let stats = bus.stats();
        for (i, s) in stats.subscribers.iter().enumerate() {
            assert_eq!(s.received, matched[i], "{overflow:?} sub {i}");
            assert_eq!(s.delivered, got[i].len() as u64);
            assert_eq!(s.received, s.delivered + s.dropped, "{overflow:?} {s:?}");
            assert!(s.dropped > 0, "the test must overflow");
            let delivered: HashSet<u64> = got[i].iter().map(|e| seq(e)).collect();
            let crit = criticals.remove(&i).unwrap_or_default();
            assert!(
                crit.is_subset(&delivered),
                "{overflow:?}: a critical event was lost"
            );
        }
        let (mut pub_total, mut topic_deliv, mut topic_drop) = (0, 0, 0);
        for t in stats.topics.values() {
            pub_total += t.published;
            topic_deliv += t.delivered;
            topic_drop += t.dropped;
        }
        assert_eq!(pub_total, 500);
        assert_eq!(stats.published, 500);
        assert_eq!(topic_deliv + topic_drop, matched.iter().sum::<u64>());
        assert_eq!(topic_deliv, got.iter().map(Vec::len).sum::<usize>() as u64);
    }
}

#[tokio::test(start_paused = true)]
async fn accounting_with_slow_handlers_balances_after_drain() {
    let bus = Bus::default();
    let seen = Arc::new(AtomicUsize::new(0));
    let s2 = Arc::clone(&seen);
    bus.subscribe_with(
        Subscription::to("t")
            .capacity(8)
            .overflow(Overflow::DropOldest),
        move |_e| {
            let s = Arc::clone(&s2);
            async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                s.fetch_add(1, Mem::SeqCst);
            }
        },
    )
    .unwrap();
    for n in 0..100 {
        bus.publish(ev("t", n, Priority::ALL[(n % 4) as usize]))
            .unwrap();
    }
    assert!(bus.drain(Duration::from_secs(60)).await);
    let s = bus.stats().subscribers[0].clone();
    assert_eq!(s.received, 100);
    assert_eq!(s.received, s.delivered + s.dropped);
    assert_eq!(s.delivered, seen.load(Mem::SeqCst) as u64);
    assert!(s.dropped > 0);
    assert_eq!((s.queue_depth, s.in_flight), (0, 0));
    assert!(s.handler_max >= Duration::from_millis(10));
    assert!(s.handler_time >= Duration::from_millis(10) * s.delivered as u32);
}

#[test]
fn capacity_comes_from_subscription_then_config_then_default() {
    let config = BusConfig::default()
        .with_default_capacity(5)
        .with_capacity(Pattern::new("platform.>").unwrap(), 2)
        .with_capacity(Pattern::new("command.*").unwrap(), 3);
    assert_eq!(
        config.capacity_for(&Pattern::new("platform.*.chat.message").unwrap()),
        2
    );
    assert_eq!(config.capacity_for(&Pattern::new("command.*").unwrap()), 3);
    assert_eq!(config.capacity_for(&Pattern::new("command.>").unwrap()), 5);
    assert_eq!(
        config.capacity_for(&Pattern::new("bot.started").unwrap()),
        5
    );
    assert_eq!(
        config.capacity_for(&Pattern::new("command.help").unwrap()),
        3
    );
    assert_eq!(
        config.capacity_for(&Pattern::new("platform.twitch.>").unwrap()),
        2
    );
    assert_eq!(config.capacity_for(&Pattern::new("platform").unwrap()), 5);

    let bus = Bus::new(config);
    let mut a = bus
        .subscribe(Subscription::to("platform.*.chat.message"))
        .unwrap();
    let mut b = bus
        .subscribe(Subscription::to("platform.*.chat.message").capacity(4))
        .unwrap();
    for n in 0..10 {
        bus.publish(ev("platform.x.chat.message", n, Priority::Normal))
            .unwrap();
    }
    assert_eq!(drain_now(&mut a).len(), 2);
    assert_eq!(drain_now(&mut b).len(), 4);
}

// ---------------------------------------------------------------- ordering

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_key_keeps_order_per_user_and_overlaps_users() {
    const USERS: u64 = 6;
    const PER_USER: u64 = 40;
    let bus = Bus::default();
    let log: Arc<Mutex<BTreeMap<String, Vec<u64>>>> = Arc::default();
    let active_keys: Arc<Mutex<HashSet<String>>> = Arc::default();
    let max_keys = Arc::new(AtomicUsize::new(0));
    let key_clash = Arc::new(AtomicBool::new(false));
    let (l, ak, mk, kc) = (
        Arc::clone(&log),
        Arc::clone(&active_keys),
        Arc::clone(&max_keys),
        Arc::clone(&key_clash),
    );
    bus.subscribe_with(
        Subscription::to("platform.*.chat.message")
            .ordered_by(Key::User)
            .capacity(10_000),
        move |e| {
            let (l, ak, mk, kc) = (
                Arc::clone(&l),
                Arc::clone(&ak),
                Arc::clone(&mk),
                Arc::clone(&kc),
            );
            async move {
                let user = e.user().unwrap().name.to_string();
                {
                    let mut active = ak.lock().unwrap();
                    if !active.insert(user.clone()) {
                        kc.store(true, Mem::SeqCst);
                    }
                    mk.fetch_max(active.len(), Mem::SeqCst);
                }
                for _ in 0..fastrand::usize(0..4) {
                    tokio::task::yield_now().await;
                }
                if fastrand::u8(..) < 30 {
                    tokio::time::sleep(Duration::from_micros(fastrand::u64(0..300))).await;
                }
                l.lock()
                    .unwrap()
                    .entry(user.clone())
                    .or_default()
                    .push(seq(&e));
                ak.lock().unwrap().remove(&user);
            }
        },
    )
    .unwrap();
    for n in 0..PER_USER {
        for u in 0..USERS {
            bus.publish(chat("#c", &format!("u{u}"), n)).unwrap();
        }
    }
    assert!(bus.drain(Duration::from_secs(30)).await);
    let log = log.lock().unwrap();
    assert_eq!(log.len(), USERS as usize);
    for (user, seqs) in log.iter() {
        assert_eq!(*seqs, (0..PER_USER).collect::<Vec<_>>(), "order of {user}");
    }
    assert!(
        !key_clash.load(Mem::SeqCst),
        "two events of one key ran at once"
    );
    assert!(
        max_keys.load(Mem::SeqCst) > 1,
        "different keys never overlapped"
    );
}

/// Runs `sub` with handlers that sleep 10 ms and returns the highest concurrency seen.
async fn max_concurrency(sub: Subscription, events: Vec<Event>) -> (usize, Vec<u64>) {
    let bus = Bus::default();
    let active = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let order: Arc<Mutex<Vec<u64>>> = Arc::default();
    let (a, m, o) = (Arc::clone(&active), Arc::clone(&max), Arc::clone(&order));
    bus.subscribe_with(sub.capacity(1000), move |e| {
        let (a, m, o) = (Arc::clone(&a), Arc::clone(&m), Arc::clone(&o));
        async move {
            let now = a.fetch_add(1, Mem::SeqCst) + 1;
            m.fetch_max(now, Mem::SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
            o.lock().unwrap().push(seq(&e));
            a.fetch_sub(1, Mem::SeqCst);
        }
    })
    .unwrap();
    for e in events {
        bus.publish(e).unwrap();
    }
    tokio::task::yield_now().await;
    let in_flight = bus.stats().subscribers[0].in_flight;
    assert!(bus.drain(Duration::from_secs(60)).await);
    let max = max.load(Mem::SeqCst);
    assert!(in_flight >= 1, "in_flight is reported");
    let order = order.lock().unwrap().clone();
    (max, order)
}

#[tokio::test(start_paused = true)]
async fn sequential_runs_one_handler_at_a_time_in_order() {
    let events = (0..20)
        .map(|n| chat("#c", &format!("u{}", n % 5), n))
        .collect();
    let (max, order) = max_concurrency(Subscription::to(">"), events).await;
    assert_eq!(max, 1);
    assert_eq!(order, (0..20).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn unordered_bounds_in_flight() {
    let events = (0..30).map(|n| ev("t", n, Priority::Normal)).collect();
    let (max, order) = max_concurrency(Subscription::to("t").unordered(4), events).await;
    assert_eq!(max, 4);
    assert_eq!(order.len(), 30);
}

#[tokio::test(start_paused = true)]
async fn per_key_bounds_in_flight_across_keys() {
    let events = (0..30).map(|n| chat("#c", &format!("u{n}"), n)).collect();
    let sub = Subscription::to(">").ordered_by_with(Key::User, 3);
    let (max, order) = max_concurrency(sub, events).await;
    assert_eq!(max, 3);
    assert_eq!(order.len(), 30);
}

#[tokio::test(start_paused = true)]
async fn events_without_a_key_share_one_key() {
    // Custom events have no user: they all go through the "none" key, in order.
    let events = (0..10).map(|n| ev("t", n, Priority::Normal)).collect();
    let sub = Subscription::to("t").ordered_by(Key::User);
    let (max, order) = max_concurrency(sub, events).await;
    assert_eq!(max, 1);
    assert_eq!(order, (0..10).collect::<Vec<_>>());
}

// ---------------------------------------------------------------- request / reply

#[tokio::test]
async fn request_reply_round_trip() {
    let bus = Bus::default();
    let responder = bus.clone();
    bus.subscribe_with(Subscription::to("svc.echo"), move |req| {
        let bus = responder.clone();
        async move {
            let n = seq(&req);
            bus.reply(
                &req,
                Payload::Custom {
                    kind: "echo".into(),
                    data: serde_json::json!(n * 2),
                },
            )
            .unwrap();
        }
    })
    .unwrap();
    let req = ev("svc.echo", 21, Priority::High);
    let req_id = req.id;
    let reply = bus.request(req, Duration::from_secs(5)).await.unwrap();
    assert_eq!(seq(&reply), 42);
    assert_eq!(reply.correlation_id, Some(req_id));
    assert!(reply.topic.as_str().starts_with(INBOX_PREFIX));
    assert_eq!(reply.priority, Priority::High);
    let stats = bus.stats();
    assert_eq!(stats.pending_requests, 0);
    assert_eq!(stats.topics["_inbox"].delivered, 1);
}

#[tokio::test(start_paused = true)]
async fn request_times_out_and_late_reply_is_dropped_quietly() {
    let bus = Bus::default();
    let mut responder = bus.subscribe(Subscription::to("svc.slow")).unwrap();
    let start = tokio::time::Instant::now();
    let err = bus
        .request(ev("svc.slow", 1, Priority::Normal), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        BusError::Timeout {
            topic: "svc.slow".into(),
            after: Duration::from_secs(5)
        }
    );
    assert!(err.is_transient());
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(bus.stats().pending_requests, 0);
    let req = responder.recv().await.unwrap();
    assert!(req.reply_to.is_some());
    bus.reply(&req, Payload::ChatCleared).unwrap();
    assert_eq!(bus.stats().late_replies, 1);
}

#[tokio::test(start_paused = true)]
async fn request_without_responders_fails_at_once() {
    let bus = Bus::default();
    let _other = bus.subscribe(Subscription::to("svc.other")).unwrap();
    let start = tokio::time::Instant::now();
    let err = bus
        .request(ev("svc.none", 1, Priority::Normal), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        BusError::NoResponders {
            topic: "svc.none".into()
        }
    );
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(bus.stats().pending_requests, 0);
}

#[test]
fn replying_to_a_non_request_is_an_error() {
    let bus = Bus::default();
    let e = ev("t", 0, Priority::Normal);
    assert_eq!(
        bus.reply(&e, Payload::ChatCleared),
        Err(BusError::NotARequest)
    );
}

// ---------------------------------------------------------------- failures & lifecycle

#[tokio::test]
async fn handler_panic_does_not_stop_later_deliveries() {
    let bus = Bus::default();
    let handled: Arc<Mutex<Vec<u64>>> = Arc::default();
    let h = Arc::clone(&handled);
    bus.subscribe_with(Subscription::to("t").named("fragile"), move |e| {
        let h = Arc::clone(&h);
        let n = seq(&e);
        if n == 3 {
            panic!("synchronous boom on {n}");
        }
        async move {
            tokio::task::yield_now().await;
            if n == 1 {
                panic!("boom on {n}");
            }
            h.lock().unwrap().push(n);
        }
    })
    .unwrap();
    for n in 0..5 {
        bus.publish(ev("t", n, Priority::Normal)).unwrap();
    }
    assert!(bus.drain(Duration::from_secs(10)).await);
    assert_eq!(*handled.lock().unwrap(), [0, 2, 4]);
    let s = bus.stats().subscriber_named("fragile").unwrap().clone();
    assert_eq!((s.panics, s.delivered, s.in_flight), (2, 5, 0));
}

#[tokio::test(start_paused = true)]
async fn drain_waits_for_in_flight_handlers() {
    let bus = Bus::default();
    let done = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&done);
    bus.subscribe_with(Subscription::to("t"), move |_| {
        let d = Arc::clone(&d);
        async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            d.fetch_add(1, Mem::SeqCst);
        }
    })
    .unwrap();
    bus.publish(ev("t", 0, Priority::Normal)).unwrap();
    bus.publish(ev("t", 1, Priority::Normal)).unwrap();
    assert!(
        !bus.drain(Duration::from_secs(1)).await,
        "a handler still runs"
    );
    assert_eq!(done.load(Mem::SeqCst), 0);
    assert!(bus.drain(Duration::from_secs(60)).await);
    assert_eq!(done.load(Mem::SeqCst), 2);
    let start = tokio::time::Instant::now();
    assert!(bus.drain(Duration::from_secs(60)).await);
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "an idle bus drains at once"
    );
}

#[tokio::test(start_paused = true)]
async fn drain_times_out_on_an_unread_subscriber() {
    let bus = Bus::default();
    let mut sub = bus.subscribe(Subscription::to("t")).unwrap();
    bus.publish(ev("t", 0, Priority::Normal)).unwrap();
    assert!(!bus.drain(Duration::from_secs(1)).await);
    let waiter = {
        let bus = bus.clone();
        tokio::spawn(async move { bus.drain(Duration::from_secs(60)).await })
    };
    tokio::task::yield_now().await;
    assert!(sub.recv().await.is_some());
    assert!(
        waiter.await.unwrap(),
        "reading the last event wakes the drain"
    );
}

#[tokio::test]
async fn close_rejects_publishes_and_ends_subscribers_after_the_backlog() {
    let bus = Bus::default();
    let mut sub = bus.subscribe(Subscription::to("t")).unwrap();
    bus.publish(ev("t", 0, Priority::Normal)).unwrap();
    bus.close();
    assert!(bus.is_closed());
    assert_eq!(
        bus.publish(ev("t", 1, Priority::Critical)),
        Err(BusError::Closed)
    );
    assert_eq!(
        bus.subscribe(Subscription::to("t")).unwrap_err(),
        BusError::Closed
    );
    assert_eq!(
        bus.request(ev("t", 2, Priority::Normal), Duration::from_secs(1))
            .await
            .unwrap_err(),
        BusError::Closed
    );
    assert_eq!(sub.recv().await.map(|e| seq(&e)), Some(0));
    assert_eq!(sub.recv().await, None);
    let stats = bus.stats();
    assert_eq!((stats.published, stats.rejected), (1, 2));
    assert!(bus.drain(Duration::from_secs(1)).await);
}

#[tokio::test]
async fn dropping_the_bus_ends_pull_subscribers() {
    let bus = Bus::default();
    let mut sub = bus.subscribe(Subscription::to("t")).unwrap();
    bus.publish(ev("t", 0, Priority::Normal)).unwrap();
    drop(bus);
    assert!(sub.recv().await.is_some());
    assert!(sub.recv().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn unsubscribe_stops_delivery_and_counts_the_backlog_as_dropped() {
    let bus = Bus::default();
    let count = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&count);
    let handle = bus
        .subscribe_with(Subscription::to("t"), move |_| {
            let c = Arc::clone(&c);
            async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                c.fetch_add(1, Mem::SeqCst);
            }
        })
        .unwrap();
    for n in 0..5 {
        bus.publish(ev("t", n, Priority::Normal)).unwrap();
    }
    tokio::task::yield_now().await;
    assert!(handle.clone().unsubscribe());
    assert!(!handle.unsubscribe(), "already gone");
    assert_eq!(bus.publish(ev("t", 9, Priority::Normal)), Ok(0));
    assert!(bus.drain(Duration::from_secs(10)).await);
    assert_eq!(count.load(Mem::SeqCst), 1, "the running handler finished");
    let t = bus.stats().topics["t"];
    assert_eq!((t.published, t.delivered, t.dropped), (6, 1, 4));
}

#[test]
fn subscribe_with_outside_a_runtime_is_an_error() {
    let bus = Bus::default();
    let err = bus
        .subscribe_with(Subscription::to("t"), |_| async {})
        .unwrap_err();
    assert_eq!(err, BusError::NoRuntime);
    assert!(bus.stats().subscribers.is_empty());
}

#[test]
fn request_future_is_send() {
    fn is_send<T: Send>(_: &T) {}
    let bus = Bus::default();
    let fut = bus.request(ev("t", 0, Priority::Normal), Duration::from_secs(1));
    is_send(&fut);
}

#[test]
fn topics_beyond_the_tracking_limit_are_counted_together() {
    let config = BusConfig {
        max_tracked_topics: 2,
        ..BusConfig::default()
    };
    let bus = Bus::new(config);
    let mut sub = bus
        .subscribe(Subscription::to("t.*").capacity(100))
        .unwrap();
    for n in 0..10 {
        bus.publish(ev(&format!("t.x{n}"), n, Priority::Normal))
            .unwrap();
    }
    assert_eq!(drain_now(&mut sub).len(), 10);
    let stats = bus.stats();
    assert_eq!(stats.topics.len(), 3, "{:?}", stats.topics);
    let other = stats.topics["_other"];
    assert_eq!((other.published, other.delivered, other.dropped), (8, 8, 0));
    drop(sub);
    // Counts of a subscription that is gone stay in the topic totals.
    let after = bus.stats();
    assert_eq!(after.topics, stats.topics);
    assert!(after.subscribers.is_empty());
}
