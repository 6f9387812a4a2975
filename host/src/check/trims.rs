//! Trims:
//! - `trims_within_the_tail`: a trim at or beyond a sealed tail (where no later segment
//!   goes on) must be refused or clamped below it, since it would cut records to come;
//! - `reads_after_trim`: a read invoked after a trim was acknowledged returns no record at
//!   or below the trim point in force: the point asked for, as far as the records
//!   acknowledged before the trim reach (the host's facts, not the guest's answer).

use super::index::{LogFacts, TrimSeen};
use super::{Check, CheckResult, HistoryIndex, first_ten};
use crate::op::Lsn;

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

/// The point an acknowledged trim must have put in force, by the host's own facts: the
/// point asked for, as far as records acknowledged before the trim was invoked reach (a
/// trim may clamp below the tail, never below what it knew was written); or the point the
/// guest answered, when higher. A trim answered as done that left such records readable
/// (Restate #5377: a fresh client's clamp to nothing) fails `reads_after_trim`.
fn in_force(trim: &TrimSeen, facts: &LogFacts) -> Option<Lsn> {
    let answered = trim.acknowledged?;
    let written = facts
        .acks
        .iter()
        .filter(|a| a.op.precedes(trim.op))
        .map(|a| a.lsn)
        .max()
        .unwrap_or(0);
    Some(answered.max(trim.point.min(written)))
}

fn reads_after_trim(history: &HistoryIndex) -> CheckResult {
    let mut judged = 0;
    let mut problems = Vec::new();
    for (log, facts) in &history.logs {
        for read in &facts.reads {
            let trim = facts
                .trims
                .iter()
                .filter(|t| t.op.precedes(read.op))
                .filter_map(|t| Some((in_force(t, facts)?, t)))
                .max_by_key(|(point, _)| *point);
            let Some((point, trim)) = trim else { continue };
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
