//! The sequencer of a replicated loglet: the write path of every append.
//!
//! - Offsets are reserved per batch (one batch per append here), at most
//!   `max_inflight_records` in flight; further appends queue.
//! - Each batch is stored by an [`Appender`] in waves: Store goes to every writeable node
//!   of the nodeset (shuffled, minus the appender's graylist). A store to a node is only
//!   sent once that node's local tail, or the global tail, has reached the batch's first
//!   offset: log-servers never buffer or reorder.
//! - Ok from a write quorum commits the batch and advances the known global tail, which
//!   every later request carries. Sealed/Sealing from an f-majority ends the append with
//!   Sealed. Otherwise the appender backs off and sends another wave.
//! - Seal sends Seal to the nodeset and is done once an f-majority is sealed; then the
//!   sequencer **drains** (refuses new appends, waits for the in-flight ones) before it
//!   publishes the sealed tail, so nothing is acknowledged beyond a published sealed tail.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::bindings::logsandbox::node::client::{ClientError, OpId, OpResult};
use crate::bindings::logsandbox::node::host::Level;
use crate::bindings::logsandbox::node::log_server_protocol::{
    Reply, ReplyHeader, Request, RequestHeader, Seal, Store, StoreFlags,
};
use crate::bindings::logsandbox::node::messages::{Body, SequencerAnswer};
use crate::bindings::logsandbox::node::metadata::ReplicatedParams;
use crate::bindings::logsandbox::node::storage::WriteOp;
use crate::bindings::logsandbox::node::types::{
    LogletId, LogletOffset, NodeId, RequestId, Status, TailState,
};
use crate::ctx::{Ctx, Part};
use crate::keys;
use crate::loglet::{OLDEST, fmt_loglet};
use crate::mutants;
use crate::tasks::{Out as TaskOut, TailSummary, Task};

/// What a sequencer's request or timer was for, so the client can route it back.
#[derive(Debug, Clone, Copy)]
pub enum Route {
    Store {
        first: LogletOffset,
    },
    Seal,
    Info,
    WaveTimeout {
        first: LogletOffset,
        wave: u32,
    },
    NextWave {
        first: LogletOffset,
    },
    SealRetry,
    InfoRetry,
    /// A seal check asked for by a remote GetSequencerState.
    CheckInfo,
    CheckRetry,
    /// A request of the repair of the sealed tail.
    Repair,
    /// The repair's timer, by generation (a newer one makes older ones stale).
    RepairTimer(u32),
}

/// A place to register the routes of requests and timers this sequencer starts.
pub trait Routes {
    fn route(&mut self, id: u64, loglet: LogletId, route: Route);
}

/// What the sequencer knows of one log-server, from its replies.
#[derive(Debug, Clone, Copy)]
struct NodeView {
    local_tail: LogletOffset,
    sealed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreTask {
    /// Waiting for the node's local tail (or the global tail) to reach the first offset.
    WaitingTail,
    InFlight {
        wave: u32,
        sent_at: u64,
    },
    Done,
}

/// One batch on its way to a write quorum.
#[derive(Debug)]
struct Appender {
    first: LogletOffset,
    payloads: Vec<Vec<u8>>,
    ops: Vec<OpId>,
    wave: u32,
    tasks: BTreeMap<NodeId, StoreTask>,
    graylist: BTreeSet<NodeId>,
    committed: BTreeSet<NodeId>,
    sealed: BTreeSet<NodeId>,
    /// A NextWave timer is armed.
    backing_off: bool,
}

impl Appender {
    fn last(&self) -> LogletOffset {
        self.first + self.payloads.len() as u32 - 1
    }
}

#[derive(Debug)]
enum State {
    /// Learning the loglet's tail from an f-majority before taking appends.
    Starting {
        infos: BTreeMap<NodeId, ReplyHeader>,
    },
    Open,
    /// Sealed on an f-majority; waiting for in-flight appends before publishing.
    Draining,
    /// Drained; finding the sealed tail on the log-servers and repairing it to a write
    /// quorum before publishing it (records an append stored on too few nodes before it
    /// ended Sealed may lie beyond the known global tail).
    Repairing {
        task: Box<Task>,
        timer: u32,
    },
    /// The sealed tail is decided and being written to this node's storage: a restarted
    /// sequencer must not find (and publish) another one.
    Publishing {
        tail: LogletOffset,
        write: u64,
    },
    /// The published sealed tail.
    Sealed(LogletOffset),
}

/// Operations that arrived before the sequencer knew its tail.
#[derive(Debug)]
enum Deferred {
    Append(OpId, Vec<u8>),
    Seal(OpId),
    FindTail(OpId),
    /// A GetSequencerState: (asker, request id, check the seal first).
    State(NodeId, RequestId, bool),
}

/// A seal check for remote askers: GetLogletInfo to the nodeset, to learn whether the
/// loglet was sealed behind the sequencer's back.
#[derive(Debug, Default)]
struct SealCheck {
    infos: BTreeMap<NodeId, ReplyHeader>,
    waiters: Vec<(NodeId, RequestId)>,
}

#[derive(Debug)]
pub struct Sequencer {
    loglet: LogletId,
    params: ReplicatedParams,
    state: State,
    next_offset: LogletOffset,
    known_global_tail: LogletOffset,
    nodes: BTreeMap<NodeId, NodeView>,
    appenders: BTreeMap<LogletOffset, Appender>,
    inflight_records: u32,
    backlog: VecDeque<(OpId, Vec<u8>)>,
    deferred: Vec<Deferred>,
    /// Seal in progress: nodes sealed so far and the highest local tail they reported.
    seal_nodes: BTreeSet<NodeId>,
    seal_ops: Vec<OpId>,
    /// Find-tails that arrived while sealing: answered with the published sealed tail.
    tail_waiters: Vec<OpId>,
    sealing: bool,
    check: Option<SealCheck>,
    /// Smoothed store round trip and its deviation (ns), for the wave timeout.
    srtt: Option<u64>,
    rttvar: u64,
}

/// The longest a store wave waits.
const MAX_WAVE_TIMEOUT: u64 = 60 * crate::time::SECONDS;

impl Sequencer {
    /// Creates the sequencer and asks the nodeset for the loglet's tail.
    pub fn start(ctx: &mut Ctx, routes: &mut dyn Routes, params: ReplicatedParams) -> Self {
        let nodes = params
            .nodeset
            .iter()
            .map(|&n| {
                (
                    n,
                    NodeView {
                        local_tail: OLDEST,
                        sealed: false,
                    },
                )
            })
            .collect();
        let mut seq = Sequencer {
            loglet: params.loglet_id,
            params,
            state: State::Starting {
                infos: BTreeMap::new(),
            },
            next_offset: OLDEST,
            known_global_tail: OLDEST,
            nodes,
            appenders: BTreeMap::new(),
            inflight_records: 0,
            backlog: VecDeque::new(),
            deferred: Vec::new(),
            seal_nodes: BTreeSet::new(),
            seal_ops: Vec::new(),
            tail_waiters: Vec::new(),
            sealing: false,
            check: None,
            srtt: None,
            rttvar: 0,
        };
        // A seal this node published before a restart stands.
        let published = ctx
            .env
            .get(&keys::meta(keys::PUBLISHED_SEAL, seq.loglet))
            .and_then(|v| keys::decode_u32(&v));
        match published {
            Some(tail) => {
                seq.next_offset = tail;
                seq.known_global_tail = tail;
                seq.state = State::Sealed(tail);
            }
            None => seq.ask_infos(ctx, routes),
        }
        seq
    }

    fn f_majority(&self) -> usize {
        self.params.nodeset.len() + 1 - self.params.replication as usize
    }

    fn header(&self) -> RequestHeader {
        RequestHeader {
            loglet_id: self.loglet,
            known_global_tail: self.known_global_tail,
        }
    }

    fn request(
        &self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        to: NodeId,
        route: Route,
        req: Request,
    ) {
        let id: RequestId = ctx.id(Part::Client);
        routes.route(id, self.loglet, route);
        ctx.send(to, Body::LogServerRequest((id, req)));
    }

    fn timer(&self, ctx: &mut Ctx, routes: &mut dyn Routes, delay: u64, route: Route) {
        let id = ctx.timer(Part::Client, delay);
        routes.route(id, self.loglet, route);
    }

    fn ask_infos(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        let State::Starting { infos } = &self.state else {
            return;
        };
        let answered: BTreeSet<NodeId> = infos.keys().copied().collect();
        self.ask_infos_of(ctx, routes, &answered, Route::Info, Route::InfoRetry);
    }

    /// GetLogletInfo to every node of the nodeset that has not `answered` (replies come
    /// back on `route`), and a timer to ask again (`retry`).
    fn ask_infos_of(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        answered: &BTreeSet<NodeId>,
        route: Route,
        retry: Route,
    ) {
        let missing: Vec<NodeId> = self
            .params
            .nodeset
            .iter()
            .copied()
            .filter(|n| !answered.contains(n))
            .collect();
        for node in missing {
            let req = Request::GetLogletInfo(self.header());
            self.request(ctx, routes, node, route, req);
        }
        let delay = ctx.shared.settings.rpc_retry;
        self.timer(ctx, routes, delay, retry);
    }

    pub fn append(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, op: OpId, payload: Vec<u8>) {
        match self.state {
            State::Starting { .. } => self.deferred.push(Deferred::Append(op, payload)),
            State::Draining
            | State::Repairing { .. }
            | State::Publishing { .. }
            | State::Sealed(_) => ctx.env.complete(op, OpResult::Failed(ClientError::Sealed)),
            State::Open => {
                if self.inflight_records >= ctx.shared.settings.max_inflight_records {
                    self.backlog.push_back((op, payload));
                } else {
                    self.start_appender(ctx, routes, vec![op], vec![payload]);
                }
            }
        }
    }

    /// What the sequencer would answer a GetSequencerState now; None while it is still
    /// learning its tail.
    pub fn known_state(&self) -> Option<SequencerAnswer> {
        match self.state {
            State::Starting { .. } => None,
            State::Open if !self.sealing => Some(SequencerAnswer::Tail(TailState::Open(
                self.known_global_tail,
            ))),
            State::Open | State::Draining | State::Repairing { .. } | State::Publishing { .. } => {
                Some(SequencerAnswer::Sealing)
            }
            State::Sealed(t) => Some(SequencerAnswer::Tail(TailState::Sealed(t))),
        }
    }

    /// The tail: open at the known global tail, or the published sealed tail. While a seal
    /// is under way the answer waits for it: the loglet is sealed on an f-majority, and an
    /// open tail would contradict the sealed one others may already report.
    pub fn find_tail(&mut self, ctx: &mut Ctx, op: OpId) {
        let tail = match self.state {
            State::Starting { .. } => return self.deferred.push(Deferred::FindTail(op)),
            State::Open => TailState::Open(self.known_global_tail),
            State::Draining | State::Repairing { .. } | State::Publishing { .. } => {
                return self.tail_waiters.push(op);
            }
            State::Sealed(t) => TailState::Sealed(t),
        };
        ctx.env.complete(op, OpResult::Tail(tail));
    }

    pub fn seal(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, op: OpId) {
        match self.state {
            State::Starting { .. } => return self.deferred.push(Deferred::Seal(op)),
            State::Sealed(t) => {
                return ctx.env.complete(op, OpResult::Sealed(TailState::Sealed(t)));
            }
            State::Open | State::Draining | State::Repairing { .. } | State::Publishing { .. } => {
                self.seal_ops.push(op)
            }
        }
        self.start_sealing(ctx, routes);
    }

    /// Seals the loglet on the nodeset, unless a seal is under way or done.
    fn start_sealing(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        if self.sealing || !matches!(self.state, State::Open) {
            return;
        }
        self.sealing = true;
        ctx.log(
            Level::Info,
            &format!("sealing loglet {}", fmt_loglet(self.loglet)),
        );
        self.send_seals(ctx, routes);
    }

    fn send_seals(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        let pending: Vec<NodeId> = self
            .params
            .nodeset
            .iter()
            .copied()
            .filter(|n| !self.seal_nodes.contains(n))
            .collect();
        for node in pending {
            let req = Request::Seal(Seal {
                header: self.header(),
                sequencer: ctx.shared.me,
            });
            self.request(ctx, routes, node, Route::Seal, req);
        }
        let retry = ctx.shared.settings.rpc_retry;
        self.timer(ctx, routes, retry, Route::SealRetry);
    }

    fn start_appender(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        ops: Vec<OpId>,
        payloads: Vec<Vec<u8>>,
    ) {
        let first = self.next_offset;
        self.next_offset += payloads.len() as u32;
        self.inflight_records += payloads.len() as u32;
        let appender = Appender {
            first,
            payloads,
            ops,
            wave: 0,
            tasks: BTreeMap::new(),
            graylist: BTreeSet::new(),
            committed: BTreeSet::new(),
            sealed: BTreeSet::new(),
            backing_off: false,
        };
        self.appenders.insert(first, appender);
        self.send_wave(ctx, routes, first);
    }

    /// Sends a wave of stores for the appender at `first`.
    fn send_wave(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, first: LogletOffset) {
        let replication = self.params.replication as usize;
        let Some(appender) = self.appenders.get_mut(&first) else {
            return;
        };
        appender.wave += 1;
        appender.backing_off = false;
        // Reset the graylist when what is left of the nodeset cannot make a write quorum
        // with the copies already made. Sealed nodes take no store: they do not count, or
        // a graylisted node that might still answer (even Sealed) would never be asked again.
        let nodes = &self.nodes;
        let candidates = self
            .params
            .nodeset
            .iter()
            .filter(|n| {
                !appender.graylist.contains(n)
                    && !appender.committed.contains(n)
                    && !nodes.get(n).is_some_and(|v| v.sealed)
            })
            .count();
        if appender.committed.len() + candidates < replication {
            appender.graylist.clear();
        }
        let mut spread: Vec<NodeId> = self
            .params
            .nodeset
            .iter()
            .copied()
            .filter(|n| !appender.graylist.contains(n) && !appender.committed.contains(n))
            .collect();
        ctx.shared.rng.shuffle(&mut spread);
        for node in &spread {
            appender.tasks.insert(*node, StoreTask::WaitingTail);
        }
        let wave = appender.wave;
        let timeout = self.wave_timeout(ctx, wave);
        self.timer(ctx, routes, timeout, Route::WaveTimeout { first, wave });
        for node in spread {
            self.try_send_store(ctx, routes, first, node);
        }
        self.evaluate(ctx, routes, first);
    }

    /// Sends the appender's store to `node` if the node can take it now.
    fn try_send_store(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        first: LogletOffset,
        node: NodeId,
    ) {
        let Some(appender) = self.appenders.get_mut(&first) else {
            return;
        };
        if appender.tasks.get(&node) != Some(&StoreTask::WaitingTail) {
            return;
        }
        let view = self.nodes[&node];
        if view.sealed {
            appender.tasks.insert(node, StoreTask::Done);
            appender.sealed.insert(node);
            return;
        }
        if view.local_tail < first && self.known_global_tail < first {
            return;
        }
        appender.tasks.insert(
            node,
            StoreTask::InFlight {
                wave: appender.wave,
                sent_at: ctx.now,
            },
        );
        let store = Store {
            header: RequestHeader {
                loglet_id: self.loglet,
                known_global_tail: self.known_global_tail,
            },
            first_offset: first,
            sequencer: ctx.shared.me,
            flags: StoreFlags::empty(),
            timeout_at: Some(ctx.now + ctx.shared.settings.store_timeout),
            payloads: appender.payloads.clone(),
        };
        self.request(
            ctx,
            routes,
            node,
            Route::Store { first },
            Request::Store(store),
        );
    }

    /// Decides an appender's fate after something changed: commit, sealed, back off, or wait.
    fn evaluate(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, first: LogletOffset) {
        let f_majority = self.f_majority();
        let Some(appender) = self.appenders.get(&first) else {
            return;
        };
        let quorum = if mutants::COMMIT_BEFORE_QUORUM {
            1
        } else {
            self.params.replication as usize
        };
        if appender.committed.len() >= quorum {
            let appender = self.appenders.remove(&first).expect("checked above");
            let last = appender.last();
            self.known_global_tail = self.known_global_tail.max(last + 1);
            self.inflight_records -= appender.payloads.len() as u32;
            for (i, op) in appender.ops.into_iter().enumerate() {
                ctx.env
                    .complete(op, OpResult::Appended(appender.first + i as u32));
            }
            self.after_appender(ctx, routes, true);
        } else if appender.sealed.len() >= f_majority {
            let appender = self.appenders.remove(&first).expect("checked above");
            self.inflight_records -= appender.payloads.len() as u32;
            for op in appender.ops {
                ctx.env.complete(op, OpResult::Failed(ClientError::Sealed));
            }
            self.after_appender(ctx, routes, false);
        } else if !appender.backing_off
            && appender
                .tasks
                .values()
                .all(|t| matches!(t, StoreTask::Done))
        {
            if let Some(a) = self.appenders.get_mut(&first) {
                a.backing_off = true;
            }
            // Every node of this wave answered and no quorum: back off, then retry.
            let wave = self.appenders.get(&first).map_or(1, |a| a.wave);
            let base = self.wave_timeout(ctx, wave);
            let delay = ctx.shared.rng.jitter(base, 30);
            self.timer(ctx, routes, delay, Route::NextWave { first });
        }
    }

    /// After an appender ended: wake stores waiting for the global tail, start queued
    /// appends, and finish a drain.
    fn after_appender(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, tail_moved: bool) {
        if tail_moved {
            self.wake_waiting(ctx, routes, None);
        }
        if matches!(self.state, State::Open) {
            while self.inflight_records < ctx.shared.settings.max_inflight_records {
                let Some((op, payload)) = self.backlog.pop_front() else {
                    break;
                };
                self.start_appender(ctx, routes, vec![op], vec![payload]);
            }
        }
        self.maybe_publish(ctx, routes);
    }

    /// Sends the stores that waited for a tail that has now moved (of `node`, or the
    /// global tail when `None`).
    fn wake_waiting(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, node: Option<NodeId>) {
        let waiting: Vec<(LogletOffset, NodeId)> = self
            .appenders
            .iter()
            .flat_map(|(first, a)| {
                a.tasks
                    .iter()
                    .filter(|(n, t)| **t == StoreTask::WaitingTail && node.is_none_or(|x| x == **n))
                    .map(move |(n, _)| (*first, *n))
            })
            .collect();
        let mut touched = BTreeSet::new();
        for (first, n) in waiting {
            self.try_send_store(ctx, routes, first, n);
            touched.insert(first);
        }
        for first in touched {
            self.evaluate(ctx, routes, first);
        }
    }

    pub fn on_reply(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        from: NodeId,
        route: Route,
        reply: Reply,
    ) {
        match (route, reply) {
            (Route::Store { first }, Reply::Stored(header)) => {
                self.on_stored(ctx, routes, from, first, header)
            }
            (Route::Seal, Reply::Sealed(header)) => self.on_sealed(ctx, routes, from, header),
            (Route::Info, Reply::LogletInfo(info)) => self.on_info(ctx, routes, from, info.header),
            (Route::CheckInfo, Reply::LogletInfo(info)) => {
                self.on_check_info(ctx, routes, from, info.header)
            }
            (Route::Repair, reply) => {
                if let State::Repairing { task, .. } = &mut self.state {
                    let out = task.on_reply(from, reply);
                    self.run_repair(ctx, routes, out);
                }
            }
            (route, reply) => ctx.log(
                Level::Warn,
                &format!("unexpected reply from N{from} to {route:?}: {reply:?}"),
            ),
        }
    }

    /// The timeout of a store wave: adaptive on the observed store round trips (as TCP's
    /// RTO: smoothed RTT + 4 deviations), at least `store_wave_timeout`, doubled per wave,
    /// at most 60 s.
    fn wave_timeout(&self, ctx: &Ctx, wave: u32) -> u64 {
        let floor = ctx.shared.settings.store_wave_timeout;
        let adaptive = self.srtt.map_or(floor, |s| s + 4 * self.rttvar);
        let doubled = adaptive
            .max(floor)
            .saturating_mul(1 << wave.saturating_sub(1).min(16));
        doubled.min(MAX_WAVE_TIMEOUT)
    }

    fn sample_rtt(&mut self, rtt: u64) {
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                self.rttvar = (3 * self.rttvar + srtt.abs_diff(rtt)) / 4;
                self.srtt = Some((7 * srtt + rtt) / 8);
            }
        }
    }

    /// A remote seal (by another node): once an f-majority of the nodeset is known to be
    /// sealed, stop taking appends, drain, and publish the sealed tail.
    fn check_remote_seal(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        if !matches!(self.state, State::Open) || self.sealing {
            return;
        }
        // Runs on every Stored reply: count before anything else.
        if self.nodes.values().filter(|v| v.sealed).count() < self.f_majority() {
            return;
        }
        ctx.log(
            Level::Info,
            &format!(
                "loglet {} was sealed elsewhere (an f-majority is sealed); draining",
                fmt_loglet(self.loglet)
            ),
        );
        self.start_drain(ctx, routes);
    }

    fn observe(&mut self, from: NodeId, header: &ReplyHeader) {
        if let Some(view) = self.nodes.get_mut(&from) {
            view.local_tail = view.local_tail.max(header.local_tail);
            view.sealed |=
                header.sealed || matches!(header.status, Status::Sealed | Status::Sealing);
        }
    }

    fn on_stored(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        from: NodeId,
        first: LogletOffset,
        header: ReplyHeader,
    ) {
        self.observe(from, &header);
        let mut rtt = None;
        if let Some(appender) = self.appenders.get_mut(&first) {
            if let Some(StoreTask::InFlight { sent_at, .. }) = appender.tasks.get(&from) {
                rtt = Some(ctx.now - sent_at);
            }
            appender.tasks.insert(from, StoreTask::Done);
            match header.status {
                Status::Ok => {
                    appender.committed.insert(from);
                }
                Status::Sealed | Status::Sealing => {
                    appender.sealed.insert(from);
                    appender.graylist.insert(from);
                }
                status => {
                    ctx.env.log(
                        Level::Debug,
                        &format!("store {first} on N{from} failed: {status:?}"),
                    );
                    appender.graylist.insert(from);
                }
            }
            self.evaluate(ctx, routes, first);
        }
        if let Some(rtt) = rtt {
            self.sample_rtt(rtt);
        }
        self.wake_waiting(ctx, routes, Some(from));
        self.check_remote_seal(ctx, routes);
    }

    fn on_sealed(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        from: NodeId,
        header: ReplyHeader,
    ) {
        self.observe(from, &header);
        if header.status != Status::Ok || !self.sealing {
            return;
        }
        self.seal_nodes.insert(from);
        // Stores waiting on a node that is now sealed end as Sealed.
        self.wake_waiting(ctx, routes, Some(from));
        if matches!(self.state, State::Open) && self.seal_nodes.len() >= self.f_majority() {
            ctx.log(
                Level::Info,
                &format!(
                    "loglet {} sealed on an f-majority; draining {} in-flight appends",
                    fmt_loglet(self.loglet),
                    self.appenders.len()
                ),
            );
            self.start_drain(ctx, routes);
        }
    }

    /// Sealed on an f-majority (by us or behind our back): take no more appends, fail the
    /// queued ones, resend the waves backing off (so the drain ends as soon as the appends
    /// in flight are resolved), and publish once none is left.
    fn start_drain(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        self.state = State::Draining;
        for (op, _) in std::mem::take(&mut self.backlog) {
            ctx.env.complete(op, OpResult::Failed(ClientError::Sealed));
        }
        if mutants::PUBLISH_BEFORE_DRAIN {
            let tail = self.known_global_tail;
            return self.publish(ctx, tail);
        }
        let backing_off: Vec<LogletOffset> = self
            .appenders
            .iter()
            .filter(|(_, a)| a.backing_off)
            .map(|(first, _)| *first)
            .collect();
        for first in backing_off {
            self.send_wave(ctx, routes, first);
        }
        self.maybe_publish(ctx, routes);
    }

    /// Once no append is in flight, repairs the sealed tail, then publishes it.
    fn maybe_publish(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        if !matches!(self.state, State::Draining) || !self.appenders.is_empty() {
            return;
        }
        if mutants::PUBLISH_WITHOUT_REPAIR {
            let tail = self.known_global_tail;
            return self.publish(ctx, tail);
        }
        self.start_repair(ctx, routes);
    }

    /// An append that ended Sealed may have left records beyond the known global tail on
    /// some log-servers. A find-tail on the log-servers takes the highest local tail of the
    /// sealed nodes and repairs what lies below it, so the sequencer does the same before it
    /// publishes: every reader then agrees on the sealed tail, and no record below it sits on
    /// fewer than a write quorum.
    fn start_repair(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        let (task, out) = Task::repair_sealed(self.params.clone());
        self.state = State::Repairing {
            task: Box::new(task),
            timer: 0,
        };
        self.run_repair(ctx, routes, out);
    }

    /// Carries out what the repair asked for.
    fn run_repair(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, out: Vec<TaskOut>) {
        for item in out {
            match item {
                TaskOut::Request(node, request) => {
                    self.request(ctx, routes, node, Route::Repair, request)
                }
                TaskOut::Timer | TaskOut::PatientTimer => {
                    let State::Repairing { timer, .. } = &mut self.state else {
                        return;
                    };
                    *timer = timer.wrapping_add(1);
                    let generation = *timer;
                    let delay = ctx.shared.settings.rpc_retry;
                    self.timer(ctx, routes, delay, Route::RepairTimer(generation));
                }
                // The repair never asks the sequencer: that is us.
                TaskOut::AskSequencer { .. } => {}
                TaskOut::Done(OpResult::Tail(TailState::Sealed(tail))) => {
                    return self.publish(ctx, tail.max(self.known_global_tail));
                }
                TaskOut::Done(other) => {
                    // Not sealed on an f-majority any more (disks lost), or the repair gave
                    // up for now: start over; the seal is not published until it is sound.
                    ctx.log(
                        Level::Warn,
                        &format!(
                            "repair of loglet {} ended {other:?}; starting over",
                            fmt_loglet(self.loglet)
                        ),
                    );
                    return self.start_repair(ctx, routes);
                }
            }
        }
    }

    /// The sealed tail is decided: write it down, then answer.
    fn publish(&mut self, ctx: &mut Ctx, tail: LogletOffset) {
        self.known_global_tail = tail;
        let write = ctx.id(Part::Client);
        ctx.env.write(
            write,
            vec![WriteOp {
                key: keys::meta(keys::PUBLISHED_SEAL, self.loglet),
                value: Some(keys::encode_u32(tail)),
            }],
        );
        self.state = State::Publishing { tail, write };
    }

    /// The sealed tail is durable: it is published.
    pub fn on_durable(&mut self, ctx: &mut Ctx, id: u64) {
        let State::Publishing { tail, write } = self.state else {
            return;
        };
        if write != id {
            return;
        }
        self.state = State::Sealed(tail);
        self.sealing = false;
        ctx.log(
            Level::Info,
            &format!(
                "loglet {} sealed tail published: {tail}",
                fmt_loglet(self.loglet)
            ),
        );
        for op in std::mem::take(&mut self.seal_ops) {
            ctx.env
                .complete(op, OpResult::Sealed(TailState::Sealed(tail)));
        }
        for op in std::mem::take(&mut self.tail_waiters) {
            ctx.env
                .complete(op, OpResult::Tail(TailState::Sealed(tail)));
        }
    }

    /// A remote node asks for the sequencer's state (Restate's GetSequencerState): the
    /// known global tail, sealed once published, or "sealing" while it drains (the asker
    /// asks again). With `check`, an open sequencer first asks the log-servers whether the
    /// loglet was sealed behind its back; if any is, it starts sealing (idempotent).
    pub fn state_request(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        from: NodeId,
        id: RequestId,
        check: bool,
    ) {
        match self.known_state() {
            None => self.deferred.push(Deferred::State(from, id, check)),
            Some(SequencerAnswer::Tail(TailState::Open(_))) if check => match &mut self.check {
                Some(c) => c.waiters.push((from, id)),
                None => {
                    self.check = Some(SealCheck {
                        infos: BTreeMap::new(),
                        waiters: vec![(from, id)],
                    });
                    self.ask_check_infos(ctx, routes);
                }
            },
            Some(answer) => answer_state(ctx, from, id, answer),
        }
    }

    fn ask_check_infos(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        let Some(check) = &self.check else {
            return;
        };
        let answered: BTreeSet<NodeId> = check.infos.keys().copied().collect();
        self.ask_infos_of(ctx, routes, &answered, Route::CheckInfo, Route::CheckRetry);
    }

    fn on_check_info(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        from: NodeId,
        header: ReplyHeader,
    ) {
        self.observe(from, &header);
        let f_majority = self.f_majority();
        let Some(check) = &mut self.check else {
            return;
        };
        check.infos.insert(from, header);
        // One sealed node is news enough. "Not sealed" takes a write quorum of unsealed
        // answers: fewer, and the silent nodes could be a sealed f-majority (with 2
        // log-servers and replication 2, one node is an f-majority).
        let sealed = check.infos.values().any(|h| h.sealed);
        let unsealed = check.infos.values().filter(|h| !h.sealed).count();
        let quorum = self.params.replication as usize;
        if check.infos.len() < f_majority || (!sealed && unsealed < quorum) {
            return;
        }
        let check = self.check.take().expect("checked above");
        // Sealed (at least partly) behind our back: say so, finish the seal, then drain.
        let answer = match self.known_state() {
            Some(SequencerAnswer::Tail(TailState::Open(_))) if sealed => SequencerAnswer::Sealing,
            known => known.expect("a sequencer checks its seal once started"),
        };
        for (to, id) in check.waiters {
            answer_state(ctx, to, id, answer);
        }
        if sealed {
            self.start_sealing(ctx, routes);
        }
    }

    fn on_info(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        from: NodeId,
        header: ReplyHeader,
    ) {
        self.observe(from, &header);
        let f_majority = self.f_majority();
        let State::Starting { infos } = &mut self.state else {
            return;
        };
        infos.insert(from, header);
        if infos.len() < f_majority {
            return;
        }
        let summary = TailSummary::of(infos);
        let (max_local, max_global) = (summary.max_local, summary.max_global);
        let sealed = summary.sealed.len();
        // A restarted sequencer takes the highest tail an f-majority reports as committed;
        // Restate would instead seal this loglet and move to a new segment.
        let tail = max_local.max(max_global);
        self.next_offset = tail;
        self.known_global_tail = tail;
        self.state = State::Open;
        if sealed >= f_majority {
            // Sealed while no sequencer ran here: find and repair the sealed tail first.
            self.known_global_tail = max_global;
            self.sealing = true;
            self.start_repair(ctx, routes);
        }
        ctx.log(
            Level::Info,
            &format!(
                "sequencer for loglet {} started at tail {tail} ({})",
                fmt_loglet(self.loglet),
                if sealed >= f_majority {
                    "sealed"
                } else {
                    "open"
                }
            ),
        );
        for deferred in std::mem::take(&mut self.deferred) {
            match deferred {
                Deferred::Append(op, payload) => self.append(ctx, routes, op, payload),
                Deferred::Seal(op) => self.seal(ctx, routes, op),
                Deferred::FindTail(op) => self.find_tail(ctx, op),
                Deferred::State(from, id, check) => {
                    self.state_request(ctx, routes, from, id, check)
                }
            }
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, route: Route) {
        match route {
            Route::WaveTimeout { first, wave } => {
                let Some(appender) = self.appenders.get_mut(&first) else {
                    return;
                };
                if appender.wave != wave {
                    return;
                }
                let mut timed_out = false;
                for (node, task) in appender.tasks.iter_mut() {
                    if *task != StoreTask::Done {
                        *task = StoreTask::Done;
                        appender.graylist.insert(*node);
                        timed_out = true;
                    }
                }
                if timed_out {
                    ctx.env.log(
                        Level::Debug,
                        &format!("store wave {wave} of offset {first} timed out"),
                    );
                    self.evaluate(ctx, routes, first);
                }
            }
            Route::NextWave { first } => self.send_wave(ctx, routes, first),
            Route::SealRetry => {
                if self.sealing && self.seal_nodes.len() < self.params.nodeset.len() {
                    self.send_seals(ctx, routes);
                }
            }
            Route::InfoRetry => self.ask_infos(ctx, routes),
            Route::CheckRetry => self.ask_check_infos(ctx, routes),
            Route::RepairTimer(generation) => {
                if let State::Repairing { task, timer } = &mut self.state
                    && *timer == generation
                {
                    let out = task.on_timer();
                    self.run_repair(ctx, routes, out);
                }
            }
            Route::Store { .. } | Route::Seal | Route::Info | Route::CheckInfo | Route::Repair => {}
        }
    }
}

/// Answers a GetSequencerState.
pub fn answer_state(ctx: &mut Ctx, to: NodeId, id: RequestId, answer: SequencerAnswer) {
    ctx.send(to, Body::SequencerState((id, answer)));
}
