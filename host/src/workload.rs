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

use crate::bindings::{ClientError, MetadataKind, Op, OpResult, TailState};
use crate::history::{Process, describe_error};
use crate::scenario::Scenario;

/// The log the workload writes to.
pub const LOG: u32 = 0;
const OLDEST: u32 = 1;
const MIN_VERSION: u32 = 1;
const WATCHER_WAKE: u64 = 1;

/// What the workload asks the simulator to do.
#[derive(Debug, Clone)]
pub enum Action {
    /// Invoke a client operation on the client node.
    Request(Process, Op),
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
    InitialTail,
    Warmup,
    Sealing,
    AppendAfterSeal,
    TailAfterSeal,
    Draining,
    Reading,
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
        AppendAfterSeal {
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
            Op::WaitForMetadata((MetadataKind::Logs, self.wait_version)),
        )]
    }

    fn append(&mut self, id: u32) -> Action {
        let a = &mut self.appenders[id as usize];
        a.attempts += 1;
        Action::Request(
            Process::Appender(id),
            Op::Append((LOG, payload(id, a.attempts))),
        )
    }

    pub fn on_wake(&mut self, token: u64) -> Vec<Action> {
        if token == WATCHER_WAKE && !self.watcher_stopped {
            return vec![Action::Request(Process::Watcher, Op::FindTail(LOG))];
        }
        Vec::new()
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
            (Phase::WaitMetadata, OpResult::MetadataReady(_)) => {
                self.phase = Phase::InitialTail;
                vec![Action::Request(Process::Main, Op::FindTail(LOG))]
            }
            (Phase::InitialTail, OpResult::Tail(_)) => {
                self.phase = Phase::Warmup;
                let mut actions: Vec<Action> = (0..self.appenders.len() as u32)
                    .map(|id| self.append(id))
                    .collect();
                actions.push(Action::Request(Process::Watcher, Op::FindTail(LOG)));
                actions
            }
            (Phase::Sealing, OpResult::Sealed(tail)) => {
                self.sealed_tail = Some(tail_offset(tail));
                self.phase = Phase::AppendAfterSeal;
                vec![Action::Request(
                    Process::Main,
                    Op::Append((LOG, b"failed-record".to_vec())),
                )]
            }
            (Phase::AppendAfterSeal, _) => {
                self.phase = Phase::TailAfterSeal;
                vec![Action::Request(Process::Main, Op::FindTail(LOG))]
            }
            (Phase::TailAfterSeal, OpResult::Tail(tail)) => {
                self.sealed_tail = Some(tail_offset(tail));
                self.phase = Phase::Draining;
                self.maybe_read()
            }
            (Phase::Reading, OpResult::Records(_)) => {
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
                actions.push(Action::Request(Process::Main, Op::Seal(LOG)));
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
                vec![Action::Request(
                    Process::Main,
                    Op::Read((LOG, OLDEST, tail)),
                )]
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
