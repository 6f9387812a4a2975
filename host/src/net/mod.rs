//! Everything between the nodes, the metadata store and the disks.
//!
//! - [`envelope`]: what crosses (a message, a store request or response, a commit).
//! - [`rules`]: the one fault seam, where every envelope is judged.
//! - `Network` (here, crate-private): the rules, the generators they draw from, and the order of
//!   messages on a link: FIFO per direction (as a TCP stream: a message never overtakes an
//!   earlier one on the same link) or, with `reorder`, each message on its own (as RPCs
//!   over several connections).

pub mod envelope;
pub mod rules;

use std::collections::BTreeMap;

use crate::op::NodeId;
use crate::seeds::{self, SimRng};
use crate::time::SimTime;
use envelope::Envelope;
use rules::{Rules, Verdict};

/// What becomes of an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// It arrives at this instant.
    Deliver(SimTime),
    /// It is lost.
    Drop,
    /// It waits until its link is released.
    Hold,
}

/// Messages on one link, as counted by the network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Messages sent on the link.
    pub sent: u64,
    /// Messages lost on it.
    pub dropped: u64,
    /// Messages held on it (released ones included).
    pub held: u64,
}

/// The rules, their generators, and the FIFO order of links.
pub(crate) struct Network {
    /// The fault seam.
    pub rules: Rules,
    reorder: bool,
    /// Per (from, to): when the last message on that link is delivered.
    links: BTreeMap<(NodeId, NodeId), SimTime>,
    stats: BTreeMap<(NodeId, NodeId), LinkStats>,
    network_rng: SimRng,
    store_rng: SimRng,
    storage_rng: SimRng,
}

impl Network {
    /// A network with no rules: everything arrives at once until latencies are set.
    pub fn new(seed: u64, reorder: bool) -> Network {
        Network {
            rules: Rules::default(),
            reorder,
            links: BTreeMap::new(),
            stats: BTreeMap::new(),
            network_rng: seeds::rng(seed, "network"),
            store_rng: seeds::rng(seed, "metadata-store"),
            storage_rng: seeds::rng(seed, "storage"),
        }
    }

    /// Judges an envelope sent now, and counts a message in its link's stats.
    pub fn judge(&mut self, now: SimTime, envelope: &Envelope<'_>) -> Decision {
        let decision = self.decide(now, envelope, now);
        if let Envelope::Message { from, to, .. } = *envelope {
            let stats = self.stats.entry((from, to)).or_default();
            stats.sent += 1;
            match decision {
                Decision::Drop => stats.dropped += 1,
                Decision::Hold => stats.held += 1,
                Decision::Deliver(_) => {}
            }
        }
        decision
    }

    /// Judges again an envelope a link held: it arrives no earlier than `not_before`, so
    /// what a link releases keeps its order. It was counted as sent and held already;
    /// only its loss is news.
    pub fn rejudge(
        &mut self,
        now: SimTime,
        envelope: &Envelope<'_>,
        not_before: SimTime,
    ) -> Decision {
        let decision = self.decide(now, envelope, not_before);
        if let (&Envelope::Message { from, to, .. }, Decision::Drop) = (envelope, decision) {
            self.stats.entry((from, to)).or_default().dropped += 1;
        }
        decision
    }

    fn decide(&mut self, now: SimTime, envelope: &Envelope<'_>, not_before: SimTime) -> Decision {
        let rng = match envelope {
            Envelope::Message { .. } => &mut self.network_rng,
            Envelope::StoreRequest { .. } | Envelope::StoreResponse { .. } => &mut self.store_rng,
            Envelope::Commit { .. } => &mut self.storage_rng,
        };
        let at = match self.rules.judge(envelope, now, rng) {
            Verdict::Pass => now,
            Verdict::Delay(d) => now.plus(d),
            Verdict::Drop if !matches!(envelope, Envelope::Commit { .. }) => {
                return Decision::Drop;
            }
            Verdict::Drop | Verdict::Hold => return Decision::Hold,
        }
        .max(not_before);
        match *envelope {
            Envelope::Message { from, to, .. } if !self.reorder => {
                let link = self.links.entry((from, to)).or_default();
                *link = at.max(*link);
                Decision::Deliver(*link)
            }
            _ => Decision::Deliver(at),
        }
    }

    /// A crashed node's connections are gone: later messages do not queue behind old ones.
    pub fn reset_node(&mut self, node: NodeId) {
        self.links
            .retain(|(from, to), _| *from != node && *to != node);
    }

    /// What went over the link `from -> to` so far.
    pub fn stats(&self, from: NodeId, to: NodeId) -> LinkStats {
        self.stats.get(&(from, to)).copied().unwrap_or_default()
    }
}
