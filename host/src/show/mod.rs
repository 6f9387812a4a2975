//! How a run is told: to people, to scripts, in pictures. Everything here reads what
//! [`crate::record`] kept (and the checks' verdicts) and writes text; nothing here can
//! change a run or its trace hash.
//!
//! - [`report`]: one run's outcome, [`RunReport`](report::RunReport): the summary,
//!   `--json`, the files of `--out`;
//! - [`timeline`]: the trace's text as people read it;
//! - [`diagram`]: `messages.svg`, a Lamport diagram drawn from the journal;
//! - [`explain`]: the causal chain that led to a failing operation;
//! - [`text`]: the leaf the others share: guest text made safe to print on one line, and
//!   request ids without their tag.

pub mod diagram;
pub mod explain;
pub mod report;
pub mod text;
pub mod timeline;
