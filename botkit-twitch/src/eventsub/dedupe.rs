//! Bounded memory of what was already published.
//!
//! Two different duplicates exist. EventSub delivers *at least once*, so one notification
//! can arrive twice with the same `message_id` (also across a `session_reconnect`
//! hand-over, when two sockets are open): [`RecentIds`] keeps the last few thousand ids
//! in a ring and refuses a repeat. And a bot that reads chat over IRC *and* EventSub sees
//! each chat message, deletion, ban or clear once per source: [`CrossSource`] pairs them
//! up by a key taken from the normalized event (the chat message id — IRC's `id` tag is
//! EventSub's `message_id` —, the deleted message's id, or channel and user for bans and
//! timeouts) and lets only the first of each pair through. An event is dropped only
//! when the *other* source published the same key recently and that one has not been
//! paired yet, so two real timeouts of one user in a row are both published.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use botkit::event::{Event, Payload};
use tokio::time::Instant;

/// The last `capacity` ids seen, in a ring: memory stays bounded however long the
/// session runs.
#[derive(Debug)]
pub struct RecentIds {
    order: VecDeque<String>,
    set: HashSet<String>,
    capacity: usize,
}

impl RecentIds {
    /// A memory of the last `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            order: VecDeque::with_capacity(capacity),
            set: HashSet::with_capacity(capacity),
            capacity,
        }
    }

    /// Records `id`; `false` when it was already among the recent ids.
    pub fn first_time(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() >= self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.order.push_back(id.to_owned());
        self.set.insert(id.to_owned());
        true
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// Which connection an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The IRC chat session.
    Irc,
    /// The EventSub WebSocket session.
    EventSub,
}

/// How long an unpaired event waits for its twin from the other source.
pub const PAIR_WINDOW: Duration = Duration::from_secs(30);
/// Most unpaired keys remembered at once.
pub const PAIR_CAPACITY: usize = 8192;

/// Pairs events that IRC and EventSub both deliver so each is published once.
#[derive(Debug, Default)]
pub struct CrossSource {
    /// Per key: the source whose copies wait for a twin, and when each was published.
    pending: Mutex<HashMap<String, (Origin, VecDeque<Instant>)>>,
}

impl CrossSource {
    /// An empty memory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `event` from `origin` should be published: `false` when the other source
    /// already published the same thing within [`PAIR_WINDOW`] and that copy is not
    /// paired yet.
    pub fn admit(&self, origin: Origin, event: &Event) -> bool {
        let Some(key) = pair_key(event) else {
            return true;
        };
        let now = Instant::now();
        let fresh = |at: &Instant| now.duration_since(*at) < PAIR_WINDOW;
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((from, times)) = pending.get_mut(&key) {
            times.retain(fresh);
            if *from != origin && times.pop_front().is_some() {
                if times.is_empty() {
                    pending.remove(&key);
                }
                return false;
            }
            if *from == origin {
                times.push_back(now);
                return true;
            }
        }
        if pending.len() >= PAIR_CAPACITY {
            pending.retain(|_, (_, times)| times.iter().any(fresh));
            // Still full within one window: a flood. Forget it all rather than grow;
            // the worst outcome is one event published twice.
            if pending.len() >= PAIR_CAPACITY {
                pending.clear();
            }
        }
        pending.insert(key, (origin, VecDeque::from([now])));
        true
    }
}

/// The key two sources' versions of one event share, if the event kind can repeat.
fn pair_key(event: &Event) -> Option<String> {
    let channel = event.channel().unwrap_or("");
    Some(match &event.payload {
        Payload::ChatMessage(m) => format!("chat:{}", m.id.as_deref()?),
        Payload::MessageDeleted { message_id, .. } => format!("deleted:{message_id}"),
        Payload::UserBanned { user, .. } => format!("banned:{channel}:{}", user.id),
        Payload::UserTimedOut { user, .. } => format!("timeout:{channel}:{}", user.id),
        Payload::ChatCleared => format!("cleared:{channel}"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use botkit::event::{ChatMessage, Roles, Source, User};

    #[test]
    fn ring_forgets_the_oldest() {
        let mut ids = RecentIds::new(2);
        assert!(ids.first_time("a"));
        assert!(!ids.first_time("a"));
        assert!(ids.first_time("b"));
        assert!(ids.first_time("c"));
        assert_eq!(ids.len(), 2);
        assert!(ids.first_time("a"), "a was pushed out");
        assert!(!ids.first_time("c"));
    }

    fn chat(id: &str) -> Event {
        let mut m = ChatMessage::new(User::new("twitch", "a", Roles::everyone()), "hi");
        m.id = Some(id.to_owned());
        Event::platform(
            Source::new("twitch", "main", Some("c")),
            "chat.message",
            Payload::ChatMessage(m),
        )
        .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn pairs_each_event_once_per_source() {
        let cross = CrossSource::new();
        assert!(cross.admit(Origin::Irc, &chat("1")));
        assert!(!cross.admit(Origin::EventSub, &chat("1")));
        // Paired: a third copy (a redelivery) is a new event as far as pairing goes,
        // which the EventSub message-id ring handles.
        assert!(cross.admit(Origin::EventSub, &chat("2")));
        assert!(cross.admit(Origin::EventSub, &chat("3")));
        assert!(!cross.admit(Origin::Irc, &chat("2")));
        tokio::time::advance(PAIR_WINDOW).await;
        assert!(cross.admit(Origin::Irc, &chat("3")), "too late to pair");
    }

    fn timeout(user: &str) -> Event {
        Event::platform(
            Source::new("twitch", "main", Some("c")),
            "mod.user_timed_out",
            Payload::UserTimedOut {
                user: User::new("twitch", user, Roles::everyone()),
                duration_secs: 10,
                reason: None,
            },
        )
        .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn two_real_timeouts_stay_two() {
        let cross = CrossSource::new();
        assert!(cross.admit(Origin::Irc, &timeout("u")));
        assert!(cross.admit(Origin::Irc, &timeout("u")));
        assert!(!cross.admit(Origin::EventSub, &timeout("u")));
        assert!(!cross.admit(Origin::EventSub, &timeout("u")));
        assert!(
            cross.admit(Origin::EventSub, &timeout("u")),
            "a third, real one"
        );
    }

    /// The IRC and EventSub normalizers give one moderation action the same key.
    #[tokio::test(start_paused = true)]
    async fn irc_and_eventsub_versions_pair_up() {
        use crate::eventsub::EventSubNormalizer;
        use crate::eventsub::message::{Message, decode};
        let irc = crate::Normalizer::new("main", "mybot");
        let es = EventSubNormalizer::new("main", Some("1"));
        let from_eventsub = |kind: &str, event: serde_json::Value| {
            let frame = serde_json::json!({
                "metadata": {"message_id": kind, "message_type": "notification", "message_timestamp": "2026-11-23T23:48:29Z"},
                "payload": {"subscription": {"id": "s", "type": kind, "version": "1", "status": "enabled"}, "event": event},
            });
            let frame = decode(&frame.to_string()).unwrap();
            let Message::Notification {
                subscription,
                event,
            } = &frame.message
            else {
                panic!("not a notification");
            };
            es.notification(&frame.metadata, subscription, event, &frame.raw, 0)
                .unwrap()
        };
        let cases = [
            (
                "@login=viewer32;room-id=1971641;target-msg-id=abc;tmi-sent-ts=1 :tmi.twitch.tv CLEARMSG #streamer :hi",
                from_eventsub(
                    "channel.chat.message_delete",
                    serde_json::json!({"broadcaster_user_login": "streamer", "target_user_id": "4145994", "target_user_login": "viewer32", "message_id": "abc"}),
                ),
            ),
            (
                "@room-id=1971641;target-user-id=81142462;tmi-sent-ts=1 :tmi.twitch.tv CLEARCHAT #testbroadcaster :testfromuser",
                from_eventsub(
                    "channel.ban",
                    serde_json::json!({"broadcaster_user_login": "testBroadcaster", "user_id": "81142462", "user_login": "testFromUser", "is_permanent": true}),
                ),
            ),
            (
                "@room-id=1971641;tmi-sent-ts=1 :tmi.twitch.tv CLEARCHAT #streamer",
                from_eventsub(
                    "channel.chat.clear",
                    serde_json::json!({"broadcaster_user_login": "streamer"}),
                ),
            ),
        ];
        let cross = CrossSource::new();
        for (line, eventsub) in cases {
            let irc_event = irc.line(line, 0).unwrap().unwrap();
            assert_eq!(irc_event.topic, eventsub.topic, "{line}");
            assert!(cross.admit(Origin::Irc, &irc_event));
            assert!(!cross.admit(Origin::EventSub, &eventsub), "{line}");
        }
    }
}
