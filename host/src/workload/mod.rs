//! Workloads: sans-IO drivers of client operations. A workload is told when the run
//! starts, when nodes start, when its operations complete (or are lost) and when it asked
//! to be woken; it answers with [`Action`]s (operations to invoke, wake-ups, faults,
//! metadata writes) that the sandbox carries out. It never sees the clock directly and
//! owns no I/O, so a run stays deterministic.
//!
//! Built in:
//! - [`append_after_seal`]: the body of Restate's `append_after_seal_concurrent`;
//! - [`random_ops`]: seeded random operations from several processes, with a nemesis;
//! - [`script`]: the `[[steps]]` of a scenario file.
//!
//! A workload adds its own expectations on top of the standard checks
//! ([`Workload::expectations`]).

pub mod append_after_seal;
pub mod random_ops;
pub mod script;

use std::time::Duration;

use crate::bindings::{MetadataValue, Precondition};
use crate::check::CheckResult;
use crate::fault::Fault;
use crate::op::{NodeId, Op, OpId, OpResult};
use crate::record::history::{History, Process};
use crate::time::SimTime;

/// The cluster a workload drives, and the log it writes to: the validated cluster of the
/// sandbox's config.
pub use crate::config::cluster::{Cluster, LOG};
pub use append_after_seal::AppendAfterSeal;
pub use random_ops::{RandomOps, RandomOpsConfig};
pub use script::{Script, Step, StepAction, StepTiming};

/// What a workload asks of the sandbox.
#[derive(Debug, Clone)]
pub enum Action {
    /// Invoke an operation on a client node, on behalf of a process.
    Invoke {
        /// Who invokes it (shown in histories).
        process: Process,
        /// The client node.
        node: NodeId,
        /// The operation.
        op: Op,
    },
    /// Call [`Workload::on_wake`] with this token after this long.
    WakeAfter(Duration, u64),
    /// Apply a fault or change now.
    Fault(Fault),
    /// Write the metadata store directly, as a test harness does (it arrives at once).
    PutMetadata {
        /// The value, under the Logs key.
        value: MetadataValue,
        /// The put's precondition.
        precondition: Precondition,
    },
    /// The run failed with this error (as the client saw it).
    Fail(String),
    /// Every step is done: the run ends.
    Finish,
}

/// What a workload learns when the run starts.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The run's seed; derive the workload's own generator from it.
    pub seed: u64,
    /// The instant the workload starts.
    pub now: SimTime,
    /// The cluster.
    pub cluster: Cluster,
}

/// A driver of client operations. See the module documentation.
pub trait Workload: Send {
    /// Its name, for reports: `append-after-seal`, `random`, `script`.
    fn name(&self) -> &str;

    /// The run starts (at build time).
    fn on_start(&mut self, _setup: &Setup) -> Vec<Action> {
        Vec::new()
    }

    /// A node started (`incarnation` 1) or restarted (2, 3...) at `now`.
    fn on_node_started(&mut self, _now: SimTime, _node: NodeId, _incarnation: u32) -> Vec<Action> {
        Vec::new()
    }

    /// An operation it invoked completed at `now`.
    fn on_complete(
        &mut self,
        now: SimTime,
        op: OpId,
        process: Process,
        result: &OpResult,
    ) -> Vec<Action>;

    /// An operation it invoked can no longer complete (its node crashed or was down).
    fn on_lost(&mut self, _now: SimTime, _op: OpId, _process: Process, _why: &str) -> Vec<Action> {
        Vec::new()
    }

    /// The wake-up it asked for with [`Action::WakeAfter`], at `now`.
    fn on_wake(&mut self, _now: SimTime, _token: u64) -> Vec<Action> {
        Vec::new()
    }

    /// What it is waiting for, for a run that ran out of time or events.
    fn waiting_for(&self) -> String;

    /// Its own checks of the history, on top of the standard ones.
    fn expectations(&self, _history: &History) -> Vec<CheckResult> {
        Vec::new()
    }
}
