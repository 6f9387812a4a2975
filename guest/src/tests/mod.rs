//! Unit tests of the node logic, compiled natively: events in, effects out, through
//! [`MemEnv`]. Each test names the rule it holds.
//!
//! One file per area, as quinn-proto's `tests/`: this file holds the harness and the
//! helpers the areas share; [`log_server`], [`tasks`], [`sequencer`], [`metadata`] and
//! [`node`] hold the tests, and [`proptests`] the property tests.

use crate::bindings::exports::logsandbox::node::node::{Config, Event, Roles};
use crate::bindings::logsandbox::node::client::{Append, Op, OpResult};
use crate::bindings::logsandbox::node::log_server_protocol::{
    Reply, ReplyHeader, Request, RequestHeader, Seal, Store, StoreFlags,
};
use crate::bindings::logsandbox::node::messages::{Body, Message, SequencerAnswer};
use crate::bindings::logsandbox::node::metadata::{
    Chain, Logs, MetadataKind, MetadataValue, Precondition, ProviderKind, ReplicatedParams,
    Segment, StoreResponse,
};
use crate::bindings::logsandbox::node::types::Status;
use crate::env::testing::{Effect, MemEnv};
use crate::node::Node;

mod chain;
mod chain_seal;
mod client;
mod log_server;
mod metadata;
mod node;
mod proptests;
mod seal_and_extend;
mod sequencer;
mod tasks;
mod trims;

const LOGLET: u64 = 0;

/// A loglet-level append (no recovery strategy) of `payload` to `log`.
pub(super) fn append_to(log: u32, payload: Vec<u8>) -> Append {
    Append {
        log,
        payload,
        strategy: None,
    }
}

const SEQ: u32 = 5;

struct Harness {
    node: Node,
    env: MemEnv,
    now: u64,
    config: Config,
    /// What `init` did.
    started: Vec<Effect>,
}

impl Harness {
    fn new(id: u32, roles: Roles) -> Self {
        Harness::with_settings(id, roles, &[])
    }

    fn with_settings(id: u32, roles: Roles, settings: &[(&str, &str)]) -> Self {
        let config = Config {
            id,
            roles,
            members: vec![1, 2, 3, 5, 6],
            seed: 1,
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let mut env = MemEnv::default();
        let node = Node::init(0, config.clone(), &mut env).expect("init succeeds");
        let started = env.take();
        Harness {
            node,
            env,
            now: 0,
            config,
            started,
        }
    }

    fn log_server() -> Self {
        Harness::new(1, Roles::LOG_SERVER)
    }

    fn handle(&mut self, events: Vec<Event>) -> Vec<Effect> {
        self.handle_at(self.now + 1_000, events)
    }

    /// Handles `events` at instant `at` (never earlier than the last call).
    pub(crate) fn handle_at(&mut self, at: u64, events: Vec<Event>) -> Vec<Effect> {
        self.now = at.max(self.now);
        self.node.handle(self.now, events, &mut self.env);
        self.env.take()
    }

    fn request(&mut self, from: u32, id: u64, request: Request) -> Vec<Effect> {
        let msg = Message {
            versions: vec![],
            body: Body::LogServerRequest((id, request)),
        };
        self.handle(vec![Event::Message((from, msg))])
    }

    /// Makes every pending write durable, in order; returns the effects.
    fn durable(&mut self) -> Vec<Effect> {
        let ids: Vec<u64> = std::mem::take(&mut self.env.pending_writes);
        self.handle(ids.into_iter().map(Event::WriteDurable).collect())
    }

    /// Restarts the node from the same storage (pending writes are kept: call `durable` first).
    fn restart(&mut self) {
        self.node =
            Node::init(self.now, self.config.clone(), &mut self.env).expect("re-init succeeds");
        self.env.take();
    }
}

fn header(global: u32) -> RequestHeader {
    RequestHeader {
        loglet_id: LOGLET,
        known_global_tail: global,
    }
}

fn store(first: u32, n: usize, global: u32) -> Request {
    Request::Store(Store {
        header: header(global),
        first_offset: first,
        sequencer: SEQ,
        flags: StoreFlags::empty(),
        timeout_at: None,
        payloads: (0..n)
            .map(|i| format!("r{}", first as usize + i).into_bytes())
            .collect(),
    })
}

fn seal() -> Request {
    Request::Seal(Seal {
        header: header(0),
        sequencer: SEQ,
    })
}

/// The message bodies the node sent, with their destination.
pub(crate) fn sent(effects: &[Effect]) -> impl Iterator<Item = (u32, &Body)> {
    effects.iter().filter_map(|e| match e {
        Effect::Send(to, msg) => Some((*to, &msg.body)),
        _ => None,
    })
}

/// The replies in the effects: (to, request id, reply).
fn replies(effects: &[Effect]) -> Vec<(u32, u64, Reply)> {
    sent(effects)
        .filter_map(|(to, body)| match body {
            Body::LogServerReply((id, r)) => Some((to, *id, r.clone())),
            _ => None,
        })
        .collect()
}

/// The log-server requests in the effects: (to, request id, request).
fn sent_requests(effects: &[Effect]) -> Vec<(u32, u64, Request)> {
    sent(effects)
        .filter_map(|(to, body)| match body {
            Body::LogServerRequest((id, r)) => Some((to, *id, r.clone())),
            _ => None,
        })
        .collect()
}

fn stored_status(effects: &[Effect]) -> Vec<(u64, Status, u32)> {
    replies(effects)
        .into_iter()
        .filter_map(|(_, id, r)| match r {
            Reply::Stored(h) => Some((id, h.status, h.local_tail)),
            _ => None,
        })
        .collect()
}

pub(crate) fn logs(version: u32, with_log0: bool) -> MetadataValue {
    let chains = if with_log0 {
        vec![Chain {
            log_id: 0,
            segments: vec![Segment {
                base_lsn: 1,
                index: 0,
                provider: ProviderKind::Replicated,
                params: Some(ReplicatedParams {
                    loglet_id: LOGLET,
                    sequencer: SEQ,
                    replication: 2,
                    nodeset: vec![1, 2, 3],
                }),
            }],
        }]
    } else {
        vec![]
    };
    MetadataValue::Logs(Logs { version, chains })
}

/// The loglet of segment `index` of log 0: sequenced by N5, two copies on N1..N3.
pub(crate) fn params(index: u32) -> ReplicatedParams {
    ReplicatedParams {
        loglet_id: u64::from(index),
        sequencer: SEQ,
        replication: 2,
        nodeset: vec![1, 2, 3],
    }
}

/// A replicated segment of log 0 at `base`, on its loglet [`params`].
pub(crate) fn segment(base: u64, index: u32) -> Segment {
    Segment {
        base_lsn: base,
        index,
        provider: ProviderKind::Replicated,
        params: Some(params(index)),
    }
}

/// The chain's seal marker at `base`, repeating segment `index`.
pub(crate) fn marker(base: u64, index: u32) -> Segment {
    Segment {
        base_lsn: base,
        index,
        provider: ProviderKind::Sealed,
        params: None,
    }
}

/// Logs v3 with log 0 on the chain `segments`.
pub(crate) fn chain_logs(segments: Vec<Segment>) -> MetadataValue {
    MetadataValue::Logs(Logs {
        version: 3,
        chains: vec![Chain {
            log_id: 0,
            segments,
        }],
    })
}

pub(crate) fn completions(effects: &[Effect]) -> Vec<(u64, OpResult)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Complete(op, r) => Some((*op, r.clone())),
            _ => None,
        })
        .collect()
}

/// The client asks the store; answers the store fetch with `value`.
fn client_with_logs(value: MetadataValue) -> Harness {
    node_with_logs(SEQ, value)
}

/// Client node `id` (N5 hosts the sequencer, N6 does not) with the Logs cached.
fn node_with_logs(id: u32, value: MetadataValue) -> Harness {
    node_with_logs_and_settings(id, value, &[])
}

/// [`node_with_logs`], with guest settings.
fn node_with_logs_and_settings(
    id: u32,
    value: MetadataValue,
    settings: &[(&str, &str)],
) -> Harness {
    let mut h = Harness::with_settings(id, Roles::CLIENT, settings);
    let fx = h.handle(vec![Event::ClientRequest((
        1,
        Op::WaitForMetadata((MetadataKind::Logs, 1)),
    ))]);
    assert!(
        fx.iter().all(|e| !matches!(e, Effect::MetadataGet(..))),
        "one fetch at a time"
    );
    let id = store_fetch(&h.started).expect("a starting node fetches the Logs");
    let fx = h.handle(vec![Event::MetadataResponse((
        id,
        StoreResponse::Value(Some(value)),
    ))]);
    assert!(matches!(
        completions(&fx)[..],
        [(1, OpResult::MetadataReady(_))]
    ));
    h
}

pub(crate) fn store_fetch(effects: &[Effect]) -> Option<u64> {
    effects.iter().find_map(|e| match e {
        Effect::MetadataGet(id, _) => Some(*id),
        _ => None,
    })
}

pub(crate) fn timers(effects: &[Effect]) -> Vec<(u64, u64)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Timer(id, at) => Some((*id, *at)),
            _ => None,
        })
        .collect()
}

// Helpers of the client, task and sequencer tests.

/// The node hears from the sequencer (its failure detector then counts it alive).
fn hear_from_sequencer(h: &mut Harness) {
    let msg = Message {
        versions: vec![],
        body: Body::HelloAck,
    };
    h.handle(vec![Event::Message((SEQ, msg))]);
}

/// A remote task asks the sequencer first: it answers `state` (None: it does not sequence
/// the loglet, which sends the task to the log-servers).
fn sequencer_answers(h: &mut Harness, effects: &[Effect], state: SequencerAnswer) -> Vec<Effect> {
    let id = sent(effects)
        .find_map(|(to, body)| match body {
            Body::GetSequencerState((id, _, _)) if to == SEQ => Some(*id),
            _ => None,
        })
        .expect("a remote task asks the sequencer first");
    let msg = Message {
        versions: vec![],
        body: Body::SequencerState((id, state)),
    };
    h.handle(vec![Event::Message((SEQ, msg))])
}

fn answer(h: &mut Harness, from: u32, id: u64, reply: Reply) -> Vec<Effect> {
    let msg = Message {
        versions: vec![],
        body: Body::LogServerReply((id, reply)),
    };
    h.handle(vec![Event::Message((from, msg))])
}

fn rh(local_tail: u32, global: u32, sealed: bool, status: Status) -> ReplyHeader {
    ReplyHeader {
        local_tail,
        known_global_tail: global,
        sealed,
        status,
    }
}

fn info(local: u32, global: u32, sealed: bool) -> Reply {
    use crate::bindings::logsandbox::node::log_server_protocol::LogletInfo;
    Reply::LogletInfo(LogletInfo {
        header: rh(local, global, sealed, Status::Ok),
        trim_point: 0,
    })
}

/// Serves the read stream of `loglet` that `fx` starts, to its end: each GetLogletInfo
/// answers trim point `trim_point`, each GetRecords the offsets of `holds` in its range
/// (payload `loglet:offset`) with `next_offset` past its end, all under `header`; the
/// requests the answers send for that loglet are served in turn. Returns every effect of
/// the answers.
fn serve_stream(
    h: &mut Harness,
    fx: &[Effect],
    loglet: u64,
    holds: &[u32],
    header: ReplyHeader,
    trim_point: u32,
) -> Vec<Effect> {
    use crate::bindings::logsandbox::node::log_server_protocol::{
        LogRecord, LogletInfo, RecordBody, Records,
    };
    let mut all = Vec::new();
    let mut work: std::collections::VecDeque<_> = sent_requests(fx).into();
    let mut served = 0;
    while let Some((to, id, request)) = work.pop_front() {
        let reply = match request {
            Request::GetLogletInfo(r) if r.loglet_id == loglet => {
                Reply::LogletInfo(LogletInfo { header, trim_point })
            }
            Request::GetRecords(g) if g.header.loglet_id == loglet => {
                let records = holds
                    .iter()
                    .filter(|&&o| o >= g.from_offset && o <= g.to_offset)
                    .map(|&o| LogRecord {
                        offset: o,
                        body: RecordBody::Data(format!("{loglet}:{o}").into_bytes()),
                    })
                    .collect();
                Reply::Records(Records {
                    header,
                    next_offset: g.to_offset + 1,
                    records,
                })
            }
            _ => continue,
        };
        served += 1;
        assert!(
            served < 1000,
            "the read stream of loglet {loglet} never ends"
        );
        let fx = answer(h, to, id, reply);
        work.extend(sent_requests(&fx));
        all.extend(fx);
    }
    all
}

/// Answers the repair round a drained sequencer starts (GetLogletInfo in `fx`): each node
/// `(id, local tail, global tail)`, sealed. Returns what the last answer did.
fn answer_repair_infos(h: &mut Harness, fx: &[Effect], tails: &[(u32, u32, u32)]) -> Vec<Effect> {
    let asks = sent_requests(fx);
    let mut last = Vec::new();
    for &(node, local, global) in tails {
        let (_, id, _) = asks
            .iter()
            .find(|(to, _, r)| *to == node && matches!(r, Request::GetLogletInfo(_)))
            .unwrap_or_else(|| panic!("the repair asks N{node}: {asks:?}"));
        last = answer(h, node, *id, info(local, global, true));
    }
    last
}

/// The chain puts in `effects`: request id, value, precondition.
pub(crate) fn puts(effects: &[Effect]) -> Vec<(u64, MetadataValue, Precondition)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::MetadataPut(id, _, value, precondition) => {
                Some((*id, value.clone(), *precondition))
            }
            _ => None,
        })
        .collect()
}

/// Drives a chain seal (a find-tail's or a reader's, R8) of a loglet sealed at `tail` to its
/// end: [`step_chain_seal`] until nothing more happens, the store taking every put.
/// Returns every effect on the way and the puts.
fn drive_chain_seal(
    h: &mut Harness,
    fx: Vec<Effect>,
    tail: u32,
) -> (Vec<Effect>, Vec<(u64, MetadataValue, Precondition)>) {
    let mut all = fx.clone();
    let mut pending = fx;
    let mut made = Vec::new();
    for _ in 0..16 {
        let mut next = step_chain_seal(h, &pending, tail);
        for put in puts(&pending) {
            let done = Event::MetadataResponse((put.0, StoreResponse::PutDone));
            made.push(put);
            next.extend(h.handle(vec![done]));
        }
        if next.is_empty() {
            break;
        }
        all.extend(next.iter().cloned());
        pending = next;
    }
    (all, made)
}

/// One step of a chain seal of a loglet sealed at `tail`, short of the store: every
/// log-server answers a Seal or an info request in `fx` sealed at `tail` (all alike:
/// nothing to repair), the sequencer answers a check with that tail, the zero-delay
/// timers (the chain writer's flush) fire. Returns what that did.
fn step_chain_seal(h: &mut Harness, fx: &[Effect], tail: u32) -> Vec<Effect> {
    use crate::bindings::logsandbox::node::types::TailState;
    let mut next = Vec::new();
    for (to, id, request) in sent_requests(fx) {
        let reply = match request {
            Request::Seal(_) => Reply::Sealed(rh(tail, tail, true, Status::Ok)),
            Request::GetLogletInfo(_) => info(tail, tail, true),
            _ => continue,
        };
        next.extend(answer(h, to, id, reply));
    }
    if sent(fx).any(|(_, b)| matches!(b, Body::GetSequencerState(_))) {
        let state = SequencerAnswer::Tail(TailState::Sealed(tail));
        next.extend(sequencer_answers(h, fx, state));
    }
    let now = h.now;
    for (id, at) in timers(fx) {
        if at == now {
            next.extend(h.handle_at(now, vec![Event::Timer(id)]));
        }
    }
    next
}

/// Peer `peer` advertises Logs `version` in a message header; returns what the node did
/// (it asks that peer for the value).
fn advertise(h: &mut Harness, peer: u32, version: u32) -> Vec<Effect> {
    use crate::bindings::logsandbox::node::messages::MetadataVersion;
    let hello = Message {
        versions: vec![MetadataVersion {
            kind: MetadataKind::Logs,
            version,
        }],
        body: Body::HelloAck,
    };
    h.handle(vec![Event::Message((peer, hello))])
}

/// Answers the node's GetMetadata to `peer` (in `fx`) with `logs`.
fn give_peer_logs(h: &mut Harness, fx: &[Effect], peer: u32, logs: Logs) -> Vec<Effect> {
    let ask = sent(fx)
        .find_map(|(to, body)| match body {
            Body::GetMetadata((id, _, _)) if to == peer => Some(*id),
            _ => None,
        })
        .unwrap_or_else(|| panic!("the node asks N{peer} for the Logs: {fx:?}"));
    let update = Message {
        versions: vec![],
        body: Body::MetadataUpdate((ask, Some(MetadataValue::Logs(logs)))),
    };
    h.handle(vec![Event::Message((peer, update))])
}

/// The race points reached in `effects`.
pub(crate) fn reached(
    effects: &[Effect],
) -> Vec<crate::bindings::logsandbox::node::host::RacePoint> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reached(point, _) => Some(*point),
            _ => None,
        })
        .collect()
}

/// The requests sent in `effects`, which must be GetLogletInfo of `loglet`, at least one.
fn info_asks_of(effects: &[Effect], loglet: u64) -> Vec<(u32, u64, Request)> {
    let asks = sent_requests(effects);
    assert!(
        !asks.is_empty()
            && asks.iter().all(|(_, _, r)| matches!(
                r,
                Request::GetLogletInfo(header) if header.loglet_id == loglet
            )),
        "GetLogletInfo of loglet {loglet}, and nothing else: {asks:?}"
    );
    asks
}

/// Every node asked in `asks` answers `reply`; returns what the answers did.
fn answer_each(h: &mut Harness, asks: &[(u32, u64, Request)], reply: &Reply) -> Vec<Effect> {
    let mut all = Vec::new();
    for (to, id, _) in asks {
        all.extend(answer(h, *to, *id, reply.clone()));
    }
    all
}
