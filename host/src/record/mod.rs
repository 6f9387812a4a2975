//! What a run records as it goes: the facts that every check and every view is drawn
//! from. The simulator writes here; nothing here tells the run (that is [`crate::show`]).
//!
//! - `trace` (crate-private; [`TraceRecord`](crate::TraceRecord) and
//!   [`describe_value`](crate::describe_value) are public): every delivered event, folded
//!   into the trace hash, and its text when kept;
//! - [`journal`]: who talked to whom, flights and marks per lane (`messages.svg`,
//!   `explain`);
//! - [`history`]: every client operation, from its invocation to its end: what the checks
//!   judge;
//! - [`history_file`]: a history read back from its Jepsen-style file (`logsandbox check`);
//! - [`offers`]: every metadata value offered to a node's cache, taken or dropped.

pub mod history;
pub mod history_file;
pub mod journal;
pub mod offers;
pub(crate) mod trace;
