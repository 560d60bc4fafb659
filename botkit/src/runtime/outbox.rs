//! The outgoing path: from `action.<platform>.<verb>` requests to a platform's `execute`.
//!
//! One [`Outbox`] per platform instance holds a bounded priority queue and one worker, so
//! messages to a channel leave in order, higher priorities first. Before a chat text goes
//! out it is split to the platform's max length and passes the instance-wide and
//! per-channel rate limits; an action marked [`Delivery::Drop`] that cannot pass at once is
//! dropped instead of waiting. Every request is answered with an [`Outcome`], so the
//! plugin that asked (local or remote) knows what became of it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::action::{Action, ActionKind, Delivery, Outcome};
use crate::bus::Bus;
use crate::event::{Event, Payload, Priority};
use crate::platform::{Capabilities, SharedPlatform};
use crate::ratelimit::OutgoingLimiter;
use crate::text::split_message_by;

/// Most actions waiting per platform instance before new ones are refused.
pub(crate) const DEFAULT_OUTBOX_CAPACITY: usize = 512;

struct Job {
    action: Action,
    request: Option<Arc<Event>>,
}

struct Queues {
    levels: [VecDeque<Job>; 4],
    len: usize,
    closed: bool,
}

/// The outgoing queue and worker of one platform instance.
pub(crate) struct Outbox {
    platform: SharedPlatform,
    caps: Capabilities,
    limiter: Arc<OutgoingLimiter>,
    queues: Mutex<Queues>,
    notify: Notify,
    capacity: usize,
    busy: AtomicUsize,
    bus: Bus,
}

impl Outbox {
    pub(crate) fn new(platform: SharedPlatform, bus: Bus, capacity: usize) -> Arc<Self> {
        let caps = platform.capabilities();
        let limiter = caps.shared_limiter.clone().unwrap_or_else(|| {
            Arc::new(OutgoingLimiter::optional(
                caps.instance_limit,
                caps.channel_limit,
            ))
        });
        Arc::new(Self {
            platform,
            caps,
            limiter,
            queues: Mutex::new(Queues {
                levels: Default::default(),
                len: 0,
                closed: false,
            }),
            notify: Notify::new(),
            capacity,
            busy: AtomicUsize::new(0),
            bus,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn kind(&self) -> &str {
        self.platform.kind()
    }

    pub(crate) fn id(&self) -> &str {
        self.platform.id()
    }

    /// Queues an action, or answers at once when the queue is full or closed.
    pub(crate) fn submit(&self, action: Action, request: Option<Arc<Event>>) {
        let refused = {
            let mut q = self.lock();
            if q.closed {
                Some("the platform is shutting down")
            } else if q.len >= self.capacity && action.priority != Priority::Critical {
                Some("the outgoing queue is full")
            } else {
                q.len += 1;
                q.levels[action.priority.index()].push_back(Job {
                    action,
                    request: request.clone(),
                });
                None
            }
        };
        match refused {
            Some(reason) => {
                tracing::warn!(platform = %self.id(), reason, "outgoing action refused");
                self.answer(
                    request.as_deref(),
                    Outcome::Dropped {
                        reason: reason.to_owned(),
                    },
                );
            }
            None => self.notify.notify_one(),
        }
    }

    /// Whether nothing is queued or being sent.
    pub(crate) fn is_idle(&self) -> bool {
        self.lock().len == 0 && self.busy.load(AtomicOrdering::Acquire) == 0
    }

    /// Stops accepting actions; the worker finishes what is queued, then ends.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_one();
    }

    fn pop(&self) -> Option<Option<Job>> {
        let mut q = self.lock();
        for level in q.levels.iter_mut() {
            if let Some(job) = level.pop_front() {
                // Counted busy before the queue shrinks, so `is_idle` never sees a gap.
                self.busy.fetch_add(1, AtomicOrdering::AcqRel);
                q.len -= 1;
                return Some(Some(job));
            }
        }
        if q.closed { None } else { Some(None) }
    }

    /// The worker: one action at a time, highest priority first.
    pub(crate) async fn run(self: Arc<Self>) {
        loop {
            match self.pop() {
                None => return,
                Some(None) => self.notify.notified().await,
                Some(Some(job)) => {
                    let outcome = self.perform(job.action).await;
                    self.answer(job.request.as_deref(), outcome);
                    self.busy.fetch_sub(1, AtomicOrdering::AcqRel);
                }
            }
        }
    }

    fn answer(&self, request: Option<&Event>, outcome: Outcome) {
        if let Some(request) = request
            && request.reply_to.is_some()
        {
            // The requester may have given up (timeout); nothing else to do then.
            let _ = self.bus.reply(request, Payload::Outcome(outcome));
        }
    }

    async fn perform(&self, action: Action) -> Outcome {
        let Some(text) = action.kind.text() else {
            return self.execute(&action).await;
        };
        let chunks = split_message_by(text, self.caps.max_message_len, self.caps.measure);
        if chunks.is_empty() {
            return Outcome::Dropped {
                reason: "empty message".to_owned(),
            };
        }
        let channel = action.target.channel.as_deref();
        let mut last = Outcome::Dropped {
            reason: "nothing sent".to_owned(),
        };
        for (i, chunk) in chunks.into_iter().enumerate() {
            match action.delivery {
                Delivery::Queue => self.limiter.acquire(channel).await,
                Delivery::Drop => {
                    if let Err(wait) = self.limiter.try_acquire(channel) {
                        return Outcome::Dropped {
                            reason: format!("rate limited (next slot in {wait:?})"),
                        };
                    }
                }
            }
            let mut part = action.clone();
            if let Some(t) = part.kind.text_mut() {
                *t = chunk;
            }
            // Only the first part is a reply; the rest follow as plain messages.
            if i > 0
                && let ActionKind::Reply { text, .. } = &part.kind
            {
                part.kind = ActionKind::Say { text: text.clone() };
            }
            last = self.execute(&part).await;
            if !last.is_done() {
                return last;
            }
        }
        last
    }

    async fn execute(&self, action: &Action) -> Outcome {
        match self.platform.execute(action).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(platform = %self.id(), verb = action.kind.verb(), error = %e, "action failed");
                Outcome::Failed {
                    error: e.to_string(),
                    transient: e.is_transient(),
                }
            }
        }
    }
}
