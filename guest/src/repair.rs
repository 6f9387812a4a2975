//! Planning the repair of a sealed loglet's tail: which records of the gap
//! `[global tail, max local tail)` lack a write quorum, and which runs of records to copy
//! to which log-servers so that each has one.
//!
//! Log-servers never buffer or reorder: a store is taken only when its first offset is at
//! most the node's local tail or the global tail its header claims. A repair claims only
//! the true global tail (the start of the gap, below which everything is committed), so
//! each copy is a run that starts where its target can take it, at its local tail, and
//! reaches the last record it must hold. A node's hole below its own local tail (left by a
//! store the global tail let through) cannot be filled: such a store is answered "already
//! stored" without a write. So a record goes only to nodes whose local tail has not
//! passed it.

use std::collections::BTreeMap;

use crate::bindings::logsandbox::node::log_server_protocol::RecordStatus;
use crate::bindings::logsandbox::node::types::{LogletOffset, NodeId};

/// What a node's digest says it holds: `(from, to, status)` ranges.
pub type DigestEntries = Vec<(LogletOffset, LogletOffset, RecordStatus)>;

/// What to copy where.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Per target node, the run `[first, last]` of records to store on it.
    pub runs: BTreeMap<NodeId, (LogletOffset, LogletOffset)>,
    /// Per record the runs need, a node to read it from.
    pub sources: BTreeMap<LogletOffset, NodeId>,
    /// Some record cannot reach a write quorum from the nodes that answered (no one holds
    /// it, or too few could take it): after this repair, look again.
    pub short: bool,
}

/// Plans the repair of `[from, to]` to `k` copies, from the digests of the nodes that
/// answered and their local tails; copies go to the nodes of `prefer` first (the sealed
/// ones), then to the others in id order.
pub fn plan(
    from: LogletOffset,
    to: LogletOffset,
    k: usize,
    digests: &BTreeMap<NodeId, DigestEntries>,
    local_tails: &BTreeMap<NodeId, LogletOffset>,
    prefer: &[NodeId],
) -> Plan {
    let mut holders: BTreeMap<LogletOffset, Vec<NodeId>> = BTreeMap::new();
    for (node, entries) in digests {
        for &(a, b, status) in entries {
            if status == RecordStatus::Exists && a <= to && b >= from {
                for o in a.max(from)..=b.min(to) {
                    holders.entry(o).or_default().push(*node);
                }
            }
        }
    }
    let mut order: Vec<NodeId> = prefer
        .iter()
        .copied()
        .filter(|n| digests.contains_key(n))
        .collect();
    for node in digests.keys() {
        if !order.contains(node) {
            order.push(*node);
        }
    }
    let mut plan = Plan::default();
    for offset in from..=to {
        let have = holders.get(&offset).map_or(&[][..], |h| h.as_slice());
        if have.len() >= k {
            continue;
        }
        if have.is_empty() {
            // No node that answered holds it (its holder went silent).
            plan.short = true;
            continue;
        }
        let mut wanted = k - have.len();
        for &node in &order {
            if wanted == 0 {
                break;
            }
            let reachable = local_tails.get(&node).is_some_and(|t| *t <= offset);
            if have.contains(&node) || !reachable {
                continue;
            }
            let start = local_tails[&node].max(from);
            let run = plan.runs.entry(node).or_insert((start, offset));
            run.1 = run.1.max(offset);
            wanted -= 1;
        }
        if wanted > 0 {
            plan.short = true;
        }
    }
    // Every record of every run needs a source; a run through a record nobody holds
    // cannot be stored, so it is dropped.
    let runs = std::mem::take(&mut plan.runs);
    for (node, (first, last)) in runs {
        let sources: Option<Vec<(LogletOffset, NodeId)>> = (first..=last)
            .map(|o| holders.get(&o).and_then(|h| h.first()).map(|s| (o, *s)))
            .collect();
        match sources {
            Some(sources) => {
                plan.sources.extend(sources);
                plan.runs.insert(node, (first, last));
            }
            None => plan.short = true,
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exists(ranges: &[(u32, u32)]) -> DigestEntries {
        ranges
            .iter()
            .map(|&(a, b)| (a, b, RecordStatus::Exists))
            .collect()
    }

    #[test]
    fn a_record_on_one_node_is_copied_to_a_node_that_can_take_it_in_order() {
        // 183 is on N1 only; N2 took 184 through the global tail and has a hole at 183;
        // N3 stopped at 183. Only N3 can take 183, with 183 as its run.
        let digests = BTreeMap::from([
            (1, exists(&[(183, 184)])),
            (2, exists(&[(184, 184)])),
            (3, exists(&[])),
        ]);
        let tails = BTreeMap::from([(1, 185), (2, 185), (3, 183)]);
        let plan = plan(183, 184, 2, &digests, &tails, &[2, 1, 3]);
        assert_eq!(plan.runs, BTreeMap::from([(3, (183, 183))]));
        assert_eq!(plan.sources, BTreeMap::from([(183, 1)]));
        assert!(!plan.short);
    }

    #[test]
    fn a_run_starts_at_the_targets_local_tail_and_reaches_the_last_short_record() {
        // 201 and 202 are on N2 only; N1 stopped at 201.
        let digests = BTreeMap::from([(1, exists(&[])), (2, exists(&[(201, 202)]))]);
        let tails = BTreeMap::from([(1, 201), (2, 203)]);
        let plan = plan(201, 202, 2, &digests, &tails, &[]);
        assert_eq!(plan.runs, BTreeMap::from([(1, (201, 202))]));
        assert_eq!(plan.sources, BTreeMap::from([(201, 2), (202, 2)]));
    }

    #[test]
    fn a_record_nobody_who_answered_holds_makes_the_plan_short() {
        let digests = BTreeMap::from([(1, exists(&[(10, 10)])), (2, exists(&[(10, 10)]))]);
        let tails = BTreeMap::from([(1, 11), (2, 11)]);
        let plan = plan(10, 11, 2, &digests, &tails, &[]);
        assert!(plan.short);
        assert!(plan.runs.is_empty());
    }

    #[test]
    fn records_with_a_quorum_need_nothing() {
        let digests = BTreeMap::from([(1, exists(&[(5, 6)])), (2, exists(&[(5, 6)]))]);
        let tails = BTreeMap::from([(1, 7), (2, 7), (3, 5)]);
        assert_eq!(plan(5, 6, 2, &digests, &tails, &[]), Plan::default());
    }
}
