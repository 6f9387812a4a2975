//! What a node asked of the host during one call, in order. The imports only record
//! effects; the simulator applies them after the call returns, so a guest never
//! re-enters the host's state while it runs.

use crate::bindings::{
    Level, Message, MetadataKind, MetadataValue, OpResult, Precondition, UpdateSource,
};

/// One thing a node asked for.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Send a message to another node.
    Send {
        /// The receiver.
        to: u32,
        /// The message.
        msg: Message,
    },
    /// Read a key of the metadata store.
    MetadataGet {
        /// Correlates the answer.
        id: u64,
        /// The key.
        key: String,
    },
    /// Write a key of the metadata store.
    MetadataPut {
        /// Correlates the answer.
        id: u64,
        /// The key.
        key: String,
        /// The value.
        value: MetadataValue,
        /// When the write may happen.
        precondition: Precondition,
    },
    /// Fire a timer at a virtual instant (nanoseconds).
    Timer {
        /// The timer's id, handed back when it fires.
        id: u64,
        /// When.
        at: u64,
    },
    /// Complete a client operation.
    Complete {
        /// The operation.
        op: u64,
        /// Its result.
        outcome: OpResult,
    },
    /// A metadata value offered to the node's cache, taken or dropped.
    Offered {
        /// Which metadata.
        kind: MetadataKind,
        /// The value.
        value: MetadataValue,
        /// Where it came from.
        source: UpdateSource,
        /// The peer that sent it, for a peer's answer.
        peer: Option<u32>,
        /// Taken (strictly newer) or dropped.
        accepted: bool,
    },
    /// A diagnostic line.
    Log {
        /// How important.
        level: Level,
        /// The text.
        message: String,
    },
    /// A storage write (already applied to the live view) that must become durable.
    Write {
        /// The write's id, handed back once durable.
        id: u64,
    },
}
