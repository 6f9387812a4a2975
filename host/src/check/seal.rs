//! A sealed tail bounds its segment for good:
//! - `no_ack_beyond_published_seal`: once a segment's sealed tail is published, no append
//!   may be acknowledged at or beyond it, before or after, short of where the chain goes on
//!   (the base of the next segment, which a seal-and-extend sets at the sealed tail);
//! - `sealed_tails_agree`: everyone who reports a sealed tail of a segment (the
//!   sequencer's seal, a remote seal, any find-tail, on any node) reports the same one.
//!   Two readers told different sealed tails disagree on which records the log holds.

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
    for (log, facts) in &history.logs {
        let mut first: BTreeMap<SegmentIndex, (Lsn, &OpRecord)> = BTreeMap::new();
        for t in &facts.tails {
            let (offset, sealed) = split_tail(&t.tail);
            if !sealed {
                continue;
            }
            seen += 1;
            let segment = t.tail.segment_index;
            let of_segment = if segment == 0 {
                String::new()
            } else {
                format!(" of segment {segment}")
            };
            match first.get(&segment).copied() {
                None => {
                    first.insert(segment, (offset, t.op));
                }
                Some((tail, by)) if tail != offset => {
                    problems.push(format!(
                        "log {log}: {} ({}, on N{}) was told sealed tail {offset}{of_segment} at {}, {} ({}, on N{}) sealed tail {tail} at {}",
                        t.op.id,
                        t.op.process,
                        t.op.node,
                        fmt_duration(t.op.completed_at().map_or(0, |c| c.0)),
                        by.id,
                        by.process,
                        by.node,
                        fmt_duration(by.completed_at().map_or(0, |c| c.0)),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    CheckResult::new(
        "sealed_tails_agree",
        problems.is_empty(),
        if !problems.is_empty() {
            problems.join("; ")
        } else if seen == 0 {
            "no sealed tail was reported".to_string()
        } else {
            format!("{seen} sealed tails reported, all the same")
        },
    )
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
