//! `acknowledged_durable`: every acknowledged record sits, with its payload, in the durable
//! storage of at least `replication` log-servers of its loglet at the end of the run.
//!
//! The other checks read the history, which is what clients were told; this one reads what
//! the log-servers' databases hold, through the host, so a guest that acknowledges appends
//! it never replicated (or keeps them in memory, or on one node) fails here however
//! consistent its answers are. Log-servers keep record `offset` of `loglet` under
//! `record_key`, the layout `wit/node.wit` asks of them. Copies lost with a wiped disk
//! are forgiven: each wiped node of the nodeset lowers the copies required by one.

use std::collections::BTreeMap;

use super::{CheckResult, HistoryIndex, first_ten};
use crate::op::{LogId, Lsn, NodeId, Offset, SegmentIndex, fmt_loglet};

/// The kind byte of a record key.
const RECORD: u8 = b'd';

/// The key of record `offset` of `loglet` in a log-server's database: `d`, the loglet id
/// (u64, big-endian), then the offset (u32, big-endian); the value is the payload.
pub(crate) fn record_key(loglet: u64, offset: Offset) -> Vec<u8> {
    let mut key = Vec::with_capacity(13);
    key.push(RECORD);
    key.extend_from_slice(&loglet.to_be_bytes());
    key.extend_from_slice(&offset.to_be_bytes());
    key
}

/// The keys of every record of `loglet`: `start..end`.
pub(crate) fn record_range(loglet: u64) -> (Vec<u8>, Vec<u8>) {
    let start = record_key(loglet, 0);
    let end = match loglet.checked_add(1) {
        Some(next) => record_key(next, 0),
        None => vec![RECORD + 1],
    };
    (start, end)
}

/// The offset of a record key, if it is one.
pub fn offset_of(key: &[u8]) -> Option<Offset> {
    match key {
        [RECORD, _loglet @ .., a, b, c, d] if key.len() == 13 => {
            Some(u32::from_be_bytes([*a, *b, *c, *d]))
        }
        _ => None,
    }
}

/// What the log-servers' databases hold of one segment's loglet at the end of a run.
#[derive(Debug, Clone, Default)]
pub struct StoredSegment {
    /// The segment's index in its chain.
    pub index: SegmentIndex,
    /// Its base LSN: the LSN of the loglet's offset 1.
    pub base: Lsn,
    /// Where it ends (exclusive): the next segment's base; none for the tail segment.
    pub end: Option<Lsn>,
    /// The loglet.
    pub loglet: u64,
    /// Its nodeset.
    pub nodeset: Vec<NodeId>,
    /// Its write quorum.
    pub replication: usize,
    /// Nodes of the nodeset whose disk was lost during the run.
    pub wiped: Vec<NodeId>,
    /// Per offset, the durable copies: the node and the payload it holds.
    pub copies: BTreeMap<Offset, Vec<(NodeId, Vec<u8>)>>,
    /// Nodes whose database could not be read, and why.
    pub unreadable: Vec<(NodeId, String)>,
}

impl StoredSegment {
    /// Whether `lsn` falls in this segment.
    pub fn holds(&self, lsn: Lsn) -> bool {
        lsn >= self.base && self.end.is_none_or(|end| lsn < end)
    }

    /// The loglet offset of `lsn` in this segment, if it maps to one.
    pub fn offset_of(&self, lsn: Lsn) -> Option<Offset> {
        Offset::try_from(lsn.checked_sub(self.base)?.checked_add(1)?).ok()
    }

    /// The copies held of `lsn`.
    pub fn copies_of(&self, lsn: Lsn) -> &[(NodeId, Vec<u8>)] {
        self.offset_of(lsn)
            .and_then(|o| self.copies.get(&o))
            .map_or(&[], |c| c.as_slice())
    }
}

/// What the log-servers' databases hold of one log at the end of a run: each segment of
/// its chain in the metadata store that has a loglet, oldest first.
#[derive(Debug, Clone, Default)]
pub struct StoredLog {
    /// The segments.
    pub segments: Vec<StoredSegment>,
}

impl StoredLog {
    /// The segment that holds `lsn`.
    pub fn segment_of(&self, lsn: Lsn) -> Option<&StoredSegment> {
        self.segments.iter().rev().find(|s| s.holds(lsn))
    }

    /// The copies held of `lsn`, in whichever segment holds it.
    pub fn copies_of(&self, lsn: Lsn) -> &[(NodeId, Vec<u8>)] {
        self.segment_of(lsn).map_or(&[], |s| s.copies_of(lsn))
    }
}

/// Judges the acknowledged appends of `history` against `stored`, per log: each
/// acknowledged LSN is mapped through the final chain to its segment's loglet and offset.
pub fn acknowledged_durable(
    history: &HistoryIndex,
    stored: &BTreeMap<LogId, StoredLog>,
) -> CheckResult {
    let mut problems = Vec::new();
    let mut judged = 0;
    let mut forgiven = Vec::new();
    for (log, facts) in &history.logs {
        if facts.acks.is_empty() {
            continue;
        }
        // Trimmed records are gone by design: any trim that may have taken effect counts.
        let trimmed = facts
            .trims
            .iter()
            .map(|t| t.acknowledged.unwrap_or(t.point).max(t.point))
            .max()
            .unwrap_or(0);
        let Some(stored) = stored.get(log).filter(|s| !s.segments.is_empty()) else {
            // A chain trimmed up to its seal marker names no loglet, and needs none.
            let kept = facts.acks.iter().filter(|a| a.lsn > trimmed).count();
            if kept > 0 {
                problems.push(format!(
                    "log {log}: {kept} appends acknowledged above the trim point, but the metadata store names no loglet for it",
                ));
            }
            continue;
        };
        for segment in &stored.segments {
            for (node, why) in &segment.unreadable {
                problems.push(format!(
                    "log {log}: N{node}'s database could not be read: {why}"
                ));
            }
            if !segment.wiped.is_empty() {
                forgiven.push(format!(
                    "log {log}: loglet {}: {} copies required, {} disks lost",
                    fmt_loglet(segment.loglet),
                    segment.replication.saturating_sub(segment.wiped.len()),
                    segment.wiped.len()
                ));
            }
        }
        // Per loglet, the acknowledged LSNs short of copies, and the fewest copies seen.
        let mut short: BTreeMap<u64, (Vec<Lsn>, usize, usize)> = BTreeMap::new();
        let mut outside = Vec::new();
        for ack in facts.acks.iter().filter(|a| a.lsn > trimmed) {
            judged += 1;
            let Some(segment) = stored.segment_of(ack.lsn) else {
                outside.push(ack.lsn);
                continue;
            };
            let required = segment.replication.saturating_sub(segment.wiped.len());
            let holders = segment
                .copies_of(ack.lsn)
                .iter()
                .filter(|(_, p)| p == ack.payload)
                .count();
            if holders < required {
                let entry =
                    short
                        .entry(segment.loglet)
                        .or_insert((Vec::new(), usize::MAX, required));
                entry.0.push(ack.lsn);
                entry.1 = entry.1.min(holders);
            }
        }
        if !outside.is_empty() {
            problems.push(format!(
                "log {log}: {} acknowledged LSNs lie in no segment of the chain (trimmed from it without a trim?): {:?}",
                outside.len(),
                first_ten(&outside)
            ));
        }
        for (loglet, (lsns, fewest, required)) in short {
            problems.push(format!(
                "log {log}: {} acknowledged records are durable on fewer than {required} log-servers of loglet {} (as few as {fewest}): LSNs {:?}",
                lsns.len(),
                fmt_loglet(loglet),
                first_ten(&lsns),
            ));
        }
    }
    let detail = if !problems.is_empty() {
        problems.join("; ")
    } else if judged == 0 {
        "no acknowledged record to look for".to_string()
    } else {
        let mut d = format!(
            "{judged} acknowledged records, each durable with its payload on a write quorum of log-servers"
        );
        if !forgiven.is_empty() {
            d.push_str(&format!(" ({})", forgiven.join("; ")));
        }
        d
    };
    CheckResult::new("acknowledged_durable", problems.is_empty(), detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keys_sort_by_loglet_then_offset_and_decode() {
        assert!(record_key(1, 300) < record_key(2, 0));
        assert!(record_key(1, 2) < record_key(1, 256));
        assert_eq!(offset_of(&record_key(7, 201)), Some(201));
        assert_eq!(offset_of(b"x"), None);
        let (start, end) = record_range(u64::MAX);
        assert!(start < end);
    }
}
