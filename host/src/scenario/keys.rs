//! Every key a scenario understands, `--set` overrides, and typed access to the values.
//! An unknown key, a value of the wrong type or out of range is an error that names the
//! file and the key.

use std::collections::BTreeMap;

use super::ScenarioError;
use crate::latency::Latency;
use crate::time::parse_duration;

/// What a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Text,
    /// An integer.
    Integer,
    /// `true` or `false`.
    Bool,
    /// A duration such as `"5ms"`.
    Duration,
    /// A latency such as `"5ms"`, `"1ms..3ms"` or `"exp:2ms"`.
    Latency,
}

/// A key, its type, its default and what it means.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The dotted name.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Its default, as text.
    pub default: &'static str,
    /// What it means.
    pub meaning: &'static str,
    /// The values it takes, when a number is bounded (`1..=64`, `1 or more`).
    pub range: &'static str,
}

impl Key {
    /// The same key, with the range of values it takes.
    const fn within(self, range: &'static str) -> Key {
        Key { range, ..self }
    }
}

const fn key(name: &'static str, kind: Kind, default: &'static str, meaning: &'static str) -> Key {
    Key {
        name,
        kind,
        default,
        meaning,
        range: "",
    }
}

use Kind as K;

/// Every key a scenario understands (besides `guest.*`, `faults` and `steps`).
pub const KEYS: &[Key] = &[
    key("name", K::Text, "unnamed", "the scenario's name"),
    key("description", K::Text, "", "what it shows"),
    key("seed", K::Integer, "1", "default seed; --seed overrides")
        .within("0..=9223372036854775807"),
    key(
        "cluster.log_servers",
        K::Integer,
        "3",
        "log-server nodes N1..Nn",
    )
    .within("1..=64"),
    key(
        "cluster.sequencer",
        K::Integer,
        "5",
        "the client node that hosts the sequencer",
    )
    .within("1..=4294967295"),
    key("cluster.replication", K::Integer, "2", "write quorum size").within("1..=64"),
    key(
        "cluster.client_start",
        K::Duration,
        "0",
        "when the client nodes start",
    ),
    key(
        "cluster.start_clients",
        K::Bool,
        "true",
        "start the client nodes at client_start (false: a script starts them)",
    ),
    key(
        "cluster.remote_client",
        K::Integer,
        "0",
        "a second client node, without the sequencer (0: none)",
    )
    .within("0..=4294967295"),
    key(
        "metadata.logs_version",
        K::Integer,
        "1",
        "version the scenario writes its Logs with (precondition None)",
    )
    .within("1..=4294967295"),
    key(
        "metadata.wait_for_version",
        K::Bool,
        "false",
        "the client waits for logs_version instead of >= 1",
    ),
    key(
        "metadata.provision",
        K::Bool,
        "false",
        "N1 writes an empty Logs at v1 (DoesNotExist) when it starts",
    ),
    key(
        "metadata.install",
        K::Bool,
        "true",
        "the scenario writes its Logs at write_at (false: a script does)",
    ),
    key(
        "metadata.write_at",
        K::Duration,
        "0",
        "when the scenario writes its Logs (0: before anything starts)",
    ),
    key(
        "metadata.precondition",
        K::Text,
        "none",
        "the precondition of the scenario's put of its Logs: none, does-not-exist or matches-version:N",
    ),
    key(
        "metadata.proxy",
        K::Text,
        "direct",
        "what the harness writes through: direct, retryable-as-terminal (Restate #4523) or faithful (its fix)",
    ),
    key(
        "metadata.put_tries",
        K::Integer,
        "20",
        "tries of the harness's put while it fails retryable (1: no retry)",
    )
    .within("1..=1000"),
    key(
        "metadata.put_retry_interval",
        K::Duration,
        "500ms",
        "pause between two tries of the harness's put",
    ),
    key(
        "latency.network",
        K::Latency,
        "1ms..3ms",
        "one-way delay of every node-to-node message",
    ),
    key(
        "latency.metadata_store",
        K::Latency,
        "2ms",
        "one-way delay to and from the metadata store",
    ),
    key(
        "latency.peer_metadata",
        K::Latency,
        "latency.network",
        "one-way delay of GetMetadata and its answer",
    ),
    key(
        "latency.store_read",
        K::Latency,
        "0",
        "time the metadata store takes to serve a read, once it arrived",
    ),
    key(
        "latency.store_write",
        K::Latency,
        "0",
        "time the metadata store takes to serve a write, once it arrived",
    ),
    key(
        "latency.storage",
        K::Latency,
        "100us",
        "time of one group commit of a node's writer",
    ),
    key(
        "latency.reorder",
        K::Bool,
        "false",
        "messages on a link may overtake each other",
    ),
    key(
        "workload.kind",
        K::Text,
        "append-after-seal",
        "append-after-seal, random, script (the default with [[steps]]) or none",
    ),
    key(
        "workload.appenders",
        K::Integer,
        "20",
        "append/seal: concurrent appenders",
    )
    .within("1..=10000"),
    key(
        "workload.warmup_appends",
        K::Integer,
        "200",
        "append/seal: appends each makes before the seal",
    )
    .within("1..=1000000"),
    key(
        "workload.watch_interval",
        K::Duration,
        "1ms",
        "append/seal: pause between the watcher's find-tails",
    )
    .within("1ns or more (0 reads 1ns)"),
    key(
        "workload.lookup_delay",
        K::Duration,
        "0",
        "append/seal: pause between metadata ready and the first find-tail",
    ),
    key(
        "workload.seal_delay",
        K::Duration,
        "0",
        "append/seal: pause between the barrier and the seal",
    ),
    key(
        "workload.after_seal_pause",
        K::Duration,
        "0",
        "append/seal: pause between the seal and the append that must fail",
    ),
    key(
        "workload.trim",
        K::Bool,
        "false",
        "append/seal: then trims and a read after them",
    ),
    key(
        "workload.processes",
        K::Integer,
        "6",
        "random: concurrent processes, spread over the client nodes",
    )
    .within("1..=1000"),
    key(
        "workload.ops",
        K::Integer,
        "300",
        "random: operations in all",
    )
    .within("1..=10000000"),
    key(
        "workload.think",
        K::Latency,
        "0..2ms",
        "random: pause of a process between two operations",
    ),
    key(
        "workload.weights.append",
        K::Integer,
        "20",
        "random: weight of appends",
    )
    .within("0..=1000000"),
    key(
        "workload.weights.read",
        K::Integer,
        "3",
        "random: weight of reads",
    )
    .within("0..=1000000"),
    key(
        "workload.weights.find_tail",
        K::Integer,
        "4",
        "random: weight of find-tails",
    )
    .within("0..=1000000"),
    key(
        "workload.weights.seal",
        K::Integer,
        "1",
        "random: weight of seals",
    )
    .within("0..=1000000"),
    key(
        "workload.weights.trim",
        K::Integer,
        "1",
        "random: weight of trims",
    )
    .within("0..=1000000"),
    key(
        "workload.crashes",
        K::Bool,
        "false",
        "random: a nemesis crashes and restarts log-servers",
    ),
    key(
        "workload.partitions",
        K::Bool,
        "false",
        "random: a nemesis cuts the sequencer from log-servers",
    ),
    key(
        "workload.fault_interval",
        K::Latency,
        "100ms..400ms",
        "random: time between two faults of the nemesis",
    ),
    key(
        "workload.fault_duration",
        K::Latency,
        "20ms..200ms",
        "random: how long a fault lasts",
    ),
    key(
        "expect.error",
        K::Text,
        "",
        "the run must fail with exactly this error (a reproduction)",
    ),
    key(
        "run.time_limit",
        K::Duration,
        "60s",
        "virtual time by which the workload must finish",
    ),
    key(
        "run.max_events",
        K::Integer,
        "50000000",
        "the run fails after this many delivered events",
    )
    .within("1 or more"),
    key(
        "run.fuel_per_call",
        K::Integer,
        "2000000000",
        "fuel per guest call: the deterministic CPU bound",
    )
    .within("10000 or more"),
    key(
        "run.memory_mb",
        K::Integer,
        "256",
        "memory cap per node, every memory and table of its instance together",
    )
    .within("4..=4096"),
    key(
        "run.max_effects_per_call",
        K::Integer,
        "100000",
        "messages, timers, writes... one guest call may make; past it the node crashes",
    )
    .within("10 or more"),
    key(
        "run.max_call_mb",
        K::Integer,
        "64",
        "MiB of payloads and values one guest call's effects may hold",
    )
    .within("1..=4096"),
    key(
        "run.max_storage_mb",
        K::Integer,
        "1024",
        "MiB of keys and values a node's database may hold; past it the node crashes",
    )
    .within("1..=1048576"),
    key(
        "run.max_events_per_instant",
        K::Integer,
        "100000",
        "events at one virtual instant before the run stops as making no progress",
    )
    .within("100 or more"),
    key(
        "run.max_ops",
        K::Integer,
        "500000",
        "client operations the history may hold before the run stops",
    )
    .within("1 or more"),
    key(
        "run.max_idle_events",
        K::Integer,
        "1000000",
        "timers that may fire in a row with nothing else happening before the run stops",
    )
    .within("100 or more"),
    key(
        "run.wall_limit",
        K::Duration,
        "600s",
        "real time a run may take before it stops (a budget, never part of the trace)",
    )
    .within("1ns or more"),
];

/// Whether `name` is a key (or a `guest.*` setting).
pub fn is_key(name: &str) -> bool {
    KEYS.iter().any(|k| k.name == name) || name.starts_with("guest.") && name.len() > 6
}

/// Applies one `--set key=value` to the parsed file.
pub fn apply_set(file: &str, table: &mut toml::Table, arg: &str) -> Result<(), ScenarioError> {
    let (key, raw) = arg.split_once('=').ok_or_else(|| ScenarioError::BadSet {
        arg: arg.to_string(),
        reason: "expected key=value".into(),
    })?;
    let key = key.trim();
    if !is_key(key) {
        return Err(ScenarioError::UnknownKey {
            file: file.to_string(),
            key: key.to_string(),
            from_set: true,
        });
    }
    if let Some(c) = raw.chars().find(|c| c.is_control()) {
        return Err(ScenarioError::BadSet {
            arg: arg.escape_debug().to_string(),
            reason: format!(
                "the value holds a control character ({:?}); a value is one line of text",
                c
            ),
        });
    }
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .filter(|t| t.len() == 1)
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

/// The flattened values of a scenario file, read with their types.
pub(crate) struct Values {
    pub file: String,
    pub values: BTreeMap<String, toml::Value>,
}

impl Values {
    pub fn bad(&self, key: &str, reason: String) -> ScenarioError {
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
            Some(K::Text) => "a string",
            Some(K::Integer) => "an integer",
            Some(K::Bool) => "true or false",
            Some(K::Duration) => "a duration such as \"5ms\"",
            Some(K::Latency) => "a latency such as \"5ms\", \"1ms..3ms\" or \"exp:2ms\"",
            None => "a value",
        }
    }

    fn wrong_type(&self, name: &str, got: &toml::Value) -> ScenarioError {
        self.bad(
            name,
            format!("expected {}, got {got}", Self::kind_name(name)),
        )
    }

    pub fn text(&self, name: &str, default: &str) -> Result<String, ScenarioError> {
        match self.raw(name) {
            None => Ok(default.to_string()),
            Some(toml::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.wrong_type(name, other)),
        }
    }

    pub fn int(&self, name: &str, default: u64, min: u64, max: u64) -> Result<u64, ScenarioError> {
        match self.raw(name) {
            None => Ok(default),
            Some(toml::Value::Integer(i)) if *i >= min as i64 && (*i as u64) <= max => {
                Ok(*i as u64)
            }
            Some(toml::Value::Integer(i)) => {
                Err(self.bad(name, format!("{i} is out of range {min}..={max}")))
            }
            Some(other) => Err(self.wrong_type(name, other)),
        }
    }

    pub fn boolean(&self, name: &str, default: bool) -> Result<bool, ScenarioError> {
        match self.raw(name) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(other) => Err(self.wrong_type(name, other)),
        }
    }

    pub fn duration(&self, name: &str, default: u64) -> Result<u64, ScenarioError> {
        match self.raw(name) {
            None => Ok(default),
            // A bare `0` needs no unit.
            Some(toml::Value::Integer(0)) => Ok(0),
            Some(toml::Value::String(s)) => parse_duration(s).ok_or_else(|| {
                self.bad(
                    name,
                    format!("malformed duration {s:?}: expected a number with a unit (us, ms, s)"),
                )
            }),
            Some(other) => Err(self.wrong_type(name, other)),
        }
    }

    pub fn latency(&self, name: &str) -> Result<Option<Latency>, ScenarioError> {
        match self.raw(name) {
            None => Ok(None),
            Some(toml::Value::Integer(0)) => Ok(Some(Latency::Constant(0))),
            Some(toml::Value::String(s)) => Latency::parse(s)
                .map(Some)
                .map_err(|e| self.bad(name, e.to_string())),
            Some(other) => Err(self.wrong_type(name, other)),
        }
    }

    /// A latency with its default.
    pub fn latency_or(&self, name: &str, default: Latency) -> Result<Latency, ScenarioError> {
        Ok(self.latency(name)?.unwrap_or(default))
    }
}

/// What a swept key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepKind {
    /// A latency or a duration: swept as constants.
    Time,
    /// An integer.
    Integer,
}

/// Whether `key` can be swept, and how.
pub fn sweep_kind(key: &str) -> Option<SweepKind> {
    match KEYS.iter().find(|k| k.name == key)?.kind {
        K::Latency | K::Duration => Some(SweepKind::Time),
        K::Integer => Some(SweepKind::Integer),
        K::Text | K::Bool => None,
    }
}

#[cfg(test)]
mod range_tests {
    use super::KEYS;

    /// What `logsandbox keys` says of a number's range is what the parser enforces.
    #[test]
    fn the_documented_ranges_are_the_enforced_ones() {
        let parse = |key: &str, value: u64| {
            let sets = [format!("{key}={value}"), "workload.kind=random".to_string()];
            super::super::parse("t.toml", "", &sets)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let mut checked = 0;
        for key in KEYS.iter().filter(|k| k.kind == super::Kind::Integer) {
            assert!(
                !key.range.is_empty(),
                "{} has no documented range",
                key.name
            );
            let (lo, hi) = match key.range.split_once("..=") {
                Some((lo, hi)) => (lo.parse::<u64>().unwrap(), Some(hi.parse::<u64>().unwrap())),
                None => (
                    key.range
                        .trim_end_matches(" or more")
                        .parse::<u64>()
                        .unwrap(),
                    None,
                ),
            };
            if lo > 0 {
                let e = parse(key.name, lo - 1).expect_err(key.name);
                assert!(
                    e.contains(&format!("out of range {lo}..=")),
                    "{}: {e}",
                    key.name
                );
            }
            if let Some(hi) = hi.filter(|h| *h < i64::MAX as u64) {
                let e = parse(key.name, hi + 1).expect_err(key.name);
                assert!(
                    e.contains(&format!("out of range {lo}..={hi}")),
                    "{}: {e}",
                    key.name
                );
            }
            checked += 1;
        }
        assert!(checked >= 20, "{checked}");
    }
}
