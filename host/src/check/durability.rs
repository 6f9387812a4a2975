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
use crate::op::{LogId, NodeId, Offset};

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

/// What the log-servers' databases hold of one log's loglet at the end of a run.
#[derive(Debug, Clone, Default)]
pub struct StoredLog {
    /// The loglet (the last segment of the log's chain in the metadata store).
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

/// Judges the acknowledged appends of `history` against `stored`, per log.
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
        let Some(stored) = stored.get(log) else {
            problems.push(format!(
                "log {log}: {} appends acknowledged, but the metadata store names no loglet for it",
                facts.acks.len()
            ));
            continue;
        };
        for (node, why) in &stored.unreadable {
            problems.push(format!(
                "log {log}: N{node}'s database could not be read: {why}"
            ));
        }
        // Trimmed records are gone by design: any trim that may have taken effect counts.
        let trimmed = facts
            .trims
            .iter()
            .map(|t| t.acknowledged.unwrap_or(t.point).max(t.point))
            .max()
            .unwrap_or(0);
        let required = stored.replication.saturating_sub(stored.wiped.len());
        if !stored.wiped.is_empty() {
            forgiven.push(format!(
                "log {log}: {} copies required, {} disks lost",
                required,
                stored.wiped.len()
            ));
        }
        let mut short = Vec::new();
        for ack in facts.acks.iter().filter(|a| a.offset > trimmed) {
            judged += 1;
            let holders = stored.copies.get(&ack.offset).map_or(0, |copies| {
                copies.iter().filter(|(_, p)| p == ack.payload).count()
            });
            if holders < required {
                short.push((ack.offset, holders));
            }
        }
        if !short.is_empty() {
            let offsets: Vec<Offset> = short.iter().map(|(o, _)| *o).collect();
            let fewest = short.iter().map(|(_, h)| *h).min().unwrap_or(0);
            problems.push(format!(
                "log {log}: {} acknowledged records are durable on fewer than {required} log-servers of loglet {} (as few as {fewest}): offsets {:?}",
                short.len(),
                stored.loglet,
                first_ten(&offsets),
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
