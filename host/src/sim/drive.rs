//! Client operations, the workload, and faults: how the world is driven.
//!
//! An operation is recorded in the history when invoked and delivered to its node at the
//! same instant; the node completes it through an effect. The workload hears of every
//! completion and loss of its operations, and of node starts, and its actions are carried
//! out at once.

use super::World;
use super::node::NodeStatus;
use super::queue::{Origin, Pending};
use crate::bindings::{Event, LogTail, MetadataValue, OpResult};
use crate::fault::{self, Fault};
use crate::metadata_store::{LOGS_KEY, MetadataStore};
use crate::op::{LogId, NodeId, Op, OpId, describe_result};
use crate::record::history::Process;
use crate::record::journal::{Lane, MarkKind};
use crate::time::SimTime;
use crate::workload::{Action, Workload};

impl World {
    /// Invokes `op` on `node` for `process`: recorded now, delivered now.
    pub(crate) fn invoke(&mut self, process: Process, node: NodeId, op: Op) -> OpId {
        let wit = op.to_wit();
        // Formatted only when a journal is kept: this is the hot path of every run.
        let label = self.journal.is_some().then(|| format!("{op} ({process})"));
        let id = self.history.invoke(self.now, process, node, op);
        if let Some(label) = label {
            self.mark(
                Lane::Node(node),
                MarkKind::Invoke,
                || format!("op {id}: {label}"),
                Some(id.0),
            );
        }
        if !self.nodes.contains_key(&node) {
            self.lose_op(id, format!("N{node} is not in the cluster"));
            return id;
        }
        self.push(
            self.now,
            Pending::Node {
                node,
                incarnation: None,
                event: Event::ClientRequest((id.0, wit)),
                flight: None,
            },
        );
        id
    }

    /// A node completed a client operation.
    pub(crate) fn complete(&mut self, node: NodeId, op: u64, outcome: OpResult) {
        let now = self.now;
        let op = OpId(op);
        let Some(record) = self.history.get(op) else {
            return self.crash(
                node,
                format!("completed client operation {op}, which does not exist"),
                false,
            );
        };
        if record.node != node || record.completed.is_some() || record.lost.is_some() {
            return self.crash(
                node,
                format!("completed client operation {op} twice or for another node"),
                false,
            );
        }
        let process = record.process;
        let what = self.journal.is_some().then(|| record.op.to_string());
        if let Some(log) = record.op.log()
            && answered_from_stale_marker(&self.store, log, &outcome)
        {
            // The host's own observation, beside the guest's race points: the node answered
            // from a Logs value whose seal marker the store's chain had moved past.
            *self.race_points.entry(STALE_SEAL_MARKER).or_insert(0) += 1;
        }
        if matches!(record.op, Op::Seal(_))
            && matches!(outcome, OpResult::Sealed(_))
            && !self.sealed_once
        {
            self.sealed_once = true;
            for planned in std::mem::take(&mut self.on_seal) {
                let (at, fault) = planned.from_base(now);
                let origin = Origin::Scenario;
                self.push(at, Pending::Fault { fault, origin });
            }
        }
        self.trace.note(now.0, node, || {
            format!(
                "op {op} ({process}) completes: {}",
                describe_result(&outcome)
            )
        });
        if let Some(what) = what {
            let kind = match &outcome {
                OpResult::Failed(_) => MarkKind::Failed,
                OpResult::Sealed(_) => MarkKind::Sealed,
                _ => MarkKind::Complete,
            };
            self.mark(
                Lane::Node(node),
                kind,
                || format!("op {op}: {what}: {}", describe_result(&outcome)),
                Some(op.0),
            );
        }
        let actions = self.ask_workload(|w, now| w.on_complete(now, op, process, &outcome));
        self.history.complete(now, op, outcome);
        self.act(actions);
    }

    /// Tells the workload that a node started.
    pub(crate) fn node_started(&mut self, node: NodeId, incarnation: u32) {
        let actions = self.ask_workload(|w, now| w.on_node_started(now, node, incarnation));
        self.act(actions);
    }

    /// Tells the workload that one of its operations was lost.
    pub(crate) fn workload_lost(&mut self, op: OpId, process: Process, why: &str) {
        let actions = self.ask_workload(|w, now| w.on_lost(now, op, process, why));
        self.act(actions);
    }

    /// A workload's timer fired.
    pub(crate) fn wake(&mut self, token: u64) {
        let actions = self.ask_workload(|w, now| w.on_wake(now, token));
        self.act(actions);
    }

    /// Tells the workload, if there is one, what happened; it answers with actions.
    fn ask_workload(
        &mut self,
        tell: impl FnOnce(&mut dyn Workload, SimTime) -> Vec<Action>,
    ) -> Vec<Action> {
        match &mut self.driver {
            Some(driver) => tell(driver.workload.as_mut(), self.now),
            None => Vec::new(),
        }
    }

    /// Carries out a workload's actions, unless it finished (or was silenced).
    pub(crate) fn act(&mut self, actions: Vec<Action>) {
        if self.driver.as_ref().is_none_or(|d| d.finished) {
            return;
        }
        for action in actions {
            match action {
                Action::Invoke { process, node, op } => {
                    self.invoke(process, node, op);
                }
                Action::WakeAfter(delay, token) => {
                    let at = self.now + delay;
                    self.push(at, Pending::Wake(token))
                }
                Action::Fault(fault) => self.apply_fault(fault, Origin::Workload),
                Action::PutMetadata {
                    value,
                    precondition,
                } => self.harness_put(value, precondition),
                Action::Fail(error) => {
                    let driver = self.driver.as_mut().expect("checked above");
                    if driver.error.is_none() {
                        driver.error = Some(error);
                    }
                }
                Action::Finish => self.driver.as_mut().expect("checked above").finished = true,
            }
        }
    }

    /// Applies a fault now. Lifecycle faults act on their node if it is in a state for
    /// them (a crash of a running node...); the others become rules of the seam.
    pub(crate) fn apply_fault(&mut self, fault: Fault, origin: Origin) {
        let now = self.now;
        let status = |w: &World, n: NodeId| {
            w.nodes
                .get(&n)
                .map_or(NodeStatus::NotInCluster, |node| node.status.clone())
        };
        let note_node = fault.nodes().first().copied().unwrap_or(0);
        let by = origin.by();
        // A latency change is no fault, and starting a node is how a run begins.
        let ends = match &fault {
            Fault::Latency { .. } | Fault::Start(_) => None,
            Fault::Partition { until, .. } | Fault::StoreOutage { until, .. } => {
                Some(until.unwrap_or(now).max(now))
            }
            _ => Some(now),
        };
        if let Some(ends) = ends {
            self.last_fault = self.last_fault.max(ends);
        }
        if !matches!(
            fault,
            Fault::Start(_)
                | Fault::Restart(_)
                | Fault::Crash(_)
                | Fault::Wipe(_)
                | Fault::StoreOutage { .. }
                | Fault::StoreRecover
        ) {
            // Lifecycle and store faults mark what they do themselves.
            let lane = match fault.nodes().first() {
                Some(n) => Lane::Node(*n),
                None => Lane::Node(self.members.first().copied().unwrap_or(0)),
            };
            self.mark(lane, MarkKind::Fault, || fault.to_string(), None);
        }
        match &fault {
            Fault::Start(n) | Fault::Restart(n) => match status(self, *n) {
                NodeStatus::Crashed { .. } => {
                    self.nodes.get_mut(n).expect("known").restarts += 1;
                    self.start_node(*n);
                }
                NodeStatus::NotStarted => self.start_node(*n),
                other => self.ignored(&fault, *n, &other),
            },
            Fault::Crash(n) => match status(self, *n) {
                NodeStatus::Running => self.crash(*n, format!("crashed by {by}"), true),
                other => self.ignored(&fault, *n, &other),
            },
            Fault::Wipe(n) => match status(self, *n) {
                NodeStatus::NotInCluster => self.ignored(&fault, *n, &NodeStatus::NotInCluster),
                running => {
                    if running == NodeStatus::Running {
                        self.crash(*n, format!("crashed by {by}, disk lost"), true);
                    }
                    if let Err(source) = self.wipe(*n) {
                        self.failure = Some(super::SimError::Storage { node: *n, source });
                    }
                }
            },
            Fault::Partition {
                from,
                to,
                both_ways,
                until,
            } => {
                self.net.rules.cut(*from, *to, *until);
                if *both_ways {
                    self.net.rules.cut(*to, *from, *until);
                }
                let arrow = fault::arrow(*both_ways);
                let text = match until {
                    Some(u) => format!("messages {from} {arrow} {to} are lost until {u}"),
                    None => format!("messages {from} {arrow} {to} are lost"),
                };
                self.trace.note(now.0, note_node, || text);
            }
            Fault::Heal {
                from,
                to,
                both_ways,
            } => {
                self.net.rules.heal(*from, *to);
                if *both_ways {
                    self.net.rules.heal(*to, *from);
                }
                let arrow = fault::arrow(*both_ways);
                self.trace.note(now.0, note_node, || {
                    format!("messages {from} {arrow} {to} pass again")
                });
            }
            Fault::HealAll => {
                let healed = self.net.rules.heal_all();
                self.trace.note(now.0, 0, || {
                    format!("every partition heals ({healed} cuts)")
                });
            }
            Fault::Hold { from, to } => {
                self.net.rules.hold(*from, *to);
                self.trace.note(now.0, note_node, || {
                    format!("{from} -> {to} held: what is sent waits for a release")
                });
            }
            Fault::Release { from, to } => {
                let released = self.release_link(*from, *to);
                self.trace.note(now.0, note_node, || {
                    format!("{from} -> {to} released: {released} held go on, in order")
                });
            }
            Fault::Latency { path, latency } => {
                self.net.rules.set_latency(*path, *latency);
                self.trace.note(now.0, note_node, || {
                    format!("latency of {path} is now {latency}")
                });
            }
            Fault::StoreOutage { outage, until } => {
                self.trace.note(now.0, 0, || {
                    let until = until.map_or(String::new(), |u| format!(" until {u}"));
                    format!("metadata store is {outage}{until}, by {by}")
                });
                self.begin_outage(*outage, *until);
            }
            Fault::StoreRecover => self.store_recovers(None),
        }
    }

    fn ignored(&mut self, fault: &Fault, node: NodeId, status: &NodeStatus) {
        let state = match status {
            NodeStatus::NotStarted => "not started",
            NodeStatus::Running => "running",
            NodeStatus::Crashed { .. } => "crashed",
            NodeStatus::NotInCluster => "not in the cluster",
        };
        let text = format!("{fault} ignored: N{node} is {state}");
        // Also told to the embedding program: a planned fault that does nothing is often
        // a scenario that does not say what its author meant.
        tracing::info!(at = %crate::time::fmt_duration(self.now.0), "{text}");
        self.trace.note(self.now.0, node, || text);
    }
}

/// The race point the host notes itself when a node answers a log sealed at a segment the
/// metadata store's chain has already gone past (a cached seal marker trusted while the
/// chain moved on: `guest.bifrost.sealed_chain`).
pub const STALE_SEAL_MARKER: &str = "stale-seal-marker";

/// Whether `outcome` says `log` is sealed at a segment the store's chain extended since.
fn answered_from_stale_marker(store: &MetadataStore, log: LogId, outcome: &OpResult) -> bool {
    let (OpResult::Tail(tail) | OpResult::Sealed(tail)) = outcome else {
        return false;
    };
    let LogTail::Sealed(at) = tail.tail else {
        return false;
    };
    let Some(MetadataValue::Logs(logs)) = store.get(LOGS_KEY) else {
        return false;
    };
    logs.chains
        .iter()
        .filter(|c| c.log_id == log)
        .flat_map(|c| &c.segments)
        .any(|s| s.params.is_some() && s.index > tail.segment_index && s.base_lsn >= at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{
        Chain, ChainTail, Logs, Precondition, ProviderKind, ReplicatedParams, Segment,
    };
    use crate::metadata_store::StoreRequest;

    fn segment(base: u64, index: u32, marker: bool) -> Segment {
        Segment {
            base_lsn: base,
            index,
            provider: if marker {
                ProviderKind::Sealed
            } else {
                ProviderKind::Replicated
            },
            params: (!marker).then(|| ReplicatedParams {
                loglet_id: index as u64,
                sequencer: 5,
                replication: 2,
                nodeset: vec![1, 2, 3],
            }),
        }
    }

    fn store_with(segments: Vec<Segment>) -> MetadataStore {
        let mut store = MetadataStore::default();
        store.apply(StoreRequest::Put {
            key: LOGS_KEY.into(),
            value: MetadataValue::Logs(Logs {
                version: 1,
                chains: vec![Chain {
                    log_id: 0,
                    segments,
                }],
            }),
            precondition: Precondition::None,
        });
        store
    }

    fn sealed(index: u32, at: u64) -> OpResult {
        OpResult::Tail(ChainTail {
            segment_index: index,
            tail: LogTail::Sealed(at),
        })
    }

    #[test]
    fn a_sealed_answer_is_stale_once_the_stores_chain_went_on_past_it() {
        // The store's chain went on at 5 with segment 1: sealed at 5 in segment 0 is stale.
        let moved = store_with(vec![segment(1, 0, false), segment(5, 1, false)]);
        assert!(answered_from_stale_marker(&moved, 0, &sealed(0, 5)));
        assert!(
            !answered_from_stale_marker(&moved, 1, &sealed(0, 5)),
            "another log"
        );
        // A chain sealed where the answer says is no stale answer; nor is an open tail.
        let sealed_store = store_with(vec![segment(1, 0, false), segment(5, 0, true)]);
        assert!(!answered_from_stale_marker(&sealed_store, 0, &sealed(0, 5)));
        let open = OpResult::Tail(ChainTail {
            segment_index: 0,
            tail: LogTail::Open(5),
        });
        assert!(!answered_from_stale_marker(&moved, 0, &open));
    }
}
