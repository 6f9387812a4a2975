//! Host-side types and traits generated from `wit/node.wit`.
//!
//! Imports are trappable: a host function returns `wasmtime::Result`, and an `Err`
//! traps the guest, which crashes that node only (for example on a malformed effect).
//! Every generated type compares with `==`, so tests can assert on results and values.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "log-node",
    imports: { default: trappable },
    additional_derives: [PartialEq, Eq],
});

pub use self::exports::logsandbox::node::node::{Config, Event, Roles};
pub use self::logsandbox::node::client::{
    Append, ChainTail, ClientError, Extended, LogTail, Op, OpResult, ReadRecord, RecoveryStrategy,
    SealAndExtend,
};
pub use self::logsandbox::node::host::Level;
pub use self::logsandbox::node::host::RacePoint;
pub use self::logsandbox::node::log_server_protocol::{Reply, ReplyHeader, Request};
pub use self::logsandbox::node::messages::{Body, Message, SequencerAnswer};
pub use self::logsandbox::node::metadata::{
    Chain, Logs, MetadataKind, MetadataValue, Precondition, ProviderKind, ReplicatedParams,
    Segment, StoreError, StoreResponse, UpdateSource,
};
pub use self::logsandbox::node::storage::{Entry, WriteOp};
pub use self::logsandbox::node::types::{Status, TailState};
