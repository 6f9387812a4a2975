//! What crosses the fault seam: an [`Envelope`] going from one [`Endpoint`] to another.
//!
//! - a message between two nodes (`Node(a) -> Node(b)`);
//! - a metadata-store request (`Node(n) -> Store`) and its response (`Store -> Node(n)`);
//! - a group commit of a node's storage writer (`Node(n) -> Disk(n)`).

use std::fmt;

use crate::bindings::{Body, Message, StoreResponse};
use crate::metadata_store::StoreRequest;
use crate::op::NodeId;

/// One end of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// A node, `N1`...
    Node(NodeId),
    /// The metadata store.
    Store,
    /// A node's disk: where its storage writer's commits go.
    Disk(NodeId),
}

impl From<NodeId> for Endpoint {
    fn from(node: NodeId) -> Endpoint {
        Endpoint::Node(node)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Node(n) => write!(f, "N{n}"),
            Endpoint::Store => f.write_str("the metadata store"),
            Endpoint::Disk(n) => write!(f, "N{n}'s disk"),
        }
    }
}

/// Something on its way, as a rule sees it.
#[derive(Debug, Clone, Copy)]
pub enum Envelope<'a> {
    /// A message between nodes.
    Message {
        /// The sender.
        from: NodeId,
        /// The receiver.
        to: NodeId,
        /// What it carries.
        message: &'a Message,
    },
    /// A node's request to the metadata store.
    StoreRequest {
        /// The requesting node.
        node: NodeId,
        /// The request.
        request: &'a StoreRequest,
    },
    /// The metadata store's answer to a node.
    StoreResponse {
        /// The node it goes back to.
        node: NodeId,
        /// The answer.
        response: &'a StoreResponse,
    },
    /// A group commit of a node's storage writer.
    Commit {
        /// The node.
        node: NodeId,
        /// How many writes it makes durable.
        writes: usize,
    },
}

impl Envelope<'_> {
    /// Where it comes from.
    pub fn from(&self) -> Endpoint {
        match *self {
            Envelope::Message { from, .. } => Endpoint::Node(from),
            Envelope::StoreRequest { node, .. } | Envelope::Commit { node, .. } => {
                Endpoint::Node(node)
            }
            Envelope::StoreResponse { .. } => Endpoint::Store,
        }
    }

    /// Where it goes.
    pub fn to(&self) -> Endpoint {
        match *self {
            Envelope::Message { to, .. } => Endpoint::Node(to),
            Envelope::StoreRequest { .. } => Endpoint::Store,
            Envelope::StoreResponse { node, .. } => Endpoint::Node(node),
            Envelope::Commit { node, .. } => Endpoint::Disk(node),
        }
    }

    /// A GetMetadata request between nodes, or its answer.
    pub fn is_peer_metadata(&self) -> bool {
        matches!(
            self,
            Envelope::Message {
                message: Message {
                    body: Body::GetMetadata(_) | Body::MetadataUpdate(_),
                    ..
                },
                ..
            }
        )
    }
}
