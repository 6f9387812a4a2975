//! A node's storage writer: one group commit at a time, as a log-server's writer does.
//! A commit crosses the fault seam (`Node(n) -> Disk(n)`): it takes the storage latency,
//! or stalls while the disk is held; writes made meanwhile join the next commit, and all
//! become durable in the order they were made.

use super::World;
use super::queue::Pending;
use crate::bindings::Event;
use crate::net::Decision;
use crate::net::envelope::{Endpoint, Envelope};
use crate::op::NodeId;

/// A node's storage writer: one group commit at a time, as a log-server's writer does.
#[derive(Default)]
pub(crate) struct Writer {
    pub busy: bool,
    /// Writes made while a commit is in flight: they go in the next one.
    pub queued: Vec<u64>,
}

impl World {
    /// Starts a group commit of `writes` through the seam: they all become durable
    /// together when it says so, in the order they were made. Writes made meanwhile wait
    /// for the next commit.
    pub(crate) fn start_commit(&mut self, node: NodeId, incarnation: u32, writes: Vec<u64>) {
        let Some(n) = self.nodes.get_mut(&node) else {
            return;
        };
        if n.incarnation != incarnation || n.status != super::NodeStatus::Running {
            return;
        }
        n.writer.busy = true;
        let envelope = Envelope::Commit {
            node,
            writes: writes.len(),
        };
        let at = match self.net.judge(self.now, &envelope) {
            Decision::Deliver(at) => at,
            Decision::Drop | Decision::Hold => {
                let now = self.now;
                self.trace.note(now.0, node, || {
                    format!("N{node}'s disk stalls: commit held")
                });
                let pending = Pending::Commit {
                    node,
                    incarnation,
                    writes,
                };
                return self.hold_envelope(Endpoint::Node(node), Endpoint::Disk(node), pending);
            }
        };
        for write in writes {
            let event = Event::WriteDurable(write);
            let incarnation = Some(incarnation);
            self.push(
                at,
                Pending::Node {
                    node,
                    incarnation,
                    event,
                    flight: None,
                },
            );
        }
        self.push(at, Pending::CommitDone { node, incarnation });
    }

    /// A group commit finished: the writes that waited for it start the next one.
    pub(crate) fn commit_done(&mut self, id: NodeId, incarnation: u32) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        if node.incarnation != incarnation || node.status != super::NodeStatus::Running {
            return;
        }
        node.writer.busy = false;
        let queued = std::mem::take(&mut node.writer.queued);
        if !queued.is_empty() {
            self.start_commit(id, incarnation, queued);
        }
    }
}
