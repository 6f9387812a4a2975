//! The appender waves of the sequencer: how one batch of an append reaches a write
//! quorum. Each batch gets an [`Appender`]; a wave sends its Store to every writeable
//! node of the nodeset (shuffled, minus the graylist), each store only once that node's
//! local tail or the global tail has reached the batch's first offset. A write quorum of
//! Ok commits the batch; Sealed from an f-majority ends it Sealed; otherwise it backs
//! off and sends another wave, with a timeout adapted to the observed round trips. A
//! store answered sealed also marks the loglet maybe sealed (see `remote.rs`), and a
//! drain cancels the appenders still in flight.
//!
//! A sibling of the sequencer's state in `mod.rs`, reached with `pub(super)`.

use std::collections::{BTreeMap, BTreeSet};

use super::{Deferred, Route, Routes, Sequencer, State};
use crate::bindings::logsandbox::node::client::{ClientError, OpId};
use crate::bindings::logsandbox::node::host::Level;
use crate::bindings::logsandbox::node::log_server_protocol::{
    ReplyHeader, Request, RequestHeader, Store, StoreFlags,
};
use crate::bindings::logsandbox::node::types::{LogletOffset, NodeId, Status};
use crate::ctx::Ctx;
use crate::loglet::LogletOutcome;
use crate::mutants;

/// Where the store of the current wave stands on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StoreTask {
    /// Waiting for the node's local tail (or the global tail) to reach the first offset.
    WaitingTail,
    InFlight {
        wave: u32,
        sent_at: u64,
    },
    Done,
}

/// One batch on its way to a write quorum.
#[derive(Debug)]
pub(super) struct Appender {
    first: LogletOffset,
    payloads: Vec<Vec<u8>>,
    ops: Vec<OpId>,
    wave: u32,
    tasks: BTreeMap<NodeId, StoreTask>,
    graylist: BTreeSet<NodeId>,
    committed: BTreeSet<NodeId>,
    sealed: BTreeSet<NodeId>,
    /// A NextWave timer is armed.
    pub(super) backing_off: bool,
}

impl Appender {
    fn last(&self) -> LogletOffset {
        self.first + self.payloads.len() as u32 - 1
    }
}

/// The longest a store wave waits.
const MAX_WAVE_TIMEOUT: u64 = 60 * crate::time::SECONDS;

impl Sequencer {
    /// Takes an append of one record: deferred while the tail is unknown, queued past
    /// `max_inflight_records`, failed `Sealed` once the sequencer drains, else stored by a
    /// new appender.
    pub fn append(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, op: OpId, payload: Vec<u8>) {
        match self.state {
            State::Starting { .. } => self.deferred.push(Deferred::Append(op, payload)),
            State::Draining
            | State::Repairing { .. }
            | State::Publishing { .. }
            | State::Sealed(_) => ctx.finish(op, LogletOutcome::Failed(ClientError::Sealed)),
            State::Open => {
                if self.inflight_records >= ctx.shared.settings.max_inflight_records {
                    self.backlog.push_back((op, payload));
                } else {
                    self.start_appender(ctx, routes, vec![op], vec![payload]);
                }
            }
        }
    }

    fn start_appender(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        ops: Vec<OpId>,
        payloads: Vec<Vec<u8>>,
    ) {
        let first = self.next_offset;
        self.next_offset += payloads.len() as u32;
        self.inflight_records += payloads.len() as u32;
        let appender = Appender {
            first,
            payloads,
            ops,
            wave: 0,
            tasks: BTreeMap::new(),
            graylist: BTreeSet::new(),
            committed: BTreeSet::new(),
            sealed: BTreeSet::new(),
            backing_off: false,
        };
        self.appenders.insert(first, appender);
        self.send_wave(ctx, routes, first);
    }

    /// Sends a wave of stores for the appender at `first`.
    pub(super) fn send_wave(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        first: LogletOffset,
    ) {
        let replication = self.params.replication as usize;
        let Some(appender) = self.appenders.get_mut(&first) else {
            return;
        };
        appender.wave += 1;
        appender.backing_off = false;
        // Reset the graylist when what is left of the nodeset cannot make a write quorum
        // with the copies already made. Sealed nodes take no store: they do not count, or
        // a graylisted node that might still answer (even Sealed) would never be asked again.
        let nodes = &self.nodes;
        let candidates = self
            .params
            .nodeset
            .iter()
            .filter(|n| {
                !appender.graylist.contains(n)
                    && !appender.committed.contains(n)
                    && !nodes.get(n).is_some_and(|v| v.sealed)
            })
            .count();
        if appender.committed.len() + candidates < replication {
            appender.graylist.clear();
        }
        let mut spread: Vec<NodeId> = self
            .params
            .nodeset
            .iter()
            .copied()
            .filter(|n| !appender.graylist.contains(n) && !appender.committed.contains(n))
            .collect();
        ctx.shared.rng.shuffle(&mut spread);
        for node in &spread {
            appender.tasks.insert(*node, StoreTask::WaitingTail);
        }
        let wave = appender.wave;
        let timeout = self.wave_timeout(ctx, wave);
        self.timer(ctx, routes, timeout, Route::WaveTimeout { first, wave });
        for node in spread {
            self.try_send_store(ctx, routes, first, node);
        }
        self.evaluate(ctx, routes, first);
    }

    /// Sends the appender's store to `node` if the node can take it now.
    fn try_send_store(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        first: LogletOffset,
        node: NodeId,
    ) {
        let Some(appender) = self.appenders.get_mut(&first) else {
            return;
        };
        if appender.tasks.get(&node) != Some(&StoreTask::WaitingTail) {
            return;
        }
        let view = self.nodes[&node];
        if view.sealed {
            appender.tasks.insert(node, StoreTask::Done);
            appender.sealed.insert(node);
            return;
        }
        if view.local_tail < first && self.known_global_tail < first {
            return;
        }
        appender.tasks.insert(
            node,
            StoreTask::InFlight {
                wave: appender.wave,
                sent_at: ctx.now,
            },
        );
        let store = Store {
            header: RequestHeader {
                loglet_id: self.loglet,
                known_global_tail: self.known_global_tail,
            },
            first_offset: first,
            sequencer: ctx.shared.me,
            flags: StoreFlags::empty(),
            timeout_at: Some(ctx.now + ctx.shared.settings.store_timeout),
            payloads: appender.payloads.clone(),
        };
        self.request(
            ctx,
            routes,
            node,
            Route::Store { first },
            Request::Store(store),
        );
    }

    pub(super) fn on_stored(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        from: NodeId,
        first: LogletOffset,
        header: ReplyHeader,
    ) {
        self.observe(from, &header);
        let mut rtt = None;
        if let Some(appender) = self.appenders.get_mut(&first) {
            if let Some(StoreTask::InFlight { sent_at, .. }) = appender.tasks.get(&from) {
                rtt = Some(ctx.now - sent_at);
            }
            appender.tasks.insert(from, StoreTask::Done);
            match header.status {
                Status::Ok => {
                    appender.committed.insert(from);
                }
                Status::Sealed | Status::Sealing => {
                    appender.sealed.insert(from);
                    appender.graylist.insert(from);
                }
                status => {
                    ctx.env.log(
                        Level::Debug,
                        &format!("store {first} on N{from} failed: {status:?}"),
                    );
                    appender.graylist.insert(from);
                }
            }
            self.evaluate(ctx, routes, first);
        }
        if let Some(rtt) = rtt {
            self.sample_rtt(rtt);
        }
        self.wake_waiting(ctx, routes, Some(from));
        if matches!(header.status, Status::Sealed | Status::Sealing) {
            self.on_sealed_reply(ctx, routes, from);
        }
    }

    /// The timer of wave `wave` of the appender at `first` fired: the stores of that wave
    /// still unanswered are given up, their nodes graylisted, and the appender decides
    /// again.
    pub(super) fn on_wave_timeout(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        first: LogletOffset,
        wave: u32,
    ) {
        let Some(appender) = self.appenders.get_mut(&first) else {
            return;
        };
        if appender.wave != wave {
            return;
        }
        let mut timed_out = false;
        for (node, task) in appender.tasks.iter_mut() {
            if *task != StoreTask::Done {
                *task = StoreTask::Done;
                appender.graylist.insert(*node);
                timed_out = true;
            }
        }
        if timed_out {
            ctx.env.log(
                Level::Debug,
                &format!("store wave {wave} of offset {first} timed out"),
            );
            self.evaluate(ctx, routes, first);
        }
    }

    /// Decides an appender's fate after something changed: commit, sealed, back off, or wait.
    fn evaluate(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, first: LogletOffset) {
        let f_majority = self.f_majority();
        let Some(appender) = self.appenders.get(&first) else {
            return;
        };
        let quorum = if mutants::COMMIT_BEFORE_QUORUM {
            1
        } else {
            self.params.replication as usize
        };
        if appender.committed.len() >= quorum {
            let appender = self.appenders.remove(&first).expect("checked above");
            let last = appender.last();
            self.known_global_tail = self.known_global_tail.max(last + 1);
            self.inflight_records -= appender.payloads.len() as u32;
            for (i, op) in appender.ops.into_iter().enumerate() {
                ctx.finish(op, LogletOutcome::Appended(appender.first + i as u32));
            }
            self.after_appender(ctx, routes, true);
        } else if appender.sealed.len() >= f_majority {
            let appender = self.appenders.remove(&first).expect("checked above");
            self.inflight_records -= appender.payloads.len() as u32;
            for op in appender.ops {
                ctx.finish(op, LogletOutcome::Failed(ClientError::Sealed));
            }
            self.after_appender(ctx, routes, false);
        } else if !appender.backing_off
            && appender
                .tasks
                .values()
                .all(|t| matches!(t, StoreTask::Done))
        {
            if let Some(a) = self.appenders.get_mut(&first) {
                a.backing_off = true;
            }
            // Every node of this wave answered and no quorum: back off, then retry.
            let wave = self.appenders.get(&first).map_or(1, |a| a.wave);
            let base = self.wave_timeout(ctx, wave);
            let delay = ctx.shared.rng.jitter(base, 30);
            self.timer(ctx, routes, delay, Route::NextWave { first });
        }
    }

    /// The drain: every appender still in flight ends `reconfiguration-needed` (its
    /// batch has not committed; its stores may still land, and late replies are dropped).
    pub(super) fn cancel_appenders(&mut self, ctx: &mut Ctx) {
        let why = format!(
            "the sequencer of loglet {} is draining",
            crate::loglet::fmt_loglet(self.loglet)
        );
        for (_, appender) in std::mem::take(&mut self.appenders) {
            self.inflight_records -= appender.payloads.len() as u32;
            for op in appender.ops {
                let error = ClientError::ReconfigurationNeeded(why.clone());
                ctx.finish(op, LogletOutcome::Failed(error));
            }
        }
    }

    /// After an appender ended: wake stores waiting for the global tail, start queued
    /// appends, and finish a drain.
    fn after_appender(&mut self, ctx: &mut Ctx, routes: &mut dyn Routes, tail_moved: bool) {
        if tail_moved {
            self.wake_waiting(ctx, routes, None);
        }
        if matches!(self.state, State::Open) {
            while self.inflight_records < ctx.shared.settings.max_inflight_records {
                let Some((op, payload)) = self.backlog.pop_front() else {
                    break;
                };
                self.start_appender(ctx, routes, vec![op], vec![payload]);
            }
        }
        self.maybe_publish(ctx, routes);
    }

    /// Sends the stores that waited for a tail that has now moved (of `node`, or the
    /// global tail when `None`).
    pub(super) fn wake_waiting(
        &mut self,
        ctx: &mut Ctx,
        routes: &mut dyn Routes,
        node: Option<NodeId>,
    ) {
        let waiting: Vec<(LogletOffset, NodeId)> = self
            .appenders
            .iter()
            .flat_map(|(first, a)| {
                a.tasks
                    .iter()
                    .filter(|(n, t)| **t == StoreTask::WaitingTail && node.is_none_or(|x| x == **n))
                    .map(move |(n, _)| (*first, *n))
            })
            .collect();
        let mut touched = BTreeSet::new();
        for (first, n) in waiting {
            self.try_send_store(ctx, routes, first, n);
            touched.insert(first);
        }
        for first in touched {
            self.evaluate(ctx, routes, first);
        }
    }

    /// The timeout of a store wave: adaptive on the observed store round trips (as TCP's
    /// RTO: smoothed RTT + 4 deviations), at least `store_wave_timeout`, doubled per wave,
    /// at most 60 s.
    fn wave_timeout(&self, ctx: &Ctx, wave: u32) -> u64 {
        let floor = ctx.shared.settings.store_wave_timeout;
        let adaptive = self.srtt.map_or(floor, |s| s + 4 * self.rttvar);
        let doubled = adaptive
            .max(floor)
            .saturating_mul(1 << wave.saturating_sub(1).min(16));
        doubled.min(MAX_WAVE_TIMEOUT)
    }

    fn sample_rtt(&mut self, rtt: u64) {
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                self.rttvar = (3 * self.rttvar + srtt.abs_diff(rtt)) / 4;
                self.srtt = Some((7 * srtt + rtt) / 8);
            }
        }
    }
}
