//! Appenders that recover (Restate's `Appender`, R6): an append with a recovery strategy
//! that finds its segment sealed does not fail. It holds until the chain has a new, open
//! tail segment with a higher index, re-checking at each new Logs version and otherwise
//! after a backoff from `bifrost.append_retry_min_ms` to `bifrost.append_retry_max_ms`;
//! meanwhile, by its strategy, it waits (`wait`), seals and extends the chain itself after
//! `bifrost.auto_recovery_interval_ms` (`extend-chain-allowed`), or at once
//! (`extend-chain-preferred`).

use super::{Client, LogOp, Seg, answer, failed};
use crate::bindings::logsandbox::node::client::{OpId, RecoveryStrategy, SealAndExtend};
use crate::bindings::logsandbox::node::host::RacePoint;
use crate::bindings::logsandbox::node::metadata::Chain;
use crate::bindings::logsandbox::node::types::{LogId, SegmentIndex, SimTime};
use crate::chain::ChainView;
use crate::ctx::{Ctx, Part};
use crate::metadata::cache::MetadataCache;

/// An append waiting for a new tail segment.
#[derive(Debug, Clone)]
pub(super) struct Holding {
    pub op: OpId,
    pub log: LogId,
    pub payload: Vec<u8>,
    pub strategy: RecoveryStrategy,
    /// The segment it found sealed: a tail with a higher index is the one to append to.
    pub sealed_index: SegmentIndex,
    /// When it began to hold: `extend-chain-allowed` extends once it held long enough.
    pub since: SimTime,
    /// The pause before the next check, doubling.
    pub backoff: u64,
    /// The timer of the next check (only the current one counts).
    pub timer: Option<u64>,
    /// It asked for the chain to be extended already (once per segment).
    pub extend_asked: bool,
}

impl Holding {
    /// Whether the appender seals and extends the chain itself now.
    pub fn should_extend(&self, now: SimTime, auto_recovery_interval: u64) -> bool {
        if self.extend_asked {
            return false;
        }
        match self.strategy {
            RecoveryStrategy::Wait => false,
            RecoveryStrategy::ExtendChainPreferred => true,
            RecoveryStrategy::ExtendChainAllowed => {
                now >= self.since.saturating_add(auto_recovery_interval)
            }
        }
    }

    /// The pause before the next check, and the one after it (doubled, capped).
    pub fn next_pause(&mut self, max: u64) -> u64 {
        let pause = self.backoff;
        self.backoff = self.backoff.saturating_mul(2).min(max);
        pause
    }
}

/// Its name, as Restate's `ErrorRecoveryStrategy` prints in the guest's words.
pub(super) fn strategy_name(strategy: RecoveryStrategy) -> &'static str {
    match strategy {
        RecoveryStrategy::Wait => "wait",
        RecoveryStrategy::ExtendChainAllowed => "extend-chain-allowed",
        RecoveryStrategy::ExtendChainPreferred => "extend-chain-preferred",
    }
}

impl Client {
    /// A log-level append (Restate's `Appender`): on the tail segment, holding when that
    /// one is sealed instead of failing.
    pub(super) fn append_recovering(
        &mut self,
        ctx: &mut Ctx,
        op: OpId,
        chain: &Chain,
        log: LogId,
        payload: Vec<u8>,
        strategy: RecoveryStrategy,
    ) {
        match Self::tail_loglet(chain) {
            Ok((seg, params)) => {
                self.ops.insert(
                    op,
                    LogOp::Appending {
                        seg,
                        log,
                        payload: payload.clone(),
                        strategy,
                    },
                );
                self.loglets.append(ctx, op, params, payload);
            }
            Err(Ok(sealed)) => {
                self.hold(ctx, op, log, payload, strategy, sealed.segment_index);
            }
            Err(Err(error)) => answer(ctx, op, failed(error)),
        }
    }

    /// The append found segment `sealed_index` sealed: it holds for a newer one.
    pub(super) fn hold(
        &mut self,
        ctx: &mut Ctx,
        op: OpId,
        log: LogId,
        payload: Vec<u8>,
        strategy: RecoveryStrategy,
        sealed_index: SegmentIndex,
    ) {
        ctx.env.reached(
            RacePoint::HoldingForSegment,
            &format!(
                "append {op} to log {log} holds: segment {sealed_index} is sealed ({})",
                strategy_name(strategy)
            ),
        );
        self.holding.insert(
            op,
            Holding {
                op,
                log,
                payload,
                strategy,
                sealed_index,
                since: ctx.now,
                backoff: ctx.shared.settings.append_retry_min,
                timer: None,
                extend_asked: false,
            },
        );
        self.due.push(op);
    }

    /// Looks at a holder again: appends if the chain has a newer open tail; else seals and
    /// extends the chain if its strategy says so now; else checks again after a pause.
    pub(super) fn check_holder(&mut self, ctx: &mut Ctx, metadata: &mut MetadataCache, op: OpId) {
        let Some(mut holder) = self.holding.remove(&op) else {
            return;
        };
        let tail = metadata.chain(holder.log).and_then(|c| {
            ChainView(c)
                .tail()
                .filter(|t| !t.is_seal_marker() && t.index() > holder.sealed_index)
                .and_then(|t| Some((Seg::of(&t), t.params()?.clone())))
        });
        if let Some((seg, params)) = tail {
            self.ops.insert(
                op,
                LogOp::Appending {
                    seg,
                    log: holder.log,
                    payload: holder.payload.clone(),
                    strategy: holder.strategy,
                },
            );
            return self.loglets.append(ctx, op, params, holder.payload);
        }
        let settings = &ctx.shared.settings;
        if holder.should_extend(ctx.now, settings.auto_recovery_interval) {
            // Restate's `seal_and_auto_extend_chain`: this node sequences the new segment.
            holder.extend_asked = true;
            let own = self.own_op();
            let request = SealAndExtend {
                log: holder.log,
                min_version: None,
                segment_index: Some(holder.sealed_index),
                sequencer: None,
                nodeset: None,
                replication: None,
            };
            self.seal_and_extend(ctx, metadata, own, request);
        }
        let pause = holder.next_pause(ctx.shared.settings.append_retry_max);
        holder.timer = Some(ctx.timer(Part::Client, pause));
        self.holding.insert(op, holder);
    }
}
