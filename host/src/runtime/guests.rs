//! The components that ship inside the crate, built from `guest/` by the build script:
//! the product guest, a guest that misbehaves on purpose, and the mutants.

/// The product guest, built from `guest/` by the build script.
pub static BUILTIN_GUEST: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/logsandbox_guest.wasm"));

/// Guests that misbehave on purpose, for tests of the host's isolation.
pub mod test_guests {
    /// Node 2 traps (a panic inside the guest) on its 50th Store.
    pub static TRAP_ON_STORE: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/guest_trap_on_store.wasm"));
    /// The client keeps each log in a list on its own node and never involves a
    /// log-server: consistent answers, no replication.
    pub static LIST_ON_CLIENT: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/guest_list_on_client.wasm"));
    /// One node misbehaves as the settings `hostile.kind`, `hostile.node` and
    /// `hostile.at_ms` say (see `guest/src/hostile.rs` for the kinds).
    pub static HOSTILE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest_hostile.wasm"));
}

/// The mutant guests: each is the product guest with one known bug (guest/src/mutants.rs).
/// (name, what the bug is, component bytes)
pub static MUTANTS: &[(&str, &str, &[u8])] = &[
    (
        "publish-before-drain",
        "the sequencer publishes its sealed tail before draining in-flight appends",
        include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_publish_before_drain.wasm"
        )),
    ),
    (
        "publish-without-repair",
        "the sequencer publishes its known global tail as the sealed tail without repairing what lies beyond it",
        include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_publish_without_repair.wasm"
        )),
    ),
    (
        "store-after-seal",
        "a sealed log-server still accepts stores",
        include_bytes!(concat!(env!("OUT_DIR"), "/mutant_store_after_seal.wasm")),
    ),
    (
        "equal-version-accepted",
        "the metadata cache takes an update of the same version",
        include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_equal_version_accepted.wasm"
        )),
    ),
    (
        "commit-before-quorum",
        "the sequencer acknowledges after the first copy, before a write quorum",
        include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_commit_before_quorum.wasm"
        )),
    ),
    (
        "forget-seal-on-recovery",
        "a restarted log-server forgets its seal marker",
        include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_forget_seal_on_recovery.wasm"
        )),
    ),
    (
        "trim-beyond-tail",
        "a log-server accepts a trim at or beyond its tail",
        include_bytes!(concat!(env!("OUT_DIR"), "/mutant_trim_beyond_tail.wasm")),
    ),
    (
        "wait-resolves-early",
        "waiting for a metadata version resolves on any cached version",
        include_bytes!(concat!(env!("OUT_DIR"), "/mutant_wait_resolves_early.wasm")),
    ),
    (
        "no-immediate-fetch",
        "a newer version in a peer's header waits for the next update tick",
        include_bytes!(concat!(env!("OUT_DIR"), "/mutant_no_immediate_fetch.wasm")),
    ),
    (
        "wait-fetches",
        "waiting for a metadata version reads the metadata store",
        include_bytes!(concat!(env!("OUT_DIR"), "/mutant_wait_fetches.wasm")),
    ),
    (
        "retryable-as-terminal",
        "a retryable metadata-store error is treated as terminal: the request is given up",
        include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_retryable_as_terminal.wasm"
        )),
    ),
];
