//! Looking inside a sandbox: each node as the host saw it, the metadata store, the
//! history, and the checks on demand.

use super::Sandbox;
use crate::bindings::{MetadataValue, Precondition, Roles, StoreError, StoreResponse};
use std::collections::BTreeMap;

use crate::check::durability::{self, StoredLog, StoredSegment};
use crate::check::liveness;
use crate::check::{self, CheckResult};
use crate::metadata_store::LOGS_KEY;
use crate::metadata_store::{Outage, StoreRequest, version_of};
use crate::op::{LogId, NodeId, OpId, Version};
use crate::record::history::History;
use crate::sim::node::SimNode;
use crate::sim::queue::Pending;
use crate::sim::{CachedLogs, LogletReport, NodeStatus};
use crate::time::SimTime;

/// The role a node plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Serves the log-server protocol.
    LogServer,
    /// Takes client operations; the sequencer's node is one.
    Client,
}

/// One node as the host sees it. An id that is not in the cluster gives a view whose
/// status is [`NodeStatus::NotInCluster`] and that holds nothing.
pub struct NodeView<'a> {
    id: NodeId,
    node: Option<&'a SimNode>,
    sandbox: &'a Sandbox,
}

impl<'a> NodeView<'a> {
    /// Its id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Whether it runs.
    pub fn status(&self) -> NodeStatus {
        self.node
            .map_or(NodeStatus::NotInCluster, |n| n.status.clone())
    }

    /// It runs.
    pub fn is_running(&self) -> bool {
        self.node.is_some_and(|n| n.status == NodeStatus::Running)
    }

    /// How many times it started (1 for its first life; 0 before it started).
    pub fn incarnation(&self) -> u32 {
        self.node.map_or(0, |n| n.incarnation)
    }

    /// How many times it crashed.
    pub fn crashes(&self) -> u32 {
        self.node.map_or(0, |n| n.crashes)
    }

    /// How many times it restarted after a crash.
    pub fn restarts(&self) -> u32 {
        self.node.map_or(0, |n| n.restarts)
    }

    /// Its role.
    pub fn role(&self) -> Option<Role> {
        let n = self.node?;
        Some(if n.roles.contains(Roles::CLIENT) {
            Role::Client
        } else {
            Role::LogServer
        })
    }

    /// The component it runs (its name: a path, or `built-in guest`).
    pub fn component(&self) -> Option<&'a str> {
        self.node.map(|n| n.runtime.name())
    }

    /// The Logs it holds in its cache, with where it came from (as its
    /// `metadata-offered` calls told the host). None before it cached one, and after a
    /// crash until it caches one again.
    pub fn cached_logs(&self) -> Option<&'a CachedLogs> {
        self.node?.cached_logs.as_ref()
    }

    /// The chain of `log` in the Logs it caches: every segment, oldest first.
    pub fn chain(&self, log: LogId) -> Option<&'a crate::bindings::Chain> {
        self.cached_logs()?.chain(log)
    }

    /// The state of a loglet as this log-server last reported it in a reply.
    pub fn loglet(&self, loglet: u64) -> Option<&'a LogletReport> {
        self.node?.loglets.get(&loglet)
    }

    /// Every loglet it reported on, by loglet id.
    pub fn loglets(&self) -> Vec<(u64, &'a LogletReport)> {
        self.node
            .map(|n| n.loglets.iter().map(|(id, r)| (*id, r)).collect())
            .unwrap_or_default()
    }

    /// Client operations in flight on it.
    pub fn in_flight(&self) -> Vec<OpId> {
        self.sandbox.world.history.in_flight_on(self.id)
    }
}

/// The metadata store, driven by the harness: reads, and writes with a precondition.
pub struct MetadataHandle<'a> {
    sandbox: &'a mut Sandbox,
}

impl MetadataHandle<'_> {
    /// The Logs stored now.
    pub fn get(&self) -> Option<&MetadataValue> {
        self.sandbox.world.store.get(LOGS_KEY)
    }

    /// The version of the Logs stored now.
    pub fn version(&self) -> Option<Version> {
        self.get().map(version_of)
    }

    /// Writes the Logs now, once, as a test harness does (no latency, no retry): the store
    /// checks the precondition and keeps the value, whatever its content. It cannot wait:
    /// during a hang or an election it fails `unavailable` at once, during other outages
    /// as they fail any request; the proxy has its say on the error.
    pub fn put(
        &mut self,
        value: MetadataValue,
        precondition: Precondition,
    ) -> Result<(), StoreError> {
        let request = StoreRequest::Put {
            key: LOGS_KEY.into(),
            value,
            precondition,
        };
        match self.sandbox.world.harness_request(request) {
            StoreResponse::Failed(e) => Err(e),
            _ => Ok(()),
        }
    }

    /// Writes the Logs at the virtual instant `at` (now, if it has passed), as the test
    /// harness does: through its proxy, meeting the store's outages, retried while it
    /// fails retryable ([`crate::SandboxBuilder::harness_puts`]). A put that fails for good
    /// fails the run with its error.
    pub fn put_at(&mut self, at: SimTime, value: MetadataValue, precondition: Precondition) {
        let pending = Pending::HarnessPut {
            value,
            precondition,
        };
        self.sandbox.world.push(at, pending);
    }

    /// How the store is failing now, if it is, and until when.
    pub fn outage(&self) -> Option<(Outage, Option<SimTime>)> {
        self.sandbox.world.store_service.outage
    }

    /// Why each of the harness's puts ([`Self::put_at`]) that failed for good failed.
    pub fn failed_puts(&self) -> &[String] {
        &self.sandbox.world.store_service.failed_puts
    }

    /// Requests waiting for the store to recover.
    pub fn waiting(&self) -> usize {
        self.sandbox.world.store_service.parked()
    }
}

impl Sandbox {
    /// One node as the host sees it.
    pub fn node(&self, id: NodeId) -> NodeView<'_> {
        NodeView {
            id,
            node: self.world.nodes.get(&id),
            sandbox: self,
        }
    }

    /// Every node, by id.
    pub fn nodes(&self) -> Vec<NodeView<'_>> {
        self.world.nodes.keys().map(|id| self.node(*id)).collect()
    }

    /// The metadata store.
    pub fn metadata(&mut self) -> MetadataHandle<'_> {
        MetadataHandle { sandbox: self }
    }

    /// The run's Logs at `version`: log 0 on loglet `0_0` over every log-server, with
    /// this sandbox's sequencer and replication. Write it with [`Self::metadata`].
    pub fn logs_with_log_0(&self, version: Version) -> MetadataValue {
        self.world.cluster.logs(version)
    }

    /// Every client operation so far.
    pub fn history(&self) -> &History {
        &self.world.history
    }

    /// The checks, on the history so far: the standard ones, the workload's
    /// expectations, and `no_unplanned_crash`.
    pub fn check(&self) -> Vec<CheckResult> {
        let mut results = self.history_checks();
        results.push(self.crash_check());
        results.push(self.liveness_check());
        results
    }

    /// Every operation done within `run.liveness_bound` once the last fault healed; not
    /// judged while a fault is in force (a node down, a cut, a hold, a store outage).
    pub(crate) fn liveness_check(&self) -> CheckResult {
        let now = self.world.now;
        let down = self
            .world
            .nodes
            .values()
            .any(|n| matches!(n.status, NodeStatus::Crashed { .. }));
        let outage = self
            .world
            .store_service
            .outage
            .is_some_and(|(_, until)| until.is_none_or(|u| now < u));
        let healed = if down || outage || self.world.net.rules.faults_in_force(now) > 0 {
            liveness::Healed::Not
        } else {
            liveness::Healed::Since(self.world.last_fault)
        };
        liveness::liveness_after_heal(
            &self.world.history,
            healed,
            now,
            crate::time::nanos(self.meta.limits.liveness_bound),
        )
    }

    /// The workload's expectations, the standard checks (what the history shows) and
    /// `acknowledged_durable` (what the log-servers' databases hold).
    pub(crate) fn history_checks(&self) -> Vec<CheckResult> {
        let mut results = match &self.world.driver {
            Some(d) => d.workload.expectations(&self.world.history),
            None => Vec::new(),
        };
        let index = check::HistoryIndex::new(&self.world.history)
            .with_chains(&self.world.store.chain_audit.segments);
        results.extend(check::standard().iter().flat_map(|c| c.judge(&index)));
        results.push(durability::acknowledged_durable(
            &index,
            &self.stored_logs(),
        ));
        results.push(self.world.store.chain_audit.result());
        results
    }

    /// What the log-servers' databases durably hold of each log, segment by segment of its
    /// chain in the metadata store, read by the host, not asked of the guest.
    pub fn stored_logs(&self) -> BTreeMap<LogId, StoredLog> {
        let mut out = BTreeMap::new();
        let Some(MetadataValue::Logs(logs)) = self.world.store.get(LOGS_KEY) else {
            return out;
        };
        for chain in &logs.chains {
            let mut log = StoredLog::default();
            for (i, segment) in chain.segments.iter().enumerate() {
                let Some(params) = segment.params.as_ref() else {
                    continue;
                };
                let stored = self.stored_segment(
                    segment,
                    chain.segments.get(i + 1).map(|next| next.base_lsn),
                    params,
                );
                log.segments.push(stored);
            }
            if !log.segments.is_empty() {
                out.insert(chain.log_id, log);
            }
        }
        out
    }

    /// What the nodeset's databases durably hold of one segment's loglet.
    fn stored_segment(
        &self,
        segment: &crate::bindings::Segment,
        end: Option<u64>,
        params: &crate::bindings::ReplicatedParams,
    ) -> StoredSegment {
        let (start, stop) = durability::record_range(params.loglet_id);
        let mut stored = StoredSegment {
            index: segment.index,
            base: segment.base_lsn,
            end,
            loglet: params.loglet_id,
            nodeset: params.nodeset.clone(),
            replication: params.replication as usize,
            ..StoredSegment::default()
        };
        for &id in &params.nodeset {
            let Some(node) = self.world.nodes.get(&id) else {
                continue;
            };
            if node.wipes > 0 {
                stored.wiped.push(id);
            }
            let Some(storage) = node.storage() else {
                continue;
            };
            match storage.durable_range(&start, &stop) {
                Ok(entries) => {
                    for (key, payload) in entries {
                        if let Some(offset) = durability::offset_of(&key) {
                            stored.copies.entry(offset).or_default().push((id, payload));
                        }
                    }
                }
                Err(e) => stored.unreadable.push((id, e.to_string())),
            }
        }
        stored
    }

    /// Every node stayed up, or crashed only as asked (by a fault).
    pub(crate) fn crash_check(&self) -> CheckResult {
        let unplanned: Vec<String> = self
            .world
            .nodes
            .values()
            .flat_map(|n| {
                n.unplanned
                    .iter()
                    .map(move |(at, reason)| format!("N{} at {at}: {reason}", n.id))
            })
            .collect();
        CheckResult::new(
            "no_unplanned_crash",
            unplanned.is_empty(),
            if unplanned.is_empty() {
                "every node stayed up (or crashed only as the scenario planned)".to_string()
            } else {
                unplanned.join("; ")
            },
        )
    }

    /// Who talked to whom so far, when the sandbox keeps its trace: the source of
    /// `messages.svg` ([`crate::show::diagram`]) and of `explain` ([`crate::show::explain`]).
    pub fn journal(&self) -> Option<&crate::record::journal::Journal> {
        self.world.journal.as_ref()
    }

    /// The trace so far, when the sandbox keeps it ([`super::SandboxBuilder::keep_trace`]).
    pub fn trace(&self) -> &[crate::TraceRecord] {
        self.world.trace.records()
    }
}
