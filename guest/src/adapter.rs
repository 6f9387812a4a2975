//! The only file that touches the WIT imports: maps them onto the core's [`Env`]. The
//! exports are [`crate::export_node!`]'s.

use crate::bindings::logsandbox::node::client::{OpId, OpResult};
use crate::bindings::logsandbox::node::host::{self as imports, Level, RacePoint};
use crate::bindings::logsandbox::node::messages::Message;
use crate::bindings::logsandbox::node::metadata::{
    MetadataKind, MetadataValue, Precondition, UpdateSource,
};
use crate::bindings::logsandbox::node::storage::{self, Entry, WriteOp};
use crate::bindings::logsandbox::node::types::{NodeId, RequestId, SimTime};
use crate::env::Env;

/// The imports, as an [`Env`].
pub struct Imports;

impl Env for Imports {
    fn send(&mut self, to: NodeId, msg: Message) {
        imports::send(to, &msg);
    }
    fn metadata_get(&mut self, id: RequestId, key: &str) {
        imports::metadata_get(id, key);
    }
    fn metadata_put(
        &mut self,
        id: RequestId,
        key: &str,
        value: MetadataValue,
        precondition: Precondition,
    ) {
        imports::metadata_put(id, key, &value, precondition);
    }
    fn set_timer(&mut self, id: u64, at: SimTime) {
        imports::set_timer(id, at);
    }
    fn complete(&mut self, op: OpId, result: OpResult) {
        imports::complete(op, &result);
    }
    fn metadata_offered(
        &mut self,
        kind: MetadataKind,
        value: &MetadataValue,
        source: UpdateSource,
        peer: Option<NodeId>,
        accepted: bool,
    ) {
        imports::metadata_offered(kind, value, source, peer, accepted);
    }
    fn log(&mut self, level: Level, message: &str) {
        imports::log(level, message);
    }
    fn reached(&mut self, point: RacePoint, detail: &str) {
        imports::reached(point, detail);
    }
    fn write(&mut self, id: u64, ops: Vec<WriteOp>) {
        storage::write(id, &ops);
    }
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        storage::get(key)
    }
    fn scan(&mut self, start: &[u8], end: &[u8], limit: u32, reverse: bool) -> Vec<Entry> {
        storage::scan(start, end, limit, reverse)
    }
}
