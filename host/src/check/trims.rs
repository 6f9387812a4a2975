//! Trims:
//! - `trims_within_the_tail`: a trim at or beyond a sealed tail (where no later segment
//!   goes on) must be refused, since it would cut records to come;
//! - `reads_after_trim`: a read invoked after a trim was acknowledged returns no record at
//!   or below the trim point in force.

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
        trims += facts.trims.len();
        for t in &facts.trims {
            // Beyond a seal with no segment after it: the trim would cut records to come.
            if let Some(tail) = facts.beyond_a_seal(t.point)
                && t.acknowledged.is_some()
            {
                beyond.push(format!(
                    "log {log}: {} to {} accepted, sealed tail {tail}",
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

fn reads_after_trim(history: &HistoryIndex) -> CheckResult {
    let mut judged = 0;
    let mut problems = Vec::new();
    for (log, facts) in &history.logs {
        for read in &facts.reads {
            let point = facts
                .trims
                .iter()
                .filter(|t| t.op.precedes(read.op))
                .filter_map(|t| t.acknowledged)
                .max();
            let Some(point) = point else { continue };
            judged += 1;
            let below: Vec<Lsn> = read
                .records
                .iter()
                .map(|r| r.lsn)
                .filter(|o| *o <= point)
                .collect();
            if !below.is_empty() {
                problems.push(format!(
                    "log {log}: {} after the trim to {point} returned trimmed records {:?}",
                    read.op.id,
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
