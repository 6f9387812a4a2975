//! What a client runs against the log-servers of a loglet without being its sequencer:
//! find-tail, seal, and trim. Each task is a small state machine owned by the client,
//! keyed by the client operation it serves.
//!
//! Each first asks the loglet's sequencer (GetSequencerState, as Restate does), and falls
//! back to the log-servers only when it was never heard from or does not answer in time:
//!
//! - **Find-tail**: the sequencer's known global tail (with a seal check when this node
//!   sealed the loglet itself). Fallback: GetLogletInfo until an f-majority answers, or,
//!   once any answer is sealed, until every node answers or the silent ones were asked
//!   twice (so no record a slower node holds is missed). If an f-majority is sealed, the tail is the highest local tail seen, and the `[global, max)`
//!   gap is repaired first (GetDigest, then GetRecords from a holder and repair stores,
//!   with `ignore_seal`, until every record there has a write quorum: see [`crate::repair`]). If only some are
//!   sealed, help seal and start over. If none is sealed, the tail is open at the highest
//!   tail a write quorum has.
//! - **Seal**: Seal to the nodeset until an f-majority is sealed, then ask the sequencer to
//!   check the seal: it drains and publishes its committed tail, which everyone then
//!   reports. Fallback: a find-tail on the log-servers, which repairs the tail.
//! - **Trim** (Restate's `TrimTask`): the point comes already clamped below the tail the
//!   client knows (see `client`); Trim goes to every node of the nodeset, carrying that
//!   tail, at most three times to a node. It is done at the first write quorum of Ok
//!   (`bifrost.trim_ack = write-quorum`, Restate's: the requests to the others go on in the
//!   background, see [`Task::into_background`]) or once every node took it (`all`); a
//!   node that answers Malformed does not count, and without enough that did the trim
//!   fails.

use std::collections::{BTreeMap, BTreeSet};

use crate::bindings::logsandbox::node::client::{ClientError, OpId};
use crate::bindings::logsandbox::node::log_server_protocol::{
    GetDigest, GetRecords, RecordBody, Records, Reply, ReplyHeader, Request, RequestHeader, Seal,
    Store, StoreFlags, Trim,
};
use crate::bindings::logsandbox::node::messages::SequencerAnswer;
use crate::bindings::logsandbox::node::metadata::ReplicatedParams;
use crate::bindings::logsandbox::node::types::{LogletOffset, NodeId, Status, TailState};
use crate::loglet::{LogletOutcome, OLDEST};
use crate::repair::{self, DigestEntries};
use crate::settings::TrimAck;

/// What a task asks the client to do for it.
pub enum Out {
    /// Send a request to a node; the reply comes back to the task.
    Request(NodeId, Request),
    /// Ask the loglet's sequencer for its state; the answer comes back to the task.
    AskSequencer {
        /// The sequencer's node.
        to: NodeId,
        /// Ask it to check the seal first.
        check_seal: bool,
    },
    /// Arm the task's retry timer (`rpc_retry`); `on_timer` follows unless a newer one replaces it.
    Timer,
    /// Arm the task's timer for a patient wait (`store_timeout`): the sequencer may be draining.
    PatientTimer,
    /// Complete the operation.
    Done(LogletOutcome),
}

#[derive(Debug)]
enum Phase {
    /// Waiting for the sequencer's state.
    AskSequencer { check_seal: bool },
    /// The sequencer is alive but cannot answer yet (it is sealing, or, on this very
    /// node, still learning its tail): ask it again after `rpc_retry`.
    AskAgain { check_seal: bool },
    /// Collecting GetLogletInfo answers.
    Info {
        infos: BTreeMap<NodeId, ReplyHeader>,
    },
    /// Sealing the nodeset; done once an f-majority is sealed.
    Sealing { sealed: BTreeSet<NodeId> },
    /// Collecting digests of `[from, to]`.
    Digests {
        tail: LogletOffset,
        from: LogletOffset,
        to: LogletOffset,
        digests: BTreeMap<NodeId, DigestEntries>,
        sealed_nodes: Vec<NodeId>,
        /// The local tail of every node that answered GetLogletInfo.
        local_tails: BTreeMap<NodeId, LogletOffset>,
        /// Digests awaited: one from every node that answered GetLogletInfo (at the retry
        /// timer, an f-majority will do).
        expect: usize,
    },
    /// Copying records to nodes that lack them: first reading each record a run needs,
    /// then one store per run.
    Repairing {
        tail: LogletOffset,
        /// The global tail the stores claim: the start of the gap.
        from: LogletOffset,
        plan: repair::Plan,
        fetched: BTreeMap<LogletOffset, Vec<u8>>,
        /// Repair stores awaiting an answer, once sent.
        stores: Option<u32>,
    },
    /// Trimming: answers so far, and how often each node was sent the Trim.
    Trimming {
        point: LogletOffset,
        answers: BTreeMap<NodeId, Status>,
        sent: BTreeMap<NodeId, u8>,
    },
}

/// What a set of log-server answers (GetLogletInfo) says of a loglet's tail.
pub struct TailSummary {
    /// The nodes that answered sealed.
    pub sealed: Vec<NodeId>,
    /// The highest local tail any of them has.
    pub max_local: LogletOffset,
    /// The highest global tail any of them knows.
    pub max_global: LogletOffset,
}

impl TailSummary {
    /// Sums up the answers; with none, both tails are [`OLDEST`].
    pub fn of(answers: &BTreeMap<NodeId, ReplyHeader>) -> TailSummary {
        TailSummary {
            sealed: answers
                .iter()
                .filter(|(_, h)| h.sealed)
                .map(|(n, _)| *n)
                .collect(),
            max_local: answers
                .values()
                .map(|h| h.local_tail)
                .max()
                .unwrap_or(OLDEST),
            max_global: answers
                .values()
                .map(|h| h.known_global_tail)
                .max()
                .unwrap_or(OLDEST),
        }
    }
}

/// Which operation a task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Find the loglet's tail, repairing a sealed one to a write quorum first.
    FindTail,
    /// Seal the loglet on an f-majority, then get the sealed tail: the one the sequencer
    /// publishes, or the one found on the log-servers.
    Seal,
    /// Trim the loglet on its nodeset, up to a point already clamped.
    Trim,
}

/// One find-tail, seal or trim: fed replies, sequencer answers and timers, it says what
/// to do next as [`Out`]s.
#[derive(Debug)]
pub struct Task {
    /// The client operation it serves (0 for a sequencer's own repair).
    pub op: OpId,
    kind: Kind,
    params: ReplicatedParams,
    phase: Phase,
    /// Rounds of find-tail so far (a help-seal starts another).
    rounds: u32,
    /// For a trim: the point asked for.
    trim_point: LogletOffset,
    /// For a trim: the tail the client knows, carried in the trim requests.
    global: LogletOffset,
    /// For a trim: when it is done.
    trim_ack: TrimAck,
    /// For a trim answered already: it only finishes its requests to the other nodes.
    background: bool,
    /// The sequencer was heard from: ask it first.
    sequencer_alive: bool,
    /// Decide the tail only once every node of the nodeset answered GetLogletInfo, or at
    /// the retry timer with an f-majority: what the sequencer does before it publishes a
    /// sealed tail, so the tail it publishes is the one any later f-majority finds.
    hear_all: bool,
    /// With `hear_all`: the silent nodes were asked a second time this round.
    asked_twice: bool,
}

/// The widest gap past the global tail a repair walks (a sequencer keeps at most
/// `max_inflight_records`, 1000 by default, in flight).
const MAX_REPAIR_GAP: u32 = 1 << 20;

/// Rounds of find-tail before a task gives up on repairing the sealed tail.
const MAX_ROUNDS: u32 = 8;

/// Times a trim sends its Trim to one node.
const TRIM_ATTEMPTS: u8 = 3;

impl Task {
    /// Starts a task for `op`, returned with its first requests: a seal seals the nodeset;
    /// the others ask the sequencer if it was heard from (`sequencer_alive`), else the
    /// log-servers.
    pub fn new(
        op: OpId,
        kind: Kind,
        params: ReplicatedParams,
        trim_point: LogletOffset,
        check_seal: bool,
        sequencer_alive: bool,
    ) -> (Task, Vec<Out>) {
        let mut task = Task::idle(op, kind, params, trim_point, sequencer_alive);
        let out = match kind {
            Kind::FindTail => task.ask_sequencer(check_seal),
            Kind::Seal => task.seal(),
            Kind::Trim => task.start_trimming(),
        };
        (task, out)
    }

    /// A task that has sent nothing yet.
    fn idle(
        op: OpId,
        kind: Kind,
        params: ReplicatedParams,
        trim_point: LogletOffset,
        sequencer_alive: bool,
    ) -> Task {
        Task {
            op,
            kind,
            params,
            phase: Phase::Info {
                infos: BTreeMap::new(),
            },
            rounds: 0,
            trim_point,
            global: 0,
            trim_ack: TrimAck::WriteQuorum,
            background: false,
            sequencer_alive,
            hear_all: false,
            asked_twice: false,
        }
    }

    /// A trim of the loglet up to `point` (already clamped below `global`, the tail the
    /// client knows), done as `ack` says.
    pub fn trim(
        op: OpId,
        params: ReplicatedParams,
        point: LogletOffset,
        global: LogletOffset,
        ack: TrimAck,
    ) -> (Task, Vec<Out>) {
        let mut task = Task::idle(op, Kind::Trim, params, point, false);
        task.global = global;
        task.trim_ack = ack;
        let out = task.start_trimming();
        (task, out)
    }

    /// For a trim that is done: how many log-servers took it, of how many.
    pub fn trimmed_on(&self) -> Option<(usize, usize)> {
        match &self.phase {
            Phase::Trimming { answers, .. } => Some((
                answers.values().filter(|s| **s == Status::Ok).count(),
                self.params.nodeset.len(),
            )),
            _ => None,
        }
    }

    /// The sequencer's own repair of a loglet sealed on an f-majority: GetLogletInfo to the
    /// nodeset (hearing from every node it can), then the sealed tail, repaired to a write
    /// quorum, as a remote find-tail would find it.
    pub fn repair_sealed(params: ReplicatedParams) -> (Task, Vec<Out>) {
        let mut task = Task::idle(0, Kind::FindTail, params, 0, false);
        task.hear_all = true;
        let out = task.ask_infos();
        (task, out)
    }

    /// Asks the sequencer (unless it was never heard from), and waits patiently
    /// (`store_timeout`): giving up on a live sequencer would send the task to the
    /// log-servers, whose repaired tail may differ from the one the sequencer publishes.
    fn ask_sequencer(&mut self, check_seal: bool) -> Vec<Out> {
        if !self.sequencer_alive {
            return self.without_sequencer();
        }
        self.phase = Phase::AskSequencer { check_seal };
        vec![
            Out::AskSequencer {
                to: self.params.sequencer,
                check_seal,
            },
            Out::PatientTimer,
        ]
    }

    /// The sequencer answered: a tail (sealed once published), "sealing" (ask again), or
    /// unknown when it does not sequence the loglet.
    pub fn on_sequencer_state(&mut self, answer: SequencerAnswer) -> Vec<Out> {
        let Phase::AskSequencer { check_seal } = self.phase else {
            return Vec::new();
        };
        let tail = match answer {
            SequencerAnswer::Unknown => return self.without_sequencer(),
            SequencerAnswer::Sealing => return self.ask_again(check_seal),
            SequencerAnswer::Tail(tail) => tail,
        };
        match (self.kind, tail) {
            (Kind::FindTail, tail) => self.done(tail),
            (Kind::Seal, tail @ TailState::Sealed(_)) => {
                vec![Out::Done(LogletOutcome::Sealed(tail))]
            }
            // Open after its own seal check: it cannot have seen the f-majority we sealed.
            (Kind::Seal, TailState::Open(_)) => self.ask_infos(),
            // A trim never asks the sequencer (its point comes clamped already).
            (Kind::Trim, _) => self.start_trimming(),
        }
    }

    /// The sequencer cannot answer yet: ask it again after `rpc_retry`.
    pub fn ask_again(&mut self, check_seal: bool) -> Vec<Out> {
        self.phase = Phase::AskAgain { check_seal };
        vec![Out::Timer]
    }

    /// The sequencer did not answer: ask the log-servers directly.
    fn without_sequencer(&mut self) -> Vec<Out> {
        match self.kind {
            Kind::FindTail | Kind::Seal => self.ask_infos(),
            Kind::Trim => self.start_trimming(),
        }
    }

    fn start_trimming(&mut self) -> Vec<Out> {
        self.phase = Phase::Trimming {
            point: self.trim_point,
            answers: BTreeMap::new(),
            sent: BTreeMap::new(),
        };
        self.resend()
    }

    /// The loglet it works on.
    pub fn loglet(&self) -> u64 {
        self.params.loglet_id
    }

    fn f_majority(&self) -> usize {
        self.params.nodeset.len() + 1 - self.params.replication as usize
    }

    fn header(&self, global: LogletOffset) -> RequestHeader {
        RequestHeader {
            loglet_id: self.params.loglet_id,
            known_global_tail: global,
        }
    }

    fn ask_infos(&mut self) -> Vec<Out> {
        self.rounds += 1;
        self.asked_twice = false;
        self.phase = Phase::Info {
            infos: BTreeMap::new(),
        };
        self.resend()
    }

    fn seal(&mut self) -> Vec<Out> {
        self.phase = Phase::Sealing {
            sealed: BTreeSet::new(),
        };
        self.resend()
    }

    /// (Re)sends the current phase's requests to the nodes that have not answered.
    fn resend(&mut self) -> Vec<Out> {
        let mut out = Vec::new();
        let header = self.header(0);
        let trim_header = self.header(self.global);
        let sequencer = self.params.sequencer;
        let unlimited = self.trim_ack == TrimAck::All;
        for &node in &self.params.nodeset {
            let request = match &mut self.phase {
                Phase::Info { infos } if !infos.contains_key(&node) => {
                    Request::GetLogletInfo(header)
                }
                Phase::Sealing { sealed } if !sealed.contains(&node) => {
                    Request::Seal(Seal { header, sequencer })
                }
                // Each node is sent the Trim at most TRIM_ATTEMPTS times (Restate's
                // `RunOnSingleNode` with three attempts); waiting for every node (the
                // modelled fix of #3890) asks until each took it.
                Phase::Trimming {
                    point,
                    answers,
                    sent,
                } if !answers.contains_key(&node) => {
                    let times = sent.entry(node).or_insert(0);
                    if *times >= TRIM_ATTEMPTS && !unlimited {
                        continue;
                    }
                    *times += 1;
                    Request::Trim(Trim {
                        header: trim_header,
                        trim_point: *point,
                    })
                }
                _ => continue,
            };
            out.push(Out::Request(node, request));
        }
        out.push(Out::Timer);
        out
    }

    /// Whether a trim has nodes it still waits for (not answered, not asked enough).
    fn trim_pending(&self) -> bool {
        let Phase::Trimming { answers, sent, .. } = &self.phase else {
            return false;
        };
        let unlimited = self.trim_ack == TrimAck::All;
        self.params.nodeset.iter().any(|n| {
            !answers.contains_key(n)
                && (unlimited || sent.get(n).copied().unwrap_or(0) < TRIM_ATTEMPTS)
        })
    }

    /// A trim answered at its write quorum goes on in the background with the nodes it
    /// still waits for: true when there are some.
    pub fn into_background(&mut self) -> bool {
        self.background = true;
        self.trim_pending()
    }

    /// Nothing came back in time: ask again (or finish a trim with what answered).
    pub fn on_timer(&mut self) -> Vec<Out> {
        match &self.phase {
            Phase::AskSequencer { .. } => self.without_sequencer(),
            Phase::AskAgain { check_seal } => self.ask_sequencer(*check_seal),
            // Not every node answered in time, though asked twice: an f-majority will do.
            Phase::Info { infos }
                if self.must_hear_all(infos)
                    && self.asked_twice
                    && infos.len() >= self.f_majority() =>
            {
                self.decide()
            }
            Phase::Info { infos } if self.must_hear_all(infos) => {
                self.asked_twice = true;
                self.resend()
            }
            // Every node answered or was asked enough: the trim is done, or failed.
            Phase::Trimming { .. } if !self.trim_pending() => self.finish_trim(),
            Phase::Info { .. } | Phase::Sealing { .. } | Phase::Trimming { .. } => self.resend(),
            // Digests and repairs resend nothing; a lost answer restarts the round.
            Phase::Digests { digests, .. } if digests.len() >= self.f_majority() => {
                self.plan_repair()
            }
            Phase::Digests { .. } | Phase::Repairing { .. } => self.ask_infos(),
        }
    }

    /// A log-server's reply to one of the task's requests: the task moves on once enough
    /// nodes have answered.
    pub fn on_reply(&mut self, from: NodeId, reply: Reply) -> Vec<Out> {
        let f_majority = self.f_majority();
        match (&mut self.phase, reply) {
            (Phase::Info { infos }, Reply::LogletInfo(info)) => {
                infos.insert(from, info.header);
                let Phase::Info { infos } = &self.phase else {
                    unreachable!("matched above")
                };
                let needed = if self.must_hear_all(infos) {
                    self.params.nodeset.len()
                } else {
                    f_majority
                };
                if infos.len() >= needed {
                    return self.decide();
                }
                Vec::new()
            }
            (Phase::Sealing { sealed }, Reply::Sealed(h)) if h.status == Status::Ok => {
                sealed.insert(from);
                if sealed.len() >= self.f_majority() {
                    // Sealed on an f-majority: the sequencer drains and publishes the tail.
                    return self.ask_sequencer(true);
                }
                Vec::new()
            }
            (
                Phase::Digests {
                    digests, expect, ..
                },
                Reply::Digest(d),
            ) => {
                let entries = d
                    .entries
                    .iter()
                    .map(|e| (e.from_offset, e.to_offset, e.status))
                    .collect();
                digests.insert(from, entries);
                if digests.len() >= (*expect).max(f_majority) {
                    return self.plan_repair();
                }
                Vec::new()
            }
            (Phase::Repairing { .. }, Reply::Records(records)) => self.on_repair_records(records),
            (Phase::Repairing { .. }, Reply::Stored(h)) => self.on_repair_stored(h.status),
            (Phase::Trimming { answers, .. }, Reply::Trimmed(h)) => {
                answers.insert(from, h.status);
                let took = answers.values().filter(|s| **s == Status::Ok).count();
                let enough = match self.trim_ack {
                    TrimAck::WriteQuorum => took >= self.params.replication as usize,
                    TrimAck::All => took == self.params.nodeset.len(),
                };
                let all = answers.len() == self.params.nodeset.len();
                if (enough && !self.background) || all {
                    return self.finish_trim();
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Whether this round must hear every node (or ask the silent ones twice) before it
    /// decides: the sequencer's repair does, and so does any round that meets a sealed
    /// node. A sealed tail decided from the first f-majority could miss a record that only
    /// a slower node holds, and a later find-tail that hears that node would repair it and
    /// report a higher sealed tail: two sealed tails for one loglet.
    fn must_hear_all(&self, infos: &BTreeMap<NodeId, ReplyHeader>) -> bool {
        self.hear_all || infos.values().any(|h| h.sealed)
    }

    /// An f-majority answered GetLogletInfo: decide the tail.
    fn decide(&mut self) -> Vec<Out> {
        let Phase::Info { infos } = &self.phase else {
            return Vec::new();
        };
        let TailSummary {
            sealed,
            max_local,
            max_global: global,
        } = TailSummary::of(infos);
        if sealed.len() >= self.f_majority() {
            if max_local > global {
                // No sequencer leaves more than its in-flight records past the global tail:
                // a far larger gap is a log-server's false report, and walking it record
                // by record would burn this node's fuel on another's word.
                if max_local - global > MAX_REPAIR_GAP {
                    let why = format!(
                        "a sealed log-server reports local tail {max_local}, {} past the global tail {global}: not repairable",
                        max_local - global
                    );
                    return vec![Out::Done(LogletOutcome::Failed(ClientError::Internal(why)))];
                }
                if self.rounds > MAX_ROUNDS {
                    // Never report a sealed tail with records below it short of a quorum.
                    let why = format!(
                        "could not repair [{global}, {max_local}) to a write quorum in {MAX_ROUNDS} rounds"
                    );
                    return vec![Out::Done(LogletOutcome::Failed(ClientError::Internal(why)))];
                }
                let (from, to) = (global, max_local - 1);
                self.phase = Phase::Digests {
                    tail: max_local,
                    from,
                    to,
                    digests: BTreeMap::new(),
                    sealed_nodes: sealed,
                    local_tails: infos.iter().map(|(n, h)| (*n, h.local_tail)).collect(),
                    expect: infos.len(),
                };
                let header = self.header(0);
                let mut out: Vec<Out> = self
                    .params
                    .nodeset
                    .iter()
                    .map(|&n| {
                        Out::Request(
                            n,
                            Request::GetDigest(GetDigest {
                                header,
                                from_offset: from,
                                to_offset: to,
                            }),
                        )
                    })
                    .collect();
                out.push(Out::Timer);
                return out;
            }
            return self.sealed_tail(max_local);
        }
        if !sealed.is_empty() {
            // Some are sealed, not an f-majority: help seal, then look again.
            return self.seal();
        }
        // None sealed: open at the highest tail a write quorum has.
        let mut tails: Vec<LogletOffset> = infos.values().map(|h| h.local_tail).collect();
        tails.sort_unstable_by(|a, b| b.cmp(a));
        let quorum_tail = tails
            .get(self.params.replication as usize - 1)
            .copied()
            .unwrap_or(OLDEST);
        self.done(TailState::Open(quorum_tail.max(global)))
    }

    /// Digests are in: plan the copies that give every record of the gap a write quorum,
    /// and read the records they need.
    fn plan_repair(&mut self) -> Vec<Out> {
        let Phase::Digests {
            tail,
            from,
            to,
            digests,
            sealed_nodes,
            local_tails,
            ..
        } = &self.phase
        else {
            return Vec::new();
        };
        let (tail, from) = (*tail, *from);
        let k = self.params.replication as usize;
        let plan = repair::plan(from, *to, k, digests, local_tails, sealed_nodes);
        if plan.runs.is_empty() {
            return if plan.short {
                self.ask_infos()
            } else {
                self.sealed_tail(tail)
            };
        }
        let mut out: Vec<Out> = plan
            .sources
            .iter()
            .map(|(&offset, &holder)| {
                Out::Request(
                    holder,
                    Request::GetRecords(GetRecords {
                        header: self.header(0),
                        from_offset: offset,
                        to_offset: offset,
                        byte_limit: None,
                    }),
                )
            })
            .collect();
        out.push(Out::Timer);
        self.phase = Phase::Repairing {
            tail,
            from,
            plan,
            fetched: BTreeMap::new(),
            stores: None,
        };
        out
    }

    /// A holder sent records the repair needs; once it has them all, one store per run.
    fn on_repair_records(&mut self, records: Records) -> Vec<Out> {
        let Phase::Repairing {
            from,
            plan,
            fetched,
            stores: stores @ None,
            ..
        } = &mut self.phase
        else {
            return Vec::new();
        };
        for record in records.records {
            if let RecordBody::Data(payload) = record.body
                && plan.sources.contains_key(&record.offset)
            {
                fetched.insert(record.offset, payload);
            }
        }
        if fetched.len() < plan.sources.len() {
            return Vec::new();
        }
        *stores = Some(plan.runs.len() as u32);
        let mut out = Vec::new();
        for (&node, &(first, last)) in &plan.runs {
            let payloads = (first..=last).map(|o| fetched[&o].clone()).collect();
            out.push(Out::Request(
                node,
                Request::Store(Store {
                    // The true global tail: everything below the gap is committed. The run
                    // starts at the node's local tail, so the node takes it in order.
                    header: RequestHeader {
                        loglet_id: self.params.loglet_id,
                        known_global_tail: *from,
                    },
                    first_offset: first,
                    sequencer: self.params.sequencer,
                    flags: StoreFlags::IGNORE_SEAL,
                    timeout_at: None,
                    payloads,
                }),
            ));
        }
        out.push(Out::Timer);
        out
    }

    /// A repair store was answered; once all are, report the tail or look again.
    fn on_repair_stored(&mut self, status: Status) -> Vec<Out> {
        let Phase::Repairing {
            tail,
            plan,
            stores: Some(left),
            ..
        } = &mut self.phase
        else {
            return Vec::new();
        };
        // A copy refused leaves its records short of a quorum.
        plan.short |= status != Status::Ok;
        *left = left.saturating_sub(1);
        if *left > 0 {
            return Vec::new();
        }
        if plan.short {
            return self.ask_infos();
        }
        let tail = *tail;
        self.sealed_tail(tail)
    }

    fn sealed_tail(&mut self, tail: LogletOffset) -> Vec<Out> {
        match self.kind {
            Kind::Seal => vec![Out::Done(LogletOutcome::Sealed(TailState::Sealed(tail)))],
            _ => self.done(TailState::Sealed(tail)),
        }
    }

    fn done(&mut self, tail: TailState) -> Vec<Out> {
        match self.kind {
            Kind::Seal => vec![Out::Done(LogletOutcome::Sealed(tail))],
            _ => vec![Out::Done(LogletOutcome::Tail(tail))],
        }
    }

    /// Every node answered, or enough took the trim: done, or failed without enough.
    fn finish_trim(&mut self) -> Vec<Out> {
        let Phase::Trimming { point, answers, .. } = &self.phase else {
            return Vec::new();
        };
        let took = answers.values().filter(|s| **s == Status::Ok).count();
        let needed = match self.trim_ack {
            TrimAck::WriteQuorum => self.params.replication as usize,
            TrimAck::All => self.params.nodeset.len(),
        };
        let refused: Vec<NodeId> = answers
            .iter()
            .filter(|(_, s)| **s == Status::Malformed)
            .map(|(n, _)| *n)
            .collect();
        let result = if took >= needed {
            LogletOutcome::Trimmed(*point)
        } else if !refused.is_empty() {
            LogletOutcome::Failed(ClientError::Malformed(format!(
                "trim to {point} refused by {} (at or beyond their tail); {took} of {needed} needed took it",
                refused
                    .iter()
                    .map(|n| format!("N{n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        } else {
            LogletOutcome::Failed(ClientError::Internal(format!(
                "trim to {point}: {took} of {needed} needed took it: {answers:?}"
            )))
        };
        vec![Out::Done(result)]
    }
}
