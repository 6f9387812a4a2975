//! A loglet's trim point as Restate's `GetTrimPointTask` finds it: GetLogletInfo to every
//! node of the nodeset, each asked up to three times; once an f-majority answered (or every
//! node answered or failed), the highest trim point any of them reported. It is no quorum
//! read: a node that missed a trim, or clipped it to a lower local tail, may answer lower,
//! and a later query may find a lower point than an earlier one.
//!
//! Sans-IO: the caller sends the requests it returns and hands back the answers and the
//! timer (one `rpc` period per round of asking).

use std::collections::{BTreeMap, BTreeSet};

use crate::bindings::logsandbox::node::log_server_protocol::{LogletInfo, Request, RequestHeader};
use crate::bindings::logsandbox::node::metadata::ReplicatedParams;
use crate::bindings::logsandbox::node::types::{LogletOffset, NodeId, Status};

/// Times a node is asked before it counts as failed (Restate's `RunOnSingleNode` with
/// three attempts).
const ATTEMPTS: u8 = 3;

/// What the query found: None when no node answered (Restate then reads on, or gives up
/// on the chain trim), else the highest trim point heard (0: never trimmed).
pub(super) type Found = Option<LogletOffset>;

/// One query of a loglet's trim point.
pub(super) struct TrimPointQuery {
    nodeset: Vec<NodeId>,
    f_majority: usize,
    header: RequestHeader,
    asked: BTreeMap<NodeId, u8>,
    points: BTreeMap<NodeId, LogletOffset>,
    failed: BTreeSet<NodeId>,
}

impl TrimPointQuery {
    /// Starts the query: the requests to send, one per node of the nodeset.
    pub(super) fn start(
        params: &ReplicatedParams,
        known_tail: LogletOffset,
    ) -> (TrimPointQuery, Vec<(NodeId, Request)>) {
        let nodeset = params.nodeset.clone();
        let f_majority = nodeset
            .len()
            .saturating_sub(params.replication as usize)
            .saturating_add(1);
        let mut query = TrimPointQuery {
            header: RequestHeader {
                loglet_id: params.loglet_id,
                known_global_tail: known_tail,
            },
            nodeset: nodeset.clone(),
            f_majority,
            asked: BTreeMap::new(),
            points: BTreeMap::new(),
            failed: BTreeSet::new(),
        };
        let asks = nodeset.into_iter().map(|n| query.ask(n)).collect();
        (query, asks)
    }

    fn ask(&mut self, node: NodeId) -> (NodeId, Request) {
        *self.asked.entry(node).or_insert(0) += 1;
        (node, Request::GetLogletInfo(self.header))
    }

    /// A node's answer; Some once the query is decided.
    pub(super) fn on_info(&mut self, node: NodeId, info: LogletInfo) -> Option<Found> {
        if info.header.status == Status::Ok {
            self.points.insert(node, info.trim_point);
        } else {
            self.failed.insert(node);
        }
        self.decided()
    }

    /// The round's timer: the silent nodes asked again (those asked enough have failed),
    /// or the query decided.
    pub(super) fn on_timer(&mut self) -> (Vec<(NodeId, Request)>, Option<Found>) {
        let silent: Vec<NodeId> = self
            .nodeset
            .iter()
            .copied()
            .filter(|n| !self.points.contains_key(n) && !self.failed.contains(n))
            .collect();
        let mut asks = Vec::new();
        for node in silent {
            if self.asked.get(&node).copied().unwrap_or(0) >= ATTEMPTS {
                self.failed.insert(node);
            } else {
                asks.push(self.ask(node));
            }
        }
        match self.decided() {
            Some(found) => (Vec::new(), Some(found)),
            None => (asks, None),
        }
    }

    fn decided(&self) -> Option<Found> {
        let heard_all = self.points.len() + self.failed.len() >= self.nodeset.len();
        if self.points.len() < self.f_majority && !heard_all {
            return None;
        }
        Some(self.points.values().max().copied())
    }

    /// How many nodes told their trim point.
    pub(super) fn heard(&self) -> usize {
        self.points.len()
    }
}
