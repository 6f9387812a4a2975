//! What a node asked of the host during one call, in order. The imports only record
//! effects; the simulator applies them after the call returns, so a guest never
//! re-enters the host's state while it runs.

use crate::bindings::{
    Level, Message, MetadataKind, MetadataValue, OpResult, Precondition, RacePoint, UpdateSource,
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
    /// The node reached a point of a reconfiguration a race can turn on.
    Reached {
        /// Which point.
        point: RacePoint,
        /// Where, in the guest's words.
        detail: String,
    },
    /// A storage write (already applied to the live view) that must become durable.
    Write {
        /// The write's id, handed back once durable.
        id: u64,
    },
}

/// Roughly how many bytes of host memory an effect holds: its payloads and values, plus a
/// fixed cost. What the per-call byte cap (`run.max_call_mb`) counts.
pub(crate) fn weight(effect: &Effect) -> usize {
    const FIXED: usize = 64;
    let bytes = match effect {
        Effect::Send { msg, .. } => message_bytes(msg),
        Effect::MetadataGet { key, .. } => key.len(),
        Effect::MetadataPut { key, value, .. } => key.len() + value_bytes(value),
        Effect::Timer { .. } | Effect::Write { .. } => 0,
        Effect::Complete { outcome, .. } => result_bytes(outcome),
        Effect::Offered { value, .. } => value_bytes(value),
        Effect::Log { message, .. } => message.len(),
        Effect::Reached { detail, .. } => detail.len(),
    };
    FIXED.saturating_add(bytes)
}

fn message_bytes(msg: &Message) -> usize {
    use crate::bindings::logsandbox::node::log_server_protocol::RecordBody;
    use crate::bindings::{Body, Reply, Request};
    let versions = msg.versions.len() * 8;
    let body = match &msg.body {
        Body::LogServerRequest((_, Request::Store(s))) => s.payloads.iter().map(Vec::len).sum(),
        Body::LogServerReply((_, Reply::Records(r))) => r
            .records
            .iter()
            .map(|r| match &r.body {
                RecordBody::Data(p) => p.len() + 16,
                _ => 16,
            })
            .sum(),
        Body::LogServerReply((_, Reply::Digest(d))) => d.entries.len() * 16,
        Body::MetadataUpdate((_, Some(value))) => value_bytes(value),
        _ => 0,
    };
    versions + body
}

/// Roughly the bytes a metadata value holds.
pub(crate) fn value_bytes(value: &MetadataValue) -> usize {
    match value {
        MetadataValue::Logs(logs) => logs
            .chains
            .iter()
            .map(|c| {
                32 + c
                    .segments
                    .iter()
                    .map(|s| 48 + s.params.as_ref().map_or(0, |p| p.nodeset.len() * 4))
                    .sum::<usize>()
            })
            .sum(),
    }
}

fn result_bytes(result: &OpResult) -> usize {
    match result {
        OpResult::Records(records) => records.iter().map(|r| r.payload.len() + 16).sum(),
        OpResult::Failed(e) => format!("{e:?}").len(),
        _ => 0,
    }
}
