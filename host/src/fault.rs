//! Faults and changes a run can undergo, from a scenario, a script step, a workload or a
//! call on the sandbox handle. Node lifecycle faults act on the node; the others become
//! rules of the fault seam ([`crate::net::rules`]).

use std::fmt;

use crate::latency::Latency;
use crate::metadata_store::Outage;
use crate::net::envelope::Endpoint;
use crate::net::rules::Route;
use crate::op::NodeId;
use crate::time::SimTime;

/// One fault or change, applied at an instant.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Start a node that has not started yet (or restart a crashed one).
    Start(NodeId),
    /// Stop a node: its instance is dropped, and what it had not made durable is lost.
    Crash(NodeId),
    /// Start a crashed node again, from its database.
    Restart(NodeId),
    /// Crash a node and lose its disk: it restarts (with `Restart`) from nothing.
    Wipe(NodeId),
    /// Lose everything sent from `from` to `to` (and back, with `both_ways`), until
    /// `until` if set, else until healed.
    Partition {
        /// The sending end.
        from: Endpoint,
        /// The receiving end.
        to: Endpoint,
        /// Cut the other direction too.
        both_ways: bool,
        /// When the partition heals by itself.
        until: Option<SimTime>,
    },
    /// Undo the partition of `from -> to` (and back, with `both_ways`).
    Heal {
        /// The sending end.
        from: Endpoint,
        /// The receiving end.
        to: Endpoint,
        /// Heal the other direction too.
        both_ways: bool,
    },
    /// Undo every partition.
    HealAll,
    /// Keep everything sent from `from` to `to` until the link is released.
    Hold {
        /// The sending end.
        from: Endpoint,
        /// The receiving end.
        to: Endpoint,
    },
    /// Release a held link: what it held arrives, in the order it was sent.
    Release {
        /// The sending end.
        from: Endpoint,
        /// The receiving end.
        to: Endpoint,
    },
    /// Set the latency of a path from now on.
    Latency {
        /// The path.
        path: Route,
        /// Its new latency.
        latency: Latency,
    },
    /// The metadata store fails (a new leader term begins): until `until` if set, else
    /// until [`Fault::StoreRecover`].
    StoreOutage {
        /// How it fails.
        outage: Outage,
        /// When it recovers by itself.
        until: Option<SimTime>,
    },
    /// The metadata store recovers from its outage: requests that waited are served.
    StoreRecover,
}

impl Fault {
    /// The nodes the fault names.
    pub fn nodes(&self) -> Vec<NodeId> {
        let of = |e: &Endpoint| match *e {
            Endpoint::Node(n) | Endpoint::Disk(n) => Some(n),
            Endpoint::Store => None,
        };
        match self {
            Fault::Start(n) | Fault::Crash(n) | Fault::Restart(n) | Fault::Wipe(n) => vec![*n],
            Fault::Partition { from, to, .. }
            | Fault::Heal { from, to, .. }
            | Fault::Hold { from, to }
            | Fault::Release { from, to } => of(from).into_iter().chain(of(to)).collect(),
            Fault::Latency {
                path: Route::Link(from, to),
                ..
            } => of(from).into_iter().chain(of(to)).collect(),
            Fault::HealAll
            | Fault::Latency { .. }
            | Fault::StoreOutage { .. }
            | Fault::StoreRecover => Vec::new(),
        }
    }
}

/// How a cut or a heal reads: `->` one way, `<->` both ways.
pub(crate) fn arrow(both_ways: bool) -> &'static str {
    if both_ways { "<->" } else { "->" }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Start(n) => write!(f, "start N{n}"),
            Fault::Crash(n) => write!(f, "crash N{n}"),
            Fault::Restart(n) => write!(f, "restart N{n}"),
            Fault::Wipe(n) => write!(f, "wipe N{n}"),
            Fault::Partition {
                from,
                to,
                both_ways,
                until,
            } => {
                write!(f, "partition {from} {} {to}", arrow(*both_ways))?;
                match until {
                    Some(u) => write!(f, " until {u}"),
                    None => Ok(()),
                }
            }
            Fault::Heal {
                from,
                to,
                both_ways,
            } => write!(f, "heal {from} {} {to}", arrow(*both_ways)),
            Fault::HealAll => f.write_str("heal every partition"),
            Fault::Hold { from, to } => write!(f, "hold {from} -> {to}"),
            Fault::Release { from, to } => write!(f, "release {from} -> {to}"),
            Fault::Latency { path, latency } => write!(f, "latency of {path}: {latency}"),
            Fault::StoreOutage { outage, until } => {
                write!(f, "{}", outage.action())?;
                match until {
                    Some(u) => write!(f, " until {u}"),
                    None => Ok(()),
                }
            }
            Fault::StoreRecover => f.write_str("store-recover"),
        }
    }
}

/// A fault planned relative to a moment (the start of the run, or the first seal):
/// it happens `at` after it, and a partition heals `until` after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// Nanoseconds after the moment.
    pub at: u64,
    /// For a partition or a store outage: nanoseconds after the moment when it ends by itself.
    pub until: Option<u64>,
    /// The fault (a partition's own `until` is set from the one above).
    pub fault: Fault,
}

impl Planned {
    /// When it happens and what, counting from `base`.
    pub fn from_base(&self, base: SimTime) -> (SimTime, Fault) {
        let mut fault = self.fault.clone();
        if let (Fault::Partition { until, .. } | Fault::StoreOutage { until, .. }, Some(rel)) =
            (&mut fault, self.until)
        {
            *until = Some(base.plus(rel));
        }
        (base.plus(self.at), fault)
    }
}
