//! Building a sandbox: from plain Rust, or from a scenario file.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Meta, Sandbox};
use crate::bindings::{Precondition, Roles, StoreResponse};
use crate::error::BuildError;
use crate::fault::Fault;
use crate::history::History;
use crate::latency::{IntoLatency, Latency, LatencyError};
use crate::metadata_store::{HarnessPuts, MetadataStore, Proxy, StoreRequest};
use crate::net::Network;
use crate::net::rules::Path;
use crate::op::{NodeId, Version};
use crate::runtime::{Limits, Runtime};
use crate::scenario::{Scenario, Trigger};
use crate::sim::drive::LOGS_KEY;
use crate::sim::node::SimNode;
use crate::sim::queue::{Origin, Pending, Queue};
use crate::sim::store_service::StoreService;
use crate::sim::{Driver, World};
use crate::storage::NodeStorage;
use crate::time::{MILLIS, SimTime};
use crate::trace::Trace;
use crate::workload::{Cluster, Setup, Workload};

/// How long a failed run goes on for the record when its trace is kept: long enough for
/// an answer that came too late (a slow store's) to show.
const DEFAULT_LINGER: Duration = Duration::from_secs(1);

/// Builds a [`Sandbox`]. Every setting has a default; see each method.
///
/// ```no_run
/// use logsandbox::{Path, Sandbox};
/// let sandbox = Sandbox::builder()
///     .log_servers(3)
///     .client(5)
///     .seed(7)
///     .latency(Path::MetadataStore, "200ms")
///     .build()?;
/// # Ok::<(), logsandbox::Error>(())
/// ```
pub struct SandboxBuilder {
    name: String,
    summary: Option<String>,
    log_servers: u32,
    clients: Vec<NodeId>,
    sequencer: Option<NodeId>,
    replication: u8,
    seed: u64,
    provision: bool,
    logs: Option<(Version, SimTime)>,
    logs_precondition: Precondition,
    store_read: Result<Latency, LatencyError>,
    store_write: Result<Latency, LatencyError>,
    proxy: Proxy,
    harness_puts: HarnessPuts,
    /// The Logs version workloads wait for (the one installed, else the scenario's).
    logs_version: Version,
    latencies: Vec<(Path, Result<Latency, LatencyError>)>,
    reorder: bool,
    start_at: BTreeMap<NodeId, SimTime>,
    default_component: Option<Arc<Runtime>>,
    log_server_component: Option<Arc<Runtime>>,
    client_component: Option<Arc<Runtime>>,
    node_components: BTreeMap<NodeId, Arc<Runtime>>,
    limits: Limits,
    max_events: u64,
    max_events_per_instant: u64,
    max_ops: usize,
    max_idle_events: u64,
    wall_limit: Duration,
    wait_limit: Duration,
    time_limit: Duration,
    settings: Vec<(String, String)>,
    workload: Option<Box<dyn Workload>>,
    faults: Vec<(Trigger, crate::fault::Planned)>,
    out_dir: Option<PathBuf>,
    keep_trace: bool,
    expect_error: Option<String>,
    linger: Option<Duration>,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        SandboxBuilder {
            name: "sandbox".into(),
            summary: None,
            log_servers: 3,
            clients: Vec::new(),
            sequencer: None,
            replication: 2,
            seed: 1,
            provision: false,
            logs: None,
            logs_precondition: Precondition::None,
            store_read: Ok(Latency::Constant(0)),
            store_write: Ok(Latency::Constant(0)),
            proxy: Proxy::Direct,
            harness_puts: HarnessPuts::default(),
            logs_version: 1,
            latencies: Vec::new(),
            reorder: false,
            start_at: BTreeMap::new(),
            default_component: None,
            log_server_component: None,
            client_component: None,
            node_components: BTreeMap::new(),
            limits: Limits::default(),
            max_events: 50_000_000,
            max_events_per_instant: 100_000,
            max_ops: 500_000,
            max_idle_events: 1_000_000,
            wall_limit: Duration::from_secs(600),
            wait_limit: Duration::from_secs(60),
            time_limit: Duration::from_secs(60),
            settings: Vec::new(),
            workload: None,
            faults: Vec::new(),
            out_dir: None,
            keep_trace: false,
            expect_error: None,
            linger: None,
        }
    }
}

impl SandboxBuilder {
    /// Log-server nodes N1..Nn, started at time 0. Default 3.
    pub fn log_servers(mut self, n: u32) -> Self {
        self.log_servers = n;
        self
    }

    /// Adds a client node. The first one hosts the sequencer of log 0 (unless
    /// [`Self::sequencer`] says otherwise). A client node starts when you call
    /// [`Sandbox::start`], or at [`Self::start_at`].
    pub fn client(mut self, id: NodeId) -> Self {
        if !self.clients.contains(&id) {
            self.clients.push(id);
        }
        self
    }

    /// The client node that hosts the sequencer. Default: the first client.
    pub fn sequencer(mut self, id: NodeId) -> Self {
        self.sequencer = Some(id);
        self.client(id)
    }

    /// The write quorum size. Default 2.
    pub fn replication(mut self, copies: u8) -> Self {
        self.replication = copies;
        self
    }

    /// The seed of every random choice. Default 1.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// N1 writes an empty Logs at v1 (precondition DoesNotExist) when it starts, as
    /// Restate's provisioning does. Default off.
    pub fn provision_empty_logs(mut self) -> Self {
        self.provision = true;
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
        self.logs = Some((version, at));
        self.logs_version = version;
        self
    }

    /// The precondition of the harness's put of the Logs. Default None (Restate's test).
    pub fn install_precondition(mut self, precondition: Precondition) -> Self {
        self.logs_precondition = precondition;
        self
    }

    /// How long the metadata store takes to serve a read and a write, once a request has
    /// arrived (on top of the path's latency). Default 0 for both.
    pub fn store_service_time(mut self, read: impl IntoLatency, write: impl IntoLatency) -> Self {
        self.store_read = read.into_latency();
        self.store_write = write.into_latency();
        self
    }

    /// The proxy the harness writes through. Default [`Proxy::Direct`].
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = proxy;
        self
    }

    /// How the harness retries a put that failed retryable. Default 20 tries, 500 ms apart.
    pub fn harness_puts(mut self, puts: HarnessPuts) -> Self {
        self.harness_puts = puts;
        self
    }

    /// The latency of a path: `"5ms"`, `"1ms..3ms"`, `"exp:2ms"`, a `Duration` or a
    /// [`Latency`]. Defaults: network `1ms..3ms`, metadata store `2ms`, storage `100us`,
    /// peer metadata as the network. A malformed text fails [`Self::build`].
    pub fn latency(mut self, path: Path, latency: impl IntoLatency) -> Self {
        self.latencies.push((path, latency.into_latency()));
        self
    }

    /// Messages on a link may overtake each other (RPCs over several connections)
    /// instead of arriving in order (one TCP stream). Default off.
    pub fn reorder(mut self, on: bool) -> Self {
        self.reorder = on;
        self
    }

    /// Starts `node` at the virtual instant `at` (a client, or a log-server later than 0).
    pub fn start_at(mut self, node: NodeId, at: SimTime) -> Self {
        self.start_at.insert(node, at);
        self
    }

    /// The component every node runs unless told otherwise. Default: the built-in guest.
    pub fn component(mut self, runtime: Arc<Runtime>) -> Self {
        self.default_component = Some(runtime);
        self
    }

    /// The component the log-servers run.
    pub fn log_server_component(mut self, runtime: Arc<Runtime>) -> Self {
        self.log_server_component = Some(runtime);
        self
    }

    /// The component the client nodes run.
    pub fn client_component(mut self, runtime: Arc<Runtime>) -> Self {
        self.client_component = Some(runtime);
        self
    }

    /// The component one node runs (beats the role's and the default).
    pub fn component_for(mut self, node: NodeId, runtime: Arc<Runtime>) -> Self {
        self.node_components.insert(node, runtime);
        self
    }

    /// Fuel per guest call: the deterministic CPU bound. Default 2,000,000,000.
    pub fn fuel_per_call(mut self, fuel: u64) -> Self {
        self.limits.fuel_per_call = fuel;
        self
    }

    /// Memory cap per node, in MiB: every linear memory and table of its instance
    /// together. Default 256.
    pub fn memory_mb(mut self, mb: u64) -> Self {
        self.limits.memory_bytes =
            usize::try_from(mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
        self
    }

    /// Effects (messages, timers, writes...) one guest call may make; past it the node
    /// crashes. Default 100,000.
    pub fn max_effects_per_call(mut self, effects: u64) -> Self {
        self.limits.max_effects_per_call = effects;
        self
    }

    /// MiB of payloads and values one guest call's effects may hold. Default 64.
    pub fn max_call_mb(mut self, mb: u64) -> Self {
        self.limits.max_bytes_per_call = mb.saturating_mul(1 << 20);
        self
    }

    /// MiB of keys and values a node's database may hold; past it the node crashes.
    /// Default 1024.
    pub fn max_storage_mb(mut self, mb: u64) -> Self {
        self.limits.max_storage_bytes = mb.saturating_mul(1 << 20);
        self
    }

    /// Events at one virtual instant before the sandbox stops as making no progress
    /// (a node that answers itself at once forever). Default 100,000.
    pub fn max_events_per_instant(mut self, events: u64) -> Self {
        self.max_events_per_instant = events;
        self
    }

    /// Client operations the history may hold before the sandbox stops: a workload that
    /// polls without end (a watcher on a run that cannot progress) would grow it without
    /// bound. Default 500,000.
    pub fn max_ops(mut self, ops: usize) -> Self {
        self.max_ops = ops;
        self
    }

    /// Timers that may fire in a row with nothing else happening before the sandbox stops
    /// as making no progress. Default 1,000,000.
    pub fn max_idle_events(mut self, events: u64) -> Self {
        self.max_idle_events = events;
        self
    }

    /// Real time the sandbox may run before it stops. A budget for the machine, never part
    /// of the trace. Default 600 s.
    pub fn wall_limit(mut self, limit: Duration) -> Self {
        self.wall_limit = limit;
        self
    }

    /// The most events a sandbox delivers in its life. Default 50,000,000.
    pub fn max_events(mut self, events: u64) -> Self {
        self.max_events = events;
        self
    }

    /// How much virtual time `run_until_done` and `run_until(predicate)` wait before
    /// giving up with [`crate::RunError::Timeout`]. Default 60 s.
    pub fn wait_limit(mut self, limit: Duration) -> Self {
        self.wait_limit = limit;
        self
    }

    /// The virtual time by which [`Sandbox::run`] expects the workload to finish.
    /// Default 60 s.
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit;
        self
    }

    /// A setting handed to every node (`metadata.update_interval_ms`, ...).
    pub fn guest_setting(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((key.into(), value.into()));
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
        let planned = crate::fault::Planned {
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

    /// After a failure, [`Sandbox::run`] keeps simulating this long without the
    /// workload, so the trace's text, the journal and the metadata offers show what
    /// happened next. The verdict and the trace hash are taken at the failure: lingering
    /// changes neither. Default 1 s when the trace is kept (`out_dir`, `keep_trace`), 0
    /// otherwise.
    pub fn linger_after_failure(mut self, linger: Duration) -> Self {
        self.linger = Some(linger);
        self
    }

    /// A builder set up as the scenario says: cluster, metadata, latencies, faults,
    /// workload, limits. Adjust it (seed, components, output) before building.
    pub fn from_scenario(scenario: &Scenario) -> SandboxBuilder {
        let c = &scenario.cluster;
        let l = &scenario.latency;
        let mut b = SandboxBuilder {
            name: scenario.name.clone(),
            summary: Some(scenario.summary()),
            seed: scenario.seed,
            ..SandboxBuilder::default()
        }
        .log_servers(c.log_servers)
        .sequencer(c.sequencer)
        .replication(c.replication)
        .latency(Path::Network, l.network)
        .latency(Path::PeerMetadata, l.peer_metadata)
        .latency(Path::MetadataStore, l.metadata_store)
        .latency(Path::Storage, l.storage)
        .reorder(l.reorder)
        .store_service_time(l.store_read, l.store_write)
        .proxy(scenario.metadata.proxy)
        .harness_puts(scenario.metadata.puts)
        .install_precondition(scenario.metadata.precondition)
        .fuel_per_call(scenario.run.fuel_per_call)
        .memory_mb(scenario.run.memory_mb)
        .max_effects_per_call(scenario.run.max_effects_per_call)
        .max_call_mb(scenario.run.max_call_mb)
        .max_storage_mb(scenario.run.max_storage_mb)
        .max_events_per_instant(scenario.run.max_events_per_instant)
        .max_ops(usize::try_from(scenario.run.max_ops).unwrap_or(usize::MAX))
        .max_idle_events(scenario.run.max_idle_events)
        .wall_limit(Duration::from_nanos(scenario.run.wall_limit))
        .max_events(scenario.run.max_events)
        .time_limit(Duration::from_nanos(scenario.run.time_limit));
        if c.remote_client != 0 {
            b = b.client(c.remote_client);
        }
        if c.start_clients {
            for client in scenario.client_ids() {
                b = b.start_at(client, SimTime(c.client_start));
            }
        }
        if scenario.metadata.provision {
            b = b.provision_empty_logs();
        }
        if scenario.metadata.install {
            b = b.install_logs_at(
                scenario.metadata.logs_version,
                SimTime(scenario.metadata.write_at),
            );
        }
        b.settings = scenario.guest_settings.clone();
        b.faults = scenario
            .faults
            .iter()
            .map(|f| (f.trigger, f.planned.clone()))
            .collect();
        b.expect_error = scenario.expect_error.clone();
        b.workload = scenario.workload();
        b.logs_version = scenario.metadata.logs_version;
        b
    }

    /// Builds the sandbox: creates every node's database, schedules the starts, installs
    /// the Logs if asked, and tells the workload the run starts.
    pub fn build(self) -> Result<Sandbox, BuildError> {
        let log_servers: Vec<NodeId> = (1..=self.log_servers).collect();
        if self.log_servers == 0 || self.log_servers > 64 {
            return Err(BuildError::Cluster(format!(
                "{} log-servers: a cluster has 1 to 64",
                self.log_servers
            )));
        }
        if self.replication == 0 || self.replication as u32 > self.log_servers {
            return Err(BuildError::Cluster(format!(
                "replication {} needs 1 to {} log-servers, the cluster has {}",
                self.replication, self.log_servers, self.log_servers
            )));
        }
        if let Some(c) = self
            .clients
            .iter()
            .find(|c| log_servers.contains(c) || **c == 0)
        {
            return Err(BuildError::Cluster(format!(
                "client N{c} would be a log-server (N1..N{}); give client nodes higher ids",
                self.log_servers
            )));
        }
        let sequencer = self
            .sequencer
            .or(self.clients.first().copied())
            .unwrap_or(0);
        let mut members = log_servers.clone();
        members.extend(&self.clients);
        for node in self.start_at.keys().chain(self.node_components.keys()) {
            if !members.contains(node) {
                return Err(BuildError::Cluster(format!(
                    "N{node} is not in the cluster"
                )));
            }
        }
        if let Some(dir) = &self.out_dir {
            std::fs::create_dir_all(dir).map_err(|e| BuildError::OutDir {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })?;
        }
        let default = match &self.default_component {
            Some(rt) => rt.clone(),
            None => Runtime::builtin()?,
        };
        let mut nodes = BTreeMap::new();
        for &id in &members {
            let storage = match &self.out_dir {
                Some(dir) => {
                    let path = dir.join(format!("n{id}.redb"));
                    let _ = std::fs::remove_file(&path);
                    NodeStorage::file(&path)
                }
                None => NodeStorage::in_memory(),
            }
            .map_err(|source| BuildError::Storage { node: id, source })?;
            let is_client = self.clients.contains(&id);
            let roles = if is_client {
                Roles::CLIENT
            } else if id == 1 && self.provision {
                Roles::LOG_SERVER | Roles::PROVISIONER
            } else {
                Roles::LOG_SERVER
            };
            let role_component = if is_client {
                &self.client_component
            } else {
                &self.log_server_component
            };
            let runtime = self
                .node_components
                .get(&id)
                .or(role_component.as_ref())
                .unwrap_or(&default)
                .clone();
            nodes.insert(id, SimNode::new(id, roles, runtime, storage));
        }
        let mut net = Network::new(self.seed, self.reorder);
        net.rules
            .set_latency(Path::Network, Latency::Uniform(MILLIS, 3 * MILLIS));
        net.rules
            .set_latency(Path::MetadataStore, Latency::Constant(2 * MILLIS));
        net.rules
            .set_latency(Path::Storage, Latency::Constant(100_000));
        for (path, latency) in self.latencies {
            let latency = latency.map_err(|error| BuildError::Latency { path, error })?;
            net.rules.set_latency(path, latency);
        }
        let cluster = Cluster {
            log_servers: log_servers.clone(),
            sequencer,
            clients: self.clients.clone(),
            replication: self.replication,
            logs_version: self.logs_version,
        };
        let mut on_seal = Vec::new();
        let mut at_start = Vec::new();
        for (trigger, planned) in self.faults {
            match trigger {
                Trigger::Start => at_start.push(planned),
                Trigger::Seal => on_seal.push(planned),
            }
        }
        let mut store_service = StoreService::new(self.seed);
        store_service.read_time = self
            .store_read
            .map_err(|error| BuildError::StoreTime { op: "read", error })?;
        store_service.write_time = self
            .store_write
            .map_err(|error| BuildError::StoreTime { op: "write", error })?;
        store_service.proxy = self.proxy;
        store_service.harness_puts = self.harness_puts;
        let keep = self.keep_trace || self.out_dir.is_some();
        let mut world = World {
            seed: self.seed,
            now: SimTime::ZERO,
            queue: Queue::default(),
            nodes,
            cluster: cluster.clone(),
            members: members.clone(),
            net,
            held: BTreeMap::<_, VecDeque<Pending>>::new(),
            store: MetadataStore::default(),
            store_service,
            history: History::default(),
            trace: Trace::new(keep),
            journal: keep.then(Default::default),
            limits: self.limits,
            settings: self.settings,
            driver: self.workload.map(|workload| Driver {
                workload,
                error: None,
                finished: false,
            }),
            on_seal,
            sealed_once: false,
            out_dir: self.out_dir.clone(),
            metadata_offers: Vec::new(),
            events: 0,
            messages: 0,
            writes: 0,
            failure: None,
            instant_load: Default::default(),
            timer_streak: Default::default(),
        };
        // The order of these pushes fixes the order of ties at time 0: keep it.
        if let Some((version, at)) = self.logs {
            let value = cluster.logs(version);
            let precondition = self.logs_precondition;
            if at == SimTime::ZERO {
                // Installed before anything starts.
                let request = StoreRequest::Put {
                    key: LOGS_KEY.into(),
                    value,
                    precondition,
                };
                if let StoreResponse::Failed(error) = world.store.apply(request) {
                    return Err(BuildError::Cluster(format!(
                        "the Logs cannot be installed before the run starts (precondition {}): {}",
                        crate::metadata_store::describe_precondition(&precondition),
                        crate::metadata_store::describe_error(&error)
                    )));
                }
            } else {
                world.push(
                    at,
                    Pending::HarnessPut {
                        value,
                        precondition,
                    },
                );
            }
        }
        for &id in &members {
            let at = match self.start_at.get(&id) {
                Some(at) => *at,
                None if log_servers.contains(&id) => SimTime::ZERO,
                None => continue,
            };
            world.push(at, Pending::Start(id));
        }
        for planned in at_start {
            let (at, fault) = planned.from_base(SimTime::ZERO);
            let origin = Origin::Scenario;
            world.push(at, Pending::Fault { fault, origin });
        }
        let setup = Setup {
            seed: self.seed,
            now: SimTime::ZERO,
            cluster,
        };
        let actions = match &mut world.driver {
            Some(driver) => driver.workload.on_start(&setup),
            None => Vec::new(),
        };
        world.act(actions);
        let summary = self.summary.unwrap_or_else(|| {
            format!(
                "{} log-servers, sequencer N{sequencer}, replication {}",
                self.log_servers, self.replication
            )
        });
        Ok(Sandbox {
            world,
            meta: Meta {
                name: self.name,
                summary,
                expect_error: self.expect_error,
                time_limit: crate::time::nanos(self.time_limit),
                wait_limit: self.wait_limit,
                max_events: self.max_events,
                max_events_per_instant: self.max_events_per_instant,
                max_ops: self.max_ops,
                max_idle_events: self.max_idle_events,
                wall_limit: self.wall_limit,
                linger: crate::time::nanos(self.linger.unwrap_or(if keep {
                    DEFAULT_LINGER
                } else {
                    Duration::ZERO
                })),
                created: Instant::now(),
            },
        })
    }
}
