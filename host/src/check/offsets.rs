//! `committed_offsets_unique`: no offset of a log is acknowledged to two appends.

use std::collections::BTreeSet;

use super::{Check, CheckResult, HistoryIndex, first_ten};

/// No offset acknowledged twice, per log.
pub struct UniqueOffsets;

impl Check for UniqueOffsets {
    fn judge(&self, history: &HistoryIndex) -> Vec<CheckResult> {
        let mut acked = 0;
        let mut dups = Vec::new();
        for (log, facts) in &history.logs {
            let mut seen = BTreeSet::new();
            for ack in &facts.acks {
                acked += 1;
                if !seen.insert(ack.lsn) {
                    dups.push(format!("log {log} offset {}", ack.lsn));
                }
            }
        }
        vec![CheckResult::new(
            "committed_offsets_unique",
            dups.is_empty(),
            if dups.is_empty() {
                format!("{acked} acknowledged offsets, all distinct")
            } else {
                format!(
                    "offsets acknowledged twice: {}",
                    first_ten(&dups).join(", ")
                )
            },
        )]
    }
}
