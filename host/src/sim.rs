//! The simulator: a discrete-event loop on a virtual clock.
//!
//! A heap of `(time, seq, what)` where `seq` breaks ties; the loop jumps to the earliest
//! entry and never sleeps. Every random choice comes from generators derived from the
//! run's one seed (network, metadata store, storage, each node). Consecutive events for
//! the same node at the same instant are delivered in one guest call.
//!
//! Everything between nodes crosses this loop: messages (network latency, FIFO links),
//! metadata-store requests and responses (`latency.metadata_store` each way), storage
//! writes (`latency.storage`, durable in order), client operations, faults.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use crate::bindings::{
    Chain, Config, Event, Level, Logs, MetadataValue, Op, OpResult, Precondition, ProviderKind,
    ReplicatedParams, Roles, Segment, UpdateSource,
};
use crate::checker::{self, CheckResult, Expectations};
use crate::effects::Effect;
use crate::history::{History, Process};
use crate::latency::Latency;
use crate::metadata_store::{MetadataStore, StoreRequest, version_of};
use crate::network::Network;
use crate::report::{MetadataOffer, NodeReport, Outcome, RunReport};
use crate::runtime::{Limits, NodeInstance, Runtime};
use crate::scenario::{FaultAction, Scenario, Trigger};
use crate::seeds::{self, SimRng};
use crate::storage::NodeStorage;
use crate::time::SimTime;
use crate::trace::{Trace, describe_result, describe_value};
use crate::workload::{Action, AppendAfterSeal, LOG};

/// The metadata-store key of the Logs value.
pub const LOGS_KEY: &str = "bifrost_config";

/// How to run a scenario.
#[derive(Clone)]
pub struct RunOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Keep a file database per node, and write the trace and history, here.
    pub out_dir: Option<PathBuf>,
    /// Keep the text of every trace event (the hash is computed either way).
    pub keep_trace: bool,
    /// The component every node runs.
    pub runtime: Arc<Runtime>,
    /// After a failure, keep simulating this long (virtual ns) without the workload, so
    /// the trace shows what happened next (the demo uses it). 0 stops at once.
    pub linger_after_failure: u64,
}

impl RunOptions {
    /// A plain run of `runtime`: the scenario's seed, in-memory databases, no trace text.
    pub fn new(runtime: Arc<Runtime>) -> Self {
        RunOptions {
            seed: None,
            out_dir: None,
            keep_trace: false,
            runtime,
            linger_after_failure: 0,
        }
    }
}

/// Why a run could not be carried out at all (as opposed to a run that failed).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("output directory {path}: {reason}")]
    OutDir { path: String, reason: String },
    #[error("storage of N{node}: {reason}")]
    Storage { node: u32, reason: String },
}

/// What happens at an instant.
enum Pending {
    /// An event for a node. `incarnation` is set for what the node scheduled for itself
    /// (timers, durable writes, store answers): those die with a crash.
    Node {
        node: u32,
        incarnation: Option<u32>,
        event: Event,
    },
    /// A request reaches the metadata store.
    StoreArrives {
        from: Option<(u32, u32)>,
        id: u64,
        request: StoreRequest,
    },
    Start(u32),
    /// A node's group commit completed (after its writes' durable events).
    CommitDone {
        node: u32,
        incarnation: u32,
    },
    /// Fault `index` of the scenario; its times count from `base`.
    Fault {
        index: usize,
        base: SimTime,
    },
    Wake(u64),
}

struct Scheduled {
    at: SimTime,
    seq: u64,
    what: Pending,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeStatus {
    NotStarted,
    Running,
    Crashed {
        at: SimTime,
        reason: String,
        planned: bool,
    },
}

/// A node's storage writer: one group commit at a time, as a log-server's writer does.
#[derive(Default)]
struct Writer {
    busy: bool,
    /// Writes made while a commit is in flight: they go in the next one.
    queued: Vec<u64>,
}

struct SimNode {
    id: u32,
    roles: Roles,
    status: NodeStatus,
    instance: Option<NodeInstance>,
    /// The database while the node is down.
    storage: Option<NodeStorage>,
    incarnation: u32,
    clock: Arc<AtomicU64>,
    /// The node's storage writer (group commit).
    writer: Writer,
    crashes: u32,
    restarts: u32,
}

pub struct Sim {
    scenario: Scenario,
    seed: u64,
    runtime: Arc<Runtime>,
    limits: Limits,
    now: SimTime,
    queue: BinaryHeap<Scheduled>,
    seq: u64,
    nodes: BTreeMap<u32, SimNode>,
    network: Network,
    store: MetadataStore,
    store_latency: Latency,
    store_rng: SimRng,
    storage_rng: SimRng,
    workload: AppendAfterSeal,
    history: History,
    trace: Trace,
    events: u64,
    messages: u64,
    writes: u64,
    metadata_offers: Vec<MetadataOffer>,
    error: Option<String>,
    finished: bool,
    out_dir: Option<PathBuf>,
    linger: u64,
}

impl Sim {
    pub fn new(scenario: &Scenario, options: &RunOptions) -> Result<Sim, SimError> {
        let seed = options.seed.unwrap_or(scenario.seed);
        if let Some(dir) = &options.out_dir {
            std::fs::create_dir_all(dir).map_err(|e| SimError::OutDir {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })?;
        }
        let limits = Limits {
            fuel_per_call: scenario.run.fuel_per_call,
            memory_bytes: (scenario.run.memory_mb as usize) << 20,
            ..Limits::default()
        };
        let mut nodes = BTreeMap::new();
        for id in scenario.node_ids() {
            let storage = match &options.out_dir {
                Some(dir) => {
                    let path = dir.join(format!("n{id}.redb"));
                    let _ = std::fs::remove_file(&path);
                    NodeStorage::file(&path)
                }
                None => NodeStorage::in_memory(),
            }
            .map_err(|e| SimError::Storage {
                node: id,
                reason: e.to_string(),
            })?;
            let roles = if id == scenario.cluster.sequencer || id == scenario.cluster.remote_client
            {
                Roles::CLIENT
            } else if id == 1 && scenario.metadata.provision {
                Roles::LOG_SERVER | Roles::PROVISIONER
            } else {
                Roles::LOG_SERVER
            };
            nodes.insert(
                id,
                SimNode {
                    id,
                    roles,
                    status: NodeStatus::NotStarted,
                    instance: None,
                    storage: Some(storage),
                    incarnation: 0,
                    clock: Arc::new(AtomicU64::new(0)),
                    writer: Writer::default(),
                    crashes: 0,
                    restarts: 0,
                },
            );
        }
        let mut sim = Sim {
            scenario: scenario.clone(),
            seed,
            runtime: options.runtime.clone(),
            limits,
            now: SimTime::ZERO,
            queue: BinaryHeap::new(),
            seq: 0,
            nodes,
            network: Network::new(
                scenario.latency.network,
                scenario.latency.peer_metadata,
                scenario.latency.reorder,
                seeds::rng(seed, "network"),
            ),
            store: MetadataStore::default(),
            store_latency: scenario.latency.metadata_store,
            store_rng: seeds::rng(seed, "metadata-store"),
            storage_rng: seeds::rng(seed, "storage"),
            workload: AppendAfterSeal::new(scenario),
            history: History::default(),
            trace: Trace::new(options.keep_trace || options.out_dir.is_some()),
            events: 0,
            messages: 0,
            writes: 0,
            metadata_offers: Vec::new(),
            error: None,
            finished: false,
            out_dir: options.out_dir.clone(),
            linger: options.linger_after_failure,
        };
        sim.schedule_start();
        Ok(sim)
    }

    /// The scenario's own Logs: log 0 on a replicated loglet 0_0 over the log-servers.
    pub fn scenario_logs(scenario: &Scenario) -> MetadataValue {
        MetadataValue::Logs(Logs {
            version: scenario.metadata.logs_version,
            chains: vec![Chain {
                log_id: LOG,
                segments: vec![Segment {
                    base_lsn: 1,
                    index: 0,
                    provider: ProviderKind::Replicated,
                    params: Some(ReplicatedParams {
                        loglet_id: (LOG as u64) << 32,
                        sequencer: scenario.cluster.sequencer,
                        replication: scenario.cluster.replication,
                        nodeset: scenario.log_server_ids(),
                    }),
                }],
            }],
        })
    }

    fn schedule_start(&mut self) {
        let logs = Self::scenario_logs(&self.scenario);
        if self.scenario.metadata.write_at == 0 {
            // Installed before anything starts.
            self.store.apply(StoreRequest::Put {
                key: LOGS_KEY.into(),
                value: logs,
                precondition: Precondition::None,
            });
        } else {
            let at = SimTime(self.scenario.metadata.write_at);
            self.push(
                at,
                Pending::StoreArrives {
                    from: None,
                    id: 0,
                    request: StoreRequest::Put {
                        key: LOGS_KEY.into(),
                        value: logs,
                        precondition: Precondition::None,
                    },
                },
            );
        }
        for id in self.scenario.log_server_ids() {
            self.push(SimTime::ZERO, Pending::Start(id));
        }
        let client_start = SimTime(self.scenario.cluster.client_start);
        self.push(
            client_start,
            Pending::Start(self.scenario.cluster.sequencer),
        );
        if self.scenario.cluster.remote_client != 0 {
            self.push(
                client_start,
                Pending::Start(self.scenario.cluster.remote_client),
            );
        }
        self.schedule_faults(Trigger::Start);
    }

    /// Schedules the faults that count from `trigger`, which happens now.
    fn schedule_faults(&mut self, trigger: Trigger) {
        for index in 0..self.scenario.faults.len() {
            let fault = &self.scenario.faults[index];
            if fault.trigger == trigger {
                let base = self.now;
                self.push(base.plus(fault.at), Pending::Fault { index, base });
            }
        }
    }

    fn push(&mut self, at: SimTime, what: Pending) {
        self.seq += 1;
        self.queue.push(Scheduled {
            at: at.max(self.now),
            seq: self.seq,
            what,
        });
    }

    /// Runs until the workload finishes, fails, or a limit is reached.
    pub fn run(mut self) -> Result<RunReport, SimError> {
        let wall = Instant::now();
        let time_limit = SimTime(self.scenario.run.time_limit);
        self.event_loop(time_limit)?;
        if self.error.is_some() && self.linger > 0 {
            // Keep going a while, for the record, with the workload silenced.
            let failed_at = self.now;
            let until = failed_at.plus(self.linger).min(time_limit);
            self.finished = true;
            while let Some(next) = self.queue.peek() {
                if next.at > until {
                    break;
                }
                self.step()?;
            }
            self.now = failed_at;
        }
        Ok(self.finish(wall))
    }

    fn event_loop(&mut self, time_limit: SimTime) -> Result<(), SimError> {
        while !self.finished && self.error.is_none() {
            if self.events >= self.scenario.run.max_events {
                self.error = Some(format!(
                    "event limit reached: {} events (run.max_events) while {}",
                    self.events,
                    self.workload.waiting_for()
                ));
                break;
            }
            let Some(next) = self.queue.pop() else {
                self.error = Some(format!(
                    "nothing left to happen while {}",
                    self.workload.waiting_for()
                ));
                break;
            };
            if next.at > time_limit {
                self.now = time_limit;
                self.error = Some(format!(
                    "the workload did not finish within {} of virtual time (run.time_limit): {}",
                    crate::time::fmt_duration(time_limit.0),
                    self.workload.waiting_for()
                ));
                break;
            }
            self.now = next.at;
            self.dispatch(next)?;
        }
        Ok(())
    }

    /// Pops and carries out the next entry (used while lingering).
    fn step(&mut self) -> Result<(), SimError> {
        let next = self.queue.pop().expect("the caller peeked an entry");
        self.now = next.at;
        self.dispatch(next)
    }

    fn dispatch(&mut self, next: Scheduled) -> Result<(), SimError> {
        {
            match next.what {
                Pending::Node {
                    node,
                    incarnation,
                    event,
                } => {
                    let mut batch = vec![event];
                    while let Some(peek) = self.queue.peek() {
                        match &peek.what {
                            Pending::Node {
                                node: n,
                                incarnation: i,
                                ..
                            } if peek.at == self.now && *n == node && *i == incarnation => {
                                let Some(Scheduled {
                                    what: Pending::Node { event, .. },
                                    ..
                                }) = self.queue.pop()
                                else {
                                    unreachable!("peeked a node event")
                                };
                                batch.push(event);
                            }
                            _ => break,
                        }
                    }
                    self.deliver(node, incarnation, batch)?;
                }
                Pending::StoreArrives { from, id, request } => {
                    self.store_arrives(from, id, request)
                }
                Pending::Start(node) => self.start_node(node),
                Pending::CommitDone { node, incarnation } => self.commit_done(node, incarnation),
                Pending::Fault { index, base } => self.fault(index, base),
                Pending::Wake(token) => {
                    let actions = self.workload.on_wake(token);
                    self.act(actions);
                }
            }
        }
        Ok(())
    }

    fn start_node(&mut self, id: u32) {
        let members = self.scenario.node_ids();
        let node = self.nodes.get_mut(&id).expect("started nodes exist");
        let storage = node
            .storage
            .take()
            .expect("a node that is down holds its storage");
        node.incarnation += 1;
        let config = Config {
            id,
            roles: node.roles,
            members,
            seed: seeds::derive(self.seed, &format!("node-{id}-{}", node.incarnation)),
            settings: self.scenario.guest_settings.clone(),
        };
        node.clock
            .store(self.now.0, std::sync::atomic::Ordering::Relaxed);
        let now = self.now;
        self.trace.note(now.0, id, || format!("N{id} starts"));
        let mut instance =
            match self
                .runtime
                .instantiate(id, storage, node.clock.clone(), self.limits)
            {
                Ok(instance) => instance,
                Err((error, storage)) => {
                    node.storage = Some(storage);
                    return self.crash(id, format!("could not be instantiated: {error}"), false);
                }
            };
        let result = instance.init(now.0, &config);
        let node = self.nodes.get_mut(&id).expect("started nodes exist");
        node.instance = Some(instance);
        node.status = NodeStatus::Running;
        match result {
            Ok(()) => {
                self.apply_effects(id);
                if id == self.scenario.cluster.sequencer && node_incarnation(&self.nodes, id) == 1 {
                    let actions = self.workload.start();
                    self.act(actions);
                }
            }
            Err(e) => self.crash(id, e.to_string(), false),
        }
    }

    fn deliver(
        &mut self,
        id: u32,
        incarnation: Option<u32>,
        events: Vec<Event>,
    ) -> Result<(), SimError> {
        let now = self.now;
        let node = self.nodes.get_mut(&id).expect("events go to known nodes");
        let stale = incarnation.is_some_and(|i| i != node.incarnation);
        if node.status != NodeStatus::Running || stale {
            for event in &events {
                self.trace.note(now.0, id, || {
                    format!(
                        "dropped (node down): {}",
                        crate::trace::describe_event(event)
                    )
                });
            }
            return Ok(());
        }
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
        if let Err(e) = instance.storage().make_durable(&durable) {
            return Err(SimError::Storage {
                node: id,
                reason: e.to_string(),
            });
        }
        for event in &events {
            self.trace.event(now.0, id, event);
        }
        self.events += events.len() as u64;
        let result = instance.handle(now.0, &events);
        match result {
            Ok(()) => self.apply_effects(id),
            Err(e) => {
                // Effects of a failed call are discarded with the instance.
                self.crash(id, e.to_string(), false);
            }
        }
        Ok(())
    }

    /// Carries out what a node asked for during its last call, validating each effect.
    fn apply_effects(&mut self, id: u32) {
        let node = self
            .nodes
            .get_mut(&id)
            .expect("effects come from known nodes");
        let incarnation = node.incarnation;
        let Some(instance) = node.instance.as_mut() else {
            return;
        };
        let effects = instance.take_effects();
        let now = self.now;
        for effect in effects {
            match effect {
                Effect::Send { to, msg } => {
                    if to == id || !self.nodes.contains_key(&to) {
                        return self.crash(
                            id,
                            format!("sent a message to N{to}, which is not a peer"),
                            false,
                        );
                    }
                    self.messages += 1;
                    match self.network.delivery_time(now, id, to, &msg) {
                        Some(at) => self.push(
                            at,
                            Pending::Node {
                                node: to,
                                incarnation: None,
                                event: Event::Message((id, msg)),
                            },
                        ),
                        None => {
                            let text = crate::trace::describe_event(&Event::Message((id, msg)));
                            self.trace
                                .note(now.0, to, || format!("lost in the network: {text}"));
                        }
                    }
                }
                Effect::MetadataGet { id: req, key } => {
                    self.send_to_store(id, incarnation, req, StoreRequest::Get { key })
                }
                Effect::MetadataPut {
                    id: req,
                    key,
                    value,
                    precondition,
                } => self.send_to_store(
                    id,
                    incarnation,
                    req,
                    StoreRequest::Put {
                        key,
                        value,
                        precondition,
                    },
                ),
                Effect::Timer { id: timer, at } => self.push(
                    SimTime(at),
                    Pending::Node {
                        node: id,
                        incarnation: Some(incarnation),
                        event: Event::Timer(timer),
                    },
                ),
                Effect::Complete { op, outcome } => self.complete(id, op, outcome),
                Effect::Offered {
                    value,
                    source,
                    peer,
                    accepted,
                    ..
                } => {
                    let update = MetadataOffer {
                        node: id,
                        at_ns: now.0,
                        version: version_of(&value),
                        source: match source {
                            UpdateSource::StoreFetch => "metadata store".into(),
                            UpdateSource::Peer => format!("peer N{}", peer.unwrap_or(0)),
                            UpdateSource::OwnWrite => "own write".into(),
                        },
                        value: describe_value(&value),
                        has_log0: matches!(&value, MetadataValue::Logs(l) if l.chains.iter().any(|c| c.log_id == LOG)),
                        accepted,
                    };
                    self.trace.note(now.0, id, || {
                        let verb = if update.accepted {
                            "caches"
                        } else {
                            "drops (not newer)"
                        };
                        format!(
                            "{verb} Logs v{} from {}: {}",
                            update.version, update.source, update.value
                        )
                    });
                    self.metadata_offers.push(update);
                }
                Effect::Log { level, message } => {
                    let tag = match level {
                        Level::Debug => "debug",
                        Level::Info => "info",
                        Level::Warn => "warn",
                    };
                    self.trace.log(now.0, id, || format!("{tag}: {message}"));
                }
                Effect::Write { id: write } => {
                    self.writes += 1;
                    let node = self.nodes.get_mut(&id).expect("checked above");
                    if node.writer.busy {
                        node.writer.queued.push(write);
                    } else {
                        self.start_commit(id, incarnation, vec![write]);
                    }
                }
            }
        }
    }

    /// Starts a group commit of `writes`: they all become durable together, one
    /// `latency.storage` from now, in the order they were made. Writes made meanwhile
    /// wait for the next commit.
    fn start_commit(&mut self, node: u32, incarnation: u32, writes: Vec<u64>) {
        let delay = self.scenario.latency.storage.sample(&mut self.storage_rng);
        let at = self.now.plus(delay);
        self.nodes.get_mut(&node).expect("a known node").writer.busy = true;
        for write in writes {
            let event = Event::WriteDurable(write);
            let incarnation = Some(incarnation);
            self.push(
                at,
                Pending::Node {
                    node,
                    incarnation,
                    event,
                },
            );
        }
        self.push(at, Pending::CommitDone { node, incarnation });
    }

    /// A group commit finished: the writes that waited for it start the next one.
    fn commit_done(&mut self, id: u32, incarnation: u32) {
        let node = self.nodes.get_mut(&id).expect("a known node");
        if node.incarnation != incarnation || node.status != NodeStatus::Running {
            return;
        }
        node.writer.busy = false;
        let queued = std::mem::take(&mut node.writer.queued);
        if !queued.is_empty() {
            self.start_commit(id, incarnation, queued);
        }
    }

    /// Sends a node's request to the metadata store: it arrives after `latency.metadata_store`.
    fn send_to_store(&mut self, node: u32, incarnation: u32, id: u64, request: StoreRequest) {
        let at = self
            .now
            .plus(self.store_latency.sample(&mut self.store_rng));
        let from = Some((node, incarnation));
        self.push(at, Pending::StoreArrives { from, id, request });
    }

    fn complete(&mut self, node: u32, op: u64, outcome: OpResult) {
        let now = self.now;
        let Some(record) = self.history.get(op) else {
            return self.crash(
                node,
                format!("completed client operation #{op}, which does not exist"),
                false,
            );
        };
        if record.node != node || record.completed.is_some() {
            return self.crash(
                node,
                format!("completed client operation #{op} twice or for another node"),
                false,
            );
        }
        let process = record.process;
        if process == Process::Main && matches!(outcome, OpResult::Sealed(_)) {
            self.schedule_faults(Trigger::Seal);
        }
        self.trace.note(now.0, node, || {
            format!(
                "op #{op} ({process}) completes: {}",
                describe_result(&outcome)
            )
        });
        let actions = self.workload.on_complete(process, &outcome);
        self.history.complete(now, op, outcome);
        self.act(actions);
    }

    fn act(&mut self, actions: Vec<Action>) {
        if self.finished {
            return;
        }
        for action in actions {
            match action {
                Action::Request(process, node, op) => self.request(process, node, op),
                Action::WakeAfter(delay, token) => {
                    self.push(self.now.plus(delay), Pending::Wake(token))
                }
                Action::Fail(error) => {
                    if self.error.is_none() {
                        self.error = Some(error);
                    }
                }
                Action::Finish => self.finished = true,
            }
        }
    }

    fn request(&mut self, process: Process, client: u32, op: Op) {
        let id = self.history.invoke(self.now, process, client, op.clone());
        self.push(
            self.now,
            Pending::Node {
                node: client,
                incarnation: None,
                event: Event::ClientRequest((id, op)),
            },
        );
    }

    fn store_arrives(&mut self, from: Option<(u32, u32)>, id: u64, request: StoreRequest) {
        let now = self.now;
        let who = from.map_or(0, |(n, _)| n);
        let text = match &request {
            StoreRequest::Get { key } => format!("metadata store: get {key} (#{id:x})"),
            StoreRequest::Put {
                key,
                value,
                precondition,
            } => format!(
                "metadata store: put {key} = Logs v{} ({}) if {precondition:?} (#{id:x})",
                version_of(value),
                describe_value(value)
            ),
        };
        self.trace.note(now.0, who, || text);
        self.events += 1;
        let response = self.store.apply(request);
        if let Some((node, incarnation)) = from {
            let at = now.plus(self.store_latency.sample(&mut self.store_rng));
            self.push(
                at,
                Pending::Node {
                    node,
                    incarnation: Some(incarnation),
                    event: Event::MetadataResponse((id, response)),
                },
            );
        }
    }

    fn fault(&mut self, index: usize, base: SimTime) {
        let action = self.scenario.faults[index].action.clone();
        let now = self.now;
        let status_of = |nodes: &BTreeMap<u32, SimNode>, n: u32| nodes[&n].status.clone();
        match action {
            FaultAction::Crash { node } if status_of(&self.nodes, node) == NodeStatus::Running => {
                self.crash(node, "crashed by the scenario".into(), true)
            }
            FaultAction::Wipe { node } => {
                if status_of(&self.nodes, node) == NodeStatus::Running {
                    self.crash(node, "crashed by the scenario, disk lost".into(), true);
                }
                if let Err(e) = self.wipe(node) {
                    self.error = Some(format!("wiping N{node}: {e}"));
                }
            }
            FaultAction::Restart { node }
                if matches!(status_of(&self.nodes, node), NodeStatus::Crashed { .. }) =>
            {
                self.nodes.get_mut(&node).expect("checked").restarts += 1;
                self.start_node(node);
            }
            FaultAction::Drop { from, to, until } => {
                let until = base.plus(until);
                self.network.drop_until(from, to, until);
                self.trace.note(now.0, from, || {
                    format!("messages N{from} -> N{to} are lost until {until}")
                });
            }
            other => {
                let text = format!("fault {other:?} ignored: the node is not in a state for it");
                self.trace.note(now.0, other.nodes()[0], || text);
            }
        }
    }

    /// Replaces a crashed node's database with an empty one: the disk is lost.
    fn wipe(&mut self, id: u32) -> Result<(), crate::storage::StorageError> {
        let fresh = match &self.out_dir {
            Some(dir) => {
                let path = dir.join(format!("n{id}.redb"));
                let node = self.nodes.get_mut(&id).expect("wiping a known node");
                node.storage = None; // close the file before removing it
                let _ = std::fs::remove_file(&path);
                NodeStorage::file(&path)?
            }
            None => NodeStorage::in_memory()?,
        };
        self.nodes
            .get_mut(&id)
            .expect("wiping a known node")
            .storage = Some(fresh);
        Ok(())
    }

    /// The node stops: its instance is dropped, and what it had not made durable is lost.
    fn crash(&mut self, id: u32, reason: String, planned: bool) {
        let now = self.now;
        let node = self.nodes.get_mut(&id).expect("crashing a known node");
        if let Some(instance) = node.instance.take() {
            node.storage = Some(instance.into_storage());
        }
        if let Some(storage) = node.storage.as_mut() {
            storage.crash();
        }
        node.crashes += 1;
        node.writer = Writer::default();
        node.status = NodeStatus::Crashed {
            at: now,
            reason: reason.clone(),
            planned,
        };
        self.network.reset_node(id);
        self.trace
            .note(now.0, id, || format!("N{id} crashed: {reason}"));
    }

    fn finish(self, wall: Instant) -> RunReport {
        let expect = Expectations {
            appenders: self.scenario.workload.appenders,
            warmup_appends: self.scenario.workload.warmup_appends,
        };
        // A reproduction (`expect.error`) is judged by its error alone: the workload stops there.
        let mut checks: Vec<CheckResult> = match &self.scenario.expect_error {
            None => checker::check_history(&self.history, &expect),
            Some(expected) => vec![CheckResult {
                name: "expected_error",
                pass: self.error.as_deref() == Some(expected.as_str()),
                detail: format!(
                    "expected the run to fail with {expected:?}; it {}",
                    match &self.error {
                        Some(e) => format!("failed with {e:?}"),
                        None => "did not fail".into(),
                    }
                ),
            }],
        };
        let unplanned: Vec<String> = self
            .nodes
            .values()
            .filter_map(|n| match &n.status {
                NodeStatus::Crashed {
                    reason,
                    planned: false,
                    at,
                } => Some(format!("N{} at {at}: {reason}", n.id)),
                _ => None,
            })
            .collect();
        checks.push(CheckResult {
            name: "no_unplanned_crash",
            pass: unplanned.is_empty(),
            detail: if unplanned.is_empty() {
                "every node stayed up (or crashed only as the scenario planned)".into()
            } else {
                unplanned.join("; ")
            },
        });
        let failed = checks.iter().any(|c| !c.pass)
            || (self.error.is_some() && self.scenario.expect_error.is_none());
        let nodes = self
            .nodes
            .values()
            .map(|n| NodeReport {
                id: n.id,
                role: if n.id == self.scenario.cluster.sequencer {
                    "client+sequencer"
                } else if n.roles.contains(Roles::CLIENT) {
                    "client"
                } else {
                    "log-server"
                }
                .into(),
                status: match &n.status {
                    NodeStatus::NotStarted => "not started".into(),
                    NodeStatus::Running => "running".into(),
                    NodeStatus::Crashed { planned: true, .. } => "crashed (planned)".into(),
                    NodeStatus::Crashed { .. } => "crashed".into(),
                },
                crash_reason: match &n.status {
                    NodeStatus::Crashed { reason, .. } => Some(reason.clone()),
                    _ => None,
                },
                crashes: n.crashes,
                restarts: n.restarts,
            })
            .collect();
        let appends_ok = self
            .history
            .ops()
            .filter(|o| o.ok_offset().is_some())
            .count() as u64;
        let report = RunReport {
            scenario: self.scenario.name.clone(),
            seed: self.seed,
            outcome: if failed { Outcome::Fail } else { Outcome::Pass },
            error: self.error.clone(),
            checks,
            trace_hash: self.trace.hash_hex(),
            events: self.events,
            messages: self.messages,
            writes: self.writes,
            appends_ok,
            client_ops: self.history.len() as u64,
            sim_time_ns: self.now.0,
            wall_ms: wall.elapsed().as_secs_f64() * 1000.0,
            nodes,
            metadata_offers: self.metadata_offers.clone(),
            guest: self.runtime.name().to_string(),
            summary: self.scenario.summary(),
            trace: self.trace.records().to_vec(),
            history: self.history.clone(),
        };
        if let Some(dir) = &self.out_dir {
            report.write_files(dir);
        }
        report
    }
}

fn node_incarnation(nodes: &BTreeMap<u32, SimNode>, id: u32) -> u32 {
    nodes.get(&id).map_or(0, |n| n.incarnation)
}

/// Runs one scenario to completion.
pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<RunReport, SimError> {
    Sim::new(scenario, options)?.run()
}
