//! Whole segments trimmed from the chain, as Restate's bifrost watchdog does after a trim
//! (`spawn_trim`, R14): the log's trim point is found segment by segment, oldest first (each
//! loglet's trim point from an f-majority, clamped below the segment's end when it is
//! sealed), up to the first segment never trimmed; then the chain writer drops every
//! segment wholly at or below it (`trim_prefix`, compare-and-set like any chain change).
//! It runs in the background, one at a time per log: a trim answered meanwhile asks for
//! one more run. A trim clamped to nothing leaves the trim points where they were, so the
//! old segments stay (#5377).

use std::collections::VecDeque;

use super::{Client, LogOp, Seg};
use crate::bindings::logsandbox::node::client::OpId;
use crate::bindings::logsandbox::node::metadata::ReplicatedParams;
use crate::bindings::logsandbox::node::types::{LogId, LogletOffset, Lsn};
use crate::chain::ChainView;
use crate::ctx::Ctx;
use crate::loglet::OLDEST;
use crate::metadata::cache::MetadataCache;
use crate::metadata::chain_writer::{Command, TrimPrefix};

/// A chain trim between its segments.
pub(super) struct ChainTrimOp {
    log: LogId,
    /// The segment asked now, and where it ends if it is sealed.
    current: (Seg, Option<Lsn>),
    /// The segments still to ask, oldest first.
    next: VecDeque<(Seg, Option<Lsn>, ReplicatedParams)>,
    /// The log's trim point found so far.
    found: Option<Lsn>,
}

impl Client {
    /// A trim of `log` was answered: find its trim point and drop the segments below it,
    /// unless a chain trim of the log is running (it then runs once more at its end).
    pub(super) fn trim_chain(&mut self, ctx: &mut Ctx, metadata: &mut MetadataCache, log: LogId) {
        if !self.chain_trims.insert(log) {
            self.chain_trims_again.insert(log);
            return;
        }
        let Some(chain) = metadata.chain(log) else {
            self.chain_trims.remove(&log);
            return;
        };
        let mut segments: VecDeque<(Seg, Option<Lsn>, ReplicatedParams)> = ChainView(chain)
            .segments()
            .filter_map(|s| Some((Seg::of(&s), s.end, s.params()?.clone())))
            .collect();
        let Some((seg, end, params)) = segments.pop_front() else {
            self.chain_trims.remove(&log);
            return;
        };
        let op = self.own_op();
        self.ops.insert(
            op,
            LogOp::TrimChain(ChainTrimOp {
                log,
                current: (seg, end),
                next: segments,
                found: None,
            }),
        );
        self.loglets.trim_point(ctx, op, params);
    }

    /// One segment's trim point (None: no node told it): on to the next segment, or the
    /// chain put.
    pub(super) fn chain_trim_point(
        &mut self,
        ctx: &mut Ctx,
        metadata: &mut MetadataCache,
        op: OpId,
        mut trim: ChainTrimOp,
        point: Option<LogletOffset>,
    ) {
        let (seg, end) = trim.current;
        // A segment never trimmed ends the walk: the ones after it cannot be trimmed.
        if let Some(point) = point.filter(|&p| p >= OLDEST) {
            let lsn = seg.lsn(point);
            trim.found = Some(match end {
                Some(end) => lsn.min(end.saturating_sub(1)),
                None => lsn,
            });
            if let Some((seg, end, params)) = trim.next.pop_front() {
                trim.current = (seg, end);
                self.ops.insert(op, LogOp::TrimChain(trim));
                return self.loglets.trim_point(ctx, op, params);
            }
        }
        let log = trim.log;
        if let Some(found) = trim.found {
            let until = found.saturating_add(1);
            metadata.change_chain(ctx, Command::TrimPrefix(TrimPrefix { op, log, until }));
        }
        self.chain_trims.remove(&log);
        if self.chain_trims_again.remove(&log) {
            self.trim_chain(ctx, metadata, log);
        }
    }
}
