//! Loglet vocabulary that several parts share: the first offset of a loglet and the way
//! a loglet id is printed. A leaf: the log-server, the sequencer and the client's tasks
//! all speak it, so it lives in a room of its own below them rather than in the
//! log-server, where it used to tie the sequencer and the tasks to it.

use crate::bindings::logsandbox::node::types::{LogletId, LogletOffset};

/// The first valid offset; the tail of an empty loglet.
pub const OLDEST: LogletOffset = 1;

/// `log_segment`, as Restate prints loglet ids.
pub fn fmt_loglet(id: LogletId) -> String {
    format!("{}_{}", id >> 32, id & 0xffff_ffff)
}
