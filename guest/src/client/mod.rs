//! Client operations on the client node, at the log level. An operation names a log and
//! LSNs; the cached chain maps them to segments and loglet offsets (as Restate's
//! `LogletWrapper` does), and the loglet level (`loglets`) runs them, one loglet at a
//! time. Its outcome comes back here in offsets and leaves in LSNs, or the operation goes
//! on: a read to the next segment, a trim to the next loglet.
//!
//! Looking a log up in the cached Logs happens first, for every log operation, and fails
//! at once with `unknown-log` when the log is missing: the symptom of Restate's race.
//! Where the chain itself answers, the loglet is not asked: a seal or a find-tail on a
//! chain with a seal marker gives the marker's sealed tail, an append to it
//! `reconfiguration-needed`, and a read stops at it.

mod appender;
mod chain_seal;
mod chain_trim;
mod loglets;
mod read_stream;
mod seal_and_extend;
mod tail_checker;
mod trim;
mod trim_point;

use std::collections::{BTreeMap, BTreeSet};

use crate::bindings::logsandbox::node::client::{
    Append, ChainTail, ClientError, LogTail, Op, OpId, OpResult, ReadRecord, RecoveryStrategy,
    SealAndExtend,
};
use crate::bindings::logsandbox::node::host::{Level, RacePoint};
use crate::bindings::logsandbox::node::log_server_protocol::Reply;
use crate::bindings::logsandbox::node::messages::SequencerAnswer;
use crate::bindings::logsandbox::node::metadata::{Chain, ReplicatedParams};
use crate::bindings::logsandbox::node::types::{
    LogId, LogletId, LogletOffset, Lsn, NodeId, RequestId, SegmentIndex, TailState, Version,
};
use crate::chain::{self, ChainView, Located, OLDEST_LSN, SegmentRef};
use crate::ctx::{Ctx, Part};
use crate::loglet::{LogletOutcome, fmt_loglet};
use crate::metadata::cache::MetadataCache;
use crate::settings::SealedChain;

use appender::Holding;
use chain_seal::{AwaitingChain, SealChainOp};
use loglets::Loglets;

/// Operations the node starts itself (an appender's seal-and-extend) have ids from here
/// on: the host's are small, and nothing of these is ever completed to the host.
const OWN_OPS: OpId = 1 << 63;

/// Completes `op` to the host, unless it is one of the node's own operations.
fn answer(ctx: &mut Ctx, op: OpId, result: OpResult) {
    if op >= OWN_OPS {
        let what = format!("own operation {}: {result:?}", op - OWN_OPS);
        return ctx.log(Level::Debug, &what);
    }
    ctx.env.complete(op, result);
}

/// The segment an operation runs on, as the chain had it when the operation got there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seg {
    base: Lsn,
    index: SegmentIndex,
}

impl Seg {
    fn of(segment: &SegmentRef) -> Seg {
        Seg {
            base: segment.base(),
            index: segment.index(),
        }
    }

    /// The LSN of a loglet offset of this segment (a tail offset gives a tail LSN).
    fn lsn(&self, offset: LogletOffset) -> Lsn {
        chain::lsn_at(self.base, offset)
    }

    fn tail(&self, state: TailState) -> ChainTail {
        ChainTail {
            segment_index: self.index,
            tail: match state {
                TailState::Open(o) => LogTail::Open(self.lsn(o)),
                TailState::Sealed(o) => LogTail::Sealed(self.lsn(o)),
            },
        }
    }
}

/// A read across segments: one segment at a time, oldest first, each found in the chain
/// as the node caches it when the read gets there (as Restate's read stream looks the next
/// segment up in the live Logs); a read that found its tail loglet sealed waits for the
/// chain to move (R8).
struct ReadOp {
    log: LogId,
    /// The end of the read (exclusive).
    to: Lsn,
    /// The segment being read, and where its range ends (its sealed tail, or `to`).
    current: Seg,
    current_end: Option<Lsn>,
    /// Where the read of the current segment began.
    current_from: Lsn,
    records: Vec<ReadRecord>,
    /// Waiting for the chain to go on past a sealed tail loglet.
    awaiting: Option<AwaitingChain>,
}

/// A seal-and-extend (Restate's `BifrostAdmin::seal_and_extend_chain`), between its two
/// steps: the tail segment's loglet is being sealed; the chain writer extends the chain
/// next.
struct SealAndExtendOp {
    request: SealAndExtend,
    /// The tail segment being sealed.
    sealing: Seg,
    /// Its loglet, whose nodeset and replication the new segment takes by default.
    params: ReplicatedParams,
}

/// What the log level keeps of an operation while the loglet level runs it.
enum LogOp {
    /// An append or a seal on one segment: the loglet's answer, in LSNs.
    OnSegment(Seg),
    /// A find-tail on the tail segment (which seals the chain when it finds the loglet
    /// sealed and the chain open, R8).
    FindTail {
        seg: Seg,
        log: LogId,
    },
    /// A find-tail waiting for the chain seal it asked for; then it looks again.
    FindTailSealingChain(LogId),
    /// A find-tail that met the seal marker, waiting for the Logs from the store
    /// (`bifrost.sealed_chain = sync`); then it looks again.
    FindTailSyncing(LogId),
    /// The node's own operation that seals a chain for a reader or a find-tail.
    SealingChain(SealChainOp),
    /// An append that recovers (it has a strategy), on its segment.
    Appending {
        seg: Seg,
        log: LogId,
        payload: Vec<u8>,
        strategy: RecoveryStrategy,
    },
    Read(ReadOp),
    Trim(trim::TrimOp),
    /// The node's own operation that drops the segments a trim left empty.
    TrimChain(chain_trim::ChainTrimOp),
    SealAndExtend(SealAndExtendOp),
}

/// The client part of a node: the log-level operations in flight, and the loglets they
/// run on.
#[derive(Default)]
pub struct Client {
    loglets: Loglets,
    ops: BTreeMap<OpId, LogOp>,
    /// Seal-and-extends waiting for the cached Logs to reach their `min-version` (waits are
    /// passive: the metadata plane brings the version).
    awaiting_version: Vec<(OpId, Version, SealAndExtend)>,
    /// Appends holding for a new tail segment.
    holding: BTreeMap<OpId, Holding>,
    /// Holders whose check is due (their timer fired).
    due: Vec<OpId>,
    /// The Logs version the holders were last checked at.
    checked_version: Version,
    /// The next id of the node's own operations.
    next_own: u64,
    /// Chain seals with the chain writer: the node's own operation, and the read or
    /// find-tail that waits for it.
    chain_seals: BTreeMap<OpId, OpId>,
    /// Reads waiting for the chain to move, and their grace timers.
    awaiting_chain: BTreeMap<OpId, Option<u64>>,
    /// Seal-and-extends whose seal found the loglet still open, by the timer that starts
    /// them again.
    seal_retries: BTreeMap<u64, (OpId, SealAndExtend)>,
    /// Logs whose chain trim runs, and those that asked for one more meanwhile.
    chain_trims: BTreeSet<LogId>,
    chain_trims_again: BTreeSet<LogId>,
    /// Trims finding the log's tail first (`bifrost.trim_clamp = find-tail`): their log
    /// and point.
    trims_after_tail: BTreeMap<OpId, (LogId, Lsn)>,
    /// Operations that met the seal marker and wait for the Logs from the store
    /// (`bifrost.sealed_chain = sync`), with the store read that answers them once asked.
    syncs: BTreeMap<OpId, Option<u64>>,
    /// Operations whose sync is done: the marker they meet now answers.
    synced: BTreeSet<OpId>,
    /// The store reads seen at the last look at the syncs.
    checked_store_reads: u64,
    /// The cheating test guest's lists (see `test_guests/cheat.rs`).
    #[cfg(feature = "list-on-client")]
    cheat: crate::test_guests::cheat::ListLogs,
}

fn failed(error: ClientError) -> OpResult {
    OpResult::Failed(error)
}

impl Client {
    /// Fails `op` at once as unsupported, saying `why`: something this node cannot serve.
    pub fn refuse(&mut self, ctx: &mut Ctx, op: OpId, why: &str) {
        answer(ctx, op, failed(ClientError::Unsupported(why.to_string())));
    }

    /// Starts a client operation: looks its log up in the cached Logs, then runs it on the
    /// segment the chain maps it to, or hands it to the metadata cache.
    pub fn on_request(
        &mut self,
        ctx: &mut Ctx,
        metadata: &mut MetadataCache,
        op: OpId,
        request: Op,
    ) {
        let log = match &request {
            Op::WaitForMetadata((kind, version)) => {
                return metadata.wait_for(ctx, op, *kind, *version);
            }
            // It may wait for a version first, and looks the log up after.
            #[cfg(not(feature = "list-on-client"))]
            Op::SealAndExtend(request) => {
                return self.seal_and_extend(ctx, metadata, op, request.clone());
            }
            Op::Append(Append { log, .. })
            | Op::Seal(log)
            | Op::FindTail(log)
            | Op::Read((log, _, _))
            | Op::Trim((log, _)) => *log,
            #[cfg(feature = "list-on-client")]
            Op::SealAndExtend(s) => s.log,
        };
        let Some(chain) = metadata.chain(log) else {
            return answer(ctx, op, failed(ClientError::UnknownLog(log)));
        };
        #[cfg(feature = "list-on-client")]
        {
            let _ = chain;
            let result = self.cheat.answer(log, request);
            return answer(ctx, op, result);
        }
        #[allow(unreachable_code)]
        match request {
            Op::Append(append) => self.append(ctx, op, chain, append),
            Op::Seal(_) => self.seal(ctx, op, chain),
            Op::FindTail(log) => self.find_tail(ctx, metadata, op, log),
            Op::Read((log, from, to)) => self.read(ctx, metadata, op, log, from, to),
            Op::Trim((log, point)) => self.trim(ctx, metadata, op, log, point),
            Op::SealAndExtend(_) | Op::WaitForMetadata(_) => unreachable!("handled above"),
        }
    }

    /// The chain's tail segment and its loglet; or the answer when there is no loglet to
    /// ask (the seal marker: `Err(Ok(tail))`; no replicated loglet: `Err(Err(error))`).
    fn tail_loglet(
        chain: &Chain,
    ) -> Result<(Seg, ReplicatedParams), Result<ChainTail, ClientError>> {
        let view = ChainView(chain);
        let Some(tail) = view.tail() else {
            return Err(Err(ClientError::UnknownLog(chain.log_id)));
        };
        if tail.is_seal_marker() {
            return Err(Ok(ChainTail {
                segment_index: tail.index(),
                tail: LogTail::Sealed(tail.base()),
            }));
        }
        match tail.params() {
            Some(params) => Ok((Seg::of(&tail), params.clone())),
            None => Err(Err(ClientError::Unsupported(format!(
                "log {} is not on a replicated loglet",
                chain.log_id
            )))),
        }
    }

    /// A seal of the tail segment's loglet (the loglet's own seal, as Restate's loglet
    /// tests run it: the chain is not sealed), or the seal marker's tail.
    fn seal(&mut self, ctx: &mut Ctx, op: OpId, chain: &Chain) {
        match Self::tail_loglet(chain) {
            Ok((seg, params)) => {
                self.ops.insert(op, LogOp::OnSegment(seg));
                self.loglets.seal(ctx, op, params);
            }
            Err(Ok(sealed)) => answer(ctx, op, OpResult::Sealed(sealed)),
            Err(Err(error)) => answer(ctx, op, failed(error)),
        }
    }

    /// A find-tail (Restate's `find_tail`, consistent): the tail segment's loglet, or the
    /// seal marker's tail.
    fn find_tail(&mut self, ctx: &mut Ctx, metadata: &MetadataCache, op: OpId, log: LogId) {
        let Some(chain) = metadata.chain(log) else {
            let error = failed(ClientError::UnknownLog(log));
            return self.tail_answered(ctx, metadata, op, error);
        };
        match Self::tail_loglet(chain) {
            Ok((seg, params)) => {
                self.ops.insert(op, LogOp::FindTail { seg, log });
                self.loglets.find_tail(ctx, op, params);
            }
            Err(Ok(sealed)) => {
                if self.must_sync(ctx, op) {
                    self.ops.insert(op, LogOp::FindTailSyncing(log));
                    return;
                }
                self.tail_answered(ctx, metadata, op, OpResult::Tail(sealed))
            }
            Err(Err(error)) => self.tail_answered(ctx, metadata, op, failed(error)),
        }
    }

    /// Whether `op`, at the chain's seal marker, must first read the Logs from the store
    /// (`bifrost.sealed_chain = sync`, not done yet for it); if so, it is registered.
    fn must_sync(&mut self, ctx: &Ctx, op: OpId) -> bool {
        if ctx.shared.settings.sealed_chain != SealedChain::Sync || self.synced.contains(&op) {
            return false;
        }
        self.syncs.entry(op).or_insert(None);
        true
    }

    /// A find-tail's answer: to the host, or to the trim that waited for it.
    fn tail_answered(
        &mut self,
        ctx: &mut Ctx,
        metadata: &MetadataCache,
        op: OpId,
        result: OpResult,
    ) {
        self.synced.remove(&op);
        match self.trims_after_tail.remove(&op) {
            Some((log, point)) => self.trim_after_tail(ctx, metadata, op, log, point, result),
            None => answer(ctx, op, result),
        }
    }

    fn append(&mut self, ctx: &mut Ctx, op: OpId, chain: &Chain, append: Append) {
        if let Some(strategy) = append.strategy {
            return self.append_recovering(ctx, op, chain, append.log, append.payload, strategy);
        }
        match Self::tail_loglet(chain) {
            Ok((seg, params)) => {
                self.ops.insert(op, LogOp::OnSegment(seg));
                self.loglets.append(ctx, op, params, append.payload);
            }
            Err(Ok(sealed)) => {
                let why = format!(
                    "log {} is sealed at LSN {} (its chain's seal marker)",
                    chain.log_id,
                    sealed_lsn(&sealed)
                );
                answer(ctx, op, failed(ClientError::ReconfigurationNeeded(why)));
            }
            Err(Err(error)) => answer(ctx, op, failed(error)),
        }
    }

    /// Reads `[from, to)` across segments; a `from` of 0 (no record's LSN) reads from the
    /// oldest, as Restate's read stream resets it.
    fn read(
        &mut self,
        ctx: &mut Ctx,
        metadata: &mut MetadataCache,
        op: OpId,
        log: LogId,
        from: Lsn,
        to: Lsn,
    ) {
        let from = from.max(OLDEST_LSN);
        let read = ReadOp {
            log,
            to,
            current: Seg { base: 0, index: 0 },
            current_end: None,
            current_from: from,
            records: Vec::new(),
            awaiting: None,
        };
        self.ops.insert(op, LogOp::Read(read));
        self.read_segment(ctx, metadata, op, from);
    }

    /// Reads the part of the read's range that lies in the segment holding `from`, or
    /// completes the read when nothing is left.
    fn read_segment(&mut self, ctx: &mut Ctx, metadata: &mut MetadataCache, op: OpId, from: Lsn) {
        let Some(LogOp::Read(read)) = self.ops.get_mut(&op) else {
            return;
        };
        let Some(chain) = metadata.chain(read.log) else {
            return self.end_read(ctx, op);
        };
        let view = ChainView(chain);
        let segment = match view.locate(from) {
            Some(Located::Segment(s)) => s,
            // Trimmed away with its segments: the log goes on at the first base.
            Some(Located::Trimmed { next_base }) => match view.locate(next_base) {
                Some(Located::Segment(s)) if next_base < read.to => s,
                _ => return self.end_read(ctx, op),
            },
            None => return self.end_read(ctx, op),
        };
        let from = from.max(segment.base());
        let Some(params) = segment.params().cloned() else {
            // The seal marker (or a segment with no loglet): nothing is written there. Short
            // of the read's end, the chain decides whether it ends here or is waited for
            // (`check_chain_moved`: a node that knows its chain is behind, or must sync).
            if segment.is_seal_marker() && from < read.to {
                read.awaiting = Some(AwaitingChain::at_marker(from, segment.index()));
                self.awaiting_chain.insert(op, None);
                return self.check_chain_moved(ctx, metadata, op);
            }
            return self.end_read(ctx, op);
        };
        let Some(from_offset) = segment.offset_of(from) else {
            return self.fail(ctx, op, ClientError::LsnOutOfRange(from));
        };
        let (to, to_is_sealed) = match segment.end {
            Some(end) if end <= read.to => (end, true),
            _ => (read.to, false),
        };
        // An end beyond what a loglet offset holds reads to the loglet's last offset.
        let to_offset = segment.offset_of(to).unwrap_or(LogletOffset::MAX);
        read.current = Seg::of(&segment);
        read.current_end = segment.end.filter(|&end| end < read.to);
        read.current_from = from;
        self.loglets
            .read(ctx, op, params, from_offset, to_offset, to_is_sealed);
    }

    fn end_read(&mut self, ctx: &mut Ctx, op: OpId) {
        self.synced.remove(&op);
        if let Some(LogOp::Read(read)) = self.ops.remove(&op) {
            answer(ctx, op, OpResult::Records(read.records));
        }
    }

    fn fail(&mut self, ctx: &mut Ctx, op: OpId, error: ClientError) {
        self.ops.remove(&op);
        answer(ctx, op, failed(error));
    }

    /// Hands the outcomes of loglet-level operations ended during the last event to the
    /// operations they belong to (answered in LSNs, or carried on), and starts the
    /// seal-and-extends whose version has come.
    pub fn settle(&mut self, ctx: &mut Ctx, metadata: &mut MetadataCache) {
        // The chain writer's answers: to the host, to the node's own operations, or to
        // the read or find-tail that waits for a chain seal.
        for (op, result) in std::mem::take(&mut ctx.shared.chain_answers) {
            match self.chain_seals.remove(&op) {
                Some(waiter) => self.on_chain_sealed(ctx, metadata, waiter, result),
                None => answer(ctx, op, result),
            }
        }
        // Holders look again at each new Logs version, and when their pause is over.
        let version = metadata.version();
        if version != self.checked_version {
            self.checked_version = version;
            self.due.extend(self.holding.keys());
            // So do the reads waiting for the chain to move.
            let reads: Vec<OpId> = self.awaiting_chain.keys().copied().collect();
            for op in reads {
                self.check_chain_moved(ctx, metadata, op);
            }
        }
        if !self.due.is_empty() {
            let mut due = std::mem::take(&mut self.due);
            due.sort_unstable();
            due.dedup();
            for op in due {
                self.check_holder(ctx, metadata, op);
            }
        }
        if !self.awaiting_version.is_empty() {
            let version = metadata.version();
            let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.awaiting_version)
                .into_iter()
                .partition(|(_, min, _)| version >= *min);
            self.awaiting_version = waiting;
            for (op, _, mut request) in ready {
                request.min_version = None;
                self.seal_and_extend(ctx, metadata, op, request);
            }
        }
        self.settle_syncs(ctx, metadata);
        while !ctx.shared.finished.is_empty() {
            let finished = std::mem::take(&mut ctx.shared.finished);
            for (op, outcome) in finished {
                self.on_outcome(ctx, metadata, op, outcome);
            }
        }
        // Syncs the outcomes asked for go out now.
        self.settle_syncs(ctx, metadata);
    }

    fn on_outcome(
        &mut self,
        ctx: &mut Ctx,
        metadata: &mut MetadataCache,
        op: OpId,
        outcome: LogletOutcome,
    ) {
        let Some(log_op) = self.ops.remove(&op) else {
            return;
        };
        let find_tail = matches!(log_op, LogOp::FindTail { .. });
        let result = match (log_op, outcome) {
            (
                LogOp::Appending {
                    log,
                    payload,
                    strategy,
                    seg,
                },
                LogletOutcome::Failed(
                    ClientError::Sealed
                    | ClientError::ReconfigurationNeeded(_)
                    | ClientError::Internal(_),
                ),
            ) => {
                // Sealed, or a retryable failure: hold for a new segment (Restate's
                // appender reconfigures on both).
                return self.hold(ctx, op, log, payload, strategy, seg.index);
            }
            (LogOp::Appending { seg, .. }, LogletOutcome::Appended(offset)) => {
                OpResult::Appended(seg.lsn(offset))
            }
            (LogOp::SealingChain(sealing), outcome) => {
                return self.chain_loglet_sealed(ctx, metadata, op, sealing, outcome);
            }
            (_, LogletOutcome::Failed(error)) => failed(error),
            (LogOp::Appending { .. }, other) => failed(ClientError::Internal(format!(
                "the append answered {other:?}"
            ))),
            (LogOp::SealAndExtend(s), LogletOutcome::Sealed(TailState::Sealed(offset))) => {
                let base = s.sealing.lsn(offset);
                ctx.env.reached(
                    RacePoint::LogletSealed,
                    &format!(
                        "log {} segment {} ({}) sealed at LSN {base}",
                        s.request.log,
                        s.sealing.index,
                        fmt_loglet(s.params.loglet_id)
                    ),
                );
                let params = s.params.clone();
                return self.extend(ctx, metadata, op, s.request, s.sealing, &params, base);
            }
            // The loglet is not sealed yet (its seal found an open tail): Restate's
            // seal_inner sleeps `seal_retry_interval` and tries again, from the check of
            // the tail segment.
            (LogOp::SealAndExtend(s), LogletOutcome::Sealed(TailState::Open(_))) => {
                let delay = ctx.shared.settings.seal_retry;
                let timer = ctx.timer(Part::Client, delay);
                self.seal_retries.insert(timer, (op, s.request));
                return;
            }
            (LogOp::SealAndExtend(_), other) => failed(ClientError::Internal(format!(
                "the seal answered {other:?}"
            ))),
            (LogOp::FindTail { seg, log }, LogletOutcome::Tail(TailState::Sealed(offset))) => {
                return self.tail_found_sealed(ctx, metadata, op, log, seg, seg.lsn(offset));
            }
            (LogOp::FindTail { seg, .. }, LogletOutcome::Tail(state)) => {
                OpResult::Tail(seg.tail(state))
            }
            (LogOp::OnSegment(seg), outcome) => match outcome {
                LogletOutcome::Appended(offset) => OpResult::Appended(seg.lsn(offset)),
                LogletOutcome::Sealed(state) => OpResult::Sealed(seg.tail(state)),
                LogletOutcome::Tail(state) => OpResult::Tail(seg.tail(state)),
                LogletOutcome::Trimmed(offset) => OpResult::Trimmed(seg.lsn(offset)),
                LogletOutcome::Records { .. }
                | LogletOutcome::TrimPoint(_)
                | LogletOutcome::Failed(_) => failed(ClientError::Internal(
                    "a loglet answered out of turn".into(),
                )),
            },
            (LogOp::Read(mut read), LogletOutcome::Records { records, sealed_at }) => {
                let seg = read.current;
                read.records
                    .extend(records.into_iter().map(|(offset, payload)| ReadRecord {
                        lsn: seg.lsn(offset),
                        payload,
                    }));
                let next = read.current_end;
                // The tail loglet is sealed below the end of the read and the chain did not
                // say so: wait for the chain to go on (R8).
                let stopped_at = sealed_at
                    .map(|tail| seg.lsn(tail).max(read.current_from))
                    .filter(|&tail| next.is_none() && tail < read.to);
                if let Some(from) = stopped_at {
                    read.awaiting = Some(AwaitingChain::new(from, seg.index));
                }
                self.ops.insert(op, LogOp::Read(read));
                if stopped_at.is_some() {
                    self.awaiting_chain.insert(op, None);
                    return self.check_chain_moved(ctx, metadata, op);
                }
                return match next {
                    Some(next) => self.read_segment(ctx, metadata, op, next),
                    None => self.end_read(ctx, op),
                };
            }
            (LogOp::TrimChain(trim), LogletOutcome::TrimPoint(point)) => {
                return self.chain_trim_point(ctx, metadata, op, trim, point);
            }
            (LogOp::TrimChain(trim), _) => {
                return self.chain_trim_point(ctx, metadata, op, trim, None);
            }
            (LogOp::Trim(trim), LogletOutcome::Trimmed(offset)) => {
                return self.segment_trimmed(ctx, metadata, op, trim, offset);
            }
            (
                LogOp::Read(_)
                | LogOp::Trim(_)
                | LogOp::FindTail { .. }
                | LogOp::FindTailSealingChain(_)
                | LogOp::FindTailSyncing(_),
                _,
            ) => failed(ClientError::Internal(
                "a loglet answered out of turn".into(),
            )),
        };
        if find_tail {
            return self.tail_answered(ctx, metadata, op, result);
        }
        answer(ctx, op, result);
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
        self.loglets
            .on_state_request(ctx, metadata, from, id, loglet, check_seal);
    }

    /// The sequencer's answer to one of our tasks.
    pub fn on_sequencer_state(&mut self, ctx: &mut Ctx, id: RequestId, state: SequencerAnswer) {
        self.loglets.on_sequencer_state(ctx, id, state);
    }

    /// A log-server's reply to the client part.
    pub fn on_reply(&mut self, ctx: &mut Ctx, from: NodeId, id: RequestId, reply: Reply) {
        self.loglets.on_reply(ctx, from, id, reply);
    }

    /// A write of this node's client part is durable: a sequencer's published seal.
    pub fn on_durable(&mut self, ctx: &mut Ctx, id: u64) {
        self.loglets.on_durable(ctx, id);
    }

    /// A timer of the client part fired: a holder's pause, a reader's grace before it
    /// seals the chain, or the loglets'.
    pub fn on_timer(&mut self, ctx: &mut Ctx, metadata: &mut MetadataCache, id: u64) {
        if let Some(holder) = self.holding.values().find(|h| h.timer == Some(id)) {
            return self.due.push(holder.op);
        }
        if let Some((&op, _)) = self.awaiting_chain.iter().find(|(_, t)| **t == Some(id)) {
            return self.grace_over(ctx, metadata, op);
        }
        if let Some((op, request)) = self.seal_retries.remove(&id) {
            return self.seal_and_extend(ctx, metadata, op, request);
        }
        self.loglets.on_timer(ctx, id);
    }

    /// Asks the store for the Logs for the operations that met the seal marker, and
    /// carries on those whose read is back: a find-tail looks again, a read checks the
    /// chain again (both now trust the marker).
    fn settle_syncs(&mut self, ctx: &mut Ctx, metadata: &mut MetadataCache) {
        if self.syncs.is_empty() {
            return;
        }
        for token in self.syncs.values_mut().filter(|t| t.is_none()) {
            *token = Some(metadata.sync(ctx));
        }
        let reads = metadata.store_reads();
        if reads == self.checked_store_reads {
            return;
        }
        self.checked_store_reads = reads;
        let done: Vec<OpId> = self
            .syncs
            .iter()
            .filter(|(_, t)| t.is_some_and(|t| metadata.synced(t)))
            .map(|(op, _)| *op)
            .collect();
        for op in done {
            self.syncs.remove(&op);
            self.synced.insert(op);
            match self.ops.get(&op) {
                Some(LogOp::FindTailSyncing(log)) => {
                    let log = *log;
                    self.ops.remove(&op);
                    self.find_tail(ctx, metadata, op, log);
                }
                Some(LogOp::Read(_)) => self.check_chain_moved(ctx, metadata, op),
                _ => {}
            }
        }
    }

    /// The id of the node's next own operation.
    fn own_op(&mut self) -> OpId {
        let own = OWN_OPS + self.next_own;
        self.next_own += 1;
        own
    }
}

fn sealed_lsn(tail: &ChainTail) -> Lsn {
    match tail.tail {
        LogTail::Open(lsn) | LogTail::Sealed(lsn) => lsn,
    }
}
