//! Scenario files: a cluster, its latencies and faults, a workload, and the run's limits.
//!
//! A scenario is TOML. Built-in scenarios (in `scenarios/`) can be named without a path;
//! any other is read from its path. Every key can be overridden with `--set key=value`.
//! Every key is checked: an unknown key, a value of the wrong type or a malformed latency
//! is an error that names the file and the key (exit code 2).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::latency::Latency;
use crate::time::{MILLIS, SECONDS, fmt_duration, parse_duration};

/// The built-in scenarios, by name: (name, file text).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "append-after-seal-concurrent",
        include_str!("../../scenarios/append-after-seal-concurrent.toml"),
    ),
    (
        "append-seal-basic",
        include_str!("../../scenarios/append-seal-basic.toml"),
    ),
    (
        "append-seal-reordered",
        include_str!("../../scenarios/append-seal-reordered.toml"),
    ),
    (
        "partition-then-loss",
        include_str!("../../scenarios/partition-then-loss.toml"),
    ),
    (
        "remote-seal",
        include_str!("../../scenarios/remote-seal.toml"),
    ),
    (
        "same-version-race",
        include_str!("../../scenarios/same-version-race.toml"),
    ),
    (
        "slow-store-fixed",
        include_str!("../../scenarios/slow-store-fixed.toml"),
    ),
];

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Where it was read from: a path, or `built-in`.
    pub source: String,
    pub seed: u64,
    pub cluster: Cluster,
    pub metadata: MetadataSetup,
    pub latency: Latencies,
    pub workload: Workload,
    pub run: RunLimits,
    /// `guest.*` keys, handed to every node as settings.
    pub guest_settings: Vec<(String, String)>,
    pub faults: Vec<Fault>,
    /// The run is expected to fail with exactly this error (a reproduction of a bug):
    /// it passes when it does.
    pub expect_error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Cluster {
    /// Log-server nodes N1..Nn.
    pub log_servers: u32,
    /// The client node that hosts the sequencer.
    pub sequencer: u32,
    /// Write quorum size.
    pub replication: u8,
    /// When the client node starts (virtual time).
    pub client_start: u64,
    /// A second client node, without the sequencer, where the main task's seal, find-tails,
    /// trims and reads and the watcher run; 0 for none.
    pub remote_client: u32,
}

#[derive(Debug, Clone)]
pub struct MetadataSetup {
    /// The version the scenario writes its Logs with (precondition None).
    pub logs_version: u32,
    /// The client waits for `logs_version` instead of `>= MIN` before its first find-tail.
    pub wait_for_version: bool,
    /// N1 writes an empty Logs at version 1 (DoesNotExist) when the cluster starts.
    pub provision: bool,
    /// When the scenario writes its Logs; before the cluster starts when 0.
    pub write_at: u64,
}

#[derive(Debug, Clone)]
pub struct Latencies {
    pub network: Latency,
    pub metadata_store: Latency,
    pub peer_metadata: Latency,
    pub storage: Latency,
    /// Messages between two nodes may overtake each other (false: one FIFO stream per pair).
    pub reorder: bool,
}

#[derive(Debug, Clone)]
pub struct Workload {
    pub appenders: u32,
    pub warmup_appends: u32,
    /// Pause of the find-tail watcher between two find-tails.
    pub watch_interval: u64,
    /// Pause between the metadata being ready and the first log lookup.
    pub lookup_delay: u64,
    /// Pause between the barrier and the seal (Restate's test yields a few times).
    pub seal_delay: u64,
    /// Pause between the seal and the append that must fail.
    pub after_seal_pause: u64,
    /// After the read: a trim beyond the tail (must be refused), a trim to half, a read.
    pub trim: bool,
}

#[derive(Debug, Clone)]
pub struct RunLimits {
    /// The run fails if the workload has not finished by this virtual time.
    pub time_limit: u64,
    /// The run fails after this many delivered events.
    pub max_events: u64,
    pub fuel_per_call: u64,
    pub memory_mb: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// The node stops: its instance is dropped and what was not durable is lost.
    Crash { node: u32 },
    /// The node starts again from its database.
    Restart { node: u32 },
    /// The node stops and loses its disk: it restarts (with `restart`) from nothing.
    Wipe { node: u32 },
    /// Messages from `from` to `to` are lost until `until` (relative, like `at`).
    Drop { from: u32, to: u32, until: u64 },
}

/// What a fault's `at` counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The start of the run.
    Start,
    /// The moment the main task's seal completes.
    Seal,
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub at: u64,
    pub trigger: Trigger,
    pub action: FaultAction,
}

impl FaultAction {
    /// The nodes the fault names.
    pub fn nodes(&self) -> Vec<u32> {
        match *self {
            FaultAction::Crash { node }
            | FaultAction::Restart { node }
            | FaultAction::Wipe { node } => {
                vec![node]
            }
            FaultAction::Drop { from, to, .. } => vec![from, to],
        }
    }
}

/// Why a scenario could not be used. Every message names the file and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScenarioError {
    Unknown {
        name: String,
        builtins: Vec<String>,
    },
    Read {
        path: String,
        reason: String,
    },
    Syntax {
        file: String,
        message: String,
    },
    UnknownKey {
        file: String,
        key: String,
        from_set: bool,
    },
    BadValue {
        file: String,
        key: String,
        reason: String,
    },
    BadSet {
        arg: String,
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
                let known = KEYS
                    .iter()
                    .filter(|k| k.name.split('.').next() == key.split('.').next())
                    .map(|k| k.name)
                    .collect::<Vec<_>>();
                let origin = if *from_set { " (from --set)" } else { "" };
                write!(f, "{file}: unknown key `{key}`{origin}")?;
                if known.is_empty() {
                    write!(
                        f,
                        "; known sections: cluster, metadata, latency, workload, run, guest, faults"
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

#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Integer,
    Bool,
    Duration,
    Latency,
}

struct Key {
    name: &'static str,
    kind: Kind,
}

const fn key(name: &'static str, kind: Kind) -> Key {
    Key { name, kind }
}

/// Every key a scenario understands (besides `guest.*` and `faults`).
const KEYS: &[Key] = &[
    key("name", Kind::Text),
    key("description", Kind::Text),
    key("seed", Kind::Integer),
    key("cluster.log_servers", Kind::Integer),
    key("cluster.sequencer", Kind::Integer),
    key("cluster.replication", Kind::Integer),
    key("cluster.client_start", Kind::Duration),
    key("cluster.remote_client", Kind::Integer),
    key("metadata.logs_version", Kind::Integer),
    key("metadata.wait_for_version", Kind::Bool),
    key("metadata.provision", Kind::Bool),
    key("metadata.write_at", Kind::Duration),
    key("latency.network", Kind::Latency),
    key("latency.metadata_store", Kind::Latency),
    key("latency.peer_metadata", Kind::Latency),
    key("latency.storage", Kind::Latency),
    key("latency.reorder", Kind::Bool),
    key("workload.appenders", Kind::Integer),
    key("workload.warmup_appends", Kind::Integer),
    key("workload.watch_interval", Kind::Duration),
    key("workload.lookup_delay", Kind::Duration),
    key("workload.seal_delay", Kind::Duration),
    key("workload.after_seal_pause", Kind::Duration),
    key("workload.trim", Kind::Bool),
    key("expect.error", Kind::Text),
    key("run.time_limit", Kind::Duration),
    key("run.max_events", Kind::Integer),
    key("run.fuel_per_call", Kind::Integer),
    key("run.memory_mb", Kind::Integer),
];

/// What a swept key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepKind {
    /// A latency or a duration: swept as constants.
    Time,
    Integer,
}

/// Whether `key` can be swept, and how.
pub fn sweep_kind(key: &str) -> Option<SweepKind> {
    match KEYS.iter().find(|k| k.name == key)?.kind {
        Kind::Latency | Kind::Duration => Some(SweepKind::Time),
        Kind::Integer => Some(SweepKind::Integer),
        Kind::Text | Kind::Bool => None,
    }
}

/// The names of the built-in scenarios.
pub fn builtin_names() -> Vec<String> {
    BUILTIN.iter().map(|(n, _)| n.to_string()).collect()
}

/// Loads a scenario by built-in name or path, then applies `--set key=value` overrides.
pub fn load(spec: &str, sets: &[String]) -> Result<Scenario, ScenarioError> {
    let path = Path::new(spec);
    let (file, text) = if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Read {
            path: spec.to_string(),
            reason: e.to_string(),
        })?;
        (spec.to_string(), text)
    } else if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == spec) {
        (format!("scenarios/{name}.toml"), text.to_string())
    } else {
        return Err(ScenarioError::Unknown {
            name: spec.to_string(),
            builtins: builtin_names(),
        });
    };
    parse(&file, &text, sets)
}

/// Parses scenario text; `file` names it in errors.
pub fn parse(file: &str, text: &str, sets: &[String]) -> Result<Scenario, ScenarioError> {
    let mut table: toml::Table =
        text.parse()
            .map_err(|e: toml::de::Error| ScenarioError::Syntax {
                file: file.to_string(),
                message: e.to_string(),
            })?;
    for arg in sets {
        apply_set(file, &mut table, arg)?;
    }
    Builder::new(file, table)?.build()
}

fn apply_set(file: &str, table: &mut toml::Table, arg: &str) -> Result<(), ScenarioError> {
    let (key, raw) = arg.split_once('=').ok_or_else(|| ScenarioError::BadSet {
        arg: arg.to_string(),
        reason: "expected key=value".into(),
    })?;
    let key = key.trim();
    if !(KEYS.iter().any(|k| k.name == key) || key.starts_with("guest.") && key.len() > 6) {
        return Err(ScenarioError::UnknownKey {
            file: file.to_string(),
            key: key.to_string(),
            from_set: true,
        });
    }
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let (path, leaf) = match key.strip_prefix("guest.") {
        // Guest settings are dotted names themselves: keep them whole under `guest`.
        Some(setting) => (vec!["guest"], setting),
        None => {
            let mut parts: Vec<&str> = key.split('.').collect();
            let leaf = parts.pop().expect("split yields at least one part");
            (parts, leaf)
        }
    };
    let mut cursor = table;
    for part in path {
        let entry = cursor
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cursor = entry.as_table_mut().ok_or_else(|| ScenarioError::BadSet {
            arg: arg.to_string(),
            reason: format!("`{part}` is not a table in {file}"),
        })?;
    }
    cursor.insert(leaf.to_string(), value);
    Ok(())
}

/// Checks and converts the flattened keys.
struct Builder {
    file: String,
    values: BTreeMap<String, toml::Value>,
    guest: Vec<(String, String)>,
    faults: Vec<Fault>,
}

impl Builder {
    fn new(file: &str, table: toml::Table) -> Result<Builder, ScenarioError> {
        let mut b = Builder {
            file: file.to_string(),
            values: BTreeMap::new(),
            guest: Vec::new(),
            faults: Vec::new(),
        };
        b.flatten("", table)?;
        Ok(b)
    }

    fn flatten(&mut self, prefix: &str, table: toml::Table) -> Result<(), ScenarioError> {
        for (k, v) in table {
            let name = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match (name.as_str(), v) {
                ("guest", toml::Value::Table(t)) => self.guest_settings("", t)?,
                ("faults", toml::Value::Array(items)) => self.parse_faults(items)?,
                (_, toml::Value::Table(t))
                    if KEYS.iter().any(|k| k.name.starts_with(&format!("{name}."))) =>
                {
                    self.flatten(&name, t)?
                }
                (_, v) => {
                    if !KEYS.iter().any(|k| k.name == name) {
                        return Err(ScenarioError::UnknownKey {
                            file: self.file.clone(),
                            key: name,
                            from_set: false,
                        });
                    }
                    self.values.insert(name, v);
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
                    return Err(self.bad(
                        &format!("guest.{name}"),
                        format!("expected a scalar, got {other}"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn parse_faults(&mut self, items: Vec<toml::Value>) -> Result<(), ScenarioError> {
        for (i, item) in items.into_iter().enumerate() {
            let key = format!("faults[{i}]");
            let toml::Value::Table(mut t) = item else {
                return Err(self.bad(
                    &key,
                    "expected a table like { at = \"20ms\", action = \"crash\", node = 2 }".into(),
                ));
            };
            let duration = |name: &str,
                            t: &mut toml::Table|
             -> Result<Option<u64>, ScenarioError> {
                match t.remove(name) {
                    None => Ok(None),
                    Some(toml::Value::String(s)) => parse_duration(&s).map(Some).ok_or_else(|| {
                        self.bad(
                            &format!("{key}.{name}"),
                            format!("malformed duration {s:?}"),
                        )
                    }),
                    Some(_) => Err(self.bad(
                        &format!("{key}.{name}"),
                        "expected a duration such as \"20ms\"".into(),
                    )),
                }
            };
            let at = duration("at", &mut t)?.ok_or_else(|| {
                self.bad(
                    &format!("{key}.at"),
                    "missing: when the fault happens, e.g. \"20ms\"".into(),
                )
            })?;
            let until = duration("until", &mut t)?;
            let node_of = |name: &str, t: &mut toml::Table| -> Result<u32, ScenarioError> {
                match t.remove(name) {
                    Some(toml::Value::Integer(n)) if n > 0 && n <= u32::MAX as i64 => Ok(n as u32),
                    _ => Err(self.bad(
                        &format!("{key}.{name}"),
                        "expected a node id such as 2".into(),
                    )),
                }
            };
            let trigger = match t.remove("on") {
                None => Trigger::Start,
                Some(toml::Value::String(s)) if s == "start" => Trigger::Start,
                Some(toml::Value::String(s)) if s == "seal" => Trigger::Seal,
                _ => {
                    return Err(self.bad(
                        &format!("{key}.on"),
                        "expected \"start\" or \"seal\"".into(),
                    ));
                }
            };
            let action = match t.remove("action") {
                Some(toml::Value::String(s)) if s == "crash" => FaultAction::Crash {
                    node: node_of("node", &mut t)?,
                },
                Some(toml::Value::String(s)) if s == "restart" => FaultAction::Restart {
                    node: node_of("node", &mut t)?,
                },
                Some(toml::Value::String(s)) if s == "wipe" => FaultAction::Wipe {
                    node: node_of("node", &mut t)?,
                },
                Some(toml::Value::String(s)) if s == "drop" => {
                    let until = until.ok_or_else(|| {
                        self.bad(
                            &format!("{key}.until"),
                            "a drop needs `until`, e.g. \"600ms\"".into(),
                        )
                    })?;
                    if until <= at {
                        return Err(
                            self.bad(&format!("{key}.until"), "must come after `at`".into())
                        );
                    }
                    FaultAction::Drop {
                        from: node_of("from", &mut t)?,
                        to: node_of("to", &mut t)?,
                        until,
                    }
                }
                _ => {
                    return Err(self.bad(
                        &format!("{key}.action"),
                        "expected \"crash\", \"restart\", \"wipe\" or \"drop\"".into(),
                    ));
                }
            };
            if let Some(extra) = t.keys().next() {
                return Err(ScenarioError::UnknownKey {
                    file: self.file.clone(),
                    key: format!("{key}.{extra}"),
                    from_set: false,
                });
            }
            self.faults.push(Fault {
                at,
                trigger,
                action,
            });
        }
        Ok(())
    }

    fn bad(&self, key: &str, reason: String) -> ScenarioError {
        ScenarioError::BadValue {
            file: self.file.clone(),
            key: key.to_string(),
            reason,
        }
    }

    fn raw(&self, name: &str) -> Option<&toml::Value> {
        debug_assert!(KEYS.iter().any(|k| k.name == name), "{name} is not in KEYS");
        self.values.get(name)
    }

    fn kind_name(name: &str) -> &'static str {
        match KEYS.iter().find(|k| k.name == name).map(|k| k.kind) {
            Some(Kind::Text) => "a string",
            Some(Kind::Integer) => "an integer",
            Some(Kind::Bool) => "true or false",
            Some(Kind::Duration) => "a duration such as \"5ms\"",
            Some(Kind::Latency) => "a latency such as \"5ms\", \"1ms..3ms\" or \"exp:2ms\"",
            None => "a value",
        }
    }

    fn text(&self, name: &str, default: &str) -> Result<String, ScenarioError> {
        match self.raw(name) {
            None => Ok(default.to_string()),
            Some(toml::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.bad(
                name,
                format!("expected {}, got {other}", Self::kind_name(name)),
            )),
        }
    }

    fn int(&self, name: &str, default: u64, min: u64, max: u64) -> Result<u64, ScenarioError> {
        match self.raw(name) {
            None => Ok(default),
            Some(toml::Value::Integer(i)) if *i >= min as i64 && (*i as u64) <= max => {
                Ok(*i as u64)
            }
            Some(toml::Value::Integer(i)) => {
                Err(self.bad(name, format!("{i} is out of range {min}..={max}")))
            }
            Some(other) => Err(self.bad(
                name,
                format!("expected {}, got {other}", Self::kind_name(name)),
            )),
        }
    }

    fn boolean(&self, name: &str, default: bool) -> Result<bool, ScenarioError> {
        match self.raw(name) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(other) => Err(self.bad(
                name,
                format!("expected {}, got {other}", Self::kind_name(name)),
            )),
        }
    }

    fn duration(&self, name: &str, default: u64) -> Result<u64, ScenarioError> {
        match self.raw(name) {
            None => Ok(default),
            Some(toml::Value::String(s)) => parse_duration(s).ok_or_else(|| {
                self.bad(
                    name,
                    format!("malformed duration {s:?}: expected a number with a unit (us, ms, s)"),
                )
            }),
            Some(other) => Err(self.bad(
                name,
                format!("expected {}, got {other}", Self::kind_name(name)),
            )),
        }
    }

    fn latency(&self, name: &str) -> Result<Option<Latency>, ScenarioError> {
        match self.raw(name) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Latency::parse(s)
                .map(Some)
                .map_err(|e| self.bad(name, e.to_string())),
            Some(other) => Err(self.bad(
                name,
                format!("expected {}, got {other}", Self::kind_name(name)),
            )),
        }
    }

    fn build(self) -> Result<Scenario, ScenarioError> {
        let log_servers = self.int("cluster.log_servers", 3, 1, 64)? as u32;
        let sequencer = self.int("cluster.sequencer", 5, 1, u32::MAX as u64)? as u32;
        let replication = self.int("cluster.replication", 2, 1, 64)? as u8;
        if replication as u32 > log_servers {
            return Err(self.bad(
                "cluster.replication",
                format!("{replication} copies need at least {replication} log-servers, the cluster has {log_servers}"),
            ));
        }
        if sequencer <= log_servers {
            return Err(self.bad(
                "cluster.sequencer",
                format!("N{sequencer} is a log-server (N1..N{log_servers}); the sequencer runs on a separate client node"),
            ));
        }
        let network = self
            .latency("latency.network")?
            .unwrap_or(Latency::Uniform(MILLIS, 3 * MILLIS));
        let faults = self.faults.clone();
        let remote_client = self.int("cluster.remote_client", 0, 0, u32::MAX as u64)? as u32;
        if remote_client != 0 && (remote_client <= log_servers || remote_client == sequencer) {
            return Err(self.bad(
                "cluster.remote_client",
                format!("N{remote_client} is already a log-server or the sequencer's node"),
            ));
        }
        for (i, fault) in faults.iter().enumerate() {
            for node in fault.action.nodes() {
                if node > log_servers && node != sequencer && node != remote_client {
                    return Err(self.bad(
                        &format!("faults[{i}]"),
                        format!("N{node} is not in the cluster (N1..N{log_servers}, N{sequencer})"),
                    ));
                }
            }
        }
        Ok(Scenario {
            name: self.text("name", "unnamed")?,
            description: self.text("description", "")?,
            source: self.file.clone(),
            seed: self.int("seed", 1, 0, i64::MAX as u64)?,
            cluster: Cluster {
                log_servers,
                sequencer,
                replication,
                client_start: self.duration("cluster.client_start", 0)?,
                remote_client,
            },
            metadata: MetadataSetup {
                logs_version: self.int("metadata.logs_version", 1, 1, u32::MAX as u64)? as u32,
                wait_for_version: self.boolean("metadata.wait_for_version", false)?,
                provision: self.boolean("metadata.provision", false)?,
                write_at: self.duration("metadata.write_at", 0)?,
            },
            latency: Latencies {
                network,
                metadata_store: self
                    .latency("latency.metadata_store")?
                    .unwrap_or(Latency::Constant(2 * MILLIS)),
                peer_metadata: self.latency("latency.peer_metadata")?.unwrap_or(network),
                storage: self
                    .latency("latency.storage")?
                    .unwrap_or(Latency::Constant(100_000)),
                reorder: self.boolean("latency.reorder", false)?,
            },
            workload: Workload {
                appenders: self.int("workload.appenders", 20, 1, 10_000)? as u32,
                warmup_appends: self.int("workload.warmup_appends", 200, 1, 1_000_000)? as u32,
                watch_interval: self.duration("workload.watch_interval", MILLIS)?.max(1),
                lookup_delay: self.duration("workload.lookup_delay", 0)?,
                seal_delay: self.duration("workload.seal_delay", 0)?,
                after_seal_pause: self.duration("workload.after_seal_pause", 0)?,
                trim: self.boolean("workload.trim", false)?,
            },
            run: RunLimits {
                time_limit: self.duration("run.time_limit", 60 * SECONDS)?,
                max_events: self.int("run.max_events", 50_000_000, 1, u64::MAX >> 1)?,
                fuel_per_call: self.int(
                    "run.fuel_per_call",
                    2_000_000_000,
                    10_000,
                    u64::MAX >> 1,
                )?,
                memory_mb: self.int("run.memory_mb", 256, 4, 4096)?,
            },
            guest_settings: self.guest.clone(),
            faults,
            expect_error: Some(self.text("expect.error", "")?).filter(|e| !e.is_empty()),
        })
    }
}

impl Scenario {
    /// The log-server node ids, N1..Nn.
    pub fn log_server_ids(&self) -> Vec<u32> {
        (1..=self.cluster.log_servers).collect()
    }

    /// Every node id: the log-servers, then the client node.
    pub fn node_ids(&self) -> Vec<u32> {
        let mut ids = self.log_server_ids();
        ids.push(self.cluster.sequencer);
        if self.cluster.remote_client != 0 {
            ids.push(self.cluster.remote_client);
        }
        ids
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
                "guest.metadata.update_interval_ms=20".into(),
            ],
        )
        .unwrap();
        assert_eq!(s.latency.network, Latency::Constant(5 * MILLIS));
        assert_eq!(s.cluster.log_servers, 4);
        assert!(s.metadata.wait_for_version);
        assert_eq!(
            s.guest_settings,
            vec![("metadata.update_interval_ms".to_string(), "20".to_string())]
        );
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
}
