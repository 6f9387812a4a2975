//! Trims at the log level (Restate's `Bifrost::trim`): every segment whose base is at or
//! below the point is trimmed, oldest first, each loglet up to the point within it and
//! below the tail that bounds it (the tail this node knows of the loglet, Restate's; or the
//! log's tail found first, `bifrost.trim_clamp = find-tail`). Once the last is done the
//! chain trim follows (`chain_trim`).

use std::collections::VecDeque;

use super::{Client, LogOp, Seg, answer, failed, sealed_lsn};
use crate::bindings::logsandbox::node::client::{ClientError, OpId, OpResult};
use crate::bindings::logsandbox::node::metadata::{Chain, ReplicatedParams};
use crate::bindings::logsandbox::node::types::{LogId, LogletOffset, Lsn};
use crate::chain::ChainView;
use crate::ctx::Ctx;
use crate::metadata::cache::MetadataCache;
use crate::settings::TrimClamp;

use super::loglets::TrimBound;

/// A trim across segments (Restate's `Bifrost::trim`): every loglet whose segment starts
/// at or below the point, oldest first, each up to the point (within its segment) and
/// below the tail that bounds it.
pub(super) struct TrimOp {
    log: LogId,
    current: Seg,
    next: VecDeque<(Seg, ReplicatedParams, LogletOffset, TrimBound)>,
}

impl Client {
    /// A trim: with `bifrost.trim_clamp = known-tail` (Restate's), each loglet clamps it
    /// below the tail this node knows of it; with `find-tail`, the log's tail is found
    /// first (bringing a stale chain up to date, R8) and bounds every segment.
    pub(super) fn trim(
        &mut self,
        ctx: &mut Ctx,
        metadata: &MetadataCache,
        op: OpId,
        log: LogId,
        point: Lsn,
    ) {
        match ctx.shared.settings.trim_clamp {
            TrimClamp::KnownTail => match metadata.chain(log) {
                Some(chain) => self.trim_segments(ctx, op, chain, point, None),
                None => answer(ctx, op, failed(ClientError::UnknownLog(log))),
            },
            TrimClamp::FindTail => {
                self.trims_after_tail.insert(op, (log, point));
                self.find_tail(ctx, metadata, op, log);
            }
        }
    }

    /// Trims every segment that starts at or below `point`, oldest first (a point before
    /// every segment goes to the first one, which answers it as its loglet does): each up
    /// to the point within it, below the log's `tail` when one was found, else below the
    /// tail this node knows of its loglet.
    fn trim_segments(
        &mut self,
        ctx: &mut Ctx,
        op: OpId,
        chain: &Chain,
        point: Lsn,
        tail: Option<Lsn>,
    ) {
        let point = match tail {
            Some(tail) => point.min(tail.saturating_sub(1)),
            None => point,
        };
        let view = ChainView(chain);
        let mut loglets: VecDeque<(Seg, ReplicatedParams, LogletOffset, TrimBound)> = view
            .segments()
            .enumerate()
            .filter(|(i, s)| s.base() <= point || *i == 0)
            .map(|(_, s)| s)
            .filter_map(|s| {
                let params = s.params()?.clone();
                // The point within the segment: up to its last offset when it ends below.
                let within = match s.end {
                    Some(end) => point.min(end - 1),
                    None => point,
                };
                let offset = (within + 1).saturating_sub(s.base());
                let offset = LogletOffset::try_from(offset).unwrap_or(LogletOffset::MAX);
                // A found tail bounds the segment at its end, or at the tail in the last.
                let bound = match tail {
                    Some(tail) => {
                        let end = s.end.unwrap_or(tail);
                        let end = (end + 1).saturating_sub(s.base());
                        TrimBound::Found(LogletOffset::try_from(end).unwrap_or(LogletOffset::MAX))
                    }
                    None => TrimBound::KnownTail,
                };
                Some((Seg::of(&s), params, offset, bound))
            })
            .collect();
        let Some((seg, params, offset, bound)) = loglets.pop_front() else {
            let why = format!("log {} has no loglet to trim", chain.log_id);
            return answer(ctx, op, failed(ClientError::Unsupported(why)));
        };
        self.ops.insert(
            op,
            LogOp::Trim(TrimOp {
                log: chain.log_id,
                current: seg,
                next: loglets,
            }),
        );
        self.loglets.trim(ctx, op, params, offset, bound);
    }

    /// The find-tail a trim ran first answered: trim below the log's tail it found.
    pub(super) fn trim_after_tail(
        &mut self,
        ctx: &mut Ctx,
        metadata: &MetadataCache,
        op: OpId,
        log: LogId,
        point: Lsn,
        result: OpResult,
    ) {
        let tail = match result {
            OpResult::Tail(tail) => sealed_lsn(&tail),
            OpResult::Failed(error) => return answer(ctx, op, failed(error)),
            other => {
                let why = format!("the trim's find-tail answered {other:?}");
                return answer(ctx, op, failed(ClientError::Internal(why)));
            }
        };
        match metadata.chain(log) {
            Some(chain) => self.trim_segments(ctx, op, chain, point, Some(tail)),
            None => answer(ctx, op, failed(ClientError::UnknownLog(log))),
        }
    }

    /// One loglet took the trim: on to the next, or answer and trim the chain.
    pub(super) fn segment_trimmed(
        &mut self,
        ctx: &mut Ctx,
        metadata: &mut MetadataCache,
        op: OpId,
        mut trim: TrimOp,
        offset: LogletOffset,
    ) {
        let Some((seg, params, point, bound)) = trim.next.pop_front() else {
            answer(ctx, op, OpResult::Trimmed(trim.current.lsn(offset)));
            return self.trim_chain(ctx, metadata, trim.log);
        };
        trim.current = seg;
        self.ops.insert(op, LogOp::Trim(trim));
        self.loglets.trim(ctx, op, params, point, bound);
    }
}
