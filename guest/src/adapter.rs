//! The only file that touches the WIT imports and exports: maps them onto the core.

use std::cell::RefCell;

use crate::bindings::exports::logsandbox::node::node::{Config, Event, Guest};
use crate::bindings::logsandbox::node::client::{OpId, OpResult};
use crate::bindings::logsandbox::node::host::{self as imports, Level};
use crate::bindings::logsandbox::node::messages::Message;
use crate::bindings::logsandbox::node::metadata::{
    MetadataKind, MetadataValue, Precondition, UpdateSource,
};
use crate::bindings::logsandbox::node::storage::{self, Entry, WriteOp};
use crate::bindings::logsandbox::node::types::{NodeId, RequestId, SimTime};
use crate::env::Env;
use crate::node::Node;

/// The imports, as an [`Env`].
struct Imports;

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

thread_local! {
    /// The node of this instance; one instance is one single-threaded node.
    static NODE: RefCell<Option<Node>> = const { RefCell::new(None) };
}

struct Component;

impl Guest for Component {
    fn init(now: SimTime, config: Config) -> Result<(), String> {
        let node = Node::init(now, config, &mut Imports)?;
        NODE.with(|n| *n.borrow_mut() = Some(node));
        Ok(())
    }

    fn handle(now: SimTime, events: Vec<Event>) {
        NODE.with(|n| {
            let mut n = n.borrow_mut();
            let node = n.as_mut().expect("the host calls init before handle");
            node.handle(now, events, &mut Imports);
        });
    }
}

crate::bindings::export!(Component with_types_in crate::bindings);
