//! `logsandbox mutants`: proves the checker catches real bugs.
//!
//! Each mutant is the product guest rebuilt with one known bug (`guest/src/mutants.rs`),
//! a real wasm component loaded exactly as any other guest. Every built-in scenario runs
//! over a few seeds against the unmodified guest, which must pass everywhere, and
//! against each mutant, which must fail somewhere: the first failing (scenario, seed)
//! and the checks it broke say what caught it.
//!
//! Mixed clusters: `--role log-server` puts each mutant on the log-servers only (the
//! clients run the built-in guest, or `--client`), `--role client` on the clients only;
//! without a role, the mutant runs wherever `--log-server`/`--client` name no other
//! component. A mutant whose bug lives where it does not run is not expected to be caught.
//! A mutant of the log-server is also put through `conform`, which names the rule it breaks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::json;

use logsandbox::runtime::{Component, MUTANTS, MutantPart};
use logsandbox::scenario::{self, BUILTIN, Scenario};
use logsandbox::{Components, Sandbox};

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
    pub part: MutantPart,
    /// Whether it runs where its bug lives, so the runs must catch it.
    pub expected: bool,
    pub caught: Option<Catch>,
    pub runs: usize,
    /// For a log-server mutant, the conformance rules it breaks.
    pub conform: Option<Vec<String>>,
}

/// Where the mutants run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// The log-server nodes only.
    LogServer,
    /// The client nodes only.
    Client,
}

/// Which components the cluster runs, the mutant aside.
pub struct Placement {
    /// The components the flags named (the unmodified cluster).
    pub base: Components,
    pub role: Option<Role>,
    /// How the base and the mutant's place read, for the report.
    pub describe: String,
}

impl Placement {
    /// The cluster with `mutant` in its place.
    fn with(&self, mutant: Arc<Component>) -> Components {
        let mut components = self.base.clone();
        match self.role {
            None => components.default = Some(mutant),
            Some(Role::LogServer) => components.log_server = Some(mutant),
            Some(Role::Client) => components.client = Some(mutant),
        }
        components
    }

    /// Whether the mutant runs on the log-servers, the clients.
    fn runs_on(&self) -> (bool, bool) {
        match self.role {
            None => (self.base.log_server.is_none(), self.base.client.is_none()),
            Some(Role::LogServer) => (true, false),
            Some(Role::Client) => (false, true),
        }
    }
}

pub struct MutantsReport {
    pub seeds: (u64, u64),
    /// Which component runs where.
    pub cluster: String,
    /// The unmodified guest: runs, and the runs that failed (there should be none).
    pub baseline_runs: usize,
    pub baseline_failures: Vec<Catch>,
    pub mutants: Vec<MutantResult>,
}

/// The cluster under test: the unmodified one (`None`) or with a mutant.
struct Subject {
    mutant: Option<usize>,
    components: Components,
}

/// Runs the matrix on `jobs` threads. Each mutant stops at its first catch.
pub fn run(
    seeds: (u64, u64),
    jobs: usize,
    placement: &Placement,
) -> Result<MutantsReport, logsandbox::Error> {
    let scenarios: Vec<Scenario> = BUILTIN
        .iter()
        .map(|(name, _)| scenario::load(name, &[]))
        .collect::<Result<_, _>>()?;
    let mut subjects = vec![Subject {
        mutant: None,
        components: placement.base.clone(),
    }];
    let mut conform = Vec::new();
    for (i, mutant) in MUTANTS.iter().enumerate() {
        let runtime = Arc::new(Component::load(
            &format!("mutant {}", mutant.name),
            mutant.wasm,
        )?);
        // The conformance suite drives a log-server alone: it meets only that part's bugs.
        conform.push((mutant.part == MutantPart::LogServer).then(|| {
            logsandbox::conform::run(runtime.clone(), None, &[])
                .into_iter()
                .filter(|o| o.broken.is_some())
                .map(|o| o.rule.to_string())
                .collect::<Vec<_>>()
        }));
        subjects.push(Subject {
            mutant: Some(i),
            components: placement.with(runtime),
        });
    }
    let (on_log_servers, on_clients) = placement.runs_on();
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
        cluster: placement.describe.clone(),
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
                name: MUTANTS[m].name.to_string(),
                bug: MUTANTS[m].bug.to_string(),
                part: MUTANTS[m].part,
                expected: MUTANTS[m].part.met_on(on_log_servers, on_clients),
                caught: failures.into_iter().next(),
                runs,
                conform: conform[m].clone(),
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
            let builder = Sandbox::from_scenario(scenario).seed(seed);
            let outcome = builder
                .components(subject.components.clone())
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
    /// Every mutant that runs where its bug lives caught, every log-server mutant failing
    /// a conformance rule, and the unmodified cluster passing everywhere.
    pub fn succeeded(&self) -> bool {
        self.baseline_failures.is_empty()
            && self.mutants.iter().all(|m| {
                (m.caught.is_some() || !m.expected)
                    && m.conform.as_ref().is_none_or(|r| !r.is_empty())
            })
    }

    /// The table for people.
    pub fn render(&self) -> String {
        let mut out = format!(
            "mutants: every built-in scenario, seeds {}..{}\n{}\n\n  {:<26} {:<7} {:<29} {:<5} by\n",
            self.seeds.0, self.seeds.1, self.cluster, "guest", "caught", "scenario", "seed"
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
                None if !m.expected => {
                    out += &format!(
                        "  {:<26} {:<7} not expected: its bug lives in the {}, where it does not run\n",
                        m.name,
                        "-",
                        part_name(m.part)
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
        let conformed: Vec<&MutantResult> = self
            .mutants
            .iter()
            .filter(|m| m.conform.is_some())
            .collect();
        if !conformed.is_empty() {
            out += "\n  conform (the log-server mutants, driven alone):\n";
            for m in conformed {
                let rules = m.conform.as_deref().unwrap_or_default();
                if rules.is_empty() {
                    out += &format!("  {:<26} passes every rule: NOT caught\n", m.name);
                } else {
                    out += &format!("  {:<26} fails {}\n", m.name, rules.join(", "));
                }
            }
        }
        out += "\n";
        for m in &self.mutants {
            out += &format!("  {:<26} {}\n", m.name, m.bug);
        }
        out += if self.succeeded() {
            "\nEvery mutant was caught where its bug runs (and every log-server mutant by conform), and the unmodified cluster passed everywhere.\n"
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
            "cluster": self.cluster,
            "mutants": self.mutants,
            "all_caught": self.mutants.iter().all(|m| m.caught.is_some() || !m.expected),
            "outcome": if self.succeeded() { "pass" } else { "fail" },
        })
    }
}

fn part_name(part: MutantPart) -> &'static str {
    match part {
        MutantPart::LogServer => "log-server",
        MutantPart::Sequencer => "sequencer (the clients)",
        MutantPart::MetadataCache => "metadata cache (the clients)",
        MutantPart::Client => "client (the clients)",
    }
}

/// The cluster the mutants run in, from `--role` and the component flags.
pub fn placement(
    role: Option<Role>,
    args: &crate::components::ComponentArgs,
) -> Result<Placement, crate::exit::CliError> {
    let usage = |m: &str| Err(crate::exit::CliError::Usage(m.into()));
    match role {
        None if args.guest.is_some() => {
            return usage(
                "--guest names every node's component: give --role, or name the other role's with --log-server or --client",
            );
        }
        Some(Role::LogServer) if args.log_server.is_some() => {
            return usage(
                "--role log-server puts the mutants on the log-servers: --log-server names no place left",
            );
        }
        None if args.log_server.is_some() && args.client.is_some() => {
            return usage(
                "--log-server and --client name every role's component: the mutants would run nowhere; give --role",
            );
        }
        Some(Role::Client) if args.client.is_some() => {
            return usage(
                "--role client puts the mutants on the clients: --client names no place left",
            );
        }
        _ => {}
    }
    let file = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let other = file(&args.guest).unwrap_or_else(|| "the built-in guest".into());
    let (log_servers, clients) = match role {
        None => (
            file(&args.log_server).unwrap_or_else(|| "the mutant".into()),
            file(&args.client).unwrap_or_else(|| "the mutant".into()),
        ),
        Some(Role::LogServer) => (
            "the mutant".into(),
            file(&args.client).unwrap_or_else(|| other.clone()),
        ),
        Some(Role::Client) => (
            file(&args.log_server).unwrap_or_else(|| other.clone()),
            "the mutant".into(),
        ),
    };
    let mut describe = format!("log-servers run {log_servers}; clients run {clients}");
    for (node, path) in args.per_node()? {
        describe += &format!("; N{node} runs {}", path.display());
    }
    Ok(Placement {
        base: args.load()?,
        role,
        describe,
    })
}
