//! Reads against what was written:
//! - `reads_see_acknowledged`: a read returns every record acknowledged before it was
//!   invoked (unless a trim may have removed it), with the payload that was acknowledged,
//!   and nothing no append sent, and no payload twice;
//! - `no_holes_below_tail`: a read returns every offset below a tail seen before it was
//!   invoked (trimmed ones aside). A sealed log with a hole below its sealed tail, or an
//!   open tail reported beyond what a write quorum holds, fails here even when no
//!   acknowledged record is missing.

use std::collections::{BTreeMap, BTreeSet};

use super::{Check, CheckResult, HistoryIndex, first_ten};
use crate::op::Offset;

/// The read family.
pub struct Reads;

impl Check for Reads {
    fn judge(&self, history: &HistoryIndex) -> Vec<CheckResult> {
        vec![see_acknowledged(history), no_holes(history)]
    }
}

fn see_acknowledged(history: &HistoryIndex) -> CheckResult {
    let mut problems = Vec::new();
    let mut reads = 0;
    for (log, facts) in &history.logs {
        let acked: BTreeMap<Offset, &[u8]> = facts
            .acks
            .iter()
            .rev()
            .map(|a| (a.offset, a.payload))
            .collect();
        for read in &facts.reads {
            reads += 1;
            let got: BTreeMap<Offset, &[u8]> = read
                .records
                .iter()
                .map(|r| (r.offset, r.payload.as_slice()))
                .collect();
            let trimmed = facts.trim_before(read.op);
            let missing: Vec<Offset> = facts
                .acks
                .iter()
                .filter(|a| {
                    a.op.precedes(read.op)
                        && (read.from..read.to).contains(&a.offset)
                        && a.offset > trimmed
                        && !got.contains_key(&a.offset)
                })
                .map(|a| a.offset)
                .collect();
            let wrong: Vec<Offset> = got
                .iter()
                .filter(|(o, p)| acked.get(o).is_some_and(|a| a != *p))
                .map(|(o, _)| *o)
                .collect();
            let mut seen = BTreeSet::new();
            let stray: Vec<Offset> = got
                .iter()
                .filter(|(_, p)| !facts.sent.contains(*p) || !seen.insert(**p))
                .map(|(o, _)| *o)
                .collect();
            if !(missing.is_empty() && wrong.is_empty() && stray.is_empty()) {
                problems.push(format!(
                    "log {log}: {} ({}) at {} read {} records: missing acknowledged offsets {:?}; wrong payload at {:?}; stray or repeated records at {:?}",
                    read.op.id,
                    read.op.op,
                    read.op.invoked,
                    got.len(),
                    first_ten(&missing),
                    first_ten(&wrong),
                    first_ten(&stray)
                ));
            }
        }
    }
    CheckResult::new(
        "reads_see_acknowledged",
        problems.is_empty(),
        if problems.is_empty() {
            format!(
                "{reads} reads; each returned every record acknowledged before it, with its payload, none stray or repeated"
            )
        } else {
            problems.join("; ")
        },
    )
}

fn no_holes(history: &HistoryIndex) -> CheckResult {
    let mut problems = Vec::new();
    let mut judged = 0;
    for (log, facts) in &history.logs {
        for read in &facts.reads {
            let Some((tail, seen_by)) = facts.tail_seen_before(read.op) else {
                continue;
            };
            judged += 1;
            let trimmed = facts.trim_before(read.op);
            let got: BTreeSet<Offset> = read.records.iter().map(|r| r.offset).collect();
            let from = read.from.max(trimmed.saturating_add(1));
            let to = read.to.min(tail);
            let holes: Vec<Offset> = (from..to).filter(|o| !got.contains(o)).collect();
            if !holes.is_empty() {
                problems.push(format!(
                    "log {log}: {} ({}) at {} found no record at offsets {:?} ({} in all), below the tail {tail} that {} ({}) saw",
                    read.op.id,
                    read.op.op,
                    read.op.invoked,
                    first_ten(&holes),
                    holes.len(),
                    seen_by.id,
                    seen_by.process
                ));
            }
        }
    }
    CheckResult::new(
        "no_holes_below_tail",
        problems.is_empty(),
        if problems.is_empty() {
            format!("{judged} reads after a tail was seen; none found a hole below it")
        } else {
            problems.join("; ")
        },
    )
}
