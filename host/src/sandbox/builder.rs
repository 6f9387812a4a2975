//! Building a sandbox: from plain Rust, or from a scenario file.
//!
//! The builder holds one [`Config`] (the cluster, latencies, metadata, limits, components
//! and guest settings) and what only a run has (its seed, workload, faults, output); its
//! setters edit parts of the config, and [`SandboxBuilder::build`] hands it whole to the
//! simulator, which builds its world from it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Meta, Sandbox};
use crate::bindings::Precondition;
use crate::config::{ClusterSpec, Components, Config, Latencies, MetadataSetup, RunLimits};
use crate::error::BuildError;
use crate::fault::{Fault, Planned};
use crate::latency::IntoLatency;
use crate::metadata_store::{HarnessPuts, Proxy};
use crate::net::rules::Route;
use crate::op::{NodeId, Version};
use crate::runtime::Component;
use crate::scenario::{Scenario, Trigger};
use crate::sim::{Outputs, World};
use crate::time::SimTime;
use crate::workload::Workload;

/// How long a failed run goes on for the record when its trace is kept: long enough for
/// an answer that came too late (a slow store's) to show.
const DEFAULT_LINGER: Duration = Duration::from_secs(1);

/// Builds a [`Sandbox`]. Every setting has a default (see [`Config`] and each method).
///
/// ```no_run
/// use logsandbox::{Route, Sandbox};
/// let sandbox = Sandbox::builder()
///     .log_servers(3)
///     .client(5)
///     .seed(7)
///     .latency(Route::MetadataStore, "200ms")
///     .build()?;
/// # Ok::<(), logsandbox::Error>(())
/// ```
pub struct SandboxBuilder {
    config: Config,
    seed: u64,
    name: String,
    /// The report's one-line summary; by default, the cluster's.
    summary: Option<String>,
    workload: Option<Box<dyn Workload>>,
    faults: Vec<(Trigger, Planned)>,
    out_dir: Option<PathBuf>,
    keep_trace: bool,
    expect_error: Option<String>,
    expect_failing: Vec<String>,
    linger: Option<Duration>,
    /// The first setter given bad input (a malformed latency): [`Self::build`] reports it.
    error: Option<BuildError>,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        SandboxBuilder {
            config: Config::default(),
            seed: 1,
            name: "sandbox".into(),
            summary: None,
            workload: None,
            faults: Vec::new(),
            out_dir: None,
            keep_trace: false,
            expect_error: None,
            expect_failing: Vec::new(),
            linger: None,
            error: None,
        }
    }
}

impl SandboxBuilder {
    /// A builder set up as the scenario says: its config (cluster, metadata, latencies,
    /// limits, guest settings), faults, workload, seed and expected error. Adjust it
    /// (seed, components, output) before building.
    pub fn from_scenario(scenario: &Scenario) -> SandboxBuilder {
        SandboxBuilder {
            config: scenario.config.clone(),
            seed: scenario.seed,
            name: scenario.name.clone(),
            summary: Some(scenario.summary()),
            workload: scenario.workload(),
            faults: scenario
                .faults
                .iter()
                .map(|f| (f.trigger, f.planned.clone()))
                .collect(),
            expect_error: scenario.expect_error.clone(),
            expect_failing: scenario.expect_failing.clone(),
            ..SandboxBuilder::default()
        }
    }

    /// The whole config at once.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The config as it stands.
    pub fn current_config(&self) -> &Config {
        &self.config
    }

    // --- groups: each replaces one part of the config ---

    /// The nodes. See [`ClusterSpec`].
    pub fn cluster(mut self, cluster: ClusterSpec) -> Self {
        self.config.cluster = cluster;
        self
    }

    /// Every path's latency and the metadata store's service times. See [`Latencies`].
    pub fn latencies(mut self, latencies: Latencies) -> Self {
        self.config.latency = latencies;
        self
    }

    /// The Logs metadata and how the harness writes it. See [`MetadataSetup`].
    pub fn metadata(mut self, metadata: MetadataSetup) -> Self {
        self.config.metadata = metadata;
        self
    }

    /// The run's limits, the nodes' among them. See [`RunLimits`].
    pub fn limits(mut self, limits: RunLimits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Which component each node runs. See [`Components`].
    pub fn components(mut self, components: Components) -> Self {
        self.config.components = components;
        self
    }

    // --- the cluster ---

    /// Log-server nodes N1..Nn, started at time 0. Default 3.
    pub fn log_servers(mut self, n: u32) -> Self {
        self.config.cluster.log_servers = n;
        self
    }

    /// Adds a client node. The first one hosts the sequencer of log 0 (unless
    /// [`Self::sequencer`] says otherwise). It starts when you call [`Sandbox::start`],
    /// or at [`Self::start_at`] (a scenario's own client nodes start by themselves).
    pub fn client(mut self, id: NodeId) -> Self {
        let cluster = &mut self.config.cluster;
        if !cluster.client_ids().contains(&id) {
            cluster.add_client(id);
            cluster.started_by_hand.insert(id);
        }
        self
    }

    /// The client node that hosts the sequencer. Default: the first client.
    pub fn sequencer(mut self, id: NodeId) -> Self {
        self.config.cluster.set_sequencer(id);
        self
    }

    /// The write quorum size. Default 2.
    pub fn replication(mut self, copies: u8) -> Self {
        self.config.cluster.replication = copies;
        self
    }

    /// Starts `node` at the virtual instant `at` (a client, or a log-server later than 0).
    pub fn start_at(mut self, node: NodeId, at: SimTime) -> Self {
        self.config.cluster.start_at.insert(node, at);
        self
    }

    // --- the metadata ---

    /// N1 writes an empty Logs at v1 (precondition DoesNotExist) when it starts, as
    /// Restate's provisioning does. Default off.
    pub fn provision_empty_logs(mut self) -> Self {
        self.config.metadata.provision = true;
        self
    }

    /// The harness writes the run's Logs (log 0 on loglet `0_0` over every log-server)
    /// at `version`, precondition None, before anything starts. Default: not written;
    /// write it later with [`Sandbox::metadata`].
    pub fn install_logs(self, version: Version) -> Self {
        self.install_logs_at(version, SimTime::ZERO)
    }

    /// As [`Self::install_logs`], at the virtual instant `at`. After time 0 the write is
    /// the harness's put: it meets the store's outages, goes through the proxy, and is
    /// retried as [`Self::harness_puts`] says.
    pub fn install_logs_at(mut self, version: Version, at: SimTime) -> Self {
        let m = &mut self.config.metadata;
        (m.install, m.logs_version, m.write_at) = (true, version, at);
        self
    }

    /// The precondition of the harness's put of the Logs. Default None (Restate's test).
    pub fn install_precondition(mut self, precondition: Precondition) -> Self {
        self.config.metadata.precondition = precondition;
        self
    }

    /// The proxy the harness writes through. Default [`Proxy::Direct`].
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.config.metadata.proxy = proxy;
        self
    }

    /// How the harness retries a put that failed retryable. Default 20 tries, 500 ms apart.
    pub fn harness_puts(mut self, puts: HarnessPuts) -> Self {
        self.config.metadata.puts = puts;
        self
    }

    // --- latencies ---

    /// The latency of a path: `"5ms"`, `"1ms..3ms"`, `"exp:2ms"`, a `Duration` or a
    /// [`crate::Latency`]. Defaults: network `1ms..3ms`, metadata store `2ms`, storage
    /// `100us`, peer metadata as the network. A malformed text fails [`Self::build`].
    pub fn latency(mut self, path: Route, latency: impl IntoLatency) -> Self {
        match latency.into_latency() {
            Ok(latency) => {
                let l = &mut self.config.latency;
                match path {
                    Route::Network => l.network = latency,
                    Route::PeerMetadata => l.peer_metadata = Some(latency),
                    Route::MetadataStore => l.metadata_store = latency,
                    Route::Storage => l.storage = latency,
                    Route::Link(from, to) => {
                        l.links.insert((from, to), latency);
                    }
                }
            }
            Err(error) => self.fail(BuildError::Latency { path, error }),
        }
        self
    }

    /// How long the metadata store takes to serve a read and a write, once a request has
    /// arrived (on top of the path's latency). Default 0 for both.
    pub fn store_service_time(mut self, read: impl IntoLatency, write: impl IntoLatency) -> Self {
        match read.into_latency() {
            Ok(read) => self.config.latency.store_read = read,
            Err(error) => self.fail(BuildError::StoreTime { op: "read", error }),
        }
        match write.into_latency() {
            Ok(write) => self.config.latency.store_write = write,
            Err(error) => self.fail(BuildError::StoreTime { op: "write", error }),
        }
        self
    }

    /// Messages on a link may overtake each other (RPCs over several connections)
    /// instead of arriving in order (one TCP stream). Default off.
    pub fn reorder(mut self, on: bool) -> Self {
        self.config.latency.reorder = on;
        self
    }

    // --- components ---

    /// The component every node runs unless told otherwise. Default: the built-in guest.
    pub fn component(mut self, component: Arc<Component>) -> Self {
        self.config.components.default = Some(component);
        self
    }

    /// The component the log-servers run.
    pub fn log_server_component(mut self, component: Arc<Component>) -> Self {
        self.config.components.log_server = Some(component);
        self
    }

    /// The component the client nodes run.
    pub fn client_component(mut self, component: Arc<Component>) -> Self {
        self.config.components.client = Some(component);
        self
    }

    /// The component one node runs (beats the role's and the default).
    pub fn component_for(mut self, node: NodeId, component: Arc<Component>) -> Self {
        self.config.components.set_node(node, component);
        self
    }

    /// A setting handed to every node (`metadata.update_interval_ms`, ...).
    pub fn guest_setting(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.settings.push((key.into(), value.into()));
        self
    }

    // --- limits (see RunLimits) ---

    /// Fuel per guest call: the deterministic CPU bound. Default 2,000,000,000.
    pub fn fuel_per_call(mut self, fuel: u64) -> Self {
        self.config.limits.node.fuel_per_call = fuel;
        self
    }

    /// Memory cap per node, in MiB: every linear memory and table of its instance
    /// together. Default 256.
    pub fn memory_mb(mut self, mb: u64) -> Self {
        self.config.limits.node.set_memory_mb(mb);
        self
    }

    /// Effects (messages, timers, writes...) one guest call may make; past it the node
    /// crashes. Default 100,000.
    pub fn max_effects_per_call(mut self, effects: u64) -> Self {
        self.config.limits.node.max_effects_per_call = effects;
        self
    }

    /// MiB of payloads and values one guest call's effects may hold. Default 64.
    pub fn max_call_mb(mut self, mb: u64) -> Self {
        self.config.limits.node.max_bytes_per_call = mb.saturating_mul(1 << 20);
        self
    }

    /// MiB of keys and values a node's database may hold; past it the node crashes.
    /// Default 1024.
    pub fn max_storage_mb(mut self, mb: u64) -> Self {
        self.config.limits.node.max_storage_bytes = mb.saturating_mul(1 << 20);
        self
    }

    /// Events at one virtual instant before the sandbox stops as making no progress
    /// (a node that answers itself at once forever). Default 100,000.
    pub fn max_events_per_instant(mut self, events: u64) -> Self {
        self.config.limits.max_events_per_instant = events;
        self
    }

    /// Client operations the history may hold before the sandbox stops: a workload that
    /// polls without end (a watcher on a run that cannot progress) would grow it without
    /// bound. Default 500,000.
    pub fn max_ops(mut self, ops: usize) -> Self {
        self.config.limits.max_ops = ops as u64;
        self
    }

    /// Timers that may fire in a row with nothing else happening before the sandbox stops
    /// as making no progress. Default 1,000,000.
    pub fn max_idle_events(mut self, events: u64) -> Self {
        self.config.limits.max_idle_events = events;
        self
    }

    /// Real time the sandbox may run before it stops. A budget for the machine, never part
    /// of the trace. Default 600 s.
    pub fn wall_limit(mut self, limit: Duration) -> Self {
        self.config.limits.wall_limit = limit;
        self
    }

    /// The most events a sandbox delivers in its life. Default 50,000,000.
    pub fn max_events(mut self, events: u64) -> Self {
        self.config.limits.max_events = events;
        self
    }

    /// How much virtual time `run_until_done` and `run_until(predicate)` wait before
    /// giving up with [`crate::RunError::Timeout`]. Default 60 s.
    pub fn wait_limit(mut self, limit: Duration) -> Self {
        self.config.limits.wait_limit = limit;
        self
    }

    /// The virtual time by which [`Sandbox::run`] expects the workload to finish.
    /// Default 60 s.
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.config.limits.time_limit = limit;
        self
    }

    // --- the run ---

    /// The seed of every random choice. Default 1.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The workload [`Sandbox::run`] drives. Its actions are carried out whenever the
    /// sandbox steps, however it is driven. Default: none.
    pub fn workload(mut self, workload: impl Workload + 'static) -> Self {
        self.workload = Some(Box::new(workload));
        self
    }

    /// The workload, boxed.
    pub fn boxed_workload(mut self, workload: Box<dyn Workload>) -> Self {
        self.workload = Some(workload);
        self
    }

    /// Applies `fault` at the virtual instant `at`.
    pub fn fault_at(mut self, at: SimTime, fault: Fault) -> Self {
        let planned = Planned {
            at: at.0,
            until: None,
            fault,
        };
        self.faults.push((Trigger::Start, planned));
        self
    }

    /// Keeps each node's database in a redb file here (`n1.redb`...), and writes
    /// `report.json`, `history.json` and `trace.jsonl` after [`Sandbox::run`]. Default:
    /// redb's in-memory backend, no files.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Keeps the text of every trace event (the hash is computed either way). Default off.
    pub fn keep_trace(mut self, keep: bool) -> Self {
        self.keep_trace = keep;
        self
    }

    /// The name reports show. Default `sandbox`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// [`Sandbox::run`] passes only when the run fails with exactly this error (a
    /// reproduction of a bug).
    pub fn expect_error(mut self, error: impl Into<String>) -> Self {
        self.expect_error = Some(error.into());
        self
    }

    /// [`Sandbox::run`] passes only when exactly these checks fail (a race that fires):
    /// each is reported inverted, saying so.
    pub fn expect_failing(mut self, checks: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.expect_failing = checks.into_iter().map(Into::into).collect();
        self
    }

    /// After a failure, [`Sandbox::run`] keeps simulating this long without the
    /// workload, so the trace's text, the journal and the metadata offers show what
    /// happened next. The verdict and the trace hash are taken at the failure: lingering
    /// changes neither. Default 1 s when the trace is kept (`out_dir`, `keep_trace`), 0
    /// otherwise.
    pub fn linger_after_failure(mut self, linger: Duration) -> Self {
        self.linger = Some(linger);
        self
    }

    fn fail(&mut self, error: BuildError) {
        self.error.get_or_insert(error);
    }

    /// Builds the sandbox: checks the cluster, has the simulator build its world from the
    /// config (every node's database, the starts, the Logs if asked), and tells the
    /// workload the run starts.
    pub fn build(self) -> Result<Sandbox, BuildError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let keep = self.keep_trace || self.out_dir.is_some();
        let summary = self.summary.unwrap_or_else(|| {
            let c = &self.config.cluster;
            format!(
                "{} log-servers, sequencer N{}, replication {}",
                c.log_servers,
                c.client_ids().first().copied().unwrap_or(0),
                c.replication
            )
        });
        let world = World::new(
            &self.config,
            self.seed,
            Outputs {
                out_dir: self.out_dir,
                keep_trace: keep,
            },
            self.workload,
            self.faults,
        )?;
        tracing::debug!(name = %self.name, seed = self.seed, "{summary}");
        let linger = self
            .linger
            .unwrap_or(if keep { DEFAULT_LINGER } else { Duration::ZERO });
        Ok(Sandbox {
            world,
            meta: Meta {
                name: self.name,
                summary,
                expect_error: self.expect_error,
                expect_failing: self.expect_failing,
                limits: self.config.limits,
                linger: crate::time::nanos(linger),
                created: Instant::now(),
            },
        })
    }
}
