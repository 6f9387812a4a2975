//! The settings of a sandbox as one value made of parts: the cluster, the latencies, the
//! metadata setup, the run's limits, the components and the guest settings.
//!
//! `Default` is the only home of every default. A builder starts from
//! [`Config::default()`] and its setters edit parts; a scenario file starts from
//! `Scenario::default()` (this value, plus what a scenario adds: the client N5 that hosts
//! the sequencer, the Logs installed) and its keys edit the same fields; `logsandbox keys`
//! prints the defaults by reading them off those values. The simulator's world is built
//! from this value by a constructor of its own, so nobody forwards fields.
//!
//! - [`cluster`]: the nodes ([`ClusterSpec`]), checked once into a [`Cluster`];
//! - [`chain`]: the chain a scenario installs ([`SegmentSpec`]), checked by the chain's
//!   rules;
//! - [`components`]: which component each node runs ([`Components`]).

pub mod chain;
pub mod cluster;
pub mod components;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::bindings::Precondition;
use crate::latency::Latency;
use crate::metadata_store::{HarnessPuts, Proxy};
use crate::net::envelope::Endpoint;
use crate::op::Version;
use crate::runtime::Limits;
use crate::time::{MILLIS, SimTime, fmt_duration};

pub use chain::{SegmentKind, SegmentSpec};
pub use cluster::{Cluster, ClusterError, ClusterSpec};
pub use components::Components;

/// Everything a sandbox is set up with. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The nodes.
    pub cluster: ClusterSpec,
    /// The latency of each path.
    pub latency: Latencies,
    /// The Logs metadata and how it is written.
    pub metadata: MetadataSetup,
    /// The run's limits, the nodes' among them.
    pub limits: RunLimits,
    /// Which component each node runs.
    pub components: Components,
    /// Settings handed to every node (`metadata.update_interval_ms`...; a scenario's
    /// `guest.*` keys). Default none.
    pub settings: Vec<(String, String)>,
}

impl Config {
    /// The cluster, checked: its nodes, and the chain it installs if the metadata setup
    /// gives one. Every error names the key to change.
    pub fn checked_cluster(&self) -> Result<Cluster, ClusterError> {
        let mut cluster = self.cluster.validate(self.metadata.logs_version)?;
        if !self.metadata.segments.is_empty() {
            cluster.chain = Some(chain::build(&self.metadata.segments, &cluster)?);
        }
        Ok(cluster)
    }

    /// One line per knob, for people.
    pub fn summary(&self) -> String {
        let c = &self.cluster;
        let l = &self.latency;
        format!(
            "{} log-servers, sequencer N{}, replication {}; network {}, metadata store {}, peer metadata {}, storage {}",
            c.log_servers,
            c.client_ids().first().copied().unwrap_or(0),
            c.replication,
            l.network,
            l.metadata_store,
            l.peer_metadata(),
            match l.storage {
                Latency::Constant(ns) => fmt_duration(ns),
                other => other.to_string(),
            },
        )
    }
}

/// The latency of each path, and the metadata store's service times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latencies {
    /// Every node-to-node message. Default `1ms..3ms` (`latency.network`).
    pub network: Latency,
    /// Each request to the metadata store and each answer. Default `2ms`
    /// (`latency.metadata_store`).
    pub metadata_store: Latency,
    /// GetMetadata between nodes and its answer. Default none: the network's
    /// (`latency.peer_metadata`).
    pub peer_metadata: Option<Latency>,
    /// One group commit of a node's writer. Default `100us` (`latency.storage`).
    pub storage: Latency,
    /// Messages between two nodes may overtake each other (RPCs over several
    /// connections) instead of arriving in order (one TCP stream). Default false
    /// (`latency.reorder`).
    pub reorder: bool,
    /// The metadata store's time to serve a read, once it arrived. Default 0
    /// (`latency.store_read`).
    pub store_read: Latency,
    /// The metadata store's time to serve a write. Default 0 (`latency.store_write`).
    pub store_write: Latency,
    /// One direction of one link, which beats the paths above for what crosses it
    /// (`Route::Link`). Default none.
    pub links: BTreeMap<(Endpoint, Endpoint), Latency>,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            network: Latency::Uniform(MILLIS, 3 * MILLIS),
            metadata_store: Latency::Constant(2 * MILLIS),
            peer_metadata: None,
            storage: Latency::Constant(100_000),
            reorder: false,
            store_read: Latency::Constant(0),
            store_write: Latency::Constant(0),
            links: BTreeMap::new(),
        }
    }
}

impl Latencies {
    /// The peer-metadata path's latency: its own, or the network's.
    pub fn peer_metadata(&self) -> Latency {
        self.peer_metadata.unwrap_or(self.network)
    }
}

/// The Logs metadata of a run and how the harness writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataSetup {
    /// The version the harness writes the run's Logs with; workloads wait for it. Default
    /// 1 (`metadata.logs_version`).
    pub logs_version: Version,
    /// The harness writes the run's Logs (log 0 on loglet `0_0` over every log-server) at
    /// [`Self::write_at`]. Default false: write it later with `Sandbox::metadata` (a
    /// scenario's default is true, `metadata.install`).
    pub install: bool,
    /// When the harness writes it: before anything starts when 0; later, the write is the
    /// harness's put, which meets the store's outages, goes through the proxy and is
    /// retried as [`Self::puts`] says. Default 0 (`metadata.write_at`).
    pub write_at: SimTime,
    /// The precondition of that put. Default None, as Restate's test
    /// (`metadata.precondition`).
    pub precondition: Precondition,
    /// N1 writes an empty Logs at v1 (precondition DoesNotExist) when it starts, as
    /// Restate's provisioning does. Default false (`metadata.provision`).
    pub provision: bool,
    /// What the harness writes through. Default [`Proxy::Direct`] (`metadata.proxy`).
    pub proxy: Proxy,
    /// How the harness retries a put that failed retryable. Default 20 tries, 500 ms
    /// apart (`metadata.put_tries`, `metadata.put_retry_interval`).
    pub puts: HarnessPuts,
    /// Log 0's chain, segment by segment (`[[metadata.segments]]`). Default none: one
    /// segment from LSN 1 over every log-server.
    pub segments: Vec<SegmentSpec>,
}

impl Default for MetadataSetup {
    fn default() -> Self {
        MetadataSetup {
            logs_version: 1,
            install: false,
            write_at: SimTime::ZERO,
            precondition: Precondition::None,
            provision: false,
            proxy: Proxy::Direct,
            puts: HarnessPuts::default(),
            segments: Vec::new(),
        }
    }
}

/// The run's limits: how long and how much it may go on, and what each node may use.
/// Each names the scenario key that raises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// The virtual time by which `Sandbox::run` expects the workload to finish. Default
    /// 60 s (`run.time_limit`).
    pub time_limit: Duration,
    /// How much virtual time `run_until_done` and `run_until(predicate)` wait before
    /// giving up. Default 60 s.
    pub wait_limit: Duration,
    /// The most events a sandbox delivers in its life. Default 50,000,000
    /// (`run.max_events`).
    pub max_events: u64,
    /// Events at one virtual instant before the sandbox stops as making no progress (a
    /// node that answers itself at once forever). Default 100,000
    /// (`run.max_events_per_instant`).
    pub max_events_per_instant: u64,
    /// Client operations the history may hold before the sandbox stops. Default 500,000
    /// (`run.max_ops`).
    pub max_ops: u64,
    /// Timers that may fire in a row with nothing else happening before the sandbox
    /// stops. Default 1,000,000 (`run.max_idle_events`).
    pub max_idle_events: u64,
    /// Real time the sandbox may run: a budget for the machine, never part of the trace.
    /// Default 600 s (`run.wall_limit`).
    pub wall_limit: Duration,
    /// Once the last fault healed, every operation must complete within this much virtual
    /// time (`liveness_after_heal`). Default 30 s (`run.liveness_bound`).
    pub liveness_bound: Duration,
    /// What each node may use: fuel, memory, effects and bytes per call, storage
    /// (`run.fuel_per_call`, `run.memory_mb`, `run.max_effects_per_call`,
    /// `run.max_call_mb`, `run.max_storage_mb`).
    pub node: Limits,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            time_limit: Duration::from_secs(60),
            wait_limit: Duration::from_secs(60),
            max_events: 50_000_000,
            max_events_per_instant: 100_000,
            max_ops: 500_000,
            max_idle_events: 1_000_000,
            wall_limit: Duration::from_secs(600),
            liveness_bound: Duration::from_secs(30),
            node: Limits::default(),
        }
    }
}
