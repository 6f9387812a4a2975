//! The chain writer (Restate's `LogChainWriter`): every chain change this node makes goes
//! through it, one put at a time. It applies the queued commands (up to 1024) to the
//! *cached* Logs and writes the result at the next version with `matches-version` of the
//! cached one. On a failed precondition it declares the next version observed, waits for
//! the cache to reach it (from a peer or the store), and tries again on that value, where
//! a command whose segment is no longer the tail fails `segment-mismatch`. The commands:
//! extend the chain (a seal-and-extend's second step), seal it with the marker (a reader
//! or a find-tail that found the tail loglet sealed and the chain open, R8), and drop the
//! segments a trim left empty (the watchdog's `trim_prefix`, R14).
//!
//! A command handed over is carried out even if its caller goes away: the writer answers
//! it (through `ctx.shared.chain_answers`) whatever became of the caller.

use std::collections::VecDeque;

use crate::bindings::logsandbox::node::client::{
    ChainTail, ClientError, Extended, LogTail, OpId, OpResult,
};
use crate::bindings::logsandbox::node::host::{Level, RacePoint};
use crate::bindings::logsandbox::node::metadata::{
    Logs, MetadataValue, Precondition, ReplicatedParams, StoreError, StoreResponse,
};
use crate::bindings::logsandbox::node::types::{LogId, Lsn, RequestId, SegmentIndex, Version};
use crate::chain::{self, ChainView};
use crate::ctx::{Ctx, Part};
use crate::loglet::fmt_loglet;
use crate::metadata::store_call::{Ask, CallTimer, StoreCall};
use crate::mutants;

/// Most commands one put carries.
const BATCH: usize = 1024;

/// Extend `log`'s chain with a segment at `base`, if its tail is still segment
/// `expected_index` (the one sealed); completes `op` with `extended`.
#[derive(Debug, Clone)]
pub struct Extend {
    /// The client operation the writer completes.
    pub op: OpId,
    /// The log.
    pub log: LogId,
    /// The tail segment the caller sealed.
    pub expected_index: SegmentIndex,
    /// The new segment's base: the sealed tail.
    pub base: Lsn,
    /// The new segment's loglet.
    pub params: ReplicatedParams,
}

/// Seal `log`'s chain at `tail` with the seal marker, if its tail is still segment
/// `expected_index` (the one whose loglet is sealed); completes `op` with `sealed`, the
/// chain's sealed tail (Restate's `seal_log_chain`, as a reader or a find-tail runs it).
#[derive(Debug, Clone)]
pub struct SealChain {
    /// The operation the writer completes.
    pub op: OpId,
    /// The log.
    pub log: LogId,
    /// The tail segment whose loglet is sealed.
    pub expected_index: SegmentIndex,
    /// The loglet's sealed tail, as an LSN.
    pub tail: Lsn,
}

/// Drop the segments of `log`'s chain wholly before `until` (Restate's `trim_prefix`, run
/// by the watchdog after a trim): the segment that holds `until` stays, and so does the
/// tail. No segment is expected: a trim does not depend on where the chain ends.
#[derive(Debug, Clone)]
pub struct TrimPrefix {
    /// The operation the writer completes (the node's own).
    pub op: OpId,
    /// The log.
    pub log: LogId,
    /// The first LSN that stays: the log's trim point plus one.
    pub until: Lsn,
}

/// A change of one chain, queued for the next put.
#[derive(Debug, Clone)]
pub enum Command {
    /// Add a segment (a seal-and-extend's second step).
    Extend(Extend),
    /// Put the seal marker (a reader's or a find-tail's chain seal).
    Seal(SealChain),
    /// Drop the segments a trim left empty.
    TrimPrefix(TrimPrefix),
}

impl Command {
    fn op(&self) -> OpId {
        match self {
            Command::Extend(c) => c.op,
            Command::Seal(c) => c.op,
            Command::TrimPrefix(c) => c.op,
        }
    }

    fn log(&self) -> LogId {
        match self {
            Command::Extend(c) => c.log,
            Command::Seal(c) => c.log,
            Command::TrimPrefix(c) => c.log,
        }
    }
}

/// What a command did to the value being built: the answer its operation gets once the
/// put is done (an extension's version is filled in then), and whether it changed the
/// chain at all.
struct Applied {
    command: Command,
    answer: OpResult,
    changed: bool,
    what: String,
}

/// A put on the wire, with the commands it carries and their answers.
struct InFlight {
    call: StoreCall,
    /// The version it was made from (its precondition).
    from: Version,
    value: Logs,
    applied: Vec<Applied>,
}

/// What the cache must do after the writer heard from the store.
pub enum Written {
    /// Nothing more.
    Nothing,
    /// Offer this value as the node's own write.
    Offer(MetadataValue),
    /// The precondition failed: the store is ahead of the cached version; the cache
    /// should learn this version.
    Behind(Version),
}

/// The chain writer's queue and its put in flight.
#[derive(Default)]
pub struct ChainWriter {
    queue: VecDeque<Command>,
    inflight: Option<InFlight>,
    /// After a failed precondition: the cached version must reach this first.
    waiting_for: Option<Version>,
    /// The zero-delay timer that flushes the queue: a command is written once the call
    /// that queued it is over, as a task of its own would (so a crash can land between).
    flush_timer: Option<u64>,
}

impl ChainWriter {
    /// Queues a command; the flush follows at once, in a later call.
    pub fn enqueue(&mut self, ctx: &mut Ctx, command: Command) {
        self.queue.push_back(command);
        self.arm(ctx);
    }

    fn arm(&mut self, ctx: &mut Ctx) {
        if self.inflight.is_none() && self.waiting_for.is_none() && self.flush_timer.is_none() {
            self.flush_timer = Some(ctx.timer(Part::Metadata, 0));
        }
    }

    /// The cache took `version`: a writer waiting for it flushes again.
    pub fn on_cached(&mut self, ctx: &mut Ctx, version: Version) {
        if self.waiting_for.is_some_and(|v| version >= v) {
            self.waiting_for = None;
            if !self.queue.is_empty() {
                self.arm(ctx);
            }
        }
    }

    /// Whether a store answer is for the writer's put.
    pub fn answers(&mut self, id: RequestId) -> bool {
        self.inflight.as_mut().is_some_and(|f| f.call.answers(id))
    }

    /// A timer of the metadata plane: the flush, or the put's retry or deadline. Returns
    /// whether it was the writer's.
    pub fn on_timer(&mut self, ctx: &mut Ctx, id: u64, cached: Option<&Logs>) -> bool {
        if self.flush_timer == Some(id) {
            self.flush_timer = None;
            self.flush(ctx, cached);
            return true;
        }
        let Some(flight) = &mut self.inflight else {
            return false;
        };
        match flight.call.on_timer(ctx, id) {
            CallTimer::NotMine => false,
            CallTimer::Resent => true,
            CallTimer::TimedOut => {
                let why = "no answer in time".to_string();
                self.on_response(ctx, StoreResponse::Failed(StoreError::Unavailable(why)));
                true
            }
        }
    }

    /// Applies the queued commands to the cached Logs and puts the result.
    fn flush(&mut self, ctx: &mut Ctx, cached: Option<&Logs>) {
        if self.inflight.is_some() || self.waiting_for.is_some() || self.queue.is_empty() {
            return;
        }
        let Some(cached) = cached else {
            for command in self.queue.drain(..) {
                let error = ClientError::UnknownLog(command.log());
                ctx.shared
                    .chain_answers
                    .push((command.op(), OpResult::Failed(error)));
            }
            return;
        };
        let from = cached.version;
        let mut value = cached.clone();
        value.version = from.saturating_add(1);
        let mut applied = Vec::new();
        let take = self.queue.len().min(BATCH);
        for command in self.queue.drain(..take).collect::<Vec<_>>() {
            match apply(&mut value, &command) {
                Ok(done) => applied.push(done),
                Err(error) => ctx
                    .shared
                    .chain_answers
                    .push((command.op(), OpResult::Failed(error))),
            }
        }
        if !applied.iter().any(|a| a.changed) {
            // Nothing to write (a chain sealed already): the answers stand as they are.
            for done in applied {
                ctx.shared
                    .chain_answers
                    .push((done.command.op(), done.answer));
            }
            return self.arm_if_queued(ctx);
        }
        let what: Vec<&str> = applied
            .iter()
            .filter(|a| a.changed)
            .map(|a| a.what.as_str())
            .collect();
        let precondition = if mutants::EXTEND_WITHOUT_CAS {
            Precondition::None
        } else {
            Precondition::MatchesVersion(from)
        };
        ctx.env.reached(
            RacePoint::ChainPut,
            &format!("v{} over v{from}: {}", value.version, what.join("; ")),
        );
        let call = StoreCall::start(
            ctx,
            Ask::Put(MetadataValue::Logs(value.clone()), precondition),
        );
        self.inflight = Some(InFlight {
            call,
            from,
            value,
            applied,
        });
    }

    fn arm_if_queued(&mut self, ctx: &mut Ctx) {
        if !self.queue.is_empty() {
            self.arm(ctx);
        }
    }

    /// The store's answer to the put: done, behind, or a failure to retry or give up on.
    pub fn on_response(&mut self, ctx: &mut Ctx, response: StoreResponse) -> Written {
        let Some(mut flight) = self.inflight.take() else {
            return Written::Nothing;
        };
        match response {
            StoreResponse::PutDone => {
                let version = flight.value.version;
                for done in flight.applied {
                    let answer = match done.answer {
                        OpResult::Extended(extended) => OpResult::Extended(Extended {
                            version,
                            ..extended
                        }),
                        other => other,
                    };
                    ctx.shared.chain_answers.push((done.command.op(), answer));
                }
                self.arm_if_queued(ctx);
                Written::Offer(MetadataValue::Logs(flight.value))
            }
            StoreResponse::Failed(StoreError::FailedPrecondition(stored)) => {
                // Someone else changed the Logs: wait for the next version, then apply the
                // commands again to it.
                let next = flight.from.saturating_add(1);
                ctx.log(
                    Level::Info,
                    &format!(
                        "chain put over v{} failed its precondition (the store holds v{stored}); waiting for v{next}",
                        flight.from
                    ),
                );
                for done in flight.applied.into_iter().rev() {
                    self.queue.push_front(done.command);
                }
                self.waiting_for = Some(next);
                Written::Behind(next)
            }
            StoreResponse::Failed(StoreError::Unavailable(why)) => {
                ctx.log(
                    Level::Info,
                    &format!("chain put: metadata store unavailable ({why}); retrying"),
                );
                let delay = flight.call.retry.next_delay();
                flight.call.again_after(ctx, delay);
                self.inflight = Some(flight);
                Written::Nothing
            }
            StoreResponse::Failed(StoreError::Terminal(why)) => {
                for done in flight.applied {
                    let error = ClientError::Internal(format!("the chain put failed: {why}"));
                    ctx.shared
                        .chain_answers
                        .push((done.command.op(), OpResult::Failed(error)));
                }
                self.arm_if_queued(ctx);
                Written::Nothing
            }
            StoreResponse::Value(_) => {
                for done in flight.applied {
                    let error =
                        ClientError::Internal("the store answered a put with a value".into());
                    ctx.shared
                        .chain_answers
                        .push((done.command.op(), OpResult::Failed(error)));
                }
                self.arm_if_queued(ctx);
                Written::Nothing
            }
        }
    }
}

/// Applies one command to `logs`: its chain's tail must still be the segment the caller
/// sealed (else `segment-mismatch`), and the chain's own rules must take the change.
fn apply(logs: &mut Logs, command: &Command) -> Result<Applied, ClientError> {
    let log = command.log();
    let chain = logs
        .chains
        .iter_mut()
        .find(|c| c.log_id == log)
        .ok_or(ClientError::UnknownLog(log))?;
    let tail = ChainView(chain)
        .tail()
        .map(|t| t.index())
        .ok_or(ClientError::UnknownLog(log))?;
    let expected = match command {
        Command::Extend(c) => Some(c.expected_index),
        Command::Seal(c) => Some(c.expected_index),
        Command::TrimPrefix(_) => None,
    };
    if expected.is_some_and(|e| e != tail) {
        return Err(ClientError::SegmentMismatch(tail));
    }
    let refused = |e: chain::ChainError| ClientError::Internal(format!("log {log}: {e}"));
    match command {
        Command::Extend(c) => {
            let index = chain::extend(chain, c.base, c.params.clone()).map_err(refused)?;
            Ok(Applied {
                what: format!(
                    "log {log} segment {index} ({}) from LSN {}",
                    fmt_loglet(c.params.loglet_id),
                    c.base
                ),
                answer: OpResult::Extended(Extended {
                    segment_index: index,
                    base_lsn: c.base,
                    version: 0,
                }),
                changed: true,
                command: command.clone(),
            })
        }
        Command::TrimPrefix(c) => {
            let before: Vec<SegmentIndex> = chain.segments.iter().map(|s| s.index).collect();
            let changed = chain::trim_prefix(chain, c.until);
            let dropped = before.len() - chain.segments.len();
            Ok(Applied {
                what: format!(
                    "log {log} trimmed before LSN {}: segments {} dropped",
                    c.until,
                    before[..dropped]
                        .iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                answer: OpResult::Trimmed(c.until.saturating_sub(1)),
                changed,
                command: command.clone(),
            })
        }
        Command::Seal(c) => {
            let (sealed_at, changed) = chain::seal(chain, c.tail).map_err(refused)?;
            Ok(Applied {
                what: format!("log {log} sealed at LSN {sealed_at}"),
                answer: OpResult::Sealed(ChainTail {
                    segment_index: tail,
                    tail: LogTail::Sealed(sealed_at),
                }),
                changed,
                command: command.clone(),
            })
        }
    }
}
