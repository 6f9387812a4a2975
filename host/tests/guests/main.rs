//! Components other than the built-in guest: hostile guests, the conformance suite, the
//! Python log-server built from source, and a guest that keeps its log durable. One module
//! per story.

#[path = "../common/mod.rs"]
mod common;

mod conformance;
mod durability;
mod hostile_guests;
mod python_log_server;
