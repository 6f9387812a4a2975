//! The state of one node's wasmtime store, and the host functions (WIT imports) that act
//! on it. Imports only record effects, or read the node's own storage: they never reach
//! into the simulator while the guest runs.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::budget::Budget;
use super::clocks::VirtualClock;
use super::output::GuestOutput;
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
    pub(super) budget: Budget,
    /// What the guest printed.
    pub(super) output: GuestOutput,
    limits: Limits,
    /// Effects and their bytes in the current call, against the per-call caps.
    call_effects: u64,
    call_bytes: u64,
}

impl NodeState {
    pub(super) fn new(
        node: u32,
        storage: NodeStorage,
        clock: Arc<AtomicU64>,
        limits: Limits,
    ) -> Self {
        let output = GuestOutput::default();
        let mut wasi = WasiCtx::builder();
        wasi.stdout(output.clone())
            .stderr(output.clone())
            .wall_clock(VirtualClock(clock.clone()))
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
            budget: Budget::new(node, limits.memory_bytes),
            output,
            limits,
            call_effects: 0,
            call_bytes: 0,
        }
    }

    /// The resource table of WASI's handles.
    pub(super) fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// A call starts: its effects count from zero.
    pub(super) fn begin_call(&mut self) {
        self.call_effects = 0;
        self.call_bytes = 0;
    }

    /// Records an effect, unless it takes the call past a per-call cap: then the import
    /// fails, the call traps, and the node crashes, named, with the key that raises the cap.
    fn push(&mut self, effect: Effect) -> wasmtime::Result<()> {
        self.call_effects += 1;
        self.call_bytes = self
            .call_bytes
            .saturating_add(super::effects::weight(&effect) as u64);
        if self.call_effects > self.limits.max_effects_per_call {
            return Err(wasmtime::Error::msg(format!(
                "N{} made more than {} effects (messages, timers, writes...) in one call (run.max_effects_per_call raises it)",
                self.node, self.limits.max_effects_per_call
            )));
        }
        if self.call_bytes > self.limits.max_bytes_per_call {
            return Err(wasmtime::Error::msg(format!(
                "N{} made effects of more than {} MiB in one call (run.max_call_mb raises it)",
                self.node,
                self.limits.max_bytes_per_call >> 20
            )));
        }
        self.effects.push(effect);
        Ok(())
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

use bindings::logsandbox::node as wit;

impl wit::types::Host for NodeState {}
impl wit::log_server_protocol::Host for NodeState {}
impl wit::metadata::Host for NodeState {}
impl wit::messages::Host for NodeState {}
impl wit::client::Host for NodeState {}

impl wit::host::Host for NodeState {
    fn send(&mut self, to: u32, msg: bindings::Message) -> wasmtime::Result<()> {
        self.push(Effect::Send { to, msg })
    }

    fn metadata_get(&mut self, id: u64, key: String) -> wasmtime::Result<()> {
        self.push(Effect::MetadataGet { id, key })
    }

    fn metadata_put(
        &mut self,
        id: u64,
        key: String,
        value: bindings::MetadataValue,
        precondition: bindings::Precondition,
    ) -> wasmtime::Result<()> {
        self.push(Effect::MetadataPut {
            id,
            key,
            value,
            precondition,
        })
    }

    fn set_timer(&mut self, id: u64, at: u64) -> wasmtime::Result<()> {
        self.push(Effect::Timer { id, at })
    }

    fn complete(&mut self, op: u64, outcome: bindings::OpResult) -> wasmtime::Result<()> {
        self.push(Effect::Complete { op, outcome })
    }

    fn metadata_offered(
        &mut self,
        kind: bindings::MetadataKind,
        value: bindings::MetadataValue,
        source: bindings::UpdateSource,
        peer: Option<u32>,
        accepted: bool,
    ) -> wasmtime::Result<()> {
        self.push(Effect::Offered {
            kind,
            value,
            source,
            peer,
            accepted,
        })
    }

    fn log(&mut self, level: bindings::Level, message: String) -> wasmtime::Result<()> {
        self.push(Effect::Log { level, message })
    }

    fn reached(&mut self, point: bindings::RacePoint, detail: String) -> wasmtime::Result<()> {
        self.push(Effect::Reached { point, detail })
    }
}

impl wit::storage::Host for NodeState {
    fn write(&mut self, id: u64, ops: Vec<bindings::WriteOp>) -> wasmtime::Result<()> {
        let bytes: usize = ops
            .iter()
            .map(|o| {
                o.key
                    .len()
                    .saturating_add(o.value.as_ref().map_or(0, Vec::len))
            })
            .fold(0, usize::saturating_add);
        self.call_bytes = self.call_bytes.saturating_add(bytes as u64);
        let stored = self.storage.bytes().saturating_add(bytes as u64);
        if stored > self.limits.max_storage_bytes {
            return Err(wasmtime::Error::msg(format!(
                "N{}'s database would hold {} MiB, more than {} MiB (run.max_storage_mb raises it)",
                self.node,
                stored >> 20,
                self.limits.max_storage_bytes >> 20
            )));
        }
        self.push(Effect::Write { id })?;
        self.storage.write(id, ops);
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
