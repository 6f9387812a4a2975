//! Faults and latencies as calls on the handle, applied at the current instant (or at a
//! chosen one, with [`Sandbox::schedule`]). Each goes through the same seam as the
//! scenario's faults: node lifecycle faults act on the node; the others are rules that
//! judge every message, metadata request and response, and storage commit from now on.

use super::Sandbox;
use crate::error::RunError;
use crate::fault::Fault;
use crate::latency::IntoLatency;
use crate::metadata_store::Outage;
use crate::net::LinkStats;
use crate::net::envelope::Endpoint;
use crate::net::rules::{Route, Rule, RuleId};
use crate::op::{NodeId, OpId};
use crate::record::history::Process;
use crate::sim::queue::{Origin, Pending};
use crate::time::SimTime;
use crate::workload::StepAction;

impl Sandbox {
    /// Applies a fault or change now.
    pub fn apply(&mut self, fault: Fault) {
        self.world.apply_fault(fault, Origin::Handle);
    }

    /// Carries out a script step's action now, exactly as a scenario's script does: its
    /// operation on behalf of process `step-NUMBER`, its fault as the workload's, its put
    /// of the Logs through the harness. The repl does this with every command, so a saved
    /// session replays to the same trace hash. Returns the operation invoked, if any.
    pub fn perform_step(&mut self, action: &StepAction, number: u32) -> Option<OpId> {
        match action {
            StepAction::Invoke { node, op } => {
                Some(self.invoke_as(Process::Step(number), *node, op.clone()))
            }
            StepAction::Fault(planned) => {
                let (_, fault) = planned.from_base(self.now());
                self.world.apply_fault(fault, Origin::Workload);
                None
            }
            StepAction::PutLogs {
                version,
                precondition,
            } => {
                let value = self.world.cluster.logs(*version);
                self.world.harness_put(value, *precondition);
                None
            }
            StepAction::Stop => None,
        }
    }

    /// Applies a fault or change at the virtual instant `at` (now, if `at` has passed).
    pub fn schedule(&mut self, at: SimTime, fault: Fault) {
        let origin = Origin::Handle;
        self.world.push(at, Pending::Fault { fault, origin });
    }

    fn known(&self, node: NodeId) -> Result<(), RunError> {
        match self.world.nodes.contains_key(&node) {
            true => Ok(()),
            false => Err(RunError::NotInCluster(node)),
        }
    }

    /// Crashes a running node: its instance is dropped, what it had not made durable is
    /// lost, and so are the operations in flight on it.
    pub fn crash(&mut self, node: NodeId) -> Result<(), RunError> {
        self.known(node)?;
        self.apply(Fault::Crash(node));
        Ok(())
    }

    /// Restarts a crashed node from its database.
    pub fn restart(&mut self, node: NodeId) -> Result<(), RunError> {
        self.known(node)?;
        self.apply(Fault::Restart(node));
        Ok(())
    }

    /// Crashes a node (if running) and loses its disk; [`Self::restart`] brings it back empty.
    pub fn wipe(&mut self, node: NodeId) -> Result<(), RunError> {
        self.known(node)?;
        self.apply(Fault::Wipe(node));
        self.world.failure.take().map_or(Ok(()), |e| Err(e.into()))
    }

    /// Cuts `a` and `b` apart, both ways, until healed. Endpoints are node ids or
    /// [`Endpoint::Store`].
    pub fn partition(&mut self, a: impl Into<Endpoint>, b: impl Into<Endpoint>) {
        self.apply(Fault::Partition {
            from: a.into(),
            to: b.into(),
            both_ways: true,
            until: None,
        });
    }

    /// Loses what `from` sends to `to` (not the other way), until healed.
    pub fn partition_one_way(&mut self, from: impl Into<Endpoint>, to: impl Into<Endpoint>) {
        self.apply(Fault::Partition {
            from: from.into(),
            to: to.into(),
            both_ways: false,
            until: None,
        });
    }

    /// Heals the partition between `a` and `b`, both ways.
    pub fn heal(&mut self, a: impl Into<Endpoint>, b: impl Into<Endpoint>) {
        self.apply(Fault::Heal {
            from: a.into(),
            to: b.into(),
            both_ways: true,
        });
    }

    /// Heals every partition.
    pub fn heal_all(&mut self) {
        self.apply(Fault::HealAll);
    }

    /// Holds what `from` sends to `to` until [`Self::release`].
    pub fn hold(&mut self, from: impl Into<Endpoint>, to: impl Into<Endpoint>) {
        self.apply(Fault::Hold {
            from: from.into(),
            to: to.into(),
        });
    }

    /// Releases a held link: what it held is judged again and arrives in the order it
    /// was sent. Returns how many envelopes were held.
    pub fn release(&mut self, from: impl Into<Endpoint>, to: impl Into<Endpoint>) -> usize {
        let (from, to) = (from.into(), to.into());
        let held = self.world.held_count(from, to);
        self.apply(Fault::Release { from, to });
        held
    }

    /// How many envelopes `from -> to` holds now.
    pub fn held(&self, from: impl Into<Endpoint>, to: impl Into<Endpoint>) -> usize {
        self.world.held_count(from.into(), to.into())
    }

    /// Sets the latency of a path from now on: `"5ms"`, `"1ms..3ms"`, `"exp:2ms"`, a
    /// `Duration` or a [`crate::Latency`]. A link's latency beats its path class's.
    pub fn set_latency(
        &mut self,
        path: Route,
        latency: impl IntoLatency,
    ) -> Result<(), crate::latency::LatencyError> {
        let latency = latency.into_latency()?;
        self.apply(Fault::Latency { path, latency });
        Ok(())
    }

    /// Adds a rule of your own to the seam, judged before every latency.
    pub fn add_rule(&mut self, rule: impl Rule + 'static) -> RuleId {
        self.world.net.rules.add(Box::new(rule))
    }

    /// Removes a rule; false if there is none with that id.
    pub fn remove_rule(&mut self, id: RuleId) -> bool {
        self.world.net.rules.remove(id)
    }

    /// The rules of the seam, one line each, in the order they are judged.
    pub fn rules(&self) -> Vec<String> {
        self.world.net.rules.describe()
    }

    /// What went over the link `from -> to` so far (messages between nodes).
    pub fn link_stats(&self, from: NodeId, to: NodeId) -> LinkStats {
        self.world.net.stats(from, to)
    }

    /// The metadata store fails from now on, as `outage` says, for `duration` (or until
    /// [`Self::store_recover`]): a new leader term begins.
    pub fn store_outage(&mut self, outage: Outage, duration: Option<std::time::Duration>) {
        let until = duration.map(|d| self.now().plus(crate::time::nanos(d)));
        self.apply(Fault::StoreOutage { outage, until });
    }

    /// The metadata store recovers: the requests that waited are served, in order.
    pub fn store_recover(&mut self) {
        self.apply(Fault::StoreRecover);
    }
}
