//! `logsandbox mutants`: proves the checker catches real bugs.
//!
//! Each mutant is the product guest rebuilt with one known bug (`guest/src/mutants.rs`),
//! a real wasm component loaded exactly as any other guest. Every built-in scenario runs
//! over a few seeds against the unmodified guest, which must pass everywhere, and
//! against each mutant, which must fail somewhere: the first failing (scenario, seed)
//! and the checks it broke say what caught it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::json;

use logsandbox::Sandbox;
use logsandbox::runtime::{LoadError, MUTANTS, Runtime};
use logsandbox::scenario::{self, BUILTIN, Scenario, ScenarioError};

/// One failing run.
#[derive(Debug, Clone, Serialize)]
pub struct Catch {
    pub scenario: String,
    pub seed: u64,
    /// The run's error, or the names of the checks that failed.
    pub by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MutantResult {
    pub name: String,
    pub bug: String,
    pub caught: Option<Catch>,
    pub runs: usize,
}

pub struct MutantsReport {
    pub seeds: (u64, u64),
    /// The unmodified guest: runs, and the runs that failed (there should be none).
    pub baseline_runs: usize,
    pub baseline_failures: Vec<Catch>,
    pub mutants: Vec<MutantResult>,
}

#[derive(Debug, thiserror::Error)]
pub enum MutantsError {
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    #[error("{0}")]
    Load(#[from] LoadError),
}

/// The guest under test: the unmodified one (`None`) or a mutant.
struct Subject {
    mutant: Option<usize>,
    runtime: Arc<Runtime>,
}

/// Runs the matrix on `jobs` threads. Each mutant stops at its first catch.
pub fn run(seeds: (u64, u64), jobs: usize) -> Result<MutantsReport, MutantsError> {
    let scenarios: Vec<Scenario> = BUILTIN
        .iter()
        .map(|(name, _)| scenario::load(name, &[]))
        .collect::<Result<_, _>>()?;
    let mut subjects = vec![Subject {
        mutant: None,
        runtime: Runtime::builtin()?,
    }];
    for (i, (name, _, wasm)) in MUTANTS.iter().enumerate() {
        subjects.push(Subject {
            mutant: Some(i),
            runtime: Arc::new(Runtime::load(&format!("mutant {name}"), wasm)?),
        });
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, usize, Vec<Catch>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, subjects.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(subject) = subjects.get(i) else {
                        break;
                    };
                    let (runs, failures) = exercise(subject, &scenarios, seeds);
                    results
                        .lock()
                        .expect("no worker panics holding the lock")
                        .push((i, runs, failures));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("no worker panicked");
    results.sort_by_key(|(i, _, _)| *i);
    let mut report = MutantsReport {
        seeds,
        baseline_runs: 0,
        baseline_failures: Vec::new(),
        mutants: Vec::new(),
    };
    for (i, runs, failures) in results {
        match subjects[i].mutant {
            None => {
                report.baseline_runs = runs;
                report.baseline_failures = failures;
            }
            Some(m) => report.mutants.push(MutantResult {
                name: MUTANTS[m].0.to_string(),
                bug: MUTANTS[m].1.to_string(),
                caught: failures.into_iter().next(),
                runs,
            }),
        }
    }
    Ok(report)
}

/// Runs every scenario over every seed (seed by seed, so a mutant caught by any scenario
/// on the first seed stops early); a mutant stops at its first failure.
fn exercise(
    subject: &Subject,
    scenarios: &[Scenario],
    (first, last): (u64, u64),
) -> (usize, Vec<Catch>) {
    let mut runs = 0;
    let mut failures = Vec::new();
    for seed in first..=last {
        for scenario in scenarios {
            runs += 1;
            let outcome = Sandbox::from_scenario(scenario)
                .seed(seed)
                .component(subject.runtime.clone())
                .build()
                .map_err(|e| e.to_string())
                .and_then(|mut sb| sb.run().map_err(|e| e.to_string()));
            let by = match outcome {
                Ok(report) if report.passed() => continue,
                Ok(report) => {
                    let failed: Vec<&str> = report
                        .checks
                        .iter()
                        .filter(|c| !c.pass)
                        .map(|c| c.name.as_str())
                        .collect();
                    // An error explains the failed checks that follow from it.
                    match &report.error {
                        Some(e) if scenario.expect_error.is_none() => format!("error: {e}"),
                        _ => failed.join(", "),
                    }
                }
                Err(e) => format!("error: {e}"),
            };
            failures.push(Catch {
                scenario: scenario.name.clone(),
                seed,
                by,
            });
            if subject.mutant.is_some() {
                return (runs, failures);
            }
        }
    }
    (runs, failures)
}

impl MutantsReport {
    /// Every mutant caught and the unmodified guest passing everywhere.
    pub fn succeeded(&self) -> bool {
        self.baseline_failures.is_empty() && self.mutants.iter().all(|m| m.caught.is_some())
    }

    /// The table for people.
    pub fn render(&self) -> String {
        let mut out = format!(
            "mutants: every built-in scenario, seeds {}..{}\n\n  {:<26} {:<7} {:<29} {:<5} by\n",
            self.seeds.0, self.seeds.1, "guest", "caught", "scenario", "seed"
        );
        let baseline = if self.baseline_failures.is_empty() {
            format!("passes all {} runs", self.baseline_runs)
        } else {
            format!(
                "FAILS {} of {} runs",
                self.baseline_failures.len(),
                self.baseline_runs
            )
        };
        out += &format!("  {:<26} {baseline}\n", "(unmodified guest)");
        for f in &self.baseline_failures {
            out += &format!(
                "  {:<26} {:<7} {:<29} {:<5} {}\n",
                "", "", f.scenario, f.seed, f.by
            );
        }
        for m in &self.mutants {
            match &m.caught {
                Some(c) => {
                    out += &format!(
                        "  {:<26} {:<7} {:<29} {:<5} {}\n",
                        m.name, "yes", c.scenario, c.seed, c.by
                    )
                }
                None => {
                    out += &format!(
                        "  {:<26} {:<7} survived all {} runs\n",
                        m.name, "NO", m.runs
                    )
                }
            }
        }
        out += "\n";
        for m in &self.mutants {
            out += &format!("  {:<26} {}\n", m.name, m.bug);
        }
        out += if self.succeeded() {
            "\nEvery mutant was caught and the unmodified guest passed everywhere.\n"
        } else {
            "\nNOT every mutant was caught, or the unmodified guest failed: see above.\n"
        };
        out
    }

    /// The `--json` object.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "seeds": format!("{}..{}", self.seeds.0, self.seeds.1),
            "baseline": {"runs": self.baseline_runs, "failures": self.baseline_failures},
            "mutants": self.mutants,
            "all_caught": self.mutants.iter().all(|m| m.caught.is_some()),
            "outcome": if self.succeeded() { "pass" } else { "fail" },
        })
    }
}
