//! The rules of the log-server protocol, one function each, as `wit/node.wit` states
//! them. Every rule starts from a fresh node with an empty database (see [`Rig`]) and
//! stops at the first request whose answer breaks it.
//!
//! [`RULES`] lists them in the order they run; each family of rules lives in its own file:
//!
//! | file | families | what the rules hold the server to |
//! |---|---|---|
//! | `basics.rs` | `answer.*`, `peers.*`, `loglet.*`, `header.*` | one reply per request, of its kind; a hello-ack; a fresh loglet, loglets kept apart; the global tail merged with max() |
//! | `store.rs` | `store.*` | when a store is answered, in which order its checks run, duplicates, stores around a seal, the `d` key layout |
//! | `seal.rs` | `seal.*` | a seal answered once durable, and the tail waiters it wakes |
//! | `records.rs` | `get-records.*` | which records a read returns: the range, durable ones only, a trim gap |
//! | `trim.rs` | `trim.*` | a trim's bounds, its clipping, and what it changes at once or once durable |
//! | `wait.rs` | `wait-for-tail.*` | when a tail waiter is answered: local, global, sealed |
//! | `digest.rs` | `digest.*` | the shape of a digest |
//! | `recovery.rs` | `recovery.*` | what a crash keeps, and what it loses |
//! | `metadata.rs` | `metadata.*` | the node learns the Logs, serves them, carries their version |
//!
//! The requests the rules send are built in `requests.rs`; the checks the families share
//! on the answers are in `answers.rs`. Neither uses a family.

mod answers;
mod basics;
mod digest;
mod metadata;
mod records;
mod recovery;
mod requests;
mod seal;
mod store;
mod trim;
mod wait;

use super::rig::{Broken, Rig};

/// One rule: its name, what it holds the server to, how to check it, and the settings
/// the node starts with.
pub struct Rule {
    /// `family.rule`, as printed.
    pub name: &'static str,
    /// The rule in a sentence.
    pub says: &'static str,
    /// Settings handed to the node.
    pub settings: &'static [(&'static str, &'static str)],
    pub(crate) check: fn(&mut Rig) -> Result<(), Broken>,
}

const fn rule(
    name: &'static str,
    says: &'static str,
    check: fn(&mut Rig) -> Result<(), Broken>,
) -> Rule {
    Rule {
        name,
        says,
        settings: &[],
        check,
    }
}

/// Every rule, in the order they run.
pub static RULES: &[Rule] = &[
    rule(
        "answer.one-per-request",
        "every request is answered once, to its sender, under its request id, with the reply of its kind",
        basics::one_answer_per_request,
    ),
    rule(
        "peers.hello-ack",
        "a hello is answered with a hello-ack",
        basics::hello_ack,
    ),
    rule(
        "loglet.fresh",
        "a loglet never seen is open and empty: local tail 1, global tail 1, trim point 0",
        basics::fresh_loglet,
    ),
    rule(
        "header.global-tail-max",
        "every request's known global tail is merged with max(), a malformed one's too: raised, never lowered",
        basics::global_tail_max,
    ),
    rule(
        "loglet.independent",
        "loglets are kept apart: a store, seal, trim and pinned sequencer of 0_0 leave 0_1 open, empty, untrimmed and free to pin another sequencer",
        basics::loglets_independent,
    ),
    rule(
        "store.ok-once-durable",
        "a store is answered Ok only once its records are durable",
        store::ok_once_durable,
    ),
    rule(
        "store.record-layout",
        "record `o` of loglet `l` is stored under `d`, l (u64 BE), o (u32 BE), the payload its value",
        store::record_layout,
    ),
    rule(
        "store.malformed",
        "a store with no records, at offset 0, or reaching offset u32::MAX is Malformed",
        store::malformed,
    ),
    rule(
        "store.sealed",
        "a sealed loglet refuses a store with Sealed, and takes a repair store",
        store::sealed,
    ),
    Rule {
        name: "store.disabled",
        says: "a read-only server (log_server.accepting_writes = false) answers a store Disabled, after the Sealed check",
        settings: &[("log_server.accepting_writes", "false")],
        check: store::disabled,
    },
    rule(
        "store.sequencer-pinned",
        "the first store pins its sequencer: a store naming another is SequencerMismatch",
        store::sequencer_pinned,
    ),
    rule(
        "store.below-tail-only-from-sequencer",
        "a store below the tail sent by another node than its sequencer is SequencerMismatch, unless a repair",
        store::below_tail,
    ),
    rule(
        "store.no-gaps",
        "a store beyond max(local tail, known global tail) is OutOfBounds: nothing is buffered",
        store::no_gaps,
    ),
    rule(
        "store.expired",
        "a store processed at or after its timeout-at is Dropped, and not written",
        store::expired,
    ),
    rule(
        "store.duplicate-durable",
        "a store of records already durable is answered Ok at once, without a write",
        store::duplicate_durable,
    ),
    rule(
        "store.duplicate-in-flight",
        "a store of records still in flight is answered when they are durable",
        store::duplicate_in_flight,
    ),
    rule(
        "store.check-order",
        "the checks run in order: malformed, sealed, disabled, sequencer, bounds, expiry, duplicates, pending seal",
        store::check_order,
    ),
    rule(
        "store.during-seal",
        "a store while a seal is pending is answered Sealed when the seal lands; a repair store gets Sealing",
        store::during_seal,
    ),
    rule(
        "store.before-seal-counts",
        "stores accepted before a seal become durable first and count in the sealed tail",
        store::before_seal,
    ),
    rule(
        "seal.once-durable",
        "a seal is answered once its marker is durable, sealed; again, at once; concurrent seals all answered",
        seal::once_durable,
    ),
    rule(
        "seal.wakes-waiters",
        "a seal answers every tail waiter: Sealed for a global tail not reached, Ok otherwise",
        seal::wakes_waiters,
    ),
    rule(
        "get-records.range",
        "GetRecords reads [max(from, trim + 1), min(to, local tail - 1)], at least one record over the byte limit",
        records::range,
    ),
    rule(
        "get-records.durable-only",
        "GetRecords returns only durable records (below the local tail)",
        records::durable_only,
    ),
    rule(
        "get-records.trim-gap",
        "a trimmed prefix is read as one trim gap up to the trim point",
        records::trim_gap,
    ),
    rule(
        "trim.bounds",
        "a trim below 1 or at or after max(global tail, local tail) is Malformed; one within is answered once durable",
        trim::bounds,
    ),
    rule(
        "trim.clipped",
        "a trim beyond the last record is clipped to local tail - 1",
        trim::clipped,
    ),
    rule(
        "trim.reads-gap-at-once",
        "reads and digests gap up to a trim as soon as it is accepted, before it is durable",
        trim::reads_gap_at_once,
    ),
    rule(
        "trim.raises-global-tail",
        "a durable trim raises the global tail to trim point + 1, and answers who waits for it",
        trim::raises_global_tail,
    ),
    rule(
        "trim.never-lowers",
        "a trim at or below the trim point is answered Ok and changes nothing",
        trim::never_lowers,
    ),
    rule(
        "wait-for-tail.local",
        "WaitForTail on the local tail is answered once a durable store reaches it, or at once",
        wait::local,
    ),
    rule(
        "wait-for-tail.global",
        "WaitForTail on the global tail is answered once a request's header carries it",
        wait::global,
    ),
    rule(
        "wait-for-tail.sealed",
        "on a sealed loglet WaitForTail is answered at once: Sealed for a global tail not reached",
        wait::sealed,
    ),
    rule(
        "digest.shape",
        "a digest is one Trimmed range, then Exists runs of consecutive offsets, nothing for holes",
        digest::shape,
    ),
    rule(
        "recovery.durable-state",
        "after a crash the records, the seal, the trim point and the pinned sequencer are recovered",
        recovery::durable_state,
    ),
    rule(
        "recovery.lost-writes",
        "after a crash, writes that were not durable are gone: the tail is back and the store can be made again",
        recovery::lost_writes,
    ),
    rule(
        "metadata.serves-peers",
        "the node learns the Logs and answers GetMetadata: the value if it holds one new enough, else none",
        metadata::serves_peers,
    ),
    rule(
        "metadata.learns-newer-version",
        "a newer version in a peer's header is fetched, served, and carried on the node's messages",
        metadata::learns_newer,
    ),
];
