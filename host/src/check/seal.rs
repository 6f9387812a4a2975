//! A sealed tail bounds its segment for good:
//! - `no_ack_beyond_published_seal`: once a segment's sealed tail is published, no append
//!   may be acknowledged at or beyond it, before or after, short of where the chain goes on
//!   (the base of the next segment, which a seal-and-extend sets at the sealed tail);
//! - `sealed_tails_agree`: once a segment's end is in the chain (an acknowledged
//!   seal-and-extend put the next segment there), the chain says one thing: every
//!   seal-and-extend of that segment extended it at the same LSN. Sealed tails reported at
//!   the loglet level (the sequencer's seal, a find-tail, on any node) that differ from each
//!   other or from the chain are reported as information: Restate permits them (a sequencer
//!   publishes its own known tail with no repair, a find-tail on the log-servers repairs
//!   beyond it), and they are the precondition of #5054.

use super::{Check, CheckResult, HistoryIndex};
use std::collections::BTreeMap;

use crate::op::{Lsn, SegmentIndex, split_tail};
use crate::record::history::OpRecord;
use crate::time::fmt_duration;

/// Every acknowledged offset lies below every sealed tail seen, and every sealed tail
/// seen is the same.
pub struct NoAckBeyondSeal;

impl Check for NoAckBeyondSeal {
    fn judge(&self, history: &HistoryIndex) -> Vec<CheckResult> {
        vec![no_ack_beyond(history), sealed_tails_agree(history)]
    }
}

fn sealed_tails_agree(history: &HistoryIndex) -> CheckResult {
    let mut seen = 0;
    let mut problems = Vec::new();
    let mut differ = Vec::new();
    for (log, facts) in &history.logs {
        let of_log = if history.logs.len() > 1 {
            format!("log {log}: ")
        } else {
            String::new()
        };
        // The chain's account: segment i ends where an acknowledged seal-and-extend put
        // segment i + 1. Two different ones mean the chain said two things.
        let mut chain: BTreeMap<SegmentIndex, Lsn> = BTreeMap::new();
        for &(next, base) in &facts.extensions {
            let Some(segment) = next.checked_sub(1) else {
                continue;
            };
            match chain.get(&segment) {
                None => {
                    chain.insert(segment, base);
                }
                Some(&other) if other != base => problems.push(format!(
                    "{of_log}segment {segment} was extended at LSN {other} and at LSN {base}"
                )),
                Some(_) => {}
            }
        }
        // The loglets' accounts: a sequencer publishes its own known tail, a find-tail on
        // the log-servers repairs what lies beyond it; Restate lets them differ.
        let mut first: BTreeMap<SegmentIndex, (Lsn, &OpRecord)> = BTreeMap::new();
        for t in &facts.tails {
            let (offset, sealed) = split_tail(&t.tail);
            if !sealed {
                continue;
            }
            seen += 1;
            let segment = t.tail.segment_index;
            let told = |by: &OpRecord, tail: Lsn| {
                format!(
                    "{} ({}, on N{}) sealed tail {tail} at {}",
                    by.id,
                    by.process,
                    by.node,
                    fmt_duration(by.completed_at().map_or(0, |c| c.0)),
                )
            };
            match chain.get(&segment) {
                Some(&end) if end != offset => differ.push(format!(
                    "{of_log}segment {segment} ends at LSN {end} in the chain, {}",
                    told(t.op, offset)
                )),
                _ => {}
            }
            match first.get(&segment).copied() {
                None => {
                    first.insert(segment, (offset, t.op));
                }
                Some((tail, by)) if tail != offset && !chain.contains_key(&segment) => {
                    differ.push(format!(
                        "{of_log}segment {segment}: {}, {}",
                        told(t.op, offset),
                        told(by, tail)
                    ));
                }
                Some(_) => {}
            }
        }
    }
    let detail = if !problems.is_empty() {
        problems.join("; ")
    } else if seen == 0 && differ.is_empty() {
        "no sealed tail was reported".to_string()
    } else if differ.is_empty() {
        format!("{seen} sealed tails reported, all the same")
    } else {
        // Restate permits it (R10, R12), and it is #5054's precondition: say so, once.
        let mut shown: Vec<String> = super::first_ten(&differ).to_vec();
        if differ.len() > shown.len() {
            shown.push(format!("{} more", differ.len() - shown.len()));
        }
        format!(
            "information: loglet-level sealed tails differ, as Restate permits (a sequencer \
             publishes its own known tail, a find-tail on the log-servers repairs beyond it; \
             #5054's precondition): {}",
            shown.join("; ")
        )
    };
    CheckResult::new("sealed_tails_agree", problems.is_empty(), detail)
}

fn no_ack_beyond(history: &HistoryIndex) -> CheckResult {
    let mut sentences = Vec::new();
    let mut pass = true;
    for (log, facts) in &history.logs {
        // The lowest sealed tail of the earliest segment sealed: acknowledgements at or
        // beyond it, short of where the chain goes on, were made in the sealed segment.
        let lowest_seal = facts
            .tails
            .iter()
            .filter_map(|t| {
                let (offset, sealed) = split_tail(&t.tail);
                sealed.then_some((
                    t.tail.segment_index,
                    offset,
                    t.op.completed_at().map_or(0, |c| c.0),
                    t.op.id,
                ))
            })
            .min();
        let Some((segment, tail, at, by)) = lowest_seal else {
            continue;
        };
        let goes_on = facts.next_base_after(segment).unwrap_or(Lsn::MAX);
        let max = facts
            .acks
            .iter()
            .filter(|a| a.lsn < goes_on)
            .max_by_key(|a| (a.lsn, a.op.id));
        let ok = max.is_none_or(|m| m.lsn < tail);
        pass &= ok;
        // The operations are named (`#N`) when the check fails: `explain` starts there.
        sentences.push(format!(
            "{}sealed tail {tail} published at {}{}; highest acknowledged offset {}",
            if history.logs.len() > 1 {
                format!("log {log}: ")
            } else {
                String::new()
            },
            fmt_duration(at),
            if ok {
                String::new()
            } else {
                format!(" by {by}")
            },
            match max {
                None => "none".into(),
                Some(m) if !ok => format!("{} (acknowledged to {})", m.lsn, m.op.id),
                Some(m) => m.lsn.to_string(),
            }
        ));
    }
    CheckResult::new(
        "no_ack_beyond_published_seal",
        pass,
        if sentences.is_empty() {
            "no sealed tail was published".to_string()
        } else {
            sentences.join("; ")
        },
    )
}
