//! The sandbox for tokio users: [`AsyncSandbox`], a cloneable handle whose operation
//! futures advance virtual time until they complete. Nothing sleeps for real (unless you
//! ask for real-time pacing), and runs stay deterministic.
//!
//! How time moves: a task awaiting an operation (or a virtual sleep) advances the clock
//! one instant at a time, then yields to tokio. It does not advance past an instant at
//! which another task's operation ended or its sleep is due until that task has run: so
//! every task reacts at the virtual instant it was woken, whatever the order tokio polls
//! them in. On a current-thread runtime (the default of `#[tokio::test]`) the same program
//! gives the same trace hash every time.
//!
//! ```no_run
//! # async fn demo() -> Result<(), logsandbox::Error> {
//! use logsandbox::{AsyncSandbox, Op, Sandbox};
//! let sb = AsyncSandbox::new(Sandbox::builder().client(5).install_logs(1).build()?);
//! sb.with(|sb| sb.start(5))?;
//! let appended = sb.call(5, Op::append(0, "hello")).await?;
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::Sandbox;
use crate::error::RunError;
use crate::op::{NodeId, Op, OpId, OpResult};
use crate::time::SimTime;

pub use super::pace::Pace;

struct Shared {
    sandbox: Sandbox,
    pace: Pace,
    /// Operations some task awaits, and whether their end is yet to be seen by it.
    awaited: BTreeMap<OpId, u32>,
    /// Virtual sleeps some task awaits: (deadline, ticket).
    sleepers: BTreeSet<(SimTime, u64)>,
    next_ticket: u64,
}

/// What one attempt to move time did.
enum Advance {
    /// Time moved by this much.
    Moved(Duration),
    /// Another task must react before time moves on.
    Blocked,
    /// Nothing is left to happen.
    Idle,
}

impl Shared {
    /// Moves to the next instant at which something is due, and carries out all of it.
    fn advance(&mut self, own_deadline: Option<SimTime>) -> Result<Advance, RunError> {
        let ended_unseen = self.awaited.keys().any(|op| {
            self.sandbox
                .op(*op)
                .is_some_and(|r| r.completed.is_some() || r.lost.is_some())
        });
        let before = self.sandbox.now();
        let due_sleep = self
            .sleepers
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| Some(*t) != own_deadline)
            .min();
        if ended_unseen || due_sleep.is_some_and(|t| t <= before) {
            return Ok(Advance::Blocked);
        }
        let limit = match (due_sleep, own_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match (self.sandbox.next_event_at(), limit) {
            (None, None) => return Ok(Advance::Idle),
            (None, Some(limit)) => self.sandbox.world.now = limit,
            (Some(next), Some(limit)) if next >= limit => self.sandbox.world.now = limit,
            (Some(next), _) => {
                while self.sandbox.next_event_at() == Some(next) {
                    self.sandbox.step()?;
                }
            }
        }
        Ok(Advance::Moved(self.sandbox.now().since(before)))
    }
}

/// A cloneable async handle on a [`Sandbox`]. See the module documentation.
#[derive(Clone)]
pub struct AsyncSandbox {
    shared: Arc<Mutex<Shared>>,
}

/// Removes a task's registration when its future ends or is dropped.
struct Registration {
    shared: Arc<Mutex<Shared>>,
    op: Option<OpId>,
    sleep: Option<(SimTime, u64)>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut shared = lock(&self.shared);
        if let Some(op) = self.op
            && let Some(n) = shared.awaited.get_mut(&op)
        {
            *n -= 1;
            if *n == 0 {
                shared.awaited.remove(&op);
            }
        }
        if let Some(sleep) = self.sleep {
            shared.sleepers.remove(&sleep);
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic in another task's use of the sandbox poisons nothing we rely on.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

impl AsyncSandbox {
    /// Wraps a sandbox, at virtual pace.
    pub fn new(sandbox: Sandbox) -> AsyncSandbox {
        AsyncSandbox::paced(sandbox, Pace::Virtual)
    }

    /// Wraps a sandbox, at the given pace.
    pub fn paced(sandbox: Sandbox, pace: Pace) -> AsyncSandbox {
        AsyncSandbox {
            shared: Arc::new(Mutex::new(Shared {
                sandbox,
                pace,
                awaited: BTreeMap::new(),
                sleepers: BTreeSet::new(),
                next_ticket: 0,
            })),
        }
    }

    /// Runs `f` on the sandbox: inspection, faults, latencies, starting nodes...
    pub fn with<R>(&self, f: impl FnOnce(&mut Sandbox) -> R) -> R {
        f(&mut lock(&self.shared).sandbox)
    }

    /// The virtual clock.
    pub fn now(&self) -> SimTime {
        lock(&self.shared).sandbox.now()
    }

    /// Invokes an operation now; await it with [`Self::wait`].
    pub fn invoke(&self, node: NodeId, op: Op) -> OpId {
        lock(&self.shared).sandbox.invoke(node, op)
    }

    /// Invokes an operation and waits for its result.
    pub async fn call(&self, node: NodeId, op: Op) -> Result<OpResult, RunError> {
        let id = self.invoke(node, op);
        self.wait(id).await
    }

    /// Advances virtual time until the operation completes, and returns its result.
    pub async fn wait(&self, op: OpId) -> Result<OpResult, RunError> {
        let deadline = {
            let mut shared = lock(&self.shared);
            if shared.sandbox.op(op).is_none() {
                return Err(RunError::UnknownOp(op));
            }
            *shared.awaited.entry(op).or_default() += 1;
            shared.sandbox.now() + shared.sandbox.meta.limits.wait_limit
        };
        let _registration = Registration {
            shared: self.shared.clone(),
            op: Some(op),
            sleep: None,
        };
        loop {
            let advance = {
                let mut shared = lock(&self.shared);
                let record = shared.sandbox.op(op).expect("checked above");
                match (&record.completed, &record.lost) {
                    (Some((_, result)), _) => return Ok(result.clone()),
                    (None, Some((_, why))) => {
                        let why = why.clone();
                        return Err(RunError::OpLost { op, why });
                    }
                    (None, None) => {}
                }
                if shared.sandbox.now() >= deadline {
                    return Err(RunError::Timeout {
                        waited: shared.sandbox.meta.limits.wait_limit,
                        waiting_for: format!("operation {op}"),
                    });
                }
                // Our own op has not ended, so it does not block us.
                let count = shared.awaited.remove(&op);
                let advance = shared.advance(None);
                if let Some(n) = count {
                    shared.awaited.insert(op, n);
                }
                (advance?, shared.pace)
            };
            match advance {
                (Advance::Idle, _) => {
                    let at = self.now();
                    return Err(RunError::Stalled {
                        at,
                        waiting_for: format!("operation {op}"),
                    });
                }
                (Advance::Blocked, _) => tokio::task::yield_now().await,
                (Advance::Moved(d), pace) => pause(pace, d).await,
            }
        }
    }

    /// Advances virtual time by `duration` (others' operations go on meanwhile).
    pub async fn sleep(&self, duration: Duration) -> Result<(), RunError> {
        let ticket = {
            let mut shared = lock(&self.shared);
            shared.next_ticket += 1;
            let ticket = (shared.sandbox.now() + duration, shared.next_ticket);
            shared.sleepers.insert(ticket);
            ticket
        };
        let _registration = Registration {
            shared: self.shared.clone(),
            op: None,
            sleep: Some(ticket),
        };
        loop {
            let advance = {
                let mut shared = lock(&self.shared);
                if shared.sandbox.now() >= ticket.0 {
                    return Ok(());
                }
                shared.sleepers.remove(&ticket);
                let advance = shared.advance(Some(ticket.0));
                shared.sleepers.insert(ticket);
                (advance?, shared.pace)
            };
            match advance {
                (Advance::Idle, _) => unreachable!("a sleeper always has its deadline to move to"),
                (Advance::Blocked, _) => tokio::task::yield_now().await,
                (Advance::Moved(d), pace) => pause(pace, d).await,
            }
        }
    }

    /// The sandbox back, once every clone of the handle is gone.
    pub fn into_inner(self) -> Option<Sandbox> {
        Arc::into_inner(self.shared)
            .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()).sandbox)
    }
}

/// Yields to tokio after time moved; in real-time mode, for as long as it moved.
async fn pause(pace: Pace, moved: Duration) {
    match pace.wall_time(moved) {
        Some(wall) => tokio::time::sleep(wall).await,
        None => tokio::task::yield_now().await,
    }
}
