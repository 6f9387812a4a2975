//! The test guests' misbehaviour, kept apart from the product's code. Each is compiled in
//! only with its cargo feature, which the host turns on when it builds that test guest:
//!
//! - `hostile.rs` (feature `hostile`): one node attacks the host in the way its settings
//!   name (a trap, a spin, a flood, bad effects...); the host must take it down alone and
//!   name it, never panic, hang or grow without bound.
//! - `cheat.rs` (feature `list-on-client`): a client that keeps each log in a list and
//!   never involves a log-server, which only the durability check can catch.
//!
//! Two kinds of test guests live elsewhere, next to the code they bend: the
//! `trap-on-store` guest is a few lines in the log-server's store path
//! ([`crate::log_server`]), and the mutant guests' known bugs are flags in
//! [`crate::mutants`], which production code reads, so that file stays at the root.

#[cfg(feature = "list-on-client")]
pub mod cheat;
#[cfg(feature = "hostile")]
pub mod hostile;
