//! The node logic of logsandbox: a Restate-style log-server, a sequencer for the
//! replicated loglet, and a versioned metadata cache, written as one event-driven state
//! machine.
//!
//! Map of the crate:
//! - [`env`](mod@env): the seam between the logic and the world. Every effect (send,
//!   metadata request, timer, write, completion) and every read of the node's own storage
//!   goes through the [`env::Env`] trait, so the same logic runs inside the wasm component
//!   (through `adapter`) and natively in unit tests (through [`env::testing`]).
//! - [`node`]: the router on top: routes events to the parts below and builds the context
//!   each part acts through.
//! - [`ctx`]: that context, a floor below the parts: which part owns an id
//!   ([`ctx::Part`]), what the parts share, and the calls they act with ([`ctx::Ctx`]);
//!   re-exported by [`node`].
//! - [`log_server`]: serves the seven requests of the log-server protocol for every loglet
//!   the node stores, with its state kept in storage and recovered on start.
//! - [`sequencer`]: the write path of a loglet whose sequencer is this node: offsets,
//!   store waves, commit on a write quorum, seal with drain.
//! - [`metadata`]: the metadata plane. [`metadata::cache`]: the cached `Logs` and
//!   Restate's version rule; waits are passive. [`metadata::update_task`]: Restate's
//!   metadata update task: peer fetches, store reads, refresh. [`metadata::store_call`]:
//!   one metadata-store call: retried with backoff, timed out.
//! - [`client`]: client operations (append, seal, find-tail, read, trim, seal-and-extend,
//!   wait for metadata), at the log level: LSNs mapped through the cached chain to segments
//!   and loglet offsets, appenders that recover; the loglet level below runs each on one
//!   loglet.
//! - [`chain`]: a log's chain of segments: lookup by LSN, and Restate's rules for extending,
//!   sealing and trimming it; [`metadata::chain_writer`] writes chain changes,
//!   compare-and-set.
//! - [`tasks`]: find-tail, seal and trim run by a client that is not the sequencer.
//! - [`loglet`]: the loglet vocabulary the parts share (the first offset, how a loglet id
//!   is printed); [`keys`]: the storage layout; [`repair`]: the repair plan of a sealed
//!   tail.
//! - [`mutants`]: the known bugs of the mutant guests, as flags production code reads;
//!   [`test_guests`]: the hostile and cheating test guests, each behind its feature.
//! - `tests/`: the unit tests, one file per area, and the property tests (native only).
//!
//! Rules every part keeps: no clock but the `now` it is given, no randomness but
//! [`rng::Rng`] seeded by the host, no panics on peer input (a malformed request gets
//! `Malformed`), and ordered collections wherever order can reach an effect.

#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

/// Types and import stubs generated from `wit/node.wit`.
// The generated items carry the WIT's doc comments, and not every WIT item has one.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "log-node",
        pub_export_macro: true,
    });
}

pub mod chain;
pub mod client;
pub mod ctx;
pub mod env;
pub mod keys;
pub mod log_server;
pub mod loglet;
pub mod metadata;
pub mod mutants;
pub mod node;
pub mod repair;
pub mod rng;
pub mod sequencer;
pub mod settings;
pub mod tasks;
pub mod test_guests;
pub mod time;

#[cfg(target_arch = "wasm32")]
pub mod adapter;

/// Exports a node as the component's `node` interface: the built-in sequencer, client
/// and metadata cache, with `$log_server` (built by `Default`) as its log-server part.
/// This crate exports `export_node!(log_server::LogServer)` with its `component` feature
/// (on by default); a crate that brings its own log-server depends on this one with
/// `default-features = false` and calls `logsandbox_guest::export_node!(MyLogServer)`.
// rustfmt does not format this body the same way twice: it is kept as written.
#[rustfmt::skip]
#[macro_export]
macro_rules! export_node {
    ($log_server:ty) => {
        // Only a wasm component exports: natively (`cargo check`, tests) this is nothing.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __LogsandboxNode;

            ::std::thread_local! {
                /// The node of this instance; one instance is one single-threaded node.
                static __LOGSANDBOX_NODE: ::std::cell::RefCell<
                    ::std::option::Option<$crate::node::Node<$log_server>>,
                > = const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }

            impl $crate::bindings::exports::logsandbox::node::node::Guest for __LogsandboxNode {
                fn init(
                    now: u64,
                    config: $crate::bindings::exports::logsandbox::node::node::Config,
                ) -> ::std::result::Result<(), ::std::string::String> {
                    let log_server = <$log_server as ::std::default::Default>::default();
                    let mut imports = $crate::adapter::Imports;
                    let node =
                        $crate::node::Node::with_log_server(log_server, now, config, &mut imports)?;
                    __LOGSANDBOX_NODE.with(|n| *n.borrow_mut() = ::std::option::Option::Some(node));
                    ::std::result::Result::Ok(())
                }

                fn handle(
                    now: u64,
                    events: ::std::vec::Vec<
                        $crate::bindings::exports::logsandbox::node::node::Event,
                    >,
                ) {
                    __LOGSANDBOX_NODE.with(|n| {
                        let mut n = n.borrow_mut();
                        let node = n.as_mut().expect("the host calls init before handle");
                        node.handle(now, events, &mut $crate::adapter::Imports);
                    });
                }
            }

            $crate::bindings::export!(__LogsandboxNode with_types_in $crate::bindings);
        };
        // Natively nothing is exported, but the part is still checked to be one.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = || {
            fn is_a_part<T: $crate::node::LogServerPart + ::std::default::Default>() {}
            is_a_part::<$log_server>();
        };
    };
}

#[cfg(feature = "component")]
export_node!(crate::log_server::LogServer);

#[cfg(test)]
mod tests;
