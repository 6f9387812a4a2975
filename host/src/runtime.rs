//! The wasm runtime: one wasmtime engine per process, each component compiled once, one
//! `Store` per node.
//!
//! Phases, as in wasmtime's component examples:
//! 1. [`Runtime::load`]: configure the engine (component model, fuel, epochs), compile
//!    the component, link WASI and the node world, and type-check it once (`LogNodePre`).
//!    A component that does not implement the world is rejected here, naming what is missing.
//! 2. [`Runtime::instantiate`]: a fresh `Store` with the node's state (storage, a closed
//!    WASI context whose clocks read the virtual clock, a memory cap), then an instance.
//! 3. [`NodeInstance::init`] / [`NodeInstance::handle`]: one call at a time. Every call
//!    gets a fuel budget (the deterministic CPU bound) and a far-off epoch deadline (a
//!    wall-clock safety net). A trap poisons the instance: the caller drops it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Config as EngineConfig, Engine, Store, StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{self, Config, Event, LogNode, LogNodePre};
use crate::effects::Effect;
use crate::storage::NodeStorage;

/// The product guest, built from `guest/` by the build script.
pub static BUILTIN_GUEST: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/logsandbox_guest.wasm"));

/// Guests that misbehave on purpose, for tests of the host's isolation.
pub mod test_guests {
    /// Node 2 traps (a panic inside the guest) on its 50th Store.
    pub static TRAP_ON_STORE: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/guest_trap_on_store.wasm"));
}

/// The mutant guests: each is the product guest with one known bug (guest/src/mutants.rs).
/// (name, what the bug is, component bytes)
pub static MUTANTS: &[(&str, &str, &[u8])] = &[
    (
        "publish-before-drain",
        "the sequencer publishes its sealed tail before draining in-flight appends",
        include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_publish_before_drain.wasm"
        )),
    ),
    (
        "store-after-seal",
        "a sealed log-server still accepts stores",
        include_bytes!(concat!(env!("OUT_DIR"), "/mutant_store_after_seal.wasm")),
    ),
    (
        "equal-version-accepted",
        "the metadata cache takes an update of the same version",
        include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_equal_version_accepted.wasm"
        )),
    ),
    (
        "commit-before-quorum",
        "the sequencer acknowledges after the first copy, before a write quorum",
        include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_commit_before_quorum.wasm"
        )),
    ),
    (
        "forget-seal-on-recovery",
        "a restarted log-server forgets its seal marker",
        include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_forget_seal_on_recovery.wasm"
        )),
    ),
    (
        "trim-beyond-tail",
        "a log-server accepts a trim at or beyond its tail",
        include_bytes!(concat!(env!("OUT_DIR"), "/mutant_trim_beyond_tail.wasm")),
    ),
    (
        "wait-resolves-early",
        "waiting for a metadata version resolves on any cached version",
        include_bytes!(concat!(env!("OUT_DIR"), "/mutant_wait_resolves_early.wasm")),
    ),
];

/// How often the epoch ticker advances the engine's epoch.
const EPOCH_TICK: Duration = Duration::from_millis(100);

/// Limits applied to every node.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Fuel per call: the deterministic CPU bound. Overrunning it crashes the node.
    pub fuel_per_call: u64,
    /// Wall-clock safety net per call, in epoch ticks of 100 ms.
    pub epoch_ticks_per_call: u64,
    /// Linear memory cap per node, in bytes.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel_per_call: 2_000_000_000,
            epoch_ticks_per_call: 600,
            memory_bytes: 256 << 20,
        }
    }
}

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{source_name}: not a wasm component wasmtime can compile: {reason}")]
    Compile { source_name: String, reason: String },
    #[error("{source_name}: does not implement the world logsandbox:node/log-node: {reason}")]
    World { source_name: String, reason: String },
    #[error("setting up the wasm engine: {0}")]
    Engine(String),
}

/// An engine with one compiled, linked and type-checked component.
pub struct Runtime {
    engine: Engine,
    pre: LogNodePre<NodeState>,
    name: String,
}

impl Runtime {
    /// The runtime of the built-in guest, compiled once per process.
    pub fn builtin() -> Result<Arc<Runtime>, LoadError> {
        static BUILTIN: OnceLock<Result<Arc<Runtime>, String>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                Runtime::load("built-in guest", BUILTIN_GUEST)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(LoadError::Engine)
    }

    /// Compiles and links a component; `name` names it in errors (a path, usually).
    pub fn load(name: &str, wasm: &[u8]) -> Result<Runtime, LoadError> {
        let engine = shared_engine()?;
        let component =
            crate::compile_cache::load(&engine, wasm).map_err(|e| LoadError::Compile {
                source_name: name.to_string(),
                reason: format!("{e:#}"),
            })?;
        let mut linker: Linker<NodeState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        LogNode::add_to_linker::<NodeState, HasSelf<NodeState>>(&mut linker, |s| s)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        let world_err = |e: wasmtime::Error| LoadError::World {
            source_name: name.to_string(),
            reason: format!("{e:#}"),
        };
        let instance_pre = linker.instantiate_pre(&component).map_err(world_err)?;
        let pre = LogNodePre::new(instance_pre).map_err(world_err)?;
        Ok(Runtime {
            engine,
            pre,
            name: name.to_string(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A new instance of the component for one node.
    pub fn instantiate(
        &self,
        node: u32,
        storage: NodeStorage,
        clock: Arc<AtomicU64>,
        limits: Limits,
    ) -> Result<NodeInstance, (CallError, NodeStorage)> {
        let state = NodeState::new(node, storage, clock, limits);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        if let Err(e) = store.set_fuel(limits.fuel_per_call) {
            return Err((CallError::Host(e.to_string()), store.into_data().storage));
        }
        store.set_epoch_deadline(limits.epoch_ticks_per_call);
        match self.pre.instantiate(&mut store) {
            Ok(bindings) => Ok(NodeInstance {
                store,
                bindings,
                limits,
            }),
            Err(e) => {
                let err = CallError::from_wasmtime(e);
                Err((err, store.into_data().storage))
            }
        }
    }
}

/// One engine for the whole process, with its epoch ticker.
fn shared_engine() -> Result<Engine, LoadError> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let mut config = EngineConfig::new();
            config.wasm_component_model(true);
            config.consume_fuel(true);
            config.epoch_interruption(true);
            let engine = Engine::new(&config).map_err(|e| format!("{e:#}"))?;
            let weak = engine.weak();
            std::thread::Builder::new()
                .name("logsandbox-epoch".into())
                .spawn(move || {
                    while let Some(engine) = weak.upgrade() {
                        engine.increment_epoch();
                        drop(engine);
                        std::thread::sleep(EPOCH_TICK);
                    }
                })
                .map_err(|e| e.to_string())?;
            Ok(engine)
        })
        .clone()
        .map_err(LoadError::Engine)
}

/// Why a call into the guest failed. Any of these crashes the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The guest trapped (a panic, unreachable, out of memory...).
    Trap(String),
    /// The guest used up its fuel: it overran its CPU bound.
    OutOfFuel,
    /// The wall-clock safety net fired.
    Interrupted,
    /// The host refused what the guest did, or the host failed.
    Host(String),
    /// `init` returned an error.
    InitFailed(String),
}

impl CallError {
    fn from_wasmtime(e: wasmtime::Error) -> CallError {
        match e.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => CallError::OutOfFuel,
            Some(Trap::Interrupt) => CallError::Interrupted,
            Some(_) => CallError::Trap(format!("{e:#}")),
            None => CallError::Host(format!("{e:#}")),
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Trap(m) => write!(f, "trapped: {m}"),
            CallError::OutOfFuel => write!(f, "overran its CPU bound (fuel per call)"),
            CallError::Interrupted => write!(f, "overran the wall-clock deadline of a call"),
            CallError::Host(m) => write!(f, "host error: {m}"),
            CallError::InitFailed(m) => write!(f, "init failed: {m}"),
        }
    }
}

/// A running node: its store and its instance.
pub struct NodeInstance {
    store: Store<NodeState>,
    bindings: LogNode,
    limits: Limits,
}

impl NodeInstance {
    fn arm(&mut self) -> Result<(), CallError> {
        self.store
            .set_fuel(self.limits.fuel_per_call)
            .map_err(|e| CallError::Host(e.to_string()))?;
        self.store
            .set_epoch_deadline(self.limits.epoch_ticks_per_call);
        Ok(())
    }

    pub fn init(&mut self, now: u64, config: &Config) -> Result<(), CallError> {
        self.arm()?;
        self.store.data().clock.store(now, Ordering::Relaxed);
        let result = self
            .bindings
            .logsandbox_node_node()
            .call_init(&mut self.store, now, config)
            .map_err(CallError::from_wasmtime)?;
        self.store.data_mut().check()?;
        result.map_err(CallError::InitFailed)
    }

    pub fn handle(&mut self, now: u64, events: &[Event]) -> Result<(), CallError> {
        self.arm()?;
        self.store.data().clock.store(now, Ordering::Relaxed);
        self.bindings
            .logsandbox_node_node()
            .call_handle(&mut self.store, now, events)
            .map_err(CallError::from_wasmtime)?;
        self.store.data_mut().check()
    }

    /// The effects of the last call, in the order the guest made them.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.store.data_mut().effects)
    }

    pub fn storage(&mut self) -> &mut NodeStorage {
        &mut self.store.data_mut().storage
    }

    /// Drops the instance and hands back its storage.
    pub fn into_storage(self) -> NodeStorage {
        self.store.into_data().storage
    }
}

/// The state of one node's store: what the imports act on.
pub struct NodeState {
    pub node: u32,
    pub storage: NodeStorage,
    pub effects: Vec<Effect>,
    clock: Arc<AtomicU64>,
    /// A storage failure seen inside an import, reported after the call.
    failure: Option<String>,
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl NodeState {
    fn new(node: u32, storage: NodeStorage, clock: Arc<AtomicU64>, limits: Limits) -> Self {
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

    fn check(&mut self) -> Result<(), CallError> {
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
