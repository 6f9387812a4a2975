//! `logsandbox explore`: many seeds of one scenario, in parallel, and optionally a latency
//! sweep over up to two knobs: a table of failure rates, the race's map.
//!
//! Every run is deterministic, so the order in which worker threads finish never shows:
//! results are sorted by (cell, seed) before anything is reported.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::sandbox::Sandbox;
use crate::scenario::{self, Scenario, ScenarioError, SweepKind};
use crate::time::{MICROS, fmt_duration, parse_duration};

/// One knob of a sweep: `KEY=A..B:STEPS`, STEPS values evenly spaced from A to B.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// The key swept.
    pub key: String,
    /// The values, as `--set` text and as shown in the table.
    pub values: Vec<(String, String)>,
}

impl Sweep {
    /// Parses `KEY=A..B:STEPS`.
    pub fn parse(arg: &str) -> Result<Sweep, ScenarioError> {
        let bad = |reason: String| ScenarioError::BadSet {
            arg: format!("(--sweep) {arg}"),
            reason,
        };
        let (key, range) = arg.split_once('=').ok_or_else(|| {
            bad("expected KEY=A..B:STEPS, e.g. latency.metadata_store=1ms..100ms:5".into())
        })?;
        let key = key.trim();
        let kind = scenario::sweep_kind(key)
            .ok_or_else(|| bad(format!("`{key}` is not a latency, duration or integer key")))?;
        let (span, steps) = range
            .rsplit_once(':')
            .ok_or_else(|| bad("missing :STEPS".into()))?;
        let steps: usize = steps
            .trim()
            .parse()
            .ok()
            .filter(|s| (2..=100).contains(s))
            .ok_or_else(|| {
                bad(format!(
                    "STEPS must be an integer from 2 to 100, got {steps:?}"
                ))
            })?;
        let (a, b) = span
            .split_once("..")
            .ok_or_else(|| bad("expected A..B".into()))?;
        let number = |text: &str| -> Result<u64, ScenarioError> {
            match kind {
                SweepKind::Time => {
                    parse_duration(text).ok_or_else(|| bad(format!("malformed duration {text:?}")))
                }
                SweepKind::Integer => text
                    .trim()
                    .parse()
                    .map_err(|_| bad(format!("not an integer: {text:?}"))),
            }
        };
        let (a, b) = (number(a)?, number(b)?);
        let values = (0..steps)
            .map(|i| {
                // In u128: the span times the step index may not fit in u64. The result
                // lies between a and b, so it does.
                let step = |span: u64| (span as u128 * i as u128 / (steps as u128 - 1)) as u64;
                let v = if b >= a {
                    a + step(b - a)
                } else {
                    a - step(a - b)
                };
                match kind {
                    SweepKind::Time => (set_duration(v), fmt_duration(v)),
                    SweepKind::Integer => (v.to_string(), v.to_string()),
                }
            })
            .collect();
        Ok(Sweep {
            key: key.to_string(),
            values,
        })
    }
}

/// A duration as `--set` text, rounded to whole microseconds: `40667us`, `5ms`.
fn set_duration(ns: u64) -> String {
    let us = (ns + MICROS / 2) / MICROS;
    if us.is_multiple_of(1000) && us > 0 {
        format!("{}ms", us / 1000)
    } else if us == 0 {
        format!("{ns}ns")
    } else {
        format!("{us}us")
    }
}

/// Inclusive seed range `A..B`.
pub fn parse_seeds(text: &str) -> Result<(u64, u64), String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("--seeds {text}: expected A..B, e.g. 1..100"))?;
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|_| format!("--seeds {text}: {a:?} is not a seed"))?;
    let b: u64 = b
        .trim()
        .parse()
        .map_err(|_| format!("--seeds {text}: {b:?} is not a seed"))?;
    if a > b || b - a >= 1_000_000 {
        return Err(format!(
            "--seeds {text}: expected A <= B and at most a million seeds"
        ));
    }
    Ok((a, b))
}

/// The outcome of one run.
#[derive(Debug, Clone)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// Whether the run passed.
    pub passed: bool,
    /// The error, or the failed checks.
    pub why: String,
    /// Events delivered.
    pub events: u64,
    /// The trace hash.
    pub trace_hash: String,
    /// For a failing run: the named races it may be ([`crate::classify`]).
    pub races: Vec<&'static str>,
}

/// One cell of the sweep grid (the whole exploration when there is no sweep).
#[derive(Debug, Clone)]
pub struct Cell {
    /// (key, shown value) per swept knob.
    pub settings: Vec<(String, String)>,
    /// The `--set` arguments that make this cell.
    pub sets: Vec<String>,
    /// One result per seed, in seed order.
    pub results: Vec<SeedResult>,
}

impl Cell {
    /// The runs that failed.
    pub fn failures(&self) -> Vec<&SeedResult> {
        self.results.iter().filter(|r| !r.passed).collect()
    }

    /// Failed runs over runs.
    pub fn failure_rate(&self) -> f64 {
        self.failures().len() as f64 / self.results.len().max(1) as f64
    }
}

/// The results of an exploration.
pub struct Exploration {
    /// The scenario, as named.
    pub scenario: String,
    /// The seeds, inclusive.
    pub seeds: (u64, u64),
    /// Worker threads used.
    pub jobs: usize,
    /// The swept knobs.
    pub sweeps: Vec<Sweep>,
    /// The grid, one cell per combination of swept values.
    pub cells: Vec<Cell>,
    /// Wall time, in seconds.
    pub wall_s: f64,
    /// Which component each node ran, as a run's report names it (`built-in guest`, or
    /// `N1: X.wasm, ..., N5: built-in guest`).
    pub guest: String,
    /// The component flags that replay a run (` --log-server X.wasm`...), empty for the
    /// built-in guest.
    pub component_flags: String,
}

/// What to explore.
pub struct Plan<'a> {
    /// A built-in name or a path.
    pub scenario: &'a str,
    /// `--set` overrides for every run.
    pub sets: &'a [String],
    /// The seeds, inclusive.
    pub seeds: (u64, u64),
    /// Worker threads.
    pub jobs: usize,
    /// Up to two swept knobs.
    pub sweeps: Vec<Sweep>,
    /// Which component each node runs (empty: the built-in guest everywhere).
    pub components: crate::Components,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// Runs every (cell, seed) of the plan on `jobs` threads.
pub fn explore(plan: Plan) -> Result<Exploration, ScenarioError> {
    // The grid: the cartesian product of the sweeps' values.
    let mut grid: Vec<Vec<(usize, usize)>> = vec![Vec::new()];
    for (s, sweep) in plan.sweeps.iter().enumerate() {
        grid = grid
            .into_iter()
            .flat_map(|cell| {
                (0..sweep.values.len()).map(move |v| {
                    let mut c = cell.clone();
                    c.push((s, v));
                    c
                })
            })
            .collect();
    }
    let mut cells = Vec::new();
    let mut scenarios: Vec<Scenario> = Vec::new();
    for coords in grid {
        let mut sets = plan.sets.to_vec();
        let mut settings = Vec::new();
        for (s, v) in coords {
            let sweep = &plan.sweeps[s];
            sets.push(format!("{}={}", sweep.key, sweep.values[v].0));
            settings.push((sweep.key.clone(), sweep.values[v].1.clone()));
        }
        scenarios.push(scenario::load(plan.scenario, &sets)?);
        cells.push(Cell {
            settings,
            sets,
            results: Vec::new(),
        });
    }
    let (first, last) = plan.seeds;
    let per_cell = (last - first + 1) as usize;
    let total = per_cell * cells.len();
    let bar = ProgressBar::new(total as u64);
    if plan.progress {
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {msg} [{elapsed} < {eta}]")
                .expect("the template is valid"),
        );
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let next = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, SeedResult)>> = Mutex::new(Vec::with_capacity(total));
    // Every run has the same components: the first report to come back names them.
    let guest: Mutex<Option<String>> = Mutex::new(None);
    let start = Instant::now();
    let jobs = plan.jobs.clamp(1, total.max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let (cell, seed) = (i / per_cell, first + (i % per_cell) as u64);
                    let builder = Sandbox::from_scenario(&scenarios[cell])
                        .seed(seed)
                        .components(plan.components.clone());
                    let outcome = builder
                        .build()
                        .map_err(|e| e.to_string())
                        .and_then(|mut sb| sb.run().map_err(|e| e.to_string()));
                    if let Ok(report) = &outcome {
                        guest
                            .lock()
                            .expect("no worker panics holding the lock")
                            .get_or_insert_with(|| report.guest.clone());
                    }
                    let result = match outcome {
                        Ok(report) => SeedResult {
                            seed,
                            passed: report.passed(),
                            races: if report.passed() {
                                Vec::new()
                            } else {
                                let failing: Vec<&str> = report
                                    .checks
                                    .iter()
                                    .filter(|c| !c.pass)
                                    .map(|c| c.name.as_str())
                                    .collect();
                                let reached: crate::classify::Reached = report
                                    .race_points
                                    .iter()
                                    .map(|(name, n)| (name.as_str(), *n))
                                    .collect();
                                crate::classify::classify(
                                    report.error.as_deref(),
                                    &failing,
                                    &reached,
                                )
                            },
                            why: report.error.clone().unwrap_or_else(|| {
                                report
                                    .checks
                                    .iter()
                                    .filter(|c| !c.pass)
                                    .map(|c| c.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            }),
                            events: report.events,
                            trace_hash: report.trace_hash.clone(),
                        },
                        Err(e) => SeedResult {
                            seed,
                            passed: false,
                            why: e,
                            events: 0,
                            trace_hash: String::new(),
                            races: vec!["unclassified"],
                        },
                    };
                    if !result.passed {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                    results
                        .lock()
                        .expect("no worker panics holding the lock")
                        .push((cell, result));
                    bar.set_message(format!("{} failing", failures.load(Ordering::Relaxed)));
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    let mut results = results.into_inner().expect("no worker panicked");
    results.sort_by_key(|(cell, r)| (*cell, r.seed));
    for (cell, r) in results {
        cells[cell].results.push(r);
    }
    Ok(Exploration {
        scenario: plan.scenario.to_string(),
        seeds: plan.seeds,
        jobs,
        sweeps: plan.sweeps,
        cells,
        wall_s: start.elapsed().as_secs_f64(),
        guest: guest
            .into_inner()
            .expect("no worker panicked")
            .unwrap_or_default(),
        component_flags: plan.components.flags(),
    })
}

impl Exploration {
    /// Runs made.
    pub fn runs(&self) -> usize {
        self.cells.iter().map(|c| c.results.len()).sum()
    }

    /// Runs that failed.
    pub fn failures(&self) -> usize {
        self.cells.iter().map(|c| c.failures().len()).sum()
    }

    /// Runs per wall second.
    pub fn runs_per_s(&self) -> f64 {
        self.runs() as f64 / self.wall_s.max(1e-9)
    }

    /// Seeds that failed in any cell, ascending, once each.
    pub fn failing_seeds(&self) -> Vec<u64> {
        let mut seeds: Vec<u64> = self
            .cells
            .iter()
            .flat_map(|c| c.failures().into_iter().map(|r| r.seed))
            .collect();
        seeds.sort();
        seeds.dedup();
        seeds
    }

    /// The failing seeds by the named race each may be (a seed under every race it may
    /// be; "unclassified" when a failure is named by none).
    pub fn by_race(&self) -> BTreeMap<&'static str, Vec<u64>> {
        let mut races: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
        for r in self.cells.iter().flat_map(|c| c.failures()) {
            for race in &r.races {
                races.entry(race).or_default().push(r.seed);
            }
        }
        races
    }

    /// The `--json` object.
    pub fn to_json(&self) -> serde_json::Value {
        let errors: BTreeMap<String, &str> = self
            .cells
            .iter()
            .flat_map(|c| c.failures())
            .map(|r| (r.seed.to_string(), r.why.as_str()))
            .collect();
        let mut value = json!({
            "scenario": self.scenario,
            "seeds": format!("{}..{}", self.seeds.0, self.seeds.1),
            "runs": self.runs(),
            "failures": self.failures(),
            "failing_seeds": self.failing_seeds(),
            "errors": errors,
            "races": self.by_race(),
            "runs_per_s": (self.runs_per_s() * 10.0).round() / 10.0,
            "jobs": self.jobs,
            "wall_s": (self.wall_s * 1000.0).round() / 1000.0,
            "guest": self.guest,
        });
        if !self.sweeps.is_empty() {
            value["sweep"] =
                json!(self
                .cells
                .iter()
                .map(|c| json!({
                    "settings": c.settings.iter().cloned().collect::<BTreeMap<_, _>>(),
                    "runs": c.results.len(),
                    "failures": c.failures().len(),
                    "failure_rate": c.failure_rate(),
                    "failing_seeds": c.failures().iter().map(|r| r.seed).collect::<Vec<_>>(),
                }))
                .collect::<Vec<_>>());
        }
        value
    }

    /// The human report: a summary, the failing seeds with replay commands, and the map.
    pub fn render(&self) -> String {
        let mut out = format!(
            "explore {}: seeds {}..{}, {} jobs\n  {} runs, {} failed ({:.1}%), {:.1} runs/s\n",
            self.scenario,
            self.seeds.0,
            self.seeds.1,
            self.jobs,
            self.runs(),
            self.failures(),
            100.0 * self.failures() as f64 / self.runs().max(1) as f64,
            self.runs_per_s()
        );
        if !self.component_flags.is_empty() {
            out += &format!("  guest   {}\n", self.guest);
        }
        match self.sweeps.len() {
            0 => {}
            1 => {
                let per = self.cells.first().map_or(0, |c| c.results.len());
                out += &format!(
                    "\n  {:<24} failure rate ({per} seeds each)\n",
                    self.sweeps[0].key
                );
                for c in &self.cells {
                    out += &format!("  {:<24} {}\n", c.settings[0].1, bar(c.failure_rate()));
                }
            }
            _ => {
                let cols = self.sweeps[1].values.len();
                let per = self.cells.first().map_or(0, |c| c.results.len());
                out += &format!(
                    "\n  failure rate ({per} seeds each): rows {}, columns {}\n  {:>12}",
                    self.sweeps[0].key, self.sweeps[1].key, ""
                );
                for (_, shown) in &self.sweeps[1].values {
                    out += &format!(" {shown:>10}");
                }
                out += "\n";
                for row in self.cells.chunks(cols) {
                    out += &format!("  {:>12}", row[0].settings[0].1);
                    for c in row {
                        out += &format!(" {:>9.0}%", 100.0 * c.failure_rate());
                    }
                    out += "\n";
                }
            }
        }
        let failing: Vec<(&Cell, &SeedResult)> = self
            .cells
            .iter()
            .flat_map(|c| c.failures().into_iter().map(move |r| (c, r)))
            .collect();
        if !failing.is_empty() {
            out += "\n  failing runs by race (the failing check and the race points reached):\n";
            for (race, seeds) in self.by_race() {
                let shown: Vec<String> = seeds.iter().take(10).map(u64::to_string).collect();
                let more = if seeds.len() > 10 { ", ..." } else { "" };
                out += &format!(
                    "    {race:<18} {:>5}  seeds {}{more}\n",
                    seeds.len(),
                    shown.join(", ")
                );
            }
            out += "\n  failing runs (first 10), each with the command that replays it:\n";
            for (cell, r) in failing.iter().take(10) {
                let sets: String = cell.sets.iter().map(|s| format!(" --set {s}")).collect();
                out += &format!(
                    "    seed {}: {}\n      logsandbox run {} --seed {}{sets}{}\n",
                    r.seed, r.why, self.scenario, r.seed, self.component_flags
                );
            }
        }
        out
    }
}

/// `#####-----  52%`
fn bar(rate: f64) -> String {
    let filled = (rate * 20.0).round() as usize;
    format!(
        "{}{} {:>4.0}%",
        "#".repeat(filled),
        ".".repeat(20 - filled),
        100.0 * rate
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_space_values_evenly_and_reject_what_cannot_be_swept() {
        let s = Sweep::parse("latency.metadata_store=1ms..9ms:5").unwrap();
        let shown: Vec<&str> = s.values.iter().map(|(set, _)| set.as_str()).collect();
        assert_eq!(shown, vec!["1ms", "3ms", "5ms", "7ms", "9ms"]);
        let s = Sweep::parse("workload.appenders=10..2:3").unwrap();
        assert_eq!(
            s.values.iter().map(|v| v.0.as_str()).collect::<Vec<_>>(),
            vec!["10", "6", "2"]
        );
        assert!(Sweep::parse("metadata.wait_for_version=1..2:2").is_err());
        assert!(Sweep::parse("latency.network=1ms..2ms:1").is_err());
        assert!(Sweep::parse("latency.network=1ms..2ms").is_err());
        assert!(Sweep::parse("latency.nope=1ms..2ms:2").is_err());
        // The whole u64 range: no overflow.
        let s = Sweep::parse("workload.ops=0..18446744073709551615:3").unwrap();
        assert_eq!(
            s.values.iter().map(|v| v.0.as_str()).collect::<Vec<_>>(),
            vec!["0", "9223372036854775807", "18446744073709551615"]
        );
    }

    #[test]
    fn seed_ranges_are_inclusive() {
        assert_eq!(parse_seeds("3..7"), Ok((3, 7)));
        assert!(parse_seeds("7..3").is_err());
        assert!(parse_seeds("x..3").is_err());
        assert!(parse_seeds("0..18446744073709551615").is_err());
        assert!(parse_seeds("-1..3").is_err());
    }
}
