//! The sandbox: a live cluster you hold and drive, on a virtual clock.
//!
//! Build one from plain Rust ([`Sandbox::builder`]) or from a scenario file
//! ([`Sandbox::from_scenario`]); then start nodes, invoke operations, step the clock,
//! inject faults and change latencies at any moment, inspect nodes and the metadata
//! store, and judge the history with the checks. Everything is deterministic: the same
//! seed and the same sequence of calls give the same trace hash.
//!
//! - [`builder`]: the settings, one [`crate::config::Config`] and what only a run has;
//! - here: driving (`step`, `run_for`, `run_until`, `run_until_done`) and operations;
//! - [`faults`]: faults and latencies as calls;
//! - [`inspect`]: nodes, the metadata store, history and checks;
//! - [`run`]: driving a workload to its end, and the report;
//! - [`asynchronous`]: the same handle for tokio users;
//! - [`pace`]: how virtual time relates to the wall clock, for a run a person watches.

pub mod asynchronous;
pub mod builder;
pub mod faults;
pub mod inspect;
pub mod pace;
pub mod run;

use std::time::{Duration, Instant};

use crate::config::RunLimits;
use crate::error::RunError;
use crate::op::{NodeId, Op, OpId, OpResult};
use crate::record::history::{OpRecord, Process};
use crate::scenario::Scenario;
use crate::sim::World;
use crate::time::SimTime;
pub use builder::SandboxBuilder;

/// A live cluster on a virtual clock. See the module documentation.
pub struct Sandbox {
    pub(crate) world: World,
    pub(crate) meta: Meta,
}

/// What a sandbox knows of itself beyond the world.
pub(crate) struct Meta {
    pub name: String,
    pub summary: String,
    pub expect_error: Option<String>,
    /// Checks expected to fail: the race fired.
    pub expect_failing: Vec<String>,
    /// How long and how much the sandbox may go on.
    pub limits: RunLimits,
    /// Virtual ns `run` goes on after a failure.
    pub linger: u64,
    /// For the report's wall time only; never reaches the trace.
    pub created: Instant,
}

/// What [`Sandbox::run_until`] waits for: an instant ([`SimTime`]), or a predicate on
/// the sandbox (any `FnMut(&Sandbox) -> bool`), checked after every step.
pub trait Condition {
    /// The instant to run to, when the condition is one.
    fn instant(&self) -> Option<SimTime> {
        None
    }
    /// Whether the condition holds now.
    fn holds(&mut self, sandbox: &Sandbox) -> bool;
}

impl Condition for SimTime {
    fn instant(&self) -> Option<SimTime> {
        Some(*self)
    }
    fn holds(&mut self, sandbox: &Sandbox) -> bool {
        sandbox.now() >= *self
    }
}

impl<F: FnMut(&Sandbox) -> bool> Condition for F {
    fn holds(&mut self, sandbox: &Sandbox) -> bool {
        self(sandbox)
    }
}

impl Sandbox {
    /// A builder with the defaults: 3 log-servers, no client, seed 1, the built-in guest.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// A builder set up as the scenario says (cluster, metadata, latencies, faults,
    /// workload, limits); adjust it before building.
    pub fn from_scenario(scenario: &Scenario) -> SandboxBuilder {
        SandboxBuilder::from_scenario(scenario)
    }

    /// The virtual clock.
    pub fn now(&self) -> SimTime {
        self.world.now
    }

    /// The seed of the run.
    pub fn seed(&self) -> u64 {
        self.world.seed
    }

    /// The trace hash so far: the same seed and calls give the same hash.
    pub fn trace_hash(&self) -> String {
        self.world.trace.hash_hex()
    }

    /// Events delivered so far (to nodes and to the metadata store).
    pub fn events(&self) -> u64 {
        self.world.events
    }

    /// Starts a node now (a client, or a crashed node again).
    pub fn start(&mut self, node: NodeId) -> Result<(), RunError> {
        match self.world.nodes.get(&node).map(|n| &n.status) {
            None => Err(RunError::NotInCluster(node)),
            Some(crate::sim::NodeStatus::Running) => Err(RunError::AlreadyRunning(node)),
            Some(_) => {
                self.apply(crate::fault::Fault::Start(node));
                Ok(())
            }
        }
    }

    /// Invokes an operation on a client node now; it is delivered at this instant.
    /// Follow it with [`Self::run_until_done`]. An operation on a node that is not in
    /// the cluster, or down when it arrives, is lost (see [`RunError::OpLost`]).
    pub fn invoke(&mut self, node: NodeId, op: Op) -> OpId {
        self.world.invoke(Process::User, node, op)
    }

    /// As [`Self::invoke`], on behalf of a named process (shown in the history).
    pub fn invoke_as(&mut self, process: Process, node: NodeId, op: Op) -> OpId {
        self.world.invoke(process, node, op)
    }

    /// The operation's record: what, where, when, and how it ended.
    pub fn op(&self, op: OpId) -> Option<&OpRecord> {
        self.world.history.get(op)
    }

    /// The operation's result, once it completed.
    pub fn result(&self, op: OpId) -> Option<&OpResult> {
        self.world.history.get(op)?.result()
    }

    /// When the next thing is due, if anything is.
    pub fn next_event_at(&self) -> Option<SimTime> {
        self.world.queue.next_at()
    }

    /// Carries out the next scheduled thing (an event for a node, delivered with the
    /// others due for it at the same instant; a store request; a fault...). Returns
    /// false when nothing is left to happen.
    pub fn step(&mut self) -> Result<bool, RunError> {
        if let Some(stop) = self.guard() {
            return Err(stop);
        }
        Ok(self.world.step()?)
    }

    /// Why the sandbox must stop before its next step, if it must: its event budget, a
    /// clock that stopped while events pile up, or its real-time budget (which only ever
    /// stops a run, never changes one).
    pub(crate) fn guard(&self) -> Option<RunError> {
        if self.world.events >= self.meta.limits.max_events {
            let (loudest, sent) = self
                .world
                .nodes
                .values()
                .map(|n| (n.id, n.sent))
                .max_by_key(|(id, sent)| (*sent, std::cmp::Reverse(*id)))
                .unwrap_or_default();
            return Some(RunError::EventLimit {
                events: self.world.events,
                loudest,
                sent,
            });
        }
        if self.world.history.len() as u64 >= self.meta.limits.max_ops {
            return Some(RunError::OpLimit(self.world.history.len()));
        }
        if let Some(why) = self
            .world
            .instant_load
            .stuck(self.meta.limits.max_events_per_instant)
        {
            return Some(RunError::NoProgress(why));
        }
        if let Some(why) = self
            .world
            .timer_streak
            .idle(self.meta.limits.max_idle_events)
        {
            return Some(RunError::NoProgress(why));
        }
        if self.meta.created.elapsed() > self.meta.limits.wall_limit {
            return Some(RunError::WallLimit(self.meta.limits.wall_limit));
        }
        None
    }

    /// Runs `duration` of virtual time: everything due before `now + duration`
    /// happens; the clock then reads `now + duration`.
    pub fn run_for(&mut self, duration: Duration) -> Result<(), RunError> {
        let until = self.now() + duration;
        self.run_to(until)
    }

    /// Runs until a condition holds: an instant (everything due before it happens, then
    /// the clock reads it), or a predicate on the sandbox, checked after every step
    /// (fails with [`RunError::Timeout`] after the wait limit of virtual time, or
    /// [`RunError::Stalled`] when nothing is left to happen).
    ///
    /// A closure names its parameter's type, since the method takes either kind:
    ///
    /// ```no_run
    /// # use logsandbox::{Sandbox, SimTime};
    /// # let mut sb = Sandbox::builder().build()?;
    /// sb.run_until(SimTime::from_millis(500))?;
    /// sb.run_until(|sb: &Sandbox| sb.node(1).cached_logs().is_some())?;
    /// # Ok::<(), logsandbox::Error>(())
    /// ```
    pub fn run_until(&mut self, mut condition: impl Condition) -> Result<(), RunError> {
        if let Some(at) = condition.instant() {
            return self.run_to(at);
        }
        self.wait(|sb| condition.holds(sb), "a condition")
    }

    /// Runs until the operation completes and returns its result. Fails when it is lost
    /// (its node crashed), when nothing is left to happen, or after the wait limit.
    pub fn run_until_done(&mut self, op: OpId) -> Result<OpResult, RunError> {
        let Some(record) = self.world.history.get(op) else {
            return Err(RunError::UnknownOp(op));
        };
        let what = format!("operation {op} ({})", record.op);
        self.wait(
            |sb| {
                let r = sb.world.history.get(op).expect("checked above");
                r.completed.is_some() || r.lost.is_some()
            },
            &what,
        )?;
        let record = self.world.history.get(op).expect("checked above");
        match (&record.completed, &record.lost) {
            (Some((_, result)), _) => Ok(result.clone()),
            (None, Some((_, why))) => Err(RunError::OpLost {
                op,
                why: why.clone(),
            }),
            (None, None) => unreachable!("the wait ended with the op ended"),
        }
    }

    /// Runs everything due before `at`, then sets the clock to `at`.
    fn run_to(&mut self, at: SimTime) -> Result<(), RunError> {
        while self.world.queue.next_at().is_some_and(|next| next < at) {
            self.step()?;
        }
        self.world.now = self.world.now.max(at);
        Ok(())
    }

    /// Steps until `done` holds, within the wait limit.
    fn wait(&mut self, mut done: impl FnMut(&Sandbox) -> bool, what: &str) -> Result<(), RunError> {
        let deadline = self.now() + self.meta.limits.wait_limit;
        loop {
            if done(self) {
                return Ok(());
            }
            match self.world.queue.next_at() {
                None => {
                    return Err(RunError::Stalled {
                        at: self.now(),
                        waiting_for: what.to_string(),
                    });
                }
                Some(next) if next > deadline => {
                    self.world.now = deadline;
                    return Err(RunError::Timeout {
                        waited: self.meta.limits.wait_limit,
                        waiting_for: what.to_string(),
                    });
                }
                Some(_) => {
                    self.step()?;
                }
            }
        }
    }
}
