//! Carrying out what a node asked for during its last call, validating each effect.
//! An effect the host refuses (a message to a node that is not a peer, the completion
//! of an operation the node does not hold) crashes the node, and blames it.

use super::World;
use super::node::{CachedLogs, Source};
use super::queue::{Origin, Pending};
use crate::bindings::{Body, Event, Level, MetadataValue, UpdateSource};
use crate::metadata_store::{StoreRequest, version_of};
use crate::net::Decision;
use crate::net::envelope::{Endpoint, Envelope};
use crate::op::{NodeId, race_point_name};
use crate::record::journal::{Lane, What};
use crate::record::offers::MetadataOffer;
use crate::record::trace::{describe_event, describe_value};
use crate::runtime::Effect;
use crate::time::SimTime;
use crate::workload::LOG;

impl World {
    pub(crate) fn apply_effects(&mut self, id: NodeId) {
        let node = self
            .nodes
            .get_mut(&id)
            .expect("effects come from known nodes");
        let incarnation = node.incarnation;
        let Some(instance) = node.instance.as_mut() else {
            return;
        };
        let effects = instance.take_effects();
        let now = self.now;
        for effect in effects {
            match effect {
                Effect::Send { to, msg } => {
                    if to == id || !self.nodes.contains_key(&to) {
                        return self.crash(
                            id,
                            format!("sent a message to N{to}, which is not a peer"),
                            false,
                        );
                    }
                    self.messages += 1;
                    let node = self.nodes.get_mut(&id).expect("checked above");
                    node.sent += 1;
                    if let Body::LogServerReply((req, reply)) = &msg.body {
                        node.note_reply(to, *req, reply, now);
                    }
                    let envelope = Envelope::Message {
                        from: id,
                        to,
                        message: &msg,
                    };
                    let flight = self.journal.as_mut().and_then(|j| {
                        j.send(now.0, Lane::Node(id), Lane::Node(to), What::Message(&msg))
                    });
                    match self.net.judge(now, &envelope) {
                        Decision::Deliver(at) => self.push(
                            at,
                            Pending::Node {
                                node: to,
                                incarnation: None,
                                event: Event::Message((id, msg)),
                                flight,
                            },
                        ),
                        Decision::Drop => {
                            if let Some(j) = &mut self.journal {
                                j.lose(now.0, flight, "lost in the network");
                            }
                            let text = describe_event(&Event::Message((id, msg)));
                            self.trace
                                .note(now.0, to, || format!("lost in the network: {text}"));
                        }
                        Decision::Hold => {
                            let event = Event::Message((id, msg));
                            let text = describe_event(&event);
                            self.trace.note(now.0, to, || format!("held: {text}"));
                            if let Some(j) = &mut self.journal {
                                j.hold(now.0, flight);
                            }
                            let pending = Pending::Node {
                                node: to,
                                incarnation: None,
                                event,
                                flight,
                            };
                            self.hold_envelope(Endpoint::Node(id), Endpoint::Node(to), pending);
                        }
                    }
                }
                Effect::MetadataGet { id: req, key } => {
                    self.send_to_store(id, incarnation, req, StoreRequest::Get { key })
                }
                Effect::MetadataPut {
                    id: req,
                    key,
                    value,
                    precondition,
                } => self.send_to_store(
                    id,
                    incarnation,
                    req,
                    StoreRequest::Put {
                        key,
                        value,
                        precondition,
                    },
                ),
                Effect::Timer { id: timer, at } => self.push(
                    SimTime(at),
                    Pending::Node {
                        node: id,
                        incarnation: Some(incarnation),
                        event: Event::Timer(timer),
                        flight: None,
                    },
                ),
                Effect::Complete { op, outcome } => {
                    self.complete(id, op, outcome);
                    // A refused completion crashes the node, and the workload it wakes may
                    // crash (and restart) it: the rest of the call dies with that life.
                    let node = &self.nodes[&id];
                    if node.status != super::NodeStatus::Running || node.incarnation != incarnation
                    {
                        return;
                    }
                }
                Effect::Offered {
                    value,
                    source,
                    peer,
                    accepted,
                    ..
                } => self.offered(id, value, source, peer, accepted),
                Effect::Log { level, message } => {
                    let tag = match level {
                        Level::Debug => "debug",
                        Level::Info => "info",
                        Level::Warn => "warn",
                    };
                    self.trace.log(now.0, id, || format!("{tag}: {message}"));
                }
                Effect::Reached { point, detail } => {
                    *self.race_points.entry(race_point_name(point)).or_insert(0) += 1;
                    // Part of the run's story: a fault may hang on it.
                    self.trace.note(now.0, id, || {
                        format!("reached {}: {detail}", race_point_name(point))
                    });
                    let (fire, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.on_point)
                        .into_iter()
                        .partition(|(p, node, _)| *p == point && node.is_none_or(|n| n == id));
                    self.on_point = keep;
                    for (_, _, planned) in fire {
                        let (at, fault) = planned.from_base(now);
                        let origin = Origin::Scenario;
                        self.push(at, Pending::Fault { fault, origin });
                    }
                }
                Effect::Write { id: write } => {
                    self.writes += 1;
                    let node = self.nodes.get_mut(&id).expect("checked above");
                    if node.writer.busy {
                        node.writer.queued.push(write);
                    } else {
                        self.start_commit(id, incarnation, vec![write]);
                    }
                }
            }
        }
    }

    /// A metadata value was offered to a node's cache: record it, and what it holds now.
    fn offered(
        &mut self,
        id: NodeId,
        value: MetadataValue,
        source: UpdateSource,
        peer: Option<NodeId>,
        accepted: bool,
    ) {
        let now = self.now;
        let update = MetadataOffer {
            node: id,
            at_ns: now.0,
            version: version_of(&value),
            source: match source {
                UpdateSource::StoreFetch => "metadata store".into(),
                UpdateSource::Peer => format!("peer N{}", peer.unwrap_or(0)),
                UpdateSource::OwnWrite => "own write".into(),
            },
            value: describe_value(&value),
            has_log0: matches!(&value, MetadataValue::Logs(l) if l.chains.iter().any(|c| c.log_id == LOG)),
            accepted,
        };
        self.trace.note(now.0, id, || {
            let verb = if update.accepted {
                "caches"
            } else {
                "drops (not newer)"
            };
            format!(
                "{verb} Logs v{} from {}: {}",
                update.version, update.source, update.value
            )
        });
        if let Some(journal) = &mut self.journal {
            let verb = if accepted {
                "caches"
            } else {
                "drops (not newer)"
            };
            let label = format!(
                "{verb} Logs v{} from {}: {}",
                update.version, update.source, update.value
            );
            let from = match source {
                UpdateSource::StoreFetch => Some(Lane::Store),
                UpdateSource::Peer => peer.map(Lane::Node),
                UpdateSource::OwnWrite => None,
            };
            journal.offer(now.0, Lane::Node(id), accepted, label, from, update.version);
        }
        self.metadata_offers.push(update);
        if accepted {
            let node = self
                .nodes
                .get_mut(&id)
                .expect("offers come from known nodes");
            node.cached_logs = Some(CachedLogs {
                version: version_of(&value),
                source: match source {
                    UpdateSource::StoreFetch => Source::Store,
                    UpdateSource::Peer => Source::Peer(peer.unwrap_or(0)),
                    UpdateSource::OwnWrite => Source::OwnWrite,
                },
                at: now,
                value,
            });
        }
    }
}
