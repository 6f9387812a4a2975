//! Client operations: what a test or a workload asks of a client node, and what it gets
//! back. [`Op`] is the sandbox's own shape of the WIT `op`; the results are the WIT types
//! themselves ([`OpResult`], [`ClientError`], [`TailState`], [`ReadRecord`]).

use std::fmt;

use crate::bindings;
pub use crate::bindings::{
    ChainTail, ClientError, Extended, LogTail, MetadataKind, OpResult, RacePoint, ReadRecord,
    RecoveryStrategy, SealAndExtend, TailState,
};

/// A log of the Logs metadata. The built-in scenarios use log 0.
pub type LogId = u32;
/// An offset inside a loglet: 0 is INVALID, 1 is OLDEST; a tail is the next offset to write.
pub type Offset = u32;
/// A log sequence number: a record's place in its log, across the segments of its chain.
/// 0 is INVALID, 1 is OLDEST; a log's tail is the next LSN to write. In the first segment
/// (base LSN 1) an LSN and its loglet offset are the same number.
pub type Lsn = u64;
/// A segment's place in its log's chain.
pub type SegmentIndex = u32;
/// A node of the cluster, `N1`, `N5`...
pub type NodeId = u32;
/// A metadata version: 0 is INVALID, 1 is MIN.
pub type Version = u32;

/// The first offset of a loglet, and the tail of an empty one.
pub const OLDEST: Offset = 1;
/// The first LSN of a log.
pub const OLDEST_LSN: Lsn = 1;

/// Names one client operation in a sandbox's history, in invocation order (`#1`, `#2`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u64);

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// An operation on a client node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Append one record to the log's tail segment; completes `Appended(lsn)` once a write
    /// quorum has it, or fails `Sealed` if that segment is sealed.
    Append(LogId, Vec<u8>),
    /// A log-level append that recovers: when its segment turns out sealed it holds for a
    /// new tail segment (and by its strategy seals and extends the chain itself) instead of
    /// failing; completes `Appended(lsn)`.
    AppendRecovering(LogId, Vec<u8>, RecoveryStrategy),
    /// Seal the log's tail segment; completes `Sealed(tail)` with its sealed tail.
    Seal(LogId),
    /// The log's tail; completes `Tail(..)`, open or sealed, with its segment.
    FindTail(LogId),
    /// Read the committed records `[from, to)` across segments; completes `Records(..)`. A
    /// `from` of 0 (no record's LSN) reads from the oldest, as Restate's read stream does.
    Read(LogId, Lsn, Lsn),
    /// Trim the log up to and including an LSN, on every log-server of every segment that
    /// starts at or below it; completes `Trimmed(point)`, the trim point in force.
    Trim(LogId, Lsn),
    /// Seal the log's tail segment, then extend the chain with a new segment at the sealed
    /// tail; completes `Extended(..)`.
    SealAndExtend(SealAndExtend),
    /// Wait until the node's cached value of a kind reaches a version (`>=`); completes
    /// `MetadataReady(version)`.
    WaitForMetadata(MetadataKind, Version),
}

impl Op {
    /// An append of `payload` (text or bytes) to `log`.
    pub fn append(log: LogId, payload: impl Into<Vec<u8>>) -> Op {
        Op::Append(log, payload.into())
    }

    /// The log the operation is about, if any.
    pub fn log(&self) -> Option<LogId> {
        match *self {
            Op::Append(log, _)
            | Op::AppendRecovering(log, _, _)
            | Op::Seal(log)
            | Op::FindTail(log)
            | Op::Read(log, _, _)
            | Op::Trim(log, _) => Some(log),
            Op::SealAndExtend(ref s) => Some(s.log),
            Op::WaitForMetadata(..) => None,
        }
    }

    /// Its name in a Jepsen history (`f`): `append`, `seal`, `find-tail`, `read`, `trim`,
    /// `seal-and-extend`, `wait-for-metadata`.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Append(..) | Op::AppendRecovering(..) => "append",
            Op::Seal(_) => "seal",
            Op::FindTail(_) => "find-tail",
            Op::Read(..) => "read",
            Op::Trim(..) => "trim",
            Op::SealAndExtend(_) => "seal-and-extend",
            Op::WaitForMetadata(..) => "wait-for-metadata",
        }
    }

    /// From the WIT form, as a guest received it.
    pub(crate) fn from_wit(op: &bindings::Op) -> Op {
        match op {
            bindings::Op::Append(a) => match a.strategy {
                None => Op::Append(a.log, a.payload.clone()),
                Some(s) => Op::AppendRecovering(a.log, a.payload.clone(), s),
            },
            bindings::Op::Seal(log) => Op::Seal(*log),
            bindings::Op::FindTail(log) => Op::FindTail(*log),
            bindings::Op::Read((log, from, to)) => Op::Read(*log, *from, *to),
            bindings::Op::Trim((log, point)) => Op::Trim(*log, *point),
            bindings::Op::SealAndExtend(s) => Op::SealAndExtend(s.clone()),
            bindings::Op::WaitForMetadata((kind, version)) => Op::WaitForMetadata(*kind, *version),
        }
    }

    /// The WIT form, handed to the guest.
    pub(crate) fn to_wit(&self) -> bindings::Op {
        match self {
            Op::Append(log, payload) => bindings::Op::Append(bindings::Append {
                log: *log,
                payload: payload.clone(),
                strategy: None,
            }),
            Op::AppendRecovering(log, payload, strategy) => {
                bindings::Op::Append(bindings::Append {
                    log: *log,
                    payload: payload.clone(),
                    strategy: Some(*strategy),
                })
            }
            Op::Seal(log) => bindings::Op::Seal(*log),
            Op::FindTail(log) => bindings::Op::FindTail(*log),
            Op::Read(log, from, to) => bindings::Op::Read((*log, *from, *to)),
            Op::Trim(log, point) => bindings::Op::Trim((*log, *point)),
            Op::SealAndExtend(s) => bindings::Op::SealAndExtend(s.clone()),
            Op::WaitForMetadata(kind, version) => bindings::Op::WaitForMetadata((*kind, *version)),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Append(log, payload) => {
                write!(
                    f,
                    "append to log {log}: {}",
                    String::from_utf8_lossy(payload)
                )
            }
            Op::AppendRecovering(log, payload, strategy) => write!(
                f,
                "append to log {log} ({}): {}",
                strategy_name(*strategy),
                String::from_utf8_lossy(payload)
            ),
            Op::Seal(log) => write!(f, "seal log {log}"),
            Op::FindTail(log) => write!(f, "find-tail log {log}"),
            Op::Read(log, from, to) => write!(f, "read log {log} [{from}, {to})"),
            Op::Trim(log, point) => write!(f, "trim log {log} to {point}"),
            Op::SealAndExtend(s) => {
                write!(f, "seal and extend log {}", s.log)?;
                if let Some(index) = s.segment_index {
                    write!(f, " from segment {index}")?;
                }
                if let Some(sequencer) = s.sequencer {
                    write!(f, ", sequencer N{sequencer}")?;
                }
                Ok(())
            }
            Op::WaitForMetadata(_, v) => write!(f, "wait for Logs >= v{v}"),
        }
    }
}

/// The strategies by name, as scenarios and histories write them.
pub const STRATEGIES: [(RecoveryStrategy, &str); 3] = [
    (RecoveryStrategy::Wait, "wait"),
    (RecoveryStrategy::ExtendChainAllowed, "allowed"),
    (RecoveryStrategy::ExtendChainPreferred, "preferred"),
];

/// A strategy's name: `wait`, `allowed` (extend-chain-allowed), `preferred`.
pub fn strategy_name(strategy: RecoveryStrategy) -> &'static str {
    STRATEGIES
        .iter()
        .find(|(s, _)| *s == strategy)
        .map_or("wait", |(_, name)| name)
}

/// The strategy named `name`, if any.
pub fn strategy_named(name: &str) -> Option<RecoveryStrategy> {
    STRATEGIES.iter().find(|(_, n)| *n == name).map(|(s, _)| *s)
}

impl Op {
    /// What an append writes, whichever kind of append it is.
    pub fn payload(&self) -> Option<&[u8]> {
        match self {
            Op::Append(_, payload) | Op::AppendRecovering(_, payload, _) => Some(payload),
            _ => None,
        }
    }
}

impl ChainTail {
    /// An open tail of the first segment (LSN and loglet offset agree there).
    pub fn open(lsn: Lsn) -> ChainTail {
        ChainTail {
            segment_index: 0,
            tail: LogTail::Open(lsn),
        }
    }

    /// A sealed tail of the first segment.
    pub fn sealed(lsn: Lsn) -> ChainTail {
        ChainTail {
            segment_index: 0,
            tail: LogTail::Sealed(lsn),
        }
    }

    /// The tail's LSN, open or sealed.
    pub fn lsn(&self) -> Lsn {
        split_tail(self).0
    }

    /// Whether it is sealed.
    pub fn is_sealed(&self) -> bool {
        matches!(self.tail, LogTail::Sealed(_))
    }
}

/// Every race point a guest may report (`host.reached`), as scenarios name them.
pub const RACE_POINTS: [(RacePoint, &str); 7] = [
    (RacePoint::LogletSealed, "loglet-sealed"),
    (RacePoint::ChainPut, "chain-put"),
    (RacePoint::DrainStarted, "drain-started"),
    (RacePoint::MaybeSealed, "maybe-sealed"),
    (RacePoint::TrimClampedToZero, "trim-clamped-to-zero"),
    (RacePoint::TrimAckedAtQuorum, "trim-acked-at-quorum"),
    (RacePoint::HoldingForSegment, "holding-for-segment"),
];

/// A race point's name: `loglet-sealed`, `chain-put`...
pub fn race_point_name(point: RacePoint) -> &'static str {
    RACE_POINTS
        .iter()
        .find(|(p, _)| *p == point)
        .map_or("unknown", |(_, name)| name)
}

/// The race point named `name` (`loglet-sealed`...), if any.
pub fn race_point_named(name: &str) -> Option<RacePoint> {
    RACE_POINTS
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(p, _)| *p)
}

/// `0_0`: a loglet id as Restate prints it, `log_segment`.
pub fn fmt_loglet(id: u64) -> String {
    format!("{}_{}", id >> 32, id & 0xffff_ffff)
}

/// `Open(12)`, `Sealed(4002)`: a loglet's tail.
pub(crate) fn fmt_tail(t: &TailState) -> String {
    match t {
        TailState::Open(o) => format!("Open({o})"),
        TailState::Sealed(o) => format!("Sealed({o})"),
    }
}

/// `Open(12)`, `Sealed(4002)`, `Sealed(30) of segment 1`: a log's tail, with its segment
/// when it is not the first.
pub(crate) fn fmt_chain_tail(t: &ChainTail) -> String {
    let tail = match t.tail {
        LogTail::Open(lsn) => format!("Open({lsn})"),
        LogTail::Sealed(lsn) => format!("Sealed({lsn})"),
    };
    match t.segment_index {
        0 => tail,
        index => format!("{tail} of segment {index}"),
    }
}

/// The LSN of a log's tail and whether it is sealed.
pub(crate) fn split_tail(t: &ChainTail) -> (Lsn, bool) {
    match t.tail {
        LogTail::Open(lsn) => (lsn, false),
        LogTail::Sealed(lsn) => (lsn, true),
    }
}

/// A client error as the user sees it: `unknown log '0'`, `sealed`, ...
pub(crate) fn describe_error(e: &ClientError) -> String {
    match e {
        ClientError::Sealed => "sealed".into(),
        ClientError::UnknownLog(log) => format!("unknown log '{log}'"),
        ClientError::Unsupported(why) => format!("unsupported: {why}"),
        ClientError::Malformed(why) => format!("malformed: {why}"),
        ClientError::SegmentMismatch(index) => {
            format!("segment mismatch: the chain's tail is segment {index}")
        }
        ClientError::ReconfigurationNeeded(why) => format!("reconfiguration needed: {why}"),
        ClientError::LsnOutOfRange(lsn) => format!("LSN {lsn} is out of its segment's range"),
        ClientError::Internal(why) => format!("internal: {why}"),
    }
}

/// A result as one line: `appended at 5`, `tail Open(1)`, `failed: unknown log '0'`...
pub fn describe_result(r: &OpResult) -> String {
    match r {
        OpResult::Appended(o) => format!("appended at {o}"),
        OpResult::Sealed(t) => format!("sealed: {}", fmt_chain_tail(t)),
        OpResult::Tail(t) => format!("tail {}", fmt_chain_tail(t)),
        OpResult::Records(rs) => format!("{} records", rs.len()),
        OpResult::MetadataReady(v) => format!("metadata ready at v{v}"),
        OpResult::Trimmed(point) => format!("trimmed to {point}"),
        OpResult::Extended(e) => format!(
            "extended: segment {} from LSN {} at v{}",
            e.segment_index, e.base_lsn, e.version
        ),
        OpResult::Failed(e) => format!("failed: {}", describe_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_convert_to_the_wit_form_and_read_as_text() {
        let op = Op::append(0, "x");
        assert_eq!(
            op.to_wit(),
            bindings::Op::Append(bindings::Append {
                log: 0,
                payload: b"x".to_vec(),
                strategy: None
            })
        );
        assert_eq!(Op::from_wit(&op.to_wit()), op);
        assert_eq!(op.to_string(), "append to log 0: x");
        assert_eq!(Op::Read(0, 1, 5).name(), "read");
        assert_eq!(Op::WaitForMetadata(MetadataKind::Logs, 3).log(), None);
        assert_eq!(
            describe_result(&OpResult::Failed(ClientError::UnknownLog(0))),
            "failed: unknown log '0'"
        );
    }
}
