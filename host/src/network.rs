//! The network between nodes: one-way latency per message, FIFO per directed link (as
//! a TCP stream: a message never overtakes an earlier one on the same link).
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
}

impl Network {
    pub fn new(network: Latency, peer_metadata: Latency, rng: SimRng) -> Self {
        Network {
            network,
            peer_metadata,
            rng,
            links: BTreeMap::new(),
        }
    }

    /// When a message sent now from `from` to `to` arrives.
    pub fn delivery_time(&mut self, now: SimTime, from: u32, to: u32, msg: &Message) -> SimTime {
        let latency = match msg.body {
            Body::GetMetadata(_) | Body::MetadataUpdate(_) => &self.peer_metadata,
            _ => &self.network,
        };
        let at = now.plus(latency.sample(&mut self.rng));
        let link = self.links.entry((from, to)).or_default();
        let at = at.max(*link);
        *link = at;
        at
    }

    /// A crashed node's connections are gone: later messages do not queue behind old ones.
    pub fn reset_node(&mut self, node: u32) {
        self.links
            .retain(|(from, to), _| *from != node && *to != node);
    }
}
