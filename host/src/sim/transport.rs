//! The metadata store's requests and answers, and the envelopes a held link keeps until it
//! is released. Each crosses the fault seam.

use super::World;
use super::queue::Pending;
use crate::bindings::{Event, StoreResponse};
use crate::metadata_store::StoreRequest;
use crate::net::Decision;
use crate::net::envelope::{Endpoint, Envelope};
use crate::op::NodeId;
use crate::record::journal::{Lane, What};

impl World {
    /// Sends a node's request to the metadata store, through the seam.
    pub(crate) fn send_to_store(
        &mut self,
        node: NodeId,
        incarnation: u32,
        id: u64,
        request: StoreRequest,
    ) {
        let envelope = Envelope::StoreRequest {
            node,
            request: &request,
        };
        let decision = self.net.judge(self.now, &envelope);
        let now = self.now.0;
        let flight = self.journal.as_mut().and_then(|j| {
            j.send(
                now,
                Lane::Node(node),
                Lane::Store,
                What::StoreRequest(id, &request),
            )
        });
        let pending = Pending::StoreArrives {
            from: Some((node, incarnation)),
            id,
            request,
            flight,
        };
        self.route(
            decision,
            Endpoint::Node(node),
            Endpoint::Store,
            pending,
            node,
        );
    }

    pub(crate) fn answer_from_store(
        &mut self,
        node: NodeId,
        incarnation: u32,
        id: u64,
        response: StoreResponse,
    ) {
        let envelope = Envelope::StoreResponse {
            node,
            response: &response,
        };
        let decision = self.net.judge(self.now, &envelope);
        let now = self.now.0;
        let flight = self.journal.as_mut().and_then(|j| {
            j.send(
                now,
                Lane::Store,
                Lane::Node(node),
                What::StoreAnswer(id, &response),
            )
        });
        let pending = Pending::Node {
            node,
            incarnation: Some(incarnation),
            event: Event::MetadataResponse((id, response)),
            flight,
        };
        self.route(
            decision,
            Endpoint::Store,
            Endpoint::Node(node),
            pending,
            node,
        );
    }

    /// Schedules, drops or holds what the seam decided for `pending`.
    fn route(
        &mut self,
        decision: Decision,
        from: Endpoint,
        to: Endpoint,
        pending: Pending,
        shown_on: NodeId,
    ) {
        let now = self.now;
        match decision {
            Decision::Deliver(at) => self.push(at, pending),
            Decision::Drop => {
                if let Some(j) = &mut self.journal {
                    j.lose(
                        now.0,
                        pending.flight(),
                        format!("lost between {from} and {to}"),
                    );
                }
                self.trace
                    .note(now.0, shown_on, || format!("lost between {from} and {to}"))
            }
            Decision::Hold => {
                if let Some(j) = &mut self.journal {
                    j.hold(now.0, pending.flight());
                }
                self.trace
                    .note(now.0, shown_on, || format!("held between {from} and {to}"));
                self.hold_envelope(from, to, pending);
            }
        }
    }

    /// Keeps an envelope until its link is released.
    pub(crate) fn hold_envelope(&mut self, from: Endpoint, to: Endpoint, pending: Pending) {
        self.held.entry((from, to)).or_default().push_back(pending);
    }

    /// Releases a held link: each envelope it kept is judged again (a partition may drop
    /// it, a latency delays it) and arrives no earlier than the one held before it.
    pub(crate) fn release_link(&mut self, from: Endpoint, to: Endpoint) -> usize {
        self.net.rules.release(from, to);
        let Some(queue) = self.held.remove(&(from, to)) else {
            return 0;
        };
        let released = queue.len();
        let mut floor = self.now;
        for pending in queue {
            let pending = match pending {
                Pending::Commit {
                    node,
                    incarnation,
                    writes,
                } => {
                    // The disk resumes: the commit starts over from here.
                    self.start_commit(node, incarnation, writes);
                    continue;
                }
                pending => pending,
            };
            let now = self.now;
            let decision = match &pending {
                Pending::Node {
                    node,
                    event: Event::Message((sender, message)),
                    ..
                } => {
                    let (from, to) = (*sender, *node);
                    let envelope = Envelope::Message { from, to, message };
                    self.net.rejudge(now, &envelope, floor)
                }
                Pending::Node {
                    node,
                    event: Event::MetadataResponse((_, response)),
                    ..
                } => {
                    let envelope = Envelope::StoreResponse {
                        node: *node,
                        response,
                    };
                    self.net.rejudge(now, &envelope, floor)
                }
                Pending::StoreArrives {
                    from: Some((node, _)),
                    request,
                    ..
                } => {
                    let envelope = Envelope::StoreRequest {
                        node: *node,
                        request,
                    };
                    self.net.rejudge(now, &envelope, floor)
                }
                _ => Decision::Deliver(floor),
            };
            let shown_on = match (to, from) {
                (Endpoint::Node(n) | Endpoint::Disk(n), _)
                | (_, Endpoint::Node(n) | Endpoint::Disk(n)) => n,
                _ => 0,
            };
            match decision {
                Decision::Deliver(at) => {
                    floor = at;
                    self.push(at, pending);
                }
                other => self.route(other, from, to, pending, shown_on),
            }
        }
        released
    }

    /// How many envelopes are held on `from -> to`.
    pub(crate) fn held_count(&self, from: Endpoint, to: Endpoint) -> usize {
        self.held.get(&(from, to)).map_or(0, |q| q.len())
    }
}
