//! The simulator: a discrete-event loop on a virtual clock, and the world it runs.
//!
//! A heap of `(time, seq, what)` where `seq` breaks ties; the loop jumps to the earliest
//! entry and never sleeps. Every random choice comes from generators derived from the
//! run's one seed (network, metadata store, storage, each node, the workload).
//! Consecutive events for the same node at the same instant are delivered in one guest call.
//!
//! Everything between nodes crosses the fault seam ([`crate::net`]): messages, metadata
//! store requests and responses, storage commits. The pieces:
//! - [`queue`]: the heap;
//! - [`node`]: a node's lifecycle (start, crash, wipe) and what the host saw of it;
//! - [`effects`]: carrying out what a node asked for in a call;
//! - [`store_service`]: the metadata store as a service: service times, outages, and the
//!   harness's puts (retried, through its proxy);
//! - [`transport`]: the metadata store's requests and answers, and held envelopes;
//! - [`writer`]: a node's storage writer and its group commits;
//! - [`drive`]: client operations, the workload, and faults;
//! - [`world`]: the world a run is made of, built from the sandbox's config.

pub(crate) mod drive;
pub(crate) mod effects;
pub(crate) mod node;
pub(crate) mod queue;
pub(crate) mod store_service;
pub(crate) mod transport;
pub(crate) mod world;
pub(crate) mod writer;

use crate::bindings::Event;
use crate::op::NodeId;
use crate::record::journal::{FlightId, Lane, MarkKind};
use crate::time::SimTime;
use crate::workload::Workload;
use queue::{Pending, Scheduled};

pub use crate::error::SimError;
pub use drive::STALE_SEAL_MARKER;
pub use node::{CachedLogs, LogletReport, NodeStatus, Source};
pub(crate) use world::{Outputs, World};

/// The workload attached to a world, and where it stands.
pub(crate) struct Driver {
    pub workload: Box<dyn Workload>,
    /// The error the run failed with, as the client saw it.
    pub error: Option<String>,
    /// The workload finished (or was silenced after a failure).
    pub finished: bool,
}

impl World {
    /// Marks something on a lane of the journal, when one is kept.
    pub(crate) fn mark(
        &mut self,
        lane: Lane,
        kind: MarkKind,
        label: impl FnOnce() -> String,
        op: Option<u64>,
    ) {
        let now = self.now.0;
        if let Some(journal) = &mut self.journal {
            journal.mark(now, lane, kind, label(), op);
        }
    }

    /// Schedules `what` at `at` (never before now).
    pub fn push(&mut self, at: SimTime, what: Pending) {
        self.queue.push(self.now, at, what);
    }

    /// Pops and carries out the next entry; false when nothing is left to happen.
    pub fn step(&mut self) -> Result<bool, SimError> {
        let Some(next) = self.queue.pop() else {
            return Ok(false);
        };
        self.now = next.at;
        self.dispatch(next)?;
        match self.failure.take() {
            Some(e) => Err(e),
            None => Ok(true),
        }
    }

    fn dispatch(&mut self, next: Scheduled) -> Result<(), SimError> {
        match next.what {
            Pending::Node {
                node,
                incarnation,
                event,
                flight,
            } => {
                // Everything due for this node at this instant goes in one call, up to
                // MAX_BATCH events: a peer that floods it spreads over several calls, so the
                // flood cannot make the victim overrun its fuel and take the blame.
                let mut batch = vec![event];
                // The journal's entries of the batch: no allocation without a journal.
                let keep = self.journal.is_some();
                let mut flights = Vec::new();
                if keep {
                    flights.push(flight);
                }
                while batch.len() < MAX_BATCH
                    && let Some(peek) = self.queue.peek()
                {
                    match &peek.what {
                        Pending::Node {
                            node: n,
                            incarnation: i,
                            ..
                        } if peek.at == self.now && *n == node && *i == incarnation => {
                            let Some(Scheduled {
                                what: Pending::Node { event, flight, .. },
                                ..
                            }) = self.queue.pop()
                            else {
                                unreachable!("peeked a node event")
                            };
                            batch.push(event);
                            if keep {
                                flights.push(flight);
                            }
                        }
                        _ => break,
                    }
                }
                self.deliver(node, incarnation, batch, flights)?;
            }
            Pending::StoreArrives {
                from,
                id,
                request,
                flight,
            } => self.store_arrives(from, id, request, flight),
            Pending::StoreServes {
                from,
                id,
                request,
                epoch,
            } => self.store_serves(from, id, request, epoch),
            Pending::StoreRecovers { epoch } => self.store_recovers(Some(epoch)),
            Pending::HarnessPut {
                value,
                precondition,
            } => self.harness_put(value, precondition),
            Pending::HarnessRetry(id) => self.harness_try(id),
            Pending::Start(node) => self.start_node(node),
            Pending::Commit {
                node,
                incarnation,
                writes,
            } => self.start_commit(node, incarnation, writes),
            Pending::CommitDone { node, incarnation } => self.commit_done(node, incarnation),
            Pending::Fault { fault, origin } => self.apply_fault(fault, origin),
            Pending::Wake(token) => self.wake(token),
        }
        Ok(())
    }

    /// Hands a batch of events to a running node, or notes that they were lost.
    fn deliver(
        &mut self,
        id: NodeId,
        incarnation: Option<u32>,
        events: Vec<Event>,
        flights: Vec<Option<FlightId>>,
    ) -> Result<(), SimError> {
        let now = self.now;
        let Some(node) = self.nodes.get_mut(&id) else {
            return Ok(());
        };
        let stale = incarnation.is_some_and(|i| i != node.incarnation);
        if node.status != NodeStatus::Running || stale {
            if let Some(journal) = &mut self.journal {
                for flight in flights {
                    journal.lose(now.0, flight, format!("N{id} was down"));
                }
            }
            for event in &events {
                self.trace.note(now.0, id, || {
                    format!(
                        "dropped (node down): {}",
                        crate::record::trace::describe_event(event)
                    )
                });
                if let Event::ClientRequest((op, _)) = event {
                    self.lose_op(
                        crate::op::OpId(*op),
                        format!("N{id} was down when it arrived"),
                    );
                }
            }
            return Ok(());
        }
        node.note_requests(&events);
        for event in &events {
            // A message is the sender's doing; anything else, the node's own.
            let cause = match event {
                Event::Message((from, _)) => *from,
                _ => id,
            };
            self.instant_load.count(now, cause, 1);
        }
        self.timer_streak.count(id, &events);
        let instance = node
            .instance
            .as_mut()
            .expect("a running node has an instance");
        // Group commit: everything that becomes durable now goes in one transaction.
        let durable: Vec<u64> = events
            .iter()
            .filter_map(|e| match e {
                Event::WriteDurable(w) => Some(*w),
                _ => None,
            })
            .collect();
        instance
            .storage()
            .make_durable(&durable)
            .map_err(|source| SimError::Storage { node: id, source })?;
        for event in &events {
            self.trace.event(now.0, id, event);
        }
        if let Some(journal) = &mut self.journal {
            journal.begin_call(Lane::Node(id));
            for flight in flights {
                journal.deliver(now.0, flight);
            }
        }
        self.events += events.len() as u64;
        let result = instance.handle(now.0, &events);
        if let Some(printed) = instance.take_output() {
            for line in printed.lines() {
                self.trace.log(now.0, id, || format!("printed: {line}"));
            }
        }
        match result {
            Ok(()) => self.apply_effects(id),
            // Effects of a failed call are discarded with the instance.
            Err(e) => self.crash(id, e.to_string(), false),
        }
        Ok(())
    }
}

/// The most events one call delivers to a node; the rest of that instant's follow in the
/// next calls, in order.
const MAX_BATCH: usize = 1024;

/// Events counted per node, in a short list (a cluster has a handful of nodes, and most
/// instants see one or two of them): cheaper than a map on the hot path.
#[derive(Debug, Default)]
struct Tally {
    total: u64,
    by_node: Vec<(NodeId, u64)>,
}

impl Tally {
    fn add(&mut self, node: NodeId, events: u64) {
        self.total += events;
        match self.by_node.iter_mut().find(|(n, _)| *n == node) {
            Some((_, count)) => *count += events,
            None => self.by_node.push((node, events)),
        }
    }

    fn clear(&mut self) {
        self.total = 0;
        self.by_node.clear();
    }

    /// Past `limit` events: the node with the most of them, and how many (the lowest id
    /// on a tie).
    fn over(&self, limit: u64) -> Option<(NodeId, u64)> {
        if self.total <= limit {
            return None;
        }
        self.by_node
            .iter()
            .copied()
            .max_by_key(|(n, e)| (*e, std::cmp::Reverse(*n)))
    }
}

/// Events delivered at one virtual instant, per node that caused them.
#[derive(Debug, Default)]
pub(crate) struct InstantLoad {
    at: SimTime,
    tally: Tally,
}

impl InstantLoad {
    fn count(&mut self, now: SimTime, node: NodeId, events: u64) {
        if now != self.at {
            self.at = now;
            self.tally.clear();
        }
        self.tally.add(node, events);
    }

    /// When more than `limit` events were delivered at this instant: why the run makes no
    /// progress, naming the node that caused the most of them (the sender of a message,
    /// the node itself for its timers and writes).
    pub fn stuck(&self, limit: u64) -> Option<String> {
        let (node, most) = self.tally.over(limit)?;
        Some(format!(
            "no progress: {} events at virtual instant {} without the clock moving, {most} of them caused by N{node} (run.max_events_per_instant)",
            self.tally.total, self.at
        ))
    }
}

/// Timers that fired in a row with nothing else happening (no message, no write, no
/// operation, no store request), per node: a cluster that only ticks makes no progress.
#[derive(Debug, Default)]
pub(crate) struct TimerStreak {
    tally: Tally,
}

impl TimerStreak {
    /// Counts a delivery: timers alone extend the streak, anything else ends it.
    fn count(&mut self, node: NodeId, events: &[Event]) {
        if events.iter().all(|e| matches!(e, Event::Timer(_))) {
            self.tally.add(node, events.len() as u64);
        } else {
            self.tally.clear();
        }
    }

    /// Something other than a timer happened elsewhere (the metadata store answered).
    pub fn end(&mut self) {
        self.tally.clear();
    }

    /// When more than `limit` timers fired in a row: why the run makes no progress.
    pub fn idle(&self, limit: u64) -> Option<String> {
        let (node, most) = self.tally.over(limit)?;
        Some(format!(
            "no progress: {} timers fired in a row with nothing else happening, {most} of them N{node}'s (run.max_idle_events)",
            self.tally.total
        ))
    }
}
