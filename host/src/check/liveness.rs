//! `liveness_after_heal`: once the last fault has healed, every operation completes within
//! a bound (`run.liveness_bound`, 30 s by default), as restatedev/jepsen checks every node
//! after its final heal. An operation invoked before the heal is judged from the heal on.
//! The check reads the host's facts (when the last fault ended, and whether one is still
//! in force at the end: then nothing is judged) beside the history.

use super::CheckResult;
use crate::record::history::History;
use crate::time::{SimTime, fmt_duration};

/// When the cluster was whole again, as the host saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Healed {
    /// Since this instant no fault has been in force (the start of the run, with none).
    Since(SimTime),
    /// A fault is still in force at the end (a node down, a cut, a hold, a store outage).
    Not,
}

/// The verdict on `history` at `end`, the cluster whole as `healed` says.
pub fn liveness_after_heal(
    history: &History,
    healed: Healed,
    end: SimTime,
    bound: u64,
) -> CheckResult {
    let Healed::Since(healed_at) = healed else {
        return CheckResult::new(
            "liveness_after_heal",
            true,
            "a fault is still in force at the end: not judged",
        );
    };
    let mut stuck = Vec::new();
    let mut judged = 0;
    for op in history.ops() {
        if op.lost.is_some() {
            continue;
        }
        let from = op.invoked.max(healed_at);
        let waited = match op.completed_at() {
            Some(at) => at.0.saturating_sub(from.0),
            None => end.0.saturating_sub(from.0),
        };
        if op.completed.is_none() && waited <= bound {
            continue; // Still in time.
        }
        judged += 1;
        if waited > bound {
            stuck.push(format!(
                "{} ({}, {} on N{}) {} {} after {}",
                op.id,
                op.op,
                op.process,
                op.node,
                if op.completed.is_some() {
                    "took"
                } else {
                    "still waits at the end,"
                },
                fmt_duration(waited),
                if op.invoked >= healed_at {
                    "its invocation".to_string()
                } else {
                    format!("the last heal at {}", fmt_duration(healed_at.0))
                },
            ));
        }
    }
    let detail = if !stuck.is_empty() {
        let shown = super::first_ten(&stuck);
        let more = stuck.len() - shown.len();
        format!(
            "past the bound of {}: {}{}",
            fmt_duration(bound),
            shown.join("; "),
            if more > 0 {
                format!("; {more} more")
            } else {
                String::new()
            }
        )
    } else if healed_at == SimTime::ZERO {
        format!(
            "no fault; {judged} operations, each done within {}",
            fmt_duration(bound)
        )
    } else {
        format!(
            "the last fault healed at {}; {judged} operations, each done within {} of it or of its invocation",
            fmt_duration(healed_at.0),
            fmt_duration(bound)
        )
    };
    CheckResult::new("liveness_after_heal", stuck.is_empty(), detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{Op, OpResult};
    use crate::record::history::Process;
    use crate::time::SECONDS;

    /// An append invoked at 1 s, done at `done` (never, if None), and a find-tail invoked
    /// at 2 s and done at once.
    fn history(done: Option<u64>) -> History {
        let mut h = History::new();
        let append = h.invoke(SimTime(SECONDS), Process::Worker(0), 5, Op::append(0, "a"));
        let find = h.invoke(SimTime(2 * SECONDS), Process::Worker(1), 5, Op::FindTail(0));
        h.complete(
            SimTime(2 * SECONDS),
            find,
            OpResult::Tail(crate::op::ChainTail::open(1)),
        );
        if let Some(at) = done {
            h.complete(SimTime(at), append, OpResult::Appended(1));
        }
        h
    }

    #[test]
    fn an_operation_that_outlasts_the_bound_after_the_last_heal_fails() {
        let bound = 30 * SECONDS;
        // Healed at 5 s: done 20 s after the heal passes, 40 s after fails.
        let ok = liveness_after_heal(
            &history(Some(25 * SECONDS)),
            Healed::Since(SimTime(5 * SECONDS)),
            SimTime(60 * SECONDS),
            bound,
        );
        assert!(ok.pass, "{}", ok.detail);
        let late = liveness_after_heal(
            &history(Some(45 * SECONDS)),
            Healed::Since(SimTime(5 * SECONDS)),
            SimTime(60 * SECONDS),
            bound,
        );
        assert!(
            !late.pass && late.detail.contains("took 40s after the last heal at 5s"),
            "{}",
            late.detail
        );
        // Never done: it fails once the run went on past the bound, not before.
        let stuck = liveness_after_heal(
            &history(None),
            Healed::Since(SimTime::ZERO),
            SimTime(60 * SECONDS),
            bound,
        );
        assert!(
            !stuck.pass && stuck.detail.contains("still waits at the end"),
            "{}",
            stuck.detail
        );
        let young = liveness_after_heal(
            &history(None),
            Healed::Since(SimTime::ZERO),
            SimTime(20 * SECONDS),
            bound,
        );
        assert!(young.pass, "{}", young.detail);
        // A fault still in force: nothing is judged.
        let unhealed =
            liveness_after_heal(&history(None), Healed::Not, SimTime(60 * SECONDS), bound);
        assert!(unhealed.pass && unhealed.detail.contains("not judged"));
    }
}
