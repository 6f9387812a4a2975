//! The sequencer of a replicated loglet: the write path of every append.
//!
//! - Offsets are reserved per batch (one batch per append here), at most
//!   `max_inflight_records` in flight; further appends queue.
//! - Each batch is stored by an `Appender` in waves: Store goes to every writeable node
//!   of the nodeset (shuffled, minus the appender's graylist). A store to a node is only
//!   sent once that node's local tail, or the global tail, has reached the batch's first
//!   offset: log-servers never buffer or reorder.
//! - Ok from a write quorum commits the batch and advances the known global tail, which
//!   every later request carries. Sealed/Sealing from an f-majority ends the append with
//!   Sealed. Otherwise the appender backs off and sends another wave.
//! - Seal sends Seal to the nodeset and is done once an f-majority is sealed; then the
//!   sequencer **drains**: it refuses new appends and cancels the ones in flight
//!   (`reconfiguration-needed`: they may or may not have been stored) before it publishes
//!   the sealed tail, its own known global tail (Restate's `notify_seal`, no repair), so
//!   nothing is acknowledged beyond a published sealed tail.
//! - A seal made behind its back is found lazily, as Restate finds it: a store answered
//!   sealed marks the loglet *maybe sealed*, and the sequencer drains only at a forced seal
//!   check (its periodic tail check every `sequencer.inactivity_timeout_ms` plus up to 50%, a remote
//!   GetSequencerState that asks for one, a local find-tail while maybe sealed).
//!
//! The folder has quinn-proto's `connection/` shape: this file holds the sequencer's
//! state and its dispatch (start, replies, timers, the routes they come back on), and
//! each concern is a sibling file reached with `pub(super)`: `appender.rs` (the appender
//! waves), `seal.rs` (seal, drain, publish) and `remote.rs` (the tail learnt at start,
//! the state asked by remote nodes, the forced seal checks that find a seal made
//! elsewhere, and the repair of the sealed tail when asked for).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::bindings::logsandbox::node::client::OpId;
use crate::bindings::logsandbox::node::host::Level;
use crate::bindings::logsandbox::node::log_server_protocol::{
    Reply, ReplyHeader, Request, RequestHeader,
};
use crate::bindings::logsandbox::node::messages::{Body, SequencerAnswer};
use crate::bindings::logsandbox::node::metadata::ReplicatedParams;
use crate::bindings::logsandbox::node::types::{
    LogletId, LogletOffset, NodeId, RequestId, Status, TailState,
};
use crate::ctx::{Ctx, Part};
use crate::keys;
use crate::loglet::{LogletOutcome, OLDEST};
use crate::tasks::Task;

mod appender;
mod remote;
mod seal;

use appender::Appender;
use remote::SealCheck;

/// What a sequencer's request or timer was for, so the client can route it back.
#[derive(Debug, Clone, Copy)]
pub enum Route {
    /// A Store of the appender of the batch at `first`.
    Store {
        /// The batch's first offset, which keys its appender.
        first: LogletOffset,
    },
    /// A Seal to a node of the nodeset.
    Seal,
    /// A GetLogletInfo that learns the loglet's tail when the sequencer starts.
    Info,
    /// The timer that gives up on the stores of a wave still unanswered.
    WaveTimeout {
        /// The first offset of the appender's batch.
        first: LogletOffset,
        /// The wave it belongs to: once a later wave is sent, it is stale.
        wave: u32,
    },
    /// The backoff timer after which an appender sends its next wave.
    NextWave {
        /// The first offset of the appender's batch.
        first: LogletOffset,
    },
    /// The timer that sends Seal again to the nodes not yet sealed.
    SealRetry,
    /// The timer that asks again the nodes that have not told their tail at start.
    InfoRetry,
    /// A GetLogletInfo of a forced seal check.
    CheckInfo,
    /// The timer that ends a forced seal check with the answers it has, by generation.
    CheckTimeout(u32),
    /// The periodic tail check's timer.
    TailCheck,
    /// A request of the repair of the sealed tail.
    Repair,
    /// The repair's timer, by generation (a newer one makes older ones stale).
    RepairTimer(u32),
}

/// A place to register the routes of requests and timers this sequencer starts.
pub trait Routes {
    /// Notes that the reply to request `id`, or timer `id`, goes back to the sequencer of
    /// `loglet` as `route`.
    fn route(&mut self, id: u64, loglet: LogletId, route: Route);
}

/// What the sequencer knows of one log-server, from its replies.
#[derive(Debug, Clone, Copy)]
struct NodeView {
    local_tail: LogletOffset,
    sealed: bool,
}

#[derive(Debug)]
enum State {
    /// Learning the loglet's tail from an f-majority before taking appends.
    Starting {
        infos: BTreeMap<NodeId, ReplyHeader>,
    },
    Open,
    /// Sealed on an f-majority; the appends in flight are being cancelled.
    Draining,
    /// Drained, with `sequencer.publish = repaired`: finding the sealed tail on the
    /// log-servers and repairing it to a write quorum before publishing it (records an
    /// append stored on too few nodes before it ended may lie beyond the known global tail).
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

/// The sequencer of one loglet this node sequences: its state, offsets, appenders and seal.
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
    /// A store was answered sealed: the next forced seal check seals the loglet.
    maybe_sealed: bool,
    check: Option<SealCheck>,
    /// Counts the forced seal checks, so a stale check timer does nothing.
    check_generation: u32,
    /// Smoothed store round trip and its deviation (ns), for the wave timeout.
    srtt: Option<u64>,
    rttvar: u64,
}

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
            maybe_sealed: false,
            check: None,
            check_generation: 0,
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

    /// The tail this sequencer knows: its published sealed tail, else its known global
    /// tail (what a trim on this node is clamped below).
    pub fn known_tail(&self) -> LogletOffset {
        match self.state {
            State::Sealed(t) => t,
            _ => self.known_global_tail,
        }
    }

    /// The tail: open at the known global tail, or the published sealed tail. While a seal
    /// is under way the answer waits for it: the loglet is sealed on an f-majority, and an
    /// open tail would contradict the sealed one others may already report. A loglet
    /// marked maybe sealed is sealed first (a forced seal check, as Restate's local
    /// find-tail does then); otherwise the open tail is answered with no check at all.
    pub fn find_tail(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, op: OpId) {
        let tail = match self.state {
            State::Starting { .. } => return self.deferred.push(Deferred::FindTail(op)),
            State::Open if self.maybe_sealed => {
                self.tail_waiters.push(op);
                return self.force_seal_check(ctx, routes);
            }
            State::Open => TailState::Open(self.known_global_tail),
            State::Draining | State::Repairing { .. } | State::Publishing { .. } => {
                return self.tail_waiters.push(op);
            }
            State::Sealed(t) => TailState::Sealed(t),
        };
        ctx.finish(op, LogletOutcome::Tail(tail));
    }

    /// A log-server's reply to one of this sequencer's requests, handled by the route it was
    /// sent on.
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

    fn observe(&mut self, from: NodeId, header: &ReplyHeader) {
        if let Some(view) = self.nodes.get_mut(&from) {
            view.local_tail = view.local_tail.max(header.local_tail);
            view.sealed |=
                header.sealed || matches!(header.status, Status::Sealed | Status::Sealing);
        }
    }

    /// One of this sequencer's timers fired, by its route; a stale one does nothing.
    pub fn on_timer(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, route: Route) {
        match route {
            Route::WaveTimeout { first, wave } => self.on_wave_timeout(ctx, routes, first, wave),
            Route::NextWave { first } => self.send_wave(ctx, routes, first),
            Route::SealRetry => {
                if self.sealing && self.seal_nodes.len() < self.params.nodeset.len() {
                    self.send_seals(ctx, routes);
                }
            }
            Route::InfoRetry => self.ask_infos(ctx, routes),
            Route::CheckTimeout(generation) => self.on_check_timeout(ctx, routes, generation),
            Route::TailCheck => self.on_tail_check(ctx, routes),
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
