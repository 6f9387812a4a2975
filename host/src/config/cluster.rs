//! The nodes of a cluster: the spec a user writes ([`ClusterSpec`]) and the cluster it
//! validates to ([`Cluster`]), checked in one place for the builder and the scenario
//! reader alike.

use std::collections::{BTreeMap, BTreeSet};

use crate::bindings::{Chain, Logs, MetadataValue, ProviderKind, ReplicatedParams, Segment};
use crate::op::{NodeId, Version};
use crate::time::SimTime;

/// The most log-servers a cluster has.
pub const MAX_LOG_SERVERS: u32 = 64;

/// The log the built-in workloads write to.
pub const LOG: u32 = 0;

/// Which nodes a cluster has and when they start. Log-servers are N1..Nn; client nodes
/// (which run the client, and one of them the sequencer) have higher ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Log-server nodes N1..Nn, started at time 0 unless [`Self::start_at`] says
    /// otherwise. Default 3 (`cluster.log_servers`).
    pub log_servers: u32,
    /// The write quorum size. Default 2 (`cluster.replication`).
    pub replication: u8,
    /// The client node that hosts the sequencer of log 0. Default none: the first of
    /// [`Self::clients`] (a scenario's default is N5, `cluster.sequencer`).
    pub sequencer: Option<NodeId>,
    /// The client nodes besides the sequencer's, in the order they were added. Default
    /// none (`cluster.remote_client` adds one).
    pub clients: Vec<NodeId>,
    /// Whether the client nodes start by themselves at [`Self::client_start`]; otherwise
    /// they start when told (`Sandbox::start`, a script's step). Default false (a
    /// scenario's default is true, `cluster.start_clients`).
    pub start_clients: bool,
    /// When the client nodes start by themselves. Default 0 (`cluster.client_start`).
    pub client_start: SimTime,
    /// Client nodes that start only when told (or at [`Self::start_at`]), whatever
    /// [`Self::start_clients`] says: those the builder's `client` adds to a cluster, a
    /// scenario's among them. Default none.
    pub started_by_hand: BTreeSet<NodeId>,
    /// Nodes that start at an instant of their own: beats the three above, and a
    /// log-server's start at 0. Default none.
    pub start_at: BTreeMap<NodeId, SimTime>,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            log_servers: 3,
            replication: 2,
            sequencer: None,
            clients: Vec::new(),
            start_clients: false,
            client_start: SimTime::ZERO,
            started_by_hand: BTreeSet::new(),
            start_at: BTreeMap::new(),
        }
    }
}

/// Why a cluster spec makes no sense. Each names the scenario key it concerns
/// ([`ClusterError::key`]), so a scenario file's error points at the line to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// No log-server, or more than a cluster has.
    #[error("{0} log-servers: a cluster has 1 to {MAX_LOG_SERVERS}")]
    LogServers(u32),
    /// A quorum of no copy, or of more copies than log-servers.
    #[error("{copies} copies need at least {copies} log-servers, the cluster has {log_servers}")]
    Replication {
        /// The quorum asked for.
        copies: u8,
        /// The log-servers there are.
        log_servers: u32,
    },
    /// A client node whose id is a log-server's (or 0).
    #[error("N{node} is a log-server (N1..N{log_servers}); {}", if *sequencer {
        "the sequencer runs on a separate client node"
    } else {
        "client nodes need higher ids"
    })]
    ClientIsLogServer {
        /// The client node.
        node: NodeId,
        /// The log-servers there are.
        log_servers: u32,
        /// Whether it is the sequencer's node.
        sequencer: bool,
    },
    /// A client node named twice (the sequencer's among the others).
    #[error("N{0} is already a log-server or the sequencer's node")]
    DuplicateClient(NodeId),
    /// A node given a start time (or a component) that is not in the cluster.
    #[error("N{node} is not in the cluster ({members})")]
    NotAMember {
        /// The node.
        node: NodeId,
        /// The cluster's nodes, as text.
        members: String,
    },
    /// A segment of the chain a scenario installs that breaks a chain rule.
    #[error("{reason}")]
    Segment {
        /// Its place in `[[metadata.segments]]`.
        index: usize,
        /// The field to change.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl ClusterError {
    /// The scenario key to change.
    pub fn key(&self) -> String {
        match self {
            ClusterError::LogServers(_) => "cluster.log_servers".into(),
            ClusterError::Replication { .. } => "cluster.replication".into(),
            ClusterError::ClientIsLogServer {
                sequencer: true, ..
            } => "cluster.sequencer".into(),
            ClusterError::ClientIsLogServer { .. } | ClusterError::DuplicateClient(_) => {
                "cluster.remote_client".into()
            }
            ClusterError::NotAMember { .. } => "cluster".into(),
            ClusterError::Segment { index, field, .. } => {
                format!("metadata.segments[{index}].{field}")
            }
        }
    }
}

impl ClusterSpec {
    /// Adds a client node (no-op if it is one already).
    pub fn add_client(&mut self, id: NodeId) {
        if self.sequencer != Some(id) && !self.clients.contains(&id) {
            self.clients.push(id);
        }
    }

    /// Makes `id` the sequencer's node (a client node).
    pub fn set_sequencer(&mut self, id: NodeId) {
        self.clients.retain(|c| *c != id);
        self.sequencer = Some(id);
    }

    /// The client node ids: the sequencer's first, then the others in the order added.
    pub fn client_ids(&self) -> Vec<NodeId> {
        // `add_client` and `set_sequencer` keep the two apart; a scenario's keys may not,
        // and `validate` says so.
        let mut ids: Vec<NodeId> = self.sequencer.into_iter().collect();
        ids.extend(&self.clients);
        ids
    }

    /// The log-server ids, N1..Nn.
    pub fn log_server_ids(&self) -> Vec<NodeId> {
        (1..=self.log_servers).collect()
    }

    /// Every node id: the log-servers, then the client nodes.
    pub fn node_ids(&self) -> Vec<NodeId> {
        let mut ids = self.log_server_ids();
        ids.extend(self.client_ids());
        ids
    }

    /// Checks the spec once, for every caller: ids, the quorum, the sequencer, the nodes
    /// named by start times. `logs_version` is the version of the Logs the run installs.
    pub fn validate(&self, logs_version: Version) -> Result<Cluster, ClusterError> {
        if self.log_servers == 0 || self.log_servers > MAX_LOG_SERVERS {
            return Err(ClusterError::LogServers(self.log_servers));
        }
        if self.replication == 0 || u32::from(self.replication) > self.log_servers {
            return Err(ClusterError::Replication {
                copies: self.replication,
                log_servers: self.log_servers,
            });
        }
        let clients = self.client_ids();
        for (i, &node) in clients.iter().enumerate() {
            if node == 0 || node <= self.log_servers {
                return Err(ClusterError::ClientIsLogServer {
                    node,
                    log_servers: self.log_servers,
                    sequencer: self.sequencer == Some(node),
                });
            }
            if clients[..i].contains(&node) {
                return Err(ClusterError::DuplicateClient(node));
            }
        }
        let cluster = Cluster {
            log_servers: self.log_server_ids(),
            sequencer: clients.first().copied().unwrap_or(0),
            clients,
            replication: self.replication,
            logs_version,
            chain: None,
        };
        if let Some(node) = self.start_at.keys().find(|n| !cluster.is_member(**n)) {
            return Err(cluster.not_a_member(*node));
        }
        Ok(cluster)
    }

    /// When each node starts by itself, in node order; nodes not listed start when told.
    pub fn starts(&self) -> Vec<(NodeId, SimTime)> {
        let clients = self.client_ids();
        self.node_ids()
            .into_iter()
            .filter_map(|id| {
                let at = match self.start_at.get(&id) {
                    Some(at) => *at,
                    None if !clients.contains(&id) => SimTime::ZERO,
                    None if self.start_clients && !self.started_by_hand.contains(&id) => {
                        self.client_start
                    }
                    None => return None,
                };
                Some((id, at))
            })
            .collect()
    }
}

/// A validated cluster: what a workload drives and what the run's Logs describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The log-server nodes, N1..Nn.
    pub log_servers: Vec<NodeId>,
    /// The client node that hosts the sequencer of log 0's loglet (0: none).
    pub sequencer: NodeId,
    /// Every client node (the sequencer's first).
    pub clients: Vec<NodeId>,
    /// The write quorum size.
    pub replication: u8,
    /// The version of the Logs the run installs.
    pub logs_version: Version,
    /// Log 0's chain when the scenario gives one (`[[metadata.segments]]`); none: one
    /// segment from LSN 1 over every log-server.
    pub chain: Option<Chain>,
}

impl Cluster {
    /// Every node, the log-servers first.
    pub fn members(&self) -> Vec<NodeId> {
        let mut members = self.log_servers.clone();
        members.extend(&self.clients);
        members
    }

    /// Whether `node` is in the cluster.
    pub fn is_member(&self, node: NodeId) -> bool {
        self.log_servers.contains(&node) || self.clients.contains(&node)
    }

    /// The error for a node named that is not in the cluster.
    pub fn not_a_member(&self, node: NodeId) -> ClusterError {
        let last = self.log_servers.len();
        let mut members = format!("N1..N{last}");
        for c in &self.clients {
            members += &format!(", N{c}");
        }
        ClusterError::NotAMember { node, members }
    }

    /// The run's Logs at `version`: log 0 on the replicated loglet `0_0` over every
    /// log-server, sequenced by [`Cluster::sequencer`], with [`Cluster::replication`] copies;
    /// or the chain the scenario gave ([`Cluster::chain`]).
    pub fn logs(&self, version: Version) -> MetadataValue {
        if let Some(chain) = &self.chain {
            return MetadataValue::Logs(Logs {
                version,
                chains: vec![chain.clone()],
            });
        }
        MetadataValue::Logs(Logs {
            version,
            chains: vec![Chain {
                log_id: LOG,
                segments: vec![Segment {
                    base_lsn: 1,
                    index: 0,
                    provider: ProviderKind::Replicated,
                    params: Some(ReplicatedParams {
                        loglet_id: (LOG as u64) << 32,
                        sequencer: self.sequencer,
                        replication: self.replication,
                        nodeset: self.log_servers.clone(),
                    }),
                }],
            }],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(log_servers: u32, replication: u8, clients: &[NodeId]) -> ClusterSpec {
        let mut spec = ClusterSpec {
            log_servers,
            replication,
            ..ClusterSpec::default()
        };
        for c in clients {
            spec.add_client(*c);
        }
        spec
    }

    #[test]
    fn a_cluster_is_checked_once_with_the_key_to_change() {
        let e = spec(0, 1, &[]).validate(1).unwrap_err();
        assert_eq!(e.key(), "cluster.log_servers");
        let e = spec(2, 3, &[]).validate(1).unwrap_err();
        assert_eq!(e.key(), "cluster.replication");
        assert_eq!(
            e.to_string(),
            "3 copies need at least 3 log-servers, the cluster has 2"
        );
        let mut s = spec(3, 2, &[]);
        s.set_sequencer(2);
        assert_eq!(s.validate(1).unwrap_err().key(), "cluster.sequencer");
        let e = spec(3, 2, &[5, 2]).validate(1).unwrap_err();
        assert_eq!(e.key(), "cluster.remote_client");
        let mut s = spec(3, 2, &[5]);
        s.start_at.insert(9, SimTime::ZERO);
        let e = s.validate(1).unwrap_err();
        assert_eq!(e.to_string(), "N9 is not in the cluster (N1..N3, N5)");
    }

    #[test]
    fn the_sequencer_is_the_first_client_unless_named() {
        let c = spec(3, 2, &[5, 6]).validate(7).unwrap();
        assert_eq!((c.sequencer, c.clients.clone()), (5, vec![5, 6]));
        assert_eq!(c.members(), vec![1, 2, 3, 5, 6]);
        let mut s = spec(3, 2, &[5, 6]);
        s.set_sequencer(6);
        assert_eq!(s.validate(7).unwrap().clients, vec![6, 5]);
        assert_eq!(spec(3, 2, &[]).validate(1).unwrap().sequencer, 0);
    }

    #[test]
    fn log_servers_start_at_zero_and_clients_when_told() {
        let mut s = spec(2, 1, &[5]);
        assert_eq!(s.starts(), vec![(1, SimTime::ZERO), (2, SimTime::ZERO)]);
        s.start_clients = true;
        s.client_start = SimTime(7);
        s.start_at.insert(2, SimTime(3));
        assert_eq!(
            s.starts(),
            vec![(1, SimTime::ZERO), (2, SimTime(3)), (5, SimTime(7))]
        );
        // A client added to start by hand waits to be told, even here.
        s.add_client(6);
        s.started_by_hand.insert(6);
        assert_eq!(s.starts().len(), 3);
    }
}
