//! The sequencer's seal: Seal to the nodeset until an f-majority is sealed, then the
//! drain (no new appends; the ones in flight are cancelled), then the sealed tail (its
//! own known global tail, or a repaired one with `sequencer.publish = repaired`) is
//! written down and published, and the seal and find-tail operations waiting for it are
//! answered. Nothing is acknowledged beyond a published sealed tail.
//!
//! A sibling of the sequencer's state in `mod.rs`, reached with `pub(super)`.

use super::{Deferred, Route, Routes, Sequencer, State};
use crate::bindings::logsandbox::node::client::{ClientError, OpId};
use crate::bindings::logsandbox::node::host::{Level, RacePoint};
use crate::bindings::logsandbox::node::log_server_protocol::{ReplyHeader, Request, Seal};
use crate::bindings::logsandbox::node::storage::WriteOp;
use crate::bindings::logsandbox::node::types::{LogletOffset, NodeId, Status, TailState};
use crate::ctx::{Ctx, Part};
use crate::keys;
use crate::loglet::{LogletOutcome, fmt_loglet};
use crate::mutants;
use crate::settings::Publish;

impl Sequencer {
    /// Seals the loglet for `op`, answered with the sealed tail once it is published (at
    /// once if it already is).
    pub fn seal(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, op: OpId) {
        match self.state {
            State::Starting { .. } => return self.deferred.push(Deferred::Seal(op)),
            State::Sealed(t) => {
                return ctx.finish(op, LogletOutcome::Sealed(TailState::Sealed(t)));
            }
            State::Open | State::Draining | State::Repairing { .. } | State::Publishing { .. } => {
                self.seal_ops.push(op)
            }
        }
        self.start_sealing(ctx, routes);
    }

    /// Seals the loglet on the nodeset, unless a seal is under way or done.
    pub(super) fn start_sealing(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
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

    pub(super) fn send_seals(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
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

    pub(super) fn on_sealed(
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
    /// queued ones, cancel the ones in flight (Restate's drain: an append whose batch has
    /// not committed ends `reconfiguration-needed`; its stores may still land), then
    /// publish.
    pub(super) fn start_drain(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        self.state = State::Draining;
        self.sealing = true;
        ctx.env.reached(
            RacePoint::DrainStarted,
            &format!(
                "the sequencer of loglet {} drains {} append(s) in flight",
                fmt_loglet(self.loglet),
                self.appenders.len()
            ),
        );
        for (op, _) in std::mem::take(&mut self.backlog) {
            ctx.finish(op, LogletOutcome::Failed(ClientError::Sealed));
        }
        if mutants::PUBLISH_BEFORE_DRAIN {
            let tail = self.known_global_tail;
            return self.publish(ctx, tail);
        }
        if mutants::DRAIN_WITHOUT_CANCEL {
            // The appends in flight are left to end by themselves: the drain waits for them.
            return self.maybe_publish(ctx, routes);
        }
        self.cancel_appenders(ctx);
        self.maybe_publish(ctx, routes);
    }

    /// Once no append is in flight, publishes the sealed tail: the known global tail
    /// (Restate's), or with `sequencer.publish = repaired` the one a repair finds.
    pub(super) fn maybe_publish(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        if !matches!(self.state, State::Draining) || !self.appenders.is_empty() {
            return;
        }
        if ctx.shared.settings.publish == Publish::OwnTail {
            let tail = self.known_global_tail;
            return self.publish(ctx, tail);
        }
        self.start_repair(ctx, routes);
    }

    /// The sealed tail is decided: write it down, then answer.
    pub(super) fn publish(&mut self, ctx: &mut Ctx, tail: LogletOffset) {
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
            ctx.finish(op, LogletOutcome::Sealed(TailState::Sealed(tail)));
        }
        for op in std::mem::take(&mut self.tail_waiters) {
            ctx.finish(op, LogletOutcome::Tail(TailState::Sealed(tail)));
        }
    }
}
