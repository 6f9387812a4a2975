//! logsandbox: deterministic race testing for log services.
//!
//! Log-server nodes (a Restate-style log-server, sequencer and metadata cache) run as
//! wasm components behind the WIT world `logsandbox:node/log-node`; this crate hosts
//! them on a virtual clock and controls the latency of every message, metadata-store
//! request and storage write. The front door is [`Sandbox`]: a live cluster you build,
//! drive, break and inspect, from a test, a program or a scenario file.
//!
//! ```no_run
//! use logsandbox::{ClientError, MetadataKind, Op, OpResult, Precondition, Route, Sandbox, Source, ms};
//!
//! let mut sb = Sandbox::builder()
//!     .log_servers(3)
//!     .client(5)
//!     .seed(7)
//!     .provision_empty_logs() // N1 writes the empty v1
//!     .latency(Route::MetadataStore, "200ms")
//!     .latency(Route::PeerMetadata, "1ms..3ms")
//!     .build()?;
//! sb.run_for(ms(2000))?;
//! let logs = sb.logs_with_log_0(1);
//! sb.metadata().put(logs, Precondition::None).expect("no precondition to fail");
//! sb.start(5)?;
//! let ready = sb.invoke(5, Op::WaitForMetadata(MetadataKind::Logs, 1));
//! sb.run_until_done(ready)?;
//! let find = sb.invoke(5, Op::FindTail(0));
//! assert_eq!(sb.run_until_done(find)?, OpResult::Failed(ClientError::UnknownLog(0)));
//! assert!(matches!(sb.node(5).cached_logs().unwrap().source, Source::Peer(_)));
//! # Ok::<(), logsandbox::Error>(())
//! ```
//!
//! Map of the crate, one noun per module:
//! - [`config`]: the settings of a sandbox as one value made of parts (cluster,
//!   latencies, metadata, limits, components), with every default;
//! - [`sandbox`]: the handle (builder, driving, faults, inspection, async wrapper);
//! - `sim` (private): the discrete-event loop and the world it runs;
//! - [`net`]: envelopes, the fault seam's rules, links;
//! - [`runtime`]: wasmtime engine, compiled components (cached on disk), a store per node;
//! - [`storage`]: a node's redb database with its live (not yet durable) view;
//! - [`metadata_store`]: the versioned key-value store with preconditions;
//! - [`workload`]: sans-IO drivers (Restate's append/seal body, random operations, scripts);
//! - [`check`]: invariants over any history, one family per file;
//! - [`conform`]: the conformance suite of a log-server component, rule by rule;
//! - [`record`]: what a run records: its trace and hash (`record::trace`, crate-private;
//!   [`TraceRecord`]), the journal of who talked to whom, the history of client operations
//!   (and its file read back), the metadata values offered to the caches;
//! - [`show`]: how a run is told: the report and its verdict, the timeline, the
//!   `messages.svg` diagram, `explain`, and the text helpers they share;
//! - [`scenario`]: scenario files, keys, faults, steps, built-ins;
//! - [`explore`]: many seeds in parallel, and latency sweeps;
//! - [`op`], [`fault`], [`latency`], [`time`], [`seeds`]: the vocabulary;
//! - [`error`]: errors, per operation, and an umbrella;
//! - [`bindings`]: the WIT contract, host side.
//!
//! The modules of the record and the show are also reachable at their paths from before
//! they had folders (`logsandbox::report`, `history`, `history_file`, `journal`,
//! `timeline`, `diagram`, `explain`), for a turn.
//!
//! Every run is deterministic: the same seed and the same calls give the same trace hash.
//! A guest's failure (a trap, an overrun, an effect the host refuses) crashes that node
//! only, and is blamed on it.
#![warn(missing_docs)]

pub mod bindings;
pub mod check;
pub mod classify;
pub mod config;
pub mod conform;
pub mod error;
pub mod explore;
pub mod fault;
pub mod latency;
pub mod metadata_store;
pub mod net;
pub mod op;
pub mod record;
pub mod runtime;
pub mod sandbox;
pub mod scenario;
pub mod seeds;
pub mod show;
pub(crate) mod sim;
pub mod storage;
pub mod time;
pub mod workload;

// The paths from before the record and the show had folders, kept for a turn.
pub use record::{history, history_file, journal};
pub use show::{diagram, explain, report, timeline};

pub use bindings::{
    Chain, Logs, MetadataValue, Precondition, ProviderKind, ReplicatedParams, Segment, StoreError,
};
pub use check::{Check, CheckResult};
pub use config::{
    Cluster, ClusterError, ClusterSpec, Components, Config, Latencies, MetadataSetup, RunLimits,
};
pub use error::{BuildError, Error, RunError, SimError};
pub use fault::Fault;
pub use latency::Latency;
pub use metadata_store::{HarnessPuts, Outage, Proxy};
pub use net::LinkStats;
pub use net::envelope::{Endpoint, Envelope};
pub use net::rules::{Route, Rule, RuleId, Verdict};
pub use op::{
    ChainTail, ClientError, Extended, LogId, LogTail, Lsn, MetadataKind, NodeId, OLDEST,
    OLDEST_LSN, Offset, Op, OpId, OpResult, RacePoint, ReadRecord, RecoveryStrategy, SealAndExtend,
    SegmentIndex, TailState, Version,
};
pub use record::history::{History, OpRecord, Process};
pub use record::trace::{TraceRecord, describe_value};
pub use runtime::Component;
pub use sandbox::asynchronous::AsyncSandbox;
pub use sandbox::inspect::{MetadataHandle, NodeView, Role};
pub use sandbox::pace::{Pace, PaceError};
pub use sandbox::{Condition, Sandbox, SandboxBuilder};
pub use scenario::Scenario;
pub use show::report::RunReport;
pub use sim::{CachedLogs, LogletReport, NodeStatus, Source};
pub use time::{SimTime, ms, secs, us};
pub use workload::{Action, Workload};

// The old names, for a turn: `Runtime` is `Component`, `Path` is `Route`.
#[allow(deprecated)]
pub use net::rules::Path;
#[allow(deprecated)]
pub use runtime::Runtime;
