//! Reads against what was written:
//! - `reads_see_acknowledged`: a read returns every record acknowledged before it was
//!   invoked (unless a trim may have removed it), with the payload that was acknowledged,
//!   and nothing no append sent, and no payload twice;
//! - `no_holes_below_tail`: a read returns every offset below a tail seen before it was
//!   invoked (trimmed ones aside). A sealed log with a hole below its sealed tail, or an
//!   open tail reported beyond what a write quorum holds, fails here even when no
//!   acknowledged record is missing;
//! - `reads_contiguous`: what a read returns is one run of offsets with no gap, inside the
//!   range asked for, starting at its first offset (or just past a trim point that may be
//!   in force), and not reaching a sealed tail anyone reported. A gap at or below such a
//!   trim point is allowed anywhere: a read crosses segments one at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::index::LogFacts;
use super::index::ReadSeen;
use super::{Check, CheckResult, HistoryIndex, first_ten};
use crate::op::{Lsn, ReadRecord};

/// The read family.
pub struct Reads;

impl Check for Reads {
    fn judge(&self, history: &HistoryIndex) -> Vec<CheckResult> {
        vec![
            see_acknowledged(history),
            no_holes(history),
            contiguous(history),
        ]
    }
}

fn see_acknowledged(history: &HistoryIndex) -> CheckResult {
    let mut problems = Vec::new();
    let mut reads = 0;
    for (log, facts) in &history.logs {
        for read in &facts.reads {
            reads += 1;
            let trimmed = facts.trim_before(read.op);
            let acks = facts.acks.iter().map(|a| {
                let owed = a.op.precedes(read.op)
                    && (read.from..read.to).contains(&a.lsn)
                    && a.lsn > trimmed;
                (a.lsn, a.payload, owed)
            });
            let audit = ReadAudit::new(read.records, acks, &facts.sent, &facts.at_least_once);
            if !audit.is_clean() {
                problems.push(format!(
                    "log {log}: {} ({}) at {} read {} records: {audit}",
                    read.op.id,
                    read.op.op,
                    read.op.invoked,
                    read.records.len(),
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

/// What one read got wrong against what was written.
pub(crate) struct ReadAudit {
    /// Acknowledged offsets the read owed and did not return.
    missing: Vec<Lsn>,
    /// Offsets read with another payload than one acknowledged there.
    wrong: BTreeSet<Lsn>,
    /// Offsets read with a payload no append sent, or one already read.
    stray: Vec<Lsn>,
}

impl ReadAudit {
    /// Audits `records` against the acknowledged appends, each `(offset, payload, owed)`
    /// (owed: the read had to return it), and the payloads every append `sent`; those in
    /// `at_least_once` may be read twice.
    pub(crate) fn new<'a>(
        records: &[ReadRecord],
        acks: impl IntoIterator<Item = (Lsn, &'a [u8], bool)>,
        sent: &BTreeSet<&[u8]>,
        at_least_once: &BTreeSet<&[u8]>,
    ) -> Self {
        let got: BTreeMap<Lsn, &[u8]> = records
            .iter()
            .map(|r| (r.lsn, r.payload.as_slice()))
            .collect();
        let mut audit = ReadAudit {
            missing: Vec::new(),
            wrong: BTreeSet::new(),
            stray: Vec::new(),
        };
        for (offset, payload, owed) in acks {
            match got.get(&offset) {
                None if owed => audit.missing.push(offset),
                Some(p) if *p != payload => {
                    audit.wrong.insert(offset);
                }
                _ => {}
            }
        }
        let mut seen = BTreeSet::new();
        audit.stray = records
            .iter()
            .filter(|r| {
                let payload = r.payload.as_slice();
                !sent.contains(payload)
                    || (!seen.insert(payload) && !at_least_once.contains(payload))
            })
            .map(|r| r.lsn)
            .collect();
        audit
    }

    /// Nothing missing, wrong or stray.
    pub(crate) fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.wrong.is_empty() && self.stray.is_empty()
    }
}

impl fmt::Display for ReadAudit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wrong: Vec<Lsn> = self.wrong.iter().copied().collect();
        write!(
            f,
            "missing acknowledged offsets {:?}; wrong payload at {:?}; stray or repeated records at {:?}",
            first_ten(&self.missing),
            first_ten(&wrong),
            first_ten(&self.stray)
        )
    }
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
            let got: BTreeSet<Lsn> = read.records.iter().map(|r| r.lsn).collect();
            let from = read.from.max(trimmed.saturating_add(1));
            let to = read.to.min(tail);
            // Counted, not listed: a tail comes from the guest, and may be u32::MAX.
            let present = got.range(from..to.max(from)).count() as u64;
            let missing = to.saturating_sub(from) - present;
            if missing > 0 {
                let holes: Vec<Lsn> = (from..to).filter(|o| !got.contains(o)).take(10).collect();
                problems.push(format!(
                    "log {log}: {} ({}) at {} found no record at offsets {:?} ({missing} in all), below the tail {tail} that {} ({}) saw",
                    read.op.id,
                    read.op.op,
                    read.op.invoked,
                    holes,
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

fn contiguous(history: &HistoryIndex) -> CheckResult {
    let mut problems = Vec::new();
    let mut reads = 0;
    for (log, facts) in &history.logs {
        for read in &facts.reads {
            reads += 1;
            let trimmed = facts.trim_before(read.op);
            if let Some(why) = gap_in(read, trimmed, facts) {
                problems.push(format!(
                    "log {log}: {} ({}) at {} read [{}, {}): {why}",
                    read.op.id, read.op.op, read.op.invoked, read.from, read.to
                ));
            }
        }
    }
    CheckResult::new(
        "reads_contiguous",
        problems.is_empty(),
        if problems.is_empty() {
            format!("{reads} reads; each returned one run of offsets, with no gap")
        } else {
            problems.join("; ")
        },
    )
}

/// What is wrong with the offsets one read returned, if anything.
fn gap_in(read: &ReadSeen, trimmed: Lsn, facts: &LogFacts) -> Option<String> {
    let mut offsets: Vec<Lsn> = read.records.iter().map(|r| r.lsn).collect();
    offsets.sort_unstable();
    let (&first, &last) = (offsets.first()?, offsets.last()?);
    if first < read.from || last >= read.to {
        return Some(format!(
            "returned offsets {first}..={last}, outside the range"
        ));
    }
    // A trim may or may not have reached the log-servers read: the run starts at the first
    // offset asked for, or anywhere up to just past the trim point.
    let latest_start = read.from.max(trimmed.saturating_add(1));
    if first > latest_start {
        return Some(format!(
            "starts at {first}: no record at {latest_start}..{first} (trim point {trimmed})"
        ));
    }
    // A read crosses segments one at a time, so a trim that overlaps it can take records of
    // a later segment after an earlier one was read: a gap wholly at or below a trim point
    // that may be in force is the trim's, not the log's.
    if let Some(gap) = offsets
        .windows(2)
        .find(|w| w[1] > w[0].saturating_add(1) && w[1] - 1 > trimmed)
    {
        return Some(format!(
            "no record at {}..{} between {} and {}",
            gap[0] + 1,
            gap[1],
            gap[0],
            gap[1]
        ));
    }
    if let Some((lsn, tail)) = offsets
        .iter()
        .find_map(|&lsn| facts.beyond_a_seal(lsn).map(|tail| (lsn, tail)))
    {
        return Some(format!(
            "returned offset {lsn}, at or beyond the sealed tail {tail}"
        ));
    }
    None
}
