//! The loglet level of the client part: the sequencers of the loglets this node
//! sequences, the readers, and the find-tail, seal and trim tasks it runs without the
//! sequencer. Everything here speaks one loglet and its offsets; each operation ends with
//! a [`LogletOutcome`] (`ctx.finish`), which the log level ([`super`]) maps to LSNs.

use std::collections::{BTreeMap, BTreeSet};

use crate::bindings::logsandbox::node::client::{ClientError, OpId};
use crate::bindings::logsandbox::node::host::{Level, RacePoint};
use crate::bindings::logsandbox::node::log_server_protocol::{Reply, Request};
use crate::bindings::logsandbox::node::messages::{Body, SequencerAnswer};
use crate::bindings::logsandbox::node::metadata::ReplicatedParams;
use crate::bindings::logsandbox::node::types::{
    LogletId, LogletOffset, NodeId, RequestId, TailState,
};
use crate::ctx::{Ctx, Part};
use crate::loglet::{LogletOutcome, OLDEST, fmt_loglet};
use crate::metadata::cache::MetadataCache;
use crate::sequencer::{Route, Routes, Sequencer, answer_state};
use crate::tasks::{Kind, Out as TaskOut, Task};

use super::read_stream::{self, ReadStream, Timing};
use super::tail_checker::Checker;
use super::trim_point::TrimPointQuery;

/// Where a reply or timer of the client part goes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target {
    Sequencer(LogletId, Route),
    Reader(OpId),
    /// A task of an operation, with the task's serial: an operation that runs one task
    /// per segment must not hand a late reply of the last one to the next.
    Task(OpId, u64),
    /// The timer of the tail checker of a loglet.
    Checker(LogletId),
    /// A query of a loglet's trim point, with its serial (as a task's).
    TrimPoint(OpId, u64),
}

#[derive(Default)]
pub(super) struct RouteTable {
    pub(super) targets: BTreeMap<u64, Target>,
}

impl RouteTable {
    /// Sends a log-server request whose reply goes to `target`; returns its id.
    fn request(&mut self, ctx: &mut Ctx, node: NodeId, request: Request, target: Target) -> u64 {
        let id = ctx.id(Part::Client);
        self.targets.insert(id, target);
        ctx.send(node, Body::LogServerRequest((id, request)));
        id
    }
}

impl Routes for RouteTable {
    fn route(&mut self, id: u64, loglet: LogletId, route: Route) {
        self.targets.insert(id, Target::Sequencer(loglet, route));
    }
}

/// A read of one loglet waiting for its find-tail: the loglet, and `[from, to)` in its
/// offsets. A reader never reads past the tail (as Restate's read streams stop at the
/// global tail): what lies beyond is not committed, or beyond a sealed tail, and not part
/// of the log.
struct AwaitingTail {
    params: ReplicatedParams,
    from: LogletOffset,
    to: LogletOffset,
}

/// The loglets of the client part.
#[derive(Default)]
pub struct Loglets {
    sequencers: BTreeMap<LogletId, Sequencer>,
    readers: BTreeMap<OpId, ReadStream>,
    /// Queries of trim points (for chain trims), with the timer that is current.
    trim_points: BTreeMap<OpId, (TrimPointQuery, Option<u64>, u64)>,
    /// Find-tail, seal and trim run without the sequencer, with the timer that is current.
    tasks: BTreeMap<OpId, (Task, Option<u64>, u64)>,
    /// The serial of the last task or trim point query started.
    serial: u64,
    /// Trims already answered, still sending to the nodes that did not take them yet
    /// (Restate's trim requests run on in the background), by serial, with their timer.
    background: BTreeMap<u64, (Task, Option<u64>)>,
    pub(super) routes: RouteTable,
    reads_awaiting_tail: BTreeMap<OpId, AwaitingTail>,
    /// Loglets this node sealed (as a remote node): its find-tails ask the sequencer to
    /// check the seal, as Restate's remote loglet does once it "maybe sealed".
    maybe_sealed: BTreeSet<LogletId>,
    /// The tail this node knows of each loglet it does not sequence (Restate's per-node
    /// loglet client's known global tail): from its find-tails, seals and reads; a loglet
    /// it never looked at is known only as [`OLDEST`].
    known_tails: BTreeMap<LogletId, LogletOffset>,
    /// Loglets this node does not sequence and knows sealed (from any find-tail or seal).
    pub(super) known_sealed: BTreeSet<LogletId>,
    /// The tail checkers of the loglets this node uses without sequencing them.
    pub(super) checkers: BTreeMap<LogletId, Checker>,
    /// The running rounds of the checkers: the find-tail's operation, to its loglet and
    /// whether it is the checker's own (or an operation's that the checker adopted).
    pub(super) check_ops: BTreeMap<OpId, (LogletId, bool)>,
    /// Checker find-tails started so far (their operation ids).
    pub(super) checks_started: u64,
}

/// What bounds a loglet's trim.
#[derive(Debug, Clone, Copy)]
pub enum TrimBound {
    /// The tail this node knows of the loglet (Restate's `TrimTask`).
    KnownTail,
    /// A tail the log level just found (or the segment's end the chain knows).
    Found(LogletOffset),
}

impl Loglets {
    /// The sequencer of `params`' loglet on this node, started if it is not running.
    fn sequencer(
        &mut self,
        ctx: &mut Ctx,
        params: ReplicatedParams,
    ) -> (&mut Sequencer, &mut RouteTable) {
        let routes = &mut self.routes;
        let sequencer = self
            .sequencers
            .entry(params.loglet_id)
            .or_insert_with(|| Sequencer::start(ctx, routes, params));
        (sequencer, routes)
    }

    /// Appends one record through this node's sequencer of the loglet; a loglet sequenced
    /// elsewhere fails `unsupported`.
    pub fn append(&mut self, ctx: &mut Ctx, op: OpId, params: ReplicatedParams, payload: Vec<u8>) {
        if params.sequencer != ctx.shared.me {
            let why = format!(
                "loglet {} is sequenced by N{}; appends go to the sequencer's node",
                crate::loglet::fmt_loglet(params.loglet_id),
                params.sequencer
            );
            return ctx.finish(op, LogletOutcome::Failed(ClientError::Unsupported(why)));
        }
        let (sequencer, routes) = self.sequencer(ctx, params);
        sequencer.append(ctx, routes, op, payload);
    }

    /// Seals the loglet: through its sequencer here, or as a task.
    pub fn seal(&mut self, ctx: &mut Ctx, op: OpId, params: ReplicatedParams) {
        if params.sequencer == ctx.shared.me {
            let (sequencer, routes) = self.sequencer(ctx, params);
            return sequencer.seal(ctx, routes, op);
        }
        self.maybe_sealed.insert(params.loglet_id);
        self.use_loglet(ctx, &params, None);
        self.start_task(ctx, op, Kind::Seal, params, 0);
    }

    /// The loglet's tail: from its sequencer here, or as a task.
    pub fn find_tail(&mut self, ctx: &mut Ctx, op: OpId, params: ReplicatedParams) {
        if params.sequencer == ctx.shared.me {
            let (sequencer, routes) = self.sequencer(ctx, params);
            return sequencer.find_tail(ctx, routes, op);
        }
        self.use_loglet(ctx, &params, Some(op));
        self.start_task(ctx, op, Kind::FindTail, params, 0);
    }

    /// Trims the loglet up to `point`, clamped below the tail `bound` gives: with the tail
    /// this node knows, a clamp that leaves nothing sends nothing and answers trimmed to 0
    /// (Restate's `TrimTask`, and #5377 on a node that never looked at the loglet).
    pub fn trim(
        &mut self,
        ctx: &mut Ctx,
        op: OpId,
        params: ReplicatedParams,
        point: LogletOffset,
        bound: TrimBound,
    ) {
        let tail = match bound {
            TrimBound::Found(tail) => tail,
            TrimBound::KnownTail => self.known_tail(&params),
        };
        let mut clamped = point.min(tail.saturating_sub(1));
        let mut tail = tail;
        if crate::mutants::TRIM_PAST_CLAMP && point > clamped {
            // The point goes out as asked, under a header that claims the tail is past it.
            clamped = point;
            tail = point.saturating_add(1);
        }
        // The loglet client exists from here on, and its checker with it: after the clamp.
        self.use_loglet(ctx, &params, None);
        if clamped < OLDEST {
            if matches!(bound, TrimBound::KnownTail) && point >= OLDEST {
                ctx.env.reached(
                    RacePoint::TrimClampedToZero,
                    &format!(
                        "trim of loglet {} to {point} clamped to nothing: this node knows its tail only as {tail}",
                        fmt_loglet(params.loglet_id)
                    ),
                );
            }
            return ctx.finish(op, LogletOutcome::Trimmed(0));
        }
        let ack = ctx.shared.settings.trim_ack;
        let (task, out) = Task::trim(op, params, clamped, tail, ack);
        self.serial += 1;
        self.tasks.insert(op, (task, None, self.serial));
        self.run_task(ctx, op, out);
    }

    /// The loglet's trim point, from an f-majority of its nodeset (Restate's
    /// `GetTrimPointTask`), as [`LogletOutcome::TrimPoint`].
    pub fn trim_point(&mut self, ctx: &mut Ctx, op: OpId, params: ReplicatedParams) {
        let (query, asks) = TrimPointQuery::start(&params, self.known_tail(&params));
        self.serial += 1;
        self.trim_points.insert(op, (query, None, self.serial));
        self.ask_trim_point(ctx, op, asks);
    }

    /// Sends a trim point query's requests and arms its round's timer.
    fn ask_trim_point(&mut self, ctx: &mut Ctx, op: OpId, asks: Vec<(NodeId, Request)>) {
        let Some((_, _, serial)) = self.trim_points.get(&op) else {
            return;
        };
        let target = Target::TrimPoint(op, *serial);
        for (node, request) in asks {
            self.routes.request(ctx, node, request, target);
        }
        let timer = ctx.timer(Part::Client, ctx.shared.settings.rpc_retry);
        self.routes.targets.insert(timer, target);
        if let Some((_, current, _)) = self.trim_points.get_mut(&op) {
            *current = Some(timer);
        }
    }

    /// What this node learnt of a loglet's tail (it never goes back).
    fn raise_known_tail(&mut self, loglet: LogletId, tail: LogletOffset) {
        let known = self.known_tails.entry(loglet).or_insert(OLDEST);
        *known = (*known).max(tail);
    }

    /// The tail this node knows of a loglet: its sequencer's, if it runs here; else what
    /// its own find-tails, seals and reads saw.
    fn known_tail(&self, params: &ReplicatedParams) -> LogletOffset {
        let local = self
            .sequencers
            .get(&params.loglet_id)
            .map(Sequencer::known_tail)
            .unwrap_or(OLDEST);
        let seen = self
            .known_tails
            .get(&params.loglet_id)
            .copied()
            .unwrap_or(OLDEST);
        local.max(seen)
    }

    /// Reads `[from, to)` of the loglet. `to_is_sealed`: the range ends at or below a
    /// sealed tail the chain knows, so it is read at once; otherwise a find-tail bounds it
    /// first.
    pub fn read(
        &mut self,
        ctx: &mut Ctx,
        op: OpId,
        params: ReplicatedParams,
        from: LogletOffset,
        to: LogletOffset,
        to_is_sealed: bool,
    ) {
        if to_is_sealed {
            self.use_loglet(ctx, &params, None);
            return self.start_read(ctx, op, &params, from, to, None);
        }
        self.ensure_local_sequencer(ctx, &params);
        if from >= to {
            return ctx.finish(op, no_records(None));
        }
        self.use_loglet(ctx, &params, Some(op));
        self.reads_awaiting_tail.insert(
            op,
            AwaitingTail {
                params: params.clone(),
                from,
                to,
            },
        );
        self.start_task(ctx, op, Kind::FindTail, params, 0);
    }

    /// A read or a trim asks this node's sequencer for the tail: make sure it runs.
    fn ensure_local_sequencer(&mut self, ctx: &mut Ctx, params: &ReplicatedParams) {
        if params.sequencer == ctx.shared.me {
            self.sequencer(ctx, params.clone());
        }
    }

    pub(super) fn start_task(
        &mut self,
        ctx: &mut Ctx,
        op: OpId,
        kind: Kind,
        params: ReplicatedParams,
        point: LogletOffset,
    ) {
        let check_seal = self.maybe_sealed.contains(&params.loglet_id);
        let alive = ctx.shared.heard_from(params.sequencer);
        let (task, out) = Task::new(op, kind, params, point, check_seal, alive);
        self.serial += 1;
        self.tasks.insert(op, (task, None, self.serial));
        self.run_task(ctx, op, out);
    }

    /// Carries out what a task asked for.
    fn run_task(&mut self, ctx: &mut Ctx, op: OpId, out: Vec<TaskOut>) {
        let serial = self.tasks.get(&op).map_or(0, |(_, _, serial)| *serial);
        for item in out {
            match item {
                TaskOut::Request(node, request) => {
                    self.routes
                        .request(ctx, node, request, Target::Task(op, serial));
                }
                TaskOut::AskSequencer { to, check_seal } => {
                    let Some((task, _, _)) = self.tasks.get_mut(&op) else {
                        continue;
                    };
                    let loglet = task.loglet();
                    if to == ctx.shared.me {
                        // This node is the sequencer (a trim runs as a task here too): ask it
                        // directly, or again shortly while it is still learning its tail.
                        // The rest of `out` is the ask's timer, no longer needed.
                        let out = match self.sequencers.get(&loglet).map(|s| s.known_state()) {
                            Some(Some(answer)) => task.on_sequencer_state(answer),
                            Some(None) => task.ask_again(check_seal),
                            None => task.on_sequencer_state(SequencerAnswer::Unknown),
                        };
                        return self.run_task(ctx, op, out);
                    }
                    let id = ctx.id(Part::Client);
                    self.routes.targets.insert(id, Target::Task(op, serial));
                    ctx.send(to, Body::GetSequencerState((id, loglet, check_seal)));
                }
                TaskOut::Timer | TaskOut::PatientTimer => {
                    let delay = match item {
                        TaskOut::PatientTimer => ctx.shared.settings.store_timeout,
                        _ => ctx.shared.settings.rpc_retry,
                    };
                    let timer = ctx.timer(Part::Client, delay);
                    self.routes.targets.insert(timer, Target::Task(op, serial));
                    if let Some((_, current, _)) = self.tasks.get_mut(&op) {
                        *current = Some(timer);
                    }
                }
                TaskOut::Done(result) => {
                    if let Some((mut task, timer, _)) = self.tasks.remove(&op) {
                        self.learn(ctx, &task, &result);
                        // A trim done at its write quorum goes on with the other nodes,
                        // with its retry timer.
                        if matches!(result, LogletOutcome::Trimmed(_)) && task.into_background() {
                            self.background.insert(serial, (task, timer));
                        }
                    }
                    if self.on_check_done(ctx, op) {
                        return;
                    }
                    let Some(read) = self.reads_awaiting_tail.remove(&op) else {
                        return ctx.finish(op, result);
                    };
                    // The read's find-tail is done: read up to the tail, or fail with it.
                    let to = |tail: LogletOffset| read.to.min(tail);
                    return match result {
                        LogletOutcome::Tail(TailState::Open(tail)) => {
                            self.start_read(ctx, op, &read.params, read.from, to(tail), None)
                        }
                        LogletOutcome::Tail(TailState::Sealed(tail)) => {
                            self.start_read(ctx, op, &read.params, read.from, to(tail), Some(tail))
                        }
                        other => ctx.finish(op, other),
                    };
                }
            }
        }
    }

    /// Carries out what a trim running in the background asked for: its resends and their
    /// timer; its end is only logged (its operation was answered already).
    fn run_background(&mut self, ctx: &mut Ctx, serial: u64, out: Vec<TaskOut>) {
        let Some(op) = self.background.get(&serial).map(|(task, _)| task.op) else {
            return;
        };
        for item in out {
            match item {
                TaskOut::Request(node, request) => {
                    self.routes
                        .request(ctx, node, request, Target::Task(op, serial));
                }
                TaskOut::Timer | TaskOut::PatientTimer => {
                    let timer = ctx.timer(Part::Client, ctx.shared.settings.rpc_retry);
                    self.routes.targets.insert(timer, Target::Task(op, serial));
                    if let Some((_, current)) = self.background.get_mut(&serial) {
                        *current = Some(timer);
                    }
                }
                TaskOut::AskSequencer { .. } => {}
                TaskOut::Done(result) => {
                    if let Some((task, _)) = self.background.remove(&serial) {
                        let (took, of) = task.trimmed_on().unwrap_or((0, 0));
                        ctx.log(
                            Level::Debug,
                            &format!(
                                "trim of loglet {} done in the background: {took} of {of} log-servers took it ({result:?})",
                                fmt_loglet(task.loglet())
                            ),
                        );
                    }
                    return;
                }
            }
        }
    }

    /// A peer asks for the state of a loglet this node may sequence.
    pub fn on_state_request(
        &mut self,
        ctx: &mut Ctx,
        metadata: &MetadataCache,
        from: NodeId,
        id: RequestId,
        loglet: LogletId,
        check_seal: bool,
    ) {
        let params = metadata
            .loglet_params(loglet)
            .filter(|p| p.sequencer == ctx.shared.me);
        let Some(params) = params else {
            return answer_state(ctx, from, id, SequencerAnswer::Unknown);
        };
        let routes = &mut self.routes;
        let sequencer = self
            .sequencers
            .entry(loglet)
            .or_insert_with(|| Sequencer::start(ctx, routes, params));
        sequencer.state_request(ctx, routes, from, id, check_seal);
    }

    /// The sequencer's answer to one of our tasks.
    pub fn on_sequencer_state(&mut self, ctx: &mut Ctx, id: RequestId, state: SequencerAnswer) {
        let Some(Target::Task(op, serial)) = self.routes.targets.remove(&id) else {
            return;
        };
        if let Some((task, _, current)) = self.tasks.get_mut(&op)
            && *current == serial
        {
            let out = task.on_sequencer_state(state);
            self.run_task(ctx, op, out);
        }
    }

    /// A log-server's reply to the client part, routed to the sequencer, reader or task
    /// that sent the request.
    pub fn on_reply(&mut self, ctx: &mut Ctx, from: NodeId, id: RequestId, reply: Reply) {
        match self.routes.targets.remove(&id) {
            Some(Target::Sequencer(loglet, route)) => {
                if let Some(seq) = self.sequencers.get_mut(&loglet) {
                    seq.on_reply(ctx, &mut self.routes, from, route, reply);
                }
            }
            Some(Target::Reader(op)) => self.on_read_reply(ctx, op, id, reply),
            Some(Target::Task(op, serial)) => {
                if let Some((task, _, current)) = self.tasks.get_mut(&op)
                    && *current == serial
                {
                    let out = task.on_reply(from, reply);
                    self.run_task(ctx, op, out);
                } else if let Some((task, _)) = self.background.get_mut(&serial) {
                    let out = task.on_reply(from, reply);
                    self.run_background(ctx, serial, out);
                }
            }
            Some(Target::TrimPoint(op, serial)) => {
                let Reply::LogletInfo(info) = reply else {
                    return;
                };
                let found = self
                    .trim_points
                    .get_mut(&op)
                    .filter(|(_, _, current)| *current == serial)
                    .and_then(|(query, _, _)| query.on_info(from, info));
                if let Some(found) = found {
                    self.trim_points.remove(&op);
                    ctx.finish(op, LogletOutcome::TrimPoint(found));
                }
            }
            Some(Target::Checker(_)) | None => ctx.log(
                Level::Debug,
                &format!("reply {id} from N{from} has no owner"),
            ),
        }
    }

    /// A write of this node's client part is durable: a sequencer's published seal.
    pub fn on_durable(&mut self, ctx: &mut Ctx, id: u64) {
        for sequencer in self.sequencers.values_mut() {
            sequencer.on_durable(ctx, id);
        }
    }

    /// A timer of the client part fired, routed to the sequencer, reader or task that armed
    /// it.
    pub fn on_timer(&mut self, ctx: &mut Ctx, id: u64) {
        match self.routes.targets.remove(&id) {
            Some(Target::Sequencer(loglet, route)) => {
                if let Some(seq) = self.sequencers.get_mut(&loglet) {
                    seq.on_timer(ctx, &mut self.routes, route);
                }
            }
            // Only the reader's own timeout counts: a read of the next segment under the
            // same operation has a timer of its own.
            Some(Target::Reader(op))
                if self.readers.get(&op).is_some_and(|r| r.timer == Some(id)) =>
            {
                self.on_read_timeout(ctx, op)
            }
            Some(Target::Task(op, serial)) => {
                // Only the task's current timer counts; older ones are stale.
                if let Some((task, current, _)) = self.tasks.get_mut(&op)
                    && *current == Some(id)
                {
                    let out = task.on_timer();
                    self.run_task(ctx, op, out);
                } else if let Some((task, current)) = self.background.get_mut(&serial)
                    && *current == Some(id)
                {
                    let out = task.on_timer();
                    self.run_background(ctx, serial, out);
                }
            }
            Some(Target::Checker(loglet)) => self.on_check_timer(ctx, loglet, id),
            Some(Target::TrimPoint(op, _)) => {
                let Some((query, current, _)) = self.trim_points.get_mut(&op) else {
                    return;
                };
                if *current != Some(id) {
                    return;
                }
                let (asks, found) = query.on_timer();
                match found {
                    Some(found) => {
                        self.trim_points.remove(&op);
                        ctx.finish(op, LogletOutcome::TrimPoint(found));
                    }
                    None => self.ask_trim_point(ctx, op, asks),
                }
            }
            Some(Target::Reader(_)) | None => {}
        }
    }

    /// Reads `[from, to)` with a read stream (R15): the trim point from an f-majority, then
    /// one log-server at a time.
    fn start_read(
        &mut self,
        ctx: &mut Ctx,
        op: OpId,
        params: &ReplicatedParams,
        from: LogletOffset,
        to: LogletOffset,
        sealed_at: Option<LogletOffset>,
    ) {
        // `from` is at least OLDEST already (the log level sees to it); the tail may leave
        // nothing.
        if from >= to {
            return ctx.finish(op, no_records(sealed_at));
        }
        let timing = Timing {
            rpc: ctx.shared.settings.rpc_retry,
            retry: ctx.shared.settings.read_retry,
        };
        let known = self.known_tail(params);
        let me = ctx.shared.me;
        let (stream, out) = ReadStream::start(params, me, from, to, known, sealed_at, timing);
        self.readers.insert(op, stream);
        self.run_read(ctx, op, out);
    }

    /// Carries out what a read stream asked for.
    fn run_read(&mut self, ctx: &mut Ctx, op: OpId, out: Vec<read_stream::Out>) {
        for item in out {
            let Some(stream) = self.readers.get_mut(&op) else {
                return;
            };
            match item {
                read_stream::Out::Request(node, request) => {
                    let id = self.routes.request(ctx, node, request, Target::Reader(op));
                    stream.sent(id, node);
                }
                read_stream::Out::Timer(delay) => {
                    let timer = ctx.timer(Part::Client, delay);
                    self.routes.targets.insert(timer, Target::Reader(op));
                    stream.timer = Some(timer);
                }
                read_stream::Out::Note(line) => ctx.log(Level::Debug, &line),
                read_stream::Out::Done(outcome) => {
                    let stream = self.readers.remove(&op).expect("looked up above");
                    self.raise_known_tail(stream.loglet(), stream.known_tail());
                    return ctx.finish(op, outcome);
                }
            }
        }
    }

    fn on_read_reply(&mut self, ctx: &mut Ctx, op: OpId, id: RequestId, reply: Reply) {
        let Some(stream) = self.readers.get_mut(&op) else {
            return;
        };
        let out = stream.on_reply(id, reply, &mut ctx.shared.rng);
        self.run_read(ctx, op, out);
    }

    fn on_read_timeout(&mut self, ctx: &mut Ctx, op: OpId) {
        let Some(stream) = self.readers.get_mut(&op) else {
            return;
        };
        let out = stream.on_timer(&mut ctx.shared.rng);
        self.run_read(ctx, op, out);
    }
}

fn no_records(sealed_at: Option<LogletOffset>) -> LogletOutcome {
    LogletOutcome::Records {
        records: Vec::new(),
        sealed_at,
    }
}

impl Loglets {
    /// What a finished task teaches this node: the loglet's tail; and whether a trim was
    /// answered before every log-server took it.
    fn learn(&mut self, ctx: &mut Ctx, task: &Task, result: &LogletOutcome) {
        let loglet = task.loglet();
        match result {
            LogletOutcome::Tail(tail) | LogletOutcome::Sealed(tail) => {
                let (TailState::Open(t) | TailState::Sealed(t)) = tail;
                self.raise_known_tail(loglet, *t);
                if matches!(tail, TailState::Sealed(_)) {
                    self.known_sealed.insert(loglet);
                }
            }
            LogletOutcome::Trimmed(point) => {
                if let Some((took, of)) = task.trimmed_on().filter(|(took, of)| took < of) {
                    ctx.env.reached(
                        RacePoint::TrimAckedAtQuorum,
                        &format!(
                            "trim of loglet {} to {point} done on {took} of {of} log-servers; the rest still on their way",
                            fmt_loglet(loglet)
                        ),
                    );
                }
            }
            _ => {}
        }
    }
}
