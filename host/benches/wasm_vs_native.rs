//! What running the node logic as a wasm component costs, against the same logic
//! compiled natively: one log-server takes a Store of one 100-byte record and the event
//! that makes it durable, and answers Stored.
//!
//! - native: `logsandbox_guest::node::Node` driven through its in-memory `MemEnv`;
//! - wasm: the built-in component in a wasmtime store, through the host's imports (the
//!   live storage view is kept in memory and nothing is committed to redb, so both sides
//!   do the same storage work).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logsandbox::bindings as host;
use logsandbox::runtime::Effect;
use logsandbox::runtime::{Component, Limits};
use logsandbox::storage::NodeStorage;
use logsandbox_guest::bindings::exports::logsandbox::node::node as g_node;
use logsandbox_guest::bindings::logsandbox::node as g;
use logsandbox_guest::env::testing::MemEnv;
use logsandbox_guest::node::Node;

const SEQUENCER: u32 = 5;
const PAYLOAD: [u8; 100] = [7; 100];

fn native(c: &mut Criterion, group: &str) {
    let config = g_node::Config {
        id: 1,
        roles: g_node::Roles::LOG_SERVER,
        members: vec![1, 2, 3, 5],
        seed: 1,
        settings: vec![],
    };
    let mut env = MemEnv::default();
    let mut node = Node::init(0, config, &mut env).expect("init");
    env.take();
    let mut offset = 1u32;
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(1));
    group.bench_function("native", |b| {
        b.iter(|| {
            let store = g::log_server_protocol::Store {
                header: g::log_server_protocol::RequestHeader {
                    loglet_id: 0,
                    known_global_tail: offset,
                },
                first_offset: offset,
                sequencer: SEQUENCER,
                flags: g::log_server_protocol::StoreFlags::empty(),
                timeout_at: None,
                payloads: vec![PAYLOAD.to_vec()],
            };
            let msg = g::messages::Message {
                versions: vec![],
                body: g::messages::Body::LogServerRequest((
                    offset as u64,
                    g::log_server_protocol::Request::Store(store),
                )),
            };
            node.handle(
                offset as u64,
                vec![g_node::Event::Message((SEQUENCER, msg))],
                &mut env,
            );
            let writes = std::mem::take(&mut env.pending_writes);
            node.handle(
                offset as u64,
                writes
                    .into_iter()
                    .map(g_node::Event::WriteDurable)
                    .collect(),
                &mut env,
            );
            let replied = env.take().len();
            offset += 1;
            replied
        })
    });
    group.finish();
}

fn wasm(c: &mut Criterion, group: &str) {
    let runtime = Component::builtin().expect("the built-in guest loads");
    let storage = NodeStorage::in_memory().expect("an in-memory database");
    let clock = Arc::new(AtomicU64::new(0));
    let mut node = match runtime.instantiate(1, storage, clock, Limits::default()) {
        Ok(node) => node,
        Err(failed) => panic!("instantiate: {}", failed.0),
    };
    let config = host::Config {
        id: 1,
        roles: host::Roles::LOG_SERVER,
        members: vec![1, 2, 3, 5],
        seed: 1,
        settings: vec![],
    };
    node.init(0, &config).expect("init");
    node.take_effects();
    let mut offset = 1u32;
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(1));
    group.bench_function("wasm", |b| {
        b.iter(|| {
            use host::logsandbox::node::log_server_protocol as p;
            let store = p::Store {
                header: p::RequestHeader {
                    loglet_id: 0,
                    known_global_tail: offset,
                },
                first_offset: offset,
                sequencer: SEQUENCER,
                flags: p::StoreFlags::empty(),
                timeout_at: None,
                payloads: vec![PAYLOAD.to_vec()],
            };
            let msg = host::Message {
                versions: vec![],
                body: host::Body::LogServerRequest((offset as u64, p::Request::Store(store))),
            };
            node.handle(offset as u64, &[host::Event::Message((SEQUENCER, msg))])
                .expect("the store is handled");
            let writes: Vec<host::Event> = node
                .take_effects()
                .into_iter()
                .filter_map(|e| match e {
                    Effect::Write { id } => Some(host::Event::WriteDurable(id)),
                    _ => None,
                })
                .collect();
            node.handle(offset as u64, &writes)
                .expect("the durable write is handled");
            let replied = node.take_effects().len();
            offset += 1;
            replied
        })
    });
    group.finish();
}

fn store_path(c: &mut Criterion) {
    native(c, "log-server store path");
    wasm(c, "log-server store path");
}

criterion_group!(benches, store_path);
criterion_main!(benches);
