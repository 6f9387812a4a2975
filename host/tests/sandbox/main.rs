//! The sandbox as a library: the handle and its workloads, node failures, the metadata
//! race and the store's faults, sealed tails, the basic scenario, random scenarios, the
//! pictures a run draws, and the trace hashes held still. One module per story.

#[path = "../common/mod.rs"]
mod common;

mod append_seal_basic;
mod chains;
mod diagnostics;
mod metadata_race;
mod metadata_store_faults;
mod node_failures;
mod pictures_and_explain;
mod random_scenarios;
mod remote_seal_and_faults;
mod sandbox_api;
mod sealed_tail;
mod trace_hashes;
mod workloads;
