//! The script workload: the `[[steps]]` of a scenario file, so a new experiment needs no
//! Rust. Each step fires at a time or after another step is done, and does one thing:
//! start a node, write the Logs, invoke an operation, or apply a fault or a latency. An
//! invoke step may `expect` its result; each expectation is a check named
//! `expect:<step name>`.
//!
//! An expectation matches the result as the history prints it (`tail Open(1)`,
//! `failed: unknown log '0'`, `appended at 3`), or a prefix of it that ends at a word
//! boundary: `failed` matches any failure, `tail Sealed` any sealed tail, but
//! `appended at 1` does not match `appended at 12`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Action, Setup, Workload};
use crate::bindings::Precondition;
use crate::check::CheckResult;
use crate::fault::Planned;
use crate::op::{NodeId, Op, OpId, OpResult, Version, describe_result};
use crate::record::history::{History, Process};
use crate::time::{SimTime, fmt_duration};

/// When a step fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepTiming {
    /// At this instant of the run.
    At(SimTime),
    /// This long after step `step` (an index into the script) is done.
    After {
        /// The step it follows.
        step: usize,
        /// Nanoseconds after that.
        delay: u64,
    },
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum StepAction {
    /// Invoke an operation on a client node; the step is done when it completes.
    Invoke {
        /// The client node.
        node: NodeId,
        /// The operation.
        op: Op,
    },
    /// Apply a fault or a change (a partition heals `until` after the step fires).
    Fault(Planned),
    /// The run ends here, whatever is still in flight (a saved repl session ends so).
    Stop,
    /// The harness writes the run's Logs at this version, as Restate's test does.
    PutLogs {
        /// The Logs' version.
        version: Version,
        /// The put's precondition (None by default).
        precondition: Precondition,
    },
}

/// One step of a script.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Its name, used by `after` and in checks (`step-3` when not given).
    pub name: String,
    /// When it fires.
    pub timing: StepTiming,
    /// What it does.
    pub action: StepAction,
    /// For an invoke: the result it must have.
    pub expect: Option<String>,
    /// For an invoke: it must take at least this long (nanoseconds), e.g. a wait that
    /// only a periodic refresh can resolve.
    pub not_before: Option<u64>,
    /// For an invoke: it must take at most this long (nanoseconds), e.g. an append that a
    /// lazy seal discovery stalls (#4940).
    pub within: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Waiting,
    Running,
    Done { at: SimTime, outcome: String },
}

/// Runs a list of steps.
pub struct Script {
    steps: Vec<Step>,
    states: Vec<State>,
    /// When each step fired.
    fired_at: Vec<SimTime>,
    /// Steps that fire when a step is done: index -> followers.
    followers: BTreeMap<usize, Vec<usize>>,
    setup: Option<Setup>,
    now: SimTime,
}

/// Whether a result, as printed, matches an expectation (see the module documentation).
pub(crate) fn expectation_matches(expect: &str, got: &str) -> bool {
    let expect = expect.trim();
    got == expect
        || got.starts_with(expect)
            && got[expect.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric())
}

impl Script {
    /// A script of these steps. `After` timings must name earlier steps.
    pub fn new(steps: Vec<Step>) -> Script {
        let mut followers: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, step) in steps.iter().enumerate() {
            if let StepTiming::After { step: before, .. } = step.timing {
                followers.entry(before).or_default().push(i);
            }
        }
        Script {
            states: vec![State::Waiting; steps.len()],
            fired_at: vec![SimTime::ZERO; steps.len()],
            steps,
            followers,
            setup: None,
            now: SimTime::ZERO,
        }
    }

    /// Fires step `i` now: what it does, and (for a step that is done at once) its followers.
    fn fire(&mut self, i: usize) -> Vec<Action> {
        if self.states[i] != State::Waiting {
            return Vec::new();
        }
        self.states[i] = State::Running;
        self.fired_at[i] = self.now;
        let action = match &self.steps[i].action {
            StepAction::Invoke { node, op } => {
                return vec![Action::Invoke {
                    process: Process::Step(i as u32 + 1),
                    node: *node,
                    op: op.clone(),
                }];
            }
            StepAction::Fault(planned) => {
                let (_, fault) = planned.from_base(self.now);
                Action::Fault(fault)
            }
            StepAction::Stop => {
                self.states[i] = State::Done {
                    at: self.now,
                    outcome: "stopped".into(),
                };
                return vec![Action::Finish];
            }
            StepAction::PutLogs {
                version,
                precondition,
            } => {
                let cluster = &self.setup.as_ref().expect("fired after the start").cluster;
                Action::PutMetadata {
                    value: cluster.logs(*version),
                    precondition: *precondition,
                }
            }
        };
        let mut actions = vec![action];
        actions.extend(self.done(i, "done".into()));
        actions
    }

    /// Marks step `i` done and fires (or schedules) the steps that follow it.
    fn done(&mut self, i: usize, outcome: String) -> Vec<Action> {
        self.states[i] = State::Done {
            at: self.now,
            outcome,
        };
        let mut actions = Vec::new();
        for next in self.followers.get(&i).cloned().unwrap_or_default() {
            match self.steps[next].timing {
                StepTiming::After { delay: 0, .. } => actions.extend(self.fire(next)),
                StepTiming::After { delay, .. } => {
                    actions.push(Action::WakeAfter(Duration::from_nanos(delay), next as u64))
                }
                StepTiming::At(_) => {}
            }
        }
        if self.states.iter().all(|s| matches!(s, State::Done { .. })) {
            actions.push(Action::Finish);
        }
        actions
    }

    fn step_of(process: Process) -> Option<usize> {
        match process {
            Process::Step(n) if n >= 1 => Some(n as usize - 1),
            _ => None,
        }
    }
}

impl Workload for Script {
    fn name(&self) -> &str {
        "script"
    }

    fn on_start(&mut self, setup: &Setup) -> Vec<Action> {
        self.now = setup.now;
        self.setup = Some(setup.clone());
        let mut actions = Vec::new();
        for i in 0..self.steps.len() {
            if let StepTiming::At(at) = self.steps[i].timing {
                if at <= setup.now {
                    actions.extend(self.fire(i));
                } else {
                    actions.push(Action::WakeAfter(at.since(setup.now), i as u64));
                }
            }
        }
        if self.steps.is_empty() {
            actions.push(Action::Finish);
        }
        actions
    }

    fn on_complete(
        &mut self,
        now: SimTime,
        _op: OpId,
        process: Process,
        result: &OpResult,
    ) -> Vec<Action> {
        self.now = now;
        match Self::step_of(process) {
            Some(i) if i < self.steps.len() => self.done(i, describe_result(result)),
            _ => Vec::new(),
        }
    }

    fn on_lost(&mut self, now: SimTime, _op: OpId, process: Process, why: &str) -> Vec<Action> {
        self.now = now;
        match Self::step_of(process) {
            Some(i) if i < self.steps.len() => self.done(i, format!("lost: {why}")),
            _ => Vec::new(),
        }
    }

    fn on_wake(&mut self, now: SimTime, token: u64) -> Vec<Action> {
        self.now = now;
        match usize::try_from(token) {
            Ok(i) if i < self.steps.len() => self.fire(i),
            _ => Vec::new(),
        }
    }

    fn waiting_for(&self) -> String {
        let pending: Vec<String> = self
            .steps
            .iter()
            .zip(&self.states)
            .filter(|(_, s)| !matches!(s, State::Done { .. }))
            .map(|(step, state)| {
                let when = match (&step.timing, state) {
                    (_, State::Running) => "running".to_string(),
                    (StepTiming::At(t), _) => format!("at {t}"),
                    (StepTiming::After { step: j, delay }, _) => {
                        format!("{} after {}", fmt_duration(*delay), self.steps[*j].name)
                    }
                };
                format!("{} ({when})", step.name)
            })
            .collect();
        format!("steps not done: {}", pending.join(", "))
    }

    fn expectations(&self, _history: &History) -> Vec<CheckResult> {
        self.steps
            .iter()
            .zip(&self.states)
            .enumerate()
            .filter_map(|(i, (step, state))| {
                let expect = step.expect.as_ref()?;
                let name = format!("expect:{}", step.name);
                Some(match state {
                    State::Done { at, outcome } => {
                        let took = at.0.saturating_sub(self.fired_at[i].0);
                        let early = step.not_before.filter(|min| took < *min);
                        let late = step.within.filter(|max| took > *max);
                        let timing = match (early, late) {
                            (Some(min), _) => format!(
                                ", after {}: sooner than the {} it must take",
                                fmt_duration(took),
                                fmt_duration(min)
                            ),
                            (None, Some(max)) => format!(
                                ", after {}: later than the {} it may take",
                                fmt_duration(took),
                                fmt_duration(max)
                            ),
                            (None, None) => String::new(),
                        };
                        CheckResult::new(
                            name,
                            expectation_matches(expect, outcome)
                                && early.is_none()
                                && late.is_none(),
                            format!("expected {expect:?}; at {at} got {outcome:?}{timing}"),
                        )
                    }
                    _ => CheckResult::new(
                        name,
                        false,
                        format!("expected {expect:?}; the step never completed"),
                    ),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::Fault;
    use crate::op::{ChainTail, ClientError, LogTail, MetadataKind};
    use crate::workload::Cluster;

    fn setup() -> Setup {
        Setup {
            seed: 1,
            now: SimTime::ZERO,
            cluster: Cluster {
                log_servers: vec![1, 2, 3],
                sequencer: 5,
                clients: vec![5],
                replication: 2,
                logs_version: 1,
                chain: None,
            },
        }
    }

    #[test]
    fn expectations_match_whole_words() {
        assert!(expectation_matches("tail Open(1)", "tail Open(1)"));
        assert!(expectation_matches("tail Open", "tail Open(1)"));
        assert!(expectation_matches("failed", "failed: unknown log '0'"));
        assert!(!expectation_matches("appended at 1", "appended at 12"));
        assert!(!expectation_matches("tail Sealed", "tail Open(3)"));
    }

    #[test]
    fn steps_fire_in_order_and_expectations_are_judged() {
        let steps = vec![
            Step {
                name: "start".into(),
                timing: StepTiming::At(SimTime::from_millis(10)),
                action: StepAction::Fault(Planned {
                    at: 0,
                    until: None,
                    fault: Fault::Start(5),
                }),
                expect: None,
                not_before: None,
                within: None,
            },
            Step {
                name: "ready".into(),
                timing: StepTiming::After { step: 0, delay: 0 },
                action: StepAction::Invoke {
                    node: 5,
                    op: Op::WaitForMetadata(MetadataKind::Logs, 1),
                },
                expect: None,
                not_before: None,
                within: None,
            },
            Step {
                name: "find".into(),
                timing: StepTiming::After { step: 1, delay: 5 },
                action: StepAction::Invoke {
                    node: 5,
                    op: Op::FindTail(0),
                },
                expect: Some("failed: unknown log '0'".into()),
                not_before: None,
                within: None,
            },
        ];
        let mut script = Script::new(steps);
        let start = script.on_start(&setup());
        assert!(
            matches!(start.as_slice(), [Action::WakeAfter(d, 0)] if *d == Duration::from_millis(10))
        );
        let fired = script.on_wake(SimTime::from_millis(10), 0);
        assert!(matches!(fired[0], Action::Fault(Fault::Start(5))));
        assert!(matches!(
            &fired[1],
            Action::Invoke {
                process: Process::Step(2),
                ..
            }
        ));
        let next = script.on_complete(
            SimTime::from_millis(11),
            OpId(1),
            Process::Step(2),
            &OpResult::MetadataReady(1),
        );
        assert!(
            matches!(next.as_slice(), [Action::WakeAfter(d, 2)] if *d == Duration::from_nanos(5))
        );
        script.on_wake(SimTime::from_millis(12), 2);
        let end = script.on_complete(
            SimTime::from_millis(13),
            OpId(2),
            Process::Step(3),
            &OpResult::Failed(ClientError::UnknownLog(0)),
        );
        assert!(matches!(end.as_slice(), [Action::Finish]));
        let checks = script.expectations(&History::new());
        assert_eq!(checks.len(), 1);
        assert!(checks[0].pass, "{checks:?}");
        assert_eq!(checks[0].name, "expect:find");
        // The same script seeing the fix's result instead fails its expectation.
        let mut other = script_with_result(OpResult::Tail(ChainTail {
            segment_index: 0,
            tail: LogTail::Open(1),
        }));
        assert!(!other.remove(0).pass);
    }

    fn script_with_result(result: OpResult) -> Vec<CheckResult> {
        let steps = vec![Step {
            name: "find".into(),
            timing: StepTiming::At(SimTime::ZERO),
            action: StepAction::Invoke {
                node: 5,
                op: Op::FindTail(0),
            },
            expect: Some("failed: unknown log '0'".into()),
            not_before: None,
            within: None,
        }];
        let mut script = Script::new(steps);
        script.on_start(&setup());
        script.on_complete(SimTime::from_millis(1), OpId(1), Process::Step(1), &result);
        script.expectations(&History::new())
    }
}
