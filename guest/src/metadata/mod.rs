//! The metadata plane of a node: the cached Logs and Restate's version rule
//! ([`cache`]), the update task that brings new versions from peers and the store
//! ([`update_task`]), and one call to the metadata store with its retries and timeout
//! ([`store_call`]).
//!
//! The plane's vocabulary lives here, in the lowest room of the folder: the store key
//! of the Logs and the versions every room of the plane compares against. The cache
//! drives the update task, which makes store calls; none of them reaches back up.

use crate::bindings::logsandbox::node::types::Version;

pub mod cache;
pub mod chain_writer;
pub mod store_call;
pub mod update_task;

/// The metadata-store key of the Logs value.
pub const LOGS_KEY: &str = "bifrost_config";
/// The version of no value: nothing is cached.
pub const INVALID: Version = 0;
/// The first version a value has: the provisioner's empty Logs.
pub const MIN: Version = 1;
