//! The `logsandbox` command as a user meets it: bad input and its exit code 2, the
//! discovery commands, mixed clusters from the command line, the repl at a terminal,
//! replay and check, and the mutants report. One module per story.

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod bad_input_corpus;
mod cli_discovery;
mod mixed_clusters;
mod mutants;
mod readme;
mod repl;
mod replay_and_check;
