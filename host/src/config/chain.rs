//! The chain of log 0 that a run installs, when a scenario gives one
//! (`[[metadata.segments]]`): each segment's base LSN, its index, and its loglet; checked
//! once by Restate's chain rules, with the key to change named in every error.

use super::cluster::{Cluster, ClusterError, LOG};
use crate::bindings::{Chain, ProviderKind, ReplicatedParams, Segment};
use crate::op::{Lsn, NodeId, SegmentIndex};

/// What a segment holds: a replicated loglet, or the chain's seal marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentKind {
    /// A replicated loglet (`kind = "replicated"`, the default).
    Replicated,
    /// The seal marker (`kind = "sealed"`): the chain is sealed at its base.
    Sealed,
}

/// One segment as a scenario writes it; what it leaves out comes from the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSpec {
    /// Its first LSN (`base_lsn`, at least 1).
    pub base_lsn: Lsn,
    /// Its index (`index`); default: one above the segment before (0 for the first), the
    /// same as it for a seal marker.
    pub index: Option<SegmentIndex>,
    /// Replicated or the seal marker (`kind`).
    pub kind: SegmentKind,
    /// Its sequencer (`sequencer`); default the cluster's.
    pub sequencer: Option<NodeId>,
    /// Its nodeset (`nodeset`); default every log-server.
    pub nodeset: Option<Vec<NodeId>>,
    /// Its write quorum (`replication`); default the cluster's.
    pub replication: Option<u8>,
}

impl SegmentSpec {
    /// A replicated segment at `base_lsn`, the rest from the cluster.
    pub fn replicated(base_lsn: Lsn) -> SegmentSpec {
        SegmentSpec {
            base_lsn,
            index: None,
            kind: SegmentKind::Replicated,
            sequencer: None,
            nodeset: None,
            replication: None,
        }
    }
}

/// Builds log 0's chain from `specs` over `cluster`, checking it is well formed: bases
/// from 1 and increasing, indexes increasing (a seal marker may repeat the one before),
/// the marker only last and with no loglet, nodesets of log-servers, quorums they can
/// hold, sequencers among the client nodes.
pub fn build(specs: &[SegmentSpec], cluster: &Cluster) -> Result<Chain, ClusterError> {
    let bad = |i: usize, field: &'static str, reason: String| ClusterError::Segment {
        index: i,
        field,
        reason,
    };
    let mut segments: Vec<Segment> = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let previous = segments.last();
        if previous.is_some_and(|p| p.provider == ProviderKind::Sealed) {
            return Err(bad(
                i,
                "kind",
                "a segment after the seal marker: the marker is the chain's last".into(),
            ));
        }
        if spec.base_lsn == 0 {
            return Err(bad(i, "base_lsn", "LSNs start at 1".into()));
        }
        if let Some(p) = previous.filter(|p| spec.base_lsn <= p.base_lsn) {
            return Err(bad(
                i,
                "base_lsn",
                format!(
                    "{} is not above the base {} of the segment before: bases increase",
                    spec.base_lsn, p.base_lsn
                ),
            ));
        }
        let marker = spec.kind == SegmentKind::Sealed;
        let index = match (spec.index, previous) {
            (Some(index), _) => index,
            (None, None) => 0,
            (None, Some(p)) if marker => p.index,
            (None, Some(p)) => p.index.checked_add(1).ok_or_else(|| {
                bad(
                    i,
                    "index",
                    "the index after 4294967295 does not exist".into(),
                )
            })?,
        };
        if let Some(p) = previous
            && !(index > p.index || (marker && index == p.index))
        {
            return Err(bad(
                i,
                "index",
                format!(
                    "{index} is not above the index {} of the segment before (a seal marker may repeat it)",
                    p.index
                ),
            ));
        }
        let params = if marker {
            for (field, given) in [
                ("sequencer", spec.sequencer.is_some()),
                ("nodeset", spec.nodeset.is_some()),
                ("replication", spec.replication.is_some()),
            ] {
                if given {
                    return Err(bad(i, field, "a seal marker has no loglet".into()));
                }
            }
            None
        } else {
            Some(params(i, spec, index, cluster)?)
        };
        segments.push(Segment {
            base_lsn: spec.base_lsn,
            index,
            provider: if marker {
                ProviderKind::Sealed
            } else {
                ProviderKind::Replicated
            },
            params,
        });
    }
    if segments.is_empty() {
        return Err(bad(
            0,
            "base_lsn",
            "a chain has at least one segment".into(),
        ));
    }
    Ok(Chain {
        log_id: LOG,
        segments,
    })
}

fn params(
    i: usize,
    spec: &SegmentSpec,
    index: SegmentIndex,
    cluster: &Cluster,
) -> Result<ReplicatedParams, ClusterError> {
    let bad = |field: &'static str, reason: String| ClusterError::Segment {
        index: i,
        field,
        reason,
    };
    let nodeset = spec
        .nodeset
        .clone()
        .unwrap_or_else(|| cluster.log_servers.clone());
    if let Some(n) = nodeset.iter().find(|n| !cluster.log_servers.contains(n)) {
        return Err(bad(
            "nodeset",
            format!(
                "N{n} is not a log-server (N1..N{})",
                cluster.log_servers.len()
            ),
        ));
    }
    let mut distinct = nodeset.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != nodeset.len() || nodeset.is_empty() {
        return Err(bad(
            "nodeset",
            "a nodeset names each log-server once, and at least one".into(),
        ));
    }
    let replication = spec.replication.unwrap_or(cluster.replication);
    if replication == 0 || usize::from(replication) > nodeset.len() {
        return Err(bad(
            "replication",
            format!(
                "{replication} copies on a nodeset of {}: from 1 to its size",
                nodeset.len()
            ),
        ));
    }
    let sequencer = spec.sequencer.unwrap_or(cluster.sequencer);
    if !cluster.clients.contains(&sequencer) {
        return Err(bad(
            "sequencer",
            format!("N{sequencer} is not a client node of the cluster"),
        ));
    }
    Ok(ReplicatedParams {
        loglet_id: (u64::from(LOG) << 32) | u64::from(index),
        sequencer,
        replication,
        nodeset,
    })
}
