//! Reading a history back from its file: the Jepsen-style `history.json` that `--out`
//! writes (and any file of that shape, written by hand or by another tool), so that
//! `logsandbox check HISTORY` can judge it.
//!
//! Each entry is `{"type": "invoke"|"ok"|"fail"|"info", "id", "f", "value", "process",
//! "time", "node"}`, in the order things happened. An `info` completion whose value is a
//! client error (`sealed`, `internal: ...`) is a write that failed but may have taken
//! effect; any other `info` value is why the operation was lost; an `info` with a null
//! value never ended.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::op::{ChainTail, ClientError, Extended, LogTail, MetadataKind, SealAndExtend};
use crate::op::{Op, OpId, OpResult, ReadRecord};
use crate::record::history::{History, Process};
use crate::time::SimTime;

/// Why a history file could not be read: the entry and what is wrong with it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}: {place}: {reason}")]
pub struct HistoryFileError {
    /// The file.
    pub file: String,
    /// `entry 12 (id 7)`, or `the file`.
    pub place: String,
    /// What is wrong.
    pub reason: String,
}

/// The most entries a history file may hold.
pub const MAX_ENTRIES: usize = 10_000_000;

/// A history read from a file, and the file's own operation ids.
#[derive(Debug, Clone)]
pub struct HistoryFile {
    /// The history (its operations numbered in invocation order, as a run numbers them).
    pub history: History,
    /// Each operation's id in the history, to its id in the file.
    pub file_ids: BTreeMap<u64, u64>,
}

impl HistoryFile {
    /// `text` (a check's detail) with the operations it names (`#N`) named by the file's ids.
    pub fn in_file_ids(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find('#') {
            out += &rest[..=i];
            rest = &rest[i + 1..];
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            if let Some(id) = rest[..digits]
                .parse::<u64>()
                .ok()
                .and_then(|n| self.file_ids.get(&n))
            {
                out += &id.to_string();
                rest = &rest[digits..];
            }
        }
        out + rest
    }
}

/// Reads a history from the text of a Jepsen-style history file named `file`.
pub fn read(file: &str, text: &str) -> Result<History, HistoryFileError> {
    read_with_ids(file, text).map(|h| h.history)
}

/// As [`read`], keeping the file's operation ids.
pub fn read_with_ids(file: &str, text: &str) -> Result<HistoryFile, HistoryFileError> {
    let whole = |reason: String| HistoryFileError {
        file: file.to_string(),
        place: "the file".into(),
        reason,
    };
    let entries: Value = serde_json::from_str(text).map_err(|e| whole(format!("not JSON: {e}")))?;
    let Value::Array(entries) = entries else {
        return Err(whole("expected an array of entries".into()));
    };
    if entries.len() > MAX_ENTRIES {
        return Err(whole(format!("more than {MAX_ENTRIES} entries")));
    }
    let mut history = History::new();
    // The file's ids, to the ids the history gives, with each operation's kind.
    let mut ids: BTreeMap<u64, (OpId, Op)> = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let id = entry.get("id").and_then(Value::as_u64);
        let bad = |reason: String| HistoryFileError {
            file: file.to_string(),
            place: match id {
                Some(id) => format!("entry {i} (id {id})"),
                None => format!("entry {i}"),
            },
            reason,
        };
        let field = |name: &str| entry.get(name).ok_or_else(|| bad(format!("no `{name}`")));
        let id = id.ok_or_else(|| bad("`id` is not a whole number".into()))?;
        let kind = field("type")?
            .as_str()
            .ok_or_else(|| bad("`type` is not text".into()))?;
        let time = field("time")?
            .as_u64()
            .ok_or_else(|| bad("`time` is not a whole number of nanoseconds".into()))?;
        let value = entry.get("value").unwrap_or(&Value::Null);
        match kind {
            "invoke" => {
                if ids.contains_key(&id) {
                    return Err(bad("this id was invoked before".into()));
                }
                let f = field("f")?
                    .as_str()
                    .ok_or_else(|| bad("`f` is not text".into()))?;
                let op = op_of(f, value).map_err(&bad)?;
                let process = process_of(
                    field("process")?
                        .as_str()
                        .ok_or_else(|| bad("`process` is not text".into()))?,
                )
                .map_err(&bad)?;
                let node = field("node")?
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad("`node` is not a node id".into()))?;
                let given = history.invoke(SimTime(time), process, node, op.clone());
                ids.insert(id, (given, op));
            }
            "ok" | "fail" | "info" => {
                let (given, op) = ids
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| bad(format!("a `{kind}` for an id never invoked")))?;
                let done = match (kind, value) {
                    ("info", Value::Null) => continue,
                    ("ok", value) => {
                        let result = result_of(&op, value).map_err(&bad)?;
                        history.complete(SimTime(time), given, result).is_some()
                    }
                    ("fail", value) => {
                        let e = error_of(value).map_err(&bad)?;
                        history
                            .complete(SimTime(time), given, OpResult::Failed(e))
                            .is_some()
                    }
                    (_, value) => match error_of(value) {
                        Ok(e) if crate::record::history::may_have_taken_effect(&op, &e) => history
                            .complete(SimTime(time), given, OpResult::Failed(e))
                            .is_some(),
                        _ => {
                            let why = value.as_str().unwrap_or("lost").to_string();
                            history.lose(SimTime(time), given, why)
                        }
                    },
                };
                if !done {
                    return Err(bad("this operation had already ended".into()));
                }
            }
            other => {
                return Err(bad(format!(
                    "`type` {other:?} is not invoke, ok, fail or info"
                )));
            }
        }
    }
    let file_ids = ids
        .iter()
        .map(|(file, (given, _))| (given.0, *file))
        .collect();
    Ok(HistoryFile { history, file_ids })
}

fn process_of(text: &str) -> Result<Process, String> {
    let numbered = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|n| n.parse::<u32>().ok())
    };
    match text {
        "main" => Ok(Process::Main),
        "watcher" => Ok(Process::Watcher),
        "user" => Ok(Process::User),
        _ => numbered("appender-")
            .map(Process::Appender)
            .or_else(|| numbered("worker-").map(Process::Worker))
            .or_else(|| numbered("step-").map(Process::Step))
            .ok_or_else(|| {
                format!(
                    "process {text:?} is not main, watcher, user, appender-N, worker-N or step-N"
                )
            }),
    }
}

fn u32_of(value: &Value, name: &str) -> Result<u32, String> {
    value
        .get(name)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("`value.{name}` is not a whole number below 2^32"))
}

fn u64_of(value: &Value, name: &str) -> Result<u64, String> {
    value
        .get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("`value.{name}` is not a whole number below 2^64"))
}

/// An optional field: absent or null is none; otherwise it must read.
fn optional<T>(
    value: &Value,
    name: &str,
    read: impl Fn(&Value, &str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match value.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => read(value, name).map(Some),
    }
}

fn payload_of(value: &Value) -> Result<Vec<u8>, String> {
    match value {
        Value::String(text) => Ok(text.as_bytes().to_vec()),
        Value::Object(o) => {
            let hex = o
                .get("hex")
                .and_then(Value::as_str)
                .ok_or("a payload is text or {\"hex\": \"...\"}")?;
            if !hex.is_ascii() || hex.len() % 2 != 0 {
                return Err(format!(
                    "hex payload {hex:?} is not an even number of hexadecimal digits"
                ));
            }
            (0..hex.len())
                .step_by(2)
                .map(|i| {
                    u8::from_str_radix(&hex[i..i + 2], 16)
                        .map_err(|_| format!("hex payload {hex:?} is not hexadecimal"))
                })
                .collect()
        }
        _ => Err("a payload is text or {\"hex\": \"...\"}".into()),
    }
}

fn op_of(f: &str, value: &Value) -> Result<Op, String> {
    let log = || u32_of(value, "log");
    Ok(match f {
        "append" => {
            let payload = payload_of(value.get("payload").unwrap_or(&Value::Null))?;
            match value.get("strategy") {
                None | Some(Value::Null) => Op::Append(log()?, payload),
                Some(name) => {
                    let strategy = name
                        .as_str()
                        .and_then(crate::op::strategy_named)
                        .ok_or("`value.strategy` is not wait, allowed or preferred")?;
                    Op::AppendRecovering(log()?, payload, strategy)
                }
            }
        }
        "seal" => Op::Seal(log()?),
        "find-tail" => Op::FindTail(log()?),
        "read" => Op::Read(log()?, u64_of(value, "from")?, u64_of(value, "to")?),
        "trim" => Op::Trim(log()?, u64_of(value, "trim_point")?),
        "seal-and-extend" => Op::SealAndExtend(SealAndExtend {
            log: log()?,
            min_version: optional(value, "min_version", u32_of)?,
            segment_index: optional(value, "segment", u32_of)?,
            sequencer: optional(value, "sequencer", u32_of)?,
            nodeset: optional(value, "nodeset", |v, name| {
                v.get(name)
                    .and_then(Value::as_array)
                    .and_then(|nodes| {
                        nodes
                            .iter()
                            .map(|n| n.as_u64().and_then(|n| u32::try_from(n).ok()))
                            .collect::<Option<Vec<u32>>>()
                    })
                    .ok_or_else(|| format!("`value.{name}` is not a list of node ids"))
            })?,
            replication: optional(value, "replication", |v, name| {
                u32_of(v, name).and_then(|n| {
                    u8::try_from(n).map_err(|_| format!("`value.{name}` is above 255"))
                })
            })?,
        }),
        "wait-for-metadata" => Op::WaitForMetadata(MetadataKind::Logs, u32_of(value, "version")?),
        other => {
            return Err(format!(
                "`f` {other:?} is not append, seal, find-tail, read, trim, seal-and-extend or wait-for-metadata"
            ));
        }
    })
}

/// A log's tail: `{"open": N}` or `{"sealed": N}`, with `"segment": I` when it is not of
/// the first segment.
fn tail_of(value: &Value) -> Result<ChainTail, String> {
    let lsn = |name| value.get(name).and_then(Value::as_u64);
    let tail = match (lsn("open"), lsn("sealed")) {
        (Some(o), None) => LogTail::Open(o),
        (None, Some(o)) => LogTail::Sealed(o),
        _ => return Err("a tail is {\"open\": N} or {\"sealed\": N}".into()),
    };
    Ok(ChainTail {
        segment_index: optional(value, "segment", u32_of)?.unwrap_or(0),
        tail,
    })
}

fn result_of(op: &Op, value: &Value) -> Result<OpResult, String> {
    Ok(match op {
        Op::Append(..) | Op::AppendRecovering(..) => OpResult::Appended(
            value
                .as_u64()
                .ok_or("an append's result is the LSN it was acknowledged at")?,
        ),
        Op::Seal(_) => OpResult::Sealed(tail_of(value)?),
        Op::FindTail(_) => OpResult::Tail(tail_of(value)?),
        Op::Read(..) => {
            let records = value
                .as_array()
                .ok_or("a read's result is a list of records")?;
            let records = records
                .iter()
                .map(|r| {
                    // `offset` is what histories of logsandbox 0.3 called it.
                    let lsn = match r.get("lsn") {
                        Some(_) => u64_of(r, "lsn")?,
                        None => u64_of(r, "offset")?,
                    };
                    Ok(ReadRecord {
                        lsn,
                        payload: payload_of(r.get("payload").unwrap_or(&Value::Null))?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            OpResult::Records(records)
        }
        Op::Trim(..) => OpResult::Trimmed(u64_of(value, "trim_point")?),
        Op::SealAndExtend(_) => OpResult::Extended(Extended {
            segment_index: u32_of(value, "segment")?,
            base_lsn: u64_of(value, "base_lsn")?,
            version: u32_of(value, "version")?,
        }),
        Op::WaitForMetadata(..) => OpResult::MetadataReady(u32_of(value, "version")?),
    })
}

/// The client error a history prints (`sealed`, `unknown log '0'`, `internal: why`...).
fn error_of(value: &Value) -> Result<ClientError, String> {
    let text = value
        .as_str()
        .ok_or("an error is text, such as \"sealed\"")?;
    if text == "sealed" {
        return Ok(ClientError::Sealed);
    }
    if let Some(log) = text
        .strip_prefix("unknown log '")
        .and_then(|rest| rest.strip_suffix('\''))
        .and_then(|log| log.parse().ok())
    {
        return Ok(ClientError::UnknownLog(log));
    }
    if let Some(index) = text
        .strip_prefix("segment mismatch: the chain's tail is segment ")
        .and_then(|index| index.parse().ok())
    {
        return Ok(ClientError::SegmentMismatch(index));
    }
    if let Some(lsn) = text
        .strip_prefix("LSN ")
        .and_then(|rest| rest.strip_suffix(" is out of its segment's range"))
        .and_then(|lsn| lsn.parse().ok())
    {
        return Ok(ClientError::LsnOutOfRange(lsn));
    }
    for (prefix, make) in [
        (
            "unsupported: ",
            ClientError::Unsupported as fn(String) -> ClientError,
        ),
        ("malformed: ", ClientError::Malformed),
        (
            "reconfiguration needed: ",
            ClientError::ReconfigurationNeeded,
        ),
        ("internal: ", ClientError::Internal),
    ] {
        if let Some(why) = text.strip_prefix(prefix) {
            return Ok(make(why.to_string()));
        }
    }
    Err(format!(
        "{text:?} is not a client error (sealed, unknown log 'N', unsupported: ..., malformed: ..., segment mismatch: ..., reconfiguration needed: ..., LSN N is out of its segment's range, internal: ...)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check_history;

    #[test]
    fn a_history_reads_back_as_it_was_written() {
        let mut h = History::new();
        let a = h.invoke(SimTime(1), Process::Appender(1), 5, Op::append(0, "a"));
        let b = h.invoke(SimTime(2), Process::Watcher, 5, Op::FindTail(0));
        let c = h.invoke(SimTime(2), Process::Main, 5, Op::append(0, vec![0xff]));
        let d = h.invoke(SimTime(3), Process::Step(2), 5, Op::Read(0, 1, 1));
        h.complete(SimTime(4), a, OpResult::Appended(1));
        h.complete(
            SimTime(5),
            b,
            OpResult::Tail(ChainTail {
                segment_index: 0,
                tail: LogTail::Sealed(2),
            }),
        );
        h.complete(SimTime(6), c, OpResult::Failed(ClientError::Sealed));
        h.lose(SimTime(7), d, "N5 crashed".into());
        let text = serde_json::to_string(&h.jepsen()).unwrap();
        let back = read("h.json", &text).unwrap();
        assert_eq!(
            serde_json::to_value(back.jepsen()).unwrap(),
            serde_json::to_value(h.jepsen()).unwrap()
        );
        assert_eq!(check_history(&back), check_history(&h));
    }

    #[test]
    fn checks_name_operations_by_the_files_ids() {
        let text = r#"[
            {"type":"invoke","id":70,"f":"seal","value":{"log":0},"process":"main","time":1,"node":5},
            {"type":"invoke","id":90,"f":"find-tail","value":{"log":0},"process":"watcher","time":2,"node":5},
            {"type":"ok","id":70,"f":"seal","value":{"sealed":3},"process":"main","time":3,"node":5},
            {"type":"ok","id":90,"f":"find-tail","value":{"sealed":4},"process":"watcher","time":4,"node":5}
        ]"#;
        let file = read_with_ids("h.json", text).unwrap();
        // The two sealed tails differ: information that names both operations.
        let agree: Vec<String> = check_history(&file.history)
            .into_iter()
            .filter(|c| c.name == "sealed_tails_agree")
            .map(|c| file.in_file_ids(&c.detail))
            .collect();
        assert!(
            agree.iter().any(|d| d.contains("#90") && d.contains("#70")),
            "{agree:?}"
        );
    }

    #[test]
    fn a_bad_entry_is_named_with_what_is_wrong() {
        let e = read("h.json", r#"[{"type":"invoke","id":1,"f":"frob","value":{},"process":"main","time":0,"node":5}]"#)
            .unwrap_err();
        assert_eq!(e.place, "entry 0 (id 1)");
        assert!(e.reason.contains("\"frob\""), "{e}");
        let e = read("h.json", r#"[{"type":"ok","id":3,"f":"seal","value":{"sealed":2},"process":"main","time":0,"node":5}]"#)
            .unwrap_err();
        assert!(e.reason.contains("never invoked"), "{e}");
        let e = read("h.json", r#"[{"type":"invoke","id":1,"f":"append","value":{"log":0,"payload":{"hex":"aé0"}},"process":"main","time":0,"node":5}]"#)
            .unwrap_err();
        assert!(e.reason.contains("hexadecimal"), "{e}");
        assert!(read("h.json", "{").unwrap_err().reason.contains("not JSON"));
        assert!(read("h.json", "{}").unwrap_err().reason.contains("array"));
    }
}
