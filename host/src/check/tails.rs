//! `tails_monotonic`: tails never decrease and a sealed segment stays sealed, in
//! real-time order. Tails compare by segment, then LSN: a later segment's open tail
//! follows its predecessor's sealed one. An older segment's sealed tail seen after a newer
//! segment is a node answering from a chain it has not seen move yet
//! (Restate's `find_tail` reads the cached Logs): true of that segment, and counted as
//! stale, not failed; an older segment's *open* tail after a newer one fails. Two sealed
//! tails of one segment may differ at the loglet level (a sequencer publishes its own known
//! tail, a find-tail on the log-servers repairs beyond it, as Restate permits): a lower
//! sealed tail after a higher one is that disagreement, which `sealed_tails_agree` reports
//! as information, and is counted here, not failed.
//!
//! Two observations are ordered only when one completed before the other was invoked;
//! concurrent ones may be linearized either way, so they are not compared.

use super::{Check, CheckResult, HistoryIndex};
use crate::op::{fmt_chain_tail, split_tail};
use crate::time::fmt_duration;

/// Where a tail stands: its segment, its LSN, and sealed after open.
fn position(tail: &crate::op::ChainTail) -> (u32, u64, bool) {
    let (lsn, sealed) = split_tail(tail);
    (tail.segment_index, lsn, sealed)
}

/// Tails seen later are not lower, and not open after a sealed one.
pub struct MonotonicTails;

impl Check for MonotonicTails {
    fn judge(&self, history: &HistoryIndex) -> Vec<CheckResult> {
        let mut observed = 0;
        let mut stale = 0;
        let mut differing = 0;
        for (log, facts) in &history.logs {
            observed += facts.tails.len();
            // `facts.tails` is in completion order; walk the observations in invocation
            // order and keep the highest tail among those completed before each.
            let mut by_invocation: Vec<_> = facts.tails.iter().collect();
            by_invocation.sort_by_key(|t| t.op.invoked_seq);
            let mut done = 0;
            let mut highest: Option<&super::index::TailSeen> = None;
            for later in by_invocation {
                while done < facts.tails.len() && facts.tails[done].op.precedes(later.op) {
                    let t = &facts.tails[done];
                    if highest.is_none_or(|h| position(&t.tail) > position(&h.tail)) {
                        highest = Some(t);
                    }
                    done += 1;
                }
                let Some(earlier) = highest else { continue };
                let (_, ps) = split_tail(&earlier.tail);
                let (_, s) = split_tail(&later.tail);
                let same_segment = earlier.tail.segment_index == later.tail.segment_index;
                let older_segment = later.tail.segment_index < earlier.tail.segment_index;
                if older_segment && s {
                    stale += 1;
                    continue;
                }
                if same_segment && ps && s && position(&later.tail) < position(&earlier.tail) {
                    differing += 1;
                    continue;
                }
                if position(&later.tail) < position(&earlier.tail) || (same_segment && ps && !s) {
                    return vec![CheckResult::new(
                        "tails_monotonic",
                        false,
                        format!(
                            "log {log}: {} saw {} at {} after {} saw {} at {}",
                            later.op.process,
                            fmt_chain_tail(&later.tail),
                            fmt_duration(later.op.completed_at().map_or(0, |t| t.0)),
                            earlier.op.process,
                            fmt_chain_tail(&earlier.tail),
                            fmt_duration(earlier.op.completed_at().map_or(0, |t| t.0)),
                        ),
                    )];
                }
            }
        }
        vec![CheckResult::new("tails_monotonic", true, {
            let mut notes = Vec::new();
            if stale > 0 {
                notes.push(format!(
                    "{stale} from a chain not yet moved on: an older segment's sealed tail"
                ));
            }
            if differing > 0 {
                notes.push(format!(
                        "{differing} a lower sealed tail of the same segment: loglet-level sealed tails that differ, see sealed_tails_agree"
                    ));
            }
            let mut detail =
                format!("{observed} tails observed, never decreasing, sealed stayed sealed");
            if !notes.is_empty() {
                detail.push_str(&format!(" ({})", notes.join("; ")));
            }
            detail
        })]
    }
}
