//! Driving the sandbox's workload to its end, and the report of the run.

use super::Sandbox;
use crate::check::CheckResult;
use crate::error::RunError;
use crate::show::report::{NodeReport, Outcome, RunReport};
use crate::sim::NodeStatus;
use crate::time::{SimTime, fmt_duration};

impl Sandbox {
    /// Runs the workload until it finishes or fails, or a limit is reached (the time
    /// limit, the event limit, nothing left to happen), then judges the run: the
    /// workload's expectations, the standard checks and `no_unplanned_crash` (or, for a
    /// reproduction, only whether it failed with the expected error). With `--out`, the
    /// report, history and trace are written there too.
    ///
    /// Without a workload the cluster runs until the time limit.
    pub fn run(&mut self) -> Result<RunReport, RunError> {
        let time_limit = SimTime(crate::time::nanos(self.meta.limits.time_limit));
        loop {
            let (finished, failed) = match &self.world.driver {
                Some(d) => (d.finished, d.error.is_some()),
                None => (false, false),
            };
            if finished || failed {
                break;
            }
            if let Some(stop) = self.guard() {
                let why = format!("{stop} while {}", self.waiting_for());
                self.fail(why);
                break;
            }
            match self.world.queue.next_at() {
                None => {
                    let why = format!("nothing left to happen while {}", self.waiting_for());
                    self.fail(why);
                    break;
                }
                Some(at) if at > time_limit => {
                    self.world.now = time_limit;
                    let why = format!(
                        "the workload did not finish within {} of virtual time (run.time_limit): {}",
                        fmt_duration(time_limit.0),
                        self.waiting_for()
                    );
                    self.fail(why);
                    break;
                }
                Some(_) => {
                    self.world.step()?;
                }
            }
        }
        let failed = self
            .world
            .driver
            .as_ref()
            .is_some_and(|d| d.error.is_some());
        // The verdict and the trace hash are the run's up to its failure.
        let mut report = self.report();
        if failed && self.meta.linger > 0 {
            // Keep going a while, for the record only, with the workload silenced: what
            // happened next (the store's answer that came too late) shows in the trace's
            // text, the journal and the metadata offers.
            let failed_at = self.world.now;
            let until = failed_at.plus(self.meta.linger).min(time_limit);
            if let Some(d) = self.world.driver.as_mut() {
                d.finished = true;
            }
            self.world.trace.log(failed_at.0, 0, || {
                "the run's verdict is taken here; what follows is for the record".into()
            });
            // The clock stays where the simulation got to; a failure while lingering ends
            // the record, not the report.
            while self.world.queue.next_at().is_some_and(|at| at <= until)
                && self.guard().is_none()
                && self.world.step().is_ok()
            {}
            report.trace = self.world.trace.records().to_vec();
            report.journal = self.world.journal.clone();
            report.metadata_offers = self.world.metadata_offers.clone();
        }
        if let Some(dir) = &self.world.out_dir {
            report.write_files(dir);
        }
        tracing::debug!(
            scenario = %report.scenario,
            seed = report.seed,
            outcome = if report.passed() { "pass" } else { "fail" },
            events = report.events,
            trace_hash = %report.trace_hash,
            "run finished"
        );
        Ok(report)
    }

    fn waiting_for(&self) -> String {
        self.world
            .driver
            .as_ref()
            .map_or("no workload".into(), |d| d.workload.waiting_for())
    }

    /// Records the run's error (the first one wins), when there is a workload to fail.
    fn fail(&mut self, why: String) {
        if let Some(d) = self.world.driver.as_mut()
            && d.error.is_none()
        {
            d.error = Some(why);
        }
    }

    /// The report of the run so far: outcome, checks, figures, nodes, history, trace.
    pub fn report(&self) -> RunReport {
        let error = self.world.driver.as_ref().and_then(|d| d.error.clone());
        // A reproduction (`expect_error`) is judged by its error alone: the workload stops there.
        let mut checks: Vec<CheckResult> = match &self.meta.expect_error {
            None => self.history_checks(),
            Some(expected) => vec![CheckResult::new(
                "expected_error",
                error.as_deref() == Some(expected.as_str()),
                format!(
                    "expected the run to fail with {expected:?}; it {}",
                    match &error {
                        Some(e) => format!("failed with {e:?}"),
                        None => "did not fail".into(),
                    }
                ),
            )],
        };
        checks.push(self.crash_check());
        checks.push(self.liveness_check());
        expect_failing(&mut checks, &self.meta.expect_failing);
        let failed =
            checks.iter().any(|c| !c.pass) || (error.is_some() && self.meta.expect_error.is_none());
        let sequencer = self.world.cluster.sequencer;
        let nodes: Vec<NodeReport> = self
            .world
            .nodes
            .values()
            .map(|n| NodeReport {
                id: n.id,
                role: if n.id == sequencer {
                    "client+sequencer"
                } else if n.roles.contains(crate::bindings::Roles::CLIENT) {
                    "client"
                } else {
                    "log-server"
                }
                .into(),
                status: match &n.status {
                    NodeStatus::NotStarted => "not started".into(),
                    NodeStatus::Running => "running".into(),
                    NodeStatus::Crashed { planned: true, .. } => "crashed (planned)".into(),
                    NodeStatus::Crashed { .. } => "crashed".into(),
                    NodeStatus::NotInCluster => "not in the cluster".into(),
                },
                crash_reason: match &n.status {
                    NodeStatus::Crashed { reason, .. } => Some(reason.clone()),
                    _ => None,
                },
                printed: n.last_words.clone(),
                crashes: n.crashes,
                restarts: n.restarts,
                component: n.runtime.name().to_string(),
            })
            .collect();
        let mut components: Vec<&str> = nodes.iter().map(|n| n.component.as_str()).collect();
        components.sort();
        components.dedup();
        let guest = if components.len() == 1 {
            components[0].to_string()
        } else {
            nodes
                .iter()
                .map(|n| format!("N{}: {}", n.id, n.component))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let history = &self.world.history;
        RunReport {
            scenario: self.meta.name.clone(),
            seed: self.world.seed,
            outcome: if failed { Outcome::Fail } else { Outcome::Pass },
            error,
            checks,
            trace_hash: self.world.trace.hash_hex(),
            events: self.world.events,
            messages: self.world.messages,
            writes: self.world.writes,
            appends_ok: history.ops().filter(|o| o.ok_offset().is_some()).count() as u64,
            client_ops: history.len() as u64,
            sim_time_ns: self.world.now.0,
            wall_ms: self.meta.created.elapsed().as_secs_f64() * 1000.0,
            nodes,
            metadata_offers: self.world.metadata_offers.clone(),
            guest,
            workload: self
                .world
                .driver
                .as_ref()
                .map_or("none".into(), |d| d.workload.name().to_string()),
            summary: self.meta.summary.clone(),
            trace: self.world.trace.records().to_vec(),
            journal: self.world.journal.clone(),
            history: history.clone(),
            race_points: self
                .world
                .race_points
                .iter()
                .map(|(name, n)| (name.to_string(), *n))
                .collect(),
        }
    }
}

/// A race that fires fails these checks: each is turned around (passing when it failed,
/// saying so), and one that is missing fails.
fn expect_failing(checks: &mut Vec<CheckResult>, expected: &[String]) {
    for name in expected {
        match checks.iter_mut().find(|c| &c.name == name) {
            Some(check) => {
                check.pass = !check.pass;
                check.detail = if check.pass {
                    format!(
                        "failed, as the scenario expects (the race fired): {}",
                        check.detail
                    )
                } else {
                    format!("expected to fail (the race), but passed: {}", check.detail)
                };
            }
            None => checks.push(CheckResult::new(
                name,
                false,
                "expected to fail (the race), but the run has no such check",
            )),
        }
    }
}
