//! Loglet vocabulary that several parts share: the first offset of a loglet, the way a
//! loglet id is printed, and how a loglet-level operation ends ([`LogletOutcome`]). A leaf: the log-server, the sequencer and the client's tasks
//! all speak it, so it lives in a room of its own below them rather than in the
//! log-server, where it used to tie the sequencer and the tasks to it.

use crate::bindings::logsandbox::node::client::ClientError;
use crate::bindings::logsandbox::node::types::{LogletId, LogletOffset, TailState};

/// The first valid offset; the tail of an empty loglet.
pub const OLDEST: LogletOffset = 1;

/// `log_segment`, as Restate prints loglet ids.
pub fn fmt_loglet(id: LogletId) -> String {
    format!("{}_{}", id >> 32, id & 0xffff_ffff)
}

/// How a loglet-level operation ends, in the loglet's own offsets. The sequencer, the
/// client's tasks and its readers end an operation with one (`Ctx::finish`);
/// the log level (the client) turns it into the answer in LSNs, or goes on with it
/// (the next segment of a read, the extension after a seal).
#[derive(Debug, Clone)]
pub enum LogletOutcome {
    /// Appended at this offset.
    Appended(LogletOffset),
    /// Sealed, with the sealed tail.
    Sealed(TailState),
    /// The loglet's tail.
    Tail(TailState),
    /// The records read, by offset; and the sealed tail the read stopped at, when its
    /// find-tail found the loglet sealed (the log level then looks for where the chain
    /// goes on, R8).
    Records {
        /// The records, by offset.
        records: Vec<(LogletOffset, Vec<u8>)>,
        /// The sealed tail the read stopped at, if the loglet was sealed.
        sealed_at: Option<LogletOffset>,
    },
    /// The trim point now in force.
    Trimmed(LogletOffset),
    /// The loglet's trim point as an f-majority told it (None: no node answered).
    TrimPoint(Option<LogletOffset>),
    /// Failed.
    Failed(ClientError),
}
