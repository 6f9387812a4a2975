//! Trims:
//! - `trims_within_the_tail`: a trim at or beyond a sealed tail (where no later segment
//!   goes on) must be refused or clamped below it, since it would cut records to come;
//! - `reads_after_trim`: a read invoked after a trim was acknowledged returns no record at
//!   or below the trim point in force: the point asked for, as far as the records
//!   acknowledged before the trim reach (the host's facts, not the guest's answer).

use super::index::{LogFacts, TrimSeen};
use super::{Check, CheckResult, HistoryIndex, first_ten};
use crate::op::Lsn;
use crate::record::history::OpRecord;

/// The trim family.
pub struct Trims;

impl Check for Trims {
    fn judge(&self, history: &HistoryIndex) -> Vec<CheckResult> {
        vec![within_the_tail(history), reads_after_trim(history)]
    }
}

fn within_the_tail(history: &HistoryIndex) -> CheckResult {
    let mut trims = 0;
    let mut beyond = Vec::new();
    for (log, facts) in &history.logs {
        trims += facts.trims.iter().filter(|t| !t.refused).count();
        for t in &facts.trims {
            // Beyond a seal with no segment after it: the trim would cut records to come.
            // Judged at the point the trim answered in force (a trim may clamp the point
            // asked for to the tail it knows, as Restate's does).
            let Some(in_force) = t.acknowledged else {
                continue;
            };
            if let Some(tail) = facts.beyond_a_seal(in_force.min(t.point)) {
                beyond.push(format!(
                    "log {log}: {} to {} accepted (in force: {in_force}), sealed tail {tail}",
                    t.op.id, t.point
                ));
            }
        }
    }
    CheckResult::new(
        "trims_within_the_tail",
        beyond.is_empty(),
        if trims == 0 {
            "no trim in this history".to_string()
        } else if beyond.is_empty() {
            format!("{trims} trims not refused; none accepted at or beyond a sealed tail")
        } else {
            format!(
                "trims accepted at or beyond the sealed tail: {}",
                beyond.join("; ")
            )
        },
    )
}

/// The highest LSN acknowledged before an operation was invoked, for every operation:
/// the acknowledgements in the order they ended, each with the highest LSN so far.
struct WrittenBefore {
    ended: Vec<(u64, Lsn)>,
}

impl WrittenBefore {
    fn of(facts: &LogFacts) -> WrittenBefore {
        let mut ended: Vec<(u64, Lsn)> = facts
            .acks
            .iter()
            .filter(|a| a.op.completed.is_some())
            .filter_map(|a| Some((a.op.ended_seq?, a.lsn)))
            .collect();
        ended.sort_unstable();
        let mut highest = 0;
        for (_, lsn) in &mut ended {
            highest = highest.max(*lsn);
            *lsn = highest;
        }
        WrittenBefore { ended }
    }

    /// The highest LSN acknowledged by an operation that ended before `op` was invoked.
    fn at(&self, op: &OpRecord) -> Lsn {
        let n = self.ended.partition_point(|(seq, _)| *seq < op.invoked_seq);
        n.checked_sub(1).map_or(0, |i| self.ended[i].1)
    }
}

/// The point an acknowledged trim must have put in force, by the host's own facts: the
/// point asked for, as far as records acknowledged before the trim was invoked reach (a
/// trim may clamp below the tail, never below what it knew was written); or the point the
/// guest answered, when higher. A trim answered as done that left such records readable
/// (Restate #5377: a fresh client's clamp to nothing) fails `reads_after_trim`.
fn in_force(trim: &TrimSeen, written: &WrittenBefore) -> Option<Lsn> {
    let answered = trim.acknowledged?;
    Some(answered.max(trim.point.min(written.at(trim.op))))
}

fn reads_after_trim(history: &HistoryIndex) -> CheckResult {
    let mut judged = 0;
    let mut problems = Vec::new();
    for (log, facts) in &history.logs {
        // Each trim's point in force, once (not once per read).
        let written = WrittenBefore::of(facts);
        let in_force: Vec<(Lsn, &TrimSeen)> = facts
            .trims
            .iter()
            .filter_map(|t| Some((in_force(t, &written)?, t)))
            .collect();
        for read in &facts.reads {
            let trim = in_force
                .iter()
                .filter(|(_, t)| t.op.precedes(read.op))
                .max_by_key(|(point, _)| *point);
            let Some(&(point, trim)) = trim else { continue };
            judged += 1;
            let below: Vec<Lsn> = read
                .records
                .iter()
                .map(|r| r.lsn)
                .filter(|o| *o <= point)
                .collect();
            if !below.is_empty() {
                problems.push(format!(
                    "log {log}: {} after {} (trim to {}, answered trimmed to {}) returned records at or below {point}: {:?}",
                    read.op.id,
                    trim.op.id,
                    trim.point,
                    trim.acknowledged.unwrap_or(0),
                    first_ten(&below)
                ));
            }
        }
    }
    CheckResult::new(
        "reads_after_trim",
        problems.is_empty(),
        if judged == 0 {
            "no read after an acknowledged trim in this history".to_string()
        } else if problems.is_empty() {
            format!("{judged} reads after a trim; none returned a trimmed record")
        } else {
            problems.join("; ")
        },
    )
}
