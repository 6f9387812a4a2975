//! The event queue: a heap of `(time, seq, what)`; `seq` breaks ties in the order things
//! were scheduled, so the same inputs always pop in the same order.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::bindings::{Event, MetadataValue, Precondition};
use crate::fault::Fault;
use crate::metadata_store::StoreRequest;
use crate::op::NodeId;
use crate::record::journal::FlightId;
use crate::time::SimTime;

/// What happens at an instant.
pub(crate) enum Pending {
    /// An event for a node. `incarnation` is set for what the node scheduled for itself
    /// (timers, durable writes, store answers): those die with a crash.
    Node {
        node: NodeId,
        incarnation: Option<u32>,
        event: Event,
        /// Its entry in the journal, when one is kept and it is a message.
        flight: Option<FlightId>,
    },
    /// A request reaches the metadata store; `from` is (node, incarnation), or None for
    /// the harness's own writes.
    StoreArrives {
        from: Option<(NodeId, u32)>,
        id: u64,
        request: StoreRequest,
        flight: Option<FlightId>,
    },
    /// A request's service time at the store is over; `epoch` is the leader term it
    /// began in.
    StoreServes {
        from: Option<(NodeId, u32)>,
        id: u64,
        request: StoreRequest,
        epoch: u64,
    },
    /// The store's outage of term `epoch` ends.
    StoreRecovers { epoch: u64 },
    /// The harness writes the Logs (its first try).
    HarnessPut {
        value: MetadataValue,
        precondition: Precondition,
    },
    /// The harness tries its put `id` again.
    HarnessRetry(u64),
    /// A node starts (the first time, or again after a crash).
    Start(NodeId),
    /// A group commit that was held (a stalled disk), waiting to be judged again.
    Commit {
        node: NodeId,
        incarnation: u32,
        writes: Vec<u64>,
    },
    /// A node's group commit completed (after its writes' durable events).
    CommitDone { node: NodeId, incarnation: u32 },
    /// A fault or change applied at this instant, and who asked for it.
    Fault { fault: Fault, origin: Origin },
    /// The workload's wake-up.
    Wake(u64),
}

impl Pending {
    /// Its entry in the journal, if it has one.
    pub(crate) fn flight(&self) -> Option<FlightId> {
        match self {
            Pending::Node { flight, .. } | Pending::StoreArrives { flight, .. } => *flight,
            _ => None,
        }
    }
}

/// Who asked for a fault, for the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Scenario,
    Workload,
    Handle,
}

impl Origin {
    pub(crate) fn by(self) -> &'static str {
        match self {
            Origin::Scenario => "the scenario",
            Origin::Workload => "the workload",
            Origin::Handle => "a call on the sandbox",
        }
    }
}

pub(crate) struct Scheduled {
    pub at: SimTime,
    pub seq: u64,
    pub what: Pending,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    /// Reversed: the heap pops the earliest `(at, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Default)]
pub(crate) struct Queue {
    heap: BinaryHeap<Scheduled>,
    seq: u64,
}

impl Queue {
    /// Schedules `what` at `at`, but never before `now`.
    pub fn push(&mut self, now: SimTime, at: SimTime, what: Pending) {
        self.seq += 1;
        self.heap.push(Scheduled {
            at: at.max(now),
            seq: self.seq,
            what,
        });
    }

    pub fn pop(&mut self) -> Option<Scheduled> {
        self.heap.pop()
    }

    pub fn peek(&self) -> Option<&Scheduled> {
        self.heap.peek()
    }

    /// When the next entry is due.
    pub fn next_at(&self) -> Option<SimTime> {
        self.heap.peek().map(|s| s.at)
    }
}
