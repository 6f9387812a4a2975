//! A cheating client, compiled in only for the `list-on-client` test guest: it keeps each
//! log in a list on the client node and never involves a log-server. Its answers are
//! self-consistent (offsets unique, tails monotonic, reads complete), so every check that
//! reads the history passes it; only `acknowledged_durable`, which reads the log-servers'
//! databases, can tell that nothing was replicated.

use std::collections::BTreeMap;

use crate::bindings::logsandbox::node::client::{
    Append, ChainTail, ClientError, LogTail, Op, OpResult, ReadRecord,
};
use crate::bindings::logsandbox::node::types::LogId;

/// Every log, as a list of payloads and a seal flag.
#[derive(Default)]
pub struct ListLogs {
    logs: BTreeMap<LogId, (Vec<Vec<u8>>, bool)>,
}

impl ListLogs {
    /// Answers a log operation from the lists.
    pub fn answer(&mut self, log: LogId, op: Op) -> OpResult {
        let (records, sealed) = self.logs.entry(log).or_default();
        let tail = records.len() as u64 + 1;
        let state = ChainTail {
            segment_index: 0,
            tail: if *sealed {
                LogTail::Sealed(tail)
            } else {
                LogTail::Open(tail)
            },
        };
        match op {
            Op::Append(_) if *sealed => OpResult::Failed(ClientError::Sealed),
            Op::Append(Append { payload, .. }) => {
                records.push(payload);
                OpResult::Appended(tail)
            }
            Op::FindTail(_) => OpResult::Tail(state),
            Op::Seal(_) => {
                *sealed = true;
                OpResult::Sealed(ChainTail {
                    segment_index: 0,
                    tail: LogTail::Sealed(tail),
                })
            }
            Op::Read((_, from, to)) => OpResult::Records(
                (from.max(1)..to.min(tail))
                    .map(|lsn| ReadRecord {
                        lsn,
                        payload: records[lsn as usize - 1].clone(),
                    })
                    .collect(),
            ),
            Op::Trim((_, point)) if point >= tail => OpResult::Failed(ClientError::Malformed(
                format!("trim to {point} refused: at or beyond the tail {tail}"),
            )),
            // Trimming nothing is a trim that changes nothing a read can see.
            Op::Trim(_) => OpResult::Failed(ClientError::Unsupported("trim".into())),
            Op::SealAndExtend(_) => {
                OpResult::Failed(ClientError::Unsupported("seal-and-extend".into()))
            }
            Op::WaitForMetadata(_) => OpResult::Failed(ClientError::Unsupported(
                "metadata waits go to the cache".into(),
            )),
        }
    }
}
