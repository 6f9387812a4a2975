//! The periodic tail checker of the loglets this node uses without sequencing them
//! (Restate's `PeriodicTailChecker` on a node that is not the sequencer): a find-tail as
//! soon as the node first uses the loglet, then again every `bifrost.remote_tail_check_ms`
//! (2 s, hard-coded in Restate) plus up to 50%, until the loglet is known sealed. When the
//! first use is itself a find-tail (a find-tail, a read), that find-tail is the checker's
//! first round rather than a second one sent beside it. It keeps
//! this node's known tail of the loglet fresh, which is what a trim here is clamped below
//! (#5377 needs a trim that comes before the first check ends). The sequencer's own
//! checker is the sequencer's (`sequencer/remote.rs`).

use super::loglets::{Loglets, Target};
use crate::bindings::logsandbox::node::client::OpId;
use crate::bindings::logsandbox::node::metadata::ReplicatedParams;
use crate::bindings::logsandbox::node::types::LogletId;
use crate::ctx::{Ctx, Part};
use crate::tasks::Kind;

/// The find-tails of the checkers have operation ids from here on: below the client's own
/// operations, above any the host gives, and never completed to anyone.
const CHECKER_OPS: OpId = 1 << 62;

/// Where the checker of one loglet stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Its find-tail `op` is running.
    Running(OpId),
    /// Waiting for timer `id`.
    Waiting(u64),
    /// The loglet is sealed: it stopped.
    Stopped,
}

/// The checker of one loglet.
#[derive(Debug)]
pub(super) struct Checker {
    params: ReplicatedParams,
    stage: Stage,
}

impl Loglets {
    /// This node uses the loglet of `params`: unless it sequences it, a checker starts the
    /// first time (Restate starts one with each loglet client it creates). `finding` is
    /// the using operation's own find-tail, if it runs one: the checker's first round.
    pub(super) fn use_loglet(
        &mut self,
        ctx: &mut Ctx,
        params: &ReplicatedParams,
        finding: Option<OpId>,
    ) {
        if params.sequencer == ctx.shared.me || self.checkers.contains_key(&params.loglet_id) {
            return;
        }
        match finding {
            Some(op) => {
                let checker = Checker {
                    params: params.clone(),
                    stage: Stage::Running(op),
                };
                self.checkers.insert(params.loglet_id, checker);
                self.check_ops.insert(op, (params.loglet_id, false));
            }
            None => self.check_now(ctx, params.clone()),
        }
    }

    fn check_now(&mut self, ctx: &mut Ctx, params: ReplicatedParams) {
        let op = CHECKER_OPS.saturating_add(self.checks_started);
        self.checks_started = self.checks_started.saturating_add(1);
        let loglet = params.loglet_id;
        self.checkers.insert(
            loglet,
            Checker {
                params: params.clone(),
                stage: Stage::Running(op),
            },
        );
        self.check_ops.insert(op, (loglet, true));
        self.start_task(ctx, op, Kind::FindTail, params, 0);
    }

    /// A task ended: if it was a round of a checker, the checker waits for its next
    /// round, or stops once the loglet is sealed. Returns whether the task was the
    /// checker's own (nobody else waits for it).
    /// The task's outcome was learnt first (`learn`): a sealed one is in `known_sealed`.
    pub(super) fn on_check_done(&mut self, ctx: &mut Ctx, op: OpId) -> bool {
        let Some((loglet, own)) = self.check_ops.remove(&op) else {
            return false;
        };
        let Some(checker) = self.checkers.get_mut(&loglet) else {
            return own;
        };
        if self.known_sealed.contains(&loglet) {
            checker.stage = Stage::Stopped;
            return own;
        }
        let period = ctx.shared.settings.remote_tail_check;
        let delay = ctx.shared.rng.add_jitter(period, 50);
        let timer = ctx.timer(Part::Client, delay);
        self.routes.targets.insert(timer, Target::Checker(loglet));
        checker.stage = Stage::Waiting(timer);
        own
    }

    /// A checker's timer fired: its next find-tail, unless the loglet is known sealed.
    pub(super) fn on_check_timer(&mut self, ctx: &mut Ctx, loglet: LogletId, timer: u64) {
        let Some(checker) = self.checkers.get_mut(&loglet) else {
            return;
        };
        if checker.stage != Stage::Waiting(timer) {
            return;
        }
        if self.known_sealed.contains(&loglet) {
            checker.stage = Stage::Stopped;
            return;
        }
        let params = checker.params.clone();
        self.check_now(ctx, params);
    }
}
