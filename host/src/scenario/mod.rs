//! Scenario files: a cluster, its latencies and faults, a workload, and the run's limits.
//!
//! A scenario is TOML. Built-in scenarios (in `scenarios/`) can be named without a path;
//! any other is read from its path. Every key can be overridden with `--set key=value`.
//! Every key is checked: an unknown key, a value of the wrong type or a malformed latency
//! is an error that names the file and the key (exit code 2).
//!
//! A scenario is the sandbox's [`Config`] plus what a file adds: a name, a seed, a
//! workload, faults, steps and an expected error. [`Scenario::default()`] is what an empty
//! file gives.
//!
//! - [`keys`]: every key, its type, range, meaning and field; `--set`;
//! - `read`: the file's table into a scenario, and the checks that span keys;
//! - [`error`]: why a scenario could not be used;
//! - [`faults`]: the `faults` array;
//! - [`steps`]: the `[[steps]]` of a script;
//! - [`builtin`]: the built-in scenarios.

pub mod builtin;
pub mod error;
pub mod faults;
pub mod keys;
mod read;
mod segments;
pub mod steps;

use std::path::Path;

use crate::config::Config;
use crate::time::SimTime;
use crate::workload::{
    AppendAfterSeal, RandomOps, RandomOpsConfig, Script, Step, Workload,
    append_after_seal::AppendAfterSealConfig,
};
pub use builtin::{BUILTIN, builtin_names};
pub use error::ScenarioError;
pub use faults::{ScenarioFault, Trigger};
pub use keys::{KEYS, Key};
pub(crate) use keys::{SweepKind, sweep_kind};

/// A scenario, checked and with every default filled in.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name. Default `unnamed`.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// Where it was read from: a path, or `scenarios/NAME.toml` for a built-in.
    pub source: String,
    /// The default seed. Default 1.
    pub seed: u64,
    /// The cluster, its latencies, metadata, limits and guest settings (`guest.*`).
    pub config: Config,
    /// What the clients do.
    pub workload: WorkloadSpec,
    /// Planned faults.
    pub faults: Vec<ScenarioFault>,
    /// The run is expected to fail with exactly this error (a reproduction of a bug):
    /// it passes when it does.
    pub expect_error: Option<String>,
    /// Checks the run is expected to fail (a race that fires): it passes when exactly
    /// these fail (`expect.failing`).
    pub expect_failing: Vec<String>,
    /// The script's steps (`[[steps]]`).
    pub steps: Vec<Step>,
}

impl Default for Scenario {
    /// What an empty scenario file gives: the sandbox's defaults, plus a scenario's own: a
    /// client node N5 that hosts the sequencer and starts at once, and the Logs written
    /// before anything starts.
    fn default() -> Self {
        let mut config = Config::default();
        config.cluster.sequencer = Some(5);
        config.cluster.start_clients = true;
        config.metadata.install = true;
        Scenario {
            name: "unnamed".into(),
            description: String::new(),
            source: String::new(),
            seed: 1,
            config,
            workload: WorkloadSpec::default(),
            faults: Vec::new(),
            expect_error: None,
            expect_failing: Vec::new(),
            steps: Vec::new(),
        }
    }
}

/// Which workload a scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkloadKind {
    /// Restate's `append_after_seal_concurrent` body.
    #[default]
    AppendAfterSeal,
    /// Seeded random operations, optionally with a nemesis.
    Random,
    /// The `[[steps]]`.
    Script,
    /// Nothing: the cluster runs until the time limit.
    None,
}

impl WorkloadKind {
    /// Its name in a scenario file.
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::AppendAfterSeal => "append-after-seal",
            WorkloadKind::Random => "random",
            WorkloadKind::Script => "script",
            WorkloadKind::None => "none",
        }
    }

    /// Parses a name of [`WorkloadKind::name`].
    pub fn parse(text: &str) -> Option<WorkloadKind> {
        [
            WorkloadKind::AppendAfterSeal,
            WorkloadKind::Random,
            WorkloadKind::Script,
            WorkloadKind::None,
        ]
        .into_iter()
        .find(|k| k.name() == text)
    }
}

/// What the clients do.
#[derive(Debug, Clone, Default)]
pub struct WorkloadSpec {
    /// Which workload. Default append/seal; a script when the file has `[[steps]]`.
    pub kind: WorkloadKind,
    /// Append/seal: the client waits for exactly the Logs version the scenario writes,
    /// instead of any version. Default false (`metadata.wait_for_version`).
    pub wait_for_version: bool,
    /// The append/seal workload's knobs (its wait version and remote client come from
    /// the scenario's metadata and cluster).
    pub append: AppendAfterSealConfig,
    /// The random-operations workload's knobs.
    pub random: RandomOpsConfig,
}

/// Loads a scenario by built-in name or path, then applies `--set key=value` overrides.
pub fn load(spec: &str, sets: &[String]) -> Result<Scenario, ScenarioError> {
    let (file, text) = source(spec)?;
    parse(&file, &text, sets)
}

/// A scenario's table with the `--set` overrides folded in: written out, it loads to the
/// same scenario with no overrides (`run --out` keeps it as `scenario.toml`, `repl`'s
/// `save` starts from it).
pub fn folded(file: &str, text: &str, sets: &[String]) -> Result<toml::Table, ScenarioError> {
    let mut table: toml::Table =
        text.parse()
            .map_err(|e: toml::de::Error| ScenarioError::Syntax {
                file: file.to_string(),
                message: e.to_string(),
            })?;
    for arg in sets {
        keys::apply_set(file, &mut table, arg)?;
    }
    Ok(table)
}

/// The text of a scenario named by built-in name or path, and the file name errors give.
pub fn source(spec: &str) -> Result<(String, String), ScenarioError> {
    let path = Path::new(spec);
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Read {
            path: spec.to_string(),
            reason: e.to_string(),
        })?;
        Ok((spec.to_string(), text))
    } else if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == spec) {
        Ok((format!("scenarios/{name}.toml"), text.to_string()))
    } else {
        Err(ScenarioError::Unknown {
            name: spec.to_string(),
            builtins: builtin_names(),
        })
    }
}

/// Parses scenario text; `file` names it in errors.
pub fn parse(file: &str, text: &str, sets: &[String]) -> Result<Scenario, ScenarioError> {
    let table = folded(file, text, sets)?;
    let mut reader = read::Reader::new(file);
    reader.flatten("", table)?;
    reader.build()
}

impl Scenario {
    /// A fresh instance of the scenario's workload (None for `workload.kind = "none"`).
    pub fn workload(&self) -> Option<Box<dyn Workload>> {
        let w = &self.workload;
        Some(match w.kind {
            WorkloadKind::AppendAfterSeal => {
                Box::new(AppendAfterSeal::new(AppendAfterSealConfig {
                    wait_version: if w.wait_for_version {
                        self.config.metadata.logs_version
                    } else {
                        1
                    },
                    control: self.config.cluster.clients.first().copied(),
                    ..w.append.clone()
                }))
            }
            WorkloadKind::Random => Box::new(RandomOps::new(w.random.clone())),
            WorkloadKind::Script => Box::new(Script::new(self.steps.clone())),
            WorkloadKind::None => return None,
        })
    }

    /// One line per knob, for people.
    pub fn summary(&self) -> String {
        self.config.summary()
    }

    /// When the client nodes start by themselves, if they do.
    pub fn client_start(&self) -> Option<SimTime> {
        let c = &self.config.cluster;
        c.start_clients.then_some(c.client_start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key's default is read off `Scenario::default()`; written back as a value, it
    /// must read as the default again (the renderer and the reader agree).
    #[test]
    fn every_default_written_out_reads_back_as_the_default() {
        let empty = format!("{:?}", parse("t", "", &[]).unwrap());
        let mut checked = 0;
        for key in keys::KEYS {
            let default = key.default_text();
            // A default that names another key (`latency.peer_metadata`) follows that key.
            if default.is_empty() || keys::is_key(&default) {
                continue;
            }
            let value = match key.kind {
                keys::Kind::Integer | keys::Kind::Bool => default.clone(),
                _ => format!("{default:?}"),
            };
            let set = format!("{}={value}", key.name);
            let with_default =
                parse("t", "", std::slice::from_ref(&set)).unwrap_or_else(|e| panic!("{set}: {e}"));
            assert_eq!(
                format!("{with_default:?}"),
                empty,
                "{set} is not the default"
            );
            checked += 1;
        }
        assert!(checked > 40, "{checked}");
    }

    #[test]
    fn every_builtin_scenario_parses() {
        for (name, text) in BUILTIN {
            let s = parse(name, text, &[]).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&s.name, name);
        }
    }

    #[test]
    fn sets_override_typed_values() {
        let s = parse(
            "x.toml",
            "",
            &[
                "latency.network=5ms".into(),
                "cluster.log_servers=4".into(),
                "metadata.wait_for_version=true".into(),
                "guest.metadata.tick_interval_ms=20".into(),
                "workload.weights.seal=0".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            s.config.latency.network,
            crate::latency::Latency::Constant(5 * crate::time::MILLIS)
        );
        assert_eq!(s.config.cluster.log_servers, 4);
        assert!(s.workload.wait_for_version);
        assert_eq!(s.workload.random.weights[3], 0);
        assert_eq!(
            s.config.settings,
            vec![("metadata.tick_interval_ms".to_string(), "20".to_string())]
        );
        // A value is one line: a line break could smuggle in another key.
        let e = parse(
            "x.toml",
            "",
            &["name=\"a\"\nlatency.network = \"1s\"".into()],
        )
        .unwrap_err();
        assert!(e.to_string().contains("control character"), "{e}");
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let e = parse("x.toml", "[latency]\nnetwrk = \"1ms\"\n", &[]).unwrap_err();
        assert!(
            e.to_string()
                .contains("x.toml: unknown key `latency.netwrk`"),
            "{e}"
        );
        let e = parse("x.toml", "", &["latency.netwrk=1ms".into()]).unwrap_err();
        assert!(
            e.to_string().contains("`latency.netwrk` (from --set)"),
            "{e}"
        );
        let e = parse("x.toml", "[latency]\nnetwork = \"fast\"\n", &[]).unwrap_err();
        assert!(
            e.to_string()
                .contains("key `latency.network`: malformed latency \"fast\""),
            "{e}"
        );
        let e = parse("x.toml", "[cluster]\nlog_servers = \"three\"\n", &[]).unwrap_err();
        assert!(
            e.to_string()
                .contains("key `cluster.log_servers`: expected an integer"),
            "{e}"
        );
        let e = parse("x.toml", "[cluster\n", &[]).unwrap_err();
        assert!(
            e.to_string().contains("x.toml: invalid TOML") && e.to_string().contains("line 1"),
            "{e}"
        );
        let e = parse("x.toml", "[cluster]\nreplication = 4\n", &[]).unwrap_err();
        assert!(e.to_string().contains("cluster.replication"), "{e}");
    }

    #[test]
    fn steps_parse_with_their_timing_and_errors_name_the_step() {
        let text = r#"
[[steps]]
name = "logs"
at = "2s"
put_logs = 1

[[steps]]
start = 5
delay = "500ms"

[[steps]]
name = "find"
invoke = "find-tail"
node = 5
expect = "failed: unknown log '0'"

[[steps]]
after = "logs"
fault = "partition"
from = 5
to = 1
lasts = "100ms"
"#;
        let s = parse("x.toml", text, &[]).unwrap();
        assert_eq!(s.workload.kind, WorkloadKind::Script);
        assert_eq!(s.steps.len(), 4);
        assert_eq!(s.steps[1].name, "step-2");
        assert_eq!(
            s.steps[1].timing,
            crate::workload::StepTiming::After {
                step: 0,
                delay: 500 * crate::time::MILLIS
            }
        );
        assert_eq!(
            s.steps[3].timing,
            crate::workload::StepTiming::After { step: 0, delay: 0 }
        );
        for (bad, needle) in [
            (
                "[[steps]]\nstart = 9\n",
                "`steps[0]`: N9 is not in the cluster",
            ),
            ("[[steps]]\ninvoke = \"fly\"\nnode = 5\n", "steps[0].invoke"),
            (
                "[[steps]]\nstart = 5\nwhen = \"1s\"\n",
                "unknown key `steps[0].when`",
            ),
            ("[[steps]]\nstart = 5\nafter = \"nope\"\n", "steps[0].after"),
            ("[[steps]]\nstart = 5\nput_logs = 1\n", "exactly one of"),
            ("[[steps]]\nstart = 5\nexpect = \"x\"\n", "steps[0].expect"),
            ("[[steps]]\nfault = \"boom\"\nnode = 1\n", "steps[0].fault"),
        ] {
            let e = parse("x.toml", bad, &[]).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad:?}: {e}");
        }
    }
}
