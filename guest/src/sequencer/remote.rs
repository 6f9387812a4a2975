//! What the sequencer learns from and answers to other nodes: the loglet's tail from an
//! f-majority of the nodeset when it starts (infos), the state it answers a remote
//! GetSequencerState with and the seal check that may come first, a seal made behind its
//! back, and the repair of the sealed tail on the log-servers before it is published.
//!
//! A sibling of the sequencer's state in `mod.rs`, reached with `pub(super)`.

use std::collections::{BTreeMap, BTreeSet};

use super::{Deferred, Route, Routes, Sequencer, State, answer_state};
use crate::bindings::logsandbox::node::host::Level;
use crate::bindings::logsandbox::node::log_server_protocol::{ReplyHeader, Request};
use crate::bindings::logsandbox::node::messages::SequencerAnswer;
use crate::bindings::logsandbox::node::types::{NodeId, RequestId, TailState};
use crate::ctx::Ctx;
use crate::loglet::{LogletOutcome, fmt_loglet};
use crate::tasks::{Out as TaskOut, TailSummary, Task};

/// A seal check for remote askers: GetLogletInfo to the nodeset, to learn whether the
/// loglet was sealed behind the sequencer's back.
#[derive(Debug, Default)]
pub(super) struct SealCheck {
    infos: BTreeMap<NodeId, ReplyHeader>,
    waiters: Vec<(NodeId, RequestId)>,
}

impl Sequencer {
    pub(super) fn ask_infos(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        let State::Starting { infos } = &self.state else {
            return;
        };
        let answered: BTreeSet<NodeId> = infos.keys().copied().collect();
        self.ask_infos_of(ctx, routes, &answered, Route::Info, Route::InfoRetry);
    }

    /// GetLogletInfo to every node of the nodeset that has not `answered` (replies come
    /// back on `route`), and a timer to ask again (`retry`).
    fn ask_infos_of(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        answered: &BTreeSet<NodeId>,
        route: Route,
        retry: Route,
    ) {
        let missing: Vec<NodeId> = self
            .params
            .nodeset
            .iter()
            .copied()
            .filter(|n| !answered.contains(n))
            .collect();
        for node in missing {
            let req = Request::GetLogletInfo(self.header());
            self.request(ctx, routes, node, route, req);
        }
        let delay = ctx.shared.settings.rpc_retry;
        self.timer(ctx, routes, delay, retry);
    }

    pub(super) fn on_info(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        from: NodeId,
        header: ReplyHeader,
    ) {
        self.observe(from, &header);
        let f_majority = self.f_majority();
        let State::Starting { infos } = &mut self.state else {
            return;
        };
        infos.insert(from, header);
        if infos.len() < f_majority {
            return;
        }
        let summary = TailSummary::of(infos);
        let (max_local, max_global) = (summary.max_local, summary.max_global);
        let sealed = summary.sealed.len();
        // A restarted sequencer takes the highest tail an f-majority reports as committed;
        // Restate would instead seal this loglet and move to a new segment.
        let tail = max_local.max(max_global);
        self.next_offset = tail;
        self.known_global_tail = tail;
        self.state = State::Open;
        if sealed >= f_majority {
            // Sealed while no sequencer ran here: find and repair the sealed tail first.
            self.known_global_tail = max_global;
            self.sealing = true;
            self.start_repair(ctx, routes);
        }
        ctx.log(
            Level::Info,
            &format!(
                "sequencer for loglet {} started at tail {tail} ({})",
                fmt_loglet(self.loglet),
                if sealed >= f_majority {
                    "sealed"
                } else {
                    "open"
                }
            ),
        );
        for deferred in std::mem::take(&mut self.deferred) {
            match deferred {
                Deferred::Append(op, payload) => self.append(ctx, routes, op, payload),
                Deferred::Seal(op) => self.seal(ctx, routes, op),
                Deferred::FindTail(op) => self.find_tail(ctx, op),
                Deferred::State(from, id, check) => {
                    self.state_request(ctx, routes, from, id, check)
                }
            }
        }
    }

    /// A remote node asks for the sequencer's state (Restate's GetSequencerState): the
    /// known global tail, sealed once published, or "sealing" while it drains (the asker
    /// asks again). With `check`, an open sequencer first asks the log-servers whether the
    /// loglet was sealed behind its back; if any is, it starts sealing (idempotent).
    pub fn state_request(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        from: NodeId,
        id: RequestId,
        check: bool,
    ) {
        match self.known_state() {
            None => self.deferred.push(Deferred::State(from, id, check)),
            Some(SequencerAnswer::Tail(TailState::Open(_))) if check => match &mut self.check {
                Some(c) => c.waiters.push((from, id)),
                None => {
                    self.check = Some(SealCheck {
                        infos: BTreeMap::new(),
                        waiters: vec![(from, id)],
                    });
                    self.ask_check_infos(ctx, routes);
                }
            },
            Some(answer) => answer_state(ctx, from, id, answer),
        }
    }

    pub(super) fn ask_check_infos(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        let Some(check) = &self.check else {
            return;
        };
        let answered: BTreeSet<NodeId> = check.infos.keys().copied().collect();
        self.ask_infos_of(ctx, routes, &answered, Route::CheckInfo, Route::CheckRetry);
    }

    pub(super) fn on_check_info(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        from: NodeId,
        header: ReplyHeader,
    ) {
        self.observe(from, &header);
        let f_majority = self.f_majority();
        let Some(check) = &mut self.check else {
            return;
        };
        check.infos.insert(from, header);
        // One sealed node is news enough. "Not sealed" takes a write quorum of unsealed
        // answers: fewer, and the silent nodes could be a sealed f-majority (with 2
        // log-servers and replication 2, one node is an f-majority).
        let sealed = check.infos.values().any(|h| h.sealed);
        let unsealed = check.infos.values().filter(|h| !h.sealed).count();
        let quorum = self.params.replication as usize;
        if check.infos.len() < f_majority || (!sealed && unsealed < quorum) {
            return;
        }
        let check = self.check.take().expect("checked above");
        // Sealed (at least partly) behind our back: say so, finish the seal, then drain.
        let answer = match self.known_state() {
            Some(SequencerAnswer::Tail(TailState::Open(_))) if sealed => SequencerAnswer::Sealing,
            known => known.expect("a sequencer checks its seal once started"),
        };
        for (to, id) in check.waiters {
            answer_state(ctx, to, id, answer);
        }
        if sealed {
            self.start_sealing(ctx, routes);
        }
    }

    /// A remote seal (by another node): once an f-majority of the nodeset is known to be
    /// sealed, stop taking appends, drain, and publish the sealed tail.
    pub(super) fn check_remote_seal(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        if !matches!(self.state, State::Open) || self.sealing {
            return;
        }
        // Runs on every Stored reply: count before anything else.
        if self.nodes.values().filter(|v| v.sealed).count() < self.f_majority() {
            return;
        }
        ctx.log(
            Level::Info,
            &format!(
                "loglet {} was sealed elsewhere (an f-majority is sealed); draining",
                fmt_loglet(self.loglet)
            ),
        );
        self.start_drain(ctx, routes);
    }

    /// An append that ended Sealed may have left records beyond the known global tail on
    /// some log-servers. A find-tail on the log-servers takes the highest local tail of the
    /// sealed nodes and repairs what lies below it, so the sequencer does the same before it
    /// publishes: every reader then agrees on the sealed tail, and no record below it sits on
    /// fewer than a write quorum.
    pub(super) fn start_repair(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        let (task, out) = Task::repair_sealed(self.params.clone());
        self.state = State::Repairing {
            task: Box::new(task),
            timer: 0,
        };
        self.run_repair(ctx, routes, out);
    }

    /// Carries out what the repair asked for.
    pub(super) fn run_repair(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, out: Vec<TaskOut>) {
        for item in out {
            match item {
                TaskOut::Request(node, request) => {
                    self.request(ctx, routes, node, Route::Repair, request)
                }
                TaskOut::Timer | TaskOut::PatientTimer => {
                    let State::Repairing { timer, .. } = &mut self.state else {
                        return;
                    };
                    *timer = timer.wrapping_add(1);
                    let generation = *timer;
                    let delay = ctx.shared.settings.rpc_retry;
                    self.timer(ctx, routes, delay, Route::RepairTimer(generation));
                }
                // The repair never asks the sequencer: that is us.
                TaskOut::AskSequencer { .. } => {}
                TaskOut::Done(LogletOutcome::Tail(TailState::Sealed(tail))) => {
                    return self.publish(ctx, tail.max(self.known_global_tail));
                }
                TaskOut::Done(other) => {
                    // Not sealed on an f-majority any more (disks lost), or the repair gave
                    // up for now: start over; the seal is not published until it is sound.
                    ctx.log(
                        Level::Warn,
                        &format!(
                            "repair of loglet {} ended {other:?}; starting over",
                            fmt_loglet(self.loglet)
                        ),
                    );
                    return self.start_repair(ctx, routes);
                }
            }
        }
    }
}
