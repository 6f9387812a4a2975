//! The context every part of the node acts through: which part owns an id ([`Part`]),
//! what the parts share ([`Shared`]), and the context of one call ([`Ctx`]).
//!
//! It sits below the parts and the router: the log-server, the sequencer, the client and
//! the metadata plane take it from here, and [`crate::node`] (which routes the host's
//! events to them) builds it for each call. Keeping it out of the router is what lets the
//! router import the parts without the parts importing the router.
//!
//! Ids: every request id, timer id and write id the node makes carries its owner in the
//! top byte ([`Part`]), so a reply, a timer or a durable write is routed without a table.

use std::collections::BTreeSet;

use crate::bindings::exports::logsandbox::node::node::Roles;
use crate::bindings::logsandbox::node::client::{OpId, OpResult};
use crate::bindings::logsandbox::node::host::Level;
use crate::bindings::logsandbox::node::messages::{Body, Message, MetadataVersion};
use crate::bindings::logsandbox::node::types::{NodeId, SimTime};
use crate::env::Env;
use crate::loglet::LogletOutcome;
use crate::rng::Rng;
use crate::settings::Settings;

/// Which part of the node owns an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Part {
    /// The log-server: its storage writes, and the timers a log-server part of an
    /// author's own may arm.
    LogServer = 1,
    /// The client with its sequencers, readers and tasks: their requests and timers, and
    /// the writes of a sequencer's published sealed tail.
    Client = 2,
    /// The metadata plane: its store requests, peer fetches and timers.
    Metadata = 3,
}

impl Part {
    /// The owner of `id`, from its top byte; the router ([`crate::node`]) routes by it.
    pub(crate) fn of(id: u64) -> Option<Part> {
        match (id >> 56) as u8 {
            1 => Some(Part::LogServer),
            2 => Some(Part::Client),
            3 => Some(Part::Metadata),
            _ => None,
        }
    }
}

/// What every part of the node shares: identity, settings, randomness, id counter, and
/// the metadata versions that go into every outgoing message header.
pub struct Shared {
    /// This node's id.
    pub me: NodeId,
    /// Which roles this node has: log-server, client, provisioner.
    pub roles: Roles,
    /// Every node of the cluster, this one included.
    pub members: Vec<NodeId>,
    /// The tunables: the defaults, overridden by the host's settings.
    pub settings: Settings,
    /// The node's only source of randomness, seeded by the host.
    pub rng: Rng,
    next_id: u64,
    /// The cached metadata versions, carried in the header of every message sent.
    pub versions: Vec<MetadataVersion>,
    /// The peers heard from since this node started (any message).
    pub heard: BTreeSet<NodeId>,
    /// Loglet-level operations ended during the current event, for the log level to answer
    /// or go on with (see [`Ctx::finish`]).
    pub finished: Vec<(OpId, LogletOutcome)>,
    /// Chain changes the chain writer answered during the current event, for the log level
    /// to complete (an operation of the host's) or take note of (one of its own).
    pub chain_answers: Vec<(OpId, OpResult)>,
}

impl Shared {
    /// The shared state of a node that starts: no id made yet, no version cached, no
    /// peer heard from.
    pub(crate) fn new(
        me: NodeId,
        roles: Roles,
        members: Vec<NodeId>,
        settings: Settings,
        rng: Rng,
    ) -> Shared {
        Shared {
            me,
            roles,
            members,
            settings,
            rng,
            next_id: 0,
            versions: Vec::new(),
            heard: BTreeSet::new(),
            finished: Vec::new(),
            chain_answers: Vec::new(),
        }
    }

    /// The peer was heard from since this node started: a coarse failure detector. A
    /// remote task asks the sequencer only if it was; one that stops answering is given
    /// `store_timeout` before the task turns to the log-servers.
    pub fn heard_from(&self, peer: NodeId) -> bool {
        peer == self.me || self.heard.contains(&peer)
    }
}

/// The context of one call: the instant, the world, and the shared state.
pub struct Ctx<'a> {
    /// The virtual instant of the call: the node's only clock.
    pub now: SimTime,
    /// The host, through which every effect and storage read goes.
    pub env: &'a mut dyn Env,
    /// What every part of the node shares.
    pub shared: &'a mut Shared,
}

impl Ctx<'_> {
    /// A fresh id owned by `part`.
    pub fn id(&mut self, part: Part) -> u64 {
        self.shared.next_id += 1;
        ((part as u64) << 56) | self.shared.next_id
    }

    /// Sends `body` to `to`, with this node's metadata versions in the header.
    pub fn send(&mut self, to: NodeId, body: Body) {
        let msg = Message {
            versions: self.shared.versions.clone(),
            body,
        };
        self.env.send(to, msg);
    }

    /// Arms a timer owned by `part` that fires `delay` from now; returns its id.
    pub fn timer(&mut self, part: Part, delay: u64) -> u64 {
        let id = self.id(part);
        self.env.set_timer(id, self.now + delay);
        id
    }

    /// Ends the loglet-level part of client operation `op`: the log level takes it from
    /// there, once the part that ended it returns (the router hands it over after every
    /// event).
    pub fn finish(&mut self, op: OpId, outcome: LogletOutcome) {
        self.shared.finished.push((op, outcome));
    }

    /// Writes a diagnostic line to the trace.
    pub fn log(&mut self, level: Level, message: &str) {
        self.env.log(level, message);
    }
}
