//! What the sequencer learns from and answers to other nodes: the loglet's tail from an
//! f-majority of the nodeset when it starts (infos), the state it answers a remote
//! GetSequencerState with, the seal made behind its back and how it finds it out (a store
//! answered sealed marks the loglet maybe sealed; a forced seal check, from the periodic
//! tail check, a remote asker or a local find-tail, acts on it), and, with
//! `sequencer.publish = repaired`, the repair of the sealed tail before it is published.
//!
//! A sibling of the sequencer's state in `mod.rs`, reached with `pub(super)`.

use std::collections::BTreeSet;

use super::{Deferred, Route, Routes, Sequencer, State, answer_state};
use crate::bindings::logsandbox::node::host::{Level, RacePoint};
use crate::bindings::logsandbox::node::log_server_protocol::{ReplyHeader, Request};
use crate::bindings::logsandbox::node::messages::SequencerAnswer;
use crate::bindings::logsandbox::node::types::{NodeId, RequestId, TailState};
use crate::ctx::Ctx;
use crate::loglet::{LogletOutcome, fmt_loglet};
use crate::settings::SealDiscovery;
use crate::tasks::{Out as TaskOut, TailSummary, Task};

/// A forced seal check (Restate's `CheckSealTask`): the seal flags already known, and one
/// GetLogletInfo, never resent, to each node not known sealed; it ends when they all
/// answered or at `rpc_retry`, with what came in.
#[derive(Debug, Default)]
pub(super) struct SealCheck {
    asked: BTreeSet<NodeId>,
    answered: BTreeSet<NodeId>,
    /// Remote GetSequencerState askers, answered when the check ends.
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
        self.arm_tail_check(ctx, routes);
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
                Deferred::FindTail(op) => self.find_tail(ctx, routes, op),
                Deferred::State(from, id, check) => {
                    self.state_request(ctx, routes, from, id, check)
                }
            }
        }
    }

    /// A remote node asks for the sequencer's state (Restate's GetSequencerState): the
    /// known global tail, sealed once published, or "sealing" while it drains (the asker
    /// asks again). With `check`, an open sequencer first runs a forced seal check (Restate's
    /// `find_tail_inner` with `force_seal_check`) and answers once it ends.
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
            Some(SequencerAnswer::Tail(TailState::Open(_))) if check => {
                self.force_seal_check(ctx, routes);
                match &mut self.check {
                    Some(c) => c.waiters.push((from, id)),
                    None => {
                        let answer = self.known_state().expect("a started sequencer knows");
                        answer_state(ctx, from, id, answer);
                    }
                }
            }
            Some(answer) => answer_state(ctx, from, id, answer),
        }
    }

    /// Arms the periodic tail check: `sequencer.inactivity_timeout_ms`, plus up to 50%
    /// (Restate's `add_jitter(0.5)`).
    pub(super) fn arm_tail_check(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        let period = ctx.shared.settings.sequencer_tail_check;
        let delay = ctx.shared.rng.add_jitter(period, 50);
        self.timer(ctx, routes, delay, Route::TailCheck);
    }

    /// The periodic tail check fired: a forced seal check, and the next one, until the
    /// loglet is sealed (Restate's `PeriodicTailChecker` stops then).
    pub(super) fn on_tail_check(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        if !matches!(self.state, State::Open) || self.sealing {
            return;
        }
        self.force_seal_check(ctx, routes);
        self.arm_tail_check(ctx, routes);
    }

    /// A forced seal check (Restate's `find_tail_inner` with `force_seal_check`): a loglet
    /// marked maybe sealed is sealed at once; otherwise a `SealCheck` asks the nodes not
    /// known sealed. Nothing while a seal or a check is under way.
    pub(super) fn force_seal_check(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        if !matches!(self.state, State::Open) || self.sealing || self.check.is_some() {
            return;
        }
        if self.maybe_sealed {
            ctx.log(
                Level::Info,
                &format!(
                    "loglet {} may be sealed (a store was answered sealed); sealing it",
                    fmt_loglet(self.loglet)
                ),
            );
            return self.start_sealing(ctx, routes);
        }
        let asked: BTreeSet<NodeId> = self
            .params
            .nodeset
            .iter()
            .copied()
            .filter(|n| !self.nodes.get(n).is_some_and(|v| v.sealed))
            .collect();
        for &node in &asked {
            let req = Request::GetLogletInfo(self.header());
            self.request(ctx, routes, node, Route::CheckInfo, req);
        }
        self.check = Some(SealCheck {
            asked,
            ..SealCheck::default()
        });
        self.check_generation = self.check_generation.wrapping_add(1);
        let generation = self.check_generation;
        let delay = ctx.shared.settings.rpc_retry;
        self.timer(ctx, routes, delay, Route::CheckTimeout(generation));
        self.end_check_if_heard(ctx, routes);
    }

    pub(super) fn on_check_info(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        from: NodeId,
        header: ReplyHeader,
    ) {
        self.observe(from, &header);
        if let Some(check) = &mut self.check {
            check.answered.insert(from);
        }
        self.end_check_if_heard(ctx, routes);
    }

    fn end_check_if_heard(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        if self
            .check
            .as_ref()
            .is_some_and(|c| c.answered.is_superset(&c.asked))
        {
            self.end_check(ctx, routes);
        }
    }

    /// The seal check's timer: it ends with the answers it has.
    pub(super) fn on_check_timeout(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        generation: u32,
    ) {
        if self.check.is_some() && generation == self.check_generation {
            self.end_check(ctx, routes);
        }
    }

    /// The seal check's outcome, as Restate's: sealed on an f-majority, drain and publish;
    /// some node sealed (a partial seal), seal the loglet; else nothing (open, or unknown).
    fn end_check(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes) {
        let Some(check) = self.check.take() else {
            return;
        };
        let sealed = self.nodes.values().filter(|v| v.sealed).count();
        if matches!(self.state, State::Open) && !self.sealing {
            if sealed >= self.f_majority() {
                ctx.log(
                    Level::Info,
                    &format!(
                        "loglet {} was sealed elsewhere (an f-majority is sealed); draining",
                        fmt_loglet(self.loglet)
                    ),
                );
                self.start_drain(ctx, routes);
            } else if sealed > 0 {
                ctx.log(
                    Level::Info,
                    &format!(
                        "loglet {} is sealed on {sealed} node(s), fewer than an f-majority; sealing it",
                        fmt_loglet(self.loglet)
                    ),
                );
                self.start_sealing(ctx, routes);
            }
        }
        let answer = self
            .known_state()
            .expect("a sequencer checks its seal once started");
        for (to, id) in check.waiters {
            answer_state(ctx, to, id, answer);
        }
    }

    /// A store was answered sealed or sealing: the loglet may be sealed behind this
    /// sequencer's back. Restate only marks it (`maybe_sealed`) and drains at the next
    /// forced seal check; `sequencer.seal_discovery = on-sealed-reply` seals at once.
    pub(super) fn on_sealed_reply(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, from: NodeId) {
        if !matches!(self.state, State::Open) || self.sealing {
            return;
        }
        if !self.maybe_sealed {
            self.maybe_sealed = true;
            ctx.env.reached(
                RacePoint::MaybeSealed,
                &format!(
                    "N{from} answered a store of loglet {} sealed",
                    fmt_loglet(self.loglet)
                ),
            );
        }
        if ctx.shared.settings.seal_discovery == SealDiscovery::OnSealedReply {
            self.force_seal_check(ctx, routes);
        }
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
