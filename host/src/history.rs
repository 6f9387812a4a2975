//! The history of every client operation: when it was invoked, by which process, and
//! how it completed. The checker judges this record, never the guest's word.
//!
//! It exports as a Jepsen-style history (`history.json`): one `invoke` entry per
//! operation and one completion (`ok`, `fail`, or `info` when it never completed).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::json;

use crate::bindings::{ClientError, MetadataKind, Op, OpResult, TailState};
use crate::time::SimTime;

/// Who invoked an operation: the workload's concurrent actors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Process {
    Main,
    Watcher,
    Appender(u32),
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Main => f.write_str("main"),
            Process::Watcher => f.write_str("watcher"),
            Process::Appender(i) => write!(f, "appender-{i}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct OpRecord {
    pub id: u64,
    pub process: Process,
    pub node: u32,
    pub op: Op,
    pub invoked: SimTime,
    pub completed: Option<(SimTime, OpResult)>,
}

impl OpRecord {
    /// Jepsen's `f`.
    pub fn f(&self) -> &'static str {
        match self.op {
            Op::Append(_) => "append",
            Op::Seal(_) => "seal",
            Op::FindTail(_) => "find-tail",
            Op::Read(_) => "read",
            Op::Trim(_) => "trim",
            Op::WaitForMetadata(_) => "wait-for-metadata",
        }
    }

    pub fn ok_offset(&self) -> Option<u32> {
        match self.completed {
            Some((_, OpResult::Appended(o))) => Some(o),
            _ => None,
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct History {
    ops: BTreeMap<u64, OpRecord>,
    next_id: u64,
}

/// One line of `history.json`.
#[derive(Debug, Serialize)]
pub struct JepsenEntry {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub f: &'static str,
    pub value: serde_json::Value,
    pub process: String,
    /// Nanoseconds of virtual time.
    pub time: u64,
    pub index: usize,
    pub node: u32,
}

impl History {
    /// Records an invocation and returns its op id.
    pub fn invoke(&mut self, now: SimTime, process: Process, node: u32, op: Op) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.ops.insert(
            id,
            OpRecord {
                id,
                process,
                node,
                op,
                invoked: now,
                completed: None,
            },
        );
        id
    }

    /// Records a completion; returns the record, or None for an unknown or repeated one.
    pub fn complete(&mut self, now: SimTime, id: u64, result: OpResult) -> Option<&OpRecord> {
        let record = self.ops.get_mut(&id)?;
        if record.completed.is_some() {
            return None;
        }
        record.completed = Some((now, result));
        Some(record)
    }

    pub fn get(&self, id: u64) -> Option<&OpRecord> {
        self.ops.get(&id)
    }

    /// Every operation in invocation order.
    pub fn ops(&self) -> impl Iterator<Item = &OpRecord> {
        self.ops.values()
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The Jepsen-style entries, in time order (invocations before completions at a tie).
    pub fn jepsen(&self) -> Vec<JepsenEntry> {
        let mut rows: Vec<(u64, u8, u64, JepsenEntry)> = Vec::new();
        for r in self.ops.values() {
            rows.push((
                r.invoked.0,
                0,
                r.id,
                JepsenEntry {
                    kind: "invoke",
                    f: r.f(),
                    value: op_value(&r.op),
                    process: r.process.to_string(),
                    time: r.invoked.0,
                    index: 0,
                    node: r.node,
                },
            ));
            let (time, kind, value) = match &r.completed {
                Some((t, result)) => {
                    let kind = if matches!(result, OpResult::Failed(_)) {
                        "fail"
                    } else {
                        "ok"
                    };
                    (t.0, kind, result_value(result))
                }
                None => (u64::MAX, "info", serde_json::Value::Null),
            };
            rows.push((
                time,
                1,
                r.id,
                JepsenEntry {
                    kind,
                    f: r.f(),
                    value,
                    process: r.process.to_string(),
                    time: if time == u64::MAX { r.invoked.0 } else { time },
                    index: 0,
                    node: r.node,
                },
            ));
        }
        rows.sort_by_key(|(t, phase, id, _)| (*t, *phase, *id));
        rows.into_iter()
            .enumerate()
            .map(|(i, (_, _, _, mut e))| {
                e.index = i;
                e
            })
            .collect()
    }
}

fn op_value(op: &Op) -> serde_json::Value {
    match op {
        Op::Append((log, payload)) => {
            json!({"log": log, "payload": String::from_utf8_lossy(payload)})
        }
        Op::Seal(log) | Op::FindTail(log) => json!({"log": log}),
        Op::Read((log, from, to)) => json!({"log": log, "from": from, "to": to}),
        Op::Trim((log, point)) => json!({"log": log, "trim_point": point}),
        Op::WaitForMetadata((kind, version)) => {
            let MetadataKind::Logs = kind;
            json!({"kind": "logs", "version": version})
        }
    }
}

/// `Open(12)`, `Sealed(4002)`.
pub fn fmt_tail(t: &TailState) -> String {
    match t {
        TailState::Open(o) => format!("Open({o})"),
        TailState::Sealed(o) => format!("Sealed({o})"),
    }
}

pub fn tail_value(t: &TailState) -> serde_json::Value {
    match t {
        TailState::Open(o) => json!({"open": o}),
        TailState::Sealed(o) => json!({"sealed": o}),
    }
}

fn result_value(r: &OpResult) -> serde_json::Value {
    match r {
        OpResult::Appended(o) => json!(o),
        OpResult::Sealed(t) | OpResult::Tail(t) => tail_value(t),
        OpResult::Records(rs) => json!(rs.iter().map(|r| r.offset).collect::<Vec<_>>()),
        OpResult::MetadataReady(v) => json!({"version": v}),
        OpResult::Trimmed(point) => json!({"trim_point": point}),
        OpResult::Failed(e) => json!(describe_error(e)),
    }
}

/// A client error as the user sees it: `unknown log '0'`, `sealed`, ...
pub fn describe_error(e: &ClientError) -> String {
    match e {
        ClientError::Sealed => "sealed".into(),
        ClientError::UnknownLog(log) => format!("unknown log '{log}'"),
        ClientError::Unsupported(why) => format!("unsupported: {why}"),
        ClientError::Malformed(why) => format!("malformed: {why}"),
        ClientError::Internal(why) => format!("internal: {why}"),
    }
}
