//! `[[metadata.segments]]`: the chain of log 0 a scenario installs, segment by segment.
//!
//! ```toml
//! [[metadata.segments]]
//! base_lsn = 1                 # its first LSN
//!
//! [[metadata.segments]]
//! base_lsn = 11                # index: one above the last (or `index = 4`)
//! sequencer = 6                # default: the cluster's
//! nodeset = [1, 2, 3]          # default: every log-server
//! replication = 2              # default: the cluster's
//!
//! [[metadata.segments]]
//! base_lsn = 20
//! kind = "sealed"              # the chain's seal marker, sealed at LSN 20
//! ```
//!
//! The chain rules (bases increasing, the marker last...) are checked with the cluster
//! they need, in `config::chain`.

use super::ScenarioError;
use super::faults::Fields;
use crate::config::{SegmentKind, SegmentSpec};

/// Reads every segment, naming `metadata.segments[i].field` in each error.
pub(super) fn parse_segments(
    file: &str,
    items: Vec<toml::Value>,
) -> Result<Vec<SegmentSpec>, ScenarioError> {
    let mut segments = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let key = format!("metadata.segments[{i}]");
        let mut f = Fields::of_item(file, key, item, "{ base_lsn = 11 }")?;
        let base_lsn = f
            .integer("base_lsn", i64::MAX as u64)?
            .ok_or_else(|| f.bad("base_lsn", "missing: the segment's first LSN"))?;
        let kind = match f.text("kind")?.as_deref() {
            None | Some("replicated") => SegmentKind::Replicated,
            Some("sealed") => SegmentKind::Sealed,
            Some(other) => {
                return Err(f.bad(
                    "kind",
                    format!("{other:?} is not \"replicated\" or \"sealed\""),
                ));
            }
        };
        let spec = SegmentSpec {
            base_lsn,
            index: f.integer("index", u32::MAX as u64)?.map(|v| v as u32),
            kind,
            sequencer: if f.has("sequencer") {
                Some(f.node("sequencer")?)
            } else {
                None
            },
            nodeset: f.nodes("nodeset")?,
            replication: f.integer("replication", u8::MAX as u64)?.map(|v| v as u8),
        };
        f.finish()?;
        segments.push(spec);
    }
    Ok(segments)
}
