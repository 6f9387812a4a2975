//! The seam between the node logic and the world.
//!
//! Inside the wasm component, [`Env`] is implemented by the adapter on top of the WIT
//! imports; in unit tests, by [`testing::MemEnv`], which records every effect. The logic
//! never calls an import directly, so it can be tested natively.

use crate::bindings::logsandbox::node::client::{OpId, OpResult};
use crate::bindings::logsandbox::node::host::{Level, RacePoint};
use crate::bindings::logsandbox::node::messages::Message;
use crate::bindings::logsandbox::node::metadata::{
    MetadataKind, MetadataValue, Precondition, UpdateSource,
};
use crate::bindings::logsandbox::node::storage::{Entry, WriteOp};
use crate::bindings::logsandbox::node::types::{NodeId, RequestId, SimTime};

/// Everything a node can ask of its host. Every call returns at once; results come back
/// later as events, except the storage reads, which answer from the node's live view.
pub trait Env {
    /// Sends `msg` to the member `to`; it arrives there as a message event.
    fn send(&mut self, to: NodeId, msg: Message);
    /// Reads `key` from the metadata store; the answer comes back under `id`.
    fn metadata_get(&mut self, id: RequestId, key: &str);
    /// Writes `value` under `key` in the metadata store if `precondition` holds; the
    /// answer comes back under `id`.
    fn metadata_put(
        &mut self,
        id: RequestId,
        key: &str,
        value: MetadataValue,
        precondition: Precondition,
    );
    /// Fires timer `id` at `at`. There is no cancel: the owner ignores a stale timer.
    fn set_timer(&mut self, id: u64, at: SimTime);
    /// Completes the client operation `op` with `result`, exactly once.
    fn complete(&mut self, op: OpId, result: OpResult);
    /// Tells the host a value was offered to the metadata cache and whether the cache
    /// took it, for the trace.
    fn metadata_offered(
        &mut self,
        kind: MetadataKind,
        value: &MetadataValue,
        source: UpdateSource,
        peer: Option<NodeId>,
        accepted: bool,
    );
    /// A diagnostic line for the trace.
    fn log(&mut self, level: Level, message: &str);
    /// The node reached a point a race can turn on (a fault may trigger there).
    fn reached(&mut self, point: RacePoint, detail: &str);
    /// Applies `ops` to storage as one batch; a write-durable event for `id` follows once
    /// it is durable, and reads see it at once.
    fn write(&mut self, id: u64, ops: Vec<WriteOp>);
    /// The newest value of `key`, durable or not.
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>>;
    /// At most `limit` entries with `start <= key < end`, in key order (descending with
    /// `reverse`), durable or not.
    fn scan(&mut self, start: &[u8], end: &[u8], limit: u32, reverse: bool) -> Vec<Entry>;
}

/// An in-memory [`Env`] that records effects, for unit tests of the logic.
pub mod testing {
    use super::*;
    use std::collections::BTreeMap;

    /// One recorded effect.
    #[derive(Debug, Clone)]
    pub enum Effect {
        /// A message to a node.
        Send(NodeId, Message),
        /// A metadata-store read: the request id and the key.
        MetadataGet(RequestId, String),
        /// A metadata-store write: the request id, the key, the value and its precondition.
        MetadataPut(RequestId, String, MetadataValue, Precondition),
        /// A timer armed: its id and the instant it fires.
        Timer(u64, SimTime),
        /// A client operation completed, with its result.
        Complete(OpId, OpResult),
        /// A value offered to the cache; the last field says whether it was taken.
        Offered(
            MetadataKind,
            MetadataValue,
            UpdateSource,
            Option<NodeId>,
            bool,
        ),
        /// A storage write: its id and its operations.
        Write(u64, Vec<WriteOp>),
        /// A race point reached, with its detail.
        Reached(RacePoint, String),
    }

    /// Storage is a `BTreeMap`; writes apply at once (the live view) and their ids are
    /// queued in `pending_writes` until the test declares them durable.
    #[derive(Default)]
    pub struct MemEnv {
        /// The effects so far, in the order they were made, until [`MemEnv::take`].
        pub effects: Vec<Effect>,
        /// The storage's live view: every write applied, durable or not.
        pub store: BTreeMap<Vec<u8>, Vec<u8>>,
        /// Ids of the writes not yet declared durable, oldest first.
        pub pending_writes: Vec<u64>,
        /// The diagnostic lines logged, without their level.
        pub logs: Vec<String>,
    }

    impl MemEnv {
        /// Takes the recorded effects, leaving none.
        pub fn take(&mut self) -> Vec<Effect> {
            std::mem::take(&mut self.effects)
        }
    }

    impl Env for MemEnv {
        fn send(&mut self, to: NodeId, msg: Message) {
            self.effects.push(Effect::Send(to, msg));
        }
        fn metadata_get(&mut self, id: RequestId, key: &str) {
            self.effects.push(Effect::MetadataGet(id, key.to_string()));
        }
        fn metadata_put(
            &mut self,
            id: RequestId,
            key: &str,
            value: MetadataValue,
            precondition: Precondition,
        ) {
            self.effects.push(Effect::MetadataPut(
                id,
                key.to_string(),
                value,
                precondition,
            ));
        }
        fn set_timer(&mut self, id: u64, at: SimTime) {
            self.effects.push(Effect::Timer(id, at));
        }
        fn complete(&mut self, op: OpId, result: OpResult) {
            self.effects.push(Effect::Complete(op, result));
        }
        fn metadata_offered(
            &mut self,
            kind: MetadataKind,
            value: &MetadataValue,
            source: UpdateSource,
            peer: Option<NodeId>,
            accepted: bool,
        ) {
            self.effects
                .push(Effect::Offered(kind, value.clone(), source, peer, accepted));
        }
        fn log(&mut self, _level: Level, message: &str) {
            self.logs.push(message.to_string());
        }
        fn reached(&mut self, point: RacePoint, detail: &str) {
            self.effects
                .push(Effect::Reached(point, detail.to_string()));
        }
        fn write(&mut self, id: u64, ops: Vec<WriteOp>) {
            for op in &ops {
                match &op.value {
                    Some(v) => self.store.insert(op.key.clone(), v.clone()),
                    None => self.store.remove(&op.key),
                };
            }
            self.pending_writes.push(id);
            self.effects.push(Effect::Write(id, ops));
        }
        fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
            self.store.get(key).cloned()
        }
        fn scan(&mut self, start: &[u8], end: &[u8], limit: u32, reverse: bool) -> Vec<Entry> {
            // As the host's storage: an empty or inverted range holds nothing.
            if start >= end {
                return Vec::new();
            }
            let range = self.store.range(start.to_vec()..end.to_vec());
            let to_entry = |(k, v): (&Vec<u8>, &Vec<u8>)| Entry {
                key: k.clone(),
                value: v.clone(),
            };
            if reverse {
                range.rev().take(limit as usize).map(to_entry).collect()
            } else {
                range.take(limit as usize).map(to_entry).collect()
            }
        }
    }
}
