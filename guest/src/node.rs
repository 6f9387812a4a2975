//! The node: takes the host's events, routes each to the part that owns it, and gives
//! every part a [`Ctx`] through which it acts.
//!
//! Ids: every request id, timer id and write id the node makes carries its owner in the
//! top byte ([`Part`]), so a reply, a timer or a durable write is routed without a table.
//!
//! The router sits on top of the parts: the context they act through ([`Ctx`], [`Part`],
//! [`Shared`]) lives a floor below, in [`crate::ctx`], and is re-exported here, where
//! authors of a log-server part of their own have always found it.

use crate::bindings::exports::logsandbox::node::node::{Config, Event, Roles};
use crate::bindings::logsandbox::node::host::Level;
use crate::bindings::logsandbox::node::log_server_protocol::Request;
use crate::bindings::logsandbox::node::messages::{Body, SequencerAnswer};
use crate::bindings::logsandbox::node::types::{NodeId, RequestId, SimTime};
use crate::client::Client;
use crate::env::Env;
use crate::log_server::LogServer;
use crate::metadata::cache::MetadataCache;
use crate::rng::Rng;
use crate::sequencer::answer_state;
use crate::settings::Settings;

pub use crate::ctx::{Ctx, Part, Shared};

/// The log-server part of a node, as the node drives it. The built-in one is
/// [`LogServer`]; an author who writes their own implements this trait and keeps the
/// built-in sequencer, client and metadata cache (see [`crate::export_node!`]).
///
/// The node calls it only on a node whose roles hold `log-server`. It answers through
/// `ctx` (`ctx.send(peer, Body::LogServerReply(..))`), and makes its storage writes with
/// ids from `ctx.id(Part::LogServer)`, so that their `write-durable` events come back to
/// [`LogServerPart::on_durable`]. The rules it must keep are in `wit/node.wit`.
pub trait LogServerPart {
    /// Rebuilds the part's state from storage when the node starts or restarts.
    fn recover(&mut self, ctx: &mut Ctx) -> Result<(), String>;
    /// A request of the log-server protocol from `from`, to be answered under `id`.
    fn on_request(&mut self, ctx: &mut Ctx, from: NodeId, id: RequestId, request: Request);
    /// A write this part made (an id of [`Part::LogServer`]) is durable.
    fn on_durable(&mut self, ctx: &mut Ctx, write: u64);
    /// A timer this part armed (`ctx.timer(Part::LogServer, ..)`) fired. The built-in
    /// log-server arms none.
    fn on_timer(&mut self, _ctx: &mut Ctx, _timer: u64) {}
}

impl LogServerPart for LogServer {
    fn recover(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        LogServer::recover(self, ctx)
    }
    fn on_request(&mut self, ctx: &mut Ctx, from: NodeId, id: RequestId, request: Request) {
        LogServer::on_request(self, ctx, from, id, request)
    }
    fn on_durable(&mut self, ctx: &mut Ctx, write: u64) {
        LogServer::on_durable(self, ctx, write)
    }
}

/// One node: whichever of log-server, client (sequencers) and metadata cache its roles
/// ask for. The log-server part is `L`: the built-in [`LogServer`] unless replaced.
pub struct Node<L: LogServerPart = LogServer> {
    shared: Shared,
    parts: Parts<L>,
    /// The hostile test guest's misbehaviour (see `test_guests/hostile.rs`).
    #[cfg(feature = "hostile")]
    hostile: Option<crate::test_guests::hostile::Hostile>,
}

/// The parts of a node, apart from what they share.
struct Parts<L> {
    log_server: L,
    client: Client,
    metadata: MetadataCache,
}

impl Node {
    /// Starts (or restarts) a node with the built-in log-server: recovers it from
    /// storage, greets peers, and provisions the initial metadata when asked to.
    pub fn init(now: SimTime, config: Config, env: &mut dyn Env) -> Result<Node, String> {
        Node::with_log_server(LogServer::default(), now, config, env)
    }
}

impl<L: LogServerPart> Node<L> {
    /// Starts (or restarts) a node whose log-server part is `log_server`; the rest is
    /// the built-in sequencer, client and metadata cache.
    pub fn with_log_server(
        log_server: L,
        now: SimTime,
        config: Config,
        env: &mut dyn Env,
    ) -> Result<Node<L>, String> {
        if !config.members.contains(&config.id) {
            return Err(format!(
                "node {} is not among the members {:?}",
                config.id, config.members
            ));
        }
        let mut settings = Settings::default();
        let problems = settings.apply(&config.settings);
        #[cfg(feature = "hostile")]
        let hostile = crate::test_guests::hostile::Hostile::from_config(&config);
        let mut node = Node {
            shared: Shared::new(
                config.id,
                config.roles,
                config.members,
                settings,
                Rng::new(config.seed),
            ),
            parts: Parts {
                log_server,
                client: Client::default(),
                metadata: MetadataCache::default(),
            },
            #[cfg(feature = "hostile")]
            hostile,
        };
        let mut ctx = Ctx {
            now,
            env,
            shared: &mut node.shared,
        };
        for p in problems {
            ctx.log(Level::Warn, &p);
        }
        ctx.shared.versions = node.parts.metadata.versions();
        if ctx.shared.roles.contains(Roles::LOG_SERVER) {
            node.parts.log_server.recover(&mut ctx)?;
        }
        node.parts.metadata.start(&mut ctx);
        let peers: Vec<NodeId> = ctx
            .shared
            .members
            .iter()
            .copied()
            .filter(|&m| m != ctx.shared.me)
            .collect();
        for peer in peers {
            ctx.send(peer, Body::Hello);
        }
        Ok(node)
    }

    /// Handles events that happen at `now`, in order.
    pub fn handle(&mut self, now: SimTime, events: Vec<Event>, env: &mut dyn Env) {
        #[cfg(feature = "hostile")]
        if let Some(hostile) = &mut self.hostile
            && hostile.attack(now, self.shared.me, &events, env)
        {
            return;
        }
        let parts = &mut self.parts;
        for event in events {
            let mut ctx = Ctx {
                now,
                env: &mut *env,
                shared: &mut self.shared,
            };
            match event {
                Event::Message((from, msg)) => {
                    ctx.shared.heard.insert(from);
                    let newer = parts
                        .metadata
                        .observe_versions(&mut ctx, from, &msg.versions);
                    parts.on_message(&mut ctx, from, msg.body);
                    if newer {
                        // Restate resets the update task's interval: it fetches at once.
                        parts.metadata.tick_now(&mut ctx);
                    }
                }
                Event::MetadataResponse((id, response)) => {
                    parts.metadata.on_store_response(&mut ctx, id, response);
                }
                Event::Timer(id) => match Part::of(id) {
                    Some(Part::Metadata) => parts.metadata.on_timer(&mut ctx, id),
                    Some(Part::Client) => parts.client.on_timer(&mut ctx, &mut parts.metadata, id),
                    Some(Part::LogServer) => parts.log_server.on_timer(&mut ctx, id),
                    None => ctx.log(Level::Warn, &format!("timer {id} has no owner")),
                },
                Event::WriteDurable(id) => match Part::of(id) {
                    Some(Part::Client) => parts.client.on_durable(&mut ctx, id),
                    _ => parts.log_server.on_durable(&mut ctx, id),
                },
                Event::ClientRequest((op, request)) => {
                    if ctx.shared.roles.contains(Roles::CLIENT) {
                        parts
                            .client
                            .on_request(&mut ctx, &mut parts.metadata, op, request);
                    } else {
                        parts
                            .client
                            .refuse(&mut ctx, op, "this node has no client role");
                    }
                }
            }
            // What the loglets ended during the event, the log level answers or carries on.
            let mut ctx = Ctx {
                now,
                env: &mut *env,
                shared: &mut self.shared,
            };
            parts.client.settle(&mut ctx, &mut parts.metadata);
        }
    }
}

impl<L: LogServerPart> Parts<L> {
    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, body: Body) {
        match body {
            Body::Hello => ctx.send(from, Body::HelloAck),
            Body::HelloAck => {}
            Body::LogServerRequest((id, request)) => {
                if ctx.shared.roles.contains(Roles::LOG_SERVER) {
                    self.log_server.on_request(ctx, from, id, request);
                } else {
                    ctx.log(
                        Level::Warn,
                        &format!("N{from} sent a log-server request to a node without that role"),
                    );
                }
            }
            Body::LogServerReply((id, reply)) => self.client.on_reply(ctx, from, id, reply),
            Body::GetMetadata((id, kind, min_version)) => {
                self.metadata
                    .on_get_metadata(ctx, from, id, kind, min_version)
            }
            Body::MetadataUpdate((id, value)) => self.metadata.on_peer_update(ctx, from, id, value),
            Body::GetSequencerState((id, loglet, check_seal)) => {
                if ctx.shared.roles.contains(Roles::CLIENT) {
                    self.client
                        .on_state_request(ctx, &self.metadata, from, id, loglet, check_seal);
                } else {
                    answer_state(ctx, from, id, SequencerAnswer::Unknown);
                }
            }
            Body::SequencerState((id, state)) => self.client.on_sequencer_state(ctx, id, state),
        }
    }
}
