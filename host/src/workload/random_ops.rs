//! The random-operations workload: several processes on the client nodes issue a seeded
//! mix of appends, reads, find-tails, trims and seals, one operation at a time each, with
//! a pause between two; a nemesis may crash and restart log-servers and cut the sequencer
//! off from one of them. At the end the nemesis heals everything, and the main process
//! reads the whole log back, so every acknowledged record is judged once more.
//!
//! - Each process first waits for the run's Logs on its node, then draws operations by
//!   weight. Appends go to the sequencer's node (payload `w<process>-<n>`); the other
//!   operations run on the process's own node. Read ranges and trim points are drawn
//!   around the highest tail seen so far, so some trims land beyond the tail and must be
//!   refused.
//! - A seal is only drawn in the last quarter of the operations: a log sealed early
//!   would leave the rest of the run with nothing but refused appends.
//! - The nemesis keeps at most one fault at a time (one log-server down, one link cut, or
//!   one direction of a link held and then released in order), so a write quorum stays
//!   reachable and the run can always finish.

use std::time::Duration;

use rand::Rng;

use super::{Action, Cluster, LOG, Setup, Workload};
use crate::fault::Fault;
use crate::latency::Latency;
use crate::net::envelope::Endpoint;
use crate::op::{
    Lsn, MetadataKind, NodeId, OLDEST, OLDEST_LSN, Op, OpId, OpResult, SealAndExtend, split_tail,
};
use crate::record::history::Process;
use crate::seeds::{self, SimRng};
use crate::time::{MILLIS, SimTime};

/// The knobs of the random-operations workload.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomOpsConfig {
    /// Concurrent processes, spread over the client nodes. Default 6.
    pub processes: u32,
    /// Operations in all (the initial metadata waits aside). Default 300.
    pub ops: u64,
    /// A process's pause between two operations. Default `0..2ms`.
    pub think: Latency,
    /// Weights of append, read, find-tail, seal, trim, seal-and-extend. Default 20, 3, 4,
    /// 1, 1, 0.
    pub weights: [u32; 6],
    /// The recovery strategy of the appends (Restate's appender holds on a sealed
    /// segment for the next); None: plain loglet appends, which fail on a sealed one.
    /// Default None.
    pub append_strategy: Option<crate::op::RecoveryStrategy>,
    /// The nemesis crashes and restarts log-servers. Default false.
    pub crashes: bool,
    /// The nemesis cuts the sequencer off from a log-server, both ways. Default false.
    pub partitions: bool,
    /// The nemesis holds the messages of one link between the sequencer and a log-server
    /// (one way), then releases them, in order. Default false.
    pub holds: bool,
    /// Time between the end of one fault and the next. Default `100ms..400ms`.
    pub fault_interval: Latency,
    /// How long a fault lasts. Default `20ms..200ms`.
    pub fault_duration: Latency,
}

impl Default for RandomOpsConfig {
    fn default() -> Self {
        RandomOpsConfig {
            processes: 6,
            ops: 300,
            think: Latency::Uniform(0, 2 * MILLIS),
            weights: [20, 3, 4, 1, 1, 0],
            append_strategy: None,
            crashes: false,
            partitions: false,
            holds: false,
            fault_interval: Latency::Uniform(100 * MILLIS, 400 * MILLIS),
            fault_duration: Latency::Uniform(20 * MILLIS, 200 * MILLIS),
        }
    }
}

/// Wake-up tokens: a process's own token is its index.
const NEMESIS_STRIKE: u64 = 1 << 32;
const NEMESIS_HEAL: u64 = (1 << 32) + 1;
const FINAL_CHECK: u64 = (1 << 32) + 2;
/// How long the cluster settles after the nemesis heals, before the final read.
const SETTLE: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProcState {
    /// Waiting for its node to start.
    Down,
    /// Waiting for the Logs on its node.
    Waiting,
    /// Between two operations.
    Idle,
    /// An operation in flight.
    Busy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Active {
    None,
    Crashed(NodeId),
    Cut(NodeId),
    Held(Endpoint, Endpoint),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Final {
    Running,
    /// The nemesis healed; waiting for the cluster to settle.
    Settling,
    FindTail,
    Read,
    Done,
}

/// The random-operations workload. See the module documentation.
pub struct RandomOps {
    config: RandomOpsConfig,
    rng: SimRng,
    cluster: Option<Cluster>,
    procs: Vec<(NodeId, ProcState)>,
    issued: u64,
    appends: u64,
    highest_tail: u32,
    active: Active,
    stage: Final,
}

impl RandomOps {
    /// The workload with these knobs.
    pub fn new(config: RandomOpsConfig) -> RandomOps {
        RandomOps {
            config,
            rng: seeds::rng(0, "workload"),
            cluster: None,
            procs: Vec::new(),
            issued: 0,
            appends: 0,
            highest_tail: OLDEST,
            active: Active::None,
            stage: Final::Running,
        }
    }

    fn cluster(&self) -> &Cluster {
        self.cluster.as_ref().expect("the workload started")
    }

    fn nemesis(&self) -> bool {
        self.config.crashes || self.config.partitions || self.config.holds
    }

    fn pause(&mut self, process: usize) -> Action {
        let think = self.config.think.sample(&mut self.rng);
        Action::WakeAfter(Duration::from_nanos(think), process as u64)
    }

    /// The next operation of process `p`, or the end of the run.
    fn next_op(&mut self, p: usize) -> Vec<Action> {
        if self.issued >= self.config.ops {
            self.procs[p].1 = ProcState::Idle;
            return self.maybe_wind_down();
        }
        self.issued += 1;
        let (node, _) = self.procs[p];
        let mut weights = self.config.weights;
        if self.issued * 4 < self.config.ops * 3 {
            weights[3] = 0;
        }
        if weights.iter().all(|w| *w == 0) {
            weights[2] = 1;
        }
        let total: u32 = weights.iter().sum();
        let mut draw = self.rng.random_range(0..total);
        let mut kind = 0;
        while draw >= weights[kind] {
            draw -= weights[kind];
            kind += 1;
        }
        let reach = self.highest_tail.saturating_add(3);
        let (node, op) = match kind {
            0 => {
                self.appends += 1;
                let payload = format!("w{p}-{}", self.appends);
                let op = match self.config.append_strategy {
                    Some(s) => Op::AppendRecovering(LOG, payload.into_bytes(), s),
                    None => Op::append(LOG, payload),
                };
                (self.cluster().sequencer, op)
            }
            1 => {
                let from = self.rng.random_range(OLDEST..=self.highest_tail);
                let to = self.rng.random_range(from..=reach);
                (node, Op::Read(LOG, from.into(), to.into()))
            }
            2 => (node, Op::FindTail(LOG)),
            3 => (node, Op::Seal(LOG)),
            // The cluster's sequencer keeps sequencing the new segment: appends go to it.
            5 => (
                node,
                Op::SealAndExtend(SealAndExtend {
                    log: LOG,
                    min_version: None,
                    segment_index: None,
                    sequencer: Some(self.cluster().sequencer),
                    nodeset: None,
                    replication: None,
                }),
            ),
            _ => (
                node,
                Op::Trim(LOG, self.rng.random_range(OLDEST..=reach).into()),
            ),
        };
        self.procs[p].1 = ProcState::Busy;
        vec![Action::Invoke {
            process: Process::Worker(p as u32),
            node,
            op,
        }]
    }

    /// Once every operation is issued and done: the nemesis heals, then the final read.
    fn maybe_wind_down(&mut self) -> Vec<Action> {
        let all_idle = self.procs.iter().all(|(_, s)| *s != ProcState::Busy);
        if self.stage != Final::Running || self.issued < self.config.ops || !all_idle {
            return Vec::new();
        }
        self.stage = Final::Settling;
        let mut actions = self.heal();
        actions.push(Action::WakeAfter(SETTLE, FINAL_CHECK));
        actions
    }

    fn heal(&mut self) -> Vec<Action> {
        let seq = self.cluster().sequencer;
        let fault = match std::mem::replace(&mut self.active, Active::None) {
            Active::None => return Vec::new(),
            Active::Crashed(n) => Fault::Restart(n),
            Active::Cut(n) => Fault::Heal {
                from: Endpoint::Node(seq),
                to: Endpoint::Node(n),
                both_ways: true,
            },
            Active::Held(from, to) => Fault::Release { from, to },
        };
        vec![Action::Fault(fault)]
    }

    fn strike(&mut self) -> Vec<Action> {
        if self.stage != Final::Running || self.active != Active::None {
            return Vec::new();
        }
        let servers = self.cluster().log_servers.clone();
        let seq = self.cluster().sequencer;
        let victim = servers[self.rng.random_range(0..servers.len())];
        let kinds: Vec<u8> = [
            (self.config.crashes, 0),
            (self.config.partitions, 1),
            (self.config.holds, 2),
        ]
        .into_iter()
        .filter_map(|(on, kind)| on.then_some(kind))
        .collect();
        let kind = kinds[self.rng.random_range(0..kinds.len())];
        let (fault, active) = match kind {
            0 => (Fault::Crash(victim), Active::Crashed(victim)),
            1 => {
                let fault = Fault::Partition {
                    from: Endpoint::Node(seq),
                    to: Endpoint::Node(victim),
                    both_ways: true,
                    until: None,
                };
                (fault, Active::Cut(victim))
            }
            _ => {
                let (from, to) = if self.rng.random_bool(0.5) {
                    (Endpoint::Node(seq), Endpoint::Node(victim))
                } else {
                    (Endpoint::Node(victim), Endpoint::Node(seq))
                };
                (Fault::Hold { from, to }, Active::Held(from, to))
            }
        };
        self.active = active;
        let lasts = self.config.fault_duration.sample(&mut self.rng);
        vec![
            Action::Fault(fault),
            Action::WakeAfter(Duration::from_nanos(lasts), NEMESIS_HEAL),
        ]
    }
}

impl Workload for RandomOps {
    fn name(&self) -> &str {
        "random"
    }

    fn on_start(&mut self, setup: &Setup) -> Vec<Action> {
        self.rng = seeds::rng(setup.seed, "workload");
        self.cluster = Some(setup.cluster.clone());
        let clients = setup.cluster.clients.clone();
        if clients.is_empty() {
            return vec![Action::Fail(
                "random operations need a client node (none in the cluster)".into(),
            )];
        }
        self.procs = (0..self.config.processes as usize)
            .map(|i| (clients[i % clients.len()], ProcState::Down))
            .collect();
        if !self.nemesis() {
            return Vec::new();
        }
        let first = self.config.fault_interval.sample(&mut self.rng);
        vec![Action::WakeAfter(
            Duration::from_nanos(first),
            NEMESIS_STRIKE,
        )]
    }

    fn on_node_started(&mut self, _now: SimTime, node: NodeId, _incarnation: u32) -> Vec<Action> {
        let version = self.cluster().logs_version;
        let mut actions = Vec::new();
        for (p, (at, state)) in self.procs.iter_mut().enumerate() {
            if *at == node && *state == ProcState::Down {
                *state = ProcState::Waiting;
                actions.push(Action::Invoke {
                    process: Process::Worker(p as u32),
                    node,
                    op: Op::WaitForMetadata(MetadataKind::Logs, version),
                });
            }
        }
        actions
    }

    fn on_complete(
        &mut self,
        _now: SimTime,
        _op: OpId,
        process: Process,
        result: &OpResult,
    ) -> Vec<Action> {
        if let OpResult::Tail(t) | OpResult::Sealed(t) = result {
            self.highest_tail = self.highest_tail.max(lsn_u32(split_tail(t).0));
        }
        if let OpResult::Appended(o) = result {
            self.highest_tail = self.highest_tail.max(lsn_u32(o.saturating_add(1)));
        }
        match process {
            Process::Worker(p) if (p as usize) < self.procs.len() => {
                let p = p as usize;
                self.procs[p].1 = ProcState::Idle;
                let mut actions = vec![self.pause(p)];
                actions.extend(self.maybe_wind_down());
                actions
            }
            Process::Main => match (self.stage, result) {
                (Final::FindTail, OpResult::Tail(t)) => {
                    self.stage = Final::Read;
                    vec![Action::Invoke {
                        process: Process::Main,
                        node: self.cluster().sequencer,
                        op: Op::Read(LOG, OLDEST_LSN, split_tail(t).0),
                    }]
                }
                (Final::Read, OpResult::Records(_)) => {
                    self.stage = Final::Done;
                    vec![Action::Finish]
                }
                (stage, other) => vec![Action::Fail(format!(
                    "final check: unexpected result {other:?} at {stage:?}"
                ))],
            },
            _ => Vec::new(),
        }
    }

    fn on_lost(&mut self, _now: SimTime, _op: OpId, process: Process, why: &str) -> Vec<Action> {
        match process {
            Process::Worker(p) if (p as usize) < self.procs.len() => {
                self.procs[p as usize].1 = ProcState::Down;
                self.maybe_wind_down()
            }
            Process::Main => vec![Action::Fail(format!("final check lost: {why}"))],
            _ => Vec::new(),
        }
    }

    fn on_wake(&mut self, _now: SimTime, token: u64) -> Vec<Action> {
        match token {
            NEMESIS_STRIKE => self.strike(),
            NEMESIS_HEAL => {
                let mut actions = self.heal();
                if self.stage == Final::Running {
                    let next = self.config.fault_interval.sample(&mut self.rng);
                    actions.push(Action::WakeAfter(
                        Duration::from_nanos(next),
                        NEMESIS_STRIKE,
                    ));
                }
                actions
            }
            FINAL_CHECK => {
                self.stage = Final::FindTail;
                vec![Action::Invoke {
                    process: Process::Main,
                    node: self.cluster().sequencer,
                    op: Op::FindTail(LOG),
                }]
            }
            p if (p as usize) < self.procs.len() => {
                let p = p as usize;
                if self.procs[p].1 == ProcState::Idle && self.stage == Final::Running {
                    self.next_op(p)
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        }
    }

    fn waiting_for(&self) -> String {
        let busy = self
            .procs
            .iter()
            .filter(|(_, s)| *s == ProcState::Busy)
            .count();
        format!(
            "{}/{} operations issued, {busy} in flight; nemesis {:?}; final check {:?}",
            self.issued, self.config.ops, self.active, self.stage
        )
    }
}

/// An LSN as the workload draws them: its draws stay in 32 bits (a run never gets near
/// 2^32 records), so that seeds draw what they always drew.
fn lsn_u32(lsn: Lsn) -> u32 {
    u32::try_from(lsn).unwrap_or(u32::MAX)
}
