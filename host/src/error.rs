//! Errors: one enum per operation, and [`Error`], the umbrella a `main` or a test can
//! return with `?`.
//!
//! - [`crate::scenario::ScenarioError`]: a scenario file or `--set` that cannot be used;
//! - [`crate::runtime::LoadError`]: a component that does not load or implement the world;
//! - [`BuildError`]: a sandbox that cannot be built (its cluster: [`ClusterError`]);
//! - [`SimError`]: a simulation that cannot go on;
//! - [`RunError`]: a sandbox that cannot go on, or a wait that cannot end.
//!
//! A run that *fails* (an invariant broken, `unknown log '0'`) is not an error: it is a
//! report with outcome `fail`.

use std::time::Duration;

use crate::config::ClusterError;
use crate::latency::LatencyError;
use crate::net::rules::Route;
use crate::op::{NodeId, OpId};
use crate::runtime::LoadError;
use crate::scenario::ScenarioError;
use crate::storage::StorageError;

/// Why a sandbox could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A latency that does not parse.
    #[error("latency of {path}: {error}")]
    Latency {
        /// The path it was for.
        path: Route,
        /// What is wrong with it.
        error: LatencyError,
    },
    /// A metadata-store service time that does not parse.
    #[error("metadata store {op} time: {error}")]
    StoreTime {
        /// `read` or `write`.
        op: &'static str,
        /// What is wrong with it.
        error: LatencyError,
    },
    /// A cluster that makes no sense (no log-server, a quorum larger than the nodeset...).
    #[error("{0}")]
    Cluster(#[from] ClusterError),
    /// The run's Logs cannot be written before the run starts (its precondition fails).
    #[error(
        "the Logs cannot be installed before the run starts (precondition {precondition}): {error}"
    )]
    InstallLogs {
        /// The put's precondition, as a scenario writes it.
        precondition: String,
        /// What the store answered.
        error: String,
    },
    /// The output directory could not be made.
    #[error("output directory {path}: {reason}")]
    OutDir {
        /// The directory.
        path: String,
        /// Why.
        reason: String,
    },
    /// A node's database could not be created.
    #[error("storage of N{node}: {source}")]
    Storage {
        /// The node.
        node: NodeId,
        /// What redb said.
        source: StorageError,
    },
    /// The built-in guest did not load.
    #[error("{0}")]
    Load(#[from] LoadError),
}

/// Why the simulation could not go on (as opposed to a run that failed a check).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A node's database failed.
    #[error("storage of N{node}: {source}")]
    Storage {
        /// The node.
        node: NodeId,
        /// What redb said.
        source: StorageError,
    },
}

/// Why a sandbox could not go on, or a wait could not end.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A node's database failed.
    #[error("{0}")]
    Sim(#[from] SimError),
    /// No node has this id.
    #[error("N{0} is not in the cluster")]
    NotInCluster(NodeId),
    /// The node is already running.
    #[error("N{0} is already running")]
    AlreadyRunning(NodeId),
    /// The operation can no longer complete: its node crashed, or was down.
    #[error("operation {op} was lost: {why}")]
    OpLost {
        /// The operation.
        op: OpId,
        /// Why.
        why: String,
    },
    /// No operation has this id.
    #[error("no operation {0} was invoked on this sandbox")]
    UnknownOp(OpId),
    /// Nothing is left to happen, and the condition does not hold.
    #[error("nothing left to happen at {at} while waiting for {waiting_for}")]
    Stalled {
        /// The virtual instant.
        at: crate::time::SimTime,
        /// What was awaited.
        waiting_for: String,
    },
    /// The condition did not hold within the wait limit of virtual time.
    #[error("waited {} of virtual time for {waiting_for} (the sandbox's wait limit)", crate::time::fmt_duration(crate::time::nanos(*waited)))]
    Timeout {
        /// How long.
        waited: Duration,
        /// What was awaited.
        waiting_for: String,
    },
    /// The run delivered as many events as it may (`run.max_events`); the node that sent
    /// the most messages, and how many.
    #[error(
        "event limit reached: {events} events (run.max_events); N{loudest} sent the most messages, {sent}"
    )]
    EventLimit {
        /// Events delivered.
        events: u64,
        /// The node that sent the most messages.
        loudest: NodeId,
        /// How many it sent.
        sent: u64,
    },
    /// The history holds as many operations as it may (`run.max_ops`).
    #[error("operation limit reached: {0} client operations (run.max_ops)")]
    OpLimit(usize),
    /// Events piled up at one virtual instant (`run.max_events_per_instant`); the message
    /// names the node that took most of them.
    #[error("{0}")]
    NoProgress(String),
    /// The sandbox ran longer in real time than its budget (`run.wall_limit`).
    #[error("wall-clock limit reached: ran {} of real time (run.wall_limit)", crate::time::fmt_duration(crate::time::nanos(*.0)))]
    WallLimit(Duration),
}

/// Any error of the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scenario file or `--set`.
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// A component.
    #[error("{0}")]
    Load(#[from] LoadError),
    /// Building a sandbox.
    #[error("{0}")]
    Build(#[from] BuildError),
    /// Driving a sandbox.
    #[error("{0}")]
    Run(#[from] RunError),
}
