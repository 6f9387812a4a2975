//! The network between nodes: one-way latency per message, FIFO per directed link (as
//! a TCP stream: a message never overtakes an earlier one on the same link), or, with
//! `latency.reorder`, each message on its own (as RPCs over several connections: a reply
//! may overtake an earlier one).
//!
//! GetMetadata and its answer pay `latency.peer_metadata`; everything else pays
//! `latency.network`.

use std::collections::BTreeMap;

use crate::bindings::{Body, Message};
use crate::latency::Latency;
use crate::seeds::SimRng;
use crate::time::SimTime;

pub struct Network {
    network: Latency,
    peer_metadata: Latency,
    rng: SimRng,
    /// Per (from, to): when the last message on that link is delivered.
    links: BTreeMap<(u32, u32), SimTime>,
    /// Per (from, to): messages sent before this instant are lost (a one-way partition).
    drops: BTreeMap<(u32, u32), SimTime>,
    /// Messages may overtake each other on a link.
    reorder: bool,
}

impl Network {
    pub fn new(network: Latency, peer_metadata: Latency, reorder: bool, rng: SimRng) -> Self {
        Network {
            network,
            peer_metadata,
            rng,
            links: BTreeMap::new(),
            drops: BTreeMap::new(),
            reorder,
        }
    }

    /// Loses every message from `from` to `to` sent before `until`.
    pub fn drop_until(&mut self, from: u32, to: u32, until: SimTime) {
        let entry = self.drops.entry((from, to)).or_default();
        *entry = (*entry).max(until);
    }

    /// When a message sent now from `from` to `to` arrives; None when it is lost.
    ///
    /// This is the network's one fault seam: every message passes here.
    pub fn delivery_time(
        &mut self,
        now: SimTime,
        from: u32,
        to: u32,
        msg: &Message,
    ) -> Option<SimTime> {
        if self
            .drops
            .get(&(from, to))
            .is_some_and(|until| now < *until)
        {
            return None;
        }
        let latency = match msg.body {
            Body::GetMetadata(_) | Body::MetadataUpdate(_) => &self.peer_metadata,
            _ => &self.network,
        };
        let at = now.plus(latency.sample(&mut self.rng));
        if self.reorder {
            return Some(at);
        }
        let link = self.links.entry((from, to)).or_default();
        let at = at.max(*link);
        *link = at;
        Some(at)
    }

    /// A crashed node's connections are gone: later messages do not queue behind old ones.
    pub fn reset_node(&mut self, node: u32) {
        self.links
            .retain(|(from, to), _| *from != node && *to != node);
    }
}
