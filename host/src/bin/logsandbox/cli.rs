//! The `logsandbox` command: parses arguments, runs, prints, and returns the exit code.

use std::path::PathBuf;

use std::io::{IsTerminal, Write};

use clap::{Parser, Subcommand};
use logsandbox::runtime::Component;
use logsandbox::scenario::{self, BUILTIN, ScenarioError};
use logsandbox::show::timeline::Timeline;
use logsandbox::{Error, Pace, Sandbox, explore};

use crate::components::ComponentArgs;
use crate::demo::Demo;
use crate::exit::{CliError, EXIT_FAIL, EXIT_PASS, colour_wanted, emit};
use crate::mutants;

#[derive(Debug, Parser)]
#[command(
    name = "logsandbox",
    version,
    about = "Deterministic race testing for log services: wasm log-server nodes on a virtual clock",
    after_help = "Exit codes: 0 every check passed, 1 the run failed, 2 bad input."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one scenario (a built-in name or a path to a TOML file).
    Run {
        scenario: String,
        /// Seed of every random choice; defaults to the scenario's `seed`.
        #[arg(long, allow_negative_numbers = true, value_parser = whole_number)]
        seed: Option<u64>,
        /// Override a scenario key, e.g. `--set latency.network=5ms` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Keep a redb file per node, and write report.json, history.json, trace.jsonl,
        /// messages.svg, explain.txt (a failed run) and scenario.toml (for `replay`) here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print exactly one JSON object on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        components: ComponentArgs,
        /// Print what happened, event by event (virtual time, node, event), before the summary;
        /// only the events that mention TEXT when given, e.g. `--timeline N5` or `--timeline Seal`.
        #[arg(long, value_name = "TEXT", num_args = 0..=1, default_missing_value = "")]
        timeline: Option<String>,
        /// With --timeline: hide the chatter (timers, hellos, debug lines).
        #[arg(long)]
        compact: bool,
        /// For a failing run, print the causal chain that led to the failing operation.
        #[arg(long)]
        explain: bool,
    },
    /// Run the seed race twice, as the flaky test had it and as fixed, and show why one fails.
    Demo {
        /// Seed of both runs.
        #[arg(long, allow_negative_numbers = true, value_parser = whole_number)]
        seed: Option<u64>,
    },
    /// Run many seeds of a scenario, optionally over a latency sweep; report the failing ones.
    Explore {
        scenario: String,
        /// Seeds to run, inclusive: `1..100`.
        #[arg(long, allow_hyphen_values = true)]
        seeds: String,
        /// Runs in parallel (default: the machine's cores).
        #[arg(long, allow_negative_numbers = true, value_parser = job_count)]
        jobs: Option<usize>,
        /// Override a scenario key in every run (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Sweep a knob: `KEY=A..B:STEPS` (at most two), e.g. `latency.metadata_store=1ms..200ms:5`.
        #[arg(long = "sweep", value_name = "KEY=A..B:STEPS")]
        sweeps: Vec<String>,
        /// Print exactly one JSON object on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        components: ComponentArgs,
    },
    /// Run every built-in scenario against guests with one known bug each: each must be caught.
    Mutants {
        /// Seeds per scenario, inclusive.
        #[arg(long, default_value = "1..5", allow_hyphen_values = true)]
        seeds: String,
        /// Guests exercised in parallel (default: the machine's cores).
        #[arg(long, allow_negative_numbers = true, value_parser = job_count)]
        jobs: Option<usize>,
        /// Put each mutant on these nodes only (default: wherever the flags below name no
        /// other component).
        #[arg(long, value_enum)]
        role: Option<mutants::Role>,
        /// Print exactly one JSON object on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        components: ComponentArgs,
    },
    /// Check a log-server component rule by rule: the host sends it protocol requests and
    /// names each rule it breaks, with the request and the answer.
    Conform {
        /// The component (wasm); without one, the built-in guest.
        component: Option<PathBuf>,
        /// Only the rules whose name contains TEXT, e.g. `store.` or `recovery`.
        #[arg(long, value_name = "TEXT")]
        rule: Option<String>,
        /// A setting handed to the node in every rule, as a scenario's `guest.KEY` gives it,
        /// e.g. `--set example.raise_on_store=3` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Print exactly one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// List the built-in scenarios, or print one (`scenarios show NAME`) to use as a template.
    Scenarios {
        #[command(subcommand)]
        action: Option<ScenariosAction>,
    },
    /// List every scenario key, with its type, default and meaning.
    Keys,
    /// The built-in guest as a file: to compose, compare, or run on some nodes only.
    Guest {
        #[command(subcommand)]
        action: GuestAction,
    },
    /// Run a `run --out` directory again: check the trace hash it recorded, show the timeline.
    Replay {
        /// The directory `run --out` wrote.
        dir: PathBuf,
        /// Only the timeline's lines that mention TEXT (a node: `N5`).
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
        /// Show every event, the chatter too (timers, hellos).
        #[arg(long)]
        all: bool,
    },
    /// Judge a history file (the history.json of `run --out`, or any of its shape) with every check.
    Check {
        /// The history file.
        history: PathBuf,
        /// Print exactly one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// An interactive session on a live cluster: start nodes, invoke operations, inject
    /// faults, step the clock, look at nodes, the history, the timeline and the picture.
    Repl {
        /// A built-in or a TOML file; without one, 3 log-servers and the client N5.
        scenario: Option<String>,
        /// Seed of every random choice.
        #[arg(long, allow_negative_numbers = true, value_parser = whole_number)]
        seed: Option<u64>,
        /// Override a scenario key (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        #[command(flatten)]
        components: ComponentArgs,
        /// Pace runs by the wall clock: virtual seconds per wall second (1: real time), or
        /// `virtual` (the default).
        #[arg(long)]
        speed: Option<Pace>,
    },
}

/// `conform`: every rule (or those named) against a component.
fn conform(
    component: Option<PathBuf>,
    rule: Option<String>,
    sets: &[String],
    json: bool,
) -> Result<i32, CliError> {
    let settings = sets
        .iter()
        .map(|set| {
            let bad = |why: &str| CliError::Usage(format!("--set {set:?}: {why}"));
            let (key, value) = set
                .split_once('=')
                .ok_or_else(|| bad("expected KEY=VALUE, e.g. example.raise_on_store=3"))?;
            let key = key.trim();
            if logsandbox::scenario::KEYS.iter().any(|k| k.name == key) {
                return Err(bad(
                    "a scenario key: conform runs no scenario and keeps the default limits; it hands the node guest settings only",
                ));
            }
            let key = key.strip_prefix("guest.").unwrap_or(key);
            if key.is_empty() {
                return Err(bad("the key is empty"));
            }
            Ok((key.to_string(), value.trim().to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (name, runtime) = match &component {
        Some(path) => (
            path.display().to_string(),
            crate::components::load_guest(path)?,
        ),
        None => ("the built-in guest".to_string(), Component::builtin()?),
    };
    let outcomes = logsandbox::conform::run(runtime, rule.as_deref(), &settings);
    if outcomes.is_empty() {
        let names: Vec<&str> = logsandbox::conform::RULES.iter().map(|r| r.name).collect();
        return Err(CliError::Usage(format!(
            "--rule {}: no rule's name contains it (rules: {})",
            rule.unwrap_or_default(),
            names.join(", ")
        )));
    }
    let passed = outcomes.iter().all(|o| o.broken.is_none());
    if json {
        let failed = outcomes.iter().filter(|o| o.broken.is_some()).count();
        let value = serde_json::json!({
            "component": name,
            "passed": passed,
            "rules": outcomes.len(),
            "failed": failed,
            "outcomes": outcomes,
        });
        emit(&format!("{value}\n"));
    } else {
        emit(&logsandbox::conform::render(&name, &outcomes));
    }
    Ok(if passed { EXIT_PASS } else { EXIT_FAIL })
}

/// What `guest` does.
#[derive(Debug, Subcommand)]
pub enum GuestAction {
    /// Write the built-in guest component (wasm) to FILE.
    Export {
        /// Where to write it.
        file: PathBuf,
    },
}

/// What `scenarios` does besides listing.
#[derive(Debug, Subcommand)]
pub enum ScenariosAction {
    /// Print a built-in scenario's TOML file, to copy and change.
    Show {
        /// The built-in's name, as `logsandbox scenarios` lists it.
        name: String,
    },
}

/// Runs the command line and returns the process exit code.
pub fn main_with(cli: Cli) -> i32 {
    match execute(cli) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            e.exit_code()
        }
    }
}

fn execute(cli: Cli) -> Result<i32, CliError> {
    match cli.command {
        Command::Demo { seed } => {
            let demo = Demo::run(Component::builtin()?, seed)?;
            emit(&demo.render());
            Ok(if demo.succeeded() {
                EXIT_PASS
            } else {
                EXIT_FAIL
            })
        }
        Command::Explore {
            scenario,
            seeds,
            jobs,
            sets,
            sweeps,
            json,
            components,
        } => {
            let seeds = explore::parse_seeds(&seeds).map_err(CliError::Usage)?;
            if sweeps.len() > 2 {
                return Err(CliError::Usage("--sweep: at most two knobs".into()));
            }
            let sweeps = sweeps
                .iter()
                .map(|s| explore::Sweep::parse(s))
                .collect::<Result<Vec<_>, _>>()?;
            // Check the scenario and the sets before starting any thread.
            scenario::load(&scenario, &sets)?;
            let jobs =
                jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let exploration = explore::explore(explore::Plan {
                scenario: &scenario,
                sets: &sets,
                seeds,
                jobs,
                sweeps,
                components: components.load()?,
                progress: !json && std::io::stderr().is_terminal(),
            })?;
            if json {
                emit(&format!("{}\n", exploration.to_json()));
            } else {
                emit(&exploration.render());
            }
            Ok(if exploration.failures() == 0 {
                EXIT_PASS
            } else {
                EXIT_FAIL
            })
        }
        Command::Mutants {
            seeds,
            jobs,
            role,
            json,
            components,
        } => {
            let seeds = explore::parse_seeds(&seeds).map_err(CliError::Usage)?;
            let jobs =
                jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let placement = mutants::placement(role, &components)?;
            let report = mutants::run(seeds, jobs, &placement)?;
            if json {
                emit(&format!("{}\n", report.to_json()));
            } else {
                emit(&report.render());
            }
            Ok(if report.succeeded() {
                EXIT_PASS
            } else {
                EXIT_FAIL
            })
        }
        Command::Scenarios {
            action: Some(ScenariosAction::Show { name }),
        } => {
            let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name) else {
                return Err(ScenarioError::Unknown {
                    name,
                    builtins: scenario::builtin_names(),
                }
                .into());
            };
            emit(text);
            Ok(EXIT_PASS)
        }
        Command::Repl {
            scenario,
            seed,
            sets,
            components,
            speed,
        } => crate::repl::run(
            scenario.as_deref(),
            sets,
            seed,
            components,
            speed.unwrap_or(Pace::Virtual),
        ),
        Command::Replay { dir, filter, all } => {
            crate::replay::replay(&dir, filter.as_deref(), !all)
        }
        Command::Check { history, json } => crate::replay::check(&history, json),
        Command::Conform {
            component,
            rule,
            sets,
            json,
        } => conform(component, rule, &sets, json),
        Command::Guest {
            action: GuestAction::Export { file },
        } => {
            let bytes = logsandbox::runtime::BUILTIN_GUEST;
            std::fs::write(&file, bytes)
                .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
            emit(&format!(
                "wrote {}: the built-in guest, {} bytes (world logsandbox:node/log-node)\n",
                file.display(),
                bytes.len()
            ));
            Ok(EXIT_PASS)
        }
        Command::Keys => {
            emit(&keys_table());
            Ok(EXIT_PASS)
        }
        Command::Scenarios { action: None } => {
            for (name, text) in BUILTIN {
                let s = scenario::parse(name, text, &[])?;
                let first = s.description.lines().next().unwrap_or("").trim();
                emit(&format!("{name:<28} {first}\n"));
            }
            Ok(EXIT_PASS)
        }
        Command::Run {
            scenario,
            seed,
            sets,
            out,
            json,
            components,
            timeline,
            compact,
            explain,
        } => {
            if json && (timeline.is_some() || explain) {
                return Err(CliError::Usage(
                    "--timeline and --explain print text; they do not go with --json (use --out for trace.jsonl and explain.txt)"
                        .into(),
                ));
            }
            let parsed = scenario::load(&scenario, &sets)?;
            let record = timeline.is_some() || explain || out.is_some();
            // Keeping the record, a failed run goes on a second for it (what came too
            // late); the verdict and the trace hash are taken at the failure.
            let mut builder = Sandbox::from_scenario(&parsed).keep_trace(record);
            let loaded = components.load()?;
            builder = builder.components(loaded.clone());
            if let Some(seed) = seed {
                builder = builder.seed(seed);
            }
            if let Some(dir) = &out {
                check_out_dir(dir)?;
                builder = builder.out_dir(dir);
            }
            let mut sandbox = builder.build().map_err(Error::from)?;
            if let Some(dir) = &out {
                let seed = sandbox.seed();
                crate::replay::keep_for_replay(dir, &scenario, &sets, seed, &components)?;
            }
            let report = sandbox.run().map_err(Error::from)?;
            if let Some(filter) = &timeline {
                let timeline = Timeline {
                    filter: filter.clone(),
                    compact,
                    colour: colour_wanted(),
                };
                emit(&timeline.render(&report.trace));
            }
            if explain {
                match report.explain() {
                    Some(explanation) => emit(&explanation.render()),
                    None => emit("explain: the run passed; nothing to explain\n"),
                }
            }
            let replay = replay_command(&scenario, report.seed, &sets, &loaded);
            if json {
                emit(&format!("{}\n", report.to_json()));
            } else {
                emit(&report.render(&replay));
            }
            Ok(if report.passed() {
                EXIT_PASS
            } else {
                EXIT_FAIL
            })
        }
    }
}

/// `--out DIR` must be a directory this process can write, checked before the run so an
/// unusable path is bad input (exit 2), not a failed run.
fn check_out_dir(dir: &std::path::Path) -> Result<(), CliError> {
    let probe = dir.join(".logsandbox-write-probe");
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&probe, b""))
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| CliError::Usage(format!("--out {}: {e}", dir.display())))
}

/// A whole number for `--seed`, with a message that says what is wanted.
fn whole_number(text: &str) -> Result<u64, String> {
    // A scenario file's `seed` holds as much (TOML integers are signed 64-bit), so every
    // run can be written down (`--out`'s scenario.toml, the repl's save).
    text.trim()
        .parse()
        .ok()
        .filter(|n| *n <= i64::MAX as u64)
        .ok_or_else(|| {
            format!(
                "expected a whole number from 0 to {}, got {text:?}",
                i64::MAX
            )
        })
}

/// A count of parallel jobs: 1 or more.
fn job_count(text: &str) -> Result<usize, String> {
    text.trim()
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("expected a number of jobs from 1, got {text:?}"))
}

/// The exact command that replays a run.
pub fn replay_command(
    scenario: &str,
    seed: u64,
    sets: &[String],
    components: &logsandbox::Components,
) -> String {
    let mut cmd = format!("logsandbox run {scenario} --seed {seed}");
    for s in sets {
        cmd += &format!(" --set {s}");
    }
    cmd += &components.flags();
    cmd
}

/// Every scenario key as a table: name, type, default, meaning.
fn keys_table() -> String {
    use logsandbox::scenario::keys::Kind;
    let kind = |k: Kind| match k {
        Kind::Text => "text",
        Kind::Integer => "integer",
        Kind::Bool => "bool",
        Kind::Duration => "duration",
        Kind::Latency => "latency",
    };
    let dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    let mut out = format!(
        "{:<34} {:<9} {:<18} {:<22} meaning\n",
        "key", "type", "default", "range"
    );
    for key in scenario::KEYS {
        out += &format!(
            "{:<34} {:<9} {:<18} {:<22} {}\n",
            key.name,
            kind(key.kind),
            dash(&key.default_text()),
            dash(key.range),
            key.meaning
        );
    }
    out += "\nguest.KEY = VALUE    handed to every node as the setting KEY (e.g. guest.metadata.tick_interval_ms);\n";
    out += "                     the built-in guest reads these, each range-checked (others pass through):\n";
    for key in logsandbox::scenario::keys::guest::GUEST_KEYS {
        use logsandbox::scenario::keys::guest::GuestKind;
        let (kind, range) = match key.kind {
            GuestKind::Millis { min, max } => ("ms", format!("{min}..={max}")),
            GuestKind::Count { min, max } => ("integer", format!("{min}..={max}")),
            GuestKind::Bool => ("bool", "true, false".to_string()),
            GuestKind::OneOf(words) => ("text", words.join(", ")),
        };
        out += &format!(
            "{:<42} {:<7} {:<13} {:<22} {}\n",
            format!("guest.{}", key.name),
            kind,
            key.default,
            range,
            key.meaning
        );
    }
    out += "faults = [...]       crashes, partitions, holds, latencies, store outages (README, \"Scenarios\")\n";
    out += "[[steps]]            a script of steps (README, \"Scripts\")\n";
    out += "\nA duration is \"5ms\" (units us, ms, s; a bare 0 is zero); a latency is \"5ms\", \"1ms..5ms\" or \"exp:3ms\".\n";
    out
}
