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
    /// `hostile.at_ms` say (see `guest/src/test_guests/hostile.rs` for the kinds).
    pub static HOSTILE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest_hostile.wasm"));
}

/// Where in a node a mutant's bug lives, and so which role must run the mutant for a
/// run to meet it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MutantPart {
    /// The log-server protocol: met on the log-server nodes.
    LogServer,
    /// The sequencer: met on the client nodes.
    Sequencer,
    /// The metadata cache: every node has one, but the workloads meet the clients'.
    MetadataCache,
    /// The client's log and loglet levels (chain writer, trims): met on the client nodes.
    Client,
}

impl MutantPart {
    /// Whether a run meets the bug when the mutant runs on the log-servers, the clients.
    pub fn met_on(self, log_servers: bool, clients: bool) -> bool {
        match self {
            MutantPart::LogServer => log_servers,
            MutantPart::Sequencer | MutantPart::MetadataCache | MutantPart::Client => clients,
        }
    }
}

/// A mutant guest: the product guest with one known bug (guest/src/mutants.rs).
#[derive(Debug, Clone, Copy)]
pub struct Mutant {
    /// Its name, as `logsandbox mutants` prints it.
    pub name: &'static str,
    /// What the bug is.
    pub bug: &'static str,
    /// Where the bug lives.
    pub part: MutantPart,
    /// The component's bytes.
    pub wasm: &'static [u8],
}

/// The mutant guests, each with one known bug.
pub static MUTANTS: &[Mutant] = &[
    Mutant {
        name: "publish-before-drain",
        bug: "the sequencer publishes its sealed tail before draining in-flight appends",
        part: MutantPart::Sequencer,
        wasm: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_publish_before_drain.wasm"
        )),
    },
    Mutant {
        name: "drain-without-cancel",
        bug: "the draining sequencer does not cancel the appends in flight: it waits for them to end by themselves",
        part: MutantPart::Sequencer,
        wasm: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_drain_without_cancel.wasm"
        )),
    },
    Mutant {
        name: "trim-past-clamp",
        bug: "the client sends a trim past the tail it knows, unclamped, claiming the tail lies beyond it",
        part: MutantPart::Client,
        wasm: include_bytes!(concat!(env!("OUT_DIR"), "/mutant_trim_past_clamp.wasm")),
    },
    Mutant {
        name: "store-after-seal",
        bug: "a sealed log-server still accepts stores",
        part: MutantPart::LogServer,
        wasm: include_bytes!(concat!(env!("OUT_DIR"), "/mutant_store_after_seal.wasm")),
    },
    Mutant {
        name: "equal-version-accepted",
        bug: "the metadata cache takes an update of the same version",
        part: MutantPart::MetadataCache,
        wasm: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_equal_version_accepted.wasm"
        )),
    },
    Mutant {
        name: "commit-before-quorum",
        bug: "the sequencer acknowledges after the first copy, before a write quorum",
        part: MutantPart::Sequencer,
        wasm: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_commit_before_quorum.wasm"
        )),
    },
    Mutant {
        name: "forget-seal-on-recovery",
        bug: "a restarted log-server forgets its seal marker",
        part: MutantPart::LogServer,
        wasm: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_forget_seal_on_recovery.wasm"
        )),
    },
    Mutant {
        name: "trim-beyond-tail",
        bug: "a log-server accepts a trim at or beyond its tail",
        part: MutantPart::LogServer,
        wasm: include_bytes!(concat!(env!("OUT_DIR"), "/mutant_trim_beyond_tail.wasm")),
    },
    Mutant {
        name: "wait-resolves-early",
        bug: "waiting for a metadata version resolves on any cached version",
        part: MutantPart::MetadataCache,
        wasm: include_bytes!(concat!(env!("OUT_DIR"), "/mutant_wait_resolves_early.wasm")),
    },
    Mutant {
        name: "no-immediate-fetch",
        bug: "a newer version in a peer's header waits for the next update tick",
        part: MutantPart::MetadataCache,
        wasm: include_bytes!(concat!(env!("OUT_DIR"), "/mutant_no_immediate_fetch.wasm")),
    },
    Mutant {
        name: "wait-fetches",
        bug: "waiting for a metadata version reads the metadata store",
        part: MutantPart::MetadataCache,
        wasm: include_bytes!(concat!(env!("OUT_DIR"), "/mutant_wait_fetches.wasm")),
    },
    Mutant {
        name: "retryable-as-terminal",
        bug: "a retryable metadata-store error is treated as terminal: the request is given up",
        part: MutantPart::MetadataCache,
        wasm: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/mutant_retryable_as_terminal.wasm"
        )),
    },
    Mutant {
        name: "extend-without-cas",
        bug: "the chain writer puts a changed chain with no precondition, over a concurrent change",
        part: MutantPart::Sequencer,
        wasm: include_bytes!(concat!(env!("OUT_DIR"), "/mutant_extend_without_cas.wasm")),
    },
];
