//! Pipelines: an event handled as a sequence of small, separately testable steps.
//!
//! A bot's reaction to a chat message is rarely one decision: identify who spoke, moderate
//! (spam? banned word?), decide what to answer, act. Written as one handler this grows into
//! a function nobody can test piece by piece. A [`Pipeline`] runs [`Step`]s in order over a
//! per-event context type `C` that the bot defines (the event, the user's roles, the reply
//! being built…); each step reads and fills in the context and says whether the event goes
//! on ([`Flow::Continue`]) or stops here ([`Flow::Stop`], with a reason for logs).
//!
//! Design choices: the context is a plain `&mut C` rather than a type map, so each step
//! states what it needs in its type and a unit test builds a `C` by hand and calls
//! `step.run(&mut cx)` directly; steps are trait objects so a pipeline can be assembled
//! from config; a failing step ends the run with a [`StepError`] naming that step, because
//! "the pipeline failed" is useless in a log. A pipeline is itself a [`Step`], so pipelines
//! nest.

use async_trait::async_trait;

/// What a step decides about the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    /// Go on with the next step.
    Continue,
    /// Stop handling this event; the reason is logged and reported in the outcome.
    Stop(String),
}

impl Flow {
    /// `Flow::Stop` with a reason.
    pub fn stop(reason: impl Into<String>) -> Self {
        Flow::Stop(reason.into())
    }
}

/// Why a step failed (as opposed to stopping the event on purpose).
///
/// A step creates one with [`StepError::failed`], [`StepError::transient`] or
/// [`StepError::from_error`]; the pipeline fills in the step's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// The step cannot handle this event; retrying will not help.
    #[error("step `{step}` failed: {message}")]
    Failed {
        /// The failing step's name.
        step: String,
        /// What went wrong, with the source error's message.
        message: String,
    },
    /// The step failed for a reason that may pass (a timeout, a busy service).
    #[error("step `{step}` failed (transient, may work later): {message}")]
    Transient {
        /// The failing step's name.
        step: String,
        /// What went wrong, with the source error's message.
        message: String,
    },
}

impl StepError {
    /// A permanent failure; the pipeline fills in the step name.
    pub fn failed(message: impl Into<String>) -> Self {
        StepError::Failed {
            step: String::new(),
            message: message.into(),
        }
    }

    /// A failure that may pass on a later event or retry; the pipeline fills in the step name.
    pub fn transient(message: impl Into<String>) -> Self {
        StepError::Transient {
            step: String::new(),
            message: message.into(),
        }
    }

    /// The name of the step that failed.
    pub fn step(&self) -> &str {
        match self {
            StepError::Failed { step, .. } | StepError::Transient { step, .. } => step,
        }
    }

    /// The failure's message.
    pub fn message(&self) -> &str {
        match self {
            StepError::Failed { message, .. } | StepError::Transient { message, .. } => message,
        }
    }

    /// Whether the same work may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(self, StepError::Transient { .. })
    }

    /// Sets the step name unless one is already set (an error from a nested pipeline keeps
    /// the name of the innermost step).
    #[must_use]
    pub fn in_step(mut self, name: &str) -> Self {
        match &mut self {
            StepError::Failed { step, .. } | StepError::Transient { step, .. } => {
                if step.is_empty() {
                    name.clone_into(step);
                }
            }
        }
        self
    }
}

impl StepError {
    /// A permanent failure from any error, carrying its message and its sources' messages:
    /// `op().map_err(StepError::from_error)?`.
    pub fn from_error(error: impl std::error::Error) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        StepError::failed(message)
    }
}

/// One stage of a pipeline over the context `C`.
#[async_trait]
pub trait Step<C: Send>: Send + Sync {
    /// A short name for logs and errors, e.g. `"moderate"`.
    fn name(&self) -> &str;

    /// Does this step's work on the event's context.
    async fn run(&self, cx: &mut C) -> Result<Flow, StepError>;
}

/// How a pipeline run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PipelineOutcome {
    /// Every step said continue.
    Completed,
    /// A step stopped the event.
    Stopped {
        /// The step that stopped it.
        step: String,
        /// The reason it gave.
        reason: String,
    },
}

impl PipelineOutcome {
    /// Whether every step ran and said continue.
    pub fn is_completed(&self) -> bool {
        matches!(self, PipelineOutcome::Completed)
    }
}

/// A step made from a synchronous closure (see [`Pipeline::step_fn`]).
struct FnStep<F> {
    name: String,
    f: F,
}

#[async_trait]
impl<C, F> Step<C> for FnStep<F>
where
    C: Send,
    F: Fn(&mut C) -> Flow + Send + Sync,
{
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, cx: &mut C) -> Result<Flow, StepError> {
        Ok((self.f)(cx))
    }
}

/// An ordered list of steps over the context `C`.
pub struct Pipeline<C> {
    name: String,
    steps: Vec<Box<dyn Step<C>>>,
}

impl<C: Send> std::fmt::Debug for Pipeline<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("name", &self.name)
            .field("steps", &self.step_names())
            .finish()
    }
}

impl<C: Send> Default for Pipeline<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Send> Pipeline<C> {
    /// An empty pipeline named `"pipeline"`.
    pub fn new() -> Self {
        Self {
            name: "pipeline".to_owned(),
            steps: Vec::new(),
        }
    }

    /// The same pipeline with a name (used when it runs as a step of another pipeline).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Appends a step.
    #[must_use]
    pub fn step(mut self, step: impl Step<C> + 'static) -> Self {
        self.steps.push(Box::new(step));
        self
    }

    /// Appends a step made from a synchronous closure, for checks that need no I/O.
    #[must_use]
    pub fn step_fn<F>(self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(&mut C) -> Flow + Send + Sync + 'static,
    {
        self.step(FnStep {
            name: name.into(),
            f,
        })
    }

    /// The steps' names, in order.
    pub fn step_names(&self) -> Vec<&str> {
        self.steps.iter().map(|s| s.name()).collect()
    }

    /// Runs the steps in order until one stops the event or fails.
    pub async fn run(&self, cx: &mut C) -> Result<PipelineOutcome, StepError> {
        for step in &self.steps {
            let name = step.name();
            match step.run(cx).await {
                Ok(Flow::Continue) => {}
                Ok(Flow::Stop(reason)) => {
                    tracing::debug!(pipeline = %self.name, step = name, %reason, "event stopped");
                    return Ok(PipelineOutcome::Stopped {
                        step: name.to_owned(),
                        reason,
                    });
                }
                Err(error) => {
                    let error = error.in_step(name);
                    tracing::debug!(pipeline = %self.name, step = name, %error, "step failed");
                    return Err(error);
                }
            }
        }
        Ok(PipelineOutcome::Completed)
    }
}

#[async_trait]
impl<C: Send> Step<C> for Pipeline<C> {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, cx: &mut C) -> Result<Flow, StepError> {
        Ok(match Pipeline::run(self, cx).await? {
            PipelineOutcome::Completed => Flow::Continue,
            PipelineOutcome::Stopped { reason, .. } => Flow::Stop(reason),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A context as a bot would define it: what the steps read and fill in.
    #[derive(Debug, Default)]
    struct Cx {
        text: String,
        user_is_mod: bool,
        trace: Vec<&'static str>,
        reply: Option<String>,
    }

    struct Identify;

    #[async_trait]
    impl Step<Cx> for Identify {
        fn name(&self) -> &str {
            "identify"
        }

        async fn run(&self, cx: &mut Cx) -> Result<Flow, StepError> {
            cx.trace.push("identify");
            cx.user_is_mod = cx.text.starts_with("[mod]");
            Ok(Flow::Continue)
        }
    }

    struct Moderate;

    #[async_trait]
    impl Step<Cx> for Moderate {
        fn name(&self) -> &str {
            "moderate"
        }

        async fn run(&self, cx: &mut Cx) -> Result<Flow, StepError> {
            cx.trace.push("moderate");
            if cx.text.contains("spam") && !cx.user_is_mod {
                return Ok(Flow::stop("spam from a regular user"));
            }
            Ok(Flow::Continue)
        }
    }

    struct Decide;

    #[async_trait]
    impl Step<Cx> for Decide {
        fn name(&self) -> &str {
            "decide"
        }

        async fn run(&self, cx: &mut Cx) -> Result<Flow, StepError> {
            cx.trace.push("decide");
            if cx.text.contains("boom") {
                "boom".parse::<u32>().map_err(StepError::from_error)?;
            }
            if cx.text.contains("slow") {
                return Err(StepError::transient("llm timed out"));
            }
            cx.reply = Some(format!("you said: {}", cx.text));
            Ok(Flow::Continue)
        }
    }

    fn pipeline() -> Pipeline<Cx> {
        Pipeline::new()
            .step(Identify)
            .step(Moderate)
            .step(Decide)
            .step_fn("act", |cx: &mut Cx| {
                cx.trace.push("act");
                Flow::Continue
            })
    }

    fn cx(text: &str) -> Cx {
        Cx {
            text: text.to_owned(),
            ..Cx::default()
        }
    }

    #[tokio::test]
    async fn steps_run_in_order() {
        let mut c = cx("hello");
        let outcome = pipeline().run(&mut c).await.expect("no failure");
        assert_eq!(outcome, PipelineOutcome::Completed);
        assert_eq!(c.trace, vec!["identify", "moderate", "decide", "act"]);
        assert_eq!(c.reply.as_deref(), Some("you said: hello"));
        assert_eq!(
            pipeline().step_names(),
            vec!["identify", "moderate", "decide", "act"]
        );
    }

    #[tokio::test]
    async fn a_stopping_step_prevents_the_later_ones() {
        let mut c = cx("buy spam");
        let outcome = pipeline().run(&mut c).await.expect("no failure");
        assert_eq!(
            outcome,
            PipelineOutcome::Stopped {
                step: "moderate".into(),
                reason: "spam from a regular user".into()
            }
        );
        assert_eq!(c.trace, vec!["identify", "moderate"]);
        assert_eq!(c.reply, None);
    }

    #[tokio::test]
    async fn an_error_names_its_step_and_stops_the_run() {
        let mut c = cx("boom");
        let error = pipeline().run(&mut c).await.expect_err("decide fails");
        assert_eq!(error.step(), "decide");
        assert!(!error.is_transient());
        assert_eq!(
            error.to_string(),
            "step `decide` failed: invalid digit found in string"
        );
        assert_eq!(c.trace, vec!["identify", "moderate", "decide"]);

        let error = pipeline().run(&mut cx("slow")).await.expect_err("timeout");
        assert!(error.is_transient());
        assert_eq!(error.message(), "llm timed out");
    }

    #[tokio::test]
    async fn a_single_step_is_testable_alone() {
        let mut c = Cx {
            text: "[mod] spam is fine for mods".into(),
            user_is_mod: true,
            ..Cx::default()
        };
        assert_eq!(Moderate.run(&mut c).await, Ok(Flow::Continue));
        c.user_is_mod = false;
        assert_eq!(
            Moderate.run(&mut c).await,
            Ok(Flow::stop("spam from a regular user"))
        );
    }

    #[tokio::test]
    async fn pipelines_nest_and_keep_the_innermost_step_name() {
        let inner = Pipeline::new()
            .with_name("checks")
            .step(Moderate)
            .step(Decide);
        let outer = Pipeline::new().step(Identify).step(inner);
        let stopped = outer.run(&mut cx("spam")).await.expect("no failure");
        assert_eq!(
            stopped,
            PipelineOutcome::Stopped {
                step: "checks".into(),
                reason: "spam from a regular user".into()
            }
        );
        let error = outer.run(&mut cx("boom")).await.expect_err("fails");
        assert_eq!(error.step(), "decide");
    }

    #[tokio::test]
    async fn an_empty_pipeline_completes() {
        let p: Pipeline<Cx> = Pipeline::default();
        assert!(p.run(&mut cx("x")).await.expect("ok").is_completed());
    }
}
