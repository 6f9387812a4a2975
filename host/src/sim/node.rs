//! A node of the simulated cluster: its lifecycle (start, crash, wipe, restart) and what
//! the host saw of it (the Logs it cached, the loglet state its log-server reported).

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::World;
use super::writer::Writer;
use crate::bindings::{Body, Config, Event, MetadataValue, Reply, Request, Roles, Status};
use crate::op::{LogId, NodeId, Offset, OpId, Version};
use crate::record::journal::{Lane, MarkKind};
use crate::record::trace::reply_header;
use crate::runtime::{Component, NodeInstance};
use crate::seeds;
use crate::storage::{NodeStorage, StorageError};
use crate::time::SimTime;

/// Whether a node runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeStatus {
    /// Not started yet.
    NotStarted,
    /// Running.
    Running,
    /// Crashed (and not restarted since).
    Crashed {
        /// When.
        at: SimTime,
        /// Why: a trap, an overrun, a fault...
        reason: String,
        /// A fault asked for it (a scenario, a workload or a call on the handle), rather
        /// than the guest failing.
        planned: bool,
    },
    /// No node has this id.
    NotInCluster,
}

/// Where a node's cached Logs came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Its own metadata-store read.
    Store,
    /// A peer's answer to GetMetadata.
    Peer(NodeId),
    /// Its own write.
    OwnWrite,
}

/// The Logs a node holds in its cache, as the host saw it taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedLogs {
    /// Its version.
    pub version: Version,
    /// Where it came from.
    pub source: Source,
    /// When the node took it.
    pub at: SimTime,
    /// The value.
    pub value: MetadataValue,
}

impl CachedLogs {
    /// Whether the cached Logs has a chain for `log`.
    pub fn has_log(&self, log: LogId) -> bool {
        self.chain(log).is_some()
    }

    /// The cached chain of `log`: its segments, oldest first.
    pub fn chain(&self, log: LogId) -> Option<&crate::bindings::Chain> {
        let MetadataValue::Logs(logs) = &self.value;
        logs.chains.iter().find(|c| c.log_id == log)
    }
}

/// The state of a loglet as its log-server last reported it, in a reply header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogletReport {
    /// The server's durable local tail.
    pub local_tail: Offset,
    /// The global tail it knows.
    pub known_global_tail: Offset,
    /// Sealed.
    pub sealed: bool,
    /// The trim point, from its last `LogletInfo` reply.
    pub trim_point: Option<Offset>,
    /// The status of that reply.
    pub status: Status,
    /// When it replied.
    pub at: SimTime,
    /// Which incarnation of the node replied.
    pub incarnation: u32,
}

pub(crate) struct SimNode {
    pub id: NodeId,
    pub roles: Roles,
    pub runtime: Arc<Component>,
    pub status: NodeStatus,
    pub instance: Option<NodeInstance>,
    /// The database while the node is down.
    pub storage: Option<NodeStorage>,
    pub incarnation: u32,
    pub clock: Arc<AtomicU64>,
    pub writer: Writer,
    pub crashes: u32,
    pub restarts: u32,
    /// Disks lost (a wipe).
    pub wipes: u32,
    /// Messages it sent: who to name when a run drowns in events.
    pub sent: u64,
    /// Crashes no fault asked for (a trap, an overrun, a refused effect): when and why.
    pub unplanned: Vec<(SimTime, String)>,
    /// What the guest printed before its last unplanned crash (its last 4 KiB): a panic
    /// message, a Python traceback.
    pub last_words: Option<String>,
    pub cached_logs: Option<CachedLogs>,
    pub loglets: BTreeMap<u64, LogletReport>,
    /// Log-server requests delivered to this node and not answered yet: (sender, request
    /// id) -> loglet. Lets a reply, which names no loglet, be filed under its loglet. Only
    /// looked up, never iterated, so a hash map cannot reach the trace.
    pub open_requests: HashMap<(NodeId, u64), u64, BuildHasherDefault<DefaultHasher>>,
}

impl SimNode {
    /// The node's database, whether the node is up (inside its instance) or down.
    pub fn storage(&self) -> Option<&NodeStorage> {
        match &self.instance {
            Some(instance) => Some(instance.storage_view()),
            None => self.storage.as_ref(),
        }
    }

    pub fn new(id: NodeId, roles: Roles, runtime: Arc<Component>, storage: NodeStorage) -> Self {
        SimNode {
            id,
            roles,
            runtime,
            status: NodeStatus::NotStarted,
            instance: None,
            storage: Some(storage),
            incarnation: 0,
            clock: Arc::new(AtomicU64::new(0)),
            writer: Writer::default(),
            crashes: 0,
            restarts: 0,
            wipes: 0,
            sent: 0,
            unplanned: Vec::new(),
            last_words: None,
            cached_logs: None,
            loglets: BTreeMap::new(),
            open_requests: HashMap::default(),
        }
    }

    /// Notes the log-server requests among events about to be delivered.
    pub fn note_requests(&mut self, events: &[Event]) {
        for event in events {
            if let Event::Message((from, msg)) = event
                && let Body::LogServerRequest((id, request)) = &msg.body
            {
                let loglet = match request {
                    Request::Store(s) => s.header.loglet_id,
                    Request::Seal(s) => s.header.loglet_id,
                    Request::GetLogletInfo(h) => h.loglet_id,
                    Request::GetRecords(g) => g.header.loglet_id,
                    Request::Trim(t) => t.header.loglet_id,
                    Request::WaitForTail(w) => w.header.loglet_id,
                    Request::GetDigest(g) => g.header.loglet_id,
                };
                self.open_requests.insert((*from, *id), loglet);
            }
        }
    }

    /// Files a reply this node sends under the loglet its request named.
    pub fn note_reply(&mut self, to: NodeId, id: u64, reply: &Reply, now: SimTime) {
        let Some(loglet) = self.open_requests.remove(&(to, id)) else {
            return;
        };
        let h = reply_header(reply);
        let trim_point = match reply {
            Reply::LogletInfo(info) => Some(info.trim_point),
            _ => self.loglets.get(&loglet).and_then(|r| r.trim_point),
        };
        self.loglets.insert(
            loglet,
            LogletReport {
                local_tail: h.local_tail,
                known_global_tail: h.known_global_tail,
                sealed: h.sealed,
                trim_point,
                status: h.status,
                at: now,
                incarnation: self.incarnation,
            },
        );
    }
}

impl World {
    /// Starts a node that is not running: a new instance, `init`, and its effects.
    pub(crate) fn start_node(&mut self, id: NodeId) {
        let now = self.now;
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        if node.status == NodeStatus::Running {
            self.trace
                .note(now.0, id, || format!("N{id} is already running"));
            return;
        }
        let storage = node
            .storage
            .take()
            .expect("a node that is down holds its storage");
        node.incarnation += 1;
        let config = Config {
            id,
            roles: node.roles,
            members: self.members.clone(),
            seed: seeds::derive(self.seed, &format!("node-{id}-{}", node.incarnation)),
            settings: self.settings.clone(),
        };
        node.clock
            .store(now.0, std::sync::atomic::Ordering::Relaxed);
        self.trace.note(now.0, id, || format!("N{id} starts"));
        let again = node.incarnation > 1;
        if let Some(journal) = &mut self.journal {
            let label = if again { "restarts" } else { "starts" };
            journal.mark(now.0, Lane::Node(id), MarkKind::Start, label, None);
            journal.begin_call(Lane::Node(id));
        }
        let mut instance =
            match node
                .runtime
                .instantiate(id, storage, node.clock.clone(), self.limits)
            {
                Ok(instance) => instance,
                Err(failed) => {
                    let (error, storage) = *failed;
                    node.storage = Some(storage);
                    return self.crash(id, format!("could not be instantiated: {error}"), false);
                }
            };
        let result = instance.init(now.0, &config);
        let node = self.nodes.get_mut(&id).expect("started nodes exist");
        node.instance = Some(instance);
        node.status = NodeStatus::Running;
        let incarnation = node.incarnation;
        match result {
            Ok(()) => {
                self.apply_effects(id);
                if self.nodes[&id].status == NodeStatus::Running {
                    self.node_started(id, incarnation);
                }
            }
            Err(e) => self.crash(id, e.to_string(), false),
        }
    }

    /// The node stops: its instance is dropped, what it had not made durable is lost, and
    /// so are the client operations in flight on it.
    pub(crate) fn crash(&mut self, id: NodeId, reason: String, planned: bool) {
        let now = self.now;
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        let mut reason = reason;
        if !planned {
            // Set again below from this incarnation's output, if it has any.
            node.last_words = None;
        }
        if let Some(instance) = node.instance.take() {
            // A guest's last words (a panic message, a traceback) go with its crash.
            // The reason keeps the last line (a panic's message, an exception's); the report
            // shows all that was kept.
            if !planned {
                let printed = instance.last_output();
                if let Some(last) = printed
                    .as_deref()
                    .and_then(crate::runtime::output::last_words)
                {
                    reason = format!("{reason}; it printed: {last}");
                }
                node.last_words = printed;
            }
            node.storage = Some(instance.into_storage());
        }
        if let Some(storage) = node.storage.as_mut() {
            storage.crash();
        }
        node.crashes += 1;
        if !planned {
            node.unplanned.push((now, reason.clone()));
        }
        node.writer = Writer::default();
        node.cached_logs = None;
        node.open_requests.clear();
        node.status = NodeStatus::Crashed {
            at: now,
            reason: reason.clone(),
            planned,
        };
        self.net.reset_node(id);
        self.trace
            .note(now.0, id, || format!("N{id} crashed: {reason}"));
        self.mark(
            Lane::Node(id),
            MarkKind::Crash,
            || format!("crashed: {reason}"),
            None,
        );
        for op in self.history.in_flight_on(id) {
            self.lose_op(op, format!("N{id} crashed"));
        }
    }

    /// Replaces a crashed node's database with an empty one: the disk is lost.
    pub(crate) fn wipe(&mut self, id: NodeId) -> Result<(), StorageError> {
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
        let node = self.nodes.get_mut(&id).expect("wiping a known node");
        node.storage = Some(fresh);
        node.wipes += 1;
        node.loglets.clear();
        self.mark(Lane::Node(id), MarkKind::Wipe, || "disk lost".into(), None);
        Ok(())
    }

    /// Records that an operation can no longer complete, and tells its workload.
    pub(crate) fn lose_op(&mut self, op: OpId, why: String) {
        let now = self.now;
        if !self.history.lose(now, op, why.clone()) {
            return;
        }
        let record = self.history.get(op).expect("just lost");
        let (node, process) = (record.node, record.process);
        self.trace
            .note(now.0, node, || format!("op {op} ({process}) lost: {why}"));
        self.mark(
            Lane::Node(node),
            MarkKind::OpLost,
            || format!("op {op} lost: {why}"),
            Some(op.0),
        );
        self.workload_lost(op, process, &why);
    }
}
