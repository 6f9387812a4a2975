//! The metadata values offered to the nodes' caches, as the simulator records them (taken,
//! or dropped as not newer). It lives in the record, below the simulator that writes it
//! and the report that prints it (`metadata_offers` of `--json`, the demo).

use serde::Serialize;

/// A metadata value offered to a node's cache: taken, or dropped as not newer.
#[derive(Debug, Clone, Serialize)]
pub struct MetadataOffer {
    /// The node whose cache it was offered to.
    pub node: u32,
    /// When (virtual ns).
    pub at_ns: u64,
    /// Its version.
    pub version: u32,
    /// `metadata store`, `peer N1` or `own write`.
    pub source: String,
    /// `empty`, or `log 0 -> 0_0 on [1, 2, 3]`.
    pub value: String,
    /// It has a chain for log 0.
    pub has_log0: bool,
    /// Taken by the cache (strictly newer), or dropped.
    pub accepted: bool,
}
