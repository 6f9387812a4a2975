//! Scenario files: a cluster, its latencies and faults, a workload, and the run's limits.
//!
//! A scenario is TOML. Built-in scenarios (in `scenarios/`) can be named without a path;
//! any other is read from its path. Every key can be overridden with `--set key=value`.
//! Every key is checked: an unknown key, a value of the wrong type or a malformed latency
//! is an error that names the file and the key (exit code 2).
//!
//! - [`keys`]: every key, its type, default and meaning; `--set`;
//! - [`faults`]: the `faults` array;
//! - [`steps`]: the `[[steps]]` of a script;
//! - [`builtin`]: the built-in scenarios.

pub mod builtin;
pub mod faults;
pub mod keys;
pub mod steps;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::bindings::Precondition;
use crate::latency::Latency;
use crate::metadata_store::{HarnessPuts, PRECONDITION_FORMS, Proxy, parse_precondition};
use crate::time::{MILLIS, SECONDS, fmt_duration};
use crate::workload::{
    AppendAfterSeal, RandomOps, RandomOpsConfig, Script, Step, Workload,
    append_after_seal::AppendAfterSealConfig,
};
pub use builtin::{BUILTIN, builtin_names};
pub use faults::{ScenarioFault, Trigger};
use keys::Values;
pub use keys::{KEYS, Key, SweepKind, sweep_kind};

/// A scenario, checked and with every default filled in.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// Where it was read from: a path, or `scenarios/NAME.toml` for a built-in.
    pub source: String,
    /// The default seed.
    pub seed: u64,
    /// The nodes.
    pub cluster: ClusterSetup,
    /// The Logs metadata and how it is installed.
    pub metadata: MetadataSetup,
    /// The latency of each path.
    pub latency: Latencies,
    /// What the clients do.
    pub workload: WorkloadSpec,
    /// The run's limits.
    pub run: RunLimits,
    /// `guest.*` keys, handed to every node as settings.
    pub guest_settings: Vec<(String, String)>,
    /// Planned faults.
    pub faults: Vec<ScenarioFault>,
    /// The run is expected to fail with exactly this error (a reproduction of a bug):
    /// it passes when it does.
    pub expect_error: Option<String>,
    /// The script's steps (`[[steps]]`).
    pub steps: Vec<Step>,
}

/// The nodes of a scenario.
#[derive(Debug, Clone)]
pub struct ClusterSetup {
    /// Log-server nodes N1..Nn. Default 3.
    pub log_servers: u32,
    /// The client node that hosts the sequencer. Default N5.
    pub sequencer: u32,
    /// Write quorum size. Default 2.
    pub replication: u8,
    /// When the client nodes start (ns of virtual time). Default 0.
    pub client_start: u64,
    /// Whether the scenario starts the client nodes (false: a script does). Default true.
    pub start_clients: bool,
    /// A second client node, without the sequencer; 0 for none. Default 0.
    pub remote_client: u32,
}

/// The Logs metadata of a scenario.
#[derive(Debug, Clone)]
pub struct MetadataSetup {
    /// The version the scenario writes its Logs with (precondition None). Default 1.
    pub logs_version: u32,
    /// The client waits for `logs_version` instead of `>= MIN`. Default false.
    pub wait_for_version: bool,
    /// N1 writes an empty Logs at version 1 (DoesNotExist) when it starts. Default false.
    pub provision: bool,
    /// The scenario writes its Logs at `write_at` (false: a script does). Default true.
    pub install: bool,
    /// When the scenario writes its Logs; before the cluster starts when 0. Default 0.
    pub write_at: u64,
    /// The precondition of that put. Default None.
    pub precondition: Precondition,
    /// What the harness writes through. Default direct.
    pub proxy: Proxy,
    /// How the harness retries a put that failed retryable. Default 20 tries, 500 ms apart.
    pub puts: HarnessPuts,
}

/// The latency of each path.
#[derive(Debug, Clone)]
pub struct Latencies {
    /// Every node-to-node message. Default `1ms..3ms`.
    pub network: Latency,
    /// Each request to the metadata store and each answer. Default `2ms`.
    pub metadata_store: Latency,
    /// GetMetadata between nodes and its answer. Default: the network's.
    pub peer_metadata: Latency,
    /// One group commit of a node's writer. Default `100us`.
    pub storage: Latency,
    /// Messages between two nodes may overtake each other. Default false.
    pub reorder: bool,
    /// The metadata store's time to serve a read, once it arrived. Default 0.
    pub store_read: Latency,
    /// The metadata store's time to serve a write. Default 0.
    pub store_write: Latency,
}

/// Which workload a scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    /// Restate's `append_after_seal_concurrent` body.
    AppendAfterSeal,
    /// Seeded random operations, optionally with a nemesis.
    Random,
    /// The `[[steps]]`.
    Script,
    /// Nothing: the cluster runs until the time limit.
    None,
}

/// What the clients do.
#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    /// Which workload.
    pub kind: WorkloadKind,
    /// Append/seal: concurrent appenders. Default 20.
    pub appenders: u32,
    /// Append/seal: appends each makes before the seal. Default 200.
    pub warmup_appends: u32,
    /// Append/seal: pause of the find-tail watcher between two find-tails. Default 1 ms.
    pub watch_interval: u64,
    /// Append/seal: pause between the metadata being ready and the first lookup. Default 0.
    pub lookup_delay: u64,
    /// Append/seal: pause between the barrier and the seal. Default 0.
    pub seal_delay: u64,
    /// Append/seal: pause between the seal and the append that must fail. Default 0.
    pub after_seal_pause: u64,
    /// Append/seal: after the read, trims and a second read. Default false.
    pub trim: bool,
    /// The random-operations workload's knobs.
    pub random: RandomOpsConfig,
}

/// The run's limits.
#[derive(Debug, Clone)]
pub struct RunLimits {
    /// The run fails if the workload has not finished by this virtual time (ns). Default 60 s.
    pub time_limit: u64,
    /// The run fails after this many delivered events. Default 50 M.
    pub max_events: u64,
    /// Fuel per guest call. Default 2 G.
    pub fuel_per_call: u64,
    /// Memory cap per node (every memory and table), in MiB. Default 256.
    pub memory_mb: u64,
    /// Effects one guest call may make. Default 100,000.
    pub max_effects_per_call: u64,
    /// MiB one guest call's effects may hold. Default 64.
    pub max_call_mb: u64,
    /// MiB a node's database may hold. Default 1024.
    pub max_storage_mb: u64,
    /// Events at one virtual instant before the run stops as making no progress. Default 100,000.
    pub max_events_per_instant: u64,
    /// Client operations the history may hold. Default 500,000.
    pub max_ops: u64,
    /// Timers in a row, with nothing else, before the run stops. Default 1,000,000.
    pub max_idle_events: u64,
    /// Real time a run may take (ns). Default 600 s.
    pub wall_limit: u64,
}

/// Why a scenario could not be used. Every message names the file and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScenarioError {
    /// No such file, and not a built-in.
    Unknown {
        /// What was asked for.
        name: String,
        /// The built-ins there are.
        builtins: Vec<String>,
    },
    /// The file could not be read.
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is not TOML.
    Syntax {
        /// The file.
        file: String,
        /// The parser's message, with the line.
        message: String,
    },
    /// A key nobody knows.
    UnknownKey {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// It came from `--set`.
        from_set: bool,
    },
    /// A value of the wrong type or out of range.
    BadValue {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A malformed `--set`.
    BadSet {
        /// The argument.
        arg: String,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioError::Unknown { name, builtins } => write!(
                f,
                "unknown scenario `{name}`: no such file, and not a built-in scenario (built-ins: {})",
                builtins.join(", ")
            ),
            ScenarioError::Read { path, reason } => write!(f, "{path}: cannot read: {reason}"),
            ScenarioError::Syntax { file, message } => {
                write!(f, "{file}: invalid TOML: {}", message.trim_end())
            }
            ScenarioError::UnknownKey {
                file,
                key,
                from_set,
            } => {
                let section = key.split('.').next().unwrap_or_default();
                let known = KEYS
                    .iter()
                    .filter(|k| k.name.split('.').next() == Some(section))
                    .map(|k| k.name)
                    .collect::<Vec<_>>();
                let origin = if *from_set { " (from --set)" } else { "" };
                write!(f, "{file}: unknown key `{key}`{origin}")?;
                if known.is_empty() {
                    write!(
                        f,
                        "; known sections: cluster, metadata, latency, workload, run, guest, expect, faults, steps"
                    )
                } else {
                    write!(f, "; known keys there: {}", known.join(", "))
                }
            }
            ScenarioError::BadValue { file, key, reason } => {
                write!(f, "{file}: key `{key}`: {reason}")
            }
            ScenarioError::BadSet { arg, reason } => write!(f, "--set {arg}: {reason}"),
        }
    }
}

impl std::error::Error for ScenarioError {}

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
    let mut reader = Reader {
        values: Values {
            file: file.to_string(),
            values: BTreeMap::new(),
        },
        guest: Vec::new(),
        faults: Vec::new(),
        steps: Vec::new(),
    };
    reader.flatten("", table)?;
    reader.build()
}

/// Sorts a file's tables into plain keys, guest settings, faults and steps.
struct Reader {
    values: Values,
    guest: Vec<(String, String)>,
    faults: Vec<ScenarioFault>,
    steps: Vec<Step>,
}

impl Reader {
    fn flatten(&mut self, prefix: &str, table: toml::Table) -> Result<(), ScenarioError> {
        for (k, v) in table {
            let name = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match (name.as_str(), v) {
                ("guest", toml::Value::Table(t)) => self.guest_settings("", t)?,
                ("faults", toml::Value::Array(items)) => {
                    self.faults = faults::parse_faults(&self.values.file, items)?
                }
                ("steps", toml::Value::Array(items)) => {
                    self.steps = steps::parse_steps(&self.values.file, items)?
                }
                (_, toml::Value::Table(t))
                    if KEYS.iter().any(|k| k.name.starts_with(&format!("{name}."))) =>
                {
                    self.flatten(&name, t)?
                }
                (_, v) => {
                    if !KEYS.iter().any(|k| k.name == name) {
                        return Err(ScenarioError::UnknownKey {
                            file: self.values.file.clone(),
                            key: name,
                            from_set: false,
                        });
                    }
                    self.values.values.insert(name, v);
                }
            }
        }
        Ok(())
    }

    fn guest_settings(&mut self, prefix: &str, table: toml::Table) -> Result<(), ScenarioError> {
        for (k, v) in table {
            let name = if prefix.is_empty() {
                k
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(t) => self.guest_settings(&name, t)?,
                toml::Value::String(s) => self.guest.push((name, s)),
                toml::Value::Integer(i) => self.guest.push((name, i.to_string())),
                toml::Value::Boolean(b) => self.guest.push((name, b.to_string())),
                toml::Value::Float(x) => self.guest.push((name, x.to_string())),
                other => {
                    return Err(self.values.bad(
                        &format!("guest.{name}"),
                        format!("expected a scalar, got {other}"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn build(self) -> Result<Scenario, ScenarioError> {
        let v = &self.values;
        let log_servers = v.int("cluster.log_servers", 3, 1, 64)? as u32;
        let sequencer = v.int("cluster.sequencer", 5, 1, u32::MAX as u64)? as u32;
        let replication = v.int("cluster.replication", 2, 1, 64)? as u8;
        if replication as u32 > log_servers {
            return Err(v.bad(
                "cluster.replication",
                format!("{replication} copies need at least {replication} log-servers, the cluster has {log_servers}"),
            ));
        }
        if sequencer <= log_servers {
            return Err(v.bad(
                "cluster.sequencer",
                format!("N{sequencer} is a log-server (N1..N{log_servers}); the sequencer runs on a separate client node"),
            ));
        }
        let network = v.latency_or("latency.network", Latency::Uniform(MILLIS, 3 * MILLIS))?;
        let remote_client = v.int("cluster.remote_client", 0, 0, u32::MAX as u64)? as u32;
        if remote_client != 0 && (remote_client <= log_servers || remote_client == sequencer) {
            return Err(v.bad(
                "cluster.remote_client",
                format!("N{remote_client} is already a log-server or the sequencer's node"),
            ));
        }
        let in_cluster = |n: u32| {
            n <= log_servers || n == sequencer || (remote_client != 0 && n == remote_client)
        };
        let cluster_text = format!(
            "N1..N{log_servers}, N{sequencer}{}",
            if remote_client != 0 {
                format!(", N{remote_client}")
            } else {
                String::new()
            }
        );
        for (i, fault) in self.faults.iter().enumerate() {
            for node in fault.planned.fault.nodes() {
                if !in_cluster(node) {
                    return Err(v.bad(
                        &format!("faults[{i}]"),
                        format!("N{node} is not in the cluster ({cluster_text})"),
                    ));
                }
            }
        }
        for (i, step) in self.steps.iter().enumerate() {
            let nodes = match &step.action {
                crate::workload::StepAction::Invoke { node, .. } => vec![*node],
                crate::workload::StepAction::Fault(p) => p.fault.nodes(),
                crate::workload::StepAction::PutLogs { .. } | crate::workload::StepAction::Stop => {
                    vec![]
                }
            };
            if let Some(node) = nodes.into_iter().find(|n| !in_cluster(*n)) {
                return Err(v.bad(
                    &format!("steps[{i}]"),
                    format!("N{node} is not in the cluster ({cluster_text})"),
                ));
            }
        }
        let kind = match v.text("workload.kind", "")?.as_str() {
            "" if !self.steps.is_empty() => WorkloadKind::Script,
            "" | "append-after-seal" => WorkloadKind::AppendAfterSeal,
            "random" => WorkloadKind::Random,
            "script" => WorkloadKind::Script,
            "none" => WorkloadKind::None,
            other => {
                return Err(v.bad(
                    "workload.kind",
                    format!("{other:?} is not append-after-seal, random, script or none"),
                ));
            }
        };
        if kind == WorkloadKind::Script && self.steps.is_empty() {
            return Err(v.bad("workload.kind", "a script needs [[steps]]".into()));
        }
        let weight = |k: &str, d: u64| v.int(k, d, 0, 1_000_000).map(|w| w as u32);
        let random = RandomOpsConfig {
            processes: v.int("workload.processes", 6, 1, 1_000)? as u32,
            ops: v.int("workload.ops", 300, 1, 10_000_000)?,
            think: v.latency_or("workload.think", Latency::Uniform(0, 2 * MILLIS))?,
            weights: [
                weight("workload.weights.append", 20)?,
                weight("workload.weights.read", 3)?,
                weight("workload.weights.find_tail", 4)?,
                weight("workload.weights.seal", 1)?,
                weight("workload.weights.trim", 1)?,
            ],
            crashes: v.boolean("workload.crashes", false)?,
            partitions: v.boolean("workload.partitions", false)?,
            fault_interval: v.latency_or(
                "workload.fault_interval",
                Latency::Uniform(100 * MILLIS, 400 * MILLIS),
            )?,
            fault_duration: v.latency_or(
                "workload.fault_duration",
                Latency::Uniform(20 * MILLIS, 200 * MILLIS),
            )?,
        };
        if random.weights.iter().all(|w| *w == 0) {
            return Err(v.bad(
                "workload.weights.append",
                "at least one operation needs a weight above 0".into(),
            ));
        }
        Ok(Scenario {
            name: v.text("name", "unnamed")?,
            description: v.text("description", "")?,
            source: v.file.clone(),
            seed: v.int("seed", 1, 0, i64::MAX as u64)?,
            cluster: ClusterSetup {
                log_servers,
                sequencer,
                replication,
                client_start: v.duration("cluster.client_start", 0)?,
                start_clients: v.boolean("cluster.start_clients", true)?,
                remote_client,
            },
            metadata: MetadataSetup {
                logs_version: v.int("metadata.logs_version", 1, 1, u32::MAX as u64)? as u32,
                wait_for_version: v.boolean("metadata.wait_for_version", false)?,
                provision: v.boolean("metadata.provision", false)?,
                install: v.boolean("metadata.install", true)?,
                write_at: v.duration("metadata.write_at", 0)?,
                precondition: {
                    let text = v.text("metadata.precondition", "none")?;
                    parse_precondition(&text)
                        .ok_or_else(|| v.bad("metadata.precondition", PRECONDITION_FORMS.into()))?
                },
                proxy: {
                    let text = v.text("metadata.proxy", "direct")?;
                    Proxy::parse(&text).ok_or_else(|| {
                        v.bad(
                            "metadata.proxy",
                            format!("{text:?} is not direct, retryable-as-terminal or faithful"),
                        )
                    })?
                },
                puts: HarnessPuts {
                    tries: v.int("metadata.put_tries", 20, 1, 1_000)? as u32,
                    interval: v.duration("metadata.put_retry_interval", 500 * MILLIS)?,
                },
            },
            latency: Latencies {
                network,
                metadata_store: v
                    .latency_or("latency.metadata_store", Latency::Constant(2 * MILLIS))?,
                peer_metadata: v.latency_or("latency.peer_metadata", network)?,
                storage: v.latency_or("latency.storage", Latency::Constant(100_000))?,
                reorder: v.boolean("latency.reorder", false)?,
                store_read: v.latency_or("latency.store_read", Latency::Constant(0))?,
                store_write: v.latency_or("latency.store_write", Latency::Constant(0))?,
            },
            workload: WorkloadSpec {
                kind,
                appenders: v.int("workload.appenders", 20, 1, 10_000)? as u32,
                warmup_appends: v.int("workload.warmup_appends", 200, 1, 1_000_000)? as u32,
                watch_interval: v.duration("workload.watch_interval", MILLIS)?.max(1),
                lookup_delay: v.duration("workload.lookup_delay", 0)?,
                seal_delay: v.duration("workload.seal_delay", 0)?,
                after_seal_pause: v.duration("workload.after_seal_pause", 0)?,
                trim: v.boolean("workload.trim", false)?,
                random,
            },
            run: RunLimits {
                time_limit: v.duration("run.time_limit", 60 * SECONDS)?,
                max_events: v.int("run.max_events", 50_000_000, 1, u64::MAX >> 1)?,
                fuel_per_call: v.int("run.fuel_per_call", 2_000_000_000, 10_000, u64::MAX >> 1)?,
                memory_mb: v.int("run.memory_mb", 256, 4, 4096)?,
                max_effects_per_call: v.int(
                    "run.max_effects_per_call",
                    100_000,
                    10,
                    u64::MAX >> 1,
                )?,
                max_call_mb: v.int("run.max_call_mb", 64, 1, 4096)?,
                max_storage_mb: v.int("run.max_storage_mb", 1024, 1, 1 << 20)?,
                max_events_per_instant: v.int(
                    "run.max_events_per_instant",
                    100_000,
                    100,
                    u64::MAX >> 1,
                )?,
                max_ops: v.int("run.max_ops", 500_000, 1, u64::MAX >> 1)?,
                max_idle_events: v.int("run.max_idle_events", 1_000_000, 100, u64::MAX >> 1)?,
                wall_limit: v.duration("run.wall_limit", 600 * SECONDS)?.max(1),
            },
            guest_settings: self.guest,
            faults: self.faults,
            expect_error: Some(v.text("expect.error", "")?).filter(|e| !e.is_empty()),
            steps: self.steps,
        })
    }
}

impl Scenario {
    /// The log-server node ids, N1..Nn.
    pub fn log_server_ids(&self) -> Vec<u32> {
        (1..=self.cluster.log_servers).collect()
    }

    /// The client node ids: the sequencer's, then the remote client's.
    pub fn client_ids(&self) -> Vec<u32> {
        let mut ids = vec![self.cluster.sequencer];
        if self.cluster.remote_client != 0 {
            ids.push(self.cluster.remote_client);
        }
        ids
    }

    /// Every node id: the log-servers, then the client nodes.
    pub fn node_ids(&self) -> Vec<u32> {
        let mut ids = self.log_server_ids();
        ids.extend(self.client_ids());
        ids
    }

    /// A fresh instance of the scenario's workload (None for `workload.kind = "none"`).
    pub fn workload(&self) -> Option<Box<dyn Workload>> {
        let w = &self.workload;
        Some(match w.kind {
            WorkloadKind::AppendAfterSeal => {
                Box::new(AppendAfterSeal::new(AppendAfterSealConfig {
                    appenders: w.appenders,
                    warmup_appends: w.warmup_appends,
                    watch_interval: Duration::from_nanos(w.watch_interval),
                    lookup_delay: Duration::from_nanos(w.lookup_delay),
                    seal_delay: Duration::from_nanos(w.seal_delay),
                    after_seal_pause: Duration::from_nanos(w.after_seal_pause),
                    trim: w.trim,
                    wait_version: if self.metadata.wait_for_version {
                        self.metadata.logs_version
                    } else {
                        1
                    },
                    control: (self.cluster.remote_client != 0)
                        .then_some(self.cluster.remote_client),
                }))
            }
            WorkloadKind::Random => Box::new(RandomOps::new(w.random.clone())),
            WorkloadKind::Script => Box::new(Script::new(self.steps.clone())),
            WorkloadKind::None => return None,
        })
    }

    /// One line per knob, for people.
    pub fn summary(&self) -> String {
        format!(
            "{} log-servers, sequencer N{}, replication {}; network {}, metadata store {}, peer metadata {}, storage {}",
            self.cluster.log_servers,
            self.cluster.sequencer,
            self.cluster.replication,
            self.latency.network,
            self.latency.metadata_store,
            self.latency.peer_metadata,
            fmt_latency(&self.latency.storage),
        )
    }
}

fn fmt_latency(l: &Latency) -> String {
    match l {
        Latency::Constant(ns) => fmt_duration(*ns),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key table's default text is what an empty scenario gets: the two are written
    /// apart (the table documents, the reader decides), so this keeps them from drifting.
    #[test]
    fn every_documented_default_is_the_default() {
        let empty = format!("{:?}", parse("t", "", &[]).unwrap());
        // A default that names another key (`latency.peer_metadata`) follows that key.
        let documented = |k: &&keys::Key| !k.default.is_empty() && !keys::is_key(k.default);
        for key in keys::KEYS.iter().filter(documented) {
            let set = format!("{}={}", key.name, key.default);
            let with_default =
                parse("t", "", std::slice::from_ref(&set)).unwrap_or_else(|e| panic!("{set}: {e}"));
            assert_eq!(
                format!("{with_default:?}"),
                empty,
                "{set} is not the default"
            );
        }
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
        assert_eq!(s.latency.network, Latency::Constant(5 * MILLIS));
        assert_eq!(s.cluster.log_servers, 4);
        assert!(s.metadata.wait_for_version);
        assert_eq!(s.workload.random.weights[3], 0);
        assert_eq!(
            s.guest_settings,
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
                delay: 500 * MILLIS
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
