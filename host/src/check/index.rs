//! The history sorted the ways the checks look at it: per log, the acknowledged appends,
//! the tails seen, the reads and the trims, each with its real-time interval.

use std::collections::{BTreeMap, BTreeSet};

use crate::op::{ChainTail, ClientError, LogId, Lsn, Op, OpResult, ReadRecord, SegmentIndex};
use crate::record::history::{History, OpRecord};

/// An acknowledged append.
#[derive(Debug, Clone)]
pub struct Ack<'a> {
    /// The LSN it was acknowledged at.
    pub lsn: Lsn,
    /// What it wrote.
    pub payload: &'a [u8],
    /// The operation.
    pub op: &'a OpRecord,
}

/// A tail reported by a find-tail or a seal.
#[derive(Debug, Clone)]
pub struct TailSeen<'a> {
    /// The tail.
    pub tail: ChainTail,
    /// The operation.
    pub op: &'a OpRecord,
}

/// A read that returned records.
#[derive(Debug, Clone)]
pub struct ReadSeen<'a> {
    /// The first offset asked for.
    pub from: Lsn,
    /// The offset after the last one asked for.
    pub to: Lsn,
    /// What came back.
    pub records: &'a [ReadRecord],
    /// The operation.
    pub op: &'a OpRecord,
}

/// A trim that may have taken effect: acknowledged, still in flight, or ended without a
/// refusal (a timeout may leave some log-servers trimmed).
#[derive(Debug, Clone)]
pub struct TrimSeen<'a> {
    /// The trim point asked for.
    pub point: Lsn,
    /// The trim point in force, when acknowledged.
    pub acknowledged: Option<Lsn>,
    /// Refused as malformed (at or beyond a tail).
    pub refused: bool,
    /// The operation.
    pub op: &'a OpRecord,
}

/// What the history says of one log.
#[derive(Debug, Default, Clone)]
pub struct LogFacts<'a> {
    /// Acknowledged appends, in invocation order.
    pub acks: Vec<Ack<'a>>,
    /// Payloads of every append invoked, acknowledged or not.
    pub sent: BTreeSet<&'a [u8]>,
    /// Payloads of the appends with a recovery strategy: Restate's appender appends one
    /// again in the next segment after a drain cancelled it, and the cancelled copy may
    /// have been stored (at least once), so a read may return it twice.
    pub at_least_once: BTreeSet<&'a [u8]>,
    /// Tails seen, in completion order.
    pub tails: Vec<TailSeen<'a>>,
    /// Completed reads.
    pub reads: Vec<ReadSeen<'a>>,
    /// Trims that were not refused.
    pub trims: Vec<TrimSeen<'a>>,
    /// Segments added to the chain by acknowledged seal-and-extends: (index, base LSN).
    pub extensions: Vec<(SegmentIndex, Lsn)>,
    /// Per segment seen sealed: where it ends, and where the chain goes on after it. It
    /// ends where the chain says (a later segment was put there), else at the highest
    /// sealed tail reported of it: loglet-level sealed tails may differ (a find-tail on the
    /// log-servers repairs beyond a sequencer's own tail, as Restate permits), and the
    /// higher one holds.
    pub seal_bounds: Vec<(Lsn, Lsn)>,
}

impl LogFacts<'_> {
    /// The sealed tail that puts `lsn` beyond a seal, if one does: a segment that ends at
    /// or below `lsn` with no later segment starting at or below it (records there would be
    /// in the sealed segment, past its end). See [`LogFacts::seal_bounds`].
    pub fn beyond_a_seal(&self, lsn: Lsn) -> Option<Lsn> {
        self.seal_bounds
            .iter()
            .filter(|(end, goes_on)| *end <= lsn && lsn < *goes_on)
            .map(|(end, _)| *end)
            .min()
    }

    /// Works out [`LogFacts::seal_bounds`] from the tails and extensions, once they are all
    /// in: a read checks every record it returns against them.
    fn bound_seals(&mut self) {
        let mut ends: BTreeMap<SegmentIndex, Lsn> = BTreeMap::new();
        for t in &self.tails {
            let (tail, sealed) = crate::op::split_tail(&t.tail);
            if sealed {
                let end = ends.entry(t.tail.segment_index).or_insert(tail);
                *end = (*end).max(tail);
            }
        }
        self.seal_bounds = ends
            .into_iter()
            .map(|(segment, highest)| {
                let next = segment.checked_add(1);
                let end = self
                    .extensions
                    .iter()
                    .find(|(i, _)| Some(*i) == next)
                    .map_or(highest, |(_, base)| *base);
                (end, self.next_base_after(segment).unwrap_or(Lsn::MAX))
            })
            .collect();
    }

    /// Where the chain goes on after segment `index`, as far as the history knows: the
    /// lowest base of a later segment an acknowledged seal-and-extend added.
    pub fn next_base_after(&self, index: SegmentIndex) -> Option<Lsn> {
        self.extensions
            .iter()
            .filter(|(i, _)| *i > index)
            .map(|(_, base)| *base)
            .min()
    }

    /// The highest trim point that may be in force for `op`: every trim invoked before
    /// `op` ended, and not refused, counts.
    pub fn trim_before(&self, op: &OpRecord) -> Lsn {
        self.trims
            .iter()
            .filter(|t| t.op.invoked_before_end_of(op))
            .map(|t| t.acknowledged.unwrap_or(t.point).max(t.point))
            .max()
            .unwrap_or(0)
    }

    /// The highest tail offset seen by an operation that completed before `op` was invoked.
    pub fn tail_seen_before(&self, op: &OpRecord) -> Option<(Lsn, &OpRecord)> {
        self.tails
            .iter()
            .filter(|t| t.op.precedes(op))
            .map(|t| (crate::op::split_tail(&t.tail).0, t.op))
            .max_by_key(|(o, op)| (*o, std::cmp::Reverse(op.id)))
    }
}

/// The history, indexed per log.
#[derive(Debug, Default, Clone)]
pub struct HistoryIndex<'a> {
    /// Per log.
    pub logs: BTreeMap<LogId, LogFacts<'a>>,
    /// The whole history.
    pub ops: Vec<&'a OpRecord>,
}

impl<'a> HistoryIndex<'a> {
    /// Adds where the chain the metadata store accepted says segments begin (the host's
    /// facts): the history knows only the extensions a client was told of.
    pub fn with_chains(mut self, chains: &BTreeMap<LogId, BTreeSet<(SegmentIndex, Lsn)>>) -> Self {
        for (log, segments) in chains {
            let facts = self.logs.entry(*log).or_default();
            for &segment in segments {
                if !facts.extensions.contains(&segment) {
                    facts.extensions.push(segment);
                }
            }
            facts.bound_seals();
        }
        self
    }

    /// Indexes `history`.
    pub fn new(history: &'a History) -> Self {
        let mut index = HistoryIndex::default();
        for op in history.ops() {
            index.ops.push(op);
            let Some(log) = op.op.log() else { continue };
            let facts = index.logs.entry(log).or_default();
            match (&op.op, op.result()) {
                (Op::Append(_, payload) | Op::AppendRecovering(_, payload, _), result) => {
                    facts.sent.insert(payload);
                    if matches!(op.op, Op::AppendRecovering(..)) {
                        facts.at_least_once.insert(payload);
                    }
                    if let Some(OpResult::Appended(lsn)) = result {
                        facts.acks.push(Ack {
                            lsn: *lsn,
                            payload,
                            op,
                        });
                    }
                }
                (Op::Read(_, from, to), Some(OpResult::Records(records))) => {
                    facts.reads.push(ReadSeen {
                        from: *from,
                        to: *to,
                        records,
                        op,
                    })
                }
                (Op::Trim(_, point), result) => {
                    // Even a refused trim may be in force below its point: a trim goes
                    // segment by segment, and a later one refusing does not undo the
                    // earlier ones (as Restate's `Bifrost::trim`).
                    let refused =
                        matches!(result, Some(OpResult::Failed(ClientError::Malformed(_))));
                    facts.trims.push(TrimSeen {
                        point: *point,
                        acknowledged: match result {
                            Some(OpResult::Trimmed(p)) => Some(*p),
                            _ => None,
                        },
                        refused,
                        op,
                    });
                }
                (Op::SealAndExtend(_), Some(OpResult::Extended(e))) => {
                    facts.extensions.push((e.segment_index, e.base_lsn));
                }
                _ => {}
            }
            if let Some(tail) = op.tail() {
                facts.tails.push(TailSeen { tail, op });
            }
        }
        for facts in index.logs.values_mut() {
            facts.tails.sort_by_key(|t| (t.op.ended_seq, t.op.id));
            facts.bound_seals();
        }
        index
    }
}
