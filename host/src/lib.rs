//! logsandbox: deterministic race testing for log services.
//!
//! Log-server nodes (a Restate-style log-server, sequencer and metadata cache) run as
//! wasm components behind the WIT world `logsandbox:node/log-node`; this crate hosts
//! them on a virtual clock and controls the latency of every message, metadata-store
//! request and storage write.
//!
//! Map of the crate, one noun per module:
//! - [`bindings`]: the WIT contract, host side.
//! - [`runtime`]: wasmtime engine, compiled component, one store per node;
//!   [`compile_cache`] keeps compiled components on disk between runs.
//! - [`effects`]: what a node asks of the host during a call.
//! - [`storage`]: a node's redb database with its live (not yet durable) view.
//! - [`metadata_store`]: the versioned key-value store with preconditions.
//! - [`network`]: FIFO links with latency.
//! - [`sim`]: the discrete-event loop that ties them together.
//! - [`scenario`], [`latency`], [`time`], [`seeds`]: what a run is made of.
//! - [`workload`]: the client operations a scenario drives.
//! - [`history`], [`checker`]: what happened, and whether it was right.
//! - [`trace`]: every delivered event, and the trace hash.
//! - [`report`]: one run's outcome, for people and for `--json`.
//! - [`error`]: errors and their exit codes.
//! - [`demo`], [`explore`]: the playground's stories and maps.
//! - [`mutants`]: guests with one known bug each, and whether the checker catches them.
//! - [`cli`]: the `logsandbox` command.

pub mod bindings;
pub mod checker;
pub mod cli;
pub mod compile_cache;
pub mod demo;
pub mod effects;
pub mod error;
pub mod explore;
pub mod history;
pub mod latency;
pub mod metadata_store;
pub mod mutants;
pub mod network;
pub mod report;
pub mod runtime;
pub mod scenario;
pub mod seeds;
pub mod sim;
pub mod storage;
pub mod time;
pub mod trace;
pub mod workload;
