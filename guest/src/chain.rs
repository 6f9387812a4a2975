//! A log's chain of segments, as Restate keeps it in the `Logs`: lookups by LSN, and the
//! only ways a chain may change (extend, seal, trim a prefix), each a pure function from
//! one chain to the next. The chain writer applies them to the cached Logs; the client
//! reads through [`ChainView`]; the host checks a scenario's chain with the same rules.
//!
//! A segment starts at its base LSN and ends (exclusive) where the next one starts; the
//! last one is the writable tail, unless it is the seal marker (`ProviderKind::Sealed`),
//! whose base is the log's sealed tail and whose index repeats the segment it seals.

use std::fmt;

use crate::bindings::logsandbox::node::metadata::{Chain, ProviderKind, ReplicatedParams, Segment};
use crate::bindings::logsandbox::node::types::{LogletOffset, Lsn, SegmentIndex};

/// The LSN no record has; a read from it reads from [`OLDEST_LSN`].
pub const INVALID_LSN: Lsn = 0;
/// The first LSN of a log.
pub const OLDEST_LSN: Lsn = 1;

/// A chain that is not well formed, or a change the chain refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// A chain with no segment.
    Empty,
    /// A segment whose base is not above the one before it (or is 0).
    BaseNotIncreasing {
        /// Its place in the chain.
        position: usize,
        /// Its base LSN.
        base: Lsn,
    },
    /// A segment whose index is not above the one before it (a seal marker may repeat it).
    IndexNotIncreasing {
        /// Its place in the chain.
        position: usize,
        /// Its index.
        index: SegmentIndex,
    },
    /// A segment after the seal marker.
    AfterSealMarker {
        /// Its place in the chain.
        position: usize,
    },
    /// A replicated segment without params, or a marker with them.
    Params {
        /// Its place in the chain.
        position: usize,
    },
    /// An extension or seal below the tail segment's base, or an extension of a sealed
    /// chain at another base than its sealed tail: Restate's `SegmentConflict`, with the
    /// base that stands in the way.
    SegmentConflict(Lsn),
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainError::Empty => write!(f, "a chain has at least one segment"),
            ChainError::BaseNotIncreasing { position, base } => write!(
                f,
                "segment {position} starts at LSN {base}, not above the segment before it (bases start at 1 and increase)"
            ),
            ChainError::IndexNotIncreasing { position, index } => write!(
                f,
                "segment {position} has index {index}, not above the segment before it"
            ),
            ChainError::AfterSealMarker { position } => {
                write!(f, "segment {position} comes after the chain's seal marker")
            }
            ChainError::Params { position } => write!(
                f,
                "segment {position}: a replicated segment needs params and a seal marker has none"
            ),
            ChainError::SegmentConflict(base) => {
                write!(f, "segment conflict: the tail segment starts at LSN {base}")
            }
        }
    }
}

/// Where an LSN falls in a chain (Restate's `find_segment_for_lsn`).
#[derive(Debug, Clone, Copy)]
pub enum Located<'a> {
    /// In this segment.
    Segment(SegmentRef<'a>),
    /// Before the first segment: trimmed away with the segments that held it; the log
    /// goes on at `next_base`.
    Trimmed {
        /// The first base LSN the chain still holds.
        next_base: Lsn,
    },
}

/// A segment seen from its chain: with its end, which the chain knows once a segment
/// follows it.
#[derive(Debug, Clone, Copy)]
pub struct SegmentRef<'a> {
    /// The segment.
    pub segment: &'a Segment,
    /// The next segment's base: this one's sealed tail. None for the tail segment.
    pub end: Option<Lsn>,
}

impl SegmentRef<'_> {
    /// The segment's base LSN.
    pub fn base(&self) -> Lsn {
        self.segment.base_lsn
    }

    /// The segment's index.
    pub fn index(&self) -> SegmentIndex {
        self.segment.index
    }

    /// Whether this is the chain's seal marker.
    pub fn is_seal_marker(&self) -> bool {
        self.segment.provider == ProviderKind::Sealed
    }

    /// Its replicated loglet, if it has one.
    pub fn params(&self) -> Option<&ReplicatedParams> {
        self.segment.params.as_ref()
    }

    /// The loglet offset of `lsn` in this segment (`lsn - base + 1`); None when `lsn` is
    /// below the base or beyond what a loglet offset holds.
    pub fn offset_of(&self, lsn: Lsn) -> Option<LogletOffset> {
        let from_base = lsn.checked_sub(self.base())?;
        let offset = from_base.checked_add(1)?;
        LogletOffset::try_from(offset).ok()
    }

    /// The LSN of the loglet offset `offset` (0 maps to the LSN before the base).
    pub fn lsn_of(&self, offset: LogletOffset) -> Lsn {
        lsn_at(self.base(), offset)
    }
}

/// The LSN of loglet offset `offset` in a segment starting at `base` (offset 1 is the base;
/// 0 maps to the LSN before it).
pub fn lsn_at(base: Lsn, offset: LogletOffset) -> Lsn {
    base.saturating_add(u64::from(offset)).saturating_sub(1)
}

/// Read-only lookups on a chain.
#[derive(Debug, Clone, Copy)]
pub struct ChainView<'a>(pub &'a Chain);

impl<'a> ChainView<'a> {
    /// Every segment with its end, oldest first.
    pub fn segments(&self) -> impl Iterator<Item = SegmentRef<'a>> + 'a {
        let segments = &self.0.segments;
        segments
            .iter()
            .enumerate()
            .map(move |(i, segment)| SegmentRef {
                segment,
                end: segments.get(i + 1).map(|next| next.base_lsn),
            })
    }

    /// The last segment: the writable tail, or the seal marker. None for a chain with no
    /// segment (never well formed).
    pub fn tail(&self) -> Option<SegmentRef<'a>> {
        self.segments().last()
    }

    /// Whether the chain ends with the seal marker.
    pub fn is_sealed(&self) -> bool {
        self.tail().is_some_and(|t| t.is_seal_marker())
    }

    /// The segment that holds `lsn` (INVALID counts as OLDEST), or where the log goes on
    /// when `lsn` lies before the first segment. None for a chain with no segment.
    pub fn locate(&self, lsn: Lsn) -> Option<Located<'a>> {
        let lsn = lsn.max(OLDEST_LSN);
        let first = self.0.segments.first()?;
        Some(match self.segments().filter(|s| s.base() <= lsn).last() {
            Some(segment) => Located::Segment(segment),
            None => Located::Trimmed {
                next_base: first.base_lsn,
            },
        })
    }

    /// The segment with this index that holds a loglet (a seal marker sharing the index
    /// is passed over).
    pub fn segment(&self, index: SegmentIndex) -> Option<SegmentRef<'a>> {
        self.segments()
            .find(|s| s.index() == index && !s.is_seal_marker())
    }
}

/// Checks that a chain is well formed (see `wit/node.wit`, `chain`).
pub fn validate(chain: &Chain) -> Result<(), ChainError> {
    let segments = &chain.segments;
    if segments.is_empty() {
        return Err(ChainError::Empty);
    }
    let mut previous: Option<&Segment> = None;
    for (position, segment) in segments.iter().enumerate() {
        let marker = segment.provider == ProviderKind::Sealed;
        if previous.is_some_and(|p| p.provider == ProviderKind::Sealed) {
            return Err(ChainError::AfterSealMarker { position });
        }
        if segment.base_lsn < OLDEST_LSN || previous.is_some_and(|p| segment.base_lsn <= p.base_lsn)
        {
            return Err(ChainError::BaseNotIncreasing {
                position,
                base: segment.base_lsn,
            });
        }
        let index_ok = previous
            .is_none_or(|p| segment.index > p.index || (marker && segment.index == p.index));
        if !index_ok {
            return Err(ChainError::IndexNotIncreasing {
                position,
                index: segment.index,
            });
        }
        let params_ok = match segment.provider {
            ProviderKind::Replicated => segment.params.is_some(),
            ProviderKind::Sealed => segment.params.is_none(),
            ProviderKind::Local | ProviderKind::InMemory => true,
        };
        if !params_ok {
            return Err(ChainError::Params { position });
        }
        previous = Some(segment);
    }
    Ok(())
}

/// Extends `chain` with a replicated segment at `base` (Restate's `append_segment`):
/// above the tail's base it is appended with the next index; at the tail's base it
/// replaces the (empty) tail, still with the next index; below, it conflicts. A seal
/// marker is replaced only at its own base. Returns the new segment's index.
pub fn extend(
    chain: &mut Chain,
    base: Lsn,
    params: ReplicatedParams,
) -> Result<SegmentIndex, ChainError> {
    let tail = chain.segments.last().ok_or(ChainError::Empty)?;
    if tail.provider == ProviderKind::Sealed && base != tail.base_lsn {
        return Err(ChainError::SegmentConflict(tail.base_lsn));
    }
    if base < tail.base_lsn || base < OLDEST_LSN {
        return Err(ChainError::SegmentConflict(tail.base_lsn));
    }
    let index = tail.index.saturating_add(1);
    put_last(
        chain,
        Segment {
            base_lsn: base,
            index,
            provider: ProviderKind::Replicated,
            params: Some(params),
        },
    );
    Ok(index)
}

/// Adds `segment` after the tail, or in its place when it starts at the tail's own base
/// (the tail is then empty: Restate replaces it).
fn put_last(chain: &mut Chain, segment: Segment) {
    if chain
        .segments
        .last()
        .is_some_and(|t| t.base_lsn == segment.base_lsn)
    {
        chain.segments.pop();
    }
    chain.segments.push(segment);
}

/// Seals `chain` at `tail_lsn` with a seal marker (Restate's `ChainBuilder::seal`). A
/// sealed chain keeps its sealed tail, whatever `tail_lsn` says; at the tail segment's own
/// base the marker replaces the (empty) segment. Returns the sealed tail and whether the
/// chain changed.
pub fn seal(chain: &mut Chain, tail_lsn: Lsn) -> Result<(Lsn, bool), ChainError> {
    let tail = chain.segments.last().ok_or(ChainError::Empty)?;
    if tail.provider == ProviderKind::Sealed {
        return Ok((tail.base_lsn, false));
    }
    if tail_lsn < tail.base_lsn {
        return Err(ChainError::SegmentConflict(tail.base_lsn));
    }
    let index = tail.index;
    put_last(
        chain,
        Segment {
            base_lsn: tail_lsn,
            index,
            provider: ProviderKind::Sealed,
            params: None,
        },
    );
    Ok((tail_lsn, true))
}

/// Drops the segments wholly before the one that holds `lsn` (Restate's `trim_prefix`):
/// the segment that holds it stays. Returns whether the chain changed.
pub fn trim_prefix(chain: &mut Chain, lsn: Lsn) -> bool {
    let keep_from = match ChainView(chain).locate(lsn) {
        Some(Located::Segment(s)) => s.base(),
        _ => return false,
    };
    let before = chain.segments.len();
    chain.segments.retain(|s| s.base_lsn >= keep_from);
    chain.segments.len() != before
}
