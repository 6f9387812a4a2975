//! The state of one node's wasmtime store, and the host functions (WIT imports) that act
//! on it. Imports only record effects, or read the node's own storage: they never reach
//! into the simulator while the guest runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wasmtime::StoreLimits;
use wasmtime::StoreLimitsBuilder;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::{CallError, Limits};
use crate::bindings;
use crate::runtime::effects::Effect;
use crate::storage::NodeStorage;

/// The state of one node's store: what the imports act on.
pub struct NodeState {
    /// The node this store runs.
    pub node: u32,
    /// Its database.
    pub storage: NodeStorage,
    /// What the guest asked for during the current call, in order.
    pub effects: Vec<Effect>,
    pub(super) clock: Arc<AtomicU64>,
    /// A storage failure seen inside an import, reported after the call.
    failure: Option<String>,
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limits: StoreLimits,
}

impl NodeState {
    pub(super) fn new(
        node: u32,
        storage: NodeStorage,
        clock: Arc<AtomicU64>,
        limits: Limits,
    ) -> Self {
        let mut wasi = WasiCtx::builder();
        wasi.wall_clock(VirtualClock(clock.clone()))
            .monotonic_clock(VirtualClock(clock.clone()))
            .secure_random(wasmtime_wasi::Deterministic::new(
                node.to_le_bytes().repeat(8),
            ))
            .insecure_random(wasmtime_wasi::Deterministic::new(
                node.to_le_bytes().repeat(8),
            ))
            .insecure_random_seed(node as u128);
        NodeState {
            node,
            storage,
            effects: Vec::new(),
            clock,
            failure: None,
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .trap_on_grow_failure(true)
                .build(),
        }
    }

    pub(super) fn check(&mut self) -> Result<(), CallError> {
        match self.failure.take() {
            Some(f) => Err(CallError::Host(f)),
            None => Ok(()),
        }
    }
}

impl WasiView for NodeState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// WASI clocks that read the simulation's virtual clock, never the machine's.
struct VirtualClock(Arc<AtomicU64>);

impl wasmtime_wasi::HostWallClock for VirtualClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

impl wasmtime_wasi::HostMonotonicClock for VirtualClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

use bindings::logsandbox::node as wit;

impl wit::types::Host for NodeState {}
impl wit::log_server_protocol::Host for NodeState {}
impl wit::metadata::Host for NodeState {}
impl wit::messages::Host for NodeState {}
impl wit::client::Host for NodeState {}

impl wit::host::Host for NodeState {
    fn send(&mut self, to: u32, msg: bindings::Message) -> wasmtime::Result<()> {
        self.effects.push(Effect::Send { to, msg });
        Ok(())
    }

    fn metadata_get(&mut self, id: u64, key: String) -> wasmtime::Result<()> {
        self.effects.push(Effect::MetadataGet { id, key });
        Ok(())
    }

    fn metadata_put(
        &mut self,
        id: u64,
        key: String,
        value: bindings::MetadataValue,
        precondition: bindings::Precondition,
    ) -> wasmtime::Result<()> {
        self.effects.push(Effect::MetadataPut {
            id,
            key,
            value,
            precondition,
        });
        Ok(())
    }

    fn set_timer(&mut self, id: u64, at: u64) -> wasmtime::Result<()> {
        self.effects.push(Effect::Timer { id, at });
        Ok(())
    }

    fn complete(&mut self, op: u64, outcome: bindings::OpResult) -> wasmtime::Result<()> {
        self.effects.push(Effect::Complete { op, outcome });
        Ok(())
    }

    fn metadata_offered(
        &mut self,
        kind: bindings::MetadataKind,
        value: bindings::MetadataValue,
        source: bindings::UpdateSource,
        peer: Option<u32>,
        accepted: bool,
    ) -> wasmtime::Result<()> {
        self.effects.push(Effect::Offered {
            kind,
            value,
            source,
            peer,
            accepted,
        });
        Ok(())
    }

    fn log(&mut self, level: bindings::Level, message: String) -> wasmtime::Result<()> {
        self.effects.push(Effect::Log { level, message });
        Ok(())
    }
}

impl wit::storage::Host for NodeState {
    fn write(&mut self, id: u64, ops: Vec<bindings::WriteOp>) -> wasmtime::Result<()> {
        self.storage.write(id, ops);
        self.effects.push(Effect::Write { id });
        Ok(())
    }

    fn get(&mut self, key: Vec<u8>) -> wasmtime::Result<Option<Vec<u8>>> {
        self.storage.get(&key).or_else(|e| {
            self.failure = Some(format!("storage read: {e}"));
            Ok(None)
        })
    }

    fn scan(
        &mut self,
        start: Vec<u8>,
        end: Vec<u8>,
        limit: u32,
        reverse: bool,
    ) -> wasmtime::Result<Vec<bindings::Entry>> {
        self.storage
            .scan(&start, &end, limit, reverse)
            .or_else(|e| {
                self.failure = Some(format!("storage scan: {e}"));
                Ok(Vec::new())
            })
    }
}
