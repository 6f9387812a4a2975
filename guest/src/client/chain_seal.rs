//! Readers and find-tails seal the chain (Restate's read stream and `find_tail`, R8). A
//! loglet can be sealed while the chain still has it as its open tail: a seal-and-extend
//! stopped between its two steps, or a chain extended elsewhere and not yet cached here.
//! What lies beyond such a tail is unknown until the chain says where the log goes on, so
//! - a find-tail that finds the tail loglet sealed seals the chain (the seal marker at the
//!   loglet's sealed tail) and looks again: on the marker, or on the newer chain that made
//!   the seal fail `segment-mismatch`;
//! - a read that reaches the sealed tail before its end waits for the chain to move,
//!   checking again at each new Logs version; after `bifrost.seal_chain_grace_ms` (plus up
//!   to 50%) it seals the chain itself, then waits again;
//! - a read that reaches the chain's seal marker before its end, on a node that knows a
//!   newer Logs exists, waits for it as a read stream would (the chain may have gone on
//!   past the marker); it ends at the marker once the node is up to date, or after the
//!   grace period (the operation is bounded; Restate's stream would wait on).
//!
//! A chain seal is Restate's `BifrostAdmin::seal`: the tail segment must still be the one
//! found sealed; its loglet is sealed (a no-op when it is), and the chain writer puts the
//! marker, compare-and-set.

use super::{Client, LogOp, Seg, failed};
use crate::bindings::logsandbox::node::client::{ChainTail, ClientError, LogTail, OpId, OpResult};
use crate::bindings::logsandbox::node::host::Level;
use crate::bindings::logsandbox::node::types::{LogId, Lsn, SegmentIndex, TailState};
use crate::chain::{ChainView, Located};
use crate::ctx::{Ctx, Part};
use crate::loglet::LogletOutcome;
use crate::metadata::cache::MetadataCache;
use crate::metadata::chain_writer::{Command, SealChain};
use crate::settings::FindTailKind;

/// A read that reached a sealed tail loglet the chain does not know sealed.
#[derive(Debug, Clone, Copy)]
pub(super) struct AwaitingChain {
    /// Where the read goes on once the chain does.
    resume_from: Lsn,
    /// The segment whose loglet is sealed.
    index: SegmentIndex,
    /// A chain seal of ours is under way.
    sealing: bool,
    /// It stopped at the chain's seal marker (not at a sealed loglet of an open chain).
    at_marker: bool,
}

impl AwaitingChain {
    /// At the sealed tail of segment `index`'s loglet.
    pub(super) fn new(resume_from: Lsn, index: SegmentIndex) -> AwaitingChain {
        AwaitingChain {
            resume_from,
            index,
            sealing: false,
            at_marker: false,
        }
    }

    /// At the chain's seal marker (which has the index of the segment it seals).
    pub(super) fn at_marker(resume_from: Lsn, index: SegmentIndex) -> AwaitingChain {
        AwaitingChain {
            at_marker: true,
            ..AwaitingChain::new(resume_from, index)
        }
    }
}

/// The node's own operation that seals a chain: its loglet seal, then the marker.
pub(super) struct SealChainOp {
    log: LogId,
    sealing: Seg,
    /// The read or find-tail it is for.
    waiter: OpId,
}

impl Client {
    /// A find-tail found the tail loglet sealed at `tail`: if the cached chain still has
    /// that segment as its open tail, seal the chain, then look again; if the chain moved
    /// meanwhile, look again at once. With `bifrost.find_tail = loglet`, the loglet's
    /// answer stands.
    pub(super) fn tail_found_sealed(
        &mut self,
        ctx: &mut Ctx,
        metadata: &mut MetadataCache,
        op: OpId,
        log: LogId,
        seg: Seg,
        tail: Lsn,
    ) {
        if ctx.shared.settings.find_tail == FindTailKind::Loglet {
            let found = OpResult::Tail(ChainTail {
                segment_index: seg.index,
                tail: LogTail::Sealed(tail),
            });
            return self.tail_answered(ctx, metadata, op, found);
        }
        let still_open_tail = metadata
            .chain(log)
            .and_then(|c| ChainView(c).tail())
            .is_some_and(|t| t.index() == seg.index && !t.is_seal_marker());
        if !still_open_tail {
            return self.find_tail(ctx, metadata, op, log);
        }
        ctx.log(
            Level::Info,
            &format!(
                "find-tail: log {log} segment {} is sealed at LSN {tail} and the chain is open: sealing the chain",
                seg.index
            ),
        );
        self.ops.insert(op, LogOp::FindTailSealingChain(log));
        self.seal_chain(ctx, metadata, op, log, seg.index);
    }

    /// Seals `log`'s chain at its tail segment `index` for `waiter` (Restate's
    /// `BifrostAdmin::seal`): the loglet first, then the marker.
    fn seal_chain(
        &mut self,
        ctx: &mut Ctx,
        metadata: &mut MetadataCache,
        waiter: OpId,
        log: LogId,
        index: SegmentIndex,
    ) {
        let Some(tail) = metadata.chain(log).and_then(|c| ChainView(c).tail()) else {
            let error = failed(ClientError::UnknownLog(log));
            return self.on_chain_sealed(ctx, metadata, waiter, error);
        };
        if tail.index() != index {
            let error = failed(ClientError::SegmentMismatch(tail.index()));
            return self.on_chain_sealed(ctx, metadata, waiter, error);
        }
        let sealing = Seg::of(&tail);
        let Some(params) = tail.params().cloned() else {
            // The marker is there already.
            let sealed = OpResult::Sealed(ChainTail {
                segment_index: tail.index(),
                tail: LogTail::Sealed(tail.base()),
            });
            return self.on_chain_sealed(ctx, metadata, waiter, sealed);
        };
        let own = self.own_op();
        self.ops.insert(
            own,
            LogOp::SealingChain(SealChainOp {
                log,
                sealing,
                waiter,
            }),
        );
        self.loglets.seal(ctx, own, params);
    }

    /// The chain seal's loglet is sealed: the chain writer puts the marker at its tail.
    pub(super) fn chain_loglet_sealed(
        &mut self,
        ctx: &mut Ctx,
        metadata: &mut MetadataCache,
        own: OpId,
        sealing: SealChainOp,
        outcome: LogletOutcome,
    ) {
        let SealChainOp {
            log,
            sealing: seg,
            waiter,
        } = sealing;
        let tail = match outcome {
            LogletOutcome::Sealed(TailState::Sealed(offset)) => seg.lsn(offset),
            LogletOutcome::Failed(error) => {
                return self.on_chain_sealed(ctx, metadata, waiter, failed(error));
            }
            other => {
                let why = format!(
                    "sealing the chain of log {log}: its tail loglet (segment {}) did not seal: {other:?}",
                    seg.index
                );
                let error = ClientError::Internal(why);
                return self.on_chain_sealed(ctx, metadata, waiter, failed(error));
            }
        };
        self.chain_seals.insert(own, waiter);
        let command = SealChain {
            op: own,
            log,
            expected_index: seg.index,
            tail,
        };
        metadata.change_chain(ctx, Command::Seal(command));
    }

    /// A chain seal for `waiter` is over (sealed, or failed: `segment-mismatch` when the
    /// chain moved on): the find-tail looks again, the read checks the chain again.
    pub(super) fn on_chain_sealed(
        &mut self,
        ctx: &mut Ctx,
        metadata: &mut MetadataCache,
        waiter: OpId,
        result: OpResult,
    ) {
        match self.ops.get_mut(&waiter) {
            Some(LogOp::FindTailSealingChain(log)) => {
                let log = *log;
                self.ops.remove(&waiter);
                match result {
                    OpResult::Failed(error)
                        if !matches!(error, ClientError::SegmentMismatch(_)) =>
                    {
                        self.tail_answered(ctx, metadata, waiter, failed(error))
                    }
                    _ => self.find_tail(ctx, metadata, waiter, log),
                }
            }
            Some(LogOp::Read(read)) => {
                if let Some(awaiting) = &mut read.awaiting {
                    awaiting.sealing = false;
                }
                if let OpResult::Failed(error) = result {
                    let why = format!("a reader's chain seal failed: {error:?}");
                    ctx.log(Level::Info, &why);
                }
                self.check_chain_moved(ctx, metadata, waiter);
            }
            _ => {}
        }
    }

    /// A read waiting past a sealed tail loglet looks at the cached chain (Restate's
    /// `check_chain`): it goes on when the chain has moved (a newer segment, the sealed
    /// tail known, the seal marker, a prefix trim); otherwise it waits, with a grace timer
    /// armed unless a chain seal of its own is under way.
    pub(super) fn check_chain_moved(
        &mut self,
        ctx: &mut Ctx,
        metadata: &mut MetadataCache,
        op: OpId,
    ) {
        let Some(LogOp::Read(read)) = self.ops.get_mut(&op) else {
            self.awaiting_chain.remove(&op);
            return;
        };
        let Some(awaiting) = read.awaiting else {
            self.awaiting_chain.remove(&op);
            return;
        };
        let chain = metadata.chain(read.log);
        let moved = chain.is_none_or(
            |chain| match ChainView(chain).locate(awaiting.resume_from) {
                Some(Located::Segment(s)) if awaiting.at_marker => !s.is_seal_marker(),
                Some(Located::Segment(s)) => {
                    s.index() != awaiting.index || s.is_seal_marker() || s.end.is_some()
                }
                Some(Located::Trimmed { .. }) | None => true,
            },
        );
        if moved {
            read.awaiting = None;
            self.awaiting_chain.remove(&op);
            return self.read_segment(ctx, metadata, op, awaiting.resume_from);
        }
        if awaiting.at_marker && !metadata.behind() && !self.must_sync(ctx, op) {
            // Up to date, and still sealed there: the log ends at the marker.
            self.awaiting_chain.remove(&op);
            return self.end_read(ctx, op);
        }
        let timer = self.awaiting_chain.entry(op).or_default();
        if timer.is_none() && !awaiting.sealing {
            let grace = ctx.shared.settings.seal_chain_grace;
            let grace = ctx.shared.rng.add_jitter(grace, 50);
            *timer = Some(ctx.timer(Part::Client, grace));
        }
    }

    /// A read waited its grace period for the chain: it seals the chain itself.
    pub(super) fn grace_over(&mut self, ctx: &mut Ctx, metadata: &mut MetadataCache, op: OpId) {
        self.awaiting_chain.insert(op, None);
        let Some(LogOp::Read(read)) = self.ops.get_mut(&op) else {
            return;
        };
        let Some(awaiting) = &mut read.awaiting else {
            return;
        };
        if awaiting.at_marker {
            // Patience is over: the log ends at the marker, as far as this node knows.
            self.awaiting_chain.remove(&op);
            return self.end_read(ctx, op);
        }
        awaiting.sealing = true;
        let (log, index) = (read.log, awaiting.index);
        ctx.log(
            Level::Info,
            &format!(
                "read {op}: log {log} segment {index} is sealed and the chain is open past its grace period: sealing the chain"
            ),
        );
        self.seal_chain(ctx, metadata, op, log, index);
    }
}
