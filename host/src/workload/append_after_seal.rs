//! The workload of Restate's `append_after_seal_concurrent`:
//!
//! 1. Wait for the Logs metadata (`>= MIN`, or the scenario's version with
//!    `metadata.wait_for_version`), then find-tail: the loglet starts `Open(OLDEST)`.
//! 2. `appenders` appenders loop `append("appender-{id}-record{i}")`, stopping on Sealed
//!    or reconfiguration-needed (an append the draining sequencer cancelled);
//!    after `warmup_appends` each waits at a barrier.
//! 3. A watcher loops find-tail (every `watch_interval`) until it first sees Sealed.
//! 4. When every appender reached the barrier, they resume and the main task seals.
//! 5. An append right after the seal must fail Sealed; find-tail must report sealed.
//! 6. Once every appender and the watcher stopped, the main task reads `[OLDEST, tail)`.
//! 7. With `workload.trim`: a trim beyond the tail (clamped below it, or refused; never in
//!    force at or past it), a trim to half the tail, and a second read.
//!
//! Appends go to the sequencer's node. With `cluster.remote_client`, the main task's
//! seal, find-tails, trims and reads, and the watcher, run on that other client node:
//! the seal is then a remote one, which the sequencer learns of from Sealed replies.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{Action, LOG, Setup, Workload};
use crate::check::CheckResult;
use crate::check::reads::ReadAudit;
use crate::op::{
    ChainTail, ClientError, LogTail, Lsn, MetadataKind, NodeId, OLDEST_LSN, Op, OpId, OpResult,
    Version, describe_error, describe_result, split_tail,
};
use crate::record::history::{History, OpRecord, Process};
use crate::time::SimTime;

const WATCHER_WAKE: u64 = 1;
const LOOKUP_WAKE: u64 = 2;
const AFTER_SEAL_WAKE: u64 = 3;
const SEAL_WAKE: u64 = 4;

/// The knobs of the workload (the scenario's `workload.*` keys).
#[derive(Debug, Clone)]
pub struct AppendAfterSealConfig {
    /// Concurrent appenders.
    pub appenders: u32,
    /// Appends each makes before the barrier and the seal.
    pub warmup_appends: u32,
    /// Pause of the watcher between two find-tails.
    pub watch_interval: Duration,
    /// Pause between the metadata being ready and the first find-tail.
    pub lookup_delay: Duration,
    /// Pause between the barrier and the seal.
    pub seal_delay: Duration,
    /// Pause between the seal and the append that must fail.
    pub after_seal_pause: Duration,
    /// After the read: a trim beyond the tail (clamped below it, or refused), a trim to
    /// half, a read.
    pub trim: bool,
    /// The Logs version the client waits for before its first find-tail.
    pub wait_version: Version,
    /// Where the main task's seal, find-tails, trims and reads and the watcher run, if
    /// not on the sequencer's node.
    pub control: Option<NodeId>,
}

impl Default for AppendAfterSealConfig {
    fn default() -> Self {
        AppendAfterSealConfig {
            appenders: 20,
            warmup_appends: 200,
            watch_interval: Duration::from_millis(1),
            lookup_delay: Duration::ZERO,
            seal_delay: Duration::ZERO,
            after_seal_pause: Duration::ZERO,
            trim: false,
            wait_version: 1,
            control: None,
        }
    }
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

/// Restate's append/seal test body. See the module documentation.
pub struct AppendAfterSeal {
    config: AppendAfterSealConfig,
    /// The node with the sequencer: appends go there (known from the setup).
    sequencer: NodeId,
    /// Where the main task's other operations and the watcher run.
    control: NodeId,
    phase: Phase,
    appenders: Vec<Appender>,
    watcher_stopped: bool,
    sealed_tail: Option<Lsn>,
}

fn payload(id: u32, i: u32) -> Vec<u8> {
    format!("appender-{id}-record{i}").into_bytes()
}

impl AppendAfterSeal {
    /// The workload with these knobs.
    pub fn new(config: AppendAfterSealConfig) -> Self {
        AppendAfterSeal {
            appenders: vec![Appender::default(); config.appenders as usize],
            config,
            sequencer: 0,
            control: 0,
            phase: Phase::WaitMetadata,
            watcher_stopped: false,
            sealed_tail: None,
        }
    }

    fn append(&mut self, id: u32) -> Action {
        let a = &mut self.appenders[id as usize];
        a.attempts += 1;
        Action::Invoke {
            process: Process::Appender(id),
            node: self.sequencer,
            op: Op::Append(LOG, payload(id, a.attempts)),
        }
    }

    /// An operation of the main task on the control node.
    fn main(&self, op: Op) -> Vec<Action> {
        vec![Action::Invoke {
            process: Process::Main,
            node: self.control,
            op,
        }]
    }

    fn watch(&self) -> Action {
        Action::Invoke {
            process: Process::Watcher,
            node: self.control,
            op: Op::FindTail(LOG),
        }
    }

    fn main_step(&mut self, result: &OpResult) -> Vec<Action> {
        match (self.phase, result) {
            (Phase::WaitMetadata, OpResult::MetadataReady(_)) if self.control != self.sequencer => {
                self.phase = Phase::WaitRemoteMetadata;
                self.main(Op::WaitForMetadata(
                    MetadataKind::Logs,
                    self.config.wait_version,
                ))
            }
            (Phase::WaitMetadata | Phase::WaitRemoteMetadata, OpResult::MetadataReady(_)) => {
                self.phase = Phase::BeforeLookup;
                vec![Action::WakeAfter(self.config.lookup_delay, LOOKUP_WAKE)]
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
                self.sealed_tail = Some(split_tail(tail).0);
                self.phase = Phase::AfterSeal;
                vec![Action::WakeAfter(
                    self.config.after_seal_pause,
                    AFTER_SEAL_WAKE,
                )]
            }
            (Phase::AppendAfterSeal, _) => {
                self.phase = Phase::TailAfterSeal;
                self.main(Op::FindTail(LOG))
            }
            (Phase::TailAfterSeal, OpResult::Tail(tail)) => {
                self.sealed_tail = Some(split_tail(tail).0);
                self.phase = Phase::Draining;
                self.maybe_read()
            }
            (Phase::Reading, OpResult::Records(_)) if self.config.trim => {
                self.phase = Phase::TrimBeyondTail;
                let tail = self.sealed_tail.unwrap_or(OLDEST_LSN);
                self.main(Op::Trim(LOG, tail.saturating_add(5)))
            }
            (Phase::TrimBeyondTail, _) => {
                self.phase = Phase::TrimHalf;
                let tail = self.sealed_tail.unwrap_or(OLDEST_LSN);
                self.main(Op::Trim(LOG, (tail / 2).max(OLDEST_LSN)))
            }
            (Phase::TrimHalf, OpResult::Trimmed(_)) => {
                self.phase = Phase::ReadAfterTrim;
                let tail = self.sealed_tail.unwrap_or(OLDEST_LSN);
                self.main(Op::Read(LOG, OLDEST_LSN, tail))
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
            OpResult::Tail(ChainTail {
                tail: LogTail::Sealed(_),
                ..
            }) => {
                self.watcher_stopped = true;
                self.maybe_read()
            }
            OpResult::Tail(ChainTail {
                tail: LogTail::Open(_),
                ..
            }) => {
                vec![Action::WakeAfter(self.config.watch_interval, WATCHER_WAKE)]
            }
            other => vec![Action::Fail(format!(
                "watcher: unexpected find-tail result {other:?}"
            ))],
        }
    }

    fn appender_step(&mut self, id: u32, result: &OpResult) -> Vec<Action> {
        let warmup = self.config.warmup_appends;
        let Some(a) = self.appenders.get_mut(id as usize) else {
            return Vec::new();
        };
        match result {
            OpResult::Appended(_) => {}
            // Restate's test stops an appender on either: a draining sequencer cancels the
            // appends in flight with reconfiguration-needed.
            OpResult::Failed(ClientError::Sealed | ClientError::ReconfigurationNeeded(_)) => {
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
                actions.push(Action::WakeAfter(self.config.seal_delay, SEAL_WAKE));
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
                self.main(Op::Read(LOG, OLDEST_LSN, tail))
            }
            _ => Vec::new(),
        }
    }
}

impl Workload for AppendAfterSeal {
    fn name(&self) -> &str {
        "append-after-seal"
    }

    fn on_start(&mut self, setup: &Setup) -> Vec<Action> {
        self.sequencer = setup.cluster.sequencer;
        self.control = self.config.control.unwrap_or(self.sequencer);
        Vec::new()
    }

    /// The test body starts when the sequencer's node first comes up.
    fn on_node_started(&mut self, _now: SimTime, node: NodeId, incarnation: u32) -> Vec<Action> {
        if node != self.sequencer || incarnation != 1 {
            return Vec::new();
        }
        vec![Action::Invoke {
            process: Process::Main,
            node: self.sequencer,
            op: Op::WaitForMetadata(MetadataKind::Logs, self.config.wait_version),
        }]
    }

    fn on_complete(
        &mut self,
        _now: SimTime,
        _op: OpId,
        process: Process,
        result: &OpResult,
    ) -> Vec<Action> {
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
            _ => Vec::new(),
        }
    }

    fn on_wake(&mut self, _now: SimTime, token: u64) -> Vec<Action> {
        match (token, self.phase) {
            (WATCHER_WAKE, _) if !self.watcher_stopped => vec![self.watch()],
            (LOOKUP_WAKE, Phase::BeforeLookup) => {
                self.phase = Phase::InitialTail;
                self.main(Op::FindTail(LOG))
            }
            (SEAL_WAKE, Phase::Sealing) => self.main(Op::Seal(LOG)),
            (AFTER_SEAL_WAKE, Phase::AfterSeal) => {
                self.phase = Phase::AppendAfterSeal;
                vec![Action::Invoke {
                    process: Process::Main,
                    node: self.sequencer,
                    op: Op::Append(LOG, b"failed-record".to_vec()),
                }]
            }
            _ => Vec::new(),
        }
    }

    fn waiting_for(&self) -> String {
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

    /// The checks of Restate's test body, which judge the main task's operations by
    /// their place in it.
    fn expectations(&self, history: &History) -> Vec<CheckResult> {
        let view = View::new(history);
        vec![
            initial_tail(&view),
            appenders_committed(&view, &self.config),
            sealed_tail_beyond_commits(&view),
            first_sealed_beyond_acks(&view),
            append_after_seal_fails(&view),
            find_tail_after_seal(&view),
            read_returns_committed(&view),
        ]
    }
}

/// The history, sorted the ways the test body's checks look at it.
struct View<'a> {
    main: Vec<&'a OpRecord>,
    /// Per appender: acknowledged offsets with their payloads.
    acked: BTreeMap<u32, Vec<(Lsn, &'a [u8])>>,
    first_watcher_seal: Option<Lsn>,
    /// The payload of every append invoked, acknowledged or not.
    sent: BTreeSet<&'a [u8]>,
}

impl<'a> View<'a> {
    fn new(history: &'a History) -> Self {
        let mut view = View {
            main: Vec::new(),
            acked: BTreeMap::new(),
            first_watcher_seal: None,
            sent: BTreeSet::new(),
        };
        let mut watcher_seals: Vec<(u64, Lsn)> = Vec::new();
        for op in history.ops() {
            if let Some(payload) = op.op.payload() {
                view.sent.insert(payload);
            }
            match op.process {
                Process::Main => view.main.push(op),
                Process::Appender(id) => {
                    let entry = view.acked.entry(id).or_default();
                    if let (Some(offset), Some(payload)) = (op.ok_offset(), op.op.payload()) {
                        entry.push((offset, payload));
                    }
                }
                Process::Watcher => {
                    if let (
                        Some(t),
                        Some(ChainTail {
                            tail: LogTail::Sealed(o),
                            ..
                        }),
                    ) = (op.completed_at(), op.tail())
                    {
                        watcher_seals.push((t.0, o));
                    }
                }
                _ => {}
            }
        }
        view.first_watcher_seal = watcher_seals
            .iter()
            .min_by_key(|(t, _)| *t)
            .map(|(_, o)| *o);
        view
    }

    fn all_acked(&self) -> impl Iterator<Item = Lsn> + '_ {
        self.acked.values().flatten().map(|(o, _)| *o)
    }

    fn max_acked(&self) -> Option<Lsn> {
        self.all_acked().max()
    }

    /// The main task's operations of one kind, in order.
    fn main_ops(&self, f: &str) -> Vec<&'a OpRecord> {
        self.main.iter().copied().filter(|o| o.f() == f).collect()
    }

    /// The tail the main task's seal published.
    fn sealed_tail(&self) -> Option<Lsn> {
        self.main_ops("seal").iter().find_map(|o| match o.result() {
            Some(OpResult::Sealed(ChainTail {
                tail: LogTail::Sealed(t),
                ..
            })) => Some(*t),
            _ => None,
        })
    }
}

fn describe(r: Option<&OpResult>) -> String {
    r.map_or("none".into(), describe_result)
}

fn initial_tail(view: &View) -> CheckResult {
    let first = view.main_ops("find-tail").first().and_then(|o| o.result());
    CheckResult::new(
        "initial_tail_open_oldest",
        matches!(
            first,
            Some(OpResult::Tail(ChainTail {
                tail: LogTail::Open(1),
                ..
            }))
        ),
        format!("first find-tail: {}", describe(first)),
    )
}

fn appenders_committed(view: &View, config: &AppendAfterSealConfig) -> CheckResult {
    let short: Vec<String> = (0..config.appenders)
        .filter_map(|id| {
            let n = view.acked.get(&id).map_or(0, |v| v.len());
            (n < config.warmup_appends as usize).then(|| format!("appender-{id}: {n}"))
        })
        .collect();
    let total: usize = view.acked.values().map(|v| v.len()).sum();
    CheckResult::new(
        "appenders_committed_min",
        short.is_empty(),
        if short.is_empty() {
            format!(
                "{} appenders committed {total} records, each at least {}",
                config.appenders, config.warmup_appends
            )
        } else {
            format!(
                "below {} committed: {}",
                config.warmup_appends,
                short.join(", ")
            )
        },
    )
}

fn sealed_tail_beyond_commits(view: &View) -> CheckResult {
    let never = "the seal never completed";
    beyond_acks(
        "sealed_tail_beyond_commits",
        view.sealed_tail(),
        view,
        "sealed tail",
        never,
    )
}

fn first_sealed_beyond_acks(view: &View) -> CheckResult {
    let (tail, never) = (
        view.first_watcher_seal,
        "the watcher never saw a sealed tail",
    );
    let seen = "the watcher first saw sealed tail";
    beyond_acks("first_sealed_tail_beyond_acks", tail, view, seen, never)
}

/// A sealed tail lies beyond every acknowledged offset: the seal lost no commit.
fn beyond_acks(name: &str, tail: Option<Lsn>, view: &View, seen: &str, never: &str) -> CheckResult {
    match (tail, view.max_acked()) {
        (Some(tail), Some(max)) => CheckResult::new(
            name,
            tail > max,
            format!("{seen} {tail}, last acknowledged offset {max}"),
        ),
        (None, _) => CheckResult::new(name, false, never),
        (Some(tail), None) => {
            CheckResult::new(name, true, format!("{seen} {tail}, nothing acknowledged"))
        }
    }
}

fn append_after_seal_fails(view: &View) -> CheckResult {
    let result = view.main_ops("append").first().and_then(|o| o.result());
    CheckResult::new(
        "append_after_seal_fails_sealed",
        matches!(result, Some(OpResult::Failed(ClientError::Sealed))),
        format!("append after the seal: {}", describe(result)),
    )
}

fn find_tail_after_seal(view: &View) -> CheckResult {
    let result = view.main_ops("find-tail").get(1).and_then(|o| o.result());
    CheckResult::new(
        "find_tail_after_seal_sealed",
        matches!(
            result,
            Some(OpResult::Tail(ChainTail {
                tail: LogTail::Sealed(_),
                ..
            }))
        ),
        format!("find-tail after the seal: {}", describe(result)),
    )
}

/// The final read returns every acknowledged record with its payload; records beyond
/// the acknowledged ones may be read (appends sealed in flight), but each must carry a
/// payload some append sent, and no payload may appear twice.
fn read_returns_committed(view: &View) -> CheckResult {
    let name = "read_returns_committed";
    let read = view.main_ops("read").into_iter().next();
    let Some(OpResult::Records(records)) = read.and_then(|o| o.result()) else {
        return CheckResult::new(
            name,
            false,
            format!(
                "no read result: {}",
                describe(read.and_then(|o| o.result()))
            ),
        );
    };
    let acks = view.acked.values().flatten().map(|(o, p)| (*o, *p, true));
    // Its appends have no recovery strategy: each record is written at most once.
    let audit = ReadAudit::new(records, acks, &view.sent, &BTreeSet::new());
    let acked = view.all_acked().count();
    CheckResult::new(
        name,
        audit.is_clean(),
        if audit.is_clean() {
            format!(
                "read {} records; all {acked} acknowledged ones present with their payloads, no stray or repeated record",
                records.len()
            )
        } else {
            format!("read {} records; {audit}", records.len())
        },
    )
}
