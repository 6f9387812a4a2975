//! The sequencer's seal: Seal to the nodeset until an f-majority is sealed, then the
//! drain (no new appends; the ones in flight are resolved), then the sealed tail is
//! written down and published, and the seal and find-tail operations waiting for it are
//! answered. Nothing is acknowledged beyond a published sealed tail.
//!
//! A sibling of the sequencer's state in `mod.rs`, reached with `pub(super)`.

use super::{Deferred, Route, Routes, Sequencer, State};
use crate::bindings::logsandbox::node::client::{ClientError, OpId};
use crate::bindings::logsandbox::node::host::Level;
use crate::bindings::logsandbox::node::log_server_protocol::{ReplyHeader, Request, Seal};
use crate::bindings::logsandbox::node::storage::WriteOp;
use crate::bindings::logsandbox::node::types::{LogletOffset, NodeId, Status, TailState};
use crate::ctx::{Ctx, Part};
use crate::keys;
use crate::loglet::{LogletOutcome, fmt_loglet};
use crate::mutants;

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
    /// queued ones, resend the waves backing off (so the drain ends as soon as the appends
    /// in flight are resolved), and publish once none is left.
    pub(super) fn start_drain(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        self.state = State::Draining;
        for (op, _) in std::mem::take(&mut self.backlog) {
            ctx.finish(op, LogletOutcome::Failed(ClientError::Sealed));
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
    pub(super) fn maybe_publish(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        if !matches!(self.state, State::Draining) || !self.appenders.is_empty() {
            return;
        }
        if mutants::PUBLISH_WITHOUT_REPAIR {
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
