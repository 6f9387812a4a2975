//! The history of every client operation: when it was invoked, by which process, on which
//! node, and how it ended. The checks judge this record, never the guest's word.
//!
//! It exports as a Jepsen-style history (`history.json`): one `invoke` entry per
//! operation and one completion: `ok`; `fail` when the error guarantees the operation had
//! no effect; `info` when it may have had one (an append or a trim or a seal that failed
//! sealed or internal: some log-servers may hold its record or its trim), or never
//! completed (its node crashed, or the run ended first). Entries carry the op id that
//! pairs an invocation with its completion, and reads carry their records' payloads.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::json;

use crate::op::{ChainTail, ClientError, LogTail, Lsn, NodeId, Op, OpId, OpResult, describe_error};
use crate::time::SimTime;

/// Who invoked an operation: one of a workload's concurrent actors, or the user of the
/// sandbox handle. Shown in histories (`process`) and traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Process {
    /// The main task of a workload (`main`).
    Main,
    /// The find-tail watcher of the append/seal workload (`watcher`).
    Watcher,
    /// Appender `n` of the append/seal workload (`appender-n`).
    Appender(u32),
    /// Worker `n` of the random-operations workload, or of a workload of your own (`worker-n`).
    Worker(u32),
    /// Step `n` of a script, counted from 1 (`step-n`).
    Step(u32),
    /// A call on the sandbox handle (`user`).
    User,
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Main => f.write_str("main"),
            Process::Watcher => f.write_str("watcher"),
            Process::Appender(i) => write!(f, "appender-{i}"),
            Process::Worker(i) => write!(f, "worker-{i}"),
            Process::Step(i) => write!(f, "step-{i}"),
            Process::User => f.write_str("user"),
        }
    }
}

/// One operation: its invocation and, once known, how it ended.
#[derive(Debug, Clone)]
pub struct OpRecord {
    /// Its id, in invocation order.
    pub id: OpId,
    /// Who invoked it.
    pub process: Process,
    /// The client node it ran on.
    pub node: NodeId,
    /// What was asked.
    pub op: Op,
    /// When it was invoked (virtual time).
    pub invoked: SimTime,
    /// When and how it completed; None while in flight, or when it was lost.
    pub completed: Option<(SimTime, OpResult)>,
    /// When and why it can no longer complete (its node crashed or was down).
    pub lost: Option<(SimTime, String)>,
    /// Its place in the history's order of events (invocations and endings), which is
    /// the real-time order: several events may share one virtual instant, this never ties.
    pub invoked_seq: u64,
    /// The place of its completion or loss in that order.
    pub ended_seq: Option<u64>,
}

impl OpRecord {
    /// Jepsen's `f`: `append`, `seal`, `find-tail`...
    pub fn f(&self) -> &'static str {
        self.op.name()
    }

    /// The offset of an acknowledged append.
    pub fn ok_offset(&self) -> Option<Lsn> {
        match self.completed {
            Some((_, OpResult::Appended(o))) => Some(o),
            _ => None,
        }
    }

    /// The result, once completed.
    pub fn result(&self) -> Option<&OpResult> {
        self.completed.as_ref().map(|(_, r)| r)
    }

    /// When it completed.
    pub fn completed_at(&self) -> Option<SimTime> {
        self.completed.as_ref().map(|(t, _)| *t)
    }

    /// It completed before `later` was invoked: in real time, `later` saw its effects.
    pub fn precedes(&self, later: &OpRecord) -> bool {
        self.completed.is_some() && self.ended_seq.is_some_and(|s| s < later.invoked_seq)
    }

    /// It was invoked before `other` ended (or `other` has not ended): it may have taken
    /// effect before `other` observed the log.
    pub fn invoked_before_end_of(&self, other: &OpRecord) -> bool {
        other.ended_seq.is_none_or(|s| self.invoked_seq < s)
    }

    /// The tail a find-tail or seal reported.
    pub fn tail(&self) -> Option<ChainTail> {
        match self.result() {
            Some(OpResult::Tail(t) | OpResult::Sealed(t)) => Some(*t),
            _ => None,
        }
    }
}

/// Every client operation of a run, in invocation order. Build one by hand with
/// [`History::invoke`] and [`History::complete`] to judge it with the checks.
#[derive(Debug, Default, Clone)]
pub struct History {
    ops: BTreeMap<OpId, OpRecord>,
    next_id: u64,
    /// Counts invocations and endings: their order is the real-time order.
    next_seq: u64,
}

/// One line of `history.json`.
#[derive(Debug, Serialize)]
pub struct JepsenEntry {
    /// `invoke`, `ok`, `fail` or `info`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The operation's id: its invocation and its completion carry the same.
    pub id: u64,
    /// The operation's name.
    pub f: &'static str,
    /// Its argument (invoke) or result (completion).
    pub value: serde_json::Value,
    /// Who invoked it.
    pub process: String,
    /// Nanoseconds of virtual time.
    pub time: u64,
    /// Position in the history.
    pub index: usize,
    /// The client node.
    pub node: NodeId,
}

impl History {
    /// An empty history.
    pub fn new() -> History {
        History::default()
    }

    /// Records an invocation and returns its op id. Calls must come in real-time order.
    pub fn invoke(&mut self, now: SimTime, process: Process, node: NodeId, op: Op) -> OpId {
        self.next_id += 1;
        self.next_seq += 1;
        let id = OpId(self.next_id);
        self.ops.insert(
            id,
            OpRecord {
                id,
                process,
                node,
                op,
                invoked: now,
                completed: None,
                lost: None,
                invoked_seq: self.next_seq,
                ended_seq: None,
            },
        );
        id
    }

    /// Records a completion; returns the record, or None for an unknown op or one that
    /// already ended.
    pub fn complete(&mut self, now: SimTime, id: OpId, result: OpResult) -> Option<&OpRecord> {
        let record = self.ops.get_mut(&id)?;
        if record.completed.is_some() || record.lost.is_some() {
            return None;
        }
        self.next_seq += 1;
        record.completed = Some((now, result));
        record.ended_seq = Some(self.next_seq);
        Some(record)
    }

    /// Records that an op in flight can no longer complete; false if it already ended.
    pub fn lose(&mut self, now: SimTime, id: OpId, why: String) -> bool {
        match self.ops.get_mut(&id) {
            Some(r) if r.completed.is_none() && r.lost.is_none() => {
                self.next_seq += 1;
                r.lost = Some((now, why));
                r.ended_seq = Some(self.next_seq);
                true
            }
            _ => false,
        }
    }

    /// One operation.
    pub fn get(&self, id: OpId) -> Option<&OpRecord> {
        self.ops.get(&id)
    }

    /// Every operation in invocation order.
    pub fn ops(&self) -> impl Iterator<Item = &OpRecord> {
        self.ops.values()
    }

    /// Operations still in flight on `node`, in invocation order.
    pub fn in_flight_on(&self, node: NodeId) -> Vec<OpId> {
        self.ops
            .values()
            .filter(|r| r.node == node && r.completed.is_none() && r.lost.is_none())
            .map(|r| r.id)
            .collect()
    }

    /// How many operations were invoked.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Nothing was invoked.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The Jepsen-style entries, in the order things happened (several may share an
    /// instant of virtual time); an operation that never ended closes the list as `info`.
    pub fn jepsen(&self) -> Vec<JepsenEntry> {
        let mut rows: Vec<(u64, JepsenEntry)> = Vec::new();
        for r in self.ops.values() {
            let entry = |kind, value, time| JepsenEntry {
                kind,
                id: r.id.0,
                f: r.f(),
                value,
                process: r.process.to_string(),
                time,
                index: 0,
                node: r.node,
            };
            rows.push((r.invoked_seq, entry("invoke", op_value(&r.op), r.invoked.0)));
            let (order, time, kind, value) = match (&r.completed, &r.lost) {
                (Some((t, result)), _) => {
                    let kind = match result {
                        OpResult::Failed(e) if may_have_taken_effect(&r.op, e) => "info",
                        OpResult::Failed(_) => "fail",
                        _ => "ok",
                    };
                    (r.ended_seq, t.0, kind, result_value(result))
                }
                (None, Some((t, why))) => (r.ended_seq, t.0, "info", json!(why)),
                (None, None) => (None, r.invoked.0, "info", serde_json::Value::Null),
            };
            rows.push((order.unwrap_or(u64::MAX), entry(kind, value, time)));
        }
        rows.sort_by_key(|(order, _)| *order);
        rows.into_iter()
            .enumerate()
            .map(|(i, (_, mut e))| {
                e.index = i;
                e
            })
            .collect()
    }
}

/// Whether an operation that failed with `e` may still have changed the log: an append
/// or a seal or a trim cut short (`sealed`, `internal`) may have reached some
/// log-servers; a refusal (`unknown log`, `unsupported`, `malformed`) did not, nor does a
/// failed read.
pub(crate) fn may_have_taken_effect(op: &Op, e: &ClientError) -> bool {
    let writes = matches!(
        op,
        Op::Append(..)
            | Op::AppendRecovering(..)
            | Op::Seal(_)
            | Op::Trim(..)
            | Op::SealAndExtend(_)
    );
    writes && matches!(e, ClientError::Sealed | ClientError::Internal(_))
}

/// A payload as JSON: its text when it is UTF-8, else `{"hex": "..."}`.
pub(crate) fn payload_value(payload: &[u8]) -> serde_json::Value {
    match std::str::from_utf8(payload) {
        Ok(text) => json!(text),
        Err(_) => {
            let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
            json!({ "hex": hex })
        }
    }
}

fn op_value(op: &Op) -> serde_json::Value {
    match op {
        Op::Append(log, payload) => json!({"log": log, "payload": payload_value(payload)}),
        Op::AppendRecovering(log, payload, strategy) => json!({
            "log": log,
            "payload": payload_value(payload),
            "strategy": crate::op::strategy_name(*strategy),
        }),
        Op::Seal(log) | Op::FindTail(log) => json!({"log": log}),
        Op::Read(log, from, to) => json!({"log": log, "from": from, "to": to}),
        Op::Trim(log, point) => json!({"log": log, "trim_point": point}),
        Op::SealAndExtend(s) => {
            let mut value = json!({"log": s.log});
            let fields = [
                ("min_version", s.min_version.map(|v| json!(v))),
                ("segment", s.segment_index.map(|i| json!(i))),
                ("sequencer", s.sequencer.map(|n| json!(n))),
                ("nodeset", s.nodeset.as_ref().map(|n| json!(n))),
                ("replication", s.replication.map(|r| json!(r))),
            ];
            for (name, field) in fields {
                if let Some(field) = field {
                    value[name] = field;
                }
            }
            value
        }
        Op::WaitForMetadata(_, version) => json!({"kind": "logs", "version": version}),
    }
}

/// A tail as JSON: `{"open": 12}` or `{"sealed": 4002}`.
/// `{"open": N}` or `{"sealed": N}`, with `"segment": I` when not of the first segment.
pub(crate) fn tail_value(t: &ChainTail) -> serde_json::Value {
    let mut value = match t.tail {
        LogTail::Open(lsn) => json!({"open": lsn}),
        LogTail::Sealed(lsn) => json!({"sealed": lsn}),
    };
    if t.segment_index != 0 {
        value["segment"] = json!(t.segment_index);
    }
    value
}

fn result_value(r: &OpResult) -> serde_json::Value {
    match r {
        OpResult::Appended(o) => json!(o),
        OpResult::Sealed(t) | OpResult::Tail(t) => tail_value(t),
        OpResult::Records(rs) => json!(
            rs.iter()
                .map(|r| json!({"lsn": r.lsn, "payload": payload_value(&r.payload)}))
                .collect::<Vec<_>>()
        ),
        OpResult::MetadataReady(v) => json!({"version": v}),
        OpResult::Trimmed(point) => json!({"trim_point": point}),
        OpResult::Extended(e) => {
            json!({"segment": e.segment_index, "base_lsn": e.base_lsn, "version": e.version})
        }
        OpResult::Failed(e) => json!(describe_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_op_ends_once_and_lost_ops_show_as_info() {
        let mut h = History::new();
        let a = h.invoke(SimTime(1), Process::User, 5, Op::FindTail(0));
        let b = h.invoke(SimTime(2), Process::Worker(1), 5, Op::Seal(0));
        assert!(
            h.complete(
                SimTime(3),
                a,
                OpResult::Tail(ChainTail {
                    segment_index: 0,
                    tail: LogTail::Open(1)
                })
            )
            .is_some()
        );
        assert!(
            h.complete(
                SimTime(4),
                a,
                OpResult::Tail(ChainTail {
                    segment_index: 0,
                    tail: LogTail::Open(2)
                })
            )
            .is_none()
        );
        assert!(h.lose(SimTime(5), b, "N5 crashed".into()));
        assert!(h.complete(SimTime(6), b, OpResult::Appended(1)).is_none());
        let kinds: Vec<&str> = h.jepsen().iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec!["invoke", "invoke", "ok", "info"]);
        let ids: Vec<u64> = h.jepsen().iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![a.0, b.0, a.0, b.0]);
        assert_eq!(h.in_flight_on(5), Vec::<OpId>::new());
    }

    #[test]
    fn a_write_that_may_have_taken_effect_is_info_and_a_refusal_is_fail() {
        let mut h = History::new();
        let sealed = h.invoke(SimTime(1), Process::User, 5, Op::append(0, "a"));
        let unknown = h.invoke(SimTime(1), Process::User, 5, Op::append(0, "b"));
        let read = h.invoke(SimTime(1), Process::User, 5, Op::Read(0, 1, 3));
        h.complete(SimTime(2), sealed, OpResult::Failed(ClientError::Sealed));
        h.complete(
            SimTime(3),
            unknown,
            OpResult::Failed(ClientError::UnknownLog(0)),
        );
        let records = vec![
            crate::op::ReadRecord {
                lsn: 1,
                payload: b"a".to_vec(),
            },
            crate::op::ReadRecord {
                lsn: 2,
                payload: vec![0xff],
            },
        ];
        h.complete(SimTime(4), read, OpResult::Records(records));
        let entries = h.jepsen();
        let end = |id: OpId| entries.iter().rev().find(|e| e.id == id.0).unwrap();
        assert_eq!((end(sealed).kind, end(sealed).time), ("info", 2));
        assert_eq!(end(unknown).kind, "fail");
        assert_eq!(
            end(read).value,
            json!([{"lsn": 1, "payload": "a"}, {"lsn": 2, "payload": {"hex": "ff"}}])
        );
    }
}
