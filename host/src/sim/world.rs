//! The world a run is made of, and how it is made from a [`Config`]: every node with its
//! database and component, the network and its latencies, the metadata store as a
//! service, the starts, the planned faults, the Logs, and the workload told that the run
//! starts. The builder names none of this: it hands over the config.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::node::SimNode;
use super::queue::{Origin, Pending, Queue};
use super::store_service::StoreService;
use super::{Driver, InstantLoad, TimerStreak};
use crate::bindings::{Roles, StoreResponse};
use crate::config::{Cluster, Config};
use crate::error::BuildError;
use crate::fault::Planned;
use crate::metadata_store::{LOGS_KEY, MetadataStore, StoreRequest};
use crate::net::Network;
use crate::net::envelope::Endpoint;
use crate::net::rules::Route;
use crate::op::{NodeId, RacePoint};
use crate::record::history::History;
use crate::record::journal::Journal;
use crate::record::offers::MetadataOffer;
use crate::record::trace::Trace;
use crate::runtime::{Component, Limits};
use crate::scenario::Trigger;
use crate::storage::NodeStorage;
use crate::time::SimTime;
use crate::workload::{Setup, Workload};

/// What a run keeps beyond its hash.
pub(crate) struct Outputs {
    /// Each node's database as a redb file here, and the run's files after it.
    pub out_dir: Option<PathBuf>,
    /// The text of every trace event, and the journal.
    pub keep_trace: bool,
}

/// Everything a run is made of.
pub(crate) struct World {
    pub seed: u64,
    pub now: SimTime,
    pub queue: Queue,
    pub nodes: BTreeMap<NodeId, SimNode>,
    pub cluster: Cluster,
    /// Every node id, handed to each node as its members.
    pub members: Vec<NodeId>,
    pub net: Network,
    /// Envelopes held on a link, in the order they were sent.
    pub held: BTreeMap<(Endpoint, Endpoint), std::collections::VecDeque<Pending>>,
    pub store: MetadataStore,
    pub store_service: StoreService,
    pub history: History,
    pub trace: Trace,
    /// Who talked to whom: kept with the trace's text, for `messages.svg` and `explain`.
    pub journal: Option<Journal>,
    pub limits: Limits,
    /// `guest.*` settings handed to every node.
    pub settings: Vec<(String, String)>,
    pub driver: Option<Driver>,
    /// Faults that fire when the first seal completes, counted from it.
    pub on_seal: Vec<Planned>,
    /// Faults that fire the first time a node (the one named, if any) reaches a race
    /// point, counted from it.
    pub on_point: Vec<(RacePoint, Option<NodeId>, Planned)>,
    pub sealed_once: bool,
    /// When the last fault was applied or ends by itself (a partition's or an outage's
    /// `until`): `liveness_after_heal` judges from there.
    pub last_fault: SimTime,
    /// How often each race point was reached, by its name: what `explore` classifies a
    /// failing run by.
    pub race_points: BTreeMap<&'static str, u64>,
    pub out_dir: Option<PathBuf>,
    pub metadata_offers: Vec<MetadataOffer>,
    /// Events delivered: to nodes, and to the metadata store.
    pub events: u64,
    pub messages: u64,
    pub writes: u64,
    /// A failure met deep inside a step (wiping a disk), reported when the step ends.
    pub failure: Option<crate::error::SimError>,
    /// Events delivered at the current virtual instant, per node: a run whose clock stops
    /// while events pile up makes no progress.
    pub instant_load: InstantLoad,
    /// Timers that fired in a row with nothing else: a run that only ticks makes none either.
    pub timer_streak: TimerStreak,
}

impl World {
    /// The world `config` describes, at time 0, seeded with `seed`: checks the cluster,
    /// makes every node's database, sets the latencies, schedules the starts and the
    /// planned faults, installs the Logs if asked, and tells the workload the run starts.
    pub fn new(
        config: &Config,
        seed: u64,
        outputs: Outputs,
        workload: Option<Box<dyn Workload>>,
        faults: Vec<(Trigger, Planned)>,
    ) -> Result<World, BuildError> {
        let cluster = config.checked_cluster()?;
        let members = cluster.members();
        if let Some((node, _)) = config
            .components
            .nodes
            .iter()
            .find(|(n, _)| !cluster.is_member(*n))
        {
            return Err(cluster.not_a_member(*node).into());
        }
        if let Some(dir) = &outputs.out_dir {
            std::fs::create_dir_all(dir).map_err(|e| BuildError::OutDir {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })?;
        }
        let mut nodes = BTreeMap::new();
        for &id in &members {
            let storage = match &outputs.out_dir {
                Some(dir) => {
                    let path = dir.join(format!("n{id}.redb"));
                    let _ = std::fs::remove_file(&path);
                    NodeStorage::file(&path)
                }
                None => NodeStorage::in_memory(),
            }
            .map_err(|source| BuildError::Storage { node: id, source })?;
            let is_client = cluster.clients.contains(&id);
            let roles = if is_client {
                Roles::CLIENT
            } else if id == 1 && config.metadata.provision {
                Roles::LOG_SERVER | Roles::PROVISIONER
            } else {
                Roles::LOG_SERVER
            };
            let runtime = match config.components.for_node(id, is_client) {
                Some(runtime) => runtime.clone(),
                None => Component::builtin()?,
            };
            nodes.insert(id, SimNode::new(id, roles, runtime, storage));
        }
        let latency = &config.latency;
        let mut net = Network::new(seed, latency.reorder);
        net.rules.set_latency(Route::Network, latency.network);
        if let Some(peer) = latency.peer_metadata {
            net.rules.set_latency(Route::PeerMetadata, peer);
        }
        net.rules
            .set_latency(Route::MetadataStore, latency.metadata_store);
        net.rules.set_latency(Route::Storage, latency.storage);
        for (&(from, to), &l) in &latency.links {
            net.rules.set_latency(Route::Link(from, to), l);
        }
        let mut on_seal = Vec::new();
        let mut on_point = Vec::new();
        let mut at_start = Vec::new();
        for (trigger, planned) in faults {
            match trigger {
                Trigger::Start => at_start.push(planned),
                Trigger::Seal => on_seal.push(planned),
                Trigger::Reached(point, node) => on_point.push((point, node, planned)),
            }
        }
        let mut store_service = StoreService::new(seed);
        store_service.read_time = latency.store_read;
        store_service.write_time = latency.store_write;
        store_service.proxy = config.metadata.proxy;
        store_service.harness_puts = config.metadata.puts;
        let keep = outputs.keep_trace;
        let mut world = World {
            seed,
            now: SimTime::ZERO,
            queue: Queue::default(),
            nodes,
            cluster: cluster.clone(),
            members,
            net,
            held: BTreeMap::new(),
            store: MetadataStore::default(),
            store_service,
            history: History::default(),
            trace: Trace::new(keep),
            journal: keep.then(Default::default),
            limits: config.limits.node,
            settings: config.settings.clone(),
            driver: workload.map(|workload| Driver {
                workload,
                error: None,
                finished: false,
            }),
            on_seal,
            on_point,
            sealed_once: false,
            last_fault: SimTime::ZERO,
            race_points: BTreeMap::new(),
            out_dir: outputs.out_dir,
            metadata_offers: Vec::new(),
            events: 0,
            messages: 0,
            writes: 0,
            failure: None,
            instant_load: Default::default(),
            timer_streak: Default::default(),
        };
        // The order of these pushes fixes the order of ties at time 0: keep it.
        let m = &config.metadata;
        if m.install {
            let value = cluster.logs(m.logs_version);
            let precondition = m.precondition;
            if m.write_at == SimTime::ZERO {
                // Installed before anything starts.
                let request = StoreRequest::Put {
                    key: LOGS_KEY.into(),
                    value,
                    precondition,
                };
                if let StoreResponse::Failed(error) = world.store.apply(request) {
                    return Err(BuildError::InstallLogs {
                        precondition: crate::metadata_store::describe_precondition(&precondition),
                        error: crate::metadata_store::describe_error(&error),
                    });
                }
            } else {
                world.push(
                    m.write_at,
                    Pending::HarnessPut {
                        value,
                        precondition,
                    },
                );
            }
        }
        for (id, at) in config.cluster.starts() {
            world.push(at, Pending::Start(id));
        }
        for planned in at_start {
            let (at, fault) = planned.from_base(SimTime::ZERO);
            let origin = Origin::Scenario;
            world.push(at, Pending::Fault { fault, origin });
        }
        let setup = Setup {
            seed,
            now: SimTime::ZERO,
            cluster,
        };
        let actions = match &mut world.driver {
            Some(driver) => driver.workload.on_start(&setup),
            None => Vec::new(),
        };
        world.act(actions);
        Ok(world)
    }
}
