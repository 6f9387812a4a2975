//! The workload of Restate's `append_after_seal_concurrent`, as a sans-IO state machine:
//! it is told of completions and wake-ups and answers with [`Action`]s; the simulator
//! carries them out.
//!
//! 1. Wait for the Logs metadata (`>= MIN`, or the scenario's version with
//!    `metadata.wait_for_version`), then find-tail: the loglet starts `Open(OLDEST)`.
//! 2. `appenders` appenders loop `append("appender-{id}-record{i}")`, stopping on Sealed;
//!    after `warmup_appends` each waits at a barrier.
//! 3. A watcher loops find-tail (every `watch_interval`) until it first sees Sealed.
//! 4. When every appender reached the barrier, they resume and the main task seals.
//! 5. An append right after the seal must fail Sealed; find-tail must report sealed.
//! 6. Once every appender and the watcher stopped, the main task reads `[OLDEST, tail)`.
//! 7. With `workload.trim`: a trim beyond the tail (must be refused), a trim to half the
//!    tail, and a second read.
//!
//! Appends go to the sequencer's node. With `cluster.remote_client`, the main task's
//! seal, find-tails, trims and reads, and the watcher, run on that other client node:
//! the seal is then a remote one, which the sequencer learns of from Sealed replies.

use crate::bindings::{ClientError, MetadataKind, Op, OpResult, TailState};
use crate::history::{Process, describe_error};
use crate::scenario::Scenario;

/// The log the workload writes to.
pub const LOG: u32 = 0;
const OLDEST: u32 = 1;
const MIN_VERSION: u32 = 1;
const WATCHER_WAKE: u64 = 1;
const LOOKUP_WAKE: u64 = 2;
const AFTER_SEAL_WAKE: u64 = 3;
const SEAL_WAKE: u64 = 4;

/// What the workload asks the simulator to do.
#[derive(Debug, Clone)]
pub enum Action {
    /// Invoke a client operation on a client node.
    Request(Process, u32, Op),
    /// Call `on_wake(token)` after this many nanoseconds.
    WakeAfter(u64, u64),
    /// The run failed with this error (as the client saw it).
    Fail(String),
    /// Every step is done.
    Finish,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    WaitMetadata,
    /// Waiting for the Logs on the remote client node too.
    WaitRemoteMetadata,
    /// Pausing before the first log lookup (`workload.lookup_delay`).
    BeforeLookup,
    InitialTail,
    Warmup,
    Sealing,
    /// Pausing after the seal (`workload.after_seal_pause`).
    AfterSeal,
    AppendAfterSeal,
    TailAfterSeal,
    Draining,
    Reading,
    TrimBeyondTail,
    TrimHalf,
    ReadAfterTrim,
    Done,
}

#[derive(Debug, Default, Clone)]
struct Appender {
    /// Appends invoked so far (the `i` of the record name).
    attempts: u32,
    at_barrier: bool,
    stopped: bool,
}

pub struct AppendAfterSeal {
    /// The node with the sequencer: appends go there.
    sequencer: u32,
    /// Where the main task's other operations and the watcher run.
    control: u32,
    lookup_delay: u64,
    seal_delay: u64,
    after_seal_pause: u64,
    trim: bool,
    wait_version: u32,
    warmup: u32,
    watch_interval: u64,
    phase: Phase,
    appenders: Vec<Appender>,
    watcher_stopped: bool,
    sealed_tail: Option<u32>,
}

fn payload(id: u32, i: u32) -> Vec<u8> {
    format!("appender-{id}-record{i}").into_bytes()
}

impl AppendAfterSeal {
    pub fn new(scenario: &Scenario) -> Self {
        let wait_version = if scenario.metadata.wait_for_version {
            scenario.metadata.logs_version
        } else {
            MIN_VERSION
        };
        let sequencer = scenario.cluster.sequencer;
        AppendAfterSeal {
            sequencer,
            control: match scenario.cluster.remote_client {
                0 => sequencer,
                remote => remote,
            },
            lookup_delay: scenario.workload.lookup_delay,
            seal_delay: scenario.workload.seal_delay,
            after_seal_pause: scenario.workload.after_seal_pause,
            trim: scenario.workload.trim,
            wait_version,
            warmup: scenario.workload.warmup_appends,
            watch_interval: scenario.workload.watch_interval,
            phase: Phase::WaitMetadata,
            appenders: vec![Appender::default(); scenario.workload.appenders as usize],
            watcher_stopped: false,
            sealed_tail: None,
        }
    }

    /// What the workload is waiting for, for a run that ran out of time.
    pub fn waiting_for(&self) -> String {
        let stopped = self.appenders.iter().filter(|a| a.stopped).count();
        let at_barrier = self.appenders.iter().filter(|a| a.at_barrier).count();
        format!(
            "phase {:?}; {stopped}/{} appenders stopped, {at_barrier} reached the barrier; watcher {}",
            self.phase,
            self.appenders.len(),
            if self.watcher_stopped {
                "stopped"
            } else {
                "running"
            }
        )
    }

    pub fn start(&mut self) -> Vec<Action> {
        vec![Action::Request(
            Process::Main,
            self.sequencer,
            Op::WaitForMetadata((MetadataKind::Logs, self.wait_version)),
        )]
    }

    fn append(&mut self, id: u32) -> Action {
        let a = &mut self.appenders[id as usize];
        a.attempts += 1;
        Action::Request(
            Process::Appender(id),
            self.sequencer,
            Op::Append((LOG, payload(id, a.attempts))),
        )
    }

    /// An operation of the main task on the control node.
    fn main(&self, op: Op) -> Vec<Action> {
        vec![Action::Request(Process::Main, self.control, op)]
    }

    fn watch(&self) -> Action {
        Action::Request(Process::Watcher, self.control, Op::FindTail(LOG))
    }

    pub fn on_wake(&mut self, token: u64) -> Vec<Action> {
        match (token, self.phase) {
            (WATCHER_WAKE, _) if !self.watcher_stopped => vec![self.watch()],
            (LOOKUP_WAKE, Phase::BeforeLookup) => {
                self.phase = Phase::InitialTail;
                self.main(Op::FindTail(LOG))
            }
            (SEAL_WAKE, Phase::Sealing) => self.main(Op::Seal(LOG)),
            (AFTER_SEAL_WAKE, Phase::AfterSeal) => {
                self.phase = Phase::AppendAfterSeal;
                vec![Action::Request(
                    Process::Main,
                    self.sequencer,
                    Op::Append((LOG, b"failed-record".to_vec())),
                )]
            }
            _ => Vec::new(),
        }
    }

    pub fn on_complete(&mut self, process: Process, result: &OpResult) -> Vec<Action> {
        if let OpResult::Failed(
            e @ (ClientError::UnknownLog(_)
            | ClientError::Unsupported(_)
            | ClientError::Internal(_)),
        ) = result
        {
            return vec![Action::Fail(describe_error(e))];
        }
        match process {
            Process::Main => self.main_step(result),
            Process::Watcher => self.watcher_step(result),
            Process::Appender(id) => self.appender_step(id, result),
        }
    }

    fn main_step(&mut self, result: &OpResult) -> Vec<Action> {
        match (self.phase, result) {
            (Phase::WaitMetadata, OpResult::MetadataReady(_)) if self.control != self.sequencer => {
                self.phase = Phase::WaitRemoteMetadata;
                self.main(Op::WaitForMetadata((MetadataKind::Logs, self.wait_version)))
            }
            (Phase::WaitMetadata | Phase::WaitRemoteMetadata, OpResult::MetadataReady(_)) => {
                self.phase = Phase::BeforeLookup;
                vec![Action::WakeAfter(self.lookup_delay, LOOKUP_WAKE)]
            }
            (Phase::InitialTail, OpResult::Tail(_)) => {
                self.phase = Phase::Warmup;
                let mut actions: Vec<Action> = (0..self.appenders.len() as u32)
                    .map(|id| self.append(id))
                    .collect();
                actions.push(self.watch());
                actions
            }
            (Phase::Sealing, OpResult::Sealed(tail)) => {
                self.sealed_tail = Some(tail_offset(tail));
                self.phase = Phase::AfterSeal;
                vec![Action::WakeAfter(self.after_seal_pause, AFTER_SEAL_WAKE)]
            }
            (Phase::AppendAfterSeal, _) => {
                self.phase = Phase::TailAfterSeal;
                self.main(Op::FindTail(LOG))
            }
            (Phase::TailAfterSeal, OpResult::Tail(tail)) => {
                self.sealed_tail = Some(tail_offset(tail));
                self.phase = Phase::Draining;
                self.maybe_read()
            }
            (Phase::Reading, OpResult::Records(_)) if self.trim => {
                self.phase = Phase::TrimBeyondTail;
                let tail = self.sealed_tail.unwrap_or(OLDEST);
                self.main(Op::Trim((LOG, tail + 5)))
            }
            (Phase::TrimBeyondTail, _) => {
                self.phase = Phase::TrimHalf;
                let tail = self.sealed_tail.unwrap_or(OLDEST);
                self.main(Op::Trim((LOG, (tail / 2).max(OLDEST))))
            }
            (Phase::TrimHalf, OpResult::Trimmed(_)) => {
                self.phase = Phase::ReadAfterTrim;
                let tail = self.sealed_tail.unwrap_or(OLDEST);
                self.main(Op::Read((LOG, OLDEST, tail)))
            }
            (Phase::Reading | Phase::ReadAfterTrim, OpResult::Records(_)) => {
                self.phase = Phase::Done;
                vec![Action::Finish]
            }
            (phase, result) => vec![Action::Fail(format!(
                "main task: unexpected result {result:?} in phase {phase:?}"
            ))],
        }
    }

    fn watcher_step(&mut self, result: &OpResult) -> Vec<Action> {
        match result {
            OpResult::Tail(TailState::Sealed(_)) => {
                self.watcher_stopped = true;
                self.maybe_read()
            }
            OpResult::Tail(TailState::Open(_)) => {
                vec![Action::WakeAfter(self.watch_interval, WATCHER_WAKE)]
            }
            other => vec![Action::Fail(format!(
                "watcher: unexpected find-tail result {other:?}"
            ))],
        }
    }

    fn appender_step(&mut self, id: u32, result: &OpResult) -> Vec<Action> {
        let warmup = self.warmup;
        let a = &mut self.appenders[id as usize];
        match result {
            OpResult::Appended(_) => {}
            OpResult::Failed(ClientError::Sealed) => {
                a.stopped = true;
                return self.maybe_read();
            }
            other => {
                return vec![Action::Fail(format!(
                    "appender-{id}: unexpected result {other:?}"
                ))];
            }
        }
        if a.attempts >= warmup && !a.at_barrier {
            // Wait at the barrier: resume when every appender reached it.
            a.at_barrier = true;
            if self.appenders.iter().all(|a| a.at_barrier) && self.phase == Phase::Warmup {
                self.phase = Phase::Sealing;
                let resume: Vec<u32> = (0..self.appenders.len() as u32)
                    .filter(|&i| !self.appenders[i as usize].stopped)
                    .collect();
                let mut actions: Vec<Action> = resume.into_iter().map(|i| self.append(i)).collect();
                actions.push(Action::WakeAfter(self.seal_delay, SEAL_WAKE));
                return actions;
            }
            return Vec::new();
        }
        vec![self.append(id)]
    }

    /// Reads `[OLDEST, tail)` once everyone stopped and the seal was checked.
    fn maybe_read(&mut self) -> Vec<Action> {
        let everyone_stopped = self.watcher_stopped && self.appenders.iter().all(|a| a.stopped);
        match (self.phase, self.sealed_tail) {
            (Phase::Draining, Some(tail)) if everyone_stopped => {
                self.phase = Phase::Reading;
                self.main(Op::Read((LOG, OLDEST, tail)))
            }
            _ => Vec::new(),
        }
    }
}

fn tail_offset(t: &TailState) -> u32 {
    match *t {
        TailState::Open(o) | TailState::Sealed(o) => o,
    }
}
