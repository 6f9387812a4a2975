//! What a node asked of the host during one call, in order. The imports only record
//! effects; the simulator applies them after the call returns, so a guest never
//! re-enters the host's state while it runs.

use crate::bindings::{
    Level, Message, MetadataKind, MetadataValue, OpResult, Precondition, UpdateSource,
};

#[derive(Debug, Clone)]
pub enum Effect {
    Send {
        to: u32,
        msg: Message,
    },
    MetadataGet {
        id: u64,
        key: String,
    },
    MetadataPut {
        id: u64,
        key: String,
        value: MetadataValue,
        precondition: Precondition,
    },
    Timer {
        id: u64,
        at: u64,
    },
    Complete {
        op: u64,
        outcome: OpResult,
    },
    /// A metadata value offered to the node's cache, taken or dropped.
    Offered {
        kind: MetadataKind,
        value: MetadataValue,
        source: UpdateSource,
        peer: Option<u32>,
        accepted: bool,
    },
    Log {
        level: Level,
        message: String,
    },
    /// A storage write (already applied to the live view) that must become durable.
    Write {
        id: u64,
    },
}
