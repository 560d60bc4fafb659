//! The plugin manager: init order, isolation, restarts, status.
//!
//! Plugins are initialized in dependency order (a topological sort; missing or circular
//! dependencies are errors at startup, not surprises later) and stopped in reverse. Every
//! handler call runs under `catch_unwind`, so a panicking plugin cannot take the bus or
//! other plugins down. A failed plugin is marked failed, announced on
//! `plugin.<name>.failed` at critical priority, and restarted (stop, then init) after a
//! backoff delay, as its [`RestartPolicy`] allows. While a plugin is failed, its events are
//! skipped and counted rather than queued behind a plugin that may never come back.

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;

use super::{Context, PluginError, SharedPlugin};
use crate::backoff::{Backoff, BackoffPolicy};
use crate::bus::{Bus, SubscriptionHandle};
use crate::event::{Event, Payload, Priority, Source};
use crate::topic::Topic;

/// When and how a failed plugin is restarted.
#[derive(Debug, Clone)]
pub struct RestartPolicy {
    /// Most restarts before the plugin stays failed; `None` = always restart.
    pub max_restarts: Option<u32>,
    /// Delay before each restart.
    pub backoff: BackoffPolicy,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            max_restarts: Some(10),
            backoff: BackoffPolicy::default(),
        }
    }
}

impl RestartPolicy {
    /// Never restart: a failed plugin stays failed.
    pub fn never() -> Self {
        Self {
            max_restarts: Some(0),
            backoff: BackoffPolicy::default(),
        }
    }
}

/// A plugin's lifecycle state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PluginState {
    /// Registered, not initialized yet.
    Registered,
    /// Initialized and receiving events.
    Running,
    /// Failed; a restart is pending.
    Restarting,
    /// Failed and will not be restarted.
    Failed,
    /// Disabled in the config.
    Disabled,
    /// Stopped at shutdown.
    Stopped,
}

/// A plugin's status as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginStatus {
    /// Plugin name.
    pub name: String,
    /// Lifecycle state.
    pub state: PluginState,
    /// Failures since start.
    pub failures: u32,
    /// Restarts since start.
    pub restarts: u32,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// Events handled successfully.
    pub handled: u64,
    /// Events skipped while the plugin was failed.
    pub skipped: u64,
    /// The plugin's own status line.
    pub detail: Option<String>,
}

struct Health {
    state: PluginState,
    failures: u32,
    restarts: u32,
    last_error: Option<String>,
    backoff: Backoff,
}

/// One managed plugin. Shared between the manager and its subscriptions' handlers.
pub(crate) struct Managed {
    pub(crate) plugin: SharedPlugin,
    pub(crate) ctx: Context,
    policy: RestartPolicy,
    health: Mutex<Health>,
    handled: AtomicU64,
    skipped: AtomicU64,
    bus: Bus,
}

impl Managed {
    fn lock(&self) -> std::sync::MutexGuard<'_, Health> {
        // A poisoned lock only means a panic happened while it was held; the data is
        // plain counters, still usable.
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn is_running(&self) -> bool {
        self.lock().state == PluginState::Running
    }

    /// Runs the plugin's handler for one event, isolating errors and panics.
    async fn dispatch(self: &Arc<Self>, event: Arc<Event>) {
        if !self.is_running() {
            self.skipped.fetch_add(1, AtomicOrdering::Relaxed);
            return;
        }
        let result = AssertUnwindSafe(self.plugin.handle(&event, &self.ctx))
            .catch_unwind()
            .await;
        match result {
            Ok(Ok(())) => {
                self.handled.fetch_add(1, AtomicOrdering::Relaxed);
            }
            Ok(Err(e)) => self.failed(e),
            Err(panic) => self.failed(PluginError::Panicked(panic_message(&panic))),
        }
    }

    /// Marks the plugin failed, announces it, and schedules a restart if the policy allows.
    pub(crate) fn failed(self: &Arc<Self>, error: PluginError) {
        let name = self.plugin.name().to_owned();
        let (failures, restart_in) = {
            let mut h = self.lock();
            if h.state != PluginState::Running {
                // Already failed by a concurrent handler; one restart is enough.
                return;
            }
            h.failures += 1;
            h.last_error = Some(error.to_string());
            let allowed = self.policy.max_restarts.is_none_or(|max| h.restarts < max);
            let delay = if allowed {
                h.backoff.next_delay()
            } else {
                None
            };
            h.state = if delay.is_some() {
                PluginState::Restarting
            } else {
                PluginState::Failed
            };
            (h.failures, delay)
        };
        tracing::error!(plugin = %name, failures, error = %error, "plugin failed");
        if let Ok(topic) = Topic::new(format!("plugin.{name}.failed")) {
            let event = Event::new(
                topic,
                Source::bot(),
                Payload::PluginFailed {
                    plugin: name.clone(),
                    error: error.to_string(),
                    failures,
                },
            )
            .with_priority(Priority::Critical);
            // A closed bus means we are shutting down; nothing to announce to.
            let _ = self.bus.publish(event);
        }
        if let Some(delay) = restart_in {
            let this = self.clone();
            tokio::spawn(async move { this.restart_after(delay).await });
        }
    }

    async fn restart_after(self: Arc<Self>, mut delay: Duration) {
        let name = self.plugin.name().to_owned();
        loop {
            tracing::info!(plugin = %name, ?delay, "restarting plugin after backoff");
            tokio::time::sleep(delay).await;
            if self.bus.is_closed() {
                return;
            }
            let _ = AssertUnwindSafe(self.plugin.stop(&self.ctx))
                .catch_unwind()
                .await;
            let init = AssertUnwindSafe(self.plugin.init(&self.ctx))
                .catch_unwind()
                .await;
            let error = match init {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(p) => Some(format!("panicked: {}", panic_message(&p))),
            };
            let mut h = self.lock();
            h.restarts += 1;
            match error {
                None => {
                    h.state = PluginState::Running;
                    tracing::info!(plugin = %name, restarts = h.restarts, "plugin restarted");
                    return;
                }
                Some(e) => {
                    tracing::error!(plugin = %name, error = %e, "plugin restart failed");
                    h.failures += 1;
                    h.last_error = Some(e);
                    let allowed = self.policy.max_restarts.is_none_or(|max| h.restarts < max);
                    match h.backoff.next_delay().filter(|_| allowed) {
                        Some(d) => delay = d,
                        None => {
                            h.state = PluginState::Failed;
                            return;
                        }
                    }
                }
            }
        }
    }

    fn status(&self) -> PluginStatus {
        let h = self.lock();
        PluginStatus {
            name: self.plugin.name().to_owned(),
            state: h.state.clone(),
            failures: h.failures,
            restarts: h.restarts,
            last_error: h.last_error.clone(),
            handled: self.handled.load(AtomicOrdering::Relaxed),
            skipped: self.skipped.load(AtomicOrdering::Relaxed),
            detail: self.plugin.status(),
        }
    }
}

/// Extracts a readable message from a panic payload.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}

/// Holds the bot's plugins and drives their lifecycle.
pub struct PluginManager {
    bus: Bus,
    order: Vec<Arc<Managed>>,
    disabled: Vec<String>,
    handles: Vec<SubscriptionHandle>,
}

impl std::fmt::Debug for PluginManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginManager")
            .field(
                "plugins",
                &self
                    .order
                    .iter()
                    .map(|m| m.plugin.name())
                    .collect::<Vec<_>>(),
            )
            .field("disabled", &self.disabled)
            .finish()
    }
}

impl PluginManager {
    /// Orders `plugins` by their dependencies. `disabled` plugins are left out; a plugin
    /// that depends on a missing or disabled plugin, duplicate names, and cycles are errors.
    pub fn new(
        bus: Bus,
        plugins: Vec<(SharedPlugin, Context, RestartPolicy)>,
        disabled: Vec<String>,
    ) -> Result<Self, PluginError> {
        let mut by_name: BTreeMap<String, (SharedPlugin, Context, RestartPolicy)> = BTreeMap::new();
        for (plugin, ctx, policy) in plugins {
            let name = plugin.name().to_owned();
            if by_name
                .insert(name.clone(), (plugin, ctx, policy))
                .is_some()
            {
                return Err(PluginError::Dependency(format!(
                    "two plugins are named `{name}`; plugin names must be unique"
                )));
            }
        }
        let names = topo_order(&by_name, &disabled)?;
        let order = names
            .into_iter()
            .filter_map(|n| by_name.remove(&n))
            .map(|(plugin, ctx, policy)| {
                Arc::new(Managed {
                    plugin,
                    ctx,
                    health: Mutex::new(Health {
                        state: PluginState::Registered,
                        failures: 0,
                        restarts: 0,
                        last_error: None,
                        backoff: Backoff::new(policy.backoff.clone()),
                    }),
                    policy,
                    handled: AtomicU64::new(0),
                    skipped: AtomicU64::new(0),
                    bus: bus.clone(),
                })
            })
            .collect();
        Ok(Self {
            bus,
            order,
            disabled,
            handles: Vec::new(),
        })
    }

    /// Initializes every plugin in dependency order and subscribes its handlers. A plugin
    /// whose `init` fails is marked failed (and restarted by policy); the others start.
    pub async fn start(&mut self) -> Result<(), PluginError> {
        for managed in &self.order {
            let name = managed.plugin.name().to_owned();
            let init = AssertUnwindSafe(managed.plugin.init(&managed.ctx))
                .catch_unwind()
                .await;
            managed.lock().state = PluginState::Running;
            match init {
                Ok(Ok(())) => tracing::debug!(plugin = %name, "plugin initialized"),
                Ok(Err(e)) => managed.failed(e),
                Err(p) => managed.failed(PluginError::Panicked(panic_message(&p))),
            }
            for sub in managed.plugin.subscriptions() {
                let sub = if sub.name().is_empty() {
                    sub.named(name.clone())
                } else {
                    sub
                };
                let m = managed.clone();
                let handle = self
                    .bus
                    .subscribe_with(sub, move |event| {
                        let m = m.clone();
                        async move { m.dispatch(event).await }
                    })
                    .map_err(|e| {
                        PluginError::Dependency(format!(
                            "plugin `{name}` has an invalid subscription: {e}"
                        ))
                    })?;
                self.handles.push(handle);
            }
        }
        Ok(())
    }

    /// The managed plugins in init order, for the command router.
    pub(crate) fn managed(&self) -> &[Arc<Managed>] {
        &self.order
    }

    /// Stops every plugin in reverse dependency order, with `timeout` for each.
    pub async fn stop(&mut self, timeout: Duration) {
        for handle in self.handles.drain(..) {
            handle.unsubscribe();
        }
        for managed in self.order.iter().rev() {
            let name = managed.plugin.name();
            let stop = AssertUnwindSafe(managed.plugin.stop(&managed.ctx)).catch_unwind();
            match tokio::time::timeout(timeout, stop).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => tracing::warn!(plugin = %name, error = %e, "plugin stop failed"),
                Ok(Err(p)) => {
                    tracing::warn!(plugin = %name, panic = %panic_message(&p), "plugin panicked in stop")
                }
                Err(_) => tracing::warn!(plugin = %name, ?timeout, "plugin stop timed out"),
            }
            managed.lock().state = PluginState::Stopped;
        }
    }

    /// The status of every plugin, disabled ones included.
    pub fn status(&self) -> Vec<PluginStatus> {
        self.status_handle().status()
    }

    /// A handle that reads status without borrowing the manager.
    pub(crate) fn status_handle(&self) -> StatusHandle {
        StatusHandle {
            order: self.order.clone(),
            disabled: self.disabled.clone(),
        }
    }
}

/// Reads plugin status from anywhere (the bot handle, `/health`).
#[derive(Clone)]
pub(crate) struct StatusHandle {
    order: Vec<Arc<Managed>>,
    disabled: Vec<String>,
}

impl StatusHandle {
    pub(crate) fn status(&self) -> Vec<PluginStatus> {
        let mut out: Vec<PluginStatus> = self.order.iter().map(|m| m.status()).collect();
        out.extend(self.disabled.iter().map(|name| PluginStatus {
            name: name.clone(),
            state: PluginState::Disabled,
            failures: 0,
            restarts: 0,
            last_error: None,
            handled: 0,
            skipped: 0,
            detail: None,
        }));
        out
    }
}

/// Kahn's algorithm over the enabled plugins; ties broken by name so the order is stable.
fn topo_order(
    plugins: &BTreeMap<String, (SharedPlugin, Context, RestartPolicy)>,
    disabled: &[String],
) -> Result<Vec<String>, PluginError> {
    let mut indegree: HashMap<&str, usize> = HashMap::new();
    let mut dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    for (name, (plugin, _, _)) in plugins {
        indegree.entry(name).or_insert(0);
        for dep in plugin.dependencies() {
            let Some((dep_name, _)) = plugins.get_key_value(dep.as_str()) else {
                let why = if disabled.contains(&dep) {
                    "is disabled in the config"
                } else {
                    "is not registered"
                };
                return Err(PluginError::Dependency(format!(
                    "plugin `{name}` depends on `{dep}`, which {why}"
                )));
            };
            *indegree.entry(name).or_insert(0) += 1;
            dependents.entry(dep_name).or_default().push(name);
        }
    }
    let mut ready: std::collections::BTreeSet<&str> = indegree
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(n, _)| *n)
        .collect();
    let mut order = Vec::with_capacity(plugins.len());
    while let Some(name) = ready.pop_first() {
        order.push(name.to_owned());
        for dependent in dependents.get(name).into_iter().flatten() {
            if let Some(d) = indegree.get_mut(dependent) {
                *d -= 1;
                if *d == 0 {
                    ready.insert(dependent);
                }
            }
        }
    }
    if order.len() != plugins.len() {
        let stuck: Vec<&str> = indegree
            .iter()
            .filter(|(_, d)| **d > 0)
            .map(|(n, _)| *n)
            .collect();
        return Err(PluginError::Dependency(format!(
            "plugin dependencies form a cycle among: {}",
            stuck.join(", ")
        )));
    }
    Ok(order)
}
