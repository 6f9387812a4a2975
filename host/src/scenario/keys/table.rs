//! The table of every key: its name, type, meaning and range, and how it reads and writes
//! its field of a [`Scenario`]. A table, long by nature: one entry per key.

use std::time::Duration;

use super::{K, Key, Value, key};
use crate::latency::Latency;
use crate::metadata_store::{PRECONDITION_FORMS, Proxy, describe_precondition, parse_precondition};
use crate::scenario::{Scenario, ScenarioError, WorkloadKind};
use crate::time::{SimTime, fmt_duration};

/// Every key a scenario understands (besides `guest.*`, `faults` and `steps`).
pub const KEYS: &[Key] = &[
    key(
        "name",
        K::Text,
        "the scenario's name",
        |s| s.name.clone(),
        |s, v| {
            s.name = v.text()?;
            Ok(())
        },
    ),
    key(
        "description",
        K::Text,
        "what it shows",
        |s| s.description.clone(),
        |s, v| {
            s.description = v.text()?;
            Ok(())
        },
    ),
    key(
        "seed",
        K::Integer,
        "default seed; --seed overrides",
        |s| s.seed.to_string(),
        |s, v| {
            s.seed = v.int(0, i64::MAX as u64)?;
            Ok(())
        },
    )
    .within("0..=9223372036854775807"),
    key(
        "cluster.log_servers",
        K::Integer,
        "log-server nodes N1..Nn",
        |s| s.config.cluster.log_servers.to_string(),
        |s, v| {
            s.config.cluster.log_servers = v.int(1, 64)? as u32;
            Ok(())
        },
    )
    .within("1..=64"),
    key(
        "cluster.sequencer",
        K::Integer,
        "the client node that hosts the sequencer",
        |s| s.config.cluster.sequencer.unwrap_or(0).to_string(),
        |s, v| {
            s.config.cluster.sequencer = Some(v.int(1, u32::MAX as u64)? as u32);
            Ok(())
        },
    )
    .within("1..=4294967295"),
    key(
        "cluster.replication",
        K::Integer,
        "write quorum size",
        |s| s.config.cluster.replication.to_string(),
        |s, v| {
            s.config.cluster.replication = v.int(1, 64)? as u8;
            Ok(())
        },
    )
    .within("1..=64"),
    key(
        "cluster.client_start",
        K::Duration,
        "when the client nodes start",
        |s| time(s.config.cluster.client_start.0),
        |s, v| {
            s.config.cluster.client_start = SimTime(v.duration()?);
            Ok(())
        },
    ),
    key(
        "cluster.start_clients",
        K::Bool,
        "start the client nodes at client_start (false: a script starts them)",
        |s| s.config.cluster.start_clients.to_string(),
        |s, v| {
            s.config.cluster.start_clients = v.boolean()?;
            Ok(())
        },
    ),
    key(
        "cluster.remote_client",
        K::Integer,
        "a second client node, without the sequencer (0: none)",
        |s| {
            s.config
                .cluster
                .clients
                .first()
                .copied()
                .unwrap_or(0)
                .to_string()
        },
        |s, v| {
            let node = v.int(0, u32::MAX as u64)? as u32;
            s.config.cluster.clients = if node == 0 { vec![] } else { vec![node] };
            Ok(())
        },
    )
    .within("0..=4294967295"),
    key(
        "metadata.logs_version",
        K::Integer,
        "version the scenario writes its Logs with (precondition None)",
        |s| s.config.metadata.logs_version.to_string(),
        |s, v| {
            s.config.metadata.logs_version = v.int(1, u32::MAX as u64)? as u32;
            Ok(())
        },
    )
    .within("1..=4294967295"),
    key(
        "metadata.wait_for_version",
        K::Bool,
        "the client waits for logs_version instead of >= 1",
        |s| s.workload.wait_for_version.to_string(),
        |s, v| {
            s.workload.wait_for_version = v.boolean()?;
            Ok(())
        },
    ),
    key(
        "metadata.provision",
        K::Bool,
        "N1 writes an empty Logs at v1 (DoesNotExist) when it starts",
        |s| s.config.metadata.provision.to_string(),
        |s, v| {
            s.config.metadata.provision = v.boolean()?;
            Ok(())
        },
    ),
    key(
        "metadata.install",
        K::Bool,
        "the scenario writes its Logs at write_at (false: a script does)",
        |s| s.config.metadata.install.to_string(),
        |s, v| {
            s.config.metadata.install = v.boolean()?;
            Ok(())
        },
    ),
    key(
        "metadata.write_at",
        K::Duration,
        "when the scenario writes its Logs (0: before anything starts)",
        |s| time(s.config.metadata.write_at.0),
        |s, v| {
            s.config.metadata.write_at = SimTime(v.duration()?);
            Ok(())
        },
    ),
    key(
        "metadata.precondition",
        K::Text,
        "the precondition of the scenario's put of its Logs: none, does-not-exist or matches-version:N",
        |s| describe_precondition(&s.config.metadata.precondition),
        |s, v| {
            s.config.metadata.precondition =
                parse_precondition(&v.text()?).ok_or_else(|| v.bad(PRECONDITION_FORMS.into()))?;
            Ok(())
        },
    ),
    key(
        "metadata.proxy",
        K::Text,
        "what the harness writes through: direct, retryable-as-terminal (Restate #4523) or faithful (its fix)",
        |s| s.config.metadata.proxy.name().to_string(),
        |s, v| {
            let text = v.text()?;
            s.config.metadata.proxy = Proxy::parse(&text).ok_or_else(|| {
                v.bad(format!(
                    "{text:?} is not direct, retryable-as-terminal or faithful"
                ))
            })?;
            Ok(())
        },
    ),
    key(
        "metadata.put_tries",
        K::Integer,
        "tries of the harness's put while it fails retryable (1: no retry)",
        |s| s.config.metadata.puts.tries.to_string(),
        |s, v| {
            s.config.metadata.puts.tries = v.int(1, 1_000)? as u32;
            Ok(())
        },
    )
    .within("1..=1000"),
    key(
        "metadata.put_retry_interval",
        K::Duration,
        "pause between two tries of the harness's put",
        |s| time(s.config.metadata.puts.interval),
        |s, v| {
            s.config.metadata.puts.interval = v.duration()?;
            Ok(())
        },
    ),
    key(
        "latency.network",
        K::Latency,
        "one-way delay of every node-to-node message",
        |s| latency(s.config.latency.network),
        |s, v| {
            s.config.latency.network = v.latency()?;
            Ok(())
        },
    ),
    key(
        "latency.metadata_store",
        K::Latency,
        "one-way delay to and from the metadata store",
        |s| latency(s.config.latency.metadata_store),
        |s, v| {
            s.config.latency.metadata_store = v.latency()?;
            Ok(())
        },
    ),
    key(
        "latency.peer_metadata",
        K::Latency,
        "one-way delay of GetMetadata and its answer",
        |s| {
            s.config
                .latency
                .peer_metadata
                .map_or_else(|| "latency.network".to_string(), latency)
        },
        |s, v| {
            s.config.latency.peer_metadata = Some(v.latency()?);
            Ok(())
        },
    ),
    key(
        "latency.store_read",
        K::Latency,
        "time the metadata store takes to serve a read, once it arrived",
        |s| latency(s.config.latency.store_read),
        |s, v| {
            s.config.latency.store_read = v.latency()?;
            Ok(())
        },
    ),
    key(
        "latency.store_write",
        K::Latency,
        "time the metadata store takes to serve a write, once it arrived",
        |s| latency(s.config.latency.store_write),
        |s, v| {
            s.config.latency.store_write = v.latency()?;
            Ok(())
        },
    ),
    key(
        "latency.storage",
        K::Latency,
        "time of one group commit of a node's writer",
        |s| latency(s.config.latency.storage),
        |s, v| {
            s.config.latency.storage = v.latency()?;
            Ok(())
        },
    ),
    key(
        "latency.reorder",
        K::Bool,
        "messages on a link may overtake each other",
        |s| s.config.latency.reorder.to_string(),
        |s, v| {
            s.config.latency.reorder = v.boolean()?;
            Ok(())
        },
    ),
    key(
        "workload.kind",
        K::Text,
        "append-after-seal, random, script (the default with [[steps]]) or none",
        |s| s.workload.kind.name().to_string(),
        |s, v| {
            let text = v.text()?;
            s.workload.kind = WorkloadKind::parse(&text).ok_or_else(|| {
                v.bad(format!(
                    "{text:?} is not append-after-seal, random, script or none"
                ))
            })?;
            Ok(())
        },
    ),
    key(
        "workload.appenders",
        K::Integer,
        "append/seal: concurrent appenders",
        |s| s.workload.append.appenders.to_string(),
        |s, v| {
            s.workload.append.appenders = v.int(1, 10_000)? as u32;
            Ok(())
        },
    )
    .within("1..=10000"),
    key(
        "workload.warmup_appends",
        K::Integer,
        "append/seal: appends each makes before the seal",
        |s| s.workload.append.warmup_appends.to_string(),
        |s, v| {
            s.workload.append.warmup_appends = v.int(1, 1_000_000)? as u32;
            Ok(())
        },
    )
    .within("1..=1000000"),
    key(
        "workload.watch_interval",
        K::Duration,
        "append/seal: pause between the watcher's find-tails",
        |s| span(s.workload.append.watch_interval),
        |s, v| {
            s.workload.append.watch_interval = Duration::from_nanos(v.duration()?.max(1));
            Ok(())
        },
    )
    .within("1ns or more (0 reads 1ns)"),
    key(
        "workload.lookup_delay",
        K::Duration,
        "append/seal: pause between metadata ready and the first find-tail",
        |s| span(s.workload.append.lookup_delay),
        |s, v| {
            s.workload.append.lookup_delay = Duration::from_nanos(v.duration()?);
            Ok(())
        },
    ),
    key(
        "workload.seal_delay",
        K::Duration,
        "append/seal: pause between the barrier and the seal",
        |s| span(s.workload.append.seal_delay),
        |s, v| {
            s.workload.append.seal_delay = Duration::from_nanos(v.duration()?);
            Ok(())
        },
    ),
    key(
        "workload.after_seal_pause",
        K::Duration,
        "append/seal: pause between the seal and the append that must fail",
        |s| span(s.workload.append.after_seal_pause),
        |s, v| {
            s.workload.append.after_seal_pause = Duration::from_nanos(v.duration()?);
            Ok(())
        },
    ),
    key(
        "workload.trim",
        K::Bool,
        "append/seal: then trims and a read after them",
        |s| s.workload.append.trim.to_string(),
        |s, v| {
            s.workload.append.trim = v.boolean()?;
            Ok(())
        },
    ),
    key(
        "workload.processes",
        K::Integer,
        "random: concurrent processes, spread over the client nodes",
        |s| s.workload.random.processes.to_string(),
        |s, v| {
            s.workload.random.processes = v.int(1, 1_000)? as u32;
            Ok(())
        },
    )
    .within("1..=1000"),
    key(
        "workload.ops",
        K::Integer,
        "random: operations in all",
        |s| s.workload.random.ops.to_string(),
        |s, v| {
            s.workload.random.ops = v.int(1, 10_000_000)?;
            Ok(())
        },
    )
    .within("1..=10000000"),
    key(
        "workload.think",
        K::Latency,
        "random: pause of a process between two operations",
        |s| latency(s.workload.random.think),
        |s, v| {
            s.workload.random.think = v.latency()?;
            Ok(())
        },
    ),
    weight("workload.weights.append", "random: weight of appends", 0),
    weight("workload.weights.read", "random: weight of reads", 1),
    weight(
        "workload.weights.find_tail",
        "random: weight of find-tails",
        2,
    ),
    weight("workload.weights.seal", "random: weight of seals", 3),
    weight("workload.weights.trim", "random: weight of trims", 4),
    weight(
        "workload.weights.seal_and_extend",
        "random: weight of seal-and-extends (sequencer kept: the cluster's)",
        5,
    ),
    key(
        "workload.crashes",
        K::Bool,
        "random: a nemesis crashes and restarts log-servers",
        |s| s.workload.random.crashes.to_string(),
        |s, v| {
            s.workload.random.crashes = v.boolean()?;
            Ok(())
        },
    ),
    key(
        "workload.partitions",
        K::Bool,
        "random: a nemesis cuts the sequencer from log-servers",
        |s| s.workload.random.partitions.to_string(),
        |s, v| {
            s.workload.random.partitions = v.boolean()?;
            Ok(())
        },
    ),
    key(
        "workload.append_strategy",
        K::Text,
        "random: the appends' recovery strategy: none (plain appends, failing on a sealed segment), wait, allowed or preferred",
        |s| {
            s.workload
                .random
                .append_strategy
                .map_or("none", crate::op::strategy_name)
                .to_string()
        },
        |s, v| {
            let text = v.text()?;
            s.workload.random.append_strategy = match text.as_str() {
                "none" => None,
                name => Some(crate::op::strategy_named(name).ok_or_else(|| {
                    v.bad(format!("{name:?} is not none, wait, allowed or preferred"))
                })?),
            };
            Ok(())
        },
    ),
    key(
        "workload.holds",
        K::Bool,
        "random: a nemesis holds one direction of a link between the sequencer and a log-server, then releases it",
        |s| s.workload.random.holds.to_string(),
        |s, v| {
            s.workload.random.holds = v.boolean()?;
            Ok(())
        },
    ),
    key(
        "workload.fault_interval",
        K::Latency,
        "random: time between two faults of the nemesis",
        |s| latency(s.workload.random.fault_interval),
        |s, v| {
            s.workload.random.fault_interval = v.latency()?;
            Ok(())
        },
    ),
    key(
        "workload.fault_duration",
        K::Latency,
        "random: how long a fault lasts",
        |s| latency(s.workload.random.fault_duration),
        |s, v| {
            s.workload.random.fault_duration = v.latency()?;
            Ok(())
        },
    ),
    key(
        "expect.failing",
        K::Text,
        "checks the run must fail, comma-separated (a race that fires): it passes when exactly these fail",
        |s| s.expect_failing.join(","),
        |s, v| {
            s.expect_failing = v
                .text()?
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect();
            Ok(())
        },
    ),
    key(
        "expect.error",
        K::Text,
        "the run must fail with exactly this error (a reproduction)",
        |s| s.expect_error.clone().unwrap_or_default(),
        |s, v| {
            s.expect_error = Some(v.text()?).filter(|e| !e.is_empty());
            Ok(())
        },
    ),
    key(
        "run.time_limit",
        K::Duration,
        "virtual time by which the workload must finish",
        |s| span(s.config.limits.time_limit),
        |s, v| {
            s.config.limits.time_limit = Duration::from_nanos(v.duration()?);
            Ok(())
        },
    ),
    key(
        "run.max_events",
        K::Integer,
        "the run fails after this many delivered events",
        |s| s.config.limits.max_events.to_string(),
        |s, v| {
            s.config.limits.max_events = v.int(1, u64::MAX >> 1)?;
            Ok(())
        },
    )
    .within("1 or more"),
    key(
        "run.fuel_per_call",
        K::Integer,
        "fuel per guest call: the deterministic CPU bound",
        |s| s.config.limits.node.fuel_per_call.to_string(),
        |s, v| {
            s.config.limits.node.fuel_per_call = v.int(10_000, u64::MAX >> 1)?;
            Ok(())
        },
    )
    .within("10000 or more"),
    key(
        "run.memory_mb",
        K::Integer,
        "memory cap per node, every memory and table of its instance together",
        |s| (s.config.limits.node.memory_bytes >> 20).to_string(),
        |s, v| {
            s.config.limits.node.set_memory_mb(v.int(4, 4096)?);
            Ok(())
        },
    )
    .within("4..=4096"),
    key(
        "run.max_effects_per_call",
        K::Integer,
        "messages, timers, writes... one guest call may make; past it the node crashes",
        |s| s.config.limits.node.max_effects_per_call.to_string(),
        |s, v| {
            s.config.limits.node.max_effects_per_call = v.int(10, u64::MAX >> 1)?;
            Ok(())
        },
    )
    .within("10 or more"),
    key(
        "run.max_call_mb",
        K::Integer,
        "MiB of payloads and values one guest call's effects may hold",
        |s| (s.config.limits.node.max_bytes_per_call >> 20).to_string(),
        |s, v| {
            s.config.limits.node.max_bytes_per_call = v.int(1, 4096)?.saturating_mul(1 << 20);
            Ok(())
        },
    )
    .within("1..=4096"),
    key(
        "run.max_storage_mb",
        K::Integer,
        "MiB of keys and values a node's database may hold; past it the node crashes",
        |s| (s.config.limits.node.max_storage_bytes >> 20).to_string(),
        |s, v| {
            s.config.limits.node.max_storage_bytes = v.int(1, 1 << 20)?.saturating_mul(1 << 20);
            Ok(())
        },
    )
    .within("1..=1048576"),
    key(
        "run.max_events_per_instant",
        K::Integer,
        "events at one virtual instant before the run stops as making no progress",
        |s| s.config.limits.max_events_per_instant.to_string(),
        |s, v| {
            s.config.limits.max_events_per_instant = v.int(100, u64::MAX >> 1)?;
            Ok(())
        },
    )
    .within("100 or more"),
    key(
        "run.max_ops",
        K::Integer,
        "client operations the history may hold before the run stops",
        |s| s.config.limits.max_ops.to_string(),
        |s, v| {
            s.config.limits.max_ops = v.int(1, u64::MAX >> 1)?;
            Ok(())
        },
    )
    .within("1 or more"),
    key(
        "run.max_idle_events",
        K::Integer,
        "timers that may fire in a row with nothing else happening before the run stops",
        |s| s.config.limits.max_idle_events.to_string(),
        |s, v| {
            s.config.limits.max_idle_events = v.int(100, u64::MAX >> 1)?;
            Ok(())
        },
    )
    .within("100 or more"),
    key(
        "run.wall_limit",
        K::Duration,
        "real time a run may take before it stops (a budget, never part of the trace)",
        |s| span(s.config.limits.wall_limit),
        |s, v| {
            s.config.limits.wall_limit = Duration::from_nanos(v.duration()?.max(1));
            Ok(())
        },
    )
    .within("1ns or more"),
    key(
        "run.liveness_bound",
        K::Duration,
        "once the last fault healed, every operation must complete within this long (liveness_after_heal)",
        |s| span(s.config.limits.liveness_bound),
        |s, v| {
            s.config.limits.liveness_bound = Duration::from_nanos(v.duration()?.max(1));
            Ok(())
        },
    )
    .within("1ns or more"),
];

/// A weight of the random workload's operations: append, read, find-tail, seal, trim,
/// seal-and-extend.
const fn weight(name: &'static str, meaning: &'static str, i: usize) -> Key {
    // A `const fn` cannot build a closure over `i`: one function per index.
    const SHOW: [fn(&Scenario) -> String; 6] = [
        |s| s.workload.random.weights[0].to_string(),
        |s| s.workload.random.weights[1].to_string(),
        |s| s.workload.random.weights[2].to_string(),
        |s| s.workload.random.weights[3].to_string(),
        |s| s.workload.random.weights[4].to_string(),
        |s| s.workload.random.weights[5].to_string(),
    ];
    type Set = fn(&mut Scenario, &Value) -> Result<(), ScenarioError>;
    const SET: [Set; 6] = [
        |s, v| set_weight(s, v, 0),
        |s, v| set_weight(s, v, 1),
        |s, v| set_weight(s, v, 2),
        |s, v| set_weight(s, v, 3),
        |s, v| set_weight(s, v, 4),
        |s, v| set_weight(s, v, 5),
    ];
    key(name, K::Integer, meaning, SHOW[i], SET[i]).within("0..=1000000")
}

fn set_weight(s: &mut Scenario, v: &Value, i: usize) -> Result<(), ScenarioError> {
    s.workload.random.weights[i] = v.int(0, 1_000_000)? as u32;
    Ok(())
}

/// A duration as a scenario writes it (`0` bare).
fn time(ns: u64) -> String {
    if ns == 0 {
        "0".to_string()
    } else {
        fmt_duration(ns)
    }
}

fn span(d: Duration) -> String {
    time(crate::time::nanos(d))
}

/// A latency as a scenario writes it.
fn latency(l: Latency) -> String {
    match l {
        Latency::Constant(ns) => time(ns),
        Latency::Uniform(lo, hi) => format!("{}..{}", time(lo), time(hi)),
        Latency::Exponential { mean } => format!("exp:{}", time(mean)),
    }
}
