//! The wasm runtime: one wasmtime engine per process, each component compiled once, one
//! `Store` per node.
//!
//! Phases, as in wasmtime's component examples:
//! 1. [`Component::load`]: configure the engine (component model, fuel, epochs), compile
//!    the component, link WASI and the node world, and type-check it once (`LogNodePre`).
//!    A component that does not implement the world is rejected here, naming what is missing.
//! 2. [`Component::instantiate`]: a fresh `Store` with the node's state (storage, a closed
//!    WASI context whose clocks read the virtual clock, a memory cap), then an instance.
//! 3. [`NodeInstance::init`] / [`NodeInstance::handle`]: one call at a time. Every call
//!    gets a fuel budget (the deterministic CPU bound) and a far-off epoch deadline (a
//!    wall-clock safety net). A trap poisons the instance: the caller drops it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config as EngineConfig, Engine, Store, Trap};

use crate::bindings::{Config, Event, LogNode, LogNodePre};
use crate::storage::NodeStorage;

mod budget;
mod clocks;
mod compile_cache;
pub mod effects;
pub mod guests;
pub(crate) mod output;
mod state;

pub use effects::Effect;
pub use guests::{BUILTIN_GUEST, MUTANTS, Mutant, MutantPart, test_guests};
pub use state::NodeState;

/// How often the epoch ticker advances the engine's epoch.
const EPOCH_TICK: Duration = Duration::from_millis(100);

/// Limits applied to every node. Part of the run's limits (`config::RunLimits::node`),
/// where each names the scenario key that raises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel per call: the deterministic CPU bound. Overrunning it crashes the node.
    pub fuel_per_call: u64,
    /// Wall-clock safety net per call, in epoch ticks of 100 ms.
    pub epoch_ticks_per_call: u64,
    /// Memory cap per node, in bytes: every linear memory and table of its instance together.
    pub memory_bytes: usize,
    /// Effects (messages, timers, writes, completions, logs...) one call may make.
    pub max_effects_per_call: u64,
    /// Bytes those effects may hold in all, in one call (see `effects::weight`; `run.max_call_mb`).
    pub max_bytes_per_call: u64,
    /// Bytes of keys and values a node's database may hold.
    pub max_storage_bytes: u64,
}

impl Limits {
    /// Sets the memory cap in MiB (saturating).
    pub fn set_memory_mb(&mut self, mb: u64) {
        self.memory_bytes = usize::try_from(mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel_per_call: 2_000_000_000,
            epoch_ticks_per_call: 600,
            memory_bytes: 256 << 20,
            max_effects_per_call: 100_000,
            max_bytes_per_call: 64 << 20,
            max_storage_bytes: 1 << 30,
        }
    }
}

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{path}: cannot read the component: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The bytes are not a component wasmtime compiles.
    #[error("{source_name}: not a wasm component wasmtime can compile: {reason}")]
    Compile {
        /// The component's name (its path, usually).
        source_name: String,
        /// What wasmtime said.
        reason: String,
    },
    /// The component misses an export of the world, or imports something the host lacks.
    #[error("{source_name}: does not implement the world logsandbox:node/log-node: {reason}")]
    World {
        /// The component's name (its path, usually).
        source_name: String,
        /// What is missing.
        reason: String,
    },
    /// The component was built against another version of the WIT package.
    #[error(
        "{source_name}: built against {found}, but this host speaks {WIT_PACKAGE}@{WIT_VERSION}: rebuild it against this version's wit/node.wit"
    )]
    Version {
        /// The component's name (its path, usually).
        source_name: String,
        /// The package and version it names, e.g. `logsandbox:node@0.2.0`.
        found: String,
    },
    /// The engine could not be set up.
    #[error("setting up the wasm engine: {0}")]
    Engine(String),
}

/// The WIT package the host implements.
pub const WIT_PACKAGE: &str = "logsandbox:node";
/// Its version: a component that imports or exports an interface of another version is
/// refused at load with [`LoadError::Version`], before any link error.
pub const WIT_VERSION: &str = "0.4.0";

/// The first interface of the package, of another version, that `component` imports or
/// exports: `logsandbox:node@0.2.0`.
fn other_version(
    engine: &wasmtime::Engine,
    component: &wasmtime::component::Component,
) -> Option<String> {
    let ty = component.component_type();
    let names: Vec<&str> = ty
        .imports(engine)
        .map(|(name, _)| name)
        .chain(ty.exports(engine).map(|(name, _)| name))
        .collect();
    names.into_iter().find_map(|name| {
        let rest = name.strip_prefix(WIT_PACKAGE)?.strip_prefix('/')?;
        let version = rest.split_once('@').map_or("", |(_, v)| v);
        (version != WIT_VERSION).then(|| {
            if version.is_empty() {
                format!("{WIT_PACKAGE} without a version")
            } else {
                format!("{WIT_PACKAGE}@{version}")
            }
        })
    })
}

/// The largest component file `--guest` reads (the built-in guest is well under 1 MiB).
pub const MAX_COMPONENT_BYTES: u64 = 64 << 20;

/// One compiled, linked and type-checked component, with the engine it was compiled
/// for: what a node runs. Cheap to share (`Arc`) between nodes and sandboxes.
pub struct Component {
    engine: Engine,
    pre: LogNodePre<NodeState>,
    name: String,
}

/// The old name of [`Component`].
#[deprecated(note = "renamed `Component`: one compiled component")]
pub type Runtime = Component;

impl Component {
    /// The built-in guest, compiled once per process.
    pub fn builtin() -> Result<Arc<Component>, LoadError> {
        static BUILTIN: OnceLock<Result<Arc<Component>, String>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                Component::load("built-in guest", BUILTIN_GUEST)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(LoadError::Engine)
    }

    /// Reads a component file and loads it. Only a regular file is read, and at most
    /// [`MAX_COMPONENT_BYTES`] of it: a device or a pipe (`/dev/zero`) would be read forever.
    pub fn from_file(path: &std::path::Path) -> Result<Component, LoadError> {
        use std::io::Read as _;
        let failed = |reason: String| LoadError::Read {
            path: path.display().to_string(),
            reason,
        };
        let file = std::fs::File::open(path).map_err(|e| failed(e.to_string()))?;
        let meta = file.metadata().map_err(|e| failed(e.to_string()))?;
        if !meta.is_file() {
            return Err(failed("not a regular file".into()));
        }
        let too_big = || {
            failed(format!(
                "larger than {} MiB, the most a component may be",
                MAX_COMPONENT_BYTES >> 20
            ))
        };
        if meta.len() > MAX_COMPONENT_BYTES {
            return Err(too_big());
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(MAX_COMPONENT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| failed(e.to_string()))?;
        if bytes.len() as u64 > MAX_COMPONENT_BYTES {
            return Err(too_big());
        }
        Component::load(&path.display().to_string(), &bytes)
    }

    /// Compiles and links a component; `name` names it in errors (a path, usually).
    pub fn load(name: &str, wasm: &[u8]) -> Result<Component, LoadError> {
        let engine = shared_engine()?;
        let component = compile_cache::load(&engine, wasm).map_err(|e| LoadError::Compile {
            source_name: name.to_string(),
            reason: format!("{e:#}"),
        })?;
        if let Some(found) = other_version(&engine, &component) {
            return Err(LoadError::Version {
                source_name: name.to_string(),
                found,
            });
        }
        let mut linker: Linker<NodeState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        clocks::add_virtual_sleeps(&mut linker).map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        LogNode::add_to_linker::<NodeState, HasSelf<NodeState>>(&mut linker, |s| s)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        let world_err = |e: wasmtime::Error| LoadError::World {
            source_name: name.to_string(),
            reason: format!("{e:#}"),
        };
        let instance_pre = linker.instantiate_pre(&component).map_err(world_err)?;
        let pre = LogNodePre::new(instance_pre).map_err(world_err)?;
        Ok(Component {
            engine,
            pre,
            name: name.to_string(),
        })
    }

    /// The name it was loaded under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A new instance of the component for one node, owning its storage; on failure the
    /// storage comes back with the error.
    pub fn instantiate(
        &self,
        node: u32,
        storage: NodeStorage,
        clock: Arc<AtomicU64>,
        limits: Limits,
    ) -> Result<NodeInstance, Box<(CallError, NodeStorage)>> {
        let state = NodeState::new(node, storage, clock, limits);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.budget);
        store.epoch_deadline_trap();
        if let Err(e) = store.set_fuel(limits.fuel_per_call) {
            return Err(Box::new((
                CallError::Host(e.to_string()),
                store.into_data().storage,
            )));
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
                Err(Box::new((err, store.into_data().storage)))
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
    /// The host refused what the guest did (an import called with values it cannot take,
    /// a limit overrun): the guest's fault.
    Refused(String),
    /// The host itself failed (its storage, its engine): not the guest's fault.
    Host(String),
    /// `init` returned an error.
    InitFailed(String),
}

impl CallError {
    fn from_wasmtime(e: wasmtime::Error) -> CallError {
        // The cause alone: the wasm backtrace of an anonymous guest says little, and what
        // the guest printed (its panic message) goes with the crash instead.
        match e.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => CallError::OutOfFuel,
            Some(Trap::Interrupt) => CallError::Interrupted,
            Some(trap) => CallError::Trap(trap.to_string()),
            // An error raised by an import: the host refused what the guest asked.
            None => CallError::Refused(e.root_cause().to_string()),
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Trap(m) => write!(f, "trapped: {m}"),
            CallError::OutOfFuel => write!(f, "overran its CPU bound (fuel per call)"),
            CallError::Interrupted => write!(f, "overran the wall-clock deadline of a call"),
            CallError::Refused(m) => write!(f, "refused by the host: {m}"),
            CallError::Host(m) => write!(f, "host failure (not the guest's doing): {m}"),
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
        self.store.data_mut().begin_call();
        Ok(())
    }

    /// Calls `init` (start or restart, recovering from storage).
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

    /// Calls `handle` with events that happen at `now`.
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

    /// The node's database.
    pub fn storage(&mut self) -> &mut NodeStorage {
        &mut self.store.data_mut().storage
    }

    /// The node's database, to read.
    pub fn storage_view(&self) -> &NodeStorage {
        &self.store.data().storage
    }

    /// What the guest printed since this was last asked (its stdout and stderr).
    pub fn take_output(&self) -> Option<String> {
        self.store.data().output.take_fresh()
    }

    /// The last lines the guest printed.
    pub fn last_output(&self) -> Option<String> {
        self.store.data().output.last()
    }

    /// Drops the instance and hands back its storage.
    pub fn into_storage(self) -> NodeStorage {
        self.store.into_data().storage
    }
}

#[cfg(test)]
mod version_tests {
    use super::{WIT_PACKAGE, WIT_VERSION};

    #[test]
    fn the_version_checked_at_load_is_the_packages() {
        let wit = include_str!("../../../wit/node.wit");
        let line = format!("package {WIT_PACKAGE}@{WIT_VERSION};");
        assert!(
            wit.lines().any(|l| l.trim() == line),
            "wit/node.wit declares no {line}"
        );
    }
}
