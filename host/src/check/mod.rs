//! Checks: objects that judge any history of log operations, one invariant family per
//! file, each named in reports and `--json`. They read the recorded history, never the
//! guest's word, and never rely on the position of an operation in one workload.
//!
//! | family | check | what must hold |
//! |---|---|---|
//! | [`offsets`] | `committed_offsets_unique` | no offset of a log is acknowledged twice |
//! | [`tails`] | `tails_monotonic` | a tail seen after another completed is not lower; sealed stays sealed |
//! | [`seal`] | `no_ack_beyond_published_seal` | every acknowledged offset lies below every sealed tail seen |
//! | [`seal`] | `sealed_tails_agree` | a segment's end, once in the chain, is one LSN (loglet-level sealed tails that differ are information) |
//! | [`reads`] | `reads_see_acknowledged` | a read returns every record acknowledged before it, with its payload, and nothing no append sent |
//! | [`reads`] | `no_holes_below_tail` | a read returns every offset below a tail seen before it (trimmed ones aside) |
//! | [`reads`] | `reads_contiguous` | a read returns one run of offsets, from its start (or past a trim), below any sealed tail |
//! | [`trims`] | `trims_within_the_tail` | no trim at or beyond a sealed tail is accepted |
//! | [`trims`] | `reads_after_trim` | a read after a trim returns nothing at or below the trim point |
//!
//!
//! Three more checks read the host's own facts beside the history: [`durability`]'s
//! `acknowledged_durable`, every acknowledged record on a write quorum of log-servers at
//! the end of the run (their databases), [`chain`]'s `chain_never_goes_back`, every
//! chain change the metadata store accepted keeping what the chain already said, and
//! [`liveness`]'s `liveness_after_heal`, every operation done within a bound once the last
//! fault healed.
//!
//! A workload adds its own expectations on top (see [`Workload::expectations`](crate::Workload::expectations)).

pub mod chain;
pub mod durability;
pub(crate) mod index;
pub mod liveness;
pub mod offsets;
pub mod reads;
pub mod seal;
pub mod tails;
pub mod trims;

use serde::Serialize;

use crate::record::history::History;
pub use index::HistoryIndex;

/// The verdict of one check.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckResult {
    /// The check's name, as in `--json` (`committed_offsets_unique`...).
    pub name: String,
    /// Whether the invariant held.
    pub pass: bool,
    /// What was seen, in a sentence.
    pub detail: String,
}

impl CheckResult {
    /// A verdict named `name`.
    pub fn new(name: impl Into<String>, pass: bool, detail: impl Into<String>) -> CheckResult {
        CheckResult {
            name: name.into(),
            pass,
            detail: detail.into(),
        }
    }
}

/// An invariant family that judges a history of log operations.
pub trait Check: Send + Sync {
    /// The verdicts: one per invariant of the family.
    fn judge(&self, history: &HistoryIndex) -> Vec<CheckResult>;
}

/// The checks every run is judged by, in a stable order.
pub fn standard() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(offsets::UniqueOffsets),
        Box::new(tails::MonotonicTails),
        Box::new(seal::NoAckBeyondSeal),
        Box::new(reads::Reads),
        Box::new(trims::Trims),
    ]
}

/// Judges `history` with the standard checks.
pub fn check_history(history: &History) -> Vec<CheckResult> {
    judge(history, &standard())
}

/// Judges `history` with `checks`.
pub fn judge(history: &History, checks: &[Box<dyn Check>]) -> Vec<CheckResult> {
    let index = HistoryIndex::new(history);
    checks.iter().flat_map(|c| c.judge(&index)).collect()
}

/// At most the first ten items of a list, for a detail sentence.
pub(crate) fn first_ten<T: Clone>(items: &[T]) -> &[T] {
    &items[..items.len().min(10)]
}
