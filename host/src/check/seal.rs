//! `no_ack_beyond_published_seal`: once a sealed tail is published, no append may be
//! acknowledged at or beyond it, before or after: the sealed tail bounds the log for good.

use super::{Check, CheckResult, HistoryIndex};
use crate::op::split_tail;
use crate::time::fmt_duration;

/// Every acknowledged offset lies below every sealed tail seen.
pub struct NoAckBeyondSeal;

impl Check for NoAckBeyondSeal {
    fn judge(&self, history: &HistoryIndex) -> Vec<CheckResult> {
        let mut sentences = Vec::new();
        let mut pass = true;
        for (log, facts) in &history.logs {
            let lowest_seal = facts
                .tails
                .iter()
                .filter_map(|t| {
                    let (offset, sealed) = split_tail(t.tail);
                    sealed.then_some((offset, t.op.completed_at().map_or(0, |c| c.0)))
                })
                .min();
            let Some((tail, at)) = lowest_seal else {
                continue;
            };
            let max = facts.acks.iter().map(|a| a.offset).max();
            let ok = max.is_none_or(|m| m < tail);
            pass &= ok;
            sentences.push(format!(
                "{}sealed tail {tail} published at {}; highest acknowledged offset {}",
                if history.logs.len() > 1 {
                    format!("log {log}: ")
                } else {
                    String::new()
                },
                fmt_duration(at),
                max.map_or("none".into(), |m| m.to_string())
            ));
        }
        vec![CheckResult::new(
            "no_ack_beyond_published_seal",
            pass,
            if sentences.is_empty() {
                "no sealed tail was published".to_string()
            } else {
                sentences.join("; ")
            },
        )]
    }
}
