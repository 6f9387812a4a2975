//! The test rig of the conformance suite: one log-server under test (N1), driven directly
//! by the host, which plays every other party. N2 is the loglet's sequencer, N3 another
//! peer, and the rig is also the metadata store and the disk.
//!
//! Nothing is simulated that a rule does not control: requests go in when a rule sends
//! them, writes become durable only when a rule says so ([`Rig::sync`]), time moves only
//! when a rule moves it ([`Rig::advance`]). What the rig does on its own is answer the
//! node the way the cluster would: a store read gets the current Logs, a GetMetadata to a
//! peer gets the peer's value, a hello gets a hello-ack.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::describe;
use crate::bindings::logsandbox::node::log_server_protocol::RequestHeader;
use crate::bindings::logsandbox::node::messages::MetadataVersion;
use crate::bindings::{
    Body, Config, Event, Message, MetadataKind, MetadataValue, Reply, Request, Roles, StoreError,
    StoreResponse,
};
use crate::metadata_store::LOGS_KEY;
use crate::runtime::effects::Effect;
use crate::runtime::{Component, Limits, NodeInstance};
use crate::storage::NodeStorage;
use crate::workload::Cluster;

/// The node under test.
pub const SERVER: u32 = 1;
/// The loglet's sequencer, played by the rig.
pub const SEQUENCER: u32 = 2;
/// Another member, played by the rig: a reader, or a second sequencer.
pub const PEER: u32 = 3;
/// The loglet every rule uses: `0_0`, log 0's first segment (what [`Cluster::logs`] names).
pub const LOGLET: u64 = 0;
/// Rounds of answers the rig trades with the node within one instant before it calls
/// the exchange endless.
const MAX_ROUNDS: usize = 1_000;
/// Events in one call, as the host gives them (`wit/node.wit`: at most 1024 per call).
const EVENTS_PER_CALL: usize = 1024;
/// What the rig keeps of a node's doing (timers armed, replies and answers not yet looked
/// at): a node past this is broken, not a reason for the host to grow without bound.
const MAX_KEPT: usize = 100_000;
/// Calls into the node one action of a rule may lead to (a request and what follows at
/// its instant, a sync, a timer fired): the built-in guest needs a handful. A node that
/// keeps the rig busy past this (a write for every write made durable, a message for
/// every answer) fails the rule instead of holding `conform` for hours.
const MAX_CALLS: u64 = 20_000;
/// Timers one `advance` fires: a tick every millisecond over the longest wait a rule
/// makes (15 s) is 15 000.
const MAX_TIMERS_FIRED: u64 = 200_000;

/// Why a rule failed: what was sent, what came back, and what the rule expected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Broken {
    /// The request (or action) that showed the fault.
    pub request: String,
    /// What the node answered, or did.
    pub answer: String,
    /// What the rule expected instead.
    pub expected: String,
}

impl Broken {
    pub(crate) fn new(request: &str, answer: impl Into<String>, expected: &str) -> Broken {
        Broken {
            request: request.to_string(),
            answer: answer.into(),
            expected: expected.to_string(),
        }
    }
}

/// A request sent, and how to name it in a failure.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Its request id.
    pub id: u64,
    /// `N2 -> N1 Store 0_0 [1..3] ...`.
    pub text: String,
}

/// One log-server under test, and the world around it.
pub struct Rig {
    runtime: Arc<Component>,
    instance: Option<NodeInstance>,
    /// The database while the node is down.
    storage: Option<NodeStorage>,
    clock: Arc<AtomicU64>,
    config: Config,
    now: u64,
    /// Writes made and not yet durable, in the order they were made.
    pending_writes: Vec<u64>,
    /// Replies the node sent, by request id, in order.
    replies: BTreeMap<u64, Vec<(u32, Reply)>>,
    /// Timers armed: `(at, order) -> id`.
    timers: BTreeMap<(u64, u64), u64>,
    timer_order: u64,
    /// Events the rig owes the node at the current instant.
    owed: Vec<Event>,
    /// The Logs the store and the rig's peers hold.
    logs: MetadataValue,
    next_request: u64,
    /// Every GetMetadata answer the node sent: `(request id, version or 0)`.
    pub metadata_answers: Vec<(u64, u32)>,
    /// The versions the node's last message carried.
    pub last_versions: Vec<MetadataVersion>,
    /// The peers the node sent a hello-ack to.
    pub hello_acks: std::collections::BTreeSet<u32>,
    /// What the node printed lately, for a crash.
    printed: String,
    /// Calls made into the node in the current action, against [`MAX_CALLS`].
    calls: u64,
    /// Request ids whose one answer a rule took.
    taken: std::collections::BTreeSet<u64>,
    /// An answer to a request already answered, or never sent: the first one seen.
    stray: Option<String>,
}

impl Rig {
    /// Starts a fresh node with an empty database and `settings` (`key = value` text, as
    /// a scenario's `guest.*` keys give them).
    pub fn start(runtime: Arc<Component>, settings: Vec<(String, String)>) -> Result<Rig, Broken> {
        let storage = NodeStorage::in_memory()
            .map_err(|e| Broken::new("start N1", e.to_string(), "an in-memory database"))?;
        let config = Config {
            id: SERVER,
            roles: Roles::LOG_SERVER,
            members: vec![SERVER, SEQUENCER, PEER],
            seed: 1,
            settings,
        };
        let mut rig = Rig {
            runtime,
            instance: None,
            storage: Some(storage),
            clock: Arc::new(AtomicU64::new(0)),
            config,
            now: 0,
            pending_writes: Vec::new(),
            replies: BTreeMap::new(),
            timers: BTreeMap::new(),
            timer_order: 0,
            owed: Vec::new(),
            logs: logs(2),
            next_request: 0,
            metadata_answers: Vec::new(),
            last_versions: Vec::new(),
            hello_acks: std::collections::BTreeSet::new(),
            printed: String::new(),
            calls: 0,
            taken: std::collections::BTreeSet::new(),
            stray: None,
        };
        rig.boot("start N1")?;
        Ok(rig)
    }

    /// The virtual instant, in nanoseconds.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The Logs version the rig's peers and store hold.
    pub fn logs_version(&self) -> u32 {
        crate::metadata_store::version_of(&self.logs)
    }

    /// Makes the store and the peers hold a newer Logs.
    pub fn publish_logs(&mut self, version: u32) {
        self.logs = logs(version);
    }

    /// A request header for the loglet with a known global tail.
    pub fn header(known_global_tail: u32) -> RequestHeader {
        RequestHeader {
            loglet_id: LOGLET,
            known_global_tail,
        }
    }

    /// Sends `request` from `from`; nothing becomes durable.
    pub fn send(&mut self, from: u32, request: Request) -> Result<Sent, Broken> {
        self.next_request += 1;
        let id = self.next_request;
        self.calls = 0;
        let text = format!("N{from} -> N1 {}", describe::request(&request));
        let message = Message {
            versions: self.versions(),
            body: Body::LogServerRequest((id, request)),
        };
        self.call(&text, vec![Event::Message((from, message))])?;
        Ok(Sent { id, text })
    }

    /// Sends a message that is not a request (GetMetadata, hello...).
    pub fn send_body(&mut self, from: u32, body: Body, text: &str) -> Result<(), Broken> {
        self.calls = 0;
        let message = Message {
            versions: self.versions(),
            body,
        };
        self.call(text, vec![Event::Message((from, message))])
    }

    /// A fresh request id, for a body sent with [`Self::send_body`].
    pub fn next_id(&mut self) -> u64 {
        self.next_request += 1;
        self.next_request
    }

    /// Sends `request`, makes every write durable, and returns the one reply it got.
    pub fn ask(&mut self, from: u32, request: Request) -> Result<(Sent, Reply), Broken> {
        let sent = self.send(from, request)?;
        self.sync(&sent.text)?;
        let reply = self.reply(&sent, from)?;
        Ok((sent, reply))
    }

    /// The one reply to `sent`, sent back to `from`: none, or two, break the protocol.
    pub fn reply(&mut self, sent: &Sent, from: u32) -> Result<Reply, Broken> {
        self.taken.insert(sent.id);
        match self.replies.remove(&sent.id).unwrap_or_default().as_slice() {
            [] => Err(Broken::new(
                &sent.text,
                "no answer",
                "an answer once every write is durable",
            )),
            [(to, reply)] if *to == from => Ok(reply.clone()),
            [(to, reply)] => Err(Broken::new(
                &sent.text,
                format!("{} sent to N{to}", describe::reply(reply)),
                &format!("the answer sent to N{from}, the sender"),
            )),
            more => Err(Broken::new(
                &sent.text,
                more.iter()
                    .map(|(_, r)| describe::reply(r))
                    .collect::<Vec<_>>()
                    .join("; then "),
                "exactly one answer",
            )),
        }
    }

    /// Whether `sent` was answered yet (without taking the answer).
    pub fn answered(&self, sent: &Sent) -> Option<&Reply> {
        self.replies
            .get(&sent.id)
            .and_then(|r| r.first())
            .map(|(_, r)| r)
    }

    /// Writes made and not yet durable.
    pub fn pending_writes(&self) -> usize {
        self.pending_writes.len()
    }

    /// What the node's database durably holds under `key` (not what a write in flight
    /// put there).
    pub fn durable(&self, key: &[u8]) -> Option<Vec<u8>> {
        let storage = match &self.instance {
            Some(instance) => instance.storage_view(),
            None => self.storage.as_ref()?,
        };
        let end: Vec<u8> = key.iter().copied().chain([0]).collect();
        let found = storage.durable_range(key, &end).ok()?;
        found.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Makes every write made so far durable, in order, and lets the node react, until it
    /// makes no more.
    pub fn sync(&mut self, doing: &str) -> Result<(), Broken> {
        self.calls = 0;
        for _ in 0..MAX_ROUNDS {
            if self.pending_writes.is_empty() {
                return Ok(());
            }
            let writes = std::mem::take(&mut self.pending_writes);
            let instance = self.instance.as_mut().ok_or_else(|| down(doing))?;
            instance
                .storage()
                .make_durable(&writes)
                .map_err(|e| Broken::new(doing, e.to_string(), "writes made durable in order"))?;
            let events = writes.into_iter().map(Event::WriteDurable).collect();
            // What a durable write sets off at this instant is settled before the next.
            self.call(doing, events)?;
        }
        Err(Broken::new(
            doing,
            "a write for every write made durable, without end",
            "writes that stop",
        ))
    }

    /// Moves the clock on by `nanos`, firing the node's timers on the way.
    pub fn advance(&mut self, nanos: u64, doing: &str) -> Result<(), Broken> {
        let until = self.now.saturating_add(nanos);
        let mut fired = 0u64;
        while let Some((&(at, order), &id)) = self.timers.first_key_value() {
            if at > until {
                break;
            }
            fired += 1;
            if fired > MAX_TIMERS_FIRED {
                return Err(Broken::new(
                    doing,
                    format!("more than {MAX_TIMERS_FIRED} timers fired"),
                    "timers that leave time to pass",
                ));
            }
            self.timers.remove(&(at, order));
            self.now = self.now.max(at);
            self.calls = 0;
            self.call(doing, vec![Event::Timer(id)])?;
            self.sync(doing)?;
        }
        self.now = until;
        Ok(())
    }

    /// A crash: the instance is dropped, and every write not yet durable is lost.
    pub fn crash(&mut self) {
        if let Some(instance) = self.instance.take() {
            let mut storage = instance.into_storage();
            storage.crash();
            self.storage = Some(storage);
        }
        self.pending_writes.clear();
        self.timers.clear();
        self.owed.clear();
        self.replies.clear();
    }

    /// Starts the node again on what its database durably holds.
    pub fn restart(&mut self) -> Result<(), Broken> {
        self.boot("restart N1")
    }

    fn boot(&mut self, doing: &str) -> Result<(), Broken> {
        self.calls = 0;
        let storage = self.storage.take().ok_or_else(|| down(doing))?;
        self.clock.store(self.now, Ordering::Relaxed);
        let limits = Limits::default();
        let mut instance = self
            .runtime
            .instantiate(SERVER, storage, self.clock.clone(), limits)
            .map_err(|failed| Broken::new(doing, failed.0.to_string(), "an instance"))?;
        let result = instance.init(self.now, &self.config);
        self.instance = Some(instance);
        if let Err(e) = result {
            return Err(self.crashed(doing, e.to_string()));
        }
        self.absorb(doing)?;
        self.settle(doing)
    }

    /// Delivers `events` at the current instant, then whatever the rig owes in answer.
    fn call(&mut self, doing: &str, events: Vec<Event>) -> Result<(), Broken> {
        self.deliver(doing, events)?;
        self.settle(doing)
    }

    /// Hands `events` to the node, at most [`EVENTS_PER_CALL`] a call, as the host does.
    fn deliver(&mut self, doing: &str, events: Vec<Event>) -> Result<(), Broken> {
        self.clock.store(self.now, Ordering::Relaxed);
        for chunk in events.chunks(EVENTS_PER_CALL) {
            self.calls += 1;
            if self.calls > MAX_CALLS {
                return Err(Broken::new(
                    doing,
                    format!("more than {MAX_CALLS} calls for one action: the node never settles"),
                    "a node that settles (no write, timer or message for every one it gets)",
                ));
            }
            let instance = self.instance.as_mut().ok_or_else(|| down(doing))?;
            if let Err(e) = instance.handle(self.now, chunk) {
                return Err(self.crashed(doing, e.to_string()));
            }
            self.absorb(doing)?;
        }
        Ok(())
    }

    /// Trades answers with the node at this instant until neither owes the other, firing
    /// the timers it set for now (a timer not in the future fires at once).
    fn settle(&mut self, doing: &str) -> Result<(), Broken> {
        for _ in 0..MAX_ROUNDS {
            if !self.owed.is_empty() {
                let events = std::mem::take(&mut self.owed);
                self.deliver(doing, events)?;
                continue;
            }
            match self.timers.first_key_value() {
                Some((&(at, order), &id)) if at <= self.now => {
                    self.timers.remove(&(at, order));
                    self.deliver(doing, vec![Event::Timer(id)])?;
                }
                _ => return Ok(()),
            }
        }
        Err(Broken::new(
            doing,
            format!("{MAX_ROUNDS} rounds of messages, answers and timers due at one instant"),
            "an exchange that ends",
        ))
    }

    /// Takes the effects of the last call: replies are kept, the rest answered.
    fn absorb(&mut self, doing: &str) -> Result<(), Broken> {
        let instance = self.instance.as_mut().ok_or_else(|| down(doing))?;
        let effects = instance.take_effects();
        if let Some(printed) = instance.take_output() {
            self.printed.push_str(&printed);
            let keep = self
                .printed
                .len()
                .saturating_sub(crate::runtime::output::KEEP);
            let keep = (keep..=self.printed.len())
                .find(|&i| self.printed.is_char_boundary(i))
                .unwrap_or(self.printed.len());
            self.printed.drain(..keep);
        }
        for effect in effects {
            let kept = self.timers.len()
                + self.replies.len()
                + self.owed.len()
                + self.metadata_answers.len()
                + self.pending_writes.len();
            if kept > MAX_KEPT {
                return Err(Broken::new(
                    doing,
                    format!(
                        "more than {MAX_KEPT} timers, writes, replies and requests outstanding"
                    ),
                    "a node that does not flood its peers, its timers or its disk",
                ));
            }
            match effect {
                Effect::Send { to, msg } => {
                    if to == SERVER || !self.config.members.contains(&to) {
                        return Err(Broken::new(
                            doing,
                            format!(
                                "a message to N{to}: {}",
                                crate::record::trace::describe_body(&msg.body)
                            ),
                            "messages only to other members (N2, N3)",
                        ));
                    }
                    self.last_versions = msg.versions.clone();
                    self.receive(to, msg.body);
                }
                Effect::MetadataGet { id, key } => {
                    let value = (key == LOGS_KEY).then(|| self.logs.clone());
                    self.owed
                        .push(Event::MetadataResponse((id, StoreResponse::Value(value))));
                }
                Effect::MetadataPut { id, .. } => {
                    let stored = self.logs_version();
                    let failed = StoreError::FailedPrecondition(stored);
                    self.owed
                        .push(Event::MetadataResponse((id, StoreResponse::Failed(failed))));
                }
                Effect::Timer { id, at } => {
                    self.timer_order += 1;
                    self.timers.insert((at.max(self.now), self.timer_order), id);
                }
                Effect::Write { id } => self.pending_writes.push(id),
                Effect::Complete { op, .. } => {
                    return Err(Broken::new(
                        doing,
                        format!("completed client operation #{op}"),
                        "no client operation: a log-server holds none",
                    ));
                }
                Effect::Offered { .. } | Effect::Log { .. } | Effect::Reached { .. } => {}
            }
        }
        match self.stray.take() {
            Some(stray) => Err(Broken::new(doing, stray, "exactly one answer per request")),
            None => Ok(()),
        }
    }

    /// What a peer played by the rig does with a message from the node.
    fn receive(&mut self, peer: u32, body: Body) {
        match body {
            Body::LogServerReply((id, reply)) => {
                if self.taken.contains(&id) || id == 0 || id > self.next_request {
                    let what = if self.taken.contains(&id) {
                        "a second answer"
                    } else {
                        "an answer to a request never sent"
                    };
                    self.stray.get_or_insert_with(|| {
                        format!("{what}, #{id}: {}", describe::reply(&reply))
                    });
                    return;
                }
                // A few answers to one id are proof enough of too many.
                let answers = self.replies.entry(id).or_default();
                if answers.len() < 4 {
                    answers.push((peer, reply));
                }
            }
            Body::Hello => self.reply_as(peer, Body::HelloAck),
            Body::HelloAck => {
                self.hello_acks.insert(peer);
            }
            Body::GetMetadata((id, MetadataKind::Logs, min)) => {
                let value = (self.logs_version() >= min).then(|| self.logs.clone());
                self.reply_as(peer, Body::MetadataUpdate((id, value)));
            }
            Body::MetadataUpdate((id, value)) => {
                let version = value.as_ref().map_or(0, crate::metadata_store::version_of);
                self.metadata_answers.push((id, version));
            }
            // A sequencer's business, not a log-server's: nothing to answer.
            _ => {}
        }
    }

    fn reply_as(&mut self, peer: u32, body: Body) {
        let message = Message {
            versions: self.versions(),
            body,
        };
        self.owed.push(Event::Message((peer, message)));
    }

    fn versions(&self) -> Vec<MetadataVersion> {
        vec![MetadataVersion {
            kind: MetadataKind::Logs,
            version: self.logs_version(),
        }]
    }

    /// The node failed a call: it is down, and the rule fails with what it printed.
    fn crashed(&mut self, doing: &str, error: String) -> Broken {
        let printed = std::mem::take(&mut self.printed);
        let mut printed = match self.instance.as_ref().and_then(NodeInstance::take_output) {
            Some(more) => printed + &more,
            None => printed,
        };
        printed.truncate(printed.trim_end().len());
        self.crash();
        let answer = if printed.is_empty() {
            format!("N1 crashed: {error}")
        } else {
            format!("N1 crashed: {error}; it printed:\n{printed}")
        };
        Broken::new(doing, answer, "no crash")
    }
}

fn down(doing: &str) -> Broken {
    Broken::new(doing, "N1 is down", "N1 running")
}

/// Logs at `version`: log 0 on loglet `0_0`, sequenced by N2, replicated on N1..N3
/// with two copies, as a run's cluster writes it.
fn logs(version: u32) -> MetadataValue {
    let cluster = Cluster {
        log_servers: vec![SERVER, SEQUENCER, PEER],
        sequencer: SEQUENCER,
        clients: vec![SEQUENCER],
        replication: 2,
        logs_version: version,
        chain: None,
    };
    cluster.logs(version)
}
